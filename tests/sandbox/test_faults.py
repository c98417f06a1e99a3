"""Each fault action of the control API behaves as documented (asserted from the venue's own state)."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import aiohttp
import ccxt
import pytest

from hedgetui.sandbox.model import Market
from hedgetui.sandbox.server import SandboxServer
from tests.sandbox.conftest import Factory, control, fault

PERP = "BTC/USDT:USDT"


async def sell(ex: Any, cid: str, qty: float = 0.01) -> Any:
    return await ex.create_order(PERP, "market", "sell", qty, None, {"clientOrderId": cid})


def perp_orders(sandbox: SandboxServer) -> list[Any]:
    return [o for o in sandbox.core.orders() if o.market.value == "futures"]


async def test_timeout_after_accept_creates_exactly_one_order(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client(timeout_ms=500)
    await fault(sandbox, "POST /fapi/v1/order", "timeout_after_accept", hold_ms=3000)
    with pytest.raises(ccxt.RequestTimeout):
        await sell(ex, "f1")
    state = await control(sandbox, "GET", "/sandbox/state")
    assert [(o["clientOrderId"], o["status"]) for o in state["orders"]] == [("f1", "FILLED")]


async def test_timeout_before_accept_creates_nothing(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client(timeout_ms=500)
    await fault(sandbox, "POST /fapi/v1/order", "timeout_before_accept", hold_ms=3000)
    with pytest.raises(ccxt.RequestTimeout):
        await sell(ex, "f2")
    await asyncio.sleep(0.1)
    assert perp_orders(sandbox) == []


async def test_drop_after_accept(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client()
    await fault(sandbox, "POST /fapi/v1/order", "drop_after_accept")
    with pytest.raises(ccxt.NetworkError):
        await sell(ex, "f3")
    assert [o.client_order_id for o in perp_orders(sandbox)] == ["f3"]


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (503, "<html>down</html>", ccxt.ExchangeNotAvailable),
        (503, {"code": -1007, "msg": "Timeout waiting for response from backend server."}, ccxt.RequestTimeout),
    ],
)
async def test_accept_then_answers_but_the_order_exists(
    client: Factory, sandbox: SandboxServer, status: int, body: Any, expected: type[Exception]
) -> None:
    ex = await client()
    await fault(sandbox, "POST /fapi/v1/order", "accept_then", status=status, body=body)
    with pytest.raises(expected):
        await sell(ex, "f4")
    assert [o.client_order_id for o in perp_orders(sandbox)] == ["f4"]


async def test_partial_then_rest_fills(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client()
    await fault(sandbox, "POST /fapi/v1/order", "partial", fill_ratio=0.5, rest_after_ms=200)
    order = await sell(ex, "f5", 0.02)
    assert order["info"]["status"] == "PARTIALLY_FILLED" and order["filled"] == pytest.approx(0.01)
    await asyncio.sleep(0.4)
    assert (await ex.fetch_order(order["id"], PERP))["status"] == "closed"


async def test_partial_then_expires(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client()
    await fault(sandbox, "POST /fapi/v1/order", "partial", fill_ratio=0.5, rest_after_ms=100, expire=True)
    order = await sell(ex, "f6", 0.02)
    await asyncio.sleep(0.3)
    final = await ex.fetch_order(order["id"], PERP)
    assert final["status"] == "expired" and final["filled"] == pytest.approx(0.01)


async def test_partial_zero_never_fills_and_can_be_cancelled(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client()
    await fault(sandbox, "POST /fapi/v1/order", "partial", fill_ratio=0, rest_after_ms=60000)
    order = await sell(ex, "f7", 0.02)
    assert order["info"]["status"] == "NEW" and order["filled"] == 0
    canceled = await ex.cancel_order(order["id"], PERP)
    assert canceled["status"] == "canceled"


async def test_latency(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client()
    await fault(sandbox, "GET /fapi/v1/depth", "latency", ms=300)
    started = time.monotonic()
    await ex.fetch_order_book(PERP, 5)
    assert time.monotonic() - started >= 0.3


async def test_visibility_delay_hides_new_orders_from_lookups(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client()
    await fault(sandbox, "POST /fapi/v1/order", "visibility_delay_ms", ms=400)
    await sell(ex, "f8")
    with pytest.raises(ccxt.OrderNotFound):
        await ex.fetch_order(None, PERP, {"clientOrderId": "f8"})
    await asyncio.sleep(0.5)
    assert (await ex.fetch_order(None, PERP, {"clientOrderId": "f8"}))["clientOrderId"] == "f8"


async def test_clock_skew(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client()
    await fault(sandbox, "GET /api/v3/account", "clock_skew_ms", ms=-30000)
    with pytest.raises(ccxt.InvalidNonce):
        await ex.fetch_balance()
    await fault(sandbox, "GET /api/v3/time", "clock_skew_ms", ms=-30000)
    server_time = await ex.fetch_time()
    assert abs(server_time - (int(time.time() * 1000) - 30000)) < 2000


async def test_times_and_clearing(sandbox: SandboxServer, client: Factory) -> None:
    ex = await client()
    await fault(sandbox, "* /fapi/v1/depth", "http_503", times=2)
    for _ in range(2):
        with pytest.raises(ccxt.ExchangeNotAvailable):
            await ex.fetch_order_book(PERP, 5)
    await ex.fetch_order_book(PERP, 5)
    await fault(sandbox, "GET /fapi/v1/depth", "http_503", times=5)
    assert len(await control(sandbox, "GET", "/sandbox/faults")) == 1
    await control(sandbox, "DELETE", "/sandbox/faults")
    await ex.fetch_order_book(PERP, 5)


async def test_bad_rules_are_refused_with_one_line(sandbox: SandboxServer) -> None:
    async with aiohttp.ClientSession() as s:
        for body in (
            {"match": "POST", "action": "http_500"},
            {"match": "POST /x", "action": "explode"},
            {"match": "POST /x", "action": "partial"},
            {"match": "POST /x", "action": "http_500", "times": 0},
        ):
            async with s.post(sandbox.base_url + "/sandbox/faults", json=body) as resp:
                assert resp.status == 400 and "\n" not in (await resp.json())["error"]


async def test_market_moves_and_thins_both_books(sandbox: SandboxServer) -> None:
    core = sandbox.core
    before_spot, before_perp = core.mid_price(core_spot(), "BTCUSDT"), core.mid_price(core_perp(), "BTCUSDT")
    await control(sandbox, "POST", "/sandbox/market", {"symbol": "BTCUSDT", "move_bps": -150})
    after_spot, after_perp = core.mid_price(core_spot(), "BTCUSDT"), core.mid_price(core_perp(), "BTCUSDT")
    assert after_spot < before_spot * Decimal("0.99") and after_perp < before_perp * Decimal("0.99")
    depth_before = sum(q for _, q in core.depth(core_spot(), "BTCUSDT", 100)[1])
    await control(sandbox, "POST", "/sandbox/market", {"symbol": "BTCUSDT", "depth_factor": 0.1})
    depth_after = sum(q for _, q in core.depth(core_spot(), "BTCUSDT", 100)[1])
    assert depth_after < depth_before * Decimal("0.2")


async def test_external_position_change_and_reset(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client()
    await control(sandbox, "POST", "/sandbox/position", {"symbol": "BTCUSDT", "amount": "-0.5"})
    assert (await ex.fetch_positions([PERP]))[0]["contracts"] == pytest.approx(0.5)
    await fault(sandbox, "GET /fapi/v1/depth", "http_503", times=3)
    await control(sandbox, "POST", "/sandbox/reset")
    assert await ex.fetch_positions([PERP]) == []
    assert await control(sandbox, "GET", "/sandbox/faults") == []


def core_spot() -> Market:
    return Market.SPOT


def core_perp() -> Market:
    return Market.FUTURES
