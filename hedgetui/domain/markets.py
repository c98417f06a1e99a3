"""A market's trading rules as the exchange states them: tick, step, minimums and maximums."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, model_validator

from hedgetui.domain.venue import MarketKind


class MarketRules(BaseModel):
    """Filters of one market (Binance's PRICE_FILTER, LOT_SIZE, MARKET_LOT_SIZE and NOTIONAL).

    ``symbol`` is the unified symbol (``BTC/USDT``, ``BTC/USDT:USDT``), ``market_id`` the exchange's id
    (``BTCUSDT`` for both). ``max_qty`` (LOT_SIZE) and ``market_max_qty`` (MARKET_LOT_SIZE) are None when
    the exchange sets no limit.
    """

    model_config = ConfigDict(frozen=True)

    symbol: str
    market_id: str
    kind: MarketKind
    base: str
    quote: str
    tick: Decimal
    step: Decimal
    min_qty: Decimal
    max_qty: Decimal | None = None
    market_max_qty: Decimal | None = None
    min_notional: Decimal = Decimal(0)

    @model_validator(mode="after")
    def _positive_increments(self) -> MarketRules:
        # A zero step or tick would make every multiple check pass (x % 0 raises, x == 0 is "aligned"):
        # refuse such rules at the door rather than trade on them.
        if self.tick <= 0 or self.step <= 0:
            raise ValueError(f"{self.symbol}: tick {self.tick} and step {self.step} must be positive")
        if self.min_qty < 0 or self.min_notional < 0:
            raise ValueError(f"{self.symbol}: minimums cannot be negative")
        return self

    def is_step_multiple(self, qty: Decimal) -> bool:
        """True when ``qty`` is a whole number of lot steps (what the exchange accepts without truncation)."""
        return qty % self.step == 0

    def is_tick_multiple(self, price: Decimal) -> bool:
        """True when ``price`` lies on the price grid."""
        return price % self.tick == 0

    def max_for(self, *, market_order: bool) -> Decimal | None:
        """The largest quantity one order may carry: MARKET_LOT_SIZE for market orders when it is tighter."""
        if market_order and self.market_max_qty is not None:
            if self.max_qty is None:
                return self.market_max_qty
            return min(self.max_qty, self.market_max_qty)
        return self.max_qty
