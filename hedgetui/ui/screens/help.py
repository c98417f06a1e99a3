"""Help: every key, what it does, and why it is greyed right now."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 100; max-width: 95%; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    """

    BINDINGS = [Binding("escape", "close", "close"), Binding("question_mark", "close", "close", show=False)]

    def __init__(self, rows: list[tuple[str, str, str | None]], venue_url: str | None = None) -> None:
        super().__init__()
        self.rows = rows
        self.venue_url = venue_url

    def compose(self) -> ComposeResult:
        text = Text()
        for key, what, why in self.rows:
            shown = "?" if key == "question_mark" else key
            text.append(f"{shown:>4}  ", style="bold")
            text.append(what, style="dim" if why else "")
            if why:
                text.append(f"  (greyed: {why})", style="italic")
            text.append("\n")
        text.append("\nctrl+p opens the command palette: the same actions, with the same checks.")
        if self.venue_url:
            text.append(f"\nvenue {self.venue_url} (the sandbox's fault API: POST {self.venue_url}/sandbox/faults)")
        with VerticalScroll(id="help-box"):
            yield Label(Text("Keys"), classes="help-title")
            yield Static(text)

    def action_close(self) -> None:
        self.dismiss(None)
