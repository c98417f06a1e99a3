"""The 24h ticker statistics the sandbox keeps per book (since it started or was reset), and the ticker
:meth:`ExchangeCore.ticker_24h` reports from them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from hedgetui.sandbox.model import Market, Trade

if TYPE_CHECKING:
    from hedgetui.sandbox.core import ExchangeCore

ZERO = Decimal(0)


@dataclass
class TickerStats:
    """The 24h ticker of one book: open, range, last trade, volumes and trade ids.

    Only trades of orders count; external position changes (order id -1) are not market trades.
    """

    open: Decimal
    open_time: int
    high: Decimal
    low: Decimal
    last: Decimal | None = None
    last_qty: Decimal = ZERO
    volume: Decimal = ZERO
    quote_volume: Decimal = ZERO
    first_trade_id: int = -1
    last_trade_id: int = -1
    count: int = 0

    def see_price(self, price: Decimal) -> None:
        """Widen the day's range to a mid or trade price."""
        if price > self.high:
            self.high = price
        elif price < self.low:
            self.low = price

    def see_trade(self, trade: Trade) -> None:
        """Count one trade of an order."""
        self.see_price(trade.price)
        self.last, self.last_qty = trade.price, trade.qty
        self.volume += trade.qty
        self.quote_volume += trade.quote_qty
        if self.first_trade_id < 0:
            self.first_trade_id = trade.trade_id
        self.last_trade_id = trade.trade_id
        self.count += 1


def ticker_24h(core: ExchangeCore, market: Market, symbol: str) -> dict[str, Decimal | int]:
    """Rolling statistics since the core started: open, high, low, last, volumes, trade ids, count
    (:meth:`ExchangeCore.ticker_24h`)."""
    sym = core._market(symbol)
    stats = sym.stats[market]
    last = stats.last if stats.last is not None else sym.rounded_mid(market)
    return {
        "open": stats.open,
        "high": max(stats.high, last),
        "low": min(stats.low, last),
        "last": last,
        "last_qty": stats.last_qty,
        "volume": stats.volume,
        "quote_volume": stats.quote_volume,
        "weighted_avg": stats.quote_volume / stats.volume if stats.volume else last,
        "open_time": stats.open_time,
        "close_time": core.now(),
        "first_trade_id": stats.first_trade_id,
        "last_trade_id": stats.last_trade_id,
        "count": stats.count,
    }
