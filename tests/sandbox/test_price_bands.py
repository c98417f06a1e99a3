"""Price bands and the exchangeInfo fields strict clients model: spot PERCENT_PRICE_BY_SIDE, USDⓈ-M
PERCENT_PRICE (enforced on limit prices; market orders carry no price), rate limits and symbol flags."""

from __future__ import annotations

import ccxt
import pytest

from hedgetui.sandbox.model import Market
from hedgetui.sandbox.server import SandboxServer
from tests.sandbox.conftest import Factory, public

SPOT, PERP = "BTC/USDT", "BTC/USDT:USDT"


async def test_spot_percent_price_by_side(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client()
    filters = {f["filterType"]: f for f in ex.markets[SPOT]["info"]["filters"]}
    band = filters["PERCENT_PRICE_BY_SIDE"]
    assert (band["bidMultiplierUp"], band["bidMultiplierDown"], band["avgPriceMins"]) == ("5", "0.2", 5)
    mid = sandbox.core.mid_price(Market.SPOT, "BTCUSDT")
    with pytest.raises(ccxt.ExchangeError, match="PERCENT_PRICE_BY_SIDE"):
        await ex.create_order(SPOT, "limit", "buy", 0.001, round(float(mid) * 0.15, 2))
    with pytest.raises(ccxt.ExchangeError, match="PERCENT_PRICE_BY_SIDE"):
        await ex.create_order(SPOT, "limit", "sell", 0.001, round(float(mid) * 5.5, 2))
    resting = await ex.create_order(SPOT, "limit", "buy", 0.001, round(float(mid) * 0.25, 2))
    assert resting["status"] == "open"
    assert (await ex.create_order(SPOT, "market", "buy", 0.001))["status"] == "closed"  # no price, no band


async def test_futures_percent_price(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client()
    filters = {f["filterType"]: f for f in ex.markets[PERP]["info"]["filters"]}
    assert filters["PERCENT_PRICE"]["multiplierUp"] == "1.0500"
    mark = sandbox.core.mark_price("BTCUSDT")
    with pytest.raises(ccxt.ExchangeError, match=r"-4016.*higher than"):
        await ex.create_order(PERP, "limit", "buy", 0.01, round(float(mark) * 1.06, 1))
    with pytest.raises(ccxt.ExchangeError, match=r"-4024.*lower than"):
        await ex.create_order(PERP, "limit", "sell", 0.01, round(float(mark) * 0.94, 1))
    resting = await ex.create_order(PERP, "limit", "buy", 0.01, round(float(mark) * 0.96, 1))
    assert resting["status"] == "open"
    # One bound per side: a buy far below the mark and a sell far above it are fine.
    assert (await ex.create_order(PERP, "limit", "buy", 0.01, round(float(mark) * 0.8, 1)))["status"] == "open"
    assert (await ex.create_order(PERP, "limit", "sell", 0.01, round(float(mark) * 1.2, 1)))["status"] == "open"
    assert (await ex.create_order(PERP, "market", "sell", 0.01))["status"] == "closed"


async def test_exchange_info_fields(sandbox: SandboxServer) -> None:
    _, spot = await public(sandbox, "/api/v3/exchangeInfo")
    _, perp = await public(sandbox, "/fapi/v1/exchangeInfo")
    s, p = spot["symbols"][0], perp["symbols"][0]
    for field in (
        "quoteOrderQtyMarketAllowed",
        "allowedSelfTradePreventionModes",
        "baseCommissionPrecision",
        "quoteCommissionPrecision",
        "permissionSets",
        "defaultSelfTradePreventionMode",
    ):
        assert field in s, field
    for field in ("triggerProtect", "marketTakeBound", "liquidationFee", "maintMarginPercent", "requiredMarginPercent"):
        assert field in p, field
    assert {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000} in spot[
        "rateLimits"
    ]
    assert {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300} in perp["rateLimits"]
