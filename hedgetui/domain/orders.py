"""Orders and fills in hedgetui's own vocabulary (one status set, Decimal everywhere)."""

from __future__ import annotations

import enum
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from hedgetui.domain.venue import MarketKind


class OrderStatus(enum.StrEnum):
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        """True once the exchange will not fill the order any further."""
        return self in (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED)


class Side(enum.StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class Fee(BaseModel):
    model_config = ConfigDict(frozen=True)

    cost: Decimal
    currency: str


class OrderResult(BaseModel):
    """An order as the exchange last reported it."""

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


class TradeFill(BaseModel):
    """One execution of an order."""

    model_config = ConfigDict(frozen=True)

    trade_id: str
    order_id: str
    price: Decimal
    qty: Decimal
    fee: Fee | None = None
    timestamp: int | None = None
    maker: bool | None = None
