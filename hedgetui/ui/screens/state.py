"""Choose the trading state directly, each one explained (REDUCING can go straight back to ACTIVE)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from hedgetui.domain.risk import TradingState

MEANING: dict[TradingState, str] = {
    TradingState.ACTIVE: "every action allowed (within risk, breaker and slippage checks)",
    TradingState.REDUCING: "only exits and corrections that reduce exposure: no new entry",
    TradingState.HALTED: "nothing is sent; only reconciliation runs (and accepting its proposal)",
}
KEYS: dict[str, TradingState] = {"1": TradingState.ACTIVE, "2": TradingState.REDUCING, "3": TradingState.HALTED}


class TradingStateScreen(ModalScreen[TradingState | None]):
    """Press 1, 2 or 3 for the state; Escape keeps the current one."""

    DEFAULT_CSS = """
    TradingStateScreen { align: center middle; }
    TradingStateScreen > Vertical {
        width: 90; max-width: 95%; height: auto; border: thick $accent; background: $surface; padding: 1 2;
    }
    """

    BINDINGS = [
        Binding("escape", "pick('')", "cancel"),
        Binding("1", "pick('1')", "ACTIVE", show=False),
        Binding("2", "pick('2')", "REDUCING", show=False),
        Binding("3", "pick('3')", "HALTED", show=False),
    ]

    def __init__(self, current: TradingState, refused: dict[TradingState, str]) -> None:
        super().__init__()
        self.current = current
        self.refused = refused

    def compose(self) -> ComposeResult:
        text = Text()
        for key, state in KEYS.items():
            mark = "●" if state is self.current else " "
            text.append(f"{mark} {key}  {state.value:<9}", style="bold")
            text.append(f" {MEANING[state]}")
            if state in self.refused:
                text.append(f"  (not now: {self.refused[state]})", style="italic")
            text.append("\n")
        text.append("\nEscape keeps the current state.")
        with Vertical():
            yield Label(Text(f"Trading state (now {self.current.value})"))
            yield Static(text)

    def action_pick(self, key: str) -> None:
        state = KEYS.get(key)
        if state is None or state is self.current or state in self.refused:
            self.dismiss(None)
            return
        self.dismiss(state)
