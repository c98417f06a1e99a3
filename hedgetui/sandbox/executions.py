"""Executions: booking fills against the books and the accounts, one trade per level.

Taker fills of planned levels, the booking of one execution (balances or position and wallet, fee,
income records, ticker, the order and its user event), trades no order made (liquidation, ADL, the
control API) and the prefix of a plan the account can pay for. Separate from the core so that every
change of a balance by a trade is written in one place.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from hedgetui.sandbox.accounts import ZERO, fill_effect, settle
from hedgetui.sandbox.book import BookSide
from hedgetui.sandbox.matching import Fill
from hedgetui.sandbox.model import Execution, Market, Order, OrderStatus, OrderType, Side, Trade

if TYPE_CHECKING:
    from hedgetui.sandbox.core import ExchangeCore

#: Trades that did not come from an order (liquidations, control-API position changes) carry this id.
EXTERNAL_ORDER_ID = -1


def take(core: ExchangeCore, order: Order, taken: BookSide, fills: list[Fill], now: int) -> None:
    """Execute planned fills as taker: consume the synthetic levels, one trade per level."""
    for f in fills:
        taken.consume(f.u, f.steps)
        book_execution(core, order, f.price, f.qty, maker=False, now=now)


def book_execution(core: ExchangeCore, order: Order, price: Decimal, qty: Decimal, *, maker: bool, now: int) -> Trade:
    """Book one execution of an order: balances or position and wallet, fee, the trade and the order."""
    spec = core.specs[order.symbol]
    quote_qty = price * qty
    buy = order.side is Side.BUY
    realized = ZERO
    reduces = False
    if order.market is Market.SPOT:
        rate = core.config.spot_maker_fee if maker else core.config.spot_taker_fee
        fee = settle((qty if buy else quote_qty) * rate)
        fee_asset = spec.base if buy else spec.quote
        core._spot.book_trade(
            base=spec.base,
            quote=spec.quote,
            buy=buy,
            qty=qty,
            quote_qty=quote_qty,
            fee=fee,
            from_locked=order.order_id in core._open and order.type is not OrderType.MARKET,
        )
    else:
        rate = core.config.futures_maker_fee if maker else core.config.futures_taker_fee
        fee, fee_asset = settle(quote_qty * rate), "USDT"
        held = core._futures.positions[order.symbol].amount
        reduces = held != 0 and (held > 0) != buy
        realized = core._futures.book_fill(order.symbol, qty if buy else -qty, price, fee, now)
    trade = Trade(
        market=order.market,
        symbol=order.symbol,
        trade_id=core._trade_ids,
        order_id=order.order_id,
        side=order.side,
        price=price,
        qty=qty,
        quote_qty=quote_qty,
        commission=fee,
        commission_asset=fee_asset,
        realized_pnl=realized,
        time=now,
        is_maker=maker,
    )
    core._trade_ids += 1
    core._trades.append(trade)
    if order.market is Market.FUTURES:
        tid = str(trade.trade_id)
        if reduces:
            core.income.book(order.symbol, "REALIZED_PNL", realized, now, info=tid, trade_id=tid)
        core.income.book(order.symbol, "COMMISSION", -fee, now, info=tid, trade_id=tid)
    core._markets[order.symbol].stats[order.market].see_trade(trade)
    order.trades.append(trade)
    order.executed_qty += qty
    order.cum_quote += quote_qty
    order.update_time = now
    order.status = OrderStatus.FILLED if order.executed_qty >= order.orig_qty else OrderStatus.PARTIALLY_FILLED
    core._order_event(order, Execution.TRADE, now, trade)
    return trade


def external_trade(
    core: ExchangeCore, symbol: str, signed_qty: Decimal, price: Decimal, now: int, order_id: int = EXTERNAL_ORDER_ID
) -> Trade:
    """A position change that no order of ours made (liquidation, ADL, manual): no fee. A liquidation
    passes its own order's id; every other such trade carries :data:`EXTERNAL_ORDER_ID`."""
    realized = core._futures.book_fill(symbol, signed_qty, price, ZERO, now)
    realized += core._futures.cover_shortfall()  # the insurance fund absorbs a loss beyond the wallet
    qty = abs(signed_qty)
    trade = Trade(
        market=Market.FUTURES,
        symbol=symbol,
        trade_id=core._trade_ids,
        order_id=order_id,
        side=Side.BUY if signed_qty > 0 else Side.SELL,
        price=price,
        qty=qty,
        quote_qty=price * qty,
        commission=ZERO,
        commission_asset="USDT",
        realized_pnl=realized,
        time=now,
        is_maker=False,
    )
    core._trade_ids += 1
    core._trades.append(trade)
    tid = str(trade.trade_id)
    core.income.book(symbol, "REALIZED_PNL", realized, now, info=tid, trade_id=tid)
    return trade


def affordable(core: ExchangeCore, order: Order, fills: list[Fill]) -> list[Fill]:
    """The prefix of ``fills`` the account can pay for now, level by level."""
    spec = core.specs[order.symbol]
    out: list[Fill] = []
    if order.market is Market.SPOT:
        budget = core._spot.free(spec.quote if order.side is Side.BUY else spec.base)
        for f in fills:
            cost = f.price * f.qty if order.side is Side.BUY else f.qty
            if cost > budget:
                break
            budget -= cost
            out.append(f)
        return out
    pos = core._futures.positions[order.symbol]
    amount, entry, wallet = pos.amount, pos.entry_price, core._futures.wallet
    for f in fills:
        effect = fill_effect(amount, entry, f.qty if order.side is Side.BUY else -f.qty, f.price)
        after = wallet + effect.realized_pnl - settle(f.price * f.qty * core.config.futures_taker_fee)
        if after < 0:
            break
        amount, entry, wallet = effect.amount, effect.entry_price, after
        out.append(f)
    return out
