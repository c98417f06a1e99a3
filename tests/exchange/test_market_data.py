"""The market data service against the real sandbox over loopback: books equal to the exchange's at every
update id, recovery after a gap, a websocket close and a server restart, REST fallback while websockets
fail, and staleness of a quiet stream.

Every book the service publishes is compared, at the moment it is published (a book listener), with the
sandbox's own top-N book at the same update id, recorded from the matching core's depth listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from hedgetui.domain.book import Level, OrderBook
from hedgetui.domain.health import FeedSource
from hedgetui.domain.venue import MarketKind, VenueMode
from hedgetui.exchange.market_data import MarketDataService, MarketDataSettings
from hedgetui.exchange.settings import VenueSettings
from hedgetui.exchange.venue import BinanceVenue
from hedgetui.sandbox.model import DepthDiff, Market
from hedgetui.sandbox.options import SandboxOptions
from hedgetui.sandbox.server import SandboxServer

DEPTH = 20
MARKETS = {MarketKind.SPOT: Market.SPOT, MarketKind.PERP: Market.FUTURES}
KINDS = (MarketKind.SPOT, MarketKind.PERP)


def venue_settings(server: SandboxServer, url: str | None = None) -> VenueSettings:
    return VenueSettings(
        mode=VenueMode.SANDBOX,
        sandbox_url=url or server.base_url,
        api_key=SecretStr(server.api_key),
        api_secret=SecretStr(server.api_secret),
        timeout_ms=3000,
    )


class Truth:
    """The sandbox's top-N book at every update id, and a judge of every book the service publishes."""

    def __init__(self) -> None:
        self.books: dict[tuple[Market, int], tuple[tuple[Level, ...], tuple[Level, ...]]] = {}
        self.compared = {kind: 0 for kind in KINDS}
        self.by_source: dict[FeedSource, int] = {}
        self.unknown = 0  # books at an update id not recorded (a snapshot taken before recording began)
        self.divergent: list[str] = []
        self._server: SandboxServer | None = None

    def attach(self, server: SandboxServer) -> None:
        """Record ``server``'s books from now on (a restarted sandbox starts a fresh record)."""
        self.books.clear()
        self._server = server
        server.core.add_depth_listener(self._on_diff)

    def _on_diff(self, diff: DepthDiff) -> None:
        assert self._server is not None
        uid, bids, asks = self._server.core.depth(diff.market, diff.symbol, DEPTH)
        self.books[(diff.market, uid)] = (tuple(bids), tuple(asks))

    def on_book(self, book: OrderBook, source: FeedSource) -> None:
        uid = book.update_id if book.update_id is not None else -1
        expected = self.books.get((MARKETS[book.market], uid))
        if expected is None:
            self.unknown += 1
            return
        if (book.bids, book.asks) != expected:
            self.divergent.append(f"{book.market.value} {source.value} book diverged at update {uid}")
        self.compared[book.market] += 1
        self.by_source[source] = self.by_source.get(source, 0) + 1

    def snapshot(self) -> dict[MarketKind, int]:
        return dict(self.compared)


async def fault(server: SandboxServer, rule: dict[str, Any]) -> None:
    """Arm a fault through the sandbox's control API, as an operator or a script would."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(server.base_url + "/sandbox/faults", json=rule) as answer,
    ):
        assert answer.status == 200, await answer.text()


async def eventually(condition: Callable[[], bool], within_s: float, step_s: float = 0.02) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(step_s)
    return condition()


async def more_books(truth: Truth, at_least: int, within_s: float) -> bool:
    start = truth.snapshot()
    return await eventually(lambda: all(truth.compared[k] - start[k] >= at_least for k in KINDS), within_s)


@contextlib.asynccontextmanager
async def running(
    server: SandboxServer, settings: MarketDataSettings, *, url: str | None = None, **kwargs: Any
) -> AsyncIterator[tuple[MarketDataService, Truth, list[tuple[str, dict[str, Any]]]]]:
    """A connected venue and a started service whose books are judged by a fresh :class:`Truth`."""
    truth = Truth()
    truth.attach(server)
    events: list[tuple[str, dict[str, Any]]] = []
    venue = await BinanceVenue.connect(venue_settings(server, url))
    service = MarketDataService(venue, settings, **kwargs)
    service.on_event = lambda kind, message, data: events.append((kind, data))
    service.add_book_listener(truth.on_book)
    service.start()
    try:
        yield service, truth, events
    finally:
        await service.stop()
        await venue.close()


@pytest.fixture
async def fast_sandbox() -> AsyncIterator[SandboxServer]:
    server = SandboxServer(SandboxOptions(port=0, tick_ms=10))
    await server.start()
    yield server
    await server.stop()


async def test_books_equal_the_sandbox_and_the_account_is_polled(fast_sandbox: SandboxServer) -> None:
    settings = MarketDataSettings(depth=DEPTH, account_poll_s=0.5, funding_poll_s=0.5)
    async with running(fast_sandbox, settings) as (service, truth, events):
        assert await more_books(truth, 100, within_s=10)
        assert truth.divergent == []
        assert await service.wait_for_update("health", service.health.version, 2)
        health = service.health.latest()
        assert health is not None
        for kind in KINDS:
            feed = health.value.market(kind)
            assert feed.source is FeedSource.WS and not feed.stale
            assert feed.age_s is not None and feed.age_s < 0.5
            book = service.book_slot(kind).latest()
            assert book is not None and len(book.value.bids) == DEPTH and len(book.value.asks) == DEPTH
            assert book.value.exchange_ts is not None and book.value.update_id is not None
        for item in ("funding", "spot_balances", "futures_balance", "perp_position"):
            # The first calls may queue behind ccxt's first position request; then each keeps its pace.
            assert await eventually(lambda item=item: not service.is_stale(item), within_s=5), item
        funding = service.funding.latest()
        assert funding is not None and funding.value.mark_price > 0
        balances = service.spot_balances.latest()
        assert balances is not None and balances.value["USDT"].total > 0
        position = service.perp_position.latest()
        assert position is not None and position.value.amount == 0
        assert [kind for kind, _ in events] == []  # nothing went wrong, nothing was announced


@pytest.mark.slow
async def test_sixty_seconds_at_the_fastest_tick_with_zero_divergence() -> None:
    """Acceptance: both books in sync for 60 s at the sandbox's fastest practical tick, with their age."""
    server = SandboxServer(SandboxOptions(port=0, tick_ms=5))
    await server.start()
    max_age = {kind: 0.0 for kind in KINDS}
    try:
        async with running(server, MarketDataSettings(depth=DEPTH)) as (service, truth, events):
            assert await more_books(truth, 1, within_s=5)  # both streams are up

            async def watch_ages() -> None:
                while True:
                    await asyncio.sleep(0.02)
                    for kind in KINDS:
                        max_age[kind] = max(max_age[kind], service.book_age(kind) or 0.0)

            ager = asyncio.create_task(watch_ages())
            start = truth.snapshot()
            try:
                await asyncio.sleep(60)
            finally:
                ager.cancel()
            compared = {kind: truth.compared[kind] - start[kind] for kind in KINDS}
            health = service.snapshot_health()
            stale_events = [e for e in events if e[0] == "BOOK_STALE"]
    finally:
        await server.stop()
    spot, perp = compared[MarketKind.SPOT], compared[MarketKind.PERP]
    print(
        f"\n60 s at tick_ms=5: books compared spot {spot} perp {perp},"
        f" {len(truth.divergent)} divergent; max book age spot {max_age[MarketKind.SPOT] * 1000:.0f} ms,"
        f" perp {max_age[MarketKind.PERP] * 1000:.0f} ms; resyncs {health.spot.resyncs}/{health.perp.resyncs}"
    )
    assert truth.divergent == []
    assert compared[MarketKind.SPOT] > 2000 and compared[MarketKind.PERP] > 2000
    assert health.spot.source is FeedSource.WS and health.perp.source is FeedSource.WS
    assert health.spot.resyncs == 0 and health.perp.resyncs == 0 and stale_events == []
    assert max(max_age.values()) < 0.5


@pytest.mark.parametrize("market", ["spot", "futures"])
async def test_recovers_after_an_injected_gap(fast_sandbox: SandboxServer, market: str) -> None:
    kind = MarketKind.SPOT if market == "spot" else MarketKind.PERP
    async with running(fast_sandbox, MarketDataSettings(depth=DEPTH)) as (service, truth, events):
        assert await more_books(truth, 20, within_s=5)
        stale_when_announced: list[bool] = []

        def on_event(k: str, message: str, data: dict[str, Any]) -> None:
            events.append((k, data))
            if k == "BOOK_STALE":
                stale_when_announced.append(service.is_stale(f"{kind.value}_book"))

        service.on_event = on_event
        await fault(fast_sandbox, {"match": "WS *", "action": "ws_drop_diff", "market": market})
        assert await eventually(lambda: service.feed_health(kind).resyncs >= 1, within_s=5)
        assert await more_books(truth, 30, within_s=5)
        assert truth.divergent == []
        stale = [d for k, d in events if k == "BOOK_STALE"]
        assert stale and stale[0] == {"market": kind.value, "cause": "ChecksumError"}
        assert stale_when_announced[0] is True
        assert any(k == "BOOK_RESYNC" and d["market"] == kind.value for k, d in events)
        health = service.feed_health(kind)
        assert health.source is FeedSource.WS and not health.stale and "gap" in (health.last_error or "")
        other = MarketKind.PERP if kind is MarketKind.SPOT else MarketKind.SPOT
        assert service.feed_health(other).resyncs == 0


async def test_reconnects_after_the_server_closes_its_websockets(fast_sandbox: SandboxServer) -> None:
    settings = MarketDataSettings(depth=DEPTH, backoff_max_s=0.5)
    async with running(fast_sandbox, settings) as (service, truth, events):
        assert await more_books(truth, 20, within_s=5)
        await fault(fast_sandbox, {"match": "WS *", "action": "ws_close"})

        def announced(kind: str) -> set[str]:
            return {d["market"] for k, d in events if k == kind}

        assert await eventually(lambda: announced("BOOK_STALE") == {"spot", "perp"}, within_s=5)
        assert await eventually(lambda: announced("BOOK_RESYNC") == {"spot", "perp"}, within_s=10)
        assert await more_books(truth, 30, within_s=5)
        assert truth.divergent == []
        for kind in KINDS:
            health = service.feed_health(kind)
            assert health.source is FeedSource.WS and not health.stale and health.last_error


async def test_recovers_after_the_server_restarts() -> None:
    first = SandboxServer(SandboxOptions(port=0, tick_ms=20))
    await first.start()
    port = first.port
    settings = MarketDataSettings(depth=DEPTH, stale_after_s=0.5, rest_poll_s=0.1, backoff_max_s=0.5)
    second: SandboxServer | None = None
    try:
        async with running(first, settings) as (service, truth, events):
            assert await more_books(truth, 10, within_s=5)
            await first.stop()
            # Down: both books stale at once (no waiting for the age), REST polling tried, nothing works.
            assert await eventually(lambda: all(service.fallback_active(k) for k in KINDS), within_s=5)
            for kind in KINDS:
                health = service.feed_health(kind)
                assert health.stale and health.source is FeedSource.DOWN and health.last_error
            assert {d["market"] for k, d in events if k == "BOOK_STALE"} == {"spot", "perp"}
            await asyncio.sleep(0.3)
            snapshot = service.snapshot_health()
            assert snapshot.spot.stale and snapshot.perp.stale

            second = SandboxServer(SandboxOptions(port=port, tick_ms=20))
            await second.start()
            truth.attach(second)
            assert await eventually(
                lambda: all(service.feed_health(k).source is FeedSource.WS for k in KINDS), within_s=10
            )
            assert await more_books(truth, 20, within_s=5)
            assert truth.divergent == []
            assert not any(service.fallback_active(k) for k in KINDS)
            assert not service.is_stale("spot_book") and not service.is_stale("perp_book")
            assert {d["market"] for k, d in events if k == "BOOK_RESYNC"} == {"spot", "perp"}
    finally:
        if second is not None:
            await second.stop()


class WsGate:
    """A loopback TCP relay in front of the sandbox that can refuse websocket upgrades.

    While ``blocked``, a connection that carries a websocket request line (``GET /stream/ws/0``,
    ``GET /fstream/public/ws/1``) is cut at once, whether it is new or a pooled keep-alive connection that
    served REST before; REST requests pass.
    """

    _WS_REQUEST = re.compile(rb"GET \S*/ws(/\S*)? HTTP/1\.1")

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.blocked = False
        self.refused = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._open):
            writer.close()
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return
        self._open.add(up_writer)
        await asyncio.gather(self._pipe(reader, up_writer, inspect=True), self._pipe(up_reader, writer))
        for w in (writer, up_writer):
            w.close()
            self._open.discard(w)

    async def _pipe(
        self,
        src: asyncio.StreamReader,
        dst: asyncio.StreamWriter,
        *,
        inspect: bool = False,
    ) -> None:
        try:
            while data := await src.read(65536):
                if inspect and self.blocked and self._WS_REQUEST.search(data):
                    self.refused += 1
                    break
                dst.write(data)
                await dst.drain()
        except OSError:
            pass
        finally:
            dst.close()


async def test_rest_fallback_while_websockets_fail_then_websockets_again(fast_sandbox: SandboxServer) -> None:
    gate = WsGate(fast_sandbox.port)
    await gate.start()
    gate.blocked = True
    settings = MarketDataSettings(depth=DEPTH, rest_poll_s=0.1, backoff_min_s=0.1, backoff_max_s=0.4)
    try:
        async with running(fast_sandbox, settings, url=gate.url) as (service, truth, events):
            assert await eventually(lambda: all(service.book_slot(k).version > 3 for k in KINDS), within_s=10)
            for kind in KINDS:
                health = service.feed_health(kind)
                assert health.source is FeedSource.REST and not health.stale and health.last_error
                assert service.fallback_active(kind)
            # The websocket kept being retried in the background while REST served the books.
            refused = gate.refused
            assert refused >= 4
            assert await eventually(lambda: gate.refused > refused, within_s=2)
            assert truth.by_source.get(FeedSource.REST, 0) > 0 and FeedSource.WS not in truth.by_source
            assert truth.divergent == []

            gate.blocked = False
            assert await eventually(
                lambda: all(service.feed_health(k).source is FeedSource.WS for k in KINDS), within_s=5
            )
            rest_books = truth.by_source[FeedSource.REST]
            assert await more_books(truth, 30, within_s=5)
            assert truth.by_source[FeedSource.REST] == rest_books  # REST polling stopped
            assert not any(service.fallback_active(k) for k in KINDS)
            assert truth.divergent == []
            sources = [(d["market"], d["source"]) for k, d in events if k == "BOOK_SOURCE"]
            assert ("spot", "rest") in sources and ("spot", "ws") in sources
    finally:
        await gate.stop()


class FrozenClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def test_a_quiet_stream_goes_stale_by_age() -> None:
    """The sandbox stops moving (one tick in ten minutes): nothing fails, the books only age."""
    server = SandboxServer(SandboxOptions(port=0, tick_ms=600_000))
    await server.start()
    clock = FrozenClock()
    settings = MarketDataSettings(
        depth=DEPTH, stale_after_s=2.0, funding_poll_s=60, account_poll_s=60, health_interval_s=0.05
    )
    try:
        async with running(server, settings, clock=clock) as (service, truth, events):
            waits: list[Awaitable[bool]] = [service.wait_for_update(f"{k.value}_book", 0, 5) for k in KINDS]
            assert all(await asyncio.gather(*waits))
            assert await service.wait_for_update("funding", 0, 5)
            assert not service.is_stale("spot_book") and not service.is_stale("perp_book")
            clock.t += 1.9
            assert not service.is_stale("perp_book")
            assert service.book_age(MarketKind.PERP) == pytest.approx(1.9)
            clock.t += 0.2
            assert service.is_stale("spot_book") and service.is_stale("perp_book")
            assert not service.is_stale("funding")  # its own limit: three polls, 180 s
            health = service.feed_health(MarketKind.SPOT)
            assert health.stale and health.source is FeedSource.WS and health.last_error is None
            assert await eventually(lambda: len([e for e in events if e[0] == "BOOK_STALE"]) == 2, within_s=2)
            assert {d["cause"] for k, d in events if k == "BOOK_STALE"} == {"age"}
            clock.t += 180
            assert service.is_stale("funding") and service.is_stale("perp_position")
            assert truth.divergent == []
    finally:
        await server.stop()


def test_the_truth_recorder_catches_a_divergent_book() -> None:
    """The judge itself can fail: a book that differs from the recorded one is reported."""
    truth = Truth()
    level = ((Decimal("100"), Decimal("1")),)
    truth.books[(Market.SPOT, 7)] = (level, level)
    good = OrderBook(symbol="BTC/USDT", market=MarketKind.SPOT, bids=level, asks=level, update_id=7)
    bad = good.model_copy(update={"asks": ((Decimal("100.1"), Decimal("1")),)})
    truth.on_book(good, FeedSource.WS)
    assert truth.divergent == [] and truth.compared[MarketKind.SPOT] == 1
    truth.on_book(bad, FeedSource.WS)
    assert truth.divergent == ["spot ws book diverged at update 7"]
    truth.on_book(good.model_copy(update={"update_id": 8}), FeedSource.REST)
    assert truth.unknown == 1
