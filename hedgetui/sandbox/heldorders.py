"""Held MARKET orders (the sandbox server's ``partial`` fault): executing what remains of one at the book.

Kept apart from :mod:`hedgetui.sandbox.core` like the other executions: what the book or the account
cannot carry now is expired, as Binance expires what a market order cannot fill.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hedgetui.sandbox.accounts import ZERO
from hedgetui.sandbox.executions import affordable, take
from hedgetui.sandbox.matching import plan_taker
from hedgetui.sandbox.model import Execution, Market, Order, OrderStatus, OrderType, Side
from hedgetui.sandbox.resting import expire_crossed_own

if TYPE_CHECKING:
    from hedgetui.sandbox.core import ExchangeCore


def fill_rest(core: ExchangeCore, market: Market, order: Order) -> Order:
    """Execute the remainder of a held MARKET ``order`` of ``market`` at the current book
    (:meth:`ExchangeCore.fill_rest`); a finished order (or a limit order) is returned unchanged."""
    if order.type is not OrderType.MARKET or order.order_id not in core._open:
        return order
    spec = core.specs[order.symbol]
    book = core._markets[order.symbol].books[market]
    taken = book.asks if order.side is Side.BUY else book.bids
    remaining = order.remaining
    if market is Market.FUTURES and order.reduce_only:
        pos = core._futures.positions[order.symbol].amount
        reduces = pos != 0 and (pos > 0) != (order.side is Side.BUY)
        remaining = min(remaining, abs(pos)) if reduces else ZERO
    steps = int(remaining / spec.step(market))
    fills = affordable(core, order, plan_taker(book, taken, steps, None))
    now = core.now()
    if fills:
        expire_crossed_own(core, order, taken, fills[-1].u, now)
    take(core, order, taken, fills, now)
    if order.remaining > 0:
        order.status = OrderStatus.EXPIRED
        order.update_time = now
        core._order_event(order, Execution.EXPIRED, now)
    core._open.pop(order.order_id, None)
    core._commit(now)
    return order
