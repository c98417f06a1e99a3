"""Resting orders: limit orders on the books, their reserved funds, and how they end.

Resting a remainder (and locking its spot funds), closing an open order (cancel or expiry, unlocking
what it held), self-trade prevention (EXPIRE_MAKER), and the maker fills of resting orders the moving
market crossed. Separate from the core because a resting order's life is its own state machine.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from hedgetui.sandbox.accounts import ZERO, fill_effect, settle
from hedgetui.sandbox.book import BookSide
from hedgetui.sandbox.executions import book_execution
from hedgetui.sandbox.filters import steps_of
from hedgetui.sandbox.model import Execution, Market, Order, OrderStatus, OrderType, Side

if TYPE_CHECKING:
    from hedgetui.sandbox.core import ExchangeCore
    from hedgetui.sandbox.symbolmarket import SymbolMarket


def price_ticks(price: Decimal, tick: Decimal) -> int:
    ticks = steps_of(price, tick)
    assert ticks is not None  # the filters checked the tick
    return ticks


def user_side(core: ExchangeCore, order: Order) -> tuple[BookSide, int]:
    """The book side an order rests on and its price there in outward ticks."""
    spec = core.specs[order.symbol]
    book = core._markets[order.symbol].books[order.market]
    side = book.bids if order.side is Side.BUY else book.asks
    return side, side.sign * price_ticks(order.price, spec.tick(order.market))


def rest(core: ExchangeCore, order: Order) -> None:
    """Put a limit order's remainder on the book and reserve its spot funds."""
    spec = core.specs[order.symbol]
    side, u = user_side(core, order)
    step = spec.step(order.market)
    side.add_user(u, int(order.remaining / step))
    if order.market is Market.SPOT:
        if order.side is Side.BUY:
            core._spot.lock(spec.quote, order.remaining * order.price)
        else:
            core._spot.lock(spec.base, order.remaining)
    core._open[order.order_id] = order


def close_order(core: ExchangeCore, order: Order, status: OrderStatus, now: int, cancel_id: str | None = None) -> None:
    """Finish an open order (cancel, expire, or a reduce-only with nothing left to reduce)."""
    if order.type is not OrderType.MARKET and order.order_id in core._open:
        spec = core.specs[order.symbol]
        side, u = user_side(core, order)
        side.add_user(u, -int(order.remaining / spec.step(order.market)))
        if order.market is Market.SPOT:
            if order.side is Side.BUY:
                core._spot.unlock(spec.quote, order.remaining * order.price)
            else:
                core._spot.unlock(spec.base, order.remaining)
    core._open.pop(order.order_id, None)
    order.status = status
    order.update_time = now
    execution = Execution.CANCELED if status is OrderStatus.CANCELED else Execution.EXPIRED
    core._order_event(order, execution, now, cancel_id=cancel_id)


def expire_crossed_own(core: ExchangeCore, taker: Order, taken: BookSide, reach: int, now: int) -> None:
    """Expire own resting orders on ``taken`` at or better than ``reach`` (EXPIRE_MAKER)."""
    for order in list(core._open.values()):
        if (
            order.type is not OrderType.MARKET
            and order.market is taker.market
            and order.symbol == taker.symbol
            and order.side is not taker.side
            and user_side(core, order)[1] <= reach
        ):
            close_order(core, order, OrderStatus.EXPIRED, now)


def fill_crossed(core: ExchangeCore, sym: SymbolMarket, market: Market, bid: int, ask: int, now: int) -> None:
    """Resting limit orders the synthetic market has moved through fill in full at their price (maker)."""
    if not core._open:
        return
    tick = sym.spec.tick(market)
    for order in list(core._open.values()):
        if order.type is OrderType.MARKET or order.market is not market or order.symbol != sym.spec.symbol:
            continue
        ticks = price_ticks(order.price, tick)
        if (ticks >= ask) if order.side is Side.BUY else (ticks <= bid):
            maker_fill(core, order, now)


def maker_fill(core: ExchangeCore, order: Order, now: int) -> None:
    qty = order.remaining
    if order.market is Market.FUTURES:
        pos = core._futures.positions[order.symbol]
        if order.reduce_only:
            reduces = pos.amount != 0 and (pos.amount > 0) != (order.side is Side.BUY)
            # Binance: a reduce-only order never opens; with nothing left to reduce it is expired.
            qty = min(qty, abs(pos.amount)) if reduces else ZERO
        if qty > 0:
            signed = qty if order.side is Side.BUY else -qty
            effect = fill_effect(pos.amount, pos.entry_price, signed, order.price)
            fee = settle(order.price * qty * core.config.futures_maker_fee)
            if core._futures.wallet + effect.realized_pnl - fee < 0:
                qty = ZERO  # the fill would overdraw the wallet: expire instead
        if qty <= 0:
            close_order(core, order, OrderStatus.EXPIRED, now)
            return
    spec = core.specs[order.symbol]
    side, u = user_side(core, order)
    side.add_user(u, -int(qty / spec.step(order.market)))
    book_execution(core, order, order.price, qty, maker=True, now=now)
    if order.remaining > 0:
        close_order(core, order, OrderStatus.EXPIRED, now)  # reduce-only remainder beyond the position
    else:
        core._open.pop(order.order_id, None)
