"""Hedge drift: how far the two legs are apart, and the order (if any) that would bring them together.

Drift is computed from exchange state: the hedge's spot holding (what it actually holds after the spot
buy fee, which Binance takes in BTC) against the perp position (signed, negative short), both valued at
the mark price. ``drift_qty = spot + perp``: positive means net long, negative net short.

A correction is rounded to the NEAREST step of its market (half up), never down: rounding down could
leave almost a whole step behind (a perp short of 0.033 against 0.000004 spot would be "corrected" by
buying 0.032 and left 0.001 short), whereas the nearest step leaves at most half a step and never more
than the correction itself removes.

The preferred correction trims the larger leg (sell spot when net long, reduce-only buy of the perp when
net short): it never increases exposure, and closing the whole remaining perp reduce-only is always
allowed (Binance exempts reduce-only orders from the perp's minimum notional). When trimming is not
orderable (it rounds to nothing, or falls below the minimum quantity or spot's minimum notional) the
fallback grows the smaller leg instead (sell perp when net long, buy spot when net short), which must
pass that market's minimums like any opening order. ``DriftCorrection.reduces`` tells the two apart, so
that the caller can decide whether a state that only allows reducing may send it. When both ways are
orderable the other one is offered as ``HedgeDrift.alternative``: for a half-done entry, trimming unwinds
the filled leg and growing completes the missing one, and which is right is the caller's decision.

Dust is a difference no order can carry: below one step on both markets, a spot remainder with no perp
whose value is below spot's minimum notional (the BTC fee left after an unwind), or a drift above
tolerance that neither way can trade and that is below one step of the leg that would trim it. Dust is
reported (``dust=True``, no correction) and never needs correcting, so it is never a reason to halt. Any
other drift above tolerance that cannot be traded keeps ``needs_correction`` with no correction and says
which minimum blocks it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, ConfigDict

from hedgetui.domain.markets import MarketRules
from hedgetui.domain.orders import Side
from hedgetui.domain.quantity import floor_to, orderable
from hedgetui.domain.venue import MarketKind

BPS = Decimal(10_000)
_ZERO = Decimal(0)


class DriftCorrection(BaseModel):
    """One order that closes (most of) the drift.

    ``reduces`` is True when it trims the larger leg (never increases exposure) and False when it grows
    the smaller leg (an opening order on that market).
    """

    model_config = ConfigDict(frozen=True)

    kind: MarketKind
    side: Side
    quantity: Decimal
    reduce_only: bool
    reduces: bool

    def describe(self) -> str:
        # normalize() drops the step's trailing zeros (0.03300 → 0.033); ":f" keeps 100 from becoming 1E+2.
        return f"{self.kind.value} {self.side.value} {self.quantity.normalize():f}"


class HedgeDrift(BaseModel):
    """The legs, their difference in base units and in bps of the hedge notional, and what to do.

    ``correction`` is the preferred order (None when none is needed or none is orderable);
    ``alternative`` the other way of closing the same drift when it is orderable too; ``dust`` marks a
    difference no order can carry (then ``needs_correction`` is False and ``residual_reason`` says why).
    """

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
    alternative: DriftCorrection | None = None
    dust: bool = False

    @property
    def within_tolerance(self) -> bool:
        return abs(self.drift_bps) <= self.tolerance_bps

    @property
    def flat(self) -> bool:
        """No perp position and at most unsellable spot dust."""
        return self.perp_qty == 0 and self.hedge_notional == 0

    def describe(self) -> str:
        """One line for the journal and the dashboard."""
        sign = "+" if self.drift_bps > 0 else ""
        text = f"drift {sign}{self.drift_bps:.1f} bps ({self.drift_qty:+f} base) tolerance {self.tolerance_bps} bps"
        if self.correction is not None:
            text += f"; correct: {self.correction.describe()}"
            if self.alternative is not None:
                text += f"; or: {self.alternative.describe()}"
        elif self.dust:
            text += f"; {self.residual_reason}"
        elif self.residual_reason:
            text += f"; residual: {self.residual_reason}"
        return text


def _nearest_step(quantity: Decimal, step: Decimal) -> Decimal:
    """``quantity`` rounded to the nearest multiple of ``step``, halves up (never below zero).

    quantity.py only rounds down or up; a correction needs the nearest step so that the residual it leaves
    is at most half a step.
    """
    if not quantity.is_finite() or quantity <= 0:
        return _ZERO
    return (quantity / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


def _candidate(
    quantity: Decimal,
    rules: MarketRules,
    price: Decimal,
    side: Side,
    *,
    reduce_only: bool,
    reduces: bool,
) -> tuple[DriftCorrection | None, str]:
    """The correction of ``quantity`` on ``rules``' market, or None with why it cannot be sent."""
    verb = f"{rules.kind.value} {side.value}"
    if quantity <= 0:
        return None, f"{verb} rounds to nothing (step {rules.step})"
    problem = orderable(quantity, rules, price, reduce_only=reduce_only)
    if problem is not None:
        return None, f"{verb}: {problem}"
    return DriftCorrection(kind=rules.kind, side=side, quantity=quantity, reduce_only=reduce_only, reduces=reduces), ""


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

    ``spot_price`` (defaults to the mark) values a spot order against spot's minimum notional; a perp
    order is valued at the mark.
    """
    drift_qty = spot_qty + perp_qty
    hedge_qty = max(abs(spot_qty), abs(perp_qty))
    hedge_notional = hedge_qty * mark_price
    drift_notional = drift_qty * mark_price
    drift_bps = drift_notional / hedge_notional * BPS if hedge_notional > 0 else _ZERO
    spot_px = spot_price or mark_price

    def result(
        *,
        needs: bool = False,
        correction: DriftCorrection | None = None,
        alternative: DriftCorrection | None = None,
        residual: str | None = None,
        dust: bool = False,
        flat: bool = False,
    ) -> HedgeDrift:
        return HedgeDrift(
            spot_qty=spot_qty,
            perp_qty=perp_qty,
            mark_price=mark_price,
            drift_qty=drift_qty,
            drift_notional=drift_notional,
            hedge_notional=_ZERO if flat else hedge_notional,
            drift_bps=_ZERO if flat else drift_bps,
            tolerance_bps=tolerance_bps,
            needs_correction=needs,
            correction=correction,
            alternative=alternative,
            residual_reason=residual,
            dust=dust,
        )

    if perp_qty == 0 and spot_qty > 0 and spot_qty * spot_px < spot_rules.min_notional:
        # No perp and a spot remainder too small to sell (e.g. the BTC fee left after an unwind): dust, the
        # hedge is flat. It is reported, never "corrected" with an order the exchange would reject.
        return result(
            dust=True, flat=True, residual=f"spot dust {spot_qty} below the {spot_rules.min_notional} USD minimum"
        )
    if drift_qty == 0:
        return result()
    size = abs(drift_qty)
    if size < min(spot_rules.step, perp_rules.step):
        # Below one step on both markets: no order on either side can carry it.
        return result(
            dust=True,
            residual=(
                f"dust {size} base below one step on both markets (spot {spot_rules.step}, perp {perp_rules.step})"
            ),
        )
    if abs(drift_bps) <= tolerance_bps:
        return result()

    if drift_qty > 0:  # net long: sell spot (trim) or sell perp (grow)
        trim_rules = spot_rules
        trim, trim_why = _candidate(
            min(_nearest_step(size, spot_rules.step), floor_to(spot_qty, spot_rules.step)),
            spot_rules,
            spot_px,
            Side.SELL,
            reduce_only=False,
            reduces=True,
        )
        grow, grow_why = _candidate(
            _nearest_step(size, perp_rules.step), perp_rules, mark_price, Side.SELL, reduce_only=False, reduces=False
        )
    else:  # net short: reduce-only buy of the perp (trim) or buy spot (grow)
        trim_rules = perp_rules
        trim, trim_why = _candidate(
            min(_nearest_step(size, perp_rules.step), floor_to(-perp_qty, perp_rules.step)),
            perp_rules,
            mark_price,
            Side.BUY,
            reduce_only=True,
            reduces=True,
        )
        grow, grow_why = _candidate(
            _nearest_step(size, spot_rules.step), spot_rules, spot_px, Side.BUY, reduce_only=False, reduces=False
        )

    if trim is not None:
        return result(needs=True, correction=trim, alternative=grow if grow != trim else None)
    if grow is not None:
        return result(needs=True, correction=grow)
    blocked = f"cannot trim ({trim_why}) nor grow ({grow_why})"
    if size < trim_rules.step:
        # Less than one step of the leg that would trim it and the other leg cannot take it either: it
        # cannot be traded away, so halting over it would achieve nothing.
        return result(dust=True, residual=f"dust {size} base below one {trim_rules.kind.value} step: {blocked}")
    return result(needs=True, residual=blocked)
