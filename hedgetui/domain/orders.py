"""Orders and fills in hedgetui's own vocabulary (one status set, Decimal everywhere)."""

from __future__ import annotations

import enum
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from hedgetui.domain.venue import MarketKind


class OrderStatus(enum.StrEnum):
    """One order status vocabulary for every venue.

    Binance's NEW and PARTIALLY_FILLED are both ``open`` in ccxt; hedgetui keeps them apart because the
    engine treats a partial fill differently (it owns exposure already).
    """

    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        """True once the exchange will not fill the order any further."""
        return self in _TERMINAL


_TERMINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED})


class Side(enum.StrEnum):
    """The direction of an order (ccxt's and Binance's lower-cased words)."""

    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        """The side that undoes this one."""
        return Side.SELL if self is Side.BUY else Side.BUY


class Fee(BaseModel):
    """A commission charged in ``currency`` (spot: often the bought asset; perp: the margin asset)."""

    model_config = ConfigDict(frozen=True)

    cost: Decimal
    currency: str


class TradeFill(BaseModel):
    """One execution of an order: price, base quantity, its fee and whether it rested on the book.

    ``side`` is the trade's own side when the exchange says it (the account's trade list does; it names
    the side of an order hedgetui did not send, such as a liquidation's).
    """

    model_config = ConfigDict(frozen=True)

    trade_id: str
    order_id: str
    price: Decimal
    qty: Decimal
    fee: Fee | None = None
    timestamp: int | None = None
    maker: bool | None = None
    side: Side | None = None


class OrderResult(BaseModel):
    """An order as the exchange last reported it.

    ``amount``/``filled``/``remaining`` are in base units; ``cost`` is the filled quote amount and
    ``average`` the average fill price (None before any fill). ``exchange_status`` is the venue's own word
    (``NEW``, ``PARTIALLY_FILLED``, ...), kept for the journal. ``fees`` is empty when the venue does not
    report fees with the order (Binance perps: fetch the order's trades).
    """

    model_config = ConfigDict(frozen=True)

    order_id: str
    client_order_id: str | None
    symbol: str
    kind: MarketKind
    side: Side
    type: str
    amount: Decimal
    filled: Decimal
    remaining: Decimal
    average: Decimal | None
    cost: Decimal
    status: OrderStatus
    reduce_only: bool = False
    fees: tuple[Fee, ...] = ()
    timestamp: int | None = None
    exchange_status: str | None = None
    #: The order's executions when the exchange sent them with it (a spot FULL answer, or the user data
    #: stream's trade events); empty when they must be read separately.
    trades: tuple[TradeFill, ...] = ()

    @property
    def trades_complete(self) -> bool:
        """True when ``trades`` account for every filled unit (so no trade read is needed)."""
        return self.filled <= 0 or (bool(self.trades) and sum(t.qty for t in self.trades) == self.filled)
