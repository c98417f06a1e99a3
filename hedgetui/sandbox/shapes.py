"""Binance's JSON shapes for the sandbox's answers (spec Part A). Numbers are fixed-point strings.

``str()`` of a Decimal can print ``0E-8``; every number here goes through :func:`fmt`, which never does.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hedgetui.sandbox.accounts import FuturesAccount, PositionView
from hedgetui.sandbox.core import ExchangeCore
from hedgetui.sandbox.filters import PERP_MAX_NUM_ORDERS, PERP_MULTIPLIERS, SPOT_ASK_MULTIPLIERS, SPOT_BID_MULTIPLIERS
from hedgetui.sandbox.income import income_row
from hedgetui.sandbox.model import Market, Order, OrderType, SymbolSpec, Trade
from hedgetui.sandbox.ratelimits import ORDER_LIMITS, WEIGHT_LIMITS

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


# ---- exchangeInfo -------------------------------------------------------------------------------------


def rate_limits(market: Market) -> list[dict[str, Any]]:
    """exchangeInfo's ``rateLimits``: the limits the sandbox enforces (``ratelimits``)."""
    names = {"1M": ("MINUTE", 1), "10S": ("SECOND", 10), "1D": ("DAY", 1)}
    weight_name, _, weight_cap = WEIGHT_LIMITS[market]
    rows = [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": names[weight_name][0], "intervalNum": 1, "limit": weight_cap}
    ]
    for name, _, cap in ORDER_LIMITS[market]:
        interval, num = names[name]
        rows.append({"rateLimitType": "ORDERS", "interval": interval, "intervalNum": num, "limit": cap})
    return rows


def spot_exchange_info(specs: list[SymbolSpec], server_time: int) -> dict[str, Any]:
    """``GET /api/v3/exchangeInfo`` (spec §A2): the fields and filters ccxt needs, Binance's real values."""
    return {
        "timezone": "UTC",
        "serverTime": server_time,
        "rateLimits": rate_limits(Market.SPOT),
        "exchangeFilters": [],
        "symbols": [
            {
                "symbol": s.symbol,
                "status": "TRADING",
                "baseAsset": s.base,
                "baseAssetPrecision": 8,
                "quoteAsset": s.quote,
                "quotePrecision": 8,
                "quoteAssetPrecision": 8,
                # Only what the sandbox executes: the STOP family is not simulated, so not advertised.
                "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
                "baseCommissionPrecision": 8,
                "quoteCommissionPrecision": 8,
                "icebergAllowed": False,
                "ocoAllowed": False,
                "otoAllowed": False,
                "quoteOrderQtyMarketAllowed": True,
                "allowTrailingStop": False,
                "cancelReplaceAllowed": False,
                "amendAllowed": False,
                "pegInstructionsAllowed": False,
                "isSpotTradingAllowed": True,
                "isMarginTradingAllowed": False,
                "permissions": [],
                "permissionSets": [["SPOT"]],
                "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
                # Only EXPIRE_MAKER is simulated (own resting orders a taker meets are expired).
                "allowedSelfTradePreventionModes": ["EXPIRE_MAKER"],
                "filters": [
                    {
                        "filterType": "PRICE_FILTER",
                        "minPrice": fmt(s.spot_tick, 8),
                        "maxPrice": "1000000.00000000",
                        "tickSize": fmt(s.spot_tick, 8),
                    },
                    {
                        "filterType": "LOT_SIZE",
                        "minQty": fmt(s.spot_min_qty, 8),
                        "maxQty": fmt(s.spot_max_qty, 8),
                        "stepSize": fmt(s.spot_step, 8),
                    },
                    {
                        "filterType": "MARKET_LOT_SIZE",
                        "minQty": "0.00000000",
                        "maxQty": fmt(s.spot_market_max_qty, 8),
                        "stepSize": "0.00000000",
                    },
                    {
                        "filterType": "NOTIONAL",
                        "minNotional": fmt(s.spot_min_notional, 8),
                        "applyMinToMarket": True,
                        "maxNotional": "9000000.00000000",
                        "applyMaxToMarket": False,
                        "avgPriceMins": 5,
                    },
                    {
                        "filterType": "PERCENT_PRICE_BY_SIDE",
                        "bidMultiplierUp": fmt(SPOT_BID_MULTIPLIERS[1]),
                        "bidMultiplierDown": fmt(SPOT_BID_MULTIPLIERS[0]),
                        "askMultiplierUp": fmt(SPOT_ASK_MULTIPLIERS[1]),
                        "askMultiplierDown": fmt(SPOT_ASK_MULTIPLIERS[0]),
                        "avgPriceMins": 5,
                    },
                ],
            }
            for s in specs
        ],
    }


def futures_exchange_info(specs: list[SymbolSpec], server_time: int) -> dict[str, Any]:
    """``GET /fapi/v1/exchangeInfo`` (spec §A2): ``contractType`` and ``marginAsset`` make ccxt see perps."""
    return {
        "timezone": "UTC",
        "serverTime": server_time,
        "futuresType": "U_MARGINED",
        "rateLimits": rate_limits(Market.FUTURES),
        "exchangeFilters": [],
        "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
        "symbols": [
            {
                "symbol": s.symbol,
                "pair": s.symbol,
                "contractType": "PERPETUAL",
                "deliveryDate": 4133404800000,
                "onboardDate": 1569398400000,
                "status": "TRADING",
                "marginAsset": s.quote,
                "baseAsset": s.base,
                "quoteAsset": s.quote,
                "pricePrecision": decimal_places(s.perp_tick),
                "quantityPrecision": decimal_places(s.perp_step),
                "baseAssetPrecision": 8,
                "quotePrecision": 8,
                "underlyingType": "COIN",
                # Only what the sandbox executes: conditional orders are not simulated, so not advertised.
                "orderTypes": ["LIMIT", "MARKET"],
                "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
                "maintMarginPercent": "2.5000",
                "requiredMarginPercent": "5.0000",
                "triggerProtect": "0.0500",
                "liquidationFee": fmt(s.liquidation_fee, 6),
                "marketTakeBound": "0.05",
                "maxMoveOrderLimit": 10000,
                "settlePlan": 0,
                "permissionSets": ["GRID", "COPY"],
                "filters": [
                    {
                        "filterType": "PRICE_FILTER",
                        "minPrice": fmt(s.perp_min_price),
                        "maxPrice": fmt(s.perp_max_price),
                        "tickSize": fmt(s.perp_tick, decimal_places(s.perp_tick)),
                    },
                    {
                        "filterType": "LOT_SIZE",
                        "minQty": fmt(s.perp_min_qty),
                        "maxQty": fmt(s.perp_max_qty),
                        "stepSize": fmt(s.perp_step),
                    },
                    {
                        "filterType": "MARKET_LOT_SIZE",
                        "minQty": fmt(s.perp_min_qty),
                        "maxQty": fmt(s.perp_market_max_qty),
                        "stepSize": fmt(s.perp_step),
                    },
                    {"filterType": "MAX_NUM_ORDERS", "limit": PERP_MAX_NUM_ORDERS},
                    {"filterType": "MIN_NOTIONAL", "notional": fmt(s.perp_min_notional)},
                    {
                        "filterType": "PERCENT_PRICE",
                        "multiplierUp": fmt(PERP_MULTIPLIERS[1], 4),
                        "multiplierDown": fmt(PERP_MULTIPLIERS[0], 4),
                        "multiplierDecimal": "4",
                    },
                ],
            }
            for s in specs
        ],
    }


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


# ---- accounts -----------------------------------------------------------------------------------------


def spot_account(core: ExchangeCore) -> dict[str, Any]:
    """``GET /api/v3/account``: every known asset with free and locked."""
    return {
        "makerCommission": 10,
        "takerCommission": 10,
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": fmt(core.config.spot_maker_fee),
            "taker": fmt(core.config.spot_taker_fee),
            "buyer": "0",
            "seller": "0",
        },
        "canTrade": True,
        "canWithdraw": True,
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": core.now(),
        "accountType": "SPOT",
        "balances": [
            {"asset": a, "free": fmt(f, 8), "locked": fmt(lk, 8)} for a, (f, lk) in core.spot_balances().items()
        ],
        "permissions": ["SPOT"],
        "uid": 1,
    }


def _position(v: PositionView, spec: SymbolSpec, v2: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "symbol": v.symbol,
        "positionSide": "BOTH",
        "positionAmt": fmt(v.amount, decimal_places(spec.perp_step)),
        "entryPrice": fmt(v.entry_price, 8),
        "breakEvenPrice": fmt(v.entry_price, 8),
        "markPrice": fmt(v.mark_price, 8),
        "unRealizedProfit": fmt(v.unrealized_pnl, 8),
        "liquidationPrice": fmt(v.liquidation_price, 8) if v.liquidation_price else "0",
        "isolatedMargin": "0",
        "notional": fmt(v.notional, 8),
        "marginAsset": "USDT",
        "isolatedWallet": "0",
        "initialMargin": fmt(v.initial_margin, 8),
        "maintMargin": fmt(v.maint_margin, 8),
        "positionInitialMargin": fmt(v.initial_margin, 8),
        "openOrderInitialMargin": "0",
        "adl": 1 if v.amount else 0,
        "bidNotional": "0",
        "askNotional": "0",
        "updateTime": v.update_time,
    }
    if v2:
        body.update(
            {
                "leverage": str(v.leverage),
                "marginType": "cross",
                "isAutoAddMargin": "false",
                "maxNotionalValue": "300000",
            }
        )
    return body


def position_risk(core: ExchangeCore, v2: bool) -> list[dict[str, Any]]:
    """``positionRisk`` rows for every configured symbol (v2 adds leverage and margin type)."""
    return [_position(v, core.specs[v.symbol], v2) for v in core.positions()]


def futures_account(core: ExchangeCore, v2: bool) -> dict[str, Any]:
    """``GET /fapi/v2|v3/account``: the USDT wallet, margins and positions (``updateTime`` never 0)."""
    acc: FuturesAccount = core.futures_account()
    now = core.now()
    asset = {
        "asset": "USDT",
        "walletBalance": fmt(acc.wallet_balance, 8),
        "unrealizedProfit": fmt(acc.unrealized_pnl, 8),
        "marginBalance": fmt(acc.margin_balance, 8),
        "maintMargin": fmt(acc.maint_margin, 8),
        "initialMargin": fmt(acc.initial_margin, 8),
        "positionInitialMargin": fmt(acc.position_initial_margin, 8),
        "openOrderInitialMargin": fmt(acc.open_order_initial_margin, 8),
        "crossWalletBalance": fmt(acc.wallet_balance, 8),
        "crossUnPnl": fmt(acc.unrealized_pnl, 8),
        "availableBalance": fmt(acc.available_balance, 8),
        "maxWithdrawAmount": fmt(acc.available_balance, 8),
        # ccxt drops assets whose updateTime is 0.
        "updateTime": now,
    }
    if v2:
        asset["marginAvailable"] = True
    return {
        "totalInitialMargin": asset["initialMargin"],
        "totalMaintMargin": asset["maintMargin"],
        "totalWalletBalance": asset["walletBalance"],
        "totalUnrealizedProfit": asset["unrealizedProfit"],
        "totalMarginBalance": asset["marginBalance"],
        "totalPositionInitialMargin": asset["positionInitialMargin"],
        "totalOpenOrderInitialMargin": asset["openOrderInitialMargin"],
        "totalCrossWalletBalance": asset["crossWalletBalance"],
        "totalCrossUnPnl": asset["crossUnPnl"],
        "availableBalance": asset["availableBalance"],
        "maxWithdrawAmount": asset["maxWithdrawAmount"],
        "assets": [asset],
        "positions": [
            {
                "symbol": p["symbol"],
                "positionSide": "BOTH",
                "positionAmt": p["positionAmt"],
                "unrealizedProfit": p["unRealizedProfit"],
                "isolatedMargin": "0",
                "notional": p["notional"],
                "isolatedWallet": "0",
                "initialMargin": p["initialMargin"],
                "maintMargin": p["maintMargin"],
                "updateTime": p["updateTime"],
            }
            for p in position_risk(core, v2=False)
        ],
    }


def leverage_brackets(core: ExchangeCore) -> list[dict[str, Any]]:
    """``GET /fapi/v1/leverageBracket``: one bracket per symbol with its maintenance margin ratio."""
    return [
        {
            "symbol": s.symbol,
            "notionalCoef": 1.0,
            "brackets": [
                {
                    "bracket": 1,
                    "initialLeverage": s.max_leverage,
                    "notionalCap": 300000,
                    "notionalFloor": 0,
                    "maintMarginRatio": float(s.maint_margin_ratio),
                    "cum": 0.0,
                }
            ],
        }
        for s in core.specs.values()
    ]


def state(core: ExchangeCore) -> dict[str, Any]:
    """The control API's view of everything (``GET /sandbox/state``)."""
    acc = core.futures_account()
    return {
        "spot_balances": {a: {"free": fmt(f), "locked": fmt(lk)} for a, (f, lk) in core.spot_balances().items()},
        "futures": {
            "wallet_balance": fmt(acc.wallet_balance),
            "unrealized_pnl": fmt(acc.unrealized_pnl),
            "margin_balance": fmt(acc.margin_balance),
            "initial_margin": fmt(acc.initial_margin),
            "maint_margin": fmt(acc.maint_margin),
            "available_balance": fmt(acc.available_balance),
        },
        "positions": [
            {
                "symbol": v.symbol,
                "positionAmt": fmt(v.amount),
                "entryPrice": fmt(v.entry_price),
                "markPrice": fmt(v.mark_price),
                "unRealizedProfit": fmt(v.unrealized_pnl),
                "liquidationPrice": fmt(v.liquidation_price),
                "leverage": v.leverage,
            }
            for v in core.positions()
        ],
        "orders": [
            {
                "market": o.market.value,
                "symbol": o.symbol,
                "orderId": o.order_id,
                "clientOrderId": o.client_order_id,
                "side": o.side.value,
                "type": o.type.value,
                "status": o.status.value,
                "origQty": fmt(o.orig_qty),
                "executedQty": fmt(o.executed_qty),
                "avgPrice": fmt(o.avg_price),
                "price": fmt(o.price),
                "reduceOnly": o.reduce_only,
                "time": o.time,
                "updateTime": o.update_time,
            }
            for o in core.orders()
        ],
        "trades": [
            {
                "market": t.market.value,
                "symbol": t.symbol,
                "id": t.trade_id,
                "orderId": t.order_id,
                "side": t.side.value,
                "price": fmt(t.price),
                "qty": fmt(t.qty),
                "commission": fmt(t.commission),
                "commissionAsset": t.commission_asset,
                "realizedPnl": fmt(t.realized_pnl),
                "time": t.time,
            }
            for t in core.trades()
        ],
        # The futures wallet's income history in /fapi/v1/income's shape, oldest first, none left out.
        "income": [income_row(r) for r in core.income.records()],
        "funding": {"interval_ms": core.funding.interval_ms, "next_funding_time": core.next_funding_time()},
    }
