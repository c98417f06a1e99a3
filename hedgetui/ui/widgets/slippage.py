"""Estimated slippage for the configured hedge size, both legs, entry and exit."""

from __future__ import annotations

from decimal import Decimal

from rich.text import Text
from textual.widgets import Static

from hedgetui.domain.slippage import SlippageEstimate


def _leg(label: str, est: SlippageEstimate | None, price_places: int) -> Text:
    text = Text(f"{label} ")
    if est is None:
        text.append("—", style="dim")
        return text
    vwap = "—" if est.vwap is None else f"{est.vwap:,.{price_places}f}"
    bps = "—" if est.slippage_bps is None else f"{est.slippage_bps:+.1f} bps"
    depth = "—" if est.depth_multiple is None else f"×{est.depth_multiple:.1f}"
    text.append(f"{vwap} {bps} {depth} ")
    text.append("✓" if est.ok else f"✗ {est.verdict.value}", style="bold" if est.ok else "bold reverse")
    return text


class SlippagePane(Static):
    """Two lines: entry (spot buy, perp sell) and exit (spot sell, perp buy)."""

    DEFAULT_CSS = """
    SlippagePane {
        height: auto;
        border: round $panel-lighten-2;
        padding: 0 1;
    }
    SlippagePane.-blocked { border: round $warn; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.border_title = "Slippage"

    def show(
        self,
        size_usd: Decimal,
        quantity: Decimal | None,
        entry: tuple[SlippageEstimate | None, SlippageEstimate | None],
        exit_: tuple[SlippageEstimate | None, SlippageEstimate | None],
        limit_bps: Decimal,
        note: str | None = None,
    ) -> None:
        qty = f" = {quantity} base" if quantity is not None else ""
        self.border_title = f"Slippage for ${size_usd:,.0f}{qty} · limit {limit_bps} bps  [s] size"
        text = Text()
        text.append("entry ")
        text.append_text(_leg("spot buy", entry[0], 2))
        text.append(" │ ")
        text.append_text(_leg("perp sell", entry[1], 1))
        text.append("\nexit  ")
        text.append_text(_leg("spot sell", exit_[0], 2))
        text.append(" │ ")
        text.append_text(_leg("perp buy", exit_[1], 1))
        if note:
            text.append(f"\n{note}", style="italic")
        blocked = any(e is not None and not e.ok for e in (*entry, *exit_))
        self.set_class(blocked, "-blocked")
        self.update(text)
