"""A market's trading rules as the exchange states them: tick, step, minimums and maximums."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from hedgetui.domain.venue import MarketKind


class MarketRules(BaseModel):
    """Filters of one market (Binance's PRICE_FILTER, LOT_SIZE, MARKET_LOT_SIZE and NOTIONAL).

    ``symbol`` is the unified symbol (``BTC/USDT``, ``BTC/USDT:USDT``), ``market_id`` the exchange's id
    (``BTCUSDT`` for both). ``max_qty``/``market_max_qty`` are None when the exchange sets no limit.
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
