"""Confirmation of an action that sends orders: the plan, then an explicit yes (typing LIVE in live mode).

Nothing that sends an order happens on one key. The plan text is built by the caller from the engine's
phase-1 plan; it is shown as ``Text`` (never parsed as markup), so exchange wording cannot break it.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class ConfirmScreen(ModalScreen[bool]):
    """Returns True only on an explicit confirmation; Escape, ``n`` or Cancel return False."""

    DEFAULT_CSS = """
    ConfirmScreen {
        align: center middle;
    }
    ConfirmScreen > Vertical {
        width: 90;
        max-width: 95%;
        height: auto;
        max-height: 90%;
        border: thick $accent;
        background: $surface;
        padding: 1 2;
    }
    ConfirmScreen.-live > Vertical { border: thick $badge-live; }
    ConfirmScreen.-blocked > Vertical { border: thick $danger; }
    ConfirmScreen .confirm-title { text-style: bold; margin-bottom: 1; }
    ConfirmScreen .confirm-plan { height: auto; margin-bottom: 1; }
    ConfirmScreen .confirm-error { color: $danger; height: auto; }
    ConfirmScreen Horizontal { height: auto; align-horizontal: right; }
    ConfirmScreen Button { margin-left: 2; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "cancel"),
        Binding("n", "cancel", "no", show=False),
        Binding("y", "confirm", "yes", show=False),
    ]

    def __init__(self, title: str, plan: Text | str, *, live: bool = False, blocked: str | None = None) -> None:
        super().__init__(classes=("-live" if live else "") + (" -blocked" if blocked else ""))
        self.title_text = title
        self.plan = plan if isinstance(plan, Text) else Text(plan)
        self.live = live
        self.blocked = blocked

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text), classes="confirm-title")
            yield Static(self.plan, classes="confirm-plan")
            if self.blocked:
                yield Static(Text(f"Not allowed: {self.blocked}"), classes="confirm-error")
            if self.live and not self.blocked:
                yield Label(Text("LIVE trading: type LIVE to confirm"))
                yield Input(placeholder="LIVE", id="live-word")
            yield Static("", classes="confirm-error", id="confirm-error")
            with Horizontal():
                yield Button("Cancel \\[n]", id="cancel")
                if not self.blocked:
                    yield Button("Confirm \\[y]", id="confirm", variant="error" if self.live else "primary")

    def on_mount(self) -> None:
        if self.live and not self.blocked:
            self.query_one("#live-word", Input).focus()
        else:
            self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "confirm":
            self.action_confirm()
        else:
            self.action_cancel()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_confirm()

    def action_confirm(self) -> None:
        if self.blocked:
            return
        if self.live:
            word = self.query_one("#live-word", Input).value.strip()
            if word != "LIVE":
                self.query_one("#confirm-error", Static).update(Text("type LIVE (capitals) to confirm"))
                return
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
