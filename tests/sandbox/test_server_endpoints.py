"""The endpoints beyond ccxt's hedge calls, through ccxt's real class: klines, price tickers, funding
history, futures balances, the position mode and the v2 account shape."""

from __future__ import annotations

import asyncio

import ccxt
import pytest

from hedgetui.sandbox.server import SandboxServer
from tests.sandbox.conftest import Factory, public

SPOT, PERP = "BTC/USDT", "BTC/USDT:USDT"


async def test_klines_follow_the_price_and_count_the_trades(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client()
    await asyncio.sleep(0.1)  # a few ticks sampled
    for symbol in (SPOT, PERP):
        order = await ex.create_order(symbol, "market", "buy", 0.01)
        candles = await ex.fetch_ohlcv(symbol, "1m", limit=5)
        ts, o, h, low, c, volume = candles[-1]
        assert ts % 60_000 == 0 and low <= o <= h and low <= c <= h
        assert volume == pytest.approx(0.01)  # the account's trade is the volume
        assert low <= order["average"] <= h
        hourly = await ex.fetch_ohlcv(symbol, "1h")
        assert hourly[-1][0] % 3_600_000 == 0 and hourly[-1][5] == pytest.approx(0.01)
    status, body = await public(sandbox, "/api/v3/klines", symbol="BTCUSDT", interval="7m")
    assert (status, body["code"]) == (400, -1120)
    status, body = await public(sandbox, "/fapi/v1/klines", symbol="BTCUSDT", interval="1m", limit=1501)
    assert body["code"] == -1100


async def test_price_tickers(sandbox: SandboxServer) -> None:
    status, spot = await public(sandbox, "/api/v3/ticker/price", symbol="BTCUSDT")
    assert status == 200 and set(spot) == {"symbol", "price"} and float(spot["price"]) > 0
    status, perp = await public(sandbox, "/fapi/v1/ticker/price")
    assert isinstance(perp, list) and set(perp[0]) == {"symbol", "price", "time"}


async def test_funding_history_balance_and_position_mode(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client()
    history = await ex.fetch_funding_rate_history(PERP)
    # The sandbox started a moment ago: a funding time passed only if 00/08/16 UTC fell in between.
    assert all(h["fundingRate"] == 0.0001 for h in history)
    sandbox.core.started_at -= 3 * 8 * 3600 * 1000  # as if it had run for a day
    history = await ex.fetch_funding_rate_history(PERP)
    assert len(history) == 3 and all(h["timestamp"] % (8 * 3600 * 1000) == 0 for h in history)
    for version in ("fapiPrivateV2GetBalance", "fapiPrivateV3GetBalance"):
        (usdt,) = await getattr(ex, version)()
        assert usdt["asset"] == "USDT" and float(usdt["balance"]) == 100000
    assert (await ex.fetch_position_mode(PERP))["hedged"] is False
    with pytest.raises(ccxt.ExchangeError, match="-4059"):
        await ex.set_position_mode(False, PERP)


async def test_v2_account_shape(client: Factory) -> None:
    ex = await client()
    await ex.create_order(PERP, "market", "buy", 0.01)
    v2 = await ex.fapiPrivateV2GetAccount()
    for field in ("canTrade", "feeTier", "multiAssetsMargin", "updateTime", "canDeposit", "canWithdraw"):
        assert field in v2, field
    (pos,) = [p for p in v2["positions"] if p["symbol"] == "BTCUSDT"]
    for field in ("entryPrice", "leverage", "isolated", "maxNotional", "positionSide", "breakEvenPrice"):
        assert field in pos, field
    assert float(pos["entryPrice"]) > 0 and pos["leverage"] == "20" and pos["isolated"] is False
    v3 = await ex.fapiPrivateV3GetAccount()
    assert "canTrade" not in v3 and "entryPrice" not in v3["positions"][0]  # v3 keeps its leaner shape
    ex.options["fetchBalance"] = {"useV2": True}
    balance = await ex.fetch_balance({"type": "swap"})
    assert balance["USDT"]["total"] > 0
