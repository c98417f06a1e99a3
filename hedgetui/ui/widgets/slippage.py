"""Estimated slippage for the configured hedge size, both legs, entry and exit.

Below 100 columns the VWAPs are left out (bps and depth stay), so no figure is cut in the middle.
"""

from __future__ import annotations

from decimal import Decimal

from rich.text import Text
from textual import events

from hedgetui.domain.slippage import SlippageEstimate
from hedgetui.engine.preview import LegEstimates
from hedgetui.ui.widgets.text_line import TextLine

WIDE = 100


def leg_text(label: str, est: SlippageEstimate | None, price_places: int, wide: bool) -> Text:
    """``spot buy 60,012.60 +4.3 bps depth ×11.2 ✓`` (without the VWAP when narrow)."""
    text = Text(f"{label} ")
    if est is None:
        text.append("—", style="dim")
        return text
    bps = "—" if est.slippage_bps is None else f"{est.slippage_bps:+.1f} bps"
    depth = "—" if est.depth_multiple is None else f"×{est.depth_multiple:.1f}"
    if wide:
        vwap = "—" if est.vwap is None else f"{est.vwap:,.{price_places}f}"
        text.append(f"{vwap} {bps} depth {depth} ")
    else:
        text.append(f"{bps} d{depth} ")
    text.append("✓" if est.ok else f"✗ {est.verdict.value}", style="bold" if est.ok else "bold reverse")
    return text


class SlippagePane(TextLine):
    """Two lines: entry (spot buy, perp sell) and exit (spot sell, perp buy)."""

    DEFAULT_CSS = """
    SlippagePane {
        height: auto;
        border: round $panel-lighten-2;
        padding: 0 1;
    }
    SlippagePane.-blocked { border: round $warn; }
    """

    def __init__(self, spot_places: int = 2, perp_places: int = 1, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.border_title = "Slippage"
        self.spot_places = spot_places
        self.perp_places = perp_places
        self._last: tuple[LegEstimates | None, LegEstimates | None, str | None] = (None, None, None)
        self._size_label = ""

    def show(
        self,
        size_usd: Decimal,
        quantity: Decimal | None,
        entry: LegEstimates | None,
        exit_: LegEstimates | None,
        limit_bps: Decimal,
        note: str | None = None,
    ) -> None:
        qty = f" = {quantity} base" if quantity is not None else ""
        self.border_title = f"Slippage for ${size_usd:,.0f}{qty} · limit {limit_bps} bps · s size"
        self._size_label = f"${size_usd:,.0f}"
        self._last = (entry, exit_, note)
        self._draw()

    def _draw(self) -> None:
        entry, exit_, note = self._last
        wide = self.size.width == 0 or self.size.width >= WIDE
        # Without a border (short terminals) the title is gone: the size leads the lines instead.
        titled = self.styles.border_top[0] not in ("", "none", "hidden")
        lead = "" if titled else f"{self._size_label} "
        text = Text()
        for label, legs, spot_label, perp_label in (
            ("entry ", entry, "spot buy", "perp sell"),
            ("exit  ", exit_, "spot sell", "perp buy"),
        ):
            if text:
                text.append("\n" + " " * len(lead))
            else:
                text.append(lead, style="bold")
            text.append(label)
            text.append_text(leg_text(spot_label, legs.spot if legs else None, self.spot_places, wide))
            text.append(" │ ")
            text.append_text(leg_text(perp_label, legs.perp if legs else None, self.perp_places, wide))
        if note:
            text.append(f"\n{note}", style="italic")
        blocked = any(legs is not None and legs.blocking() is not None for legs in (entry, exit_))
        self.set_class(blocked, "-blocked")
        self.set(text)

    def on_resize(self, event: events.Resize) -> None:
        self._draw()
