"""Websocket paths as Binance serves them: raw and combined streams, partial books, bookTicker, markPrice,
aggTrade, the subscription frames, and a slow consumer disconnected on a real socket."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
from typing import Any

import aiohttp
import pytest

from hedgetui.sandbox.server import SandboxServer
from tests.sandbox.conftest import Factory, control, public, signed

SPOT, PERP = "BTC/USDT", "BTC/USDT:USDT"


async def recv(ws: aiohttp.ClientWebSocketResponse) -> Any:
    msg = await asyncio.wait_for(ws.receive(), 5)
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


async def count_for(ws: aiohttp.ClientWebSocketResponse, seconds: float) -> list[Any]:
    seen: list[Any] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while (left := end - loop.time()) > 0:
        try:
            msg = await asyncio.wait_for(ws.receive(), left)
        except TimeoutError:
            break
        seen.append(json.loads(msg.data))
    return seen


async def test_ccxt_bids_asks_mark_price_and_agg_trades(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client()
    for symbol in (SPOT, PERP):
        tickers = await asyncio.wait_for(ex.watch_bids_asks([symbol]), 5)
        t = tickers[symbol]
        assert 0 < t["bid"] < t["ask"] and t["bidVolume"] > 0
    mark = await asyncio.wait_for(ex.watch_mark_price(PERP), 5)
    _, premium = await public(sandbox, "/fapi/v1/premiumIndex", symbol="BTCUSDT")
    assert abs(mark["markPrice"] - float(premium["markPrice"])) / mark["markPrice"] < 0.01
    # The funding rate wanders with the walk and the event may be up to a second older than the REST answer.
    assert abs(float(mark["info"]["r"]) - float(premium["lastFundingRate"])) < 2e-5
    assert mark["info"]["T"] == premium["nextFundingTime"]
    for symbol in (SPOT, PERP):
        watch = asyncio.ensure_future(ex.watch_trades(symbol, params={"name": "aggTrade"}))
        await asyncio.sleep(0.3)
        assert not watch.done()  # no trade yet: the synthetic book does not trade by itself
        order = await ex.create_order(symbol, "market", "buy", 0.01)
        trades = await asyncio.wait_for(watch, 5)
        mine = await ex.fetch_my_trades(symbol, params={"orderId": order["id"]})
        assert trades[0]["id"] == mine[0]["id"] and trades[0]["price"] == mine[0]["price"]
        assert trades[0]["side"] == "buy"  # a taker buy: the buyer is not the maker


async def test_raw_stream_named_in_the_url(sandbox: SandboxServer) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(sandbox.ws_url + "/ws/btcusdt@depth") as ws:
            assert (await recv(ws))["e"] == "depthUpdate"
        async with s.ws_connect(sandbox.ws_url + "/fstream/ws/btcusdt@bookTicker") as ws:
            event = await recv(ws)
            assert event["e"] == "bookTicker" and list(event) == ["e", "u", "E", "T", "s", "b", "B", "a", "A"]
        async with s.ws_connect(sandbox.ws_url + "/ws/btcusdt@nothing") as ws:
            msg = await asyncio.wait_for(ws.receive(), 5)
            assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == aiohttp.WSCloseCode.POLICY_VIOLATION


async def test_spot_partial_book_snapshots_at_their_speeds(sandbox: SandboxServer) -> None:
    async with aiohttp.ClientSession() as s:
        fast = await s.ws_connect(sandbox.ws_url + "/ws/btcusdt@depth5@100ms")
        slow = await s.ws_connect(sandbox.ws_url + "/ws/btcusdt@depth20")
        fast_seen, slow_seen = await asyncio.gather(count_for(fast, 1.25), count_for(slow, 1.25))
        # 100 ms against 1000 ms: about 12 against 1 or 2 (a loaded machine may push a little less often).
        assert len(fast_seen) <= 14 and 1 <= len(slow_seen) <= 2 and len(fast_seen) >= 3 * len(slow_seen)
        snap = fast_seen[-1]
        assert list(snap) == ["lastUpdateId", "bids", "asks"] and len(snap["bids"]) == len(snap["asks"]) == 5
        assert len(slow_seen[-1]["bids"]) == 20
        assert float(snap["bids"][0][0]) < float(snap["asks"][0][0])
        _, rest = await public(sandbox, "/api/v3/depth", symbol="BTCUSDT", limit=5)
        assert rest["lastUpdateId"] >= snap["lastUpdateId"]  # the same id space as REST and the diffs
        await fast.close()
        await slow.close()


async def test_combined_streams_wrap_every_event(sandbox: SandboxServer) -> None:
    names = "btcusdt@depth10@100ms/btcusdt@markPrice@1s/btcusdt@depth@100ms"
    async with aiohttp.ClientSession() as s, s.ws_connect(f"{sandbox.ws_url}/fstream/stream?streams={names}") as ws:
        seen = await count_for(ws, 1.2)
        assert all(list(m) == ["stream", "data"] for m in seen)
        by = {name: [m["data"] for m in seen if m["stream"] == name] for name in names.split("/")}
        assert all(by.values()), {k: len(v) for k, v in by.items()}
        partial = by["btcusdt@depth10@100ms"]
        assert all(len(p["b"]) == 10 and p["e"] == "depthUpdate" for p in partial)
        assert all(b["pu"] == a["u"] for a, b in itertools.pairwise(partial))  # futures continuity
        assert by["btcusdt@markPrice@1s"][0]["e"] == "markPriceUpdate"
    async with aiohttp.ClientSession() as s, s.ws_connect(f"{sandbox.ws_url}/stream?streams=btcusdt@aggTrade") as ws:
        await control(sandbox, "POST", "/sandbox/transfer", {"asset": "BTC", "delta": "1"})
        status, _ = await signed(
            sandbox,
            "POST",
            "/api/v3/order",
            {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.01"},
        )
        assert status == 200
        wrapped = await recv(ws)
        assert wrapped["stream"] == "btcusdt@aggTrade" and wrapped["data"]["m"] is True  # a taker sell


@pytest.mark.parametrize("path", ["/stream?streams=btcusdt@bookTicker", "/fstream/public/ws/3"])
async def test_subscription_frames_with_ids(sandbox: SandboxServer, path: str) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(sandbox.ws_url + path) as ws:
        await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@aggTrade", "btcusdt@depth5@100ms"], "id": 41})
        await ws.send_json({"method": "UNSUBSCRIBE", "params": ["btcusdt@depth5@100ms"], "id": 42})
        await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 43})
        answers: dict[int, Any] = {}
        while len(answers) < 3:
            msg = await recv(ws)
            if "id" in msg:
                answers[msg["id"]] = msg
        assert answers[41] == {"result": None, "id": 41} and answers[42] == {"result": None, "id": 42}
        expected = ["btcusdt@aggTrade"] + (["btcusdt@bookTicker"] if path.startswith("/stream") else [])
        assert sorted(answers[43]["result"]) == sorted(expected)
        await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@depth7"], "id": 44})
        while (msg := await recv(ws)).get("id") != 44:
            pass
        assert msg["error"]["code"] == 2


@pytest.mark.parametrize("run", range(20))
async def test_a_consumer_that_falls_behind_is_disconnected(sandbox: SandboxServer, run: int) -> None:
    """A real client that stops reading: the server closes (or aborts) it instead of dropping its events."""
    sandbox.streams.queue_limit = 50
    async with aiohttp.ClientSession() as s, s.ws_connect(sandbox.ws_url + "/ws/btcusdt@depth@100ms") as ws:
        conn = next(iter(sandbox.streams.connections))
        # Small socket buffers on both ends so a few hundred KB of backlog reaches the server's queue.
        conn.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)  # type: ignore[union-attr]
        client_transport = ws._response.connection.transport  # type: ignore[union-attr]
        client_transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client_transport.pause_reading()
        for i in range(400):
            if conn.overflowed:
                break
            # Every level of both books changes: one large diff per call.
            await control(sandbox, "POST", "/sandbox/market", {"depth_factor": 0.5 + (i % 2)})
        assert conn.overflowed, "the queue never filled"
        for _ in range(200):
            if conn not in sandbox.streams.connections:
                break
            await asyncio.sleep(0.01)
        assert conn not in sandbox.streams.connections  # the server is done with it
        # Back to a normal buffer: reading the backlog through a 4 KB window would take seconds.
        client_transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        client_transport.resume_reading()
        # Whatever was already in flight may still arrive; then the connection ends. It never stays open.
        for _ in range(10_000):
            msg = await asyncio.wait_for(ws.receive(), 5)
            if msg.type is not aiohttp.WSMsgType.TEXT:
                break
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
        assert ws.closed or msg.type is aiohttp.WSMsgType.CLOSE


async def test_diff_streams_at_their_speeds(sandbox: SandboxServer) -> None:
    """``@depth`` (spot 1000 ms) and ``@500ms`` (USDⓈ-M) merge each period's changes into one event whose
    ids continue the previous event's; ``@100ms`` gets every change (20 ms ticks here)."""
    async with aiohttp.ClientSession() as s:
        slow = await s.ws_connect(sandbox.ws_url + "/ws/btcusdt@depth")
        fast = await s.ws_connect(sandbox.ws_url + "/ws/btcusdt@depth@100ms")
        perp = await s.ws_connect(sandbox.ws_url + "/fstream/ws/btcusdt@depth@500ms")
        slow_seen, fast_seen, perp_seen = await asyncio.gather(
            count_for(slow, 2.2), count_for(fast, 2.2), count_for(perp, 2.2)
        )
        assert 2 <= len(slow_seen) <= 3 and 3 <= len(perp_seen) <= 5 and len(fast_seen) > 4 * len(slow_seen)
        assert all(b["U"] == a["u"] + 1 for a, b in itertools.pairwise(slow_seen))  # nothing lost in merging
        assert all(b["pu"] == a["u"] for a, b in itertools.pairwise(perp_seen))
        assert all(e["u"] - e["U"] >= 1 for e in slow_seen[1:])  # several changes in one event
        for ws in (slow, fast, perp):
            await ws.close()


async def test_a_merged_diff_stream_rebuilds_the_book(sandbox: SandboxServer) -> None:
    """Binance's local-book recipe over the 250 ms USDⓈ-M stream ends at the server's book, level for level."""
    books: dict[int, tuple[dict[str, str], dict[str, str]]] = {}

    def record(diff: Any) -> None:
        if diff.market.value == "futures":
            _, bids, asks = sandbox.core.depth(diff.market, diff.symbol, 1000)
            books[diff.last_id] = ({f"{p:.1f}": f"{q:.3f}" for p, q in bids}, {f"{p:.1f}": f"{q:.3f}" for p, q in asks})

    sandbox.core.add_depth_listener(record)
    async with aiohttp.ClientSession() as s, s.ws_connect(sandbox.ws_url + "/fstream/ws/btcusdt@depth") as ws:
        first = await recv(ws)
        _, snap = await public(sandbox, "/fapi/v1/depth", symbol="BTCUSDT", limit=1000)
        bids = {p: q for p, q in snap["bids"]}
        asks = {p: q for p, q in snap["asks"]}
        last = snap["lastUpdateId"]
        events = [first] + [await recv(ws) for _ in range(4)]
        applied = 0
        for e in events:
            if e["u"] < last:
                continue
            assert e["U"] <= last <= e["u"] or e["pu"] == last  # Binance's rule for the first and the next
            for side, rows in ((bids, e["b"]), (asks, e["a"])):
                for p, q in rows:
                    if float(q) == 0:
                        side.pop(p, None)
                    else:
                        side[p] = q
            last = e["u"]
            applied += 1
            assert (bids, asks) == books[e["u"]]
        assert applied >= 3


@pytest.mark.parametrize("symbol", [SPOT, PERP])
async def test_ccxt_watch_trades_on_the_trade_stream(client: Factory, sandbox: SandboxServer, symbol: str) -> None:
    """ccxt.pro's default watch_trades stream is ``<s>@trade``."""
    ex = await client()
    if symbol == SPOT:  # something to sell
        await control(sandbox, "POST", "/sandbox/transfer", {"asset": "BTC", "delta": "1"})
    watch = asyncio.ensure_future(ex.watch_trades(symbol))
    await asyncio.sleep(0.3)
    assert not watch.done()
    order = await ex.create_order(symbol, "market", "sell", 0.001 if symbol == SPOT else 0.01)
    trades = await asyncio.wait_for(watch, 5)
    mine = await ex.fetch_my_trades(symbol, params={"orderId": order["id"]})
    assert trades[0]["id"] == mine[0]["id"] and trades[0]["side"] == "sell" and trades[0]["info"]["e"] == "trade"
