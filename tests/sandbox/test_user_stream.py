"""User data streams below ccxt: listen-key routes, event order, wrappers, expiry and the two faults."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from hedgetui.sandbox.server import SandboxServer
from tests.sandbox.conftest import control, fault, signed


async def key_call(sandbox: SandboxServer, method: str, path: str, **params: str) -> tuple[int, Any]:
    """A USER_STREAM request: the API key header, parameters in the form body, no signature."""
    headers = {"X-MBX-APIKEY": sandbox.api_key, "Content-Type": "application/x-www-form-urlencoded"}
    async with (
        aiohttp.ClientSession() as s,
        s.request(method, sandbox.base_url + path, data=params, headers=headers) as r,
    ):
        return r.status, await r.json()


async def events(ws: aiohttp.ClientWebSocketResponse, n: int) -> list[dict[str, Any]]:
    return [json.loads((await asyncio.wait_for(ws.receive(), 5)).data) for _ in range(n)]


async def quiet(ws: aiohttp.ClientWebSocketResponse, seconds: float = 0.2) -> None:
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(ws.receive(), seconds)


async def test_spot_listen_key_lifecycle(sandbox: SandboxServer) -> None:
    status, body = await key_call(sandbox, "POST", "/api/v3/userDataStream")
    key = body["listenKey"]
    assert status == 200 and len(key) == 60
    assert (await key_call(sandbox, "POST", "/api/v3/userDataStream"))[1] == {"listenKey": key}  # same key
    assert await key_call(sandbox, "PUT", "/api/v3/userDataStream", listenKey=key) == (200, {})
    assert (await key_call(sandbox, "PUT", "/api/v3/userDataStream"))[1]["code"] == -1102
    assert await key_call(sandbox, "DELETE", "/api/v3/userDataStream", listenKey=key) == (200, {})
    assert await key_call(sandbox, "PUT", "/api/v3/userDataStream", listenKey=key) == (
        400,
        {"code": -1125, "msg": "This listenKey does not exist."},
    )
    async with aiohttp.ClientSession() as s, s.post(sandbox.base_url + "/fapi/v1/listenKey") as r:
        assert (r.status, (await r.json())["code"]) == (401, -2014)


async def test_futures_listen_key_lifecycle(sandbox: SandboxServer) -> None:
    assert (await key_call(sandbox, "PUT", "/fapi/v1/listenKey"))[1]["code"] == -1125  # none yet
    key = (await key_call(sandbox, "POST", "/fapi/v1/listenKey"))[1]["listenKey"]
    assert len(key) == 64
    assert await key_call(sandbox, "PUT", "/fapi/v1/listenKey") == (200, {"listenKey": key})
    assert await key_call(sandbox, "DELETE", "/fapi/v1/listenKey") == (200, {})
    assert (await key_call(sandbox, "DELETE", "/fapi/v1/listenKey"))[1]["code"] == -1125


async def test_spot_events_in_binance_order_on_a_raw_stream(sandbox: SandboxServer) -> None:
    key = (await key_call(sandbox, "POST", "/api/v3/userDataStream"))[1]["listenKey"]
    async with aiohttp.ClientSession() as s, s.ws_connect(f"{sandbox.ws_url}/ws/{key}") as ws:
        status, order = await signed(
            sandbox,
            "POST",
            "/api/v3/order",
            {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.002"},
        )
        assert status == 200
        got = await events(ws, 2 + len(order["fills"]))
        assert [e["e"] for e in got] == ["executionReport"] * (1 + len(order["fills"])) + ["outboundAccountPosition"]
        assert [e["x"] for e in got[:-1]] == ["NEW"] + ["TRADE"] * len(order["fills"])
        assert got[-2]["X"] == "FILLED" and got[-2]["z"] == order["executedQty"]
        assert [e["t"] for e in got[1:-1]] == [f["tradeId"] for f in order["fills"]]
        balances = {b["a"]: b for b in got[-1]["B"]}
        account = (await signed(sandbox, "GET", "/api/v3/account"))[1]
        assert {b["asset"]: b["free"] for b in account["balances"]}["BTC"] == balances["BTC"]["f"]
        # A deposit: balanceUpdate, then the new balance.
        await control(sandbox, "POST", "/sandbox/transfer", {"asset": "USDT", "delta": "250"})
        update, position = await events(ws, 2)
        assert (update["e"], update["a"], update["d"]) == ("balanceUpdate", "USDT", "250.00000000")
        assert position["e"] == "outboundAccountPosition" and [b["a"] for b in position["B"]] == ["USDT"]
        await quiet(ws)  # the perp's events never reach a spot key


async def test_futures_events_on_the_ccxt_path_and_a_combined_stream(sandbox: SandboxServer) -> None:
    key = (await key_call(sandbox, "POST", "/fapi/v1/listenKey"))[1]["listenKey"]
    async with aiohttp.ClientSession() as s:
        private = await s.ws_connect(f"{sandbox.ws_url}/fstream/private/ws?listenKey={key}")
        combined = await s.ws_connect(f"{sandbox.ws_url}/fstream/stream?streams={key}")
        status, order = await signed(
            sandbox,
            "POST",
            "/fapi/v1/order",
            {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"},
        )
        assert status == 200 and order["status"] == "NEW"  # fapi answers ACK by default
        raw = await events(private, 2)
        assert [(e["e"], e["o"]["x"]) for e in raw] == [("ORDER_TRADE_UPDATE", "NEW"), ("ORDER_TRADE_UPDATE", "TRADE")]
        trades = 1
        while (msg := (await events(private, 1))[0])["e"] == "ORDER_TRADE_UPDATE":
            trades += 1
        assert msg["e"] == "ACCOUNT_UPDATE" and msg["a"]["m"] == "ORDER"
        assert msg["a"]["P"][0]["pa"] == "0.01" and msg["a"]["P"][0]["ps"] == "BOTH"
        wrapped = await events(combined, 1 + trades + 1)
        assert {w["stream"] for w in wrapped} == {key}
        assert [w["data"]["e"] for w in wrapped][-1] == "ACCOUNT_UPDATE"
        # A position changed from outside is an ADJUSTMENT.
        await control(sandbox, "POST", "/sandbox/position", {"amount": "0"})
        assert (await events(private, 1))[0]["a"]["m"] == "ADJUSTMENT"
        await private.close()
        await combined.close()


async def test_listen_key_expire_fault_and_unknown_keys(sandbox: SandboxServer) -> None:
    key = (await key_call(sandbox, "POST", "/fapi/v1/listenKey"))[1]["listenKey"]
    async with aiohttp.ClientSession() as s, s.ws_connect(f"{sandbox.ws_url}/fstream/ws/{key}") as ws:
        await fault(sandbox, "WS *", "listen_key_expire", market="futures")
        (expired,) = await events(ws, 1)
        assert expired["e"] == "listenKeyExpired" and expired["listenKey"] == key
        assert (await asyncio.wait_for(ws.receive(), 5)).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert (await key_call(sandbox, "PUT", "/fapi/v1/listenKey"))[1]["code"] == -1125
    async with aiohttp.ClientSession() as s, s.ws_connect(f"{sandbox.ws_url}/fstream/private/ws?listenKey={key}") as ws:
        msg = await asyncio.wait_for(ws.receive(), 5)
        assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == aiohttp.WSCloseCode.POLICY_VIOLATION


async def test_listen_keys_expire_after_an_hour_without_keepalive(sandbox: SandboxServer) -> None:
    key = (await key_call(sandbox, "POST", "/api/v3/userDataStream"))[1]["listenKey"]
    wall = sandbox._wall
    sandbox._wall = lambda: wall() + 59 * 60_000
    assert await key_call(sandbox, "PUT", "/api/v3/userDataStream", listenKey=key) == (200, {})  # extended
    sandbox._wall = lambda: wall() + 118 * 60_000
    await asyncio.sleep(0.1)  # ticks: still valid, 59 minutes after the keep-alive
    assert await key_call(sandbox, "PUT", "/api/v3/userDataStream", listenKey=key) == (200, {})
    sandbox._wall = lambda: wall() + 179 * 60_000
    await asyncio.sleep(0.1)
    assert (await key_call(sandbox, "PUT", "/api/v3/userDataStream", listenKey=key))[1]["code"] == -1125


async def test_drop_user_event_fault(sandbox: SandboxServer) -> None:
    key = (await key_call(sandbox, "POST", "/api/v3/userDataStream"))[1]["listenKey"]
    async with aiohttp.ClientSession() as s, s.ws_connect(f"{sandbox.ws_url}/stream?streams={key}") as ws:
        await fault(sandbox, "WS *", "ws_drop_user_event", market="spot")
        await control(sandbox, "POST", "/sandbox/transfer", {"asset": "USDT", "delta": "1"})
        (only,) = await events(ws, 1)
        assert only["stream"] == key and only["data"]["e"] == "outboundAccountPosition"  # balanceUpdate dropped
        await quiet(ws)


async def test_websocket_api_subscription_errors(sandbox: SandboxServer) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(f"{sandbox.ws_url}/ws-api/v3") as ws:
        await ws.send_json(
            {
                "id": "a",
                "method": "userDataStream.subscribe.signature",
                "params": {"apiKey": sandbox.api_key, "timestamp": sandbox.now(), "signature": "00"},
            }
        )
        answer = (await events(ws, 1))[0]
        assert answer["status"] == 400 and answer["error"]["code"] == -1022 and answer["id"] == "a"
        await ws.send_json({"id": 2, "method": "session.subscriptions"})
        assert (await events(ws, 1))[0]["result"] == []
