"""The book streams of the market data service: one market's websocket loop, its REST fallback, and the
BOOK_STALE / BOOK_RESYNC / BOOK_SOURCE announcements they make.

Kept apart from :mod:`hedgetui.exchange.market_data` (the slots, their ages and health, the polls) because
this is the part with a state machine: a gap re-watches at once, a second gap or a failure backs off, enough
failures hand the book to REST polling while the websocket keeps retrying, and the first good websocket book
takes it back. :class:`BookStreams` is owned as ``MarketDataService.books``; :class:`BookFeed` is one
market's stream state.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hedgetui.domain.book import OrderBook
from hedgetui.domain.health import FeedSource
from hedgetui.domain.slots import Slot
from hedgetui.domain.venue import MarketKind
from hedgetui.exchange.cadence import backoff_delay
from hedgetui.exchange.errors import BookGap, VenueError

if TYPE_CHECKING:
    from hedgetui.exchange.market_data import MarketDataService

#: The service's logger: the streams are part of it (and log configuration names it).
log = logging.getLogger("hedgetui.exchange.market_data")


@dataclass
class BookFeed:
    """One market's book stream: where it comes from and whether what we hold is in sync."""

    kind: MarketKind
    slot: Slot[OrderBook]
    source: FeedSource = FeedSource.STARTING
    resyncs: int = 0
    failures: int = 0  # consecutive websocket failures; 0 after a good websocket book
    gap_pending: bool = False  # a gap was seen and no good book has arrived since
    #: Books published up to this slot version are known to be out of sync (a gap or a failure came after).
    invalid_version: int = 0
    #: The cause announced with BOOK_STALE, until BOOK_RESYNC; None while the book is in sync.
    stale_cause: str | None = None
    last_error: str | None = None
    ws_books: int = 0
    rest_books: int = 0
    fallback: asyncio.Event = field(default_factory=asyncio.Event)  # set while REST polling stands in


class BookStreams:
    """Both markets' book streams, publishing through the service that owns them (its slots, health and
    ``on_event``); the service's ``start`` runs :meth:`book_loop` and :meth:`rest_loop` for each market."""

    def __init__(self, md: MarketDataService) -> None:
        self.md = md

    def announce_stale(self, feed: BookFeed, cause: str, message: str) -> None:
        # One BOOK_STALE per episode: a reconnect storm must not flood the journal.
        if feed.stale_cause is not None:
            return
        feed.stale_cause = cause
        log.warning("%s", message)
        self.md._note("BOOK_STALE", message, {"market": feed.kind.value, "cause": cause})

    def announce_fresh(self, feed: BookFeed) -> None:
        if feed.stale_cause is None:
            return
        cause, feed.stale_cause = feed.stale_cause, None
        message = f"{feed.kind.value} book in sync again from {feed.source.value} (after {cause})"
        log.info("%s", message)
        data = {"market": feed.kind.value, "cause": cause, "source": feed.source.value}
        self.md._note("BOOK_RESYNC", message, data)

    def set_source(self, feed: BookFeed, source: FeedSource, why: str) -> None:
        previous = feed.source
        if previous is source:
            return
        feed.source = source
        message = f"{feed.kind.value} book source {previous.value} → {source.value}: {why}"
        log.info("%s", message)
        if previous is not FeedSource.STARTING:
            self.md._note(
                "BOOK_SOURCE",
                message,
                {"market": feed.kind.value, "source": source.value, "previous": previous.value},
            )
        self.md._publish_health()

    async def book_loop(self, feed: BookFeed) -> None:
        """Watch one market's book forever: publish every book, resync on gaps, back off on failures."""
        while True:
            try:
                book = await self.md.venue.watch_order_book(feed.kind, self.md.settings.depth)
            except asyncio.CancelledError:
                raise
            except BookGap as exc:
                feed.resyncs += 1
                text = self.md._describe(exc, "gap: ")
                feed.last_error = text
                message = f"{feed.kind.value} book gap ({exc.source}): resubscribing for a snapshot"
                self.invalidate(feed, exc.source, message)
                if not feed.gap_pending:
                    # Watching again makes ccxt resubscribe and re-snapshot: no reason to wait.
                    feed.gap_pending = True
                    self.md._publish_health()
                    continue
                # A gap again before any good book: something is persistently wrong, so back off.
                await self.ws_failed(feed, exc.source, text)
            except Exception as exc:  # Disconnected, other VenueErrors, and surprises alike: never silently
                if not isinstance(exc, VenueError):
                    self.md._log_traceback(f"{feed.kind.value} book loop", exc)
                source = exc.source if isinstance(exc, VenueError) else type(exc).__name__
                await self.ws_failed(feed, source, self.md._describe(exc))
            else:
                self.ws_book(feed, book)

    def invalidate(self, feed: BookFeed, cause: str, message: str) -> None:
        """The websocket lost sync: the book we hold from it can no longer be trusted."""
        if feed.source is FeedSource.REST:
            return  # the book held is a REST snapshot, as good as its age: the websocket's trouble is not its
        feed.invalid_version = feed.slot.version
        self.announce_stale(feed, cause, message)

    def ws_book(self, feed: BookFeed, book: OrderBook) -> None:
        feed.failures = 0
        feed.gap_pending = False
        was_falling_back = feed.fallback.is_set()
        feed.fallback.clear()
        feed.ws_books += 1
        self.md._publish_book(feed, book, FeedSource.WS)
        if feed.source is not FeedSource.WS:
            why = "websocket book received" + (", REST polling stops" if was_falling_back else "")
            self.set_source(feed, FeedSource.WS, why)
        self.announce_fresh(feed)

    async def ws_failed(self, feed: BookFeed, cause: str, text: str) -> None:
        """Record a websocket failure, hand over to REST after enough of them, and back off."""
        feed.failures += 1
        feed.last_error = text
        log.warning("%s websocket failed (%d in a row): %s", feed.kind.value, feed.failures, text)
        self.invalidate(feed, cause, f"{feed.kind.value} book stream failed ({cause}): reconnecting")
        if feed.failures >= self.md.settings.fallback_after and not feed.fallback.is_set():
            feed.fallback.set()
            log.warning("%s book: falling back to REST polling while the websocket retries", feed.kind.value)
        if feed.source in (FeedSource.WS, FeedSource.STARTING):
            self.set_source(feed, FeedSource.DOWN, f"websocket failed: {text}")
        else:
            self.md._publish_health()
        s = self.md.settings
        delay = backoff_delay(
            feed.failures,
            minimum=s.backoff_min_s,
            maximum=s.backoff_max_s,
            rng=self.md.rng,
            jitter=s.backoff_jitter,
        )
        await self.md._sleep(delay)

    async def rest_loop(self, feed: BookFeed) -> None:
        """Poll the book over REST while the websocket is failing (idle while it works)."""
        while True:
            await feed.fallback.wait()
            started = self.md.clock()
            try:
                book = await self.md.venue.fetch_order_book(feed.kind, self.md.settings.depth)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                text = self.md._describe(exc, "rest: ")
                feed.last_error = text
                log.warning("%s REST book poll failed: %s", feed.kind.value, text)
                if feed.fallback.is_set() and feed.source is FeedSource.REST:
                    self.set_source(feed, FeedSource.DOWN, f"REST polling failed too: {text}")
            else:
                # The websocket may have come back while this call was out: its books are newer then.
                if feed.fallback.is_set():
                    feed.rest_books += 1
                    self.md._publish_book(feed, book, FeedSource.REST)
                    if feed.source is not FeedSource.REST:
                        self.set_source(feed, FeedSource.REST, "REST polling while the websocket retries")
                    self.announce_fresh(feed)
            await self.md._sleep(max(0.0, self.md.settings.rest_poll_s - (self.md.clock() - started)))
