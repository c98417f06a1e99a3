"""Liquidation of the USDⓈ-M cross-margin account, reported the way Binance reports it.

When the margin balance falls below the maintenance margin (for a single position: the mark crossed the
``liquidationPrice`` that ``positionRisk`` reports), every open futures order expires (Binance's expiry
reason 5, "expired when the account was liquidated") and every position is closed by an order of the
exchange's own: client id ``autoclose-<digits>``, type ``LIQUIDATION``, ``IOC``, filled in one execution
``CALCULATED`` at the mark. The user data stream sends its ``ORDER_TRADE_UPDATE``s (NEW, then CALCULATED
FILLED, ``o`` = ``LIQUIDATION``, which is what ccxt.pro's ``watch_my_liquidations`` picks up), then an
``ACCOUNT_UPDATE`` with reason ``ORDER``.

The income history shows the loss as ``REALIZED_PNL`` (capped at what the wallet held: beyond that the
insurance fund absorbs it) and the clearance fee, ``liquidationFee`` × the closed notional (capped at what
is left in the wallet), as ``INSURANCE_CLEAR``. The liquidation trade itself carries no commission.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from hedgetui.sandbox.accounts import ZERO, settle
from hedgetui.sandbox.executions import external_trade
from hedgetui.sandbox.model import Execution, Market, Order, OrderStatus, OrderType, Side, TimeInForce
from hedgetui.sandbox.resting import close_order

if TYPE_CHECKING:
    from hedgetui.sandbox.core import ExchangeCore

#: Binance's liquidation orders' client ids start with this (ADL orders are ``adl_autoclose``).
LIQUIDATION_PREFIX = "autoclose-"


def liquidation_client_id(now: int, order_id: int) -> str:
    """``autoclose-`` + the time in ms + six digits, the shape of Binance's (``autoclose-1596107620040000020``)."""
    return f"{LIQUIDATION_PREFIX}{now}{order_id % 1_000_000:06d}"


def clearance_fee(notional: Decimal, rate: Decimal, wallet: Decimal) -> Decimal:
    """The liquidation clearance fee: ``rate`` × the closed notional, never more than the wallet holds."""
    return min(settle(abs(notional) * rate), max(wallet, ZERO))


def liquidate_if_due(core: ExchangeCore, now: int) -> list[Order]:
    """Liquidate the account when its margin balance is below the maintenance margin; returns the
    liquidation orders (none when the account is healthy or flat)."""
    futures = core._futures
    if all(p.amount == 0 for p in futures.positions.values()):
        return []
    account = core.futures_account()
    if account.margin_balance >= account.maint_margin:
        return []
    for order in [o for o in core._open.values() if o.market is Market.FUTURES]:
        close_order(core, order, OrderStatus.EXPIRED, now)
    return [_close_position(core, symbol, now) for symbol, p in futures.positions.items() if p.amount]


def _close_position(core: ExchangeCore, symbol: str, now: int) -> Order:
    futures = core._futures
    amount = futures.positions[symbol].amount
    mark = core.mark_price(symbol)
    qty = abs(amount)
    order_id = core._order_ids
    order = Order(
        market=Market.FUTURES,
        symbol=symbol,
        order_id=order_id,
        client_order_id=liquidation_client_id(now, order_id),
        side=Side.BUY if amount < 0 else Side.SELL,
        type=OrderType.LIQUIDATION,
        time_in_force=TimeInForce.IOC,
        price=mark,
        orig_qty=qty,
        executed_qty=ZERO,
        cum_quote=ZERO,
        status=OrderStatus.NEW,
        reduce_only=True,
        time=now,
        update_time=now,
    )
    core._register(order, now)
    # Beyond the wallet, the insurance fund takes the loss (external_trade covers the shortfall).
    trade = external_trade(core, symbol, -amount, mark, now, order_id)
    order.trades.append(trade)
    order.executed_qty, order.cum_quote, order.status = qty, trade.quote_qty, OrderStatus.FILLED
    fee = clearance_fee(trade.quote_qty, core.specs[symbol].liquidation_fee, futures.wallet)
    futures.wallet -= fee
    core.income.book(symbol, "INSURANCE_CLEAR", -fee, now)
    core._order_event(order, Execution.CALCULATED, now, trade)
    return order
