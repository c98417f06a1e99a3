"""Order book snapshots as hedgetui sees them: Decimal levels, best first, with their provenance and age."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from hedgetui.domain.venue import MarketKind

Level = tuple[Decimal, Decimal]
"""One price level: (price, quantity in base units)."""


class OrderBook(BaseModel):
    """An immutable book snapshot.

    ``bids`` are sorted by price descending and ``asks`` ascending (best first). ``update_id`` is the
    exchange's book nonce (Binance ``lastUpdateId``/``u``); ``exchange_ts`` the exchange's timestamp in ms
    when it has one; ``received_at`` the local monotonic time (seconds) the snapshot was taken.
    """

    model_config = ConfigDict(frozen=True)

    symbol: str
    market: MarketKind
    bids: tuple[Level, ...] = Field(default=())
    asks: tuple[Level, ...] = Field(default=())
    update_id: int | None = None
    exchange_ts: int | None = None
    received_at: float = 0.0

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0][0] if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0][0] if self.asks else None

    @property
    def mid(self) -> Decimal | None:
        """Arithmetic mid of the best bid and ask, or None for a one-sided or empty book."""
        if not self.bids or not self.asks:
            return None
        return (self.bids[0][0] + self.asks[0][0]) / 2

    @property
    def spread(self) -> Decimal | None:
        if not self.bids or not self.asks:
            return None
        return self.asks[0][0] - self.bids[0][0]

    def age(self, now: float) -> float:
        """Seconds since the snapshot was received, by the same monotonic clock as ``received_at``."""
        return max(0.0, now - self.received_at)
