"""Change the hedge size in place: validated, one clear line on bad input, nothing changes until valid."""

from __future__ import annotations

from decimal import Decimal

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from hedgetui.config.sizes import parse_size_usd


class SizeScreen(ModalScreen[Decimal | None]):
    """Returns the new size, or None when cancelled."""

    DEFAULT_CSS = """
    SizeScreen { align: center middle; }
    SizeScreen > Vertical {
        width: 60; height: auto; border: thick $accent; background: $surface; padding: 1 2;
    }
    SizeScreen .size-error { color: $danger; height: auto; }
    """

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, current: Decimal, maximum: Decimal) -> None:
        super().__init__()
        self.current = current
        self.maximum = maximum

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"Hedge size in USD (now {self.current:,.2f}, limit {self.maximum:,.0f})"))
            yield Input(value=str(self.current), id="size-input")
            yield Static("", classes="size-error", id="size-error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            value = parse_size_usd(event.value, self.maximum)
        except ValueError as exc:
            self.query_one("#size-error", Static).update(Text(str(exc)))
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)
