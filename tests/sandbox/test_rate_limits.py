"""Request-weight and order-count limits: Binance's headers, 429 past a limit, 418 for a client that does
not back off."""

from __future__ import annotations

import aiohttp
import ccxt
import pytest

from hedgetui.sandbox import ratelimits
from hedgetui.sandbox.model import Market
from hedgetui.sandbox.server import SandboxServer
from tests.sandbox.conftest import Factory

SPOT, PERP = "BTC/USDT", "BTC/USDT:USDT"


async def test_weight_and_order_count_headers(client: Factory) -> None:
    ex = await client()
    await ex.fetch_order_book(SPOT, 5)
    before = int(ex.last_response_headers["X-MBX-USED-WEIGHT-1M"])
    await ex.fetch_order_book(SPOT, 500)
    assert int(ex.last_response_headers["X-MBX-USED-WEIGHT-1M"]) == before + 25  # depth 101-500 weighs 25
    await ex.create_order(SPOT, "market", "buy", 0.001)
    first = int(ex.last_response_headers["X-MBX-ORDER-COUNT-10S"])
    await ex.create_order(SPOT, "market", "sell", 0.0009)  # the buy's fee was paid in BTC
    assert int(ex.last_response_headers["X-MBX-ORDER-COUNT-10S"]) == first + 1
    assert "X-MBX-ORDER-COUNT-1D" in ex.last_response_headers
    await ex.create_order(PERP, "market", "sell", 0.01)
    assert {"X-MBX-ORDER-COUNT-10S", "X-MBX-ORDER-COUNT-1M", "X-MBX-USED-WEIGHT-1M"} <= set(ex.last_response_headers)


async def test_past_the_weight_limit_429_then_418(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ratelimits.WEIGHT_LIMITS, Market.SPOT, ("1M", 60_000, 12))
    statuses = []
    async with aiohttp.ClientSession() as s:
        for _ in range(3 + ratelimits.BAN_AFTER_IGNORED + 1):
            async with s.get(sandbox.base_url + "/api/v3/depth", params={"symbol": "BTCUSDT"}) as r:
                body = await r.json()
                statuses.append((r.status, body.get("code") if isinstance(body, dict) else None))
                if r.status == 429:
                    assert 0 < int(r.headers["Retry-After"]) <= ratelimits.BAN_MS // 1000
        # two requests of weight 5 pass, then 429 -1003 until the client is banned: 418
        assert statuses[:2] == [(200, None), (200, None)]
        assert statuses[2 : 3 + ratelimits.BAN_AFTER_IGNORED] == [(429, -1003)] * (1 + ratelimits.BAN_AFTER_IGNORED)
        assert statuses[-1] == (418, -1003)
        # The other market has its own limits.
        async with s.get(sandbox.base_url + "/fapi/v1/depth", params={"symbol": "BTCUSDT"}) as r:
            assert r.status == 200


async def test_past_the_order_limit(client: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ratelimits.ORDER_LIMITS, Market.FUTURES, (("10S", 10_000, 2), ("1M", 60_000, 1200)))
    ex = await client()
    await ex.create_order(PERP, "market", "buy", 0.01)
    await ex.create_order(PERP, "market", "sell", 0.01)
    with pytest.raises(ccxt.DDoSProtection, match="-1015"):  # ccxt maps any 429 to DDoSProtection
        await ex.create_order(PERP, "market", "buy", 0.01)
