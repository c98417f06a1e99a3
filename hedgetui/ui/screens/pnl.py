"""The open hedge's P&L in full, with the funding and basis history: what a short terminal's hedge pane
keeps to one line (``p`` opens it anywhere)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Sparkline, Static

from hedgetui.domain.margin import PerpHealth
from hedgetui.domain.pnl import HedgePnl
from hedgetui.ui.widgets.hedge import pnl_lines


class PnlScreen(ModalScreen[None]):
    """Net P&L with its parts, funding, time held, basis, APR, break-even, the perp's margin figures, charts."""

    DEFAULT_CSS = """
    PnlScreen { align: center middle; }
    PnlScreen > Vertical {
        width: 64; max-width: 95%; height: auto; max-height: 95%;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    PnlScreen .pnl-title { text-style: bold; }
    PnlScreen .pnl-figures { height: auto; margin-bottom: 1; }
    PnlScreen Horizontal { height: 2; }
    PnlScreen Horizontal > Label { width: 8; }
    PnlScreen Horizontal > Sparkline { width: 1fr; height: 2; }
    """

    BINDINGS = [Binding("escape", "close", "close"), Binding("p", "close", "close", show=False)]

    def __init__(self, pnl: HedgePnl | None, perp: PerpHealth | None, now_ms: int) -> None:
        super().__init__()
        self.pnl = pnl
        self.perp = perp
        self.now_ms = now_ms

    def figures(self) -> Text:
        """The full text (for the screen and for tests)."""
        lines = pnl_lines(self.pnl, self.now_ms)
        if self.perp is not None:
            lines.append(self.perp.describe_margin())
            lines.append(self.perp.describe_liq())
        return Text("\n".join(lines))

    def compose(self) -> ComposeResult:
        points = self.pnl.fundings if self.pnl is not None else ()
        with Vertical():
            yield Label(Text("Hedge P&L (Escape to close)"), classes="pnl-title")
            yield Static(self.figures(), classes="pnl-figures", id="pnl-figures")
            with Horizontal():
                yield Label(f"funding\n{len(points)} paid")
                yield Sparkline([float(p.amount) for p in points], summary_function=max, id="pnl-funding")
            with Horizontal():
                yield Label("basis\nbps")
                basis = [float(p.basis_bps) for p in points if p.basis_bps is not None]
                yield Sparkline(basis, summary_function=max, id="pnl-basis")

    def action_close(self) -> None:
        self.dismiss(None)
