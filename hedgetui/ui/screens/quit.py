"""Quitting while a pipeline runs: ask, then keep the screen up until the engine has finished it.

The dialog's status line follows the pipeline (``enter is running at orders``); if the pipeline ends
while the dialog is open it says so, and quitting then is immediate.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class QuitScreen(ModalScreen[bool]):
    """True: quit (after the running pipeline); False: stay."""

    DEFAULT_CSS = """
    QuitScreen { align: center middle; }
    QuitScreen > Vertical {
        width: 80; max-width: 95%; height: auto; border: thick $warn; background: $surface; padding: 1 2;
    }
    QuitScreen .quit-status { text-style: bold; margin-bottom: 1; height: auto; }
    QuitScreen Horizontal { height: auto; align-horizontal: right; }
    QuitScreen Button { margin-left: 2; }
    """

    BINDINGS = [
        Binding("escape", "stay", "stay"),
        Binding("n", "stay", "no", show=False),
        Binding("y", "quit", "yes", show=False),
    ]

    def __init__(self, status: str) -> None:
        super().__init__()
        self.status = Static(Text(status), classes="quit-status")

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text("Quit hedgetui?"))
            yield self.status
            yield Static(
                Text(
                    "The engine never cuts a pipeline between its legs: the screen stays up until it ends, "
                    "then its end state and reason are printed in the terminal."
                )
            )
            with Horizontal():
                yield Button("Stay \\[n]", id="stay")
                yield Button("Quit \\[y]", id="quit", variant="warning")

    def set_status(self, text: str) -> None:
        self.status.update(Text(text))

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "quit")

    def action_quit(self) -> None:
        self.dismiss(True)

    def action_stay(self) -> None:
        self.dismiss(False)
