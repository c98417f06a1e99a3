"""The market data service's settings, and the names of the items it keeps in slots.

Kept apart from :mod:`hedgetui.exchange.market_data` because the configuration and the commands build
these settings without starting a service, and the service's collaborators (the book streams) read them.
:mod:`hedgetui.exchange.market_data` re-exports :class:`MarketDataSettings`.
"""

from __future__ import annotations

from dataclasses import dataclass

from hedgetui.domain.venue import MarketKind

#: Book slot names and their market.
BOOK_ITEMS: dict[str, MarketKind] = {"spot_book": MarketKind.SPOT, "perp_book": MarketKind.PERP}
#: Polled slot names, in the order the health snapshot lists them.
POLLED_ITEMS: tuple[str, ...] = ("funding", "spot_balances", "futures_balance", "perp_position")


@dataclass(frozen=True)
class MarketDataSettings:
    """Depth, staleness, polling and reconnection settings of the market data service (seconds)."""

    depth: int = 20
    #: A book older than this is stale.
    stale_after_s: float = 2.0
    funding_poll_s: float = 5.0
    account_poll_s: float = 2.0  # spot balances, futures balance and perp position
    #: Funding / account data older than this is stale (default: three missed polls).
    funding_stale_s: float | None = None
    account_stale_s: float | None = None
    #: REST book polling period while the websocket is failing.
    rest_poll_s: float = 0.5
    backoff_min_s: float = 0.25
    backoff_max_s: float = 5.0
    backoff_jitter: float = 0.2
    #: Consecutive websocket failures before REST polling takes over (websockets keep retrying).
    fallback_after: int = 2
    #: How often the health slot is refreshed (ages move even when nothing else does).
    health_interval_s: float = 0.25

    def __post_init__(self) -> None:
        positive = {
            "stale_after_s": self.stale_after_s,
            "funding_poll_s": self.funding_poll_s,
            "account_poll_s": self.account_poll_s,
            "rest_poll_s": self.rest_poll_s,
            "backoff_min_s": self.backoff_min_s,
            "health_interval_s": self.health_interval_s,
            "funding_stale_s": self.funding_stale_s or 1.0,
            "account_stale_s": self.account_stale_s or 1.0,
        }
        for name, value in positive.items():
            if not value > 0:
                raise ValueError(f"market_data.{name} must be positive, got {value}")
        if self.depth < 1:
            raise ValueError(f"market_data.depth must be at least 1, got {self.depth}")
        if self.backoff_max_s < self.backoff_min_s:
            bounds = f"{self.backoff_min_s} > {self.backoff_max_s}"
            raise ValueError(f"market_data.backoff_min_s must not exceed backoff_max_s ({bounds})")
        if not 0 <= self.backoff_jitter < 1:
            raise ValueError(f"market_data.backoff_jitter must be in [0, 1), got {self.backoff_jitter}")
        if self.fallback_after < 1:
            raise ValueError(f"market_data.fallback_after must be at least 1, got {self.fallback_after}")

    def poll_interval(self, item: str) -> float:
        """The polling period of a polled item."""
        if item not in POLLED_ITEMS:
            raise ValueError(f"{item!r} is not a polled item ({', '.join(POLLED_ITEMS)})")
        return self.funding_poll_s if item == "funding" else self.account_poll_s

    def stale_age(self, item: str) -> float:
        """The age in seconds beyond which ``item`` (a slot name) is stale."""
        if item in BOOK_ITEMS:
            return self.stale_after_s
        interval = self.poll_interval(item)
        configured = self.funding_stale_s if item == "funding" else self.account_stale_s
        return configured if configured is not None else 3 * interval
