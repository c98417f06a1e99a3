"""One base quantity valid on both legs of the hedge, and what one market will accept.

A USD notional becomes a base quantity that is a multiple of BOTH markets' steps (their least common
multiple: the coarser step wins, and two steps where neither divides the other still work), rounded down so
that neither leg exceeds the notional asked for, and that satisfies each market's minimum quantity, minimum
notional (at that market's own price) and maximum market-order quantity. When no such quantity exists the
result carries a machine-readable reason code, the market and limit concerned, and one human sentence.

:func:`round_to_market` does the same for one market and an arbitrary quantity (drift corrections,
remainders of partial fills): round down to the step and say whether the result can be ordered there.
"""

from __future__ import annotations

import enum
import math
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal

from pydantic import BaseModel, ConfigDict

from hedgetui.domain.markets import MarketRules
from hedgetui.domain.venue import MarketKind

_ZERO = Decimal(0)


class QuantityReason(enum.StrEnum):
    """Why no orderable quantity exists (stable codes: the CLI and the journal report them)."""

    NON_POSITIVE_NOTIONAL = "NON_POSITIVE_NOTIONAL"
    NON_POSITIVE_PRICE = "NON_POSITIVE_PRICE"
    NON_POSITIVE_QUANTITY = "NON_POSITIVE_QUANTITY"
    BELOW_ONE_STEP = "BELOW_ONE_STEP"
    NOT_A_STEP_MULTIPLE = "NOT_A_STEP_MULTIPLE"
    BELOW_MIN_QTY = "BELOW_MIN_QTY"
    BELOW_MIN_NOTIONAL = "BELOW_MIN_NOTIONAL"
    ABOVE_MAX_QTY = "ABOVE_MAX_QTY"


class HedgeQuantity(BaseModel):
    """Either ``quantity`` (with each leg's notional) or ``reason`` with ``message``.

    ``market`` and ``limit`` name the market and the exchange limit that blocked (when one did);
    ``minimum_usd`` is the smallest notional that would give a valid hedge at these prices (for the
    BELOW_* reasons), ``maximum_usd`` the largest (for ABOVE_MAX_QTY).
    """

    model_config = ConfigDict(frozen=True)

    quantity: Decimal | None
    step: Decimal | None = None
    spot_notional: Decimal | None = None
    perp_notional: Decimal | None = None
    reason: QuantityReason | None = None
    message: str = ""
    market: MarketKind | None = None
    limit: Decimal | None = None
    minimum_usd: Decimal | None = None
    maximum_usd: Decimal | None = None

    @property
    def ok(self) -> bool:
        """True when a quantity was found."""
        return self.quantity is not None


class MarketQuantity(BaseModel):
    """A quantity rounded down to one market's step, and whether that market would accept it.

    ``remainder`` is what the rounding left behind (``requested - quantity``, never negative).
    """

    model_config = ConfigDict(frozen=True)

    kind: MarketKind
    requested: Decimal
    quantity: Decimal
    reason: QuantityReason | None = None
    message: str = ""
    limit: Decimal | None = None

    @property
    def orderable(self) -> bool:
        """True when ``quantity`` can be sent to this market as it is."""
        return self.reason is None

    @property
    def remainder(self) -> Decimal:
        """The part of the request below one step, which no order on this market can carry."""
        return max(_ZERO, self.requested - self.quantity)


def _fmt(value: Decimal) -> str:
    """A Decimal for a human: plain notation, no trailing zeros (``0.001``, ``100``, never ``1E+2``)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _usd(value: Decimal) -> str:
    return f"{value:.2f}"


def _name(rules: MarketRules) -> str:
    return f"{rules.kind.value} ({rules.symbol})"


def _finite_positive(value: Decimal | None) -> bool:
    # Ordering comparisons on NaN raise InvalidOperation: test finiteness first.
    return value is not None and value.is_finite() and value > 0


def common_step(a: Decimal, b: Decimal) -> Decimal:
    """The least common multiple of two positive decimal steps (0.00001 and 0.001 → 0.001; 0.004 and
    0.006 → 0.012): the smallest quantity that is a whole number of steps on both markets."""
    if not (_finite_positive(a) and _finite_positive(b)):
        raise ValueError(f"steps must be finite and positive, got {a} and {b}")
    exponent = min(a.as_tuple().exponent, b.as_tuple().exponent)
    assert isinstance(exponent, int)  # finite Decimals have integer exponents
    # Scale both to integers on the finer grid, take their integer LCM, scale back.
    ia, ib = int(a.scaleb(-exponent)), int(b.scaleb(-exponent))
    return Decimal(ia * ib // math.gcd(ia, ib)).scaleb(exponent)


def floor_to(quantity: Decimal, step: Decimal) -> Decimal:
    """Round ``quantity`` down to a multiple of ``step`` (never below zero)."""
    if not _finite_positive(step):
        raise ValueError(f"step must be finite and positive, got {step}")
    if not quantity.is_finite() or quantity <= 0:
        return _ZERO
    return (quantity / step).to_integral_value(rounding=ROUND_DOWN) * step


def ceil_to(quantity: Decimal, step: Decimal) -> Decimal:
    """Round ``quantity`` up to a multiple of ``step`` (never below zero)."""
    if not _finite_positive(step):
        raise ValueError(f"step must be finite and positive, got {step}")
    if not quantity.is_finite() or quantity <= 0:
        return _ZERO
    return (quantity / step).to_integral_value(rounding=ROUND_CEILING) * step


def _limits_problem(
    quantity: Decimal, rules: MarketRules, price: Decimal | None, *, reduce_only: bool, market_order: bool
) -> tuple[QuantityReason, str, Decimal | None] | None:
    """The first of ``rules``' limits that a step-aligned positive ``quantity`` breaks (None if none)."""
    if quantity < rules.min_qty:
        return (
            QuantityReason.BELOW_MIN_QTY,
            f"{_fmt(quantity)} is below the {_name(rules)} minimum quantity {_fmt(rules.min_qty)}",
            rules.min_qty,
        )
    maximum = rules.max_for(market_order=market_order)
    if maximum is not None and quantity > maximum:
        kind = "market-order maximum" if market_order else "maximum quantity"
        return (
            QuantityReason.ABOVE_MAX_QTY,
            f"{_fmt(quantity)} is above the {_name(rules)} {kind} {_fmt(maximum)}",
            maximum,
        )
    # Binance exempts reduce-only perp orders from the minimum notional (they can only shrink a position).
    if reduce_only and rules.kind is MarketKind.PERP:
        return None
    if rules.min_notional > 0:
        if not _finite_positive(price):
            return (
                QuantityReason.NON_POSITIVE_PRICE,
                f"no valid {_name(rules)} price to check the minimum notional against",
                None,
            )
        assert price is not None
        if quantity * price < rules.min_notional:
            return (
                QuantityReason.BELOW_MIN_NOTIONAL,
                f"{_fmt(quantity)} × {_usd(price)} = {_usd(quantity * price)} USD is below the"
                f" {_name(rules)} minimum notional of {_fmt(rules.min_notional)} USD",
                rules.min_notional,
            )
    return None


def round_to_market(
    quantity: Decimal,
    rules: MarketRules,
    price: Decimal | None,
    *,
    reduce_only: bool = False,
    market_order: bool = True,
) -> MarketQuantity:
    """Round ``quantity`` down to ``rules``' step and say whether the result is orderable there.

    ``price`` values the order against the minimum notional (not needed for a reduce-only perp order,
    which Binance exempts from it). ``market_order`` selects MARKET_LOT_SIZE's maximum over LOT_SIZE's.
    """
    if not quantity.is_finite() or quantity <= 0:
        return MarketQuantity(
            kind=rules.kind,
            requested=quantity,
            quantity=_ZERO,
            reason=QuantityReason.NON_POSITIVE_QUANTITY,
            message=f"{quantity} is not a positive quantity",
        )
    rounded = floor_to(quantity, rules.step)
    if rounded <= 0:
        return MarketQuantity(
            kind=rules.kind,
            requested=quantity,
            quantity=_ZERO,
            reason=QuantityReason.BELOW_ONE_STEP,
            message=f"{_fmt(quantity)} is below one {_name(rules)} step ({_fmt(rules.step)})",
            limit=rules.step,
        )
    problem = _limits_problem(rounded, rules, price, reduce_only=reduce_only, market_order=market_order)
    if problem is not None:
        reason, message, limit = problem
        return MarketQuantity(
            kind=rules.kind, requested=quantity, quantity=rounded, reason=reason, message=message, limit=limit
        )
    return MarketQuantity(
        kind=rules.kind, requested=quantity, quantity=rounded, message=f"{_fmt(rounded)} on {_name(rules)}"
    )


def orderable(
    quantity: Decimal,
    rules: MarketRules,
    price: Decimal | None,
    *,
    reduce_only: bool = False,
    market_order: bool = True,
) -> str | None:
    """Why ``quantity`` exactly as given cannot be sent on ``rules``' market (None when it can).

    Unlike :func:`round_to_market` nothing is rounded: a quantity off the step grid is refused, since the
    exchange (or ccxt) would otherwise truncate it silently.
    """
    if not quantity.is_finite() or quantity <= 0 or not rules.is_step_multiple(quantity):
        return f"{quantity} is not a positive multiple of the {_name(rules)} step {_fmt(rules.step)}"
    problem = _limits_problem(quantity, rules, price, reduce_only=reduce_only, market_order=market_order)
    return None if problem is None else problem[1]


def _smallest_valid(step: Decimal, legs: tuple[tuple[MarketRules, Decimal], ...]) -> Decimal:
    """The smallest common-step quantity meeting every leg's minimum quantity and minimum notional."""
    need = max(max(rules.min_qty, rules.min_notional / price) for rules, price in legs)
    smallest = ceil_to(need, step)
    return smallest if smallest > 0 else step


def hedge_quantity(
    notional_usd: Decimal,
    spot_price: Decimal | None,
    perp_price: Decimal | None,
    spot_rules: MarketRules,
    perp_rules: MarketRules,
) -> HedgeQuantity:
    """The largest quantity valid on both markets whose value on either leg stays within the notional.

    ``spot_price`` and ``perp_price`` are each market's own reference price (e.g. the spot ask and the perp
    bid for an entry): each leg's minimum notional is checked at its own price, and the quantity is sized
    against the dearer one so that neither leg exceeds ``notional_usd``. Rounding is always down.
    """
    if not _finite_positive(notional_usd):
        return HedgeQuantity(
            quantity=None,
            reason=QuantityReason.NON_POSITIVE_NOTIONAL,
            message=f"the size must be a positive number of USD, got {notional_usd}",
        )
    for rules, price in ((spot_rules, spot_price), (perp_rules, perp_price)):
        if not _finite_positive(price):
            return HedgeQuantity(
                quantity=None,
                reason=QuantityReason.NON_POSITIVE_PRICE,
                market=rules.kind,
                message=f"no valid {_name(rules)} price ({price})",
            )
    assert spot_price is not None and perp_price is not None
    step = common_step(spot_rules.step, perp_rules.step)
    legs = ((spot_rules, spot_price), (perp_rules, perp_price))
    # Size against the dearer leg so that neither leg's notional exceeds what was asked for.
    top = max(spot_price, perp_price)
    qty = floor_to(notional_usd / top, step)
    if qty <= 0:
        smallest = _smallest_valid(step, legs)
        return HedgeQuantity(
            quantity=None,
            step=step,
            reason=QuantityReason.BELOW_ONE_STEP,
            limit=step,
            minimum_usd=smallest * top,
            message=(
                f"{_usd(notional_usd)} USD is less than one common step of both markets ({_fmt(step)} ="
                f" {_usd(step * top)} USD at {_usd(top)}); the smallest valid hedge is"
                f" {_usd(smallest * top)} USD"
            ),
        )
    for rules, price in legs:
        problem = _limits_problem(qty, rules, price, reduce_only=False, market_order=True)
        if problem is None:
            continue
        reason, message, limit = problem
        minimum = maximum = None
        if reason is QuantityReason.ABOVE_MAX_QTY:
            assert limit is not None
            maximum = floor_to(limit, step) * top
            message += f" (at most {_usd(maximum)} USD per hedge)"
        else:
            minimum = _smallest_valid(step, legs) * top
            message += f"; the smallest valid hedge is {_usd(minimum)} USD"
        return HedgeQuantity(
            quantity=None,
            step=step,
            reason=reason,
            market=rules.kind,
            limit=limit,
            minimum_usd=minimum,
            maximum_usd=maximum,
            message=message,
        )
    return HedgeQuantity(
        quantity=qty,
        step=step,
        spot_notional=qty * spot_price,
        perp_notional=qty * perp_price,
        message=f"{_fmt(qty)} on both legs ({_usd(qty * spot_price)} / {_usd(qty * perp_price)} USD)",
    )
