"""What the dashboard observes. The UI reads latest-value slots and never drives the exchange itself.

Anything that provides these attributes can feed the dashboard: the market data service (through the
wiring in ``hedgetui.wiring``) or a test double in UI tests. Only domain types cross this boundary.
"""

from __future__ import annotations

from typing import Protocol

from hedgetui.domain.account import Balance, FundingInfo, PerpPosition
from hedgetui.domain.book import OrderBook
from hedgetui.domain.health import FeedHealth
from hedgetui.domain.slots import Slot
from hedgetui.domain.venue import MarketKind


class DashboardFeed(Protocol):
    """Live market and account state for the dashboard."""

    @property
    def spot_book(self) -> Slot[OrderBook]: ...

    @property
    def perp_book(self) -> Slot[OrderBook]: ...

    @property
    def funding(self) -> Slot[FundingInfo]: ...

    @property
    def perp_position(self) -> Slot[PerpPosition]: ...

    @property
    def spot_balances(self) -> Slot[dict[str, Balance]]: ...

    def feed_health(self, kind: MarketKind, now: float) -> FeedHealth:
        """Health of one market's book feed at monotonic time ``now``."""
        ...
