"""One base quantity valid on both legs of the hedge.

A USD notional becomes a base quantity that is a multiple of BOTH markets' steps (their least common
multiple: the coarser step wins, and a step that does not divide the other still works), rounded down so
the hedge never exceeds the notional asked for, and that satisfies each market's minimum quantity,
minimum notional (at that market's own price) and maximum market-order quantity. When no such quantity
exists, the result says why in a reason code and one human sentence.
"""

from __future__ import annotations

import enum
import math
from decimal import ROUND_DOWN, Decimal

from pydantic import BaseModel, ConfigDict

from hedgetui.domain.markets import MarketRules


class QuantityReason(enum.StrEnum):
    NON_POSITIVE_NOTIONAL = "NON_POSITIVE_NOTIONAL"
    NON_POSITIVE_PRICE = "NON_POSITIVE_PRICE"
    BELOW_ONE_STEP = "BELOW_ONE_STEP"
    BELOW_MIN_QTY = "BELOW_MIN_QTY"
    BELOW_MIN_NOTIONAL = "BELOW_MIN_NOTIONAL"
    ABOVE_MAX_QTY = "ABOVE_MAX_QTY"


class HedgeQuantity(BaseModel):
    """Either ``quantity`` (with each leg's notional) or ``reason`` with ``message``."""

    model_config = ConfigDict(frozen=True)

    quantity: Decimal | None
    step: Decimal | None = None
    spot_notional: Decimal | None = None
    perp_notional: Decimal | None = None
    reason: QuantityReason | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.quantity is not None


def common_step(a: Decimal, b: Decimal) -> Decimal:
    """The least common multiple of two positive decimal steps (0.00001 and 0.001 → 0.001)."""
    if a <= 0 or b <= 0:
        raise ValueError("steps must be positive")
    exponent = min(a.as_tuple().exponent, b.as_tuple().exponent)
    assert isinstance(exponent, int)
    scale = Decimal(1).scaleb(exponent)
    ia, ib = int(a / scale), int(b / scale)
    return Decimal(ia * ib // math.gcd(ia, ib)) * scale


def floor_to(quantity: Decimal, step: Decimal) -> Decimal:
    """Round ``quantity`` down to a multiple of ``step`` (never below zero)."""
    if quantity <= 0:
        return Decimal(0)
    return (quantity / step).to_integral_value(rounding=ROUND_DOWN) * step


def orderable(quantity: Decimal, rules: MarketRules, price: Decimal, *, reduce_only: bool = False) -> str | None:
    """Why ``quantity`` cannot be sent as a market order on ``rules``' market (None when it can).

    A reduce-only perp order is exempt from the notional minimum, as on Binance.
    """
    if quantity <= 0 or quantity % rules.step != 0:
        return f"{quantity} is not a positive multiple of the {rules.kind.value} step {rules.step}"
    if quantity < rules.min_qty:
        return f"{quantity} is below the {rules.kind.value} minimum quantity {rules.min_qty}"
    if rules.market_max_qty is not None and quantity > rules.market_max_qty:
        return f"{quantity} is above the {rules.kind.value} market-order maximum {rules.market_max_qty}"
    if not reduce_only and quantity * price < rules.min_notional:
        return f"{quantity * price:.2f} USD is below the {rules.kind.value} minimum notional {rules.min_notional}"
    return None


def hedge_quantity(
    notional_usd: Decimal,
    spot_price: Decimal | None,
    perp_price: Decimal | None,
    spot_rules: MarketRules,
    perp_rules: MarketRules,
) -> HedgeQuantity:
    """The largest quantity valid on both markets whose value at the higher price stays within the notional."""
    if notional_usd <= 0:
        return HedgeQuantity(
            quantity=None, reason=QuantityReason.NON_POSITIVE_NOTIONAL, message="the size must be positive"
        )
    if spot_price is None or perp_price is None or spot_price <= 0 or perp_price <= 0:
        return HedgeQuantity(
            quantity=None, reason=QuantityReason.NON_POSITIVE_PRICE, message="no price on one of the markets"
        )
    step = common_step(spot_rules.step, perp_rules.step)
    # Size against the dearer leg so that neither leg's notional exceeds what was asked for.
    price = max(spot_price, perp_price)
    qty = floor_to(notional_usd / price, step)
    if qty <= 0:
        return HedgeQuantity(
            quantity=None,
            step=step,
            reason=QuantityReason.BELOW_ONE_STEP,
            message=f"{notional_usd} USD is less than one common step ({step} at {price:.2f})",
        )
    for rules, leg_price in ((spot_rules, spot_price), (perp_rules, perp_price)):
        if qty < rules.min_qty:
            return HedgeQuantity(
                quantity=None,
                step=step,
                reason=QuantityReason.BELOW_MIN_QTY,
                message=f"{qty} is below the {rules.kind.value} minimum quantity {rules.min_qty}",
            )
        if qty * leg_price < rules.min_notional:
            return HedgeQuantity(
                quantity=None,
                step=step,
                reason=QuantityReason.BELOW_MIN_NOTIONAL,
                message=(
                    f"{qty} × {leg_price:.2f} = {qty * leg_price:.2f} USD is below the {rules.kind.value}"
                    f" minimum notional of {rules.min_notional} USD"
                ),
            )
        limit = rules.market_max_qty if rules.market_max_qty is not None else rules.max_qty
        if limit is not None and qty > limit:
            return HedgeQuantity(
                quantity=None,
                step=step,
                reason=QuantityReason.ABOVE_MAX_QTY,
                message=f"{qty} is above the {rules.kind.value} maximum market-order quantity {limit}",
            )
    return HedgeQuantity(
        quantity=qty,
        step=step,
        spot_notional=qty * spot_price,
        perp_notional=qty * perp_price,
        message=f"{qty} on both legs",
    )
