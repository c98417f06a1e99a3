"""Hedge drift: how far the two legs are apart, and the order (if any) that would bring them together.

Drift is computed from exchange state: the hedge's spot holding (what it actually holds after the spot
buy fee, which Binance takes in BTC) against the perp position (signed, negative short), both valued at
the mark price. ``drift_qty = spot + perp``: positive means net long, negative net short.

A correction always trims the larger leg (sell spot when net long, reduce-only buy of the perp when net
short), so it never increases exposure and is allowed in REDUCING. The difference is rounded down to the
leg's step; when that leaves nothing orderable (below one step, the minimum quantity, or spot's minimum
notional — a reduce-only perp order is exempt from the perp's notional minimum) the difference is an
uncorrectable residual and is reported as such.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from hedgetui.domain.markets import MarketRules
from hedgetui.domain.orders import Side
from hedgetui.domain.quantity import floor_to, orderable
from hedgetui.domain.venue import MarketKind

BPS = Decimal(10_000)


class DriftCorrection(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: MarketKind
    side: Side
    quantity: Decimal
    reduce_only: bool


class HedgeDrift(BaseModel):
    """The legs, their difference in base units and in bps of the hedge notional, and what to do."""

    model_config = ConfigDict(frozen=True)

    spot_qty: Decimal
    perp_qty: Decimal
    mark_price: Decimal
    drift_qty: Decimal
    drift_notional: Decimal
    hedge_notional: Decimal
    drift_bps: Decimal
    tolerance_bps: Decimal
    needs_correction: bool
    correction: DriftCorrection | None
    residual_reason: str | None

    @property
    def within_tolerance(self) -> bool:
        return abs(self.drift_bps) <= self.tolerance_bps

    @property
    def flat(self) -> bool:
        """No perp position and at most unsellable spot dust."""
        return self.perp_qty == 0 and self.hedge_notional == 0

    def describe(self) -> str:
        sign = "+" if self.drift_bps > 0 else ""
        text = f"drift {sign}{self.drift_bps:.1f} bps ({self.drift_qty:+f} base) tolerance {self.tolerance_bps} bps"
        if self.correction is not None:
            c = self.correction
            text += f"; correct: {c.kind.value} {c.side.value} {c.quantity}"
        elif self.residual_reason:
            text += f"; residual: {self.residual_reason}"
        return text


def assess_drift(
    *,
    spot_qty: Decimal,
    perp_qty: Decimal,
    mark_price: Decimal,
    tolerance_bps: Decimal,
    spot_rules: MarketRules,
    perp_rules: MarketRules,
    spot_price: Decimal | None = None,
) -> HedgeDrift:
    """Assess the drift between the legs and propose the correcting order when one is orderable.

    ``spot_price`` (defaults to the mark) values a spot correction against spot's minimum notional.
    """
    drift_qty = spot_qty + perp_qty
    hedge_qty = max(abs(spot_qty), abs(perp_qty))
    hedge_notional = hedge_qty * mark_price
    drift_notional = drift_qty * mark_price
    drift_bps = drift_notional / hedge_notional * BPS if hedge_notional > 0 else Decimal(0)
    needs = abs(drift_bps) > tolerance_bps
    correction: DriftCorrection | None = None
    residual: str | None = None
    dust_price = spot_price or mark_price
    if perp_qty == 0 and spot_qty > 0 and spot_qty * dust_price < spot_rules.min_notional:
        # No perp and a spot remainder too small to sell (e.g. the BTC fee left after an unwind): dust, the
        # hedge is flat. It is reported, never "corrected" with an order the exchange would reject.
        return HedgeDrift(
            spot_qty=spot_qty,
            perp_qty=perp_qty,
            mark_price=mark_price,
            drift_qty=drift_qty,
            drift_notional=drift_notional,
            hedge_notional=Decimal(0),
            drift_bps=Decimal(0),
            tolerance_bps=tolerance_bps,
            needs_correction=False,
            correction=None,
            residual_reason=f"spot dust {spot_qty} below the {spot_rules.min_notional} USD minimum",
        )
    if drift_qty != 0:
        if drift_qty > 0:
            rules, side, reduce_only = spot_rules, Side.SELL, False
            qty = floor_to(min(drift_qty, max(spot_qty, Decimal(0))), rules.step)
            price = spot_price or mark_price
        else:
            rules, side, reduce_only = perp_rules, Side.BUY, True
            qty = floor_to(min(-drift_qty, max(-perp_qty, Decimal(0))), rules.step)
            price = mark_price  # reduce-only: exempt from the perp notional minimum
        residual = (
            orderable(qty, rules, price, reduce_only=reduce_only)
            if qty > 0
            else (f"{abs(drift_qty)} is below one {rules.kind.value} step ({rules.step})")
        )
        if residual is None:
            correction = DriftCorrection(kind=rules.kind, side=side, quantity=qty, reduce_only=reduce_only)
    return HedgeDrift(
        spot_qty=spot_qty,
        perp_qty=perp_qty,
        mark_price=mark_price,
        drift_qty=drift_qty,
        drift_notional=drift_notional,
        hedge_notional=hedge_notional,
        drift_bps=drift_bps,
        tolerance_bps=tolerance_bps,
        needs_correction=needs,
        correction=correction if needs else None,
        residual_reason=residual if needs else None,
    )
