"""Balances, the perp position, tickers and funding, as hedgetui types."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from hedgetui.domain.venue import MarketKind


class Balance(BaseModel):
    """One spot asset: ``free`` to trade, ``used`` in open orders, ``total`` the sum."""

    model_config = ConfigDict(frozen=True)

    asset: str
    free: Decimal
    used: Decimal
    total: Decimal


class FuturesBalance(BaseModel):
    """The USDⓈ-M wallet: balance, margin balance (with unrealized PnL), available margin, margins."""

    model_config = ConfigDict(frozen=True)

    asset: str
    wallet: Decimal
    margin_balance: Decimal
    available: Decimal
    initial_margin: Decimal
    maint_margin: Decimal
    unrealized_pnl: Decimal


class PerpPosition(BaseModel):
    """The one-way perp position. ``amount`` is signed (negative = short) and 0 when flat."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    amount: Decimal
    entry_price: Decimal | None = None
    mark_price: Decimal | None = None
    notional: Decimal = Decimal(0)
    unrealized_pnl: Decimal = Decimal(0)
    leverage: int | None = None
    liquidation_price: Decimal | None = None
    margin_mode: str | None = None
    timestamp: int | None = None

    @property
    def is_flat(self) -> bool:
        """True when no contracts are held."""
        return self.amount == 0


class Ticker(BaseModel):
    """Last trade price and best bid/ask of one market (None where the venue does not say)."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    kind: MarketKind
    last: Decimal | None
    bid: Decimal | None
    ask: Decimal | None
    timestamp: int | None


class FundingInfo(BaseModel):
    """The perp's current funding rate (a fraction per interval), mark and index prices, next funding time."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    rate: Decimal
    mark_price: Decimal
    index_price: Decimal
    next_funding_ms: int | None
    timestamp: int | None
