"""The market data service's timing and state machine on virtual time: backoff, steady non-overlapping
polls, gap / failure / REST-fallback transitions, staleness and health. No network, no real sleeping.

The venue here is a tiny scripted stand-in for scheduling only; books are checked against the real
sandbox in ``test_market_data.py``.
"""

from __future__ import annotations

import asyncio
import heapq
import random
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hedgetui.domain.account import Balance, FundingInfo, FuturesBalance, PerpPosition
from hedgetui.domain.book import OrderBook
from hedgetui.domain.health import FeedSource
from hedgetui.domain.venue import MarketKind
from hedgetui.exchange.cadence import backoff_delay, run_steadily
from hedgetui.exchange.errors import Ambiguous, BookGap, Disconnected
from hedgetui.exchange.market_data import MarketDataService, MarketDataSettings


class VirtualTime:
    """A clock and a ``sleep`` on virtual time: ``advance`` wakes sleepers in time order, instantly."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, delay), self._seq, future))
        self._seq += 1
        await future

    @staticmethod
    async def settle() -> None:
        """Let every runnable task run until it blocks again."""
        for _ in range(30):
            await asyncio.sleep(0)

    async def advance(self, until: float) -> None:
        await self.settle()
        while self._sleepers and self._sleepers[0][0] <= until:
            when, _, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, when)
            if not future.done():
                future.set_result(None)
            await self.settle()
        self.now = until


async def forever() -> Any:
    await asyncio.Event().wait()


def book(kind: MarketKind, uid: int) -> OrderBook:
    return OrderBook(
        symbol="BTC/USDT",
        market=kind,
        bids=((Decimal("100") - uid, Decimal("1")),),
        asks=((Decimal("101") + uid, Decimal("1")),),
        update_id=uid,
    )


def funding_info() -> FundingInfo:
    return FundingInfo(
        symbol="BTC/USDT:USDT",
        rate=Decimal("0.0001"),
        mark_price=Decimal("60000"),
        index_price=Decimal("59990"),
        next_funding_ms=None,
        timestamp=None,
    )


class StubVenue:
    """Scheduling stand-in: scripted book streams, polls that take a chosen virtual time or fail."""

    def __init__(self, vt: VirtualTime, spot_script: list[Any] | None = None) -> None:
        self.vt = vt
        self.spot_script = list(spot_script or [])
        self.watch_times: list[float] = []
        self.rest_times: list[float] = []
        self.poll_starts: dict[str, list[float]] = {}
        self.poll_time = {"funding": 0.0, "spot_balances": 0.0, "futures_balance": 0.0, "perp_position": 0.0}
        self.poll_failures: dict[str, int] = {}
        self.block_polls = False
        self.active: dict[str, int] = {}
        self.max_active: dict[str, int] = {}
        self.unwatched: list[MarketKind] = []

    async def watch_order_book(self, kind: MarketKind, limit: int = 100) -> OrderBook:
        if kind is MarketKind.PERP:
            return await forever()  # type: ignore[no-any-return]
        self.watch_times.append(self.vt.now)
        while self.spot_script and isinstance(self.spot_script[0], float):
            await self.vt.sleep(self.spot_script.pop(0))  # connecting takes a while
        if not self.spot_script:
            return await forever()  # type: ignore[no-any-return]
        item = self.spot_script.pop(0)
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, OrderBook)
        return item

    async def unwatch_order_book(self, kind: MarketKind) -> None:
        self.unwatched.append(kind)

    async def fetch_order_book(self, kind: MarketKind, limit: int = 100) -> OrderBook:
        self.rest_times.append(self.vt.now)
        return book(kind, 1000 + len(self.rest_times))

    async def _poll(self, name: str, value: Any) -> Any:
        if self.block_polls:
            return await forever()
        self.poll_starts.setdefault(name, []).append(self.vt.now)
        self.active[name] = self.active.get(name, 0) + 1
        self.max_active[name] = max(self.max_active.get(name, 0), self.active[name])
        try:
            await self.vt.sleep(self.poll_time[name])
            if self.poll_failures.get(name, 0) > 0:
                self.poll_failures[name] -= 1
                raise Ambiguous("Timeout (sandbox held the request)", source="RequestTimeout")
            return value
        finally:
            self.active[name] -= 1

    async def fetch_funding(self) -> FundingInfo:
        return await self._poll("funding", funding_info())  # type: ignore[no-any-return]

    async def fetch_spot_balances(self) -> dict[str, Balance]:
        value = {"USDT": Balance(asset="USDT", free=Decimal(1), used=Decimal(0), total=Decimal(1))}
        return await self._poll("spot_balances", value)  # type: ignore[no-any-return]

    async def fetch_futures_balance(self) -> FuturesBalance:
        z = Decimal(0)
        value = FuturesBalance(
            asset="USDT",
            wallet=z,
            margin_balance=z,
            available=z,
            initial_margin=z,
            maint_margin=z,
            unrealized_pnl=z,
        )
        return await self._poll("futures_balance", value)  # type: ignore[no-any-return]

    async def fetch_perp_position(self) -> PerpPosition:
        value = PerpPosition(
            symbol="BTC/USDT:USDT",
            amount=Decimal(0),
            entry_price=None,
            mark_price=None,
            notional=Decimal(0),
            unrealized_pnl=Decimal(0),
            leverage=None,
            liquidation_price=None,
            margin_mode=None,
            timestamp=None,
        )
        return await self._poll("perp_position", value)  # type: ignore[no-any-return]


# ---- backoff and the steady schedule -----------------------------------------------------------------


@given(failures=st.integers(min_value=1, max_value=200), seed=st.integers(min_value=0, max_value=2**32))
def test_backoff_stays_within_its_bounds_and_grows(failures: int, seed: int) -> None:
    rng = random.Random(seed)
    delay = backoff_delay(failures, minimum=0.25, maximum=5.0, rng=rng, jitter=0.2)
    assert 0.25 <= delay <= 5.0
    base = min(5.0, 0.25 * 2 ** (failures - 1))
    assert base * 0.8 - 1e-9 <= delay <= base * 1.2 + 1e-9


def test_backoff_doubles_to_its_ceiling_with_seeded_jitter() -> None:
    rng = random.Random(1)
    no_jitter = [backoff_delay(n, minimum=0.25, maximum=5.0, rng=rng, jitter=0) for n in range(1, 8)]
    assert no_jitter == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    a = [backoff_delay(n, minimum=0.25, maximum=5.0, rng=random.Random(7)) for n in (2, 3, 4)]
    b = [backoff_delay(n, minimum=0.25, maximum=5.0, rng=random.Random(7)) for n in (2, 3, 4)]
    assert a == b  # the jitter comes from the injected RNG only
    assert backoff_delay(0, minimum=0.25, maximum=5.0, rng=random.Random(1)) == 0.0


async def test_run_steadily_keeps_its_grid_and_skips_slots_a_slow_call_covered() -> None:
    vt = VirtualTime()
    durations = [0.01, 0.35, 0.01, 0.0, 0.25]
    starts: list[float] = []
    running = 0

    async def step() -> None:
        nonlocal running
        running += 1
        assert running == 1  # never two at once
        starts.append(vt.now)
        await vt.sleep(durations[len(starts) - 1] if len(starts) <= len(durations) else 0.0)
        running -= 1

    task = asyncio.create_task(run_steadily(step, 0.1, clock=vt, sleep=vt.sleep))
    await vt.advance(1.05)
    task.cancel()
    # 0.0, 0.1 (runs to 0.45, so 0.2-0.4 are skipped), 0.5, 0.6, 0.7 (runs to 0.95), then 1.0.
    assert starts == pytest.approx([0.0, 0.1, 0.5, 0.6, 0.7, 1.0])


async def test_run_steadily_with_a_frozen_clock_waits_one_interval() -> None:
    waits: list[float] = []

    async def sleep(delay: float) -> None:
        waits.append(delay)
        if len(waits) == 4:
            raise asyncio.CancelledError

    async def step() -> None:
        return None

    with pytest.raises(asyncio.CancelledError):
        await run_steadily(step, 0.5, clock=lambda: 10.0, sleep=sleep)
    assert waits == [0.5, 0.5, 0.5, 0.5]


# ---- settings ----------------------------------------------------------------------------------------


def test_settings_defaults_and_per_item_stale_ages() -> None:
    s = MarketDataSettings()
    assert s.stale_age("spot_book") == 2.0 and s.stale_age("perp_book") == 2.0
    assert s.stale_age("funding") == 15.0 and s.stale_age("perp_position") == 6.0
    custom = MarketDataSettings(funding_stale_s=30, account_stale_s=1.5)
    assert custom.stale_age("funding") == 30 and custom.stale_age("spot_balances") == 1.5
    assert custom.poll_interval("funding") == 5.0 and custom.poll_interval("futures_balance") == 2.0
    with pytest.raises(ValueError, match="polled item"):
        s.poll_interval("spot_book")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"depth": 0}, "depth"),
        ({"stale_after_s": 0}, "stale_after_s"),
        ({"rest_poll_s": -1}, "rest_poll_s"),
        ({"backoff_min_s": 2, "backoff_max_s": 1}, "backoff_min_s"),
        ({"fallback_after": 0}, "fallback_after"),
        ({"backoff_jitter": 1.0}, "backoff_jitter"),
        ({"account_stale_s": -2}, "account_stale_s"),
    ],
)
def test_settings_refuse_unusable_values(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        MarketDataSettings(**kwargs)


# ---- polls -------------------------------------------------------------------------------------------


async def test_polls_are_steady_and_never_overlap_and_errors_are_recorded() -> None:
    vt = VirtualTime()
    venue = StubVenue(vt)
    venue.poll_time["funding"] = 0.35  # slower than its 0.1 s interval
    venue.poll_time["spot_balances"] = 0.01
    venue.poll_failures["futures_balance"] = 2
    settings = MarketDataSettings(funding_poll_s=0.1, account_poll_s=0.2)
    service = MarketDataService(venue, settings, clock=vt, sleep=vt.sleep)
    assert service.is_stale("funding") and service.age("funding") is None
    service.start()
    await vt.advance(0.3)
    futures = service.snapshot_health().item("futures_balance")
    assert futures is not None and futures.failures == 2 and futures.stale
    assert futures.last_error is not None and "RequestTimeout" in futures.last_error
    assert service.futures_balance.version == 0
    await vt.advance(1.9)
    await service.stop()

    assert venue.max_active == {"funding": 1, "spot_balances": 1, "futures_balance": 1, "perp_position": 1}
    # A slow call is never stacked: the next one waits for the next free slot on the 0.1 s grid.
    assert venue.poll_starts["funding"] == pytest.approx([0.0, 0.4, 0.8, 1.2, 1.6])
    # A quick call keeps the grid exactly: no drift by its own duration.
    assert venue.poll_starts["spot_balances"] == pytest.approx([i * 0.2 for i in range(10)])
    # The fifth funding call (1.6 → 1.95) was still out at 1.9 when the service stopped: never published.
    assert service.spot_balances.version == 10 and service.funding.version == 4
    # The failing item recovered on its third call; its last error stays readable.
    futures = service.snapshot_health(vt.now).item("futures_balance")
    assert futures is not None and futures.failures == 0 and not futures.stale and futures.last_error
    assert service.futures_balance.version == 8


async def test_polled_items_go_stale_at_their_own_ages() -> None:
    vt = VirtualTime()
    venue = StubVenue(vt)
    settings = MarketDataSettings(funding_poll_s=1, account_poll_s=1, funding_stale_s=10, account_stale_s=3)
    service = MarketDataService(venue, settings, clock=vt, sleep=vt.sleep)
    service.start()
    await vt.advance(0.5)
    venue.block_polls = True  # from here on every call hangs: nothing new arrives
    await vt.advance(3.0)
    assert not service.is_stale("spot_balances") and service.age("spot_balances") == pytest.approx(3.0)
    await vt.advance(3.01)
    assert service.is_stale("spot_balances") and service.is_stale("perp_position")
    assert not service.is_stale("funding")
    await vt.advance(10.01)
    assert service.is_stale("funding")
    await vt.advance(10.25)  # the next health refresh
    health = service.health.latest()
    assert health is not None
    assert set(health.value.stale) >= {"funding", "spot_balances", "spot_book", "perp_book"}
    await service.stop()


# ---- books: gaps, failures, fallback -----------------------------------------------------------------


def gap() -> BookGap:
    return BookGap("orderbook data checksum validation failed", source="ChecksumError")


def drop() -> Disconnected:
    return Disconnected("connection closed by remote server, closing code 1006", source="NetworkError")


async def test_gaps_resync_at_once_failures_back_off_and_rest_stands_in_until_the_websocket_returns() -> None:
    vt = VirtualTime()
    script: list[Any] = [
        book(MarketKind.SPOT, 1),
        gap(),  # first gap: watch again at once
        book(MarketKind.SPOT, 2),
        gap(),
        gap(),  # a gap again before any good book: back off (failure 1)
        drop(),  # failure 2: REST polling takes over
        drop(),  # failure 3: REST keeps serving, the websocket keeps retrying
        0.3,
        book(MarketKind.SPOT, 3),  # the websocket is back
    ]
    venue = StubVenue(vt, script)
    venue.block_polls = True
    settings = MarketDataSettings(fallback_after=2, rest_poll_s=0.1, backoff_min_s=0.25, backoff_max_s=5.0)
    events: list[tuple[str, dict[str, Any], bool]] = []
    service = MarketDataService(venue, settings, clock=vt, sleep=vt.sleep, rng=random.Random(3))
    service.on_event = lambda kind, message, data: events.append((kind, data, service.is_stale("spot_book")))
    sources: list[tuple[int | None, FeedSource]] = []
    service.add_book_listener(
        lambda b, source: sources.append((b.update_id, source)) if b.market.value == "spot" else None
    )

    rng = random.Random(3)
    d1, d2, d3 = (backoff_delay(n, minimum=0.25, maximum=5.0, rng=rng) for n in (1, 2, 3))
    service.start()
    await vt.advance(d1 / 2)
    # Three watches at t=0 (book, gap, book), the second gap at once, then the backoff after the repeat gap.
    assert venue.watch_times[:5] == [0.0] * 5
    assert service.is_stale("spot_book") and service.feed_health(MarketKind.SPOT).source is FeedSource.DOWN
    assert not service.fallback_active(MarketKind.SPOT)
    await vt.advance(d1 + d2 / 2)
    assert venue.watch_times[5] == pytest.approx(d1)
    assert service.fallback_active(MarketKind.SPOT) and venue.rest_times[0] == pytest.approx(d1)
    health = service.feed_health(MarketKind.SPOT)
    assert health.source is FeedSource.REST and not health.stale and health.resyncs == 3
    assert health.last_error is not None and "closing code 1006" in health.last_error
    await vt.advance(d1 + d2 + d3 / 2)
    # The websocket failing again does not discredit the REST book.
    assert not service.is_stale("spot_book")
    assert service.feed_health(MarketKind.SPOT).source is FeedSource.REST
    back = d1 + d2 + d3 + 0.3
    await vt.advance(back + 1.0)
    assert venue.watch_times[6] == pytest.approx(d1 + d2)
    assert service.feed_health(MarketKind.SPOT).source is FeedSource.WS and not service.is_stale("spot_book")
    assert not service.fallback_active(MarketKind.SPOT)
    # REST polled every 0.1 s from the hand-over until the websocket's book, and not after.
    assert all(t < back + 1e-9 for t in venue.rest_times)
    assert len(venue.rest_times) == pytest.approx((back - d1) / 0.1, abs=1.5)
    assert [s for _, s in sources[:2]] == [FeedSource.WS, FeedSource.WS]
    assert sources[-1] == (3, FeedSource.WS)
    assert {s for _, s in sources[2:-1]} == {FeedSource.REST}
    kinds = [(k, d.get("source")) for k, d, _ in events]
    assert kinds == [
        ("BOOK_STALE", None),
        ("BOOK_RESYNC", "ws"),
        ("BOOK_STALE", None),
        ("BOOK_SOURCE", "down"),
        ("BOOK_SOURCE", "rest"),
        ("BOOK_RESYNC", "rest"),
        ("BOOK_SOURCE", "ws"),
    ]
    assert events[0][1] == {"market": "spot", "cause": "ChecksumError"}
    # Stale when BOOK_STALE is announced, fresh when BOOK_RESYNC is.
    announced = [stale for k, _, stale in events if k in ("BOOK_STALE", "BOOK_RESYNC")]
    assert announced == [True, False, True, False]
    await service.stop()
    assert set(venue.unwatched) == {MarketKind.SPOT, MarketKind.PERP}
    assert service.feed_health(MarketKind.SPOT).source is FeedSource.DOWN and not service.running


async def test_a_quiet_book_goes_stale_by_age_and_is_announced_once() -> None:
    vt = VirtualTime()
    venue = StubVenue(vt, [book(MarketKind.SPOT, 1), 5.0, book(MarketKind.SPOT, 2)])
    venue.block_polls = True
    events: list[tuple[str, dict[str, Any]]] = []
    service = MarketDataService(
        venue,
        MarketDataSettings(stale_after_s=2.0, health_interval_s=0.25),
        clock=vt,
        sleep=vt.sleep,
        on_event=lambda kind, message, data: events.append((kind, data)),
    )
    service.start()
    await vt.advance(1.9)
    assert not service.is_stale("spot_book") and service.book_age(MarketKind.SPOT) == pytest.approx(1.9)
    await vt.advance(2.3)
    assert service.is_stale("spot_book") and service.feed_health(MarketKind.SPOT).source is FeedSource.WS
    await vt.advance(4.9)
    assert events == [("BOOK_STALE", {"market": "spot", "cause": "age"})]
    latest = service.health.latest()
    assert latest is not None and latest.value.spot.stale and latest.value.spot.age_s == pytest.approx(4.75)
    await vt.advance(5.1)
    assert not service.is_stale("spot_book")
    assert events[-1] == ("BOOK_RESYNC", {"market": "spot", "cause": "age", "source": "ws"})
    await service.stop()


async def test_wait_for_update_by_name_and_timeout() -> None:
    vt = VirtualTime()
    venue = StubVenue(vt, [0.5, book(MarketKind.SPOT, 1)])
    venue.block_polls = True
    service = MarketDataService(venue, clock=vt, sleep=vt.sleep)
    assert not await service.wait_for_update("spot_book", 0, 0.01)
    service.start()
    waiter = asyncio.create_task(service.wait_for_update("spot_book", 0, 5))
    await vt.advance(0.6)
    assert await waiter and service.spot_book.version == 1
    with pytest.raises(ValueError, match="unknown"):
        service.slot("nonsense")
    await service.stop()


async def test_a_listener_or_event_callback_that_raises_does_not_stop_the_feed() -> None:
    vt = VirtualTime()
    venue = StubVenue(vt, [book(MarketKind.SPOT, 1), gap(), book(MarketKind.SPOT, 2)])
    venue.block_polls = True

    def boom(*args: Any) -> None:
        raise RuntimeError("observer bug")

    service = MarketDataService(venue, clock=vt, sleep=vt.sleep, on_event=boom)
    service.add_book_listener(boom)
    seen: list[int | None] = []
    remove = service.add_book_listener(lambda b, s: seen.append(b.update_id))
    service.start()
    await vt.advance(0.1)
    assert service.spot_book.version == 2 and seen == [1, 2]
    remove()
    assert service.running
    await service.stop()


async def test_secrets_never_reach_health_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    vt = VirtualTime()
    secret = "sk-THIS-IS-THE-SECRET-0123456789"
    venue = StubVenue(vt, [RuntimeError(f"header X-MBX-APIKEY: {secret}")])
    venue.block_polls = True
    service = MarketDataService(venue, clock=vt, sleep=vt.sleep, secrets=[secret])
    caplog.set_level("DEBUG", logger="hedgetui.exchange.market_data")
    service.start()
    await vt.advance(0.1)
    health = service.feed_health(MarketKind.SPOT)
    assert health.last_error is not None and "RuntimeError" in health.last_error
    assert secret not in health.last_error and "****" in health.last_error
    assert "RuntimeError" in caplog.text and "Traceback" in caplog.text
    assert secret not in caplog.text
    await service.stop()
