"""ccxt.pro's watch_order_book stays equal to the sandbox's book, and resyncs after gaps and closes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from hedgetui.sandbox.model import DepthDiff, Market
from hedgetui.sandbox.options import SandboxOptions
from hedgetui.sandbox.server import SandboxServer
from tests.sandbox.conftest import Factory, fault

SYMBOLS = {Market.SPOT: "BTC/USDT", Market.FUTURES: "BTC/USDT:USDT"}
Book = tuple[tuple[tuple[Decimal, Decimal], ...], tuple[tuple[Decimal, Decimal], ...]]


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    """A fast market (a tick every 5 ms), so hundreds of updates stream in about a second."""
    async with SandboxServer(SandboxOptions(port=0, tick_ms=5)) as server:
        yield server


class Recorder:
    """The server's full book at every update id, recorded by the core's own depth listener."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self.core = sandbox.core
        self.books: dict[tuple[Market, int], Book] = {}
        self.core.add_depth_listener(self.on_diff)

    def on_diff(self, diff: DepthDiff) -> None:
        uid, bids, asks = self.core.depth(diff.market, diff.symbol, 1000)
        self.books[(diff.market, uid)] = (tuple(bids), tuple(asks))


def as_book(raw: dict[str, Any]) -> Book:
    def conv(rows: list[list[float]]) -> tuple[tuple[Decimal, Decimal], ...]:
        return tuple((Decimal(str(p)), Decimal(str(q))) for p, q, *_ in rows)

    return conv(raw["bids"]), conv(raw["asks"])


async def watch_and_compare(ex: Any, rec: Recorder, market: Market, updates: int) -> int:
    compared = 0
    for _ in range(updates):
        raw = await ex.watch_order_book(SYMBOLS[market])
        expected = rec.books.get((market, raw["nonce"]))
        if expected is None:
            continue  # the snapshot itself (taken between diffs)
        assert as_book(raw) == expected, f"{market.value} diverged at update {raw['nonce']}"
        compared += 1
    return compared


@pytest.mark.parametrize("market", [Market.SPOT, Market.FUTURES])
async def test_watched_book_equals_the_server_book(client: Factory, sandbox: SandboxServer, market: Market) -> None:
    rec = Recorder(sandbox)
    ex = await client()
    compared = await watch_and_compare(ex, rec, market, 300)
    assert compared >= 250


async def test_both_books_streamed_concurrently_with_trades_in_between(client: Factory, sandbox: SandboxServer) -> None:
    import asyncio

    rec = Recorder(sandbox)
    ex = await client()
    trader = await client()

    async def trade() -> None:
        for i in range(10):
            await trader.create_order("BTC/USDT", "market", "buy", 0.05, None, {"clientOrderId": f"w{i}"})
            await trader.create_order("BTC/USDT:USDT", "market", "sell", 0.05, None, {"clientOrderId": f"x{i}"})
            await asyncio.sleep(0.02)

    results = await asyncio.gather(
        watch_and_compare(ex, rec, Market.SPOT, 300), watch_and_compare(ex, rec, Market.FUTURES, 300), trade()
    )
    assert results[0] >= 250 and results[1] >= 250


@pytest.mark.parametrize("market", [Market.SPOT, Market.FUTURES])
async def test_dropped_diff_raises_checksum_then_resyncs(
    client: Factory, sandbox: SandboxServer, market: Market
) -> None:
    rec = Recorder(sandbox)
    ex = await client()
    await watch_and_compare(ex, rec, market, 20)
    await fault(sandbox, "WS *", "ws_drop_diff", market=market.value)
    with pytest.raises(ccxt.ChecksumError):
        for _ in range(50):
            await ex.watch_order_book(SYMBOLS[market])
    # Watching again re-subscribes and re-snapshots: equal again.
    assert await watch_and_compare(ex, rec, market, 40) >= 30


async def test_closed_connections_resubscribe(client: Factory, sandbox: SandboxServer) -> None:
    rec = Recorder(sandbox)
    ex = await client()
    await watch_and_compare(ex, rec, Market.FUTURES, 10)
    await fault(sandbox, "WS *", "ws_close")
    failures = 0
    compared = 0
    for _ in range(80):
        try:
            raw = await ex.watch_order_book(SYMBOLS[Market.FUTURES])
        except ccxt.NetworkError:
            failures += 1
            continue
        expected = rec.books.get((Market.FUTURES, raw["nonce"]))
        if expected is not None:
            assert as_book(raw) == expected
            compared += 1
    assert compared >= 50


async def test_subscription_ack_and_list(sandbox: SandboxServer) -> None:
    import json

    import aiohttp

    async with aiohttp.ClientSession() as s, s.ws_connect(sandbox.ws_url + "/stream/ws/0") as ws:
        await ws.send_str(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@depth@100ms"], "id": 1}))
        ack = None
        while ack is None:
            msg = json.loads((await ws.receive()).data)
            if msg.get("id") == 1:
                ack = msg
        assert ack == {"result": None, "id": 1}
        await ws.send_str(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@depth@100ms"], "id": 2}))
        await ws.send_str(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 3}))
        listed = None
        while listed is None:
            msg = json.loads((await ws.receive()).data)
            if msg.get("id") == 3:
                listed = msg
            elif msg.get("e") == "depthUpdate":
                assert set(msg) == {"e", "E", "s", "U", "u", "b", "a"}
        assert listed["result"] == ["btcusdt@depth@100ms"]  # a re-SUBSCRIBE never doubles the stream
