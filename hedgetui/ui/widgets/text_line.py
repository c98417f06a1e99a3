"""A Static that repaints only when its text changed, and re-lays out only when its line count did."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class TextLine(Static):
    """Text panes refreshed by a timer hand it the same text most of the time: that costs nothing here."""

    def __init__(self, text: Text | str = "", *, id: str | None = None, classes: str | None = None) -> None:
        self._shown = text if isinstance(text, Text) else Text(text)
        super().__init__(self._shown, id=id, classes=classes)

    @property
    def shown(self) -> Text:
        """What the widget shows now (for tests and snapshots)."""
        return self._shown

    def set(self, text: Text | str) -> bool:
        """Show ``text`` unless it is already shown; True when it repainted."""
        new = text if isinstance(text, Text) else Text(text)
        if new == self._shown:
            return False
        relayout = new.plain.count("\n") != self._shown.plain.count("\n")
        self._shown = new
        self.update(new, layout=relayout)
        return True
