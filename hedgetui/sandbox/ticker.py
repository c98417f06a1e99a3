"""The 24h ticker statistics the sandbox keeps per book (since it started or was reset)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hedgetui.sandbox.model import Trade

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
