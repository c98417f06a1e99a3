"""Order entry: the checks an order passes before the exchange accepts it, and its acceptance.

:func:`place_order` is the body of :meth:`ExchangeCore.place_order`: parameter combinations, filters,
price bands, duplicate client ids, funds and margin are checked first, on plans computed without touching
the book, so that a rejected request changes nothing; then the order is registered, meets the book
(``executions``) and rests or expires (``resting``). It is separate from the core because admission is
the largest single concern of the exchange and reads best on its own.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING

from hedgetui.sandbox.accounts import ZERO, fill_effect, settle
from hedgetui.sandbox.executions import take
from hedgetui.sandbox.filters import (
    INSUFFICIENT_BALANCE,
    LOT_SIZE,
    MARGIN_INSUFFICIENT,
    NOTIONAL,
    PERP_MAX_NUM_ORDERS,
    REDUCE_ONLY_REJECTED,
    check_client_id,
    check_futures,
    check_number,
    check_price_band,
    check_spot,
    mandatory,
    not_required,
    round_to,
    steps_of,
)
from hedgetui.sandbox.matching import Fill, plan_quote, plan_taker, tail_notional, truncate
from hedgetui.sandbox.model import (
    Execution,
    Market,
    Order,
    OrderStatus,
    OrderType,
    SandboxError,
    Side,
    SymbolSpec,
    TimeInForce,
)
from hedgetui.sandbox.resting import expire_crossed_own, price_ticks, rest

if TYPE_CHECKING:
    from hedgetui.sandbox.core import ExchangeCore

#: An outward price beyond every level (a market order that exhausted the book reached all of it).
UNREACHABLE = 1 << 62
#: A post-only order (spot LIMIT_MAKER, USDⓈ-M GTX) that would take is rejected and leaves no trace.
POST_ONLY_TAKES = {
    Market.SPOT: (-2010, "Order would immediately match and take."),
    Market.FUTURES: (
        -5022,
        "Due to the order could not be executed as maker, the Post Only order will be rejected. "
        "The order will not be recorded in the order history",
    ),
}
FOK_REJECTED = (
    -5021,
    "Due to the order could not be filled immediately, the FOK order has been rejected. "
    "The order will not be recorded in the order history",
)


def place_order(
    core: ExchangeCore,
    market: Market,
    symbol: str,
    side: Side,
    type: OrderType,
    *,
    quantity: Decimal | None,
    client_order_id: str,
    quote_order_qty: Decimal | None = None,
    price: Decimal | None = None,
    time_in_force: TimeInForce = TimeInForce.GTC,
    reduce_only: bool = False,
    fill_limit: Decimal | None = None,
    good_till: int = 0,
) -> Order:
    """Validate, then execute an order as Binance would; raises :class:`SandboxError` (and changes
    nothing) when Binance would reject it.

    MARKET orders walk the book (one trade per level) and expire what the book cannot fill. LIMIT
    orders execute their marketable part as taker, then rest (GTC) or expire (IOC). ``fill_limit``
    (MARKET only) executes at most that base quantity now and holds the order open for
    :meth:`fill_rest` or :meth:`expire_order`.
    """
    sym = core._market(symbol)
    spec = sym.spec
    check_client_id(client_order_id)
    check_params(market, type, quantity, quote_order_qty, price, reduce_only)
    if fill_limit is not None and (type is not OrderType.MARKET or fill_limit < 0):
        raise ValueError("fill_limit applies to MARKET orders and cannot be negative")
    book = sym.books[market]
    taken = book.asks if side is Side.BUY else book.bids
    step = spec.step(market)
    mid = sym.rounded_mid(market)
    limit_price = price if type is not OrderType.MARKET else None
    limit_u: int | None = None

    if quote_order_qty is not None:
        # Spot MARKET by quote amount: the quantity is what that amount buys (sells for) on the book.
        if quote_order_qty < spec.spot_min_notional:
            raise SandboxError(-1013, NOTIONAL)
        whole = plan_quote(book, taken, quote_order_qty, side)
        quantity = sum((f.qty for f in whole), ZERO)
        if quantity < spec.spot_min_qty or quantity > spec.spot_market_max_qty:
            raise SandboxError(-1013, LOT_SIZE)
    assert quantity is not None
    if market is Market.SPOT:
        check_spot(spec, type, quantity, limit_price, mid)
    else:
        check_futures(spec, type, quantity, limit_price, mid, reduce_only)
    if (
        market is Market.FUTURES
        and type is not OrderType.MARKET
        and len(core.open_orders(market, symbol)) >= PERP_MAX_NUM_ORDERS
    ):
        raise SandboxError(-2025, "Reach max open order limit.")
    if limit_price is not None:  # market orders carry no price: the bands do not apply to them
        check_price_band(market, spec, side, limit_price, mid if market is Market.SPOT else core.mark_price(symbol))
    check_duplicate(core, market, symbol, client_order_id)
    if quote_order_qty is None:
        steps = steps_of(quantity, step)
        assert steps is not None  # the filters checked the step
        if limit_price is not None:
            limit_u = taken.sign * price_ticks(limit_price, spec.tick(market))
        whole = plan_taker(book, taken, steps, limit_u)
    now_limit = quantity if fill_limit is None else min(quantity, round_to(fill_limit, step, ROUND_DOWN))
    immediate = truncate(whole, now_limit)
    if whole and (type is OrderType.LIMIT_MAKER or time_in_force is TimeInForce.GTX):
        raise SandboxError(*POST_ONLY_TAKES[market])
    # FOK: all of it at once, or nothing (spot keeps the order as EXPIRED, USDⓈ-M rejects it).
    fok_expires = (
        type is not OrderType.MARKET
        and time_in_force is TimeInForce.FOK
        and sum((f.qty for f in whole), ZERO) < quantity
    )
    if fok_expires:
        if market is Market.FUTURES:
            raise SandboxError(*FOK_REJECTED)
        immediate = []
    if market is Market.SPOT:
        check_spot_funds(core, spec, side, quantity, limit_price, whole, quote_order_qty)
    else:
        check_futures_order(core, spec, side, quantity, limit_price, whole, immediate, reduce_only)

    # ---- accepted: from here on the order exists and every change is booked ----
    now = core.now()
    order = Order(
        market=market,
        symbol=symbol,
        order_id=core._order_ids,
        client_order_id=client_order_id,
        side=side,
        type=type,
        time_in_force=time_in_force if type is not OrderType.MARKET else TimeInForce.GTC,
        price=limit_price if limit_price is not None else ZERO,
        orig_qty=quantity,
        executed_qty=ZERO,
        cum_quote=ZERO,
        status=OrderStatus.NEW,
        reduce_only=reduce_only,
        time=now,
        update_time=now,
        orig_quote_order_qty=quote_order_qty if quote_order_qty is not None else ZERO,
        good_till=good_till if time_in_force is TimeInForce.GTD else 0,
    )
    core._register(order, now)
    filled_now = sum((f.qty for f in immediate), ZERO)
    remainder = quantity - filled_now
    # Self-trade prevention (Binance's default EXPIRE_MAKER): own resting orders this one meets are
    # expired before it trades. It meets everything up to its last fill, up to its limit price if
    # some of it is left (resting or expired at that price), and everything if the book ran out.
    reach: int | None = None  # a FOK that expires never reaches the book
    if fok_expires:
        pass
    elif remainder > 0 and fill_limit is None:
        reach = limit_u if limit_u is not None else UNREACHABLE
    else:
        reach = immediate[-1].u if immediate else None
    if reach is not None:
        expire_crossed_own(core, order, taken, reach, now)
    take(core, order, taken, immediate, now)
    if remainder > 0:
        if fill_limit is not None:
            core._open[order.order_id] = order  # held: the server finishes or expires it later
        elif type is not OrderType.MARKET and time_in_force.rests:
            rest(core, order)
        else:
            order.status = OrderStatus.EXPIRED  # IOC rest, or a market order the book ran out under
            core._order_event(order, Execution.EXPIRED, now)
    core._commit(now)
    return order


def check_params(
    market: Market,
    type: OrderType,
    quantity: Decimal | None,
    quote_order_qty: Decimal | None,
    price: Decimal | None,
    reduce_only: bool,
) -> None:
    """Parameter presence and combinations (-1102, -1106, -1128) and number grammar (-1100)."""
    if market is Market.SPOT and reduce_only:
        raise not_required("reduceOnly")
    if quote_order_qty is not None:
        if market is Market.FUTURES or type is not OrderType.MARKET:
            raise not_required("quoteOrderQty")
        if quantity is not None:
            raise SandboxError(-1128, "Combination of optional parameters invalid.")
    elif quantity is None:
        raise mandatory("quantity")
    if type is not OrderType.MARKET and price is None:
        raise mandatory("price")
    if type is OrderType.MARKET and price is not None and market is Market.SPOT:
        raise not_required("price")
    if market is Market.SPOT:
        check_number("quantity", quantity)
        check_number("price", price)
    elif quantity is not None and not quantity.is_finite():
        raise SandboxError(-1100, "Illegal characters found in parameter 'quantity'.")
    elif price is not None and not price.is_finite():
        raise SandboxError(-1100, "Illegal characters found in parameter 'price'.")
    check_number("quoteOrderQty", quote_order_qty)


def check_duplicate(core: ExchangeCore, market: Market, symbol: str, client_order_id: str) -> None:
    """Binance: a client id must be unique among OPEN orders; strict mode refuses any earlier one."""
    for earlier in core._by_client_id.get((market, symbol, client_order_id), ()):
        if earlier.status.is_open or core.config.strict_client_ids:
            if market is Market.SPOT:
                raise SandboxError(-2010, "Duplicate order sent.")
            raise SandboxError(-4116, "ClientOrderId is duplicated.")


def check_spot_funds(
    core: ExchangeCore,
    spec: SymbolSpec,
    side: Side,
    quantity: Decimal,
    price: Decimal | None,
    whole: list[Fill],
    quote_order_qty: Decimal | None,
) -> None:
    if side is Side.BUY:
        if quote_order_qty is not None:
            need = quote_order_qty
        elif price is not None:
            need = quantity * price  # Binance reserves the whole order at its limit price
        else:
            need = sum((f.price * f.qty for f in whole), ZERO)
        if need > core._spot.free(spec.quote):
            raise SandboxError(-2010, INSUFFICIENT_BALANCE)
    elif quantity > core._spot.free(spec.base):
        raise SandboxError(-2010, INSUFFICIENT_BALANCE)


def check_futures_order(
    core: ExchangeCore,
    spec: SymbolSpec,
    side: Side,
    quantity: Decimal,
    price: Decimal | None,
    whole: list[Fill],
    immediate: list[Fill],
    reduce_only: bool,
) -> None:
    """Reduce-only (-2022), initial margin for the part that opens exposure, and a wallet that the
    order's own fills and fees cannot drive below zero (-2019)."""
    pos = core._futures.positions[spec.symbol]
    signed = quantity if side is Side.BUY else -quantity
    reduces = pos.amount != 0 and (pos.amount > 0) != (signed > 0)
    if reduce_only and (not reduces or quantity > abs(pos.amount)):
        raise SandboxError(-2022, REDUCE_ONLY_REJECTED)
    taker = core.config.futures_taker_fee
    if not reduce_only:
        opening = quantity - abs(pos.amount) if reduces else quantity
        if opening > 0:
            if price is not None:
                notional, open_notional = quantity * price, opening * price
            else:
                notional = sum((f.price * f.qty for f in whole), ZERO)
                open_notional = tail_notional(whole, opening)
            need = open_notional / pos.leverage + notional * taker
            if need > core.futures_account().available_balance:
                raise SandboxError(-2019, MARGIN_INSUFFICIENT)
    amount, entry, wallet = pos.amount, pos.entry_price, core._futures.wallet
    for f in immediate:
        effect = fill_effect(amount, entry, f.qty if side is Side.BUY else -f.qty, f.price)
        amount, entry = effect.amount, effect.entry_price
        wallet += effect.realized_pnl - settle(f.price * f.qty * taker)
    if wallet < 0:
        raise SandboxError(-2019, MARGIN_INSUFFICIENT)
