"""Live market data: both books kept in sync over websockets, account state polled, all in slots.

* Books: one task per market calls ``watch_order_book`` in a loop. A gap (ccxt ChecksumError →
  :class:`BookGap`) re-watches at once, which makes ccxt resubscribe and take a new snapshot; a second gap
  before a good book, a disconnect or any other error backs off exponentially with jitter. After
  ``fallback_after`` consecutive websocket failures a REST poller keeps the book alive while the websocket
  keeps retrying; the first good websocket book switches back.
* Funding and mark price, spot balances, the futures balance and the perp position are polled on steady,
  non-overlapping schedules: each loop waits for its call, then sleeps to its next slot.
* Everything is published into latest-value slots (version numbers, no queues), including a ``health``
  slot, and judged stale when older than its configured age. A book is also stale from the moment its
  stream is known to be out of sync (a gap or a failure) until a fresh book replaces it.
* BOOK_STALE / BOOK_RESYNC / BOOK_SOURCE transitions go to ``on_event`` so the engine can journal them.

This module holds the service: its slots, ages, staleness and health, the polls and the lifecycle. The book
streams' loops and their announcements are in :mod:`hedgetui.exchange.book_streams`; the settings in
:mod:`hedgetui.exchange.market_data_settings` (re-exported here).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from hedgetui.domain.account import Balance, FundingInfo, FuturesBalance, PerpPosition
from hedgetui.domain.book import OrderBook
from hedgetui.domain.data_health import ItemHealth, MarketDataHealth
from hedgetui.domain.health import FeedHealth, FeedSource
from hedgetui.domain.slots import Slot
from hedgetui.domain.venue import MarketKind
from hedgetui.exchange.book_streams import BookFeed, BookStreams
from hedgetui.exchange.cadence import Clock, Sleep, run_steadily
from hedgetui.exchange.errors import VenueError
from hedgetui.exchange.market_data_settings import BOOK_ITEMS, POLLED_ITEMS, MarketDataSettings
from hedgetui.redaction import scrub

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Called with every book the service publishes and where it came from (``ws`` or ``rest``).
BookListener = Callable[[OrderBook, FeedSource], None]

_ERROR_CHARS = 300
_UNWATCH_TIMEOUT_S = 2.0


class MarketDataVenue(Protocol):
    """What the service needs from the venue (``BinanceVenue`` satisfies it)."""

    async def watch_order_book(self, kind: MarketKind, limit: int = ...) -> OrderBook: ...
    async def unwatch_order_book(self, kind: MarketKind) -> None: ...
    async def fetch_order_book(self, kind: MarketKind, limit: int = ...) -> OrderBook: ...
    async def fetch_funding(self) -> FundingInfo: ...
    async def fetch_spot_balances(self) -> dict[str, Balance]: ...
    async def fetch_futures_balance(self) -> FuturesBalance: ...
    async def fetch_perp_position(self) -> PerpPosition: ...


@dataclass
class _Poll:
    """One polled item."""

    name: str
    call: Callable[[], Awaitable[Any]]
    slot: Slot[Any]
    calls: int = 0
    failures: int = 0
    last_error: str | None = None


class MarketDataService:
    """Keeps both books and the account state live in slots; owns its tasks.

    ``start()`` launches the tasks, ``stop()`` cancels and awaits them and unsubscribes the books.
    ``clock`` (monotonic seconds) stamps every publish and measures ages; ``sleep`` and ``rng`` drive the
    schedules and the backoff jitter. All are injectable for tests.
    """

    def __init__(
        self,
        venue: MarketDataVenue,
        settings: MarketDataSettings | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        on_event: Callable[[str, str, dict[str, Any]], None] | None = None,
        secrets: Iterable[str] | None = None,
    ) -> None:
        self.venue = venue
        self.settings = settings or MarketDataSettings()
        self.clock = clock
        self._sleep = sleep
        self.rng = rng or random.Random()
        #: Called with (kind, message, data) on BOOK_STALE / BOOK_RESYNC / BOOK_SOURCE transitions.
        self.on_event = on_event
        if secrets is None:
            # The venue's own credentials, so that no error text we keep or log can carry them.
            venue_secrets = getattr(getattr(venue, "settings", None), "secrets", None)
            secrets = venue_secrets() if callable(venue_secrets) else ()
        self._secrets: tuple[str, ...] = tuple(secrets)

        self.spot_book: Slot[OrderBook] = Slot("spot_book")
        self.perp_book: Slot[OrderBook] = Slot("perp_book")
        self.funding: Slot[FundingInfo] = Slot("funding")
        self.spot_balances: Slot[dict[str, Balance]] = Slot("spot_balances")
        self.futures_balance: Slot[FuturesBalance] = Slot("futures_balance")
        self.perp_position: Slot[PerpPosition] = Slot("perp_position")
        self.health: Slot[MarketDataHealth] = Slot("health")

        self._feeds = {
            MarketKind.SPOT: BookFeed(MarketKind.SPOT, self.spot_book),
            MarketKind.PERP: BookFeed(MarketKind.PERP, self.perp_book),
        }
        self._polls = {
            "funding": _Poll("funding", venue.fetch_funding, self.funding),
            "spot_balances": _Poll("spot_balances", venue.fetch_spot_balances, self.spot_balances),
            "futures_balance": _Poll("futures_balance", venue.fetch_futures_balance, self.futures_balance),
            "perp_position": _Poll("perp_position", venue.fetch_perp_position, self.perp_position),
        }
        self._tasks: list[asyncio.Task[None]] = []
        self._changed = asyncio.Event()
        self._book_listeners: list[BookListener] = []
        #: The book streams: websocket loops, the REST fallback and their announcements.
        self.books = BookStreams(self)

    # ---- slots, ages, staleness --------------------------------------------------------------------

    def book_slot(self, kind: MarketKind) -> Slot[OrderBook]:
        """The book slot of one market."""
        return self._feeds[kind].slot

    def slot(self, item: str) -> Slot[Any]:
        """A slot by name: ``spot_book``, ``perp_book``, the polled items, or ``health``."""
        if item in BOOK_ITEMS:
            return self.book_slot(BOOK_ITEMS[item])
        if item in self._polls:
            return self._polls[item].slot
        if item == "health":
            return self.health
        raise ValueError(f"unknown market data item {item!r}")

    def _now(self, now: float | None) -> float:
        return self.clock() if now is None else now

    def age(self, item: str, now: float | None = None) -> float | None:
        """Seconds since ``item`` was last published (None before its first value)."""
        latest = self.slot(item).latest()
        if latest is None:
            return None
        return max(0.0, self._now(now) - latest.published_at)

    def book_age(self, kind: MarketKind, now: float | None = None) -> float | None:
        """Seconds since the latest book of ``kind`` was received (None before the first)."""
        return self.age("spot_book" if kind is MarketKind.SPOT else "perp_book", now)

    def is_stale(self, item: str, now: float | None = None) -> bool:
        """True when ``item`` (a slot name) has no value, is older than its configured age, or (a book)
        is known to be out of sync since a gap or a stream failure."""
        if item == "health":
            raise ValueError("health is never stale: it is computed, not received")
        age = self.age(item, now)
        if age is None:
            return True
        if item in BOOK_ITEMS:
            feed = self._feeds[BOOK_ITEMS[item]]
            if feed.slot.version <= feed.invalid_version:
                return True
        return age > self.settings.stale_age(item)

    def fresh_book(self, kind: MarketKind) -> OrderBook | None:
        """The latest book of ``kind`` when it is not stale (the engine's ``MarketFeed``), else None."""
        item = "spot_book" if kind is MarketKind.SPOT else "perp_book"
        latest = self.book_slot(kind).latest()
        return None if latest is None or self.is_stale(item) else latest.value

    def fresh_funding(self) -> FundingInfo | None:
        """The latest funding and mark price when not stale (the engine's ``MarketFeed``), else None."""
        latest = self.slot("funding").latest()
        return None if latest is None or self.is_stale("funding") else latest.value

    def feed_health(self, kind: MarketKind, now: float | None = None) -> FeedHealth:
        """One market's feed: source, book age, stale flag, resyncs and the last error."""
        feed = self._feeds[kind]
        now = self._now(now)
        return FeedHealth(
            source=feed.source,
            age_s=self.book_age(kind, now),
            stale=self.is_stale("spot_book" if kind is MarketKind.SPOT else "perp_book", now),
            resyncs=feed.resyncs,
            last_error=feed.last_error,
        )

    def snapshot_health(self, now: float | None = None) -> MarketDataHealth:
        """Health of both feeds and every polled item, now."""
        now = self._now(now)
        items = tuple(
            ItemHealth(
                name=p.name,
                age_s=self.age(p.name, now),
                stale=self.is_stale(p.name, now),
                failures=p.failures,
                last_error=p.last_error,
            )
            for p in self._polls.values()
        )
        return MarketDataHealth(
            at=now,
            spot=self.feed_health(MarketKind.SPOT, now),
            perp=self.feed_health(MarketKind.PERP, now),
            items=items,
        )

    def fallback_active(self, kind: MarketKind) -> bool:
        """True while REST polling stands in for the failing websocket of ``kind``."""
        return self._feeds[kind].fallback.is_set()

    async def wait_for_update(self, item: str | Slot[Any], after_version: int, within_s: float) -> bool:
        """Wait until ``item`` (a slot or its name) has a version newer than ``after_version``.

        Returns False when ``within_s`` seconds pass first.
        """
        slot = self.slot(item) if isinstance(item, str) else item

        async def waiter() -> None:
            while not slot.changed_since(after_version):
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(waiter(), within_s)
        except TimeoutError:
            return False
        return True

    def add_book_listener(self, listener: BookListener) -> Callable[[], None]:
        """Have ``listener`` called with every book as it is published; returns the function removing it.

        For recorders that must see every book (audits, tests); the UI and the engine read the slots. A
        listener runs inside the feed loop, so it must be quick; its exceptions are logged and ignored.
        """
        self._book_listeners.append(listener)

        def remove() -> None:
            if listener in self._book_listeners:
                self._book_listeners.remove(listener)

        return remove

    # ---- publishing and reporting ------------------------------------------------------------------

    def _publish(self, slot: Slot[T], value: T) -> None:
        slot.publish(value, self.clock())
        self._changed.set()

    def _publish_book(self, feed: BookFeed, book: OrderBook, source: FeedSource) -> None:
        self._publish(feed.slot, book)
        for listener in tuple(self._book_listeners):
            try:
                listener(book, source)
            except Exception:
                log.exception("book listener failed")

    def _publish_health(self) -> None:
        self._publish(self.health, self.snapshot_health())

    def _describe(self, exc: BaseException, prefix: str = "") -> str:
        """One line for health and logs, with credentials scrubbed out."""
        text = str(exc) if isinstance(exc, VenueError) else f"{type(exc).__name__}: {exc}"
        return scrub(prefix + text, self._secrets)[:_ERROR_CHARS]

    def _log_traceback(self, where: str, exc: BaseException) -> None:
        """An unexpected error's traceback at DEBUG, scrubbed like everything else (exc_info would not be)."""
        if log.isEnabledFor(logging.DEBUG):
            text = "".join(traceback.format_exception(exc))
            log.debug("unexpected error in %s:\n%s", where, scrub(text, self._secrets))

    def _note(self, kind: str, message: str, data: dict[str, Any]) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(kind, message, data)
        except Exception:  # reporting must never stop the feed
            log.exception("market data event callback failed")

    # ---- lifecycle ---------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True between ``start()`` and ``stop()``."""
        return bool(self._tasks)

    def start(self) -> None:
        """Launch the book, REST fallback, poll and health tasks (idempotent; needs a running loop)."""
        if self._tasks:
            return
        tasks: list[asyncio.Task[None]] = []
        for kind, feed in self._feeds.items():
            tasks.append(asyncio.create_task(self.books.book_loop(feed), name=f"md-{kind.value}-ws"))
            tasks.append(asyncio.create_task(self.books.rest_loop(feed), name=f"md-{kind.value}-rest"))
        for name, poll in self._polls.items():
            tasks.append(asyncio.create_task(self._poll_loop(poll), name=f"md-{name}"))
        tasks.append(asyncio.create_task(self._health_loop(), name="md-health"))
        for task in tasks:
            task.add_done_callback(self._task_ended)
        self._tasks = tasks

    def _task_ended(self, task: asyncio.Task[None]) -> None:
        # The loops catch everything, so this is a bug if it ever fires: make it loud, not silent.
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            assert exc is not None
            log.error("market data task %s died: %s", task.get_name(), self._describe(exc))

    async def stop(self) -> None:
        """Cancel and await every task, then unsubscribe both books (best effort)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # a loop that died was logged when it died
        for kind, feed in self._feeds.items():
            feed.fallback.clear()
            try:
                # Bounded: an unsubscribe over a dead connection must not hold up a shutdown.
                await asyncio.wait_for(self.venue.unwatch_order_book(kind), _UNWATCH_TIMEOUT_S)
            except Exception as exc:  # unsubscribing a dead stream is not worth failing a shutdown
                log.info("unwatching the %s book failed: %s", kind.value, self._describe(exc))
            if tasks:
                feed.source = FeedSource.DOWN
        if tasks:
            self._publish_health()

    async def __aenter__(self) -> MarketDataService:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- polls and health --------------------------------------------------------------------------

    async def _poll_loop(self, poll: _Poll) -> None:
        await run_steadily(
            lambda: self._poll_once(poll),
            self.settings.poll_interval(poll.name),
            clock=self.clock,
            sleep=self._sleep,
        )

    async def _poll_once(self, poll: _Poll) -> None:
        """One poll: publish the value, or record (and log) why there is none. Never raises."""
        poll.calls += 1
        try:
            value = await poll.call()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            poll.failures += 1
            poll.last_error = self._describe(exc)
            if not isinstance(exc, VenueError):
                self._log_traceback(f"polling {poll.name}", exc)
            log.warning("polling %s failed (%d in a row): %s", poll.name, poll.failures, poll.last_error)
            self._publish_health()
        else:
            if poll.failures:
                log.info("polling %s works again after %d failures", poll.name, poll.failures)
            poll.failures = 0
            self._publish(poll.slot, value)

    async def _health_loop(self) -> None:
        interval = self.settings.health_interval_s
        await run_steadily(self._health_once, interval, clock=self.clock, sleep=self._sleep)

    async def _health_once(self) -> None:
        """Announce books gone stale by age alone (a quiet stream), then refresh the health slot."""
        now = self.clock()
        for kind, feed in self._feeds.items():
            age = self.book_age(kind, now)
            if age is not None and age > self.settings.stale_after_s:
                self.books.announce_stale(
                    feed,
                    "age",
                    f"{kind.value} book is {age:.1f} s old (stale after {self.settings.stale_after_s:g} s)",
                )
        self._publish(self.health, self.snapshot_health(now))


__all__ = ["BOOK_ITEMS", "POLLED_ITEMS", "BookListener", "MarketDataService", "MarketDataSettings", "MarketDataVenue"]
