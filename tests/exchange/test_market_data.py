"""The market data service: books in sync with the sandbox, recovery after gaps and restarts, staleness,
REST fallback and non-overlapping polls."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from hedgetui.domain.book import OrderBook
from hedgetui.domain.health import FeedSource
from hedgetui.domain.venue import MarketKind
from hedgetui.exchange.market_data import MarketDataService, MarketDataSettings
from hedgetui.exchange.venue import BinanceVenue
from hedgetui.sandbox.model import DepthDiff, Market
from hedgetui.sandbox.options import SandboxOptions
from hedgetui.sandbox.server import SandboxServer
from tests.exchange.conftest import KEY, SECRET, settings_for

DEPTH = 20
KINDS = {MarketKind.SPOT: Market.SPOT, MarketKind.PERP: Market.FUTURES}


class Truth:
    """The sandbox's top-N book at every update id, recorded from the core's own depth listener."""

    def __init__(self, server: SandboxServer) -> None:
        self.core = server.core
        self.books: dict[tuple[Market, int], tuple[Any, Any]] = {}
        self.core.add_depth_listener(self.on_diff)

    def on_diff(self, diff: DepthDiff) -> None:
        uid, bids, asks = self.core.depth(diff.market, diff.symbol, DEPTH)
        self.books[(diff.market, uid)] = (tuple(bids), tuple(asks))

    def check(self, kind: MarketKind, book: OrderBook) -> bool | None:
        """True if equal, None if that update id was not recorded (a snapshot between diffs)."""
        expected = self.books.get((KINDS[kind], book.update_id or -1))
        if expected is None:
            return None
        assert (book.bids, book.asks) == expected, f"{kind.value} diverged at {book.update_id}"
        return True


async def follow(service: MarketDataService, truth: Truth, seconds: float) -> dict[MarketKind, int]:
    """Compare every book the service publishes for ``seconds``; return how many were compared."""
    compared = {MarketKind.SPOT: 0, MarketKind.PERP: 0}
    seen = {k: 0 for k in compared}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for kind in compared:
            slot = service.book_slot(kind)
            latest = slot.latest()
            if latest is not None and latest.version != seen[kind]:
                seen[kind] = latest.version
                if truth.check(kind, latest.value):
                    compared[kind] += 1
        await asyncio.sleep(0.001)
    return compared


async def rule(server: SandboxServer, match: str, action: str, **params: Any) -> None:
    async with (
        aiohttp.ClientSession() as s,
        s.post(server.base_url + "/sandbox/faults", json={"match": match, "action": action, **params}) as r,
    ):
        assert r.status == 200


@pytest.fixture
async def fast_sandbox() -> Any:
    server = SandboxServer(SandboxOptions(port=0, tick_ms=10, api_key=KEY, api_secret=SECRET))
    await server.start()
    yield server
    await server.stop()


async def test_books_equal_the_sandbox_and_report_their_age(fast_sandbox: SandboxServer) -> None:
    truth = Truth(fast_sandbox)
    venue = await BinanceVenue.connect(settings_for(fast_sandbox))
    service = MarketDataService(venue, MarketDataSettings(depth=DEPTH))
    service.start()
    try:
        compared = await follow(service, truth, 4)
        assert compared[MarketKind.SPOT] > 100 and compared[MarketKind.PERP] > 100
        health = service.feed_health(MarketKind.SPOT, time.monotonic())
        assert health.source is FeedSource.WS and not health.stale and health.age_s is not None
        assert health.age_s < 1.0
        assert service.funding.latest() is not None and service.perp_position.latest() is not None
    finally:
        await service.stop()
        await venue.close()


@pytest.mark.slow
async def test_sixty_seconds_at_the_fastest_tick_with_zero_divergence(fast_sandbox: SandboxServer) -> None:
    """Acceptance: both books in sync for 60 s at the sandbox's fastest practical tick (10 ms)."""
    truth = Truth(fast_sandbox)
    venue = await BinanceVenue.connect(settings_for(fast_sandbox))
    service = MarketDataService(venue, MarketDataSettings(depth=DEPTH))
    service.start()
    max_age = 0.0

    async def watch_age() -> None:
        nonlocal max_age
        while True:
            await asyncio.sleep(0.05)
            for kind in (MarketKind.SPOT, MarketKind.PERP):
                age = service.book_age(kind)
                if age is not None:
                    max_age = max(max_age, age)

    ager = asyncio.create_task(watch_age())
    try:
        await asyncio.sleep(1)  # first snapshots
        compared = await follow(service, truth, 60)
    finally:
        ager.cancel()
        await service.stop()
        await venue.close()
    print(
        f"\n60 s sync: spot {compared[MarketKind.SPOT]} books compared, perp {compared[MarketKind.PERP]},"
        f" 0 divergent, max book age {max_age * 1000:.0f} ms"
    )
    assert compared[MarketKind.SPOT] > 1000 and compared[MarketKind.PERP] > 1000
    assert max_age < 1.0


async def test_recovers_after_a_gap(fast_sandbox: SandboxServer) -> None:
    truth = Truth(fast_sandbox)
    venue = await BinanceVenue.connect(settings_for(fast_sandbox))
    service = MarketDataService(venue, MarketDataSettings(depth=DEPTH))
    service.start()
    try:
        await follow(service, truth, 1)
        await rule(fast_sandbox, "WS *", "ws_drop_diff", market="futures")
        await asyncio.sleep(1)
        assert service.feed_health(MarketKind.PERP, time.monotonic()).resyncs >= 1
        compared = await follow(service, truth, 2)
        assert compared[MarketKind.PERP] > 30
    finally:
        await service.stop()
        await venue.close()


async def test_recovers_after_the_server_restarts() -> None:
    first = SandboxServer(SandboxOptions(port=0, tick_ms=20, api_key=KEY, api_secret=SECRET))
    await first.start()
    port = first.port
    venue = await BinanceVenue.connect(settings_for(first))
    settings = MarketDataSettings(depth=DEPTH, stale_after_s=0.5, rest_poll_s=0.2, backoff_max_s=0.5)
    service = MarketDataService(venue, settings)
    service.start()
    second = None
    try:
        await asyncio.sleep(1)
        assert service.feed_health(MarketKind.SPOT, time.monotonic()).source is FeedSource.WS
        await first.stop()
        await asyncio.sleep(1.5)
        down = service.feed_health(MarketKind.SPOT, time.monotonic())
        assert down.stale and down.source is not FeedSource.WS
        second = SandboxServer(SandboxOptions(port=port, tick_ms=20, api_key=KEY, api_secret=SECRET))
        await second.start()
        truth = Truth(second)
        for _ in range(100):
            await asyncio.sleep(0.1)
            if service.feed_health(MarketKind.SPOT, time.monotonic()).source is FeedSource.WS:
                break
        compared = await follow(service, truth, 2)
        assert compared[MarketKind.SPOT] > 20 and compared[MarketKind.PERP] > 20
        assert not service.feed_health(MarketKind.PERP, time.monotonic()).stale
    finally:
        await service.stop()
        await venue.close()
        if second is not None:
            await second.stop()


async def test_rest_fallback_when_websockets_fail(fast_sandbox: SandboxServer) -> None:
    venue = await BinanceVenue.connect(settings_for(fast_sandbox))
    venue.exchange.urls["api"]["ws"] = {
        "spot": "ws://127.0.0.1:9/stream/ws",
        "margin": "ws://127.0.0.1:9/stream/ws",
        "linear": "ws://127.0.0.1:9/fstream/ws",
    }
    service = MarketDataService(venue, MarketDataSettings(depth=DEPTH, rest_poll_s=0.1, backoff_max_s=0.3))
    service.start()
    try:
        ok = await service.wait_for_update(service.spot_book, 0, 5)
        assert ok
        await asyncio.sleep(0.5)
        health = service.feed_health(MarketKind.SPOT, time.monotonic())
        assert health.source is FeedSource.REST and not health.stale and health.last_error
    finally:
        await service.stop()
        await venue.close()


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


async def test_stale_detection_with_an_injected_clock(fast_sandbox: SandboxServer) -> None:
    clock = Clock()
    venue = await BinanceVenue.connect(settings_for(fast_sandbox))
    service = MarketDataService(venue, MarketDataSettings(depth=DEPTH, stale_after_s=2.0), clock=clock)
    assert service.is_stale("spot_book") and service.book_age(MarketKind.SPOT) is None
    service.start()
    try:
        assert await service.wait_for_update(service.spot_book, 0, 5)
        await service.stop()  # nothing new arrives from here on
        assert not service.is_stale("spot_book")
        clock.t += 1.9
        assert not service.is_stale("spot_book") and service.book_age(MarketKind.SPOT) == pytest.approx(1.9)
        clock.t += 0.2
        assert service.is_stale("spot_book") and service.feed_health(MarketKind.SPOT, clock.t).stale
    finally:
        await venue.close()


class SlowVenue:
    """A stand-in whose funding call takes longer than the poll interval (scheduling unit test only)."""

    def __init__(self) -> None:
        self.active = 0
        self.max_active = 0
        self.calls = 0

    async def fetch_funding(self) -> Decimal:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        self.calls += 1
        await asyncio.sleep(0.05)
        self.active -= 1
        return Decimal(self.calls)


async def test_polls_never_overlap() -> None:
    slow = SlowVenue()
    service = MarketDataService(slow, MarketDataSettings())  # type: ignore[arg-type]
    task = asyncio.create_task(service._poll("funding", slow.fetch_funding, service.funding, 0.01))  # type: ignore[arg-type]
    await asyncio.sleep(0.5)
    task.cancel()
    assert slow.max_active == 1 and 5 <= slow.calls <= 11
    assert service.funding.version == slow.calls or service.funding.version == slow.calls - 1
