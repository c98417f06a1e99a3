"""Live market data: both books kept in sync over websockets, account state polled, all in slots.

* Books: one task per market calls ``watch_order_book`` in a loop. A gap (ccxt ChecksumError →
  :class:`BookGap`) re-watches at once (ccxt resubscribes and takes a new snapshot); a disconnect backs off
  exponentially with jitter. While the websocket is failing, a REST poller keeps the book alive.
* Funding and mark price, spot balances, the futures balance and the perp position are polled on steady,
  non-overlapping schedules: each loop waits for its call, then sleeps to its next slot.
* Everything is published into latest-value slots (version numbers, no queues) and judged stale when it is
  older than its configured age.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hedgetui.domain.account import Balance, FundingInfo, FuturesBalance, PerpPosition
from hedgetui.domain.book import OrderBook
from hedgetui.domain.health import FeedHealth, FeedSource
from hedgetui.domain.slots import Slot
from hedgetui.domain.venue import MarketKind
from hedgetui.exchange.errors import BookGap, VenueError
from hedgetui.exchange.venue import BinanceVenue

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class MarketDataSettings:
    depth: int = 20
    stale_after_s: float = 2.0
    funding_poll_s: float = 5.0
    account_poll_s: float = 2.0
    rest_poll_s: float = 0.5
    backoff_min_s: float = 0.25
    backoff_max_s: float = 5.0
    fallback_after: int = 2  # consecutive websocket failures before REST polling starts


@dataclass
class _MarketState:
    source: FeedSource = FeedSource.STARTING
    last_update: float | None = None
    resyncs: int = 0
    failures: int = 0
    last_error: str | None = None
    ws_ok_since: float | None = None
    resyncing: bool = False  # between a gap or a disconnect and the next good book: stale whatever its age
    awaiting_stream: bool = False  # the websocket has not recovered yet (REST may be feeding meanwhile)


@dataclass
class _PollState:
    last_ok: float | None = None
    last_error: str | None = None
    calls: int = 0
    in_flight: int = 0
    max_in_flight: int = 0


@dataclass
class MarketDataService:
    """Owns its tasks; ``start()`` launches them, ``stop()`` cancels and awaits them."""

    venue: BinanceVenue
    settings: MarketDataSettings = field(default_factory=MarketDataSettings)
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    #: Called with (kind, message, data) for BOOK_STALE / BOOK_RESYNC, so the engine can journal them.
    on_event: Callable[[str, str, dict[str, Any]], None] | None = None

    def __post_init__(self) -> None:
        self.spot_book: Slot[OrderBook] = Slot("spot_book")
        self.perp_book: Slot[OrderBook] = Slot("perp_book")
        self.funding: Slot[FundingInfo] = Slot("funding")
        self.spot_balances: Slot[dict[str, Balance]] = Slot("spot_balances")
        self.futures_balance: Slot[FuturesBalance] = Slot("futures_balance")
        self.perp_position: Slot[PerpPosition] = Slot("perp_position")
        self._markets = {MarketKind.SPOT: _MarketState(), MarketKind.PERP: _MarketState()}
        self.polls: dict[str, _PollState] = {
            n: _PollState() for n in ("funding", "spot_balances", "futures_balance", "perp_position")
        }
        self._tasks: list[asyncio.Task[None]] = []
        self._changed = asyncio.Event()

    # ---- slots and health --------------------------------------------------------------------------

    def book_slot(self, kind: MarketKind) -> Slot[OrderBook]:
        return self.spot_book if kind is MarketKind.SPOT else self.perp_book

    def book_age(self, kind: MarketKind, now: float | None = None) -> float | None:
        """Seconds since the latest book of ``kind`` was received (None before the first)."""
        latest = self.book_slot(kind).latest()
        if latest is None:
            return None
        return max(0.0, (now if now is not None else self.clock()) - latest.published_at)

    def is_stale(self, item: str, now: float | None = None) -> bool:
        """True when ``item`` (a slot name) has no value or is older than its allowed age."""
        now = now if now is not None else self.clock()
        slots: dict[str, tuple[Slot[Any], float]] = {
            "spot_book": (self.spot_book, self.settings.stale_after_s),
            "perp_book": (self.perp_book, self.settings.stale_after_s),
            "funding": (self.funding, self.settings.funding_poll_s * 3),
            "spot_balances": (self.spot_balances, self.settings.account_poll_s * 3),
            "futures_balance": (self.futures_balance, self.settings.account_poll_s * 3),
            "perp_position": (self.perp_position, self.settings.account_poll_s * 3),
        }
        slot, max_age = slots[item]
        latest = slot.latest()
        if item in ("spot_book", "perp_book"):
            kind = MarketKind.SPOT if item == "spot_book" else MarketKind.PERP
            if self._markets[kind].resyncing:
                return True
        return latest is None or now - latest.published_at > max_age

    def feed_health(self, kind: MarketKind, now: float) -> FeedHealth:
        st = self._markets[kind]
        age = self.book_age(kind, now)
        stale = self.is_stale("spot_book" if kind is MarketKind.SPOT else "perp_book", now)
        return FeedHealth(source=st.source, age_s=age, stale=stale, resyncs=st.resyncs, last_error=st.last_error)

    async def wait_for_update(self, slot: Slot[Any], after_version: int, within_s: float) -> bool:
        """Wait until ``slot`` has a version newer than ``after_version``; False after ``within_s``."""

        async def waiter() -> None:
            while not slot.changed_since(after_version):
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(waiter(), within_s)
        except TimeoutError:
            return False
        return True

    def _note(self, kind: str, message: str, data: dict[str, Any]) -> None:
        if self.on_event is not None:
            try:
                self.on_event(kind, message, data)
            except Exception:  # reporting must never stop the feed
                log.exception("market data event callback failed")

    def _publish(self, slot: Slot[T], value: T) -> None:
        slot.publish(value, self.clock())
        self._changed.set()

    # ---- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        if self._tasks:
            return
        s = self.settings
        v = self.venue
        self._tasks = [
            asyncio.create_task(self._book_loop(MarketKind.SPOT), name="md-spot-ws"),
            asyncio.create_task(self._book_loop(MarketKind.PERP), name="md-perp-ws"),
            asyncio.create_task(self._rest_fallback(MarketKind.SPOT), name="md-spot-rest"),
            asyncio.create_task(self._rest_fallback(MarketKind.PERP), name="md-perp-rest"),
            asyncio.create_task(self._poll("funding", v.fetch_funding, self.funding, s.funding_poll_s)),
            asyncio.create_task(
                self._poll("spot_balances", v.fetch_spot_balances, self.spot_balances, s.account_poll_s)
            ),
            asyncio.create_task(
                self._poll("futures_balance", v.fetch_futures_balance, self.futures_balance, s.account_poll_s)
            ),
            asyncio.create_task(
                self._poll("perp_position", v.fetch_perp_position, self.perp_position, s.account_poll_s)
            ),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        for kind in (MarketKind.SPOT, MarketKind.PERP):
            await self.venue.unwatch_order_book(kind)

    # ---- loops -------------------------------------------------------------------------------------

    def _backoff(self, failures: int) -> float:
        s = self.settings
        base = min(s.backoff_max_s, s.backoff_min_s * float(2 ** max(0, failures - 1)))
        return float(base * (0.75 + self.rng.random() * 0.5))

    async def _book_loop(self, kind: MarketKind) -> None:
        st = self._markets[kind]
        slot = self.book_slot(kind)
        while True:
            try:
                book = await self.venue.watch_order_book(kind, self.settings.depth)
            except BookGap as exc:
                # A dropped diff: watching again makes ccxt resubscribe and re-snapshot.
                st.resyncs += 1
                st.resyncing = st.awaiting_stream = True
                st.last_error = f"gap: {exc.exchange_message}"[:200]
                log.info("%s book gap, resyncing", kind.value)
                self._note(
                    "BOOK_STALE",
                    f"{kind.value} book gap ({exc.source}): resubscribing",
                    {"market": kind.value, "cause": exc.source},
                )
                continue
            except VenueError as exc:
                st.failures += 1
                if not st.awaiting_stream:
                    self._note(
                        "BOOK_STALE",
                        f"{kind.value} stream failed ({exc.source}): reconnecting",
                        {"market": kind.value, "cause": exc.source},
                    )
                    st.resyncing = st.awaiting_stream = True
                st.last_error = f"{exc.source}: {exc.exchange_message}"[:200]
                if st.failures >= self.settings.fallback_after and st.source in (FeedSource.WS, FeedSource.STARTING):
                    st.source = FeedSource.DOWN  # the REST poller takes over (and says REST) while this retries
                log.warning("%s websocket failed (%s); retrying", kind.value, st.last_error)
                await asyncio.sleep(self._backoff(st.failures))
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never let a parsing surprise kill the feed silently
                st.failures += 1
                st.last_error = f"{type(exc).__name__}: {exc}"[:200]
                log.exception("%s book loop error", kind.value)
                await asyncio.sleep(self._backoff(st.failures))
                continue
            if st.source is not FeedSource.WS:
                st.ws_ok_since = self.clock()
            if st.awaiting_stream:
                st.awaiting_stream = False
                self._note("BOOK_RESYNC", f"{kind.value} book resynchronised", {"market": kind.value})
            st.resyncing = False
            st.failures = 0
            st.source = FeedSource.WS
            st.last_update = self.clock()
            self._publish(slot, book)

    async def _rest_fallback(self, kind: MarketKind) -> None:
        """Poll the book over REST while the websocket is failing (not while it works)."""
        st = self._markets[kind]
        slot = self.book_slot(kind)
        while True:
            await asyncio.sleep(self.settings.rest_poll_s)
            if st.failures < self.settings.fallback_after:
                continue
            try:
                book = await self.venue.fetch_order_book(kind, self.settings.depth)
            except VenueError as exc:
                st.last_error = f"rest: {exc.source}: {exc.exchange_message}"[:200]
                st.source = FeedSource.DOWN
                continue
            if st.failures >= self.settings.fallback_after:  # the websocket may have recovered meanwhile
                st.source = FeedSource.REST
                st.resyncing = False  # a fresh REST book is fit to decide on while the stream reconnects
                st.last_update = self.clock()
                self._publish(slot, book)

    async def _poll(self, name: str, call: Callable[[], Awaitable[T]], slot: Slot[T], interval: float) -> None:
        state = self.polls[name]
        while True:
            started = self.clock()
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
            state.calls += 1
            try:
                value = await call()
            except VenueError as exc:
                state.last_error = f"{exc.source}: {exc.exchange_message}"[:200]
                log.warning("polling %s failed: %s", name, state.last_error)
            else:
                state.last_ok = self.clock()
                state.last_error = None
                self._publish(slot, value)
            finally:
                state.in_flight -= 1
            # Non-overlapping: the next call starts one interval after this one started, never earlier.
            await asyncio.sleep(max(0.0, interval - (self.clock() - started)))
