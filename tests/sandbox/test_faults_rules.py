"""Fault rules and the control API: validation, order of application, and the finer points of each action."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import aiohttp
import ccxt
import pytest

from hedgetui.sandbox.faults import FaultBook, FaultError
from hedgetui.sandbox.model import Market
from hedgetui.sandbox.server import SandboxServer
from tests.sandbox.conftest import Factory, control, fault, signed

PERP = "BTC/USDT:USDT"
ORDER = {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.01", "newOrderRespType": "RESULT"}


async def post(sandbox: SandboxServer, path: str, body: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as s, s.post(sandbox.base_url + path, json=body) as resp:
        return resp.status, await resp.json()


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"match": "POST", "action": "http_500"}, "match"),
        ({"match": "FETCH /x", "action": "http_500"}, "method"),
        ({"match": "GET x", "action": "http_500"}, "path"),
        ({"match": "POST /x", "action": "explode"}, "unknown action"),
        ({"match": "POST /x", "action": "http_500", "times": 0}, "times"),
        ({"match": "POST /x", "action": "http_500", "times": True}, "times"),
        ({"match": "POST /x", "action": "timeout_after_accept", "hold_msec": 5}, "hold_msec"),
        ({"match": "POST /x", "action": "partial"}, "fill_ratio"),
        ({"match": "POST /x", "action": "partial", "fill_ratio": 1.5}, "fill_ratio"),
        ({"match": "POST /x", "action": "partial", "fill_ratio": 0.5, "expire": "yes"}, "expire"),
        ({"match": "POST /x", "action": "reject", "msg": "no code"}, "code"),
        ({"match": "POST /x", "action": "reject", "code": -1, "status": 99}, "status"),
        ({"match": "POST /x", "action": "accept_then"}, "status"),
        ({"match": "POST /x", "action": "latency", "ms": -1}, "ms"),
        ({"match": "POST /x", "action": "clock_skew_ms", "ms": 1.5}, "integer"),
        ({"match": "POST /x", "action": "ws_close"}, "WS *"),
        ({"match": "WS *", "action": "ws_drop_diff", "market": "options"}, "market"),
        ({"match": "POST /x", "action": "http_503", "body": 5}, "body"),
    ],
)
def test_invalid_rules_are_refused_and_nothing_is_armed(spec: dict[str, Any], fragment: str) -> None:
    book = FaultBook()
    with pytest.raises(FaultError, match=fragment):
        book.add(spec)
    assert book.rules == []


def test_rules_apply_in_creation_order_and_wear_out() -> None:
    book = FaultBook()
    first = book.add({"match": "* /fapi/v1/order", "action": "http_503", "times": 2})
    second = book.add({"match": "POST /fapi/v1/order", "action": "http_429"})
    assert book.take("GET", "/api/v3/order") is None
    assert [book.take("POST", "/fapi/v1/order") for _ in range(4)] == [first, first, second, None]
    assert book.describe() == []


async def test_control_api_refuses_bad_input_with_one_json_line(sandbox: SandboxServer) -> None:
    bad = [
        ("/sandbox/faults", {"match": "POST /x", "action": "nope"}),
        ("/sandbox/faults", [1, 2]),
        ("/sandbox/position", {"symbol": "BTCUSDT"}),
        ("/sandbox/position", {"symbol": "DOGEUSDT", "amount": "1"}),
        ("/sandbox/position", {"amount": "0.0005"}),  # not a multiple of the perp step
        ("/sandbox/position", {"amount": "NaN"}),
        ("/sandbox/position", {"amount": "1", "price": "-5"}),
        ("/sandbox/position", {"amount": "1", "leverage": 3}),
        ("/sandbox/market", {"symbol": "BTCUSDT"}),
        ("/sandbox/market", {"move_bps": "lots"}),
        ("/sandbox/market", {"move_bps": -20000}),
        ("/sandbox/market", {"depth_factor": 0}),
        ("/sandbox/market", {"depth_factor": 0.5, "move_bps": 1e9}),  # refused whole: the depth stays
    ]
    for path, body in bad:
        status, answer = await post(sandbox, path, body)
        assert status == 400 and set(answer) == {"error"} and "\n" not in answer["error"], (path, body, answer)
    async with aiohttp.ClientSession() as s, s.post(sandbox.base_url + "/sandbox/market", data="{oops") as resp:
        assert resp.status == 400 and "JSON" in (await resp.json())["error"]
    assert sandbox.core.position("BTCUSDT").amount == 0 and sandbox.core.orders() == []
    assert await control(sandbox, "GET", "/sandbox/faults") == []


async def test_state_lists_every_order_and_trade(sandbox: SandboxServer) -> None:
    await signed(sandbox, "POST", "/fapi/v1/order", {**ORDER, "newClientOrderId": "s1"})
    await signed(sandbox, "POST", "/api/v3/order", {**ORDER, "side": "BUY", "quantity": "0.001"})
    await control(sandbox, "POST", "/sandbox/position", {"amount": "-0.5", "price": "60000"})
    state = await control(sandbox, "GET", "/sandbox/state")
    assert set(state) == {"spot_balances", "futures", "positions", "orders", "trades", "income", "funding"}
    perp, spot = state["orders"]
    assert {k: perp[k] for k in ("market", "symbol", "clientOrderId", "side", "type", "status", "reduceOnly")} == {
        "market": "futures",
        "symbol": "BTCUSDT",
        "clientOrderId": "s1",
        "side": "SELL",
        "type": "MARKET",
        "status": "FILLED",
        "reduceOnly": False,
    }
    assert spot["market"] == "spot" and spot["clientOrderId"].startswith("sandbox-auto-")
    assert {"orderId", "origQty", "executedQty", "avgPrice", "time"} <= set(spot)
    assert state["positions"][0]["positionAmt"] == "-0.5"
    assert state["trades"][-1]["orderId"] == -1  # the external change is a trade too
    assert Decimal(state["spot_balances"]["BTC"]["free"]) == Decimal("0.000999")


async def test_a_skewed_request_does_not_skew_a_concurrent_one(sandbox: SandboxServer) -> None:
    await fault(sandbox, "GET /fapi/v1/time", "latency", ms=400)
    await fault(sandbox, "GET /api/v3/time", "clock_skew_ms", ms=-30000)

    async def get(path: str) -> int:
        async with aiohttp.ClientSession() as s, s.get(sandbox.base_url + path) as resp:
            return int((await resp.json())["serverTime"])

    # The skewed request runs while the slow one is inside the server; each keeps its own clock.
    slow = asyncio.create_task(get("/fapi/v1/time"))
    await asyncio.sleep(0.1)
    skewed = await get("/api/v3/time")
    unskewed = await slow
    wall = int(time.time() * 1000)
    assert abs(skewed - (wall - 30000)) < 2000 and abs(unskewed - wall) < 2000


@pytest.mark.parametrize("action", ["http_500", "http_503", "http_429", "http_418"])
async def test_http_faults_take_a_text_or_json_body(sandbox: SandboxServer, action: str) -> None:
    await fault(sandbox, "GET /api/v3/ping", action)
    await fault(sandbox, "GET /api/v3/ping", action, body="<html>proxy</html>")
    async with aiohttp.ClientSession() as s:
        async with s.get(sandbox.base_url + "/api/v3/ping") as resp:
            default = (resp.status, resp.content_type, await resp.text())
        async with s.get(sandbox.base_url + "/api/v3/ping") as resp:
            custom = (resp.status, resp.content_type, await resp.text())
    status = int(action[-3:])
    assert default[0] == custom[0] == status and custom[1:] == ("text/html", "<html>proxy</html>")
    # 5xx default to an HTML page, 429/418 to Binance's -1003 JSON.
    assert default[1] == ("text/html" if status >= 500 else "application/json")


async def test_timeout_before_accept_never_processes_even_when_the_hold_ends(sandbox: SandboxServer) -> None:
    await fault(sandbox, "POST /fapi/v1/order", "timeout_before_accept", hold_ms=100)
    status, _ = await signed(sandbox, "POST", "/fapi/v1/order", {**ORDER, "newClientOrderId": "h1"})
    assert status == 504 and sandbox.core.orders() == []


async def test_visibility_delay_hides_from_open_orders_and_cancel(sandbox: SandboxServer) -> None:
    ask = sandbox.core.best_bid_ask(Market.FUTURES, "BTCUSDT")[2]
    resting = {
        **ORDER,
        "type": "LIMIT",
        "timeInForce": "GTC",
        "price": str((ask * Decimal("1.02")).quantize(Decimal("0.1"))),
        "newClientOrderId": "vis1",
    }
    await fault(sandbox, "POST /fapi/v1/order", "visibility_delay_ms", ms=300)
    status, placed = await signed(sandbox, "POST", "/fapi/v1/order", resting)
    assert status == 200 and placed["status"] == "NEW"
    _, listed = await signed(sandbox, "GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"})
    assert listed == []
    cancel = {"symbol": "BTCUSDT", "origClientOrderId": "vis1"}
    assert (await signed(sandbox, "DELETE", "/fapi/v1/order", cancel))[1]["code"] == -2011
    await asyncio.sleep(0.35)
    _, listed = await signed(sandbox, "GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"})
    assert [o["clientOrderId"] for o in listed] == ["vis1"]
    assert (await signed(sandbox, "DELETE", "/fapi/v1/order", cancel))[1]["status"] == "CANCELED"


async def test_partial_rounds_down_to_the_step(sandbox: SandboxServer) -> None:
    await fault(sandbox, "POST /fapi/v1/order", "partial", fill_ratio=0.5, rest_after_ms=60000)
    _, order = await signed(sandbox, "POST", "/fapi/v1/order", {**ORDER, "quantity": "0.015"})
    assert order["status"] == "PARTIALLY_FILLED" and order["executedQty"] == "0.007"


async def test_partial_rest_fills_later_without_blocking_the_server(sandbox: SandboxServer) -> None:
    await fault(sandbox, "POST /api/v3/order", "partial", fill_ratio=0.25, rest_after_ms=300)
    started = time.monotonic()
    _, order = await signed(sandbox, "POST", "/api/v3/order", {**ORDER, "side": "BUY", "quantity": "0.004"})
    assert time.monotonic() - started < 0.25
    assert order["status"] == "PARTIALLY_FILLED" and order["executedQty"] == "0.00100000"
    await asyncio.sleep(0.4)
    _, final = await signed(sandbox, "GET", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": order["orderId"]})
    assert final["status"] == "FILLED" and final["executedQty"] == "0.00400000"


async def test_reset_cancels_pending_partial_fills_and_faults(sandbox: SandboxServer) -> None:
    await fault(sandbox, "POST /fapi/v1/order", "partial", fill_ratio=0.5, rest_after_ms=150)
    await signed(sandbox, "POST", "/fapi/v1/order", {**ORDER, "quantity": "0.02"})
    await fault(sandbox, "GET /fapi/v1/depth", "http_503", times=5)
    await control(sandbox, "POST", "/sandbox/reset")
    await asyncio.sleep(0.25)
    assert sandbox.core.orders() == [] and sandbox.core.trades() == []
    assert await control(sandbox, "GET", "/sandbox/faults") == []


async def test_drop_after_accept_closes_without_an_answer(sandbox: SandboxServer) -> None:
    await fault(sandbox, "POST /fapi/v1/order", "drop_after_accept")
    with pytest.raises(aiohttp.ClientError):
        await signed(sandbox, "POST", "/fapi/v1/order", {**ORDER, "newClientOrderId": "d1"})
    assert [o.client_order_id for o in sandbox.core.orders()] == ["d1"]


async def test_ws_close_times_counts_closures(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client()
    await ex.watch_order_book(PERP)
    await fault(sandbox, "WS *", "ws_close", times=3)  # now, then the next two connections as they open
    errors = 0
    for _ in range(40):
        try:
            await ex.watch_order_book(PERP)
        except ccxt.NetworkError:
            errors += 1
            continue
        if errors >= 3:
            break
    assert errors == 3 and sandbox.streams.close_next_connections == 0
    assert len(sandbox.streams.connections) == 1
