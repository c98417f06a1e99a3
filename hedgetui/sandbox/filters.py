"""Binance's order filters and parameter checks, with the exact error codes and messages it answers.

Pure functions over a :class:`SymbolSpec`; each raises :class:`SandboxError` on the first failure, in the
order Binance applies them (parameters, then price, then quantity, then notional).
"""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from hedgetui.sandbox.model import Market, OrderType, SandboxError, Side, SymbolSpec

CLIENT_ID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
NUMBER_RANGE = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
#: Spot NOTIONAL filter's maxNotional (applied to limit orders only, as ``applyMaxToMarket`` is false).
SPOT_MAX_NOTIONAL = Decimal("9000000")
SPOT_MIN_PRICE = Decimal("0.01")
SPOT_MAX_PRICE = Decimal("1000000")

LOT_SIZE = "Filter failure: LOT_SIZE"
PRICE_FILTER = "Filter failure: PRICE_FILTER"
NOTIONAL = "Filter failure: NOTIONAL"
INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."
MARGIN_INSUFFICIENT = "Margin is insufficient."
REDUCE_ONLY_REJECTED = "ReduceOnly Order is rejected."


def mandatory(name: str) -> SandboxError:
    """-1102: a required parameter is missing."""
    return SandboxError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def not_required(name: str) -> SandboxError:
    """-1106: a parameter that this kind of order does not take."""
    return SandboxError(-1106, f"Parameter '{name}' sent when not required.")


def illegal_number(name: str) -> SandboxError:
    """-1100: a number Binance's parameter grammar does not accept (negative, NaN, infinite)."""
    return SandboxError(-1100, f"Illegal characters found in parameter '{name}'; legal range is '{NUMBER_RANGE}'.")


def check_client_id(client_order_id: str) -> None:
    if not CLIENT_ID.match(client_order_id):
        raise SandboxError(
            -1100,
            "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.",
        )


def check_number(name: str, value: Decimal | None) -> None:
    if value is not None and (not value.is_finite() or value < 0):
        raise illegal_number(name)


def steps_of(value: Decimal, step: Decimal) -> int | None:
    """``value`` as a whole number of ``step``; ``None`` when it is not a multiple."""
    ratio = value / step
    whole = ratio.to_integral_value()
    return int(whole) if ratio == whole else None


def round_to(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    """``value`` rounded to a whole multiple of ``step`` (``quantize`` would round to step's exponent,
    which differs for steps like 0.10 or 0.5)."""
    # Quantizing to exponent 0 keeps the product in plain notation with the step's decimals.
    return (value / step).quantize(Decimal(1), rounding=rounding) * step


def check_spot(spec: SymbolSpec, type: OrderType, qty: Decimal, price: Decimal | None, mid: Decimal) -> None:
    """PRICE_FILTER, LOT_SIZE (MARKET orders also against the market maximum) and NOTIONAL (-1013)."""
    if price is not None and (
        price < SPOT_MIN_PRICE or price > SPOT_MAX_PRICE or steps_of(price, spec.spot_tick) is None
    ):
        raise SandboxError(-1013, PRICE_FILTER)
    max_qty = spec.spot_market_max_qty if type is OrderType.MARKET else spec.spot_max_qty
    if qty < spec.spot_min_qty or qty > max_qty or steps_of(qty, spec.spot_step) is None:
        raise SandboxError(-1013, LOT_SIZE)
    notional = qty * (price if price is not None else mid)
    if notional < spec.spot_min_notional or (price is not None and notional > SPOT_MAX_NOTIONAL):
        raise SandboxError(-1013, NOTIONAL)


def check_futures(
    spec: SymbolSpec, type: OrderType, qty: Decimal, price: Decimal | None, mid: Decimal, reduce_only: bool
) -> None:
    """fapi's quantity, price and notional checks, each with its own code."""
    if qty <= 0:
        raise SandboxError(-4003, "Quantity less than or equal to zero.")
    if steps_of(qty, spec.perp_step) is None:
        raise SandboxError(-1111, "Precision is over the maximum defined for this asset.")
    if qty < spec.perp_min_qty:
        raise SandboxError(-4004, "Quantity less than min quantity.")
    max_qty = spec.perp_market_max_qty if type is OrderType.MARKET else spec.perp_max_qty
    if qty > max_qty:
        raise SandboxError(-4005, "Quantity greater than max quantity.")
    if price is not None:
        if price <= 0:
            raise SandboxError(-4001, "Price less than 0.")
        if price < spec.perp_min_price:
            raise SandboxError(-4013, "Price less than min price.")
        if price > spec.perp_max_price:
            raise SandboxError(-4002, "Price greater than max price.")
        if steps_of(price, spec.perp_tick) is None:
            raise SandboxError(-4014, "Price not increased by tick size.")
    # Reduce-only orders may be below the minimum notional, so a small remainder can always be closed.
    if not reduce_only and qty * (price if price is not None else mid) < spec.perp_min_notional:
        minimum = format(spec.perp_min_notional.normalize(), "f")
        raise SandboxError(
            -4164, f"Order's notional must be no smaller than {minimum} (unless you choose reduce only)."
        )


#: USDⓈ-M MAX_NUM_ORDERS: open orders per symbol; one more limit order is refused (-2025).
PERP_MAX_NUM_ORDERS = 200
#: Spot PERCENT_PRICE_BY_SIDE (BTCUSDT's live values): a limit buy within [0.2, 5] and a limit sell within
#: [0.2, 5] times the average price.
SPOT_BID_MULTIPLIERS = (Decimal("0.2"), Decimal("5"))
SPOT_ASK_MULTIPLIERS = (Decimal("0.2"), Decimal("5"))
#: USDⓈ-M PERCENT_PRICE: a limit buy at most 1.05, a limit sell at least 0.95 times the mark price.
PERP_MULTIPLIERS = (Decimal("0.9500"), Decimal("1.0500"))


def check_price_band(market: Market, spec: SymbolSpec, side: Side, price: Decimal, reference: Decimal) -> None:
    """The price bands: spot PERCENT_PRICE_BY_SIDE (-1013) against ``reference`` (Binance's 5-minute
    average price; the sandbox's mid), USDⓈ-M PERCENT_PRICE against the mark, one bound per side as Binance
    documents it: a buy above ``multiplierUp`` (-4016), a sell below ``multiplierDown`` (-4024)."""
    if market is Market.SPOT:
        low, high = SPOT_BID_MULTIPLIERS if side is Side.BUY else SPOT_ASK_MULTIPLIERS
        if not reference * low <= price <= reference * high:
            raise SandboxError(-1013, "Filter failure: PERCENT_PRICE_BY_SIDE")
        return
    low, high = PERP_MULTIPLIERS
    if side is Side.BUY and price > reference * high:
        limit = round_to(reference * high, spec.perp_tick, ROUND_DOWN)
        raise SandboxError(-4016, f"Limit price can't be higher than {format(limit, 'f')}.")
    if side is Side.SELL and price < reference * low:
        limit = round_to(reference * low, spec.perp_tick, ROUND_UP)
        raise SandboxError(-4024, f"Limit price can't be lower than {format(limit, 'f')}.")
