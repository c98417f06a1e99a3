"""Depth streams below ccxt: event shapes, subscriptions, and a slow client closed rather than skipped."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from hedgetui.sandbox.core import CoreConfig, ExchangeCore
from hedgetui.sandbox.model import Market
from hedgetui.sandbox.server import SandboxServer
from hedgetui.sandbox.streams import Connection, StreamHub, stream_key


class StuckSocket:
    """A client that never reads: every send blocks, as when its TCP window is full."""

    def __init__(self) -> None:
        self.closed = False
        self.sent: list[str] = []
        self.close_code: int | None = None

    async def send_str(self, data: str, compress: int | None = None) -> None:
        self.sent.append(data)
        await asyncio.Event().wait()

    async def close(self, *, code: int = 1000, message: bytes = b"", drain: bool = True) -> bool:
        self.close_code = code
        await asyncio.Event().wait()  # the close frame cannot get through either
        return True


class Transport:
    def __init__(self) -> None:
        self.aborted = False

    def abort(self) -> None:
        self.aborted = True


async def test_a_slow_client_is_disconnected_not_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hedgetui.sandbox.streams.CLOSE_TIMEOUT_S", 0.05)
    core = ExchangeCore(CoreConfig(), clock=lambda: 1_700_000_000_000)
    streams = StreamHub(core, queue_limit=5)
    sock, transport = StuckSocket(), Transport()
    conn = Connection(sock, Market.SPOT, transport, queue_limit=5)
    conn.streams["btcusdt@depth"] = "btcusdt@depth"
    streams.connections.add(conn)
    conn.writer = asyncio.create_task(streams._writer(conn))
    spot_diffs: list[int] = []
    core.add_depth_listener(lambda d: spot_diffs.append(d.last_id) if d.market is Market.SPOT else None)
    while not conn.overflowed and len(spot_diffs) < 50:
        core.tick()
        await asyncio.sleep(0)  # the writer takes the first event and blocks on sending it
    # One event in the stuck send plus a full queue were accepted; the next one overflowed.
    assert conn.overflowed and len(spot_diffs) == 1 + 5 + 1
    assert len(sock.sent) == 1 and conn.queue.empty()
    await streams.wait_kicks()
    # A polite close is tried first; it cannot get through, so the TCP connection is aborted.
    assert sock.close_code == aiohttp.WSCloseCode.TRY_AGAIN_LATER and transport.aborted
    assert conn.writer.cancelled()
    sent_before = len(sock.sent)
    core.tick()
    assert len(sock.sent) == sent_before and conn.queue.empty()  # nothing more is queued for it
    streams.stop()


def test_stream_names() -> None:
    known = {"BTCUSDT": None}
    assert stream_key("btcusdt@depth@100ms", known) == "btcusdt@depth"
    assert stream_key("BTCUSDT@depth", known) == "btcusdt@depth"
    for bad in ("btcusdt@depth20", "btcusdt@trade", "ethusdt@depth", "btcusdt@depth@7ms", "btcusdt"):
        assert stream_key(bad, known) is None


async def frames(ws: aiohttp.ClientWebSocketResponse, until: Any, limit: int = 500) -> list[dict[str, Any]]:
    seen = []
    for _ in range(limit):
        msg = json.loads((await asyncio.wait_for(ws.receive(), 5)).data)
        seen.append(msg)
        if until(msg):
            return seen
    raise AssertionError(f"not seen in {limit} frames")


async def test_futures_events_subscriptions_and_errors(sandbox: SandboxServer) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(sandbox.ws_url + "/fstream/public/ws/1") as ws:
        await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@depth@100ms"], "id": 7})
        await frames(ws, lambda m: m.get("id") == 7)
        events = [m for m in await frames(ws, lambda m: m.get("e") == "depthUpdate")]
        event = events[-1]
        assert list(event) == ["e", "E", "T", "s", "U", "u", "pu", "b", "a"]
        nxt = (await frames(ws, lambda m: m.get("e") == "depthUpdate"))[-1]
        assert nxt["U"] == event["u"] + 1 and nxt["pu"] == event["u"]  # consecutive, no gap
        # depth20 is a partial-book stream now (marketstreams); depth7 exists on no Binance market
        await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@depth7"], "id": 8})
        error = (await frames(ws, lambda m: m.get("id") == 8))[-1]
        assert error["error"]["code"] == 2
        await ws.send_json({"method": "UNSUBSCRIBE", "params": ["btcusdt@depth@100ms"], "id": 9})
        await frames(ws, lambda m: m.get("id") == 9)
        await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 10})
        assert (await frames(ws, lambda m: m.get("id") == 10))[-1] == {"result": [], "id": 10}
        await asyncio.sleep(0.1)  # ticks happen; nothing arrives any more
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ws.receive(), 0.1)


async def test_only_known_stream_routes(sandbox: SandboxServer) -> None:
    async with aiohttp.ClientSession() as s:
        for path in ("/stream/ws/0", "/ws", "/fstream/ws", "/fstream/market/ws/3"):
            async with s.ws_connect(sandbox.ws_url + path) as ws:
                await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 1})
                assert (await ws.receive_json(timeout=5)) == {"result": [], "id": 1}
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await s.ws_connect(sandbox.ws_url + "/fstream/private/ws/1")
