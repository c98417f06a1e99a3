"""The market data service's health as one immutable snapshot: both book feeds and every polled item."""

from __future__ import annotations

from dataclasses import dataclass

from hedgetui.domain.health import FeedHealth
from hedgetui.domain.venue import MarketKind


@dataclass(frozen=True)
class ItemHealth:
    """One polled item (funding, balances, position): the age of its latest value and its last error.

    ``failures`` counts consecutive failed polls (0 after a success); ``last_error`` is kept after a
    recovery so that the operator can still read what went wrong.
    """

    name: str
    age_s: float | None
    stale: bool
    failures: int = 0
    last_error: str | None = None


@dataclass(frozen=True)
class MarketDataHealth:
    """Everything the operator needs to judge the live data, taken at monotonic time ``at``."""

    at: float
    spot: FeedHealth
    perp: FeedHealth
    items: tuple[ItemHealth, ...] = ()

    def market(self, kind: MarketKind) -> FeedHealth:
        """The book feed of one market."""
        return self.spot if kind is MarketKind.SPOT else self.perp

    def item(self, name: str) -> ItemHealth | None:
        """A polled item by its slot name, or None if there is no such item."""
        return next((i for i in self.items if i.name == name), None)

    @property
    def stale(self) -> tuple[str, ...]:
        """Names of everything stale right now (``spot_book``, ``perp_book`` and polled items)."""
        feeds = (("spot_book", self.spot), ("perp_book", self.perp))
        books = tuple(name for name, feed in feeds if feed.stale)
        return books + tuple(i.name for i in self.items if i.stale)
