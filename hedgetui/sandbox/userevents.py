"""Binance's user data stream events, built from the core's user events (spot and USDⓈ-M shapes).

Spot: ``executionReport``, ``outboundAccountPosition``, ``balanceUpdate``; USDⓈ-M: ``ORDER_TRADE_UPDATE``
and ``ACCOUNT_UPDATE``; both: ``listenKeyExpired``. Field names and number formats follow Binance's user
data stream documentation; numbers are fixed-point strings (``shapes.fmt``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hedgetui.sandbox.core import ExchangeCore
from hedgetui.sandbox.model import (
    BalanceDelta,
    FuturesAccountChange,
    Market,
    OrderEvent,
    SpotAccountChange,
    UserEvent,
)
from hedgetui.sandbox.shapes import decimal_places, fmt

ZERO = Decimal(0)


def execution_report(ev: OrderEvent) -> dict[str, Any]:
    """Spot ``executionReport`` for one order change (a cancel's ``c`` is the cancel request's id)."""
    o, t = ev.order, ev.trade
    canceled = ev.cancel_client_id is not None
    return {
        "e": "executionReport",
        "E": ev.time,
        "s": o.symbol,
        "c": ev.cancel_client_id if canceled else o.client_order_id,
        "S": o.side.value,
        "o": o.type.value,
        "f": o.time_in_force.value,
        "q": fmt(o.orig_qty, 8),
        "p": fmt(o.price, 8),
        "P": "0.00000000",
        "F": "0.00000000",
        "g": -1,
        "C": o.client_order_id if canceled else "",
        "x": ev.execution.value,
        "X": ev.status.value,
        "r": "NONE",
        "i": o.order_id,
        "l": fmt(t.qty if t else ZERO, 8),
        "z": fmt(ev.executed_qty, 8),
        "L": fmt(t.price if t else ZERO, 8),
        "n": fmt(t.commission if t else ZERO, 8),
        "N": t.commission_asset if t else None,
        "T": ev.time,
        "t": t.trade_id if t else -1,
        "v": 0,
        "I": 0,
        "w": ev.status.is_open and o.order_id > 0 and o.type.value != "MARKET",
        "m": t.is_maker if t else False,
        "M": False,
        "O": o.time,
        "Z": fmt(ev.cum_quote, 8),
        "Y": fmt(t.quote_qty if t else ZERO, 8),
        "Q": fmt(o.orig_quote_order_qty, 8),
        "W": o.time,
        "V": "EXPIRE_MAKER",
    }


def order_trade_update(core: ExchangeCore, ev: OrderEvent) -> dict[str, Any]:
    """USDⓈ-M ``ORDER_TRADE_UPDATE`` for one order change."""
    o, t = ev.order, ev.trade
    spec = core.specs[o.symbol]
    pp, qp = decimal_places(spec.perp_tick), decimal_places(spec.perp_step)
    avg = ev.cum_quote / ev.executed_qty if ev.executed_qty else ZERO
    return {
        "e": "ORDER_TRADE_UPDATE",
        "E": ev.time,
        "T": ev.time,
        "o": {
            "s": o.symbol,
            "c": o.client_order_id,
            "S": o.side.value,
            "o": o.type.value,
            "f": o.time_in_force.value,
            "q": fmt(o.orig_qty, qp),
            "p": fmt(o.price, pp),
            "ap": fmt(avg, pp + 3) if avg else "0",
            "sp": "0",
            "x": ev.execution.value,
            "X": ev.status.value,
            "i": o.order_id,
            "l": fmt(t.qty if t else ZERO, qp),
            "z": fmt(ev.executed_qty, qp),
            "L": fmt(t.price, pp) if t else "0",
            "N": t.commission_asset if t else "USDT",
            "n": fmt(t.commission, 8) if t else "0",
            "T": ev.time,
            "t": t.trade_id if t else 0,
            "b": "0",
            "a": "0",
            "m": t.is_maker if t else False,
            "R": o.reduce_only,
            "wt": "CONTRACT_PRICE",
            "ot": o.type.value,
            "ps": "BOTH",
            "cp": False,
            "rp": fmt(t.realized_pnl, 8) if t else "0",
            "pP": False,
            "si": 0,
            "ss": 0,
            "V": "EXPIRE_MAKER",
            "pm": "NONE",
            "gtd": o.good_till,
        },
    }


def outbound_account_position(core: ExchangeCore, ev: SpotAccountChange) -> dict[str, Any]:
    """Spot ``outboundAccountPosition``: free and locked of the assets that changed."""
    balances = core.spot_balances()
    return {
        "e": "outboundAccountPosition",
        "E": ev.time,
        "u": ev.time,
        "B": [{"a": a, "f": fmt(balances[a][0], 8), "l": fmt(balances[a][1], 8)} for a in ev.assets],
    }


def balance_update(ev: BalanceDelta) -> dict[str, Any]:
    """Spot ``balanceUpdate`` (a deposit or withdrawal)."""
    return {"e": "balanceUpdate", "E": ev.time, "a": ev.asset, "d": fmt(ev.delta, 8), "T": ev.time}


def account_update(core: ExchangeCore, ev: FuturesAccountChange) -> dict[str, Any]:
    """USDⓈ-M ``ACCOUNT_UPDATE``: the USDT wallet and the positions that changed (flat ones as 0)."""
    account = core.futures_account()
    positions = []
    for symbol in ev.symbols:
        view = core.position(symbol)
        realized = sum((t.realized_pnl for t in core.trades(Market.FUTURES, symbol)), ZERO)
        positions.append(
            {
                "s": symbol,
                "pa": fmt(view.amount),
                "ep": fmt(view.entry_price) if view.amount else "0",
                "bep": fmt(view.entry_price) if view.amount else "0",
                "cr": fmt(realized, 8),
                "up": fmt(view.unrealized_pnl, 8),
                "mt": "cross",
                "iw": "0",
                "ps": "BOTH",
                "ma": "USDT",
            }
        )
    wallet = fmt(account.wallet_balance, 8)
    return {
        "e": "ACCOUNT_UPDATE",
        "E": ev.time,
        "T": ev.time,
        "a": {"m": ev.reason, "B": [{"a": "USDT", "wb": wallet, "cw": wallet, "bc": "0"}], "P": positions},
    }


def listen_key_expired(listen_key: str, now: int) -> dict[str, Any]:
    """``listenKeyExpired`` (spot and USDⓈ-M): the stream ends after it."""
    return {"e": "listenKeyExpired", "E": now, "listenKey": listen_key}


def events_for(core: ExchangeCore, market: Market, batch: list[UserEvent]) -> list[dict[str, Any]]:
    """The stream events of one market for one batch of core user events, in the batch's order."""
    out: list[dict[str, Any]] = []
    for ev in batch:
        if isinstance(ev, OrderEvent):
            if ev.order.market is market:
                out.append(execution_report(ev) if market is Market.SPOT else order_trade_update(core, ev))
        elif market is Market.SPOT:
            if isinstance(ev, BalanceDelta):
                out.append(balance_update(ev))
            elif isinstance(ev, SpotAccountChange):
                out.append(outbound_account_position(core, ev))
        elif isinstance(ev, FuturesAccountChange):
            out.append(account_update(core, ev))
    return out
