"""Circuit breaker and trading state: colour and word, failures, live countdown to half-open."""

from __future__ import annotations

from rich.text import Text

from hedgetui.domain.risk import TradingState
from hedgetui.engine.breaker import BreakerSnapshot, BreakerState
from hedgetui.ui.alerts import readable
from hedgetui.ui.formatting import fmt_duration_hms
from hedgetui.ui.widgets.text_line import TextLine


class BreakerPane(TextLine):
    """``CLOSED · failures 0/2`` / ``OPEN · half-open in 00:00:27``, then ``trading ACTIVE``."""

    DEFAULT_CSS = """
    BreakerPane {
        height: auto;
        border: round $panel-lighten-2;
        padding: 0 1;
    }
    BreakerPane.-closed { border: round $breaker-closed; }
    BreakerPane.-open { border: heavy $breaker-open; }
    BreakerPane.-half-open { border: round $breaker-half-open; }
    BreakerPane.-halted { border: heavy $danger; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.border_title = "Breaker"
        self.snapshot: BreakerSnapshot | None = None
        self.trading: TradingState = TradingState.HALTED
        self.halt_reason: str | None = None

    def show(self, snapshot: BreakerSnapshot, trading: TradingState, halt_reason: str | None = None) -> None:
        self.snapshot = snapshot
        self.trading = trading
        self.halt_reason = halt_reason
        for state in BreakerState:
            self.set_class(snapshot.state is state, f"-{state.value}")
        self.set_class(trading is TradingState.HALTED, "-halted")
        self.set(self.render_text())

    def render_text(self) -> Text:
        text = Text()
        snap = self.snapshot
        if snap is None:
            return Text("breaker —")
        text.append(snap.state.value.upper(), style="bold")
        text.append(f" · failures {snap.failures}/{snap.fail_max}")
        if snap.state is BreakerState.OPEN and snap.reopens_in_s is not None:
            text.append(f"\nhalf-open in {fmt_duration_hms(snap.reopens_in_s)}")
        elif snap.state is BreakerState.HALF_OPEN:
            text.append("\nnext hedge is the trial")
        text.append("\ntrading ")
        halted = self.trading is TradingState.HALTED
        text.append(self.trading.value, style="bold reverse" if halted else "bold")
        if self.trading is TradingState.REDUCING:
            text.append(" · exits and reducing corrections only (t to change)")
        if self.trading is TradingState.HALTED and self.halt_reason:
            # Engine text may quote the exchange: Text is never parsed as markup; one readable line.
            text.append(f"\n{readable(self.halt_reason, 160)}")
        return text
