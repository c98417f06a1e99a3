"""Position and drift: both legs at mark, drift against tolerance with a gauge, PnL, liquidation, history.

While a pipeline holds the legs the pane shows what it has sent and what the exchange has confirmed
instead of a drift: the streamed figures lag the orders, and a correction advised from them would be
wrong (the pipeline is making it). Drift and its advice return when the pipeline has ended.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline

from hedgetui.domain.drift import HedgeDrift
from hedgetui.engine.hedge import ExchangeLegs
from hedgetui.ui.widgets.text_line import TextLine


def gauge(value: Decimal, limit: Decimal, width: int = 10) -> str:
    """``▕██▌      ▏``: |value| as a share of ``limit`` (full = at the limit); ``!`` past it."""
    if limit <= 0:
        return "▕" + " " * width + "▏"
    share = min(Decimal(1), abs(value) / limit)
    eighths = int(share * width * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + (" ▏▎▍▌▋▊▉"[part] if part else "")
    return "▕" + bar.ljust(width) + ("▏" if abs(value) <= limit else "!")


class HedgePane(Vertical):
    """The hedge at a glance: :meth:`show` (settled) or :meth:`show_in_flight` (a pipeline holds the legs)."""

    DEFAULT_CSS = """
    HedgePane {
        height: auto;
        border: round $panel-lighten-2;
        padding: 0 1;
    }
    HedgePane.-needs-correction { border: heavy $warn; }
    HedgePane.-in-flight { border: heavy $accent; }
    HedgePane > .hedge-figures { height: auto; }
    HedgePane > Sparkline { height: 1; }
    """

    def __init__(self, base: str = "BTC", places: int = 5, history: int = 120, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Hedge"
        self.base = base
        self.places = places
        self.figures = TextLine(classes="hedge-figures")
        self.history: deque[float] = deque(maxlen=history)
        self.sparkline = Sparkline([], summary_function=max)
        self.drift: HedgeDrift | None = None
        self.in_flight = False

    def compose(self) -> ComposeResult:
        yield self.figures
        yield self.sparkline

    def _leg(self, label: str, qty: Decimal, mark: Decimal) -> str:
        return f"{label} {qty:+.{self.places}f} {self.base} {qty * mark:>10,.2f}\n"

    def show(
        self,
        drift: HedgeDrift | None,
        *,
        unrealized_pnl: Decimal | None = None,
        liquidation_distance_pct: Decimal | None = None,
        note: str = "",
    ) -> None:
        """The settled hedge: legs, drift against tolerance and, past it, the correction to send."""
        self.drift = drift
        self.in_flight = False
        self.border_title = "Hedge"
        self.set_class(False, "-in-flight")
        if drift is None:
            self.figures.set(Text("no position data yet", style="dim"))
            return
        mark = drift.mark_price
        text = Text(self._leg("spot", drift.spot_qty, mark) + self._leg("perp", drift.perp_qty, mark))
        text.append(
            f"drift {drift.drift_bps:+.1f} bps {gauge(drift.drift_bps, drift.tolerance_bps)} {drift.tolerance_bps:g}\n"
        )
        if drift.needs_correction:
            c = drift.correction
            what = (
                f"correct: {c.kind.value} {c.side.value} {c.quantity:.{self.places}f}"
                if c
                else f"residual: {drift.residual_reason}"
            )
            text.append(f"NEEDS CORRECTION · {what}\n", style="bold reverse")
        pnl = "—" if unrealized_pnl is None else f"{unrealized_pnl:+,.2f}"
        liq = "—" if liquidation_distance_pct is None else f"{liquidation_distance_pct:.1f} % away"
        text.append(f"uPnL {pnl} · liq {liq}")
        if note:
            text.append(f"\n{note}", style="italic")
        self.set_class(drift.needs_correction, "-needs-correction")
        self.figures.set(text)
        self.history.append(float(abs(drift.drift_bps)))
        self.sparkline.data = list(self.history)

    def show_in_flight(self, where: str, legs: ExchangeLegs | None, orders: list[str]) -> None:
        """A pipeline holds the legs: what it sent and what is confirmed; no drift, no advice."""
        self.in_flight = True
        self.border_title = f"Hedge · {where}"
        self.set_class(False, "-needs-correction")
        self.set_class(True, "-in-flight")
        text = Text()
        if legs is not None:
            text.append(f"exchange spot {legs.spot_qty:+.{self.places}f}\n")
            text.append(f"exchange perp {legs.perp_qty:+.{self.places}f}\n")
        for line in orders or ["no order sent yet"]:
            text.append(f"{line}\n")
        text.append("IN FLIGHT · advice after it ends", style="bold")
        self.figures.set(text)
