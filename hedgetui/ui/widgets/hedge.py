"""Position and drift: both legs at mark, drift against tolerance with a gauge, PnL, liquidation, history."""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline, Static

from hedgetui.domain.drift import HedgeDrift


def gauge(value: Decimal, limit: Decimal, width: int = 12) -> str:
    """``▕██▌      ▏``: |value| as a share of ``limit`` (full = at the limit); ``!`` past it."""
    if limit <= 0:
        return "▕" + " " * width + "▏"
    share = min(Decimal(1), abs(value) / limit)
    eighths = int(share * width * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + (" ▏▎▍▌▋▊▉"[part] if part else "")
    return "▕" + bar.ljust(width) + ("▏" if abs(value) <= limit else "!")


class HedgePane(Vertical):
    """The hedge at a glance. ``show`` takes the latest drift assessment and position figures."""

    DEFAULT_CSS = """
    HedgePane {
        height: auto;
        border: round $panel-lighten-2;
        padding: 0 1;
    }
    HedgePane.-needs-correction { border: heavy $warn; }
    HedgePane > .hedge-figures { height: auto; }
    HedgePane > Sparkline { height: 1; }
    """

    def __init__(self, base: str = "BTC", history: int = 120, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Hedge"
        self.base = base
        self.figures = Static("", classes="hedge-figures")
        self.history: deque[float] = deque(maxlen=history)
        self.sparkline = Sparkline([], summary_function=max)
        self.drift: HedgeDrift | None = None

    def compose(self) -> ComposeResult:
        yield self.figures
        yield self.sparkline

    def show(
        self,
        drift: HedgeDrift | None,
        *,
        unrealized_pnl: Decimal | None = None,
        liquidation_distance_pct: Decimal | None = None,
        stale: bool = False,
        note: str = "",
    ) -> None:
        self.drift = drift
        text = Text()
        if drift is None:
            text.append("no position data yet", style="dim")
            self.figures.update(text)
            return
        mark = drift.mark_price
        text.append(f"spot {drift.spot_qty:+.5f} {self.base} {drift.spot_qty * mark:>11,.2f}\n")
        text.append(f"perp {drift.perp_qty:+.5f} {self.base} {drift.perp_qty * mark:>11,.2f}\n")
        sign = "+" if drift.drift_bps > 0 else ""
        text.append(
            f"drift {sign}{drift.drift_bps:.1f} bps {gauge(drift.drift_bps, drift.tolerance_bps)} "
            f"{drift.tolerance_bps}\n"
        )
        if drift.needs_correction:
            c = drift.correction
            what = f"correct: {c.kind.value} {c.side.value} {c.quantity}" if c else f"residual: {drift.residual_reason}"
            text.append(f"NEEDS CORRECTION · {what}\n", style="bold reverse")
        pnl = "—" if unrealized_pnl is None else f"{unrealized_pnl:+,.2f}"
        liq = "—" if liquidation_distance_pct is None else f"{liquidation_distance_pct:.1f} % away"
        text.append(f"uPnL {pnl} · liq {liq}")
        if stale:
            text.append("  STALE", style="bold reverse")
        if note:
            text.append(f"\n{note}", style="italic")
        self.set_class(drift.needs_correction, "-needs-correction")
        self.figures.update(text)
        self.history.append(float(abs(drift.drift_bps)))
        self.sparkline.data = list(self.history)
