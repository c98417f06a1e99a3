"""The text of every confirmation: what will happen, in figures rounded to each market's tick and step.

Built from the engine's own calls (``preview`` for an entry, the proposal for a reconciliation, the
streamed books through ``estimate_legs`` for an exit), so the plan shows what the pipeline checks.
Everything here returns ``rich.text.Text``, never markup, so exchange wording cannot restyle it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rich.text import Text

from hedgetui.domain.drift import HedgeDrift
from hedgetui.domain.markets import MarketRules
from hedgetui.domain.slippage import SlippageEstimate
from hedgetui.engine.hedge import ExchangeLegs
from hedgetui.engine.preview import LegEstimates, Preview
from hedgetui.engine.proposal import Proposal
from hedgetui.engine.settings import LegMode
from hedgetui.ui.formatting import decimals_of, fmt_price, fmt_qty

LEG_MODE_TEXT = {
    LegMode.CONCURRENT: "both legs sent together (concurrent)",
    LegMode.PERP_FIRST: "perp first, then spot for what the perp filled (perp_first)",
}


@dataclass(frozen=True)
class Markets:
    """Both markets' rules and the taker fee rates the dashboard estimates fees with (fractions)."""

    spot: MarketRules
    perp: MarketRules
    spot_fee: Decimal
    perp_fee: Decimal

    def price(self, est_kind_is_spot: bool, value: Decimal | None) -> str:
        rules = self.spot if est_kind_is_spot else self.perp
        return fmt_price(value, decimals_of(rules.tick))

    def qty(self, value: Decimal | None, spot: bool = False) -> str:
        # The hedge quantity is valid on both markets; show it to the coarser step.
        rules = self.spot if spot else self.perp
        return fmt_qty(value, decimals_of(rules.step))


def leg_line(label: str, est: SlippageEstimate | None, markets: Markets, spot: bool) -> str:
    """``spot buy   VWAP 60,012.60  +4.3 bps vs mid  depth ×11.2  notional 1,980.41  OK``."""
    if est is None:
        return f"{label}  no estimate"
    bps = "—" if est.slippage_bps is None else f"{est.slippage_bps:+.1f} bps"
    depth = "—" if est.depth_multiple is None else f"×{est.depth_multiple:.1f}"
    notional = "—" if est.vwap is None else f"{est.vwap * est.quantity:,.2f}"
    return (
        f"{label} expected {markets.price(spot, est.vwap)} ({bps} vs mid, depth {depth}) "
        f"= {notional} USD {est.verdict.value}"
    )


def fees_line(legs: LegEstimates | None, markets: Markets) -> str:
    if legs is None or legs.spot.vwap is None or legs.perp.vwap is None:
        return "fees: unknown until both books are read"
    spot = legs.spot.vwap * legs.spot.quantity * markets.spot_fee
    perp = legs.perp.vwap * legs.perp.quantity * markets.perp_fee
    return (
        f"fees ≈ {spot + perp:,.2f} USD (spot {spot:,.2f} at {markets.spot_fee * 100:.3f} %, "
        f"perp {perp:,.2f} at {markets.perp_fee * 100:.3f} % taker, ui.*_taker_fee_pct)"
    )


def entry_plan(preview: Preview, legs: ExchangeLegs | None, markets: Markets, leg_mode: LegMode, base: str) -> Text:
    """The entry confirmation: size, quantity, what it does to an open hedge, both legs, fees, risk."""
    q = preview.quantity
    text = Text()
    text.append(f"Size {preview.size_usd:,.2f} USD → {markets.qty(q)} {base} on both legs\n")
    if legs is not None and q is not None:
        held = -legs.perp_qty
        if held > 0:
            text.append(
                f"adds to the open hedge: {markets.qty(held)} → {markets.qty(held + q)} {base} short perp "
                f"(spot {markets.qty(legs.spot_qty, spot=True)} → {markets.qty(legs.spot_qty + q, spot=True)})\n",
                style="bold",
            )
        else:
            text.append("opens a new hedge (the exchange shows no perp position)\n")
    text.append(f"leg mode: {LEG_MODE_TEXT.get(leg_mode, leg_mode.value)}\n")
    entry = preview.estimate.entry
    text.append(leg_line("spot buy ", entry.spot if entry else None, markets, True) + "\n")
    text.append(leg_line("perp sell", entry.perp if entry else None, markets, False) + "\n")
    text.append(fees_line(entry, markets) + "\n")
    text.append(f"risk: {preview.risk.summary()}\n")
    for r in preview.risk.reasons:
        text.append(f"  {r.severity.value:<5} {r.code}: {r.message}\n")
    return text


def exit_plan(legs: ExchangeLegs | None, estimate: LegEstimates | None, markets: Markets, base: str) -> Text:
    """The exit confirmation: both legs' quantities, expected prices and slippage, fees, then verify flat."""
    text = Text()
    if legs is None:
        return Text("the account figures have not arrived yet")
    text.append(
        f"sell spot {markets.qty(legs.spot_qty, spot=True)} {base}"
        + (f" (balance {legs.spot_total} less reserve {legs.reserve})" if legs.reserve else "")
        + "\n"
    )
    text.append(f"buy back perp {markets.qty(-legs.perp_qty)} {base} reduce-only\n")
    text.append(leg_line("spot sell", estimate.spot if estimate else None, markets, True) + "\n")
    text.append(leg_line("perp buy ", estimate.perp if estimate else None, markets, False) + "\n")
    text.append(fees_line(estimate, markets) + "\n")
    text.append("then verify both legs are flat on the exchange")
    return text


def correct_plan(drift: HedgeDrift | None, markets: Markets, base: str) -> Text:
    if drift is None:
        return Text("the account figures have not arrived yet")
    text = Text(
        f"spot {markets.qty(drift.spot_qty, spot=True)} {base} · perp {markets.qty(drift.perp_qty)} {base} · "
        f"drift {drift.drift_bps:+.1f} bps (tolerance {drift.tolerance_bps} bps)\n"
    )
    if drift.correction is not None:
        c = drift.correction
        text.append(
            f"send: {c.kind.value} {c.side.value} {markets.qty(c.quantity, spot=c.kind.value == 'spot')} {base}"
            + (" reduce-only" if c.reduce_only else "")
            + (" (reduces exposure)" if c.reduces else " (grows the smaller leg)")
        )
    else:
        text.append(f"no orderable correction: {drift.residual_reason}")
    return text


def proposal_plan(proposal: Proposal, index: int) -> Text:
    """The engine's reconciliation proposal, with the option being accepted marked."""
    text = Text(f"{proposal.reason}\n{proposal.legs.describe()}\n{proposal.drift.describe()}\n\n")
    for i, option in enumerate(proposal.options):
        mark = "→" if i == index else " "
        text.append(f"{mark} [{i + 1}] {option.describe()}\n", style="bold" if i == index else "")
    if len(proposal.options) > 1:
        text.append("\npress 1 or 2 in this dialog to choose the option; nothing is sent until you confirm")
    return text
