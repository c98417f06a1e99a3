"""Position, drift and what the hedge earns: both legs at mark, drift against tolerance with a gauge, the net
P&L of both legs with its parts (funding, fees, price), the next funding and its countdown, time in position,
entry basis against now, APR and break-even, the perp leg's margin ratio and liquidation distance coloured by
their thresholds, and small funding and basis charts since the hedge opened.

On a short terminal (``compact``) the pane keeps one line for the money: net P&L, margin ratio and
liquidation distance; ``p`` opens the full P&L.

While a pipeline holds the legs the pane shows what it has sent and what the exchange has confirmed
instead of a drift: the streamed figures lag the orders, and a correction advised from them would be
wrong (the pipeline is making it). Drift and its advice return when the pipeline has ended.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Sparkline

from hedgetui.domain.drift import HedgeDrift
from hedgetui.domain.margin import PerpHealth, WatchLevel
from hedgetui.domain.pnl import HedgePnl
from hedgetui.engine.hedge import ExchangeLegs
from hedgetui.ui.formatting import fmt_money, fmt_span, funding_countdown
from hedgetui.ui.widgets.text_line import TextLine

#: The component class that colours a figure at each level (theme variables $ok, $warn, $danger).
LEVEL_CLASS = {WatchLevel.OK: "hedge--ok", WatchLevel.WARN: "hedge--warn", WatchLevel.CRITICAL: "hedge--danger"}


def pnl_lines(pnl: HedgePnl | None, now_ms: int) -> list[str]:
    """The money lines: net with its parts, the next funding, time held and break-even, basis entry → now."""
    if pnl is None:
        return ["net P&L — (no open hedge)"]
    apr = "—" if pnl.apr is None else f"{pnl.apr * 100:.1f} %"
    nxt = "—"
    if pnl.next_funding_ms is not None:
        places = 4 if _small(pnl.next_funding_estimate) else 2
        nxt = f"{fmt_money(pnl.next_funding_estimate, places)} {funding_countdown(pnl.next_funding_ms, now_ms)}"
    end = pnl.closed_ms if pnl.closed_ms is not None else now_ms
    entry = "—" if pnl.entry_basis_bps is None else f"{pnl.entry_basis_bps:+.1f}"
    now = "—" if pnl.basis_now_bps is None else f"{pnl.basis_now_bps:+.1f}"
    return [
        f"net {fmt_money(pnl.net)} {pnl.quote} · APR {apr}",
        f"fund {fmt_money(pnl.funding)} fee {fmt_money(pnl.fees)} px {fmt_money(pnl.price)}",
        f"next fund {nxt}",
        f"held {fmt_span(end - pnl.opened_ms)} · b/e {fmt_span(pnl.break_even_ms)}",
        f"basis entry {entry} → now {now} bps",
    ]


def _small(value: Decimal | None) -> bool:
    return value is not None and abs(value) < 1


def _pct(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:.1f} %"


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
    HedgePane > .hedge-chart { height: 1; }
    HedgePane > .hedge-chart > Label { width: 6; }
    HedgePane > .hedge-chart > Sparkline { width: 1fr; height: 1; }
    HedgePane.-compact > .hedge-chart { display: none; }
    HedgePane.-compact > .hedge-drift { display: block; }
    HedgePane.-perp-warn { border: heavy $warn; }
    HedgePane.-perp-critical { border: heavy $danger; }
    HedgePane > .hedge--ok { color: $ok; }
    HedgePane > .hedge--warn { color: $warn; text-style: bold; }
    HedgePane > .hedge--danger { color: $danger; text-style: bold reverse; }
    """

    COMPONENT_CLASSES = {"hedge--ok", "hedge--warn", "hedge--danger"}

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
        #: One money line instead of the full P&L (a short terminal); ``p`` shows the rest.
        self.compact = False
        self.pnl: HedgePnl | None = None
        self.perp: PerpHealth | None = None
        self.funding_chart = Sparkline([], summary_function=max)
        self.basis_chart = Sparkline([], summary_function=max)
        self.funding_row = Horizontal(Label("fund"), self.funding_chart, classes="hedge-chart")
        self.basis_row = Horizontal(Label("basis"), self.basis_chart, classes="hedge-chart")
        # The drift history stays on short terminals too (it is how a creeping leg shows before an alert).
        self.drift_row = Horizontal(Label("drift"), self.sparkline, classes="hedge-chart hedge-drift")

    def compose(self) -> ComposeResult:
        yield self.figures
        yield self.drift_row
        yield self.funding_row
        yield self.basis_row

    def set_compact(self, compact: bool) -> None:
        """One money line (short terminals) or the full P&L and its charts."""
        self.compact = compact
        self.set_class(compact, "-compact")

    def _level_style(self, level: WatchLevel) -> Style:
        return self.get_component_rich_style(LEVEL_CLASS[level], partial=True)

    def perp_text(self, perp: PerpHealth | None, unrealized_pnl: Decimal | None, *, short: bool) -> Text:
        """``margin 12.3 % · liq 31.2 %`` coloured by their levels (and the perp's own uPnL, labelled so)."""
        text = Text()
        if perp is None:
            text.append("margin — · liq —")
        else:
            text.append("margin " if not short else "m ")
            text.append(_pct(perp.margin_ratio_pct), style=self._level_style(perp.margin_level))
            text.append(" · liq ")
            text.append(_pct(perp.liq_distance_pct), style=self._level_style(perp.liq_level))
        if not short and unrealized_pnl is not None:
            text.append(f"\nperp uPnL {fmt_money(unrealized_pnl)} (perp leg alone)")
        return text

    def _charts(self, pnl: HedgePnl | None) -> None:
        points = pnl.fundings if pnl is not None else ()
        self.funding_chart.data = [float(p.amount) for p in points]
        self.basis_chart.data = [float(p.basis_bps) for p in points if p.basis_bps is not None]

    def _leg(self, label: str, qty: Decimal, mark: Decimal) -> str:
        return f"{label} {qty:+.{self.places}f} {self.base} {qty * mark:>10,.2f}\n"

    def show(
        self,
        drift: HedgeDrift | None,
        *,
        unrealized_pnl: Decimal | None = None,
        pnl: HedgePnl | None = None,
        perp: PerpHealth | None = None,
        now_ms: int = 0,
        note: str = "",
    ) -> None:
        """The settled hedge: legs, drift against tolerance and, past it, the correction to send."""
        self.drift = drift
        self.in_flight = False
        self.border_title = "Hedge"
        self.set_class(False, "-in-flight")
        if drift is None:
            self.figures.set(Text("no position data yet", style="dim"))
            self._charts(None)
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
        self.pnl, self.perp = pnl, perp
        level = perp.level if perp is not None else WatchLevel.OK
        self.set_class(level is WatchLevel.WARN, "-perp-warn")
        self.set_class(level is WatchLevel.CRITICAL, "-perp-critical")
        if self.compact:
            net = "—" if pnl is None else fmt_money(pnl.net)
            text.append(f"net {net} · ")
            text.append_text(self.perp_text(perp, None, short=True))
        else:
            text.append("\n".join(pnl_lines(pnl, now_ms)) + "\n")
            text.append_text(self.perp_text(perp, unrealized_pnl, short=False))
        self._charts(pnl)
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
