"""Binance's JSON shapes for the sandbox's answers (spec Part A): books, tickers, orders and trades.
Numbers are fixed-point strings.

``str()`` of a Decimal can print ``0E-8``; every number here goes through :func:`fmt`, which never does.
The accounts' shapes are in :mod:`hedgetui.sandbox.accountshapes`, exchangeInfo in
:mod:`hedgetui.sandbox.exchangeinfo`, the control API's state view in :mod:`hedgetui.sandbox.control`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hedgetui.sandbox.core import ExchangeCore
from hedgetui.sandbox.model import Market, Order, OrderType, SymbolSpec, Trade

ZERO = Decimal(0)


def fmt(value: Decimal | int, places: int | None = None) -> str:
    """A plain fixed-point decimal string; with ``places``, exactly that many decimals."""
    d = Decimal(value)
    if places is not None:
        d = d.quantize(Decimal(1).scaleb(-places))
    text = format(d, "f")
    if places is None and "." in text:
        text = text.rstrip("0").rstrip(".") or "0"
    return text


def decimal_places(step: Decimal) -> int:
    """How many decimals a tick or step size has (``0.001`` -> 3, ``1`` -> 0)."""
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


# ---- market data --------------------------------------------------------------------------------------


def levels(rows: list[tuple[Decimal, Decimal]], price_places: int, qty_places: int) -> list[list[str]]:
    """Book levels as Binance's ``[["price", "qty"], ...]`` with fixed decimals."""
    return [[fmt(p, price_places), fmt(q, qty_places)] for p, q in rows]


def depth(core: ExchangeCore, market: Market, symbol: str, limit: int) -> dict[str, Any]:
    """``/api/v3/depth`` (no time) or ``/fapi/v1/depth`` (``E``/``T``) at the core's current update id."""
    spec = core.specs[symbol]
    update_id, bids, asks = core.depth(market, symbol, limit)
    pp, qp = decimal_places(spec.tick(market)), decimal_places(spec.step(market))
    body: dict[str, Any] = {"lastUpdateId": update_id}
    if market is Market.FUTURES:
        now = core.now()
        body["E"] = now
        body["T"] = now
    body["bids"] = levels(bids, pp, qp)
    body["asks"] = levels(asks, pp, qp)
    return body


def ticker_24h(core: ExchangeCore, market: Market, symbol: str) -> dict[str, Any]:
    """``ticker/24hr``; the futures one has no ``bid*``/``ask*``/``prevClosePrice``, as on Binance."""
    spec = core.specs[symbol]
    t = core.ticker_24h(market, symbol)
    pp, qp = decimal_places(spec.tick(market)), decimal_places(spec.step(market))
    body: dict[str, Any] = {
        "symbol": symbol,
        "priceChange": fmt(Decimal(t["last"]) - Decimal(t["open"]), pp),
        "priceChangePercent": fmt(
            (Decimal(t["last"]) - Decimal(t["open"])) / Decimal(t["open"]) * 100 if t["open"] else ZERO, 3
        ),
        "weightedAvgPrice": fmt(Decimal(t["weighted_avg"]), pp),
        "lastPrice": fmt(Decimal(t["last"]), pp),
        "lastQty": fmt(Decimal(t["last_qty"]), qp),
        "openPrice": fmt(Decimal(t["open"]), pp),
        "highPrice": fmt(Decimal(t["high"]), pp),
        "lowPrice": fmt(Decimal(t["low"]), pp),
        "volume": fmt(Decimal(t["volume"]), qp),
        "quoteVolume": fmt(Decimal(t["quote_volume"]), 8),
        "openTime": t["open_time"],
        "closeTime": t["close_time"],
        "firstId": t["first_trade_id"],
        "lastId": t["last_trade_id"],
        "count": t["count"],
    }
    if market is Market.SPOT:
        bid, bid_qty, ask, ask_qty = core.best_bid_ask(market, symbol)
        body["prevClosePrice"] = fmt(Decimal(t["open"]), pp)
        body["bidPrice"] = fmt(bid, pp)
        body["bidQty"] = fmt(bid_qty, qp)
        body["askPrice"] = fmt(ask, pp)
        body["askQty"] = fmt(ask_qty, qp)
    return body


def book_ticker(core: ExchangeCore, symbol: str, market: Market = Market.FUTURES) -> dict[str, Any]:
    """``ticker/bookTicker`` for one symbol; the futures one adds ``time`` and ``lastUpdateId``."""
    spec = core.specs[symbol]
    bid, bid_qty, ask, ask_qty = core.best_bid_ask(market, symbol)
    pp, qp = decimal_places(spec.tick(market)), decimal_places(spec.step(market))
    if market is Market.SPOT:
        pp, qp = 8, 8  # spot prints every price and quantity with 8 decimals
    body: dict[str, Any] = {
        "symbol": symbol,
        "bidPrice": fmt(bid, pp),
        "bidQty": fmt(bid_qty, qp),
        "askPrice": fmt(ask, pp),
        "askQty": fmt(ask_qty, qp),
    }
    if market is Market.FUTURES:
        update_id, _, _ = core.depth(Market.FUTURES, symbol, 1)
        body["time"] = core.now()
        body["lastUpdateId"] = update_id
    return body


def premium_index(core: ExchangeCore, symbol: str) -> dict[str, Any]:
    """``GET /fapi/v1/premiumIndex`` for one symbol: mark, index, funding rate, next funding time."""
    return {
        "symbol": symbol,
        "markPrice": fmt(core.mark_price(symbol), 8),
        "indexPrice": fmt(core.index_price(symbol), 8),
        "estimatedSettlePrice": fmt(core.mark_price(symbol), 8),
        "lastFundingRate": fmt(core.funding_rate(symbol), 8),
        "interestRate": "0.00010000",
        "nextFundingTime": core.next_funding_time(),
        "time": core.now(),
    }


# ---- orders -------------------------------------------------------------------------------------------


def _spot_order_common(order: Order) -> dict[str, Any]:
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "price": fmt(order.price, 8),
        "origQty": fmt(order.orig_qty, 8),
        "executedQty": fmt(order.executed_qty, 8),
        "origQuoteOrderQty": fmt(order.orig_quote_order_qty, 8),
        "cummulativeQuoteQty": fmt(order.cum_quote, 8),
        "status": order.status.value,
        "timeInForce": order.time_in_force.value,
        "type": order.type.value,
        "side": order.side.value,
    }


def spot_order_ack(order: Order) -> dict[str, Any]:
    """Spot ``newOrderRespType=ACK``: ids and time only."""
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "transactTime": order.time,
    }


def spot_order_result(order: Order) -> dict[str, Any]:
    """Spot ``newOrderRespType=RESULT``: the order without its fills."""
    body = _spot_order_common(order)
    body["transactTime"] = order.time
    body["workingTime"] = order.time
    body["selfTradePreventionMode"] = "EXPIRE_MAKER"
    return body


def spot_order_full(order: Order) -> dict[str, Any]:
    """Spot ``newOrderRespType=FULL``: RESULT plus one ``fills`` entry per trade (the only order-level fee)."""
    body = spot_order_result(order)
    body["fills"] = [
        {
            "price": fmt(t.price, 8),
            "qty": fmt(t.qty, 8),
            "commission": fmt(t.commission, 8),
            "commissionAsset": t.commission_asset,
            "tradeId": t.trade_id,
        }
        for t in order.trades
    ]
    return body


def spot_order_query(order: Order) -> dict[str, Any]:
    """``GET /api/v3/order`` and ``openOrders`` items."""
    body = _spot_order_common(order)
    body.update(
        {
            "stopPrice": "0.00000000",
            "icebergQty": "0.00000000",
            "time": order.time,
            "updateTime": order.update_time,
            "isWorking": order.type is not OrderType.MARKET,
            "workingTime": order.time,
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }
    )
    return body


def spot_cancel(order: Order, cancel_client_id: str, now: int) -> dict[str, Any]:
    """Live spot cancel: ``clientOrderId`` is the CANCEL request's id; the order's own is ``origClientOrderId``."""
    body = _spot_order_common(order)
    body["origClientOrderId"] = order.client_order_id
    body["clientOrderId"] = cancel_client_id
    body["transactTime"] = now
    body["selfTradePreventionMode"] = "EXPIRE_MAKER"
    return body


def futures_order(order: Order, spec: SymbolSpec, *, with_time: bool = False, ack: bool = False) -> dict[str, Any]:
    """A ``/fapi/v1/order`` answer (RESULT; GET/DELETE add ``time``).

    ``ack``: fapi's ``newOrderRespType=ACK`` answers before matching, so even a filled market order shows
    ``NEW`` with nothing executed (spec §A4); the truth needs a later GET.
    """
    pp, qp = decimal_places(spec.perp_tick), decimal_places(spec.perp_step)
    avg = order.avg_price
    body: dict[str, Any] = {
        "orderId": order.order_id,
        "symbol": order.symbol,
        "status": order.status.value,
        "clientOrderId": order.client_order_id,
        "price": fmt(order.price, pp),
        "avgPrice": fmt(avg, pp + 3) if avg else "0",
        "origQty": fmt(order.orig_qty, qp),
        "executedQty": fmt(order.executed_qty, qp),
        "cumQty": fmt(order.executed_qty, qp),
        "cumQuote": fmt(order.cum_quote, 5),
        "timeInForce": order.time_in_force.value,
        "type": order.type.value,
        "reduceOnly": order.reduce_only,
        "closePosition": False,
        "side": order.side.value,
        "positionSide": "BOTH",
        "stopPrice": "0",
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "origType": order.type.value,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "goodTillDate": order.good_till,
        "updateTime": order.update_time,
    }
    if with_time:
        body["time"] = order.time
    if ack:
        zero_qty = fmt(ZERO, qp)
        body.update(
            {"status": "NEW", "avgPrice": "0.00", "executedQty": zero_qty, "cumQty": zero_qty, "cumQuote": "0.00000"}
        )
        body["updateTime"] = order.time
    return body


def spot_trade(t: Trade) -> dict[str, Any]:
    """One ``/api/v3/myTrades`` item."""
    return {
        "symbol": t.symbol,
        "id": t.trade_id,
        "orderId": t.order_id,
        "orderListId": -1,
        "price": fmt(t.price, 8),
        "qty": fmt(t.qty, 8),
        "quoteQty": fmt(t.quote_qty, 8),
        "commission": fmt(t.commission, 8),
        "commissionAsset": t.commission_asset,
        "time": t.time,
        "isBuyer": t.side.value == "BUY",
        "isMaker": t.is_maker,
        "isBestMatch": True,
    }


def futures_trade(t: Trade) -> dict[str, Any]:
    """One ``/fapi/v1/userTrades`` item (the perp's only fee source)."""
    return {
        "symbol": t.symbol,
        "id": t.trade_id,
        "orderId": t.order_id,
        "side": t.side.value,
        "price": fmt(t.price),
        "qty": fmt(t.qty),
        "realizedPnl": fmt(t.realized_pnl, 8),
        "quoteQty": fmt(t.quote_qty, 8),
        "commission": fmt(t.commission, 8),
        "commissionAsset": t.commission_asset,
        "time": t.time,
        "buyer": t.side.value == "BUY",
        "maker": t.is_maker,
        "positionSide": "BOTH",
        "marginAsset": "USDT",
    }
