"""``GET /api/v3/exchangeInfo`` and ``GET /fapi/v1/exchangeInfo`` in Binance's shape: symbols, filters and
rate limits.

Separate from :mod:`hedgetui.sandbox.shapes` because it is static description (the symbols' rules), not
the state of books, orders or accounts.
"""

from __future__ import annotations

from typing import Any

from hedgetui.sandbox.filters import PERP_MAX_NUM_ORDERS, PERP_MULTIPLIERS, SPOT_ASK_MULTIPLIERS, SPOT_BID_MULTIPLIERS
from hedgetui.sandbox.model import Market, SymbolSpec
from hedgetui.sandbox.ratelimits import ORDER_LIMITS, WEIGHT_LIMITS
from hedgetui.sandbox.shapes import decimal_places, fmt


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
