"""Klines: one-minute candles of each market's price, kept from the sandbox's start, served by interval.

The synthetic books do not trade by themselves, so a candle's prices follow the market's mid (sampled at
every tick) and its volume is the account's own trades, which is what the sandbox has to report.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from hedgetui.sandbox.model import Market, OrderEvent, SandboxError, UserEvent

MINUTE_MS = 60_000
#: Binance's intervals the sandbox serves (1s and 1M are not: candles are kept per minute).
INTERVALS_MS = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "2h": 120 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "6h": 360 * MINUTE_MS,
    "8h": 480 * MINUTE_MS,
    "12h": 720 * MINUTE_MS,
    "1d": 1440 * MINUTE_MS,
    "3d": 3 * 1440 * MINUTE_MS,
    "1w": 7 * 1440 * MINUTE_MS,
}
#: One week of minutes per market and symbol.
KEPT_MINUTES = 7 * 1440
ZERO = Decimal(0)


@dataclass
class Candle:
    """One interval: open time, prices, base and quote volume, trade count, taker-buy volumes."""

    open_time: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal = ZERO
    quote_volume: Decimal = ZERO
    trades: int = 0
    taker_buy_volume: Decimal = ZERO
    taker_buy_quote: Decimal = ZERO

    def see(self, price: Decimal) -> None:
        """A new price inside this candle."""
        self.high, self.low, self.close = max(self.high, price), min(self.low, price), price


class Candles:
    """Per market and symbol, the last week of one-minute candles."""

    def __init__(self) -> None:
        self._minutes: dict[tuple[Market, str], deque[Candle]] = {}

    def clear(self) -> None:
        """Forget every candle (sandbox reset)."""
        self._minutes.clear()

    def _candle(self, market: Market, symbol: str, now: int, price: Decimal) -> Candle:
        row = self._minutes.setdefault((market, symbol), deque(maxlen=KEPT_MINUTES))
        start = now - now % MINUTE_MS
        if not row or row[-1].open_time < start:
            row.append(Candle(start, price, price, price, price))
        return row[-1]

    def see_price(self, market: Market, symbol: str, now: int, price: Decimal) -> None:
        """Sample a market's price (every tick)."""
        self._candle(market, symbol, now, price).see(price)

    def on_user_events(self, batch: list[UserEvent]) -> None:
        """The core's user listener: the account's trades are the candles' volume."""
        for ev in batch:
            if isinstance(ev, OrderEvent) and ev.trade is not None:
                t = ev.trade
                c = self._candle(t.market, t.symbol, t.time, t.price)
                c.see(t.price)
                c.volume += t.qty
                c.quote_volume += t.quote_qty
                c.trades += 1
                if not t.is_maker and t.side.value == "BUY":
                    c.taker_buy_volume += t.qty
                    c.taker_buy_quote += t.quote_qty

    def klines(
        self, market: Market, symbol: str, interval: str, start: int | None, end: int | None, limit: int
    ) -> list[Candle]:
        """Candles of ``interval`` (oldest first): from ``start`` on, else the most recent ``limit`` up to ``end``."""
        step = INTERVALS_MS.get(interval)
        if step is None:
            raise SandboxError(-1120, "Invalid interval.")
        merged: list[Candle] = []
        for m in self._minutes.get((market, symbol), ()):
            if (start is not None and m.open_time < start - start % step) or (end is not None and m.open_time > end):
                continue
            # Weeks start on Monday 00:00 UTC on Binance; the epoch was a Thursday.
            offset = 4 * 1440 * MINUTE_MS if interval == "1w" else 0
            open_time = m.open_time - (m.open_time - offset) % step
            if merged and merged[-1].open_time == open_time:
                c = merged[-1]
                c.see(m.high)
                c.see(m.low)
                c.see(m.close)
                c.volume += m.volume
                c.quote_volume += m.quote_volume
                c.trades += m.trades
                c.taker_buy_volume += m.taker_buy_volume
                c.taker_buy_quote += m.taker_buy_quote
            else:
                merged.append(Candle(open_time, m.open, m.high, m.low, m.close, m.volume, m.quote_volume, m.trades))
                merged[-1].taker_buy_volume, merged[-1].taker_buy_quote = m.taker_buy_volume, m.taker_buy_quote
        return merged[:limit] if start is not None else merged[-limit:]
