"""What the engine needs from a venue, as a protocol.

``hedgetui.exchange.venue.BinanceVenue`` satisfies it over ccxt; the engine's property tests use an
in-process simulated venue with injectable faults. Every method returns hedgetui's domain types and raises
only ``hedgetui.exchange.errors.VenueError`` subclasses.

The user data stream is part of the port as two questions a venue without a stream answers with None
(:meth:`VenuePort.wait_order`, :meth:`VenuePort.account_view`): an event is the exchange's word, so it
confirms a fill; its absence only means "ask over REST". :class:`MarketFeed` offers streamed books and
funding the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Protocol

from hedgetui.domain.account import Balance, FundingInfo, FuturesBalance, PerpPosition
from hedgetui.domain.account_stream import AccountView
from hedgetui.domain.book import OrderBook
from hedgetui.domain.margin import TransferDirection
from hedgetui.domain.markets import MarketRules
from hedgetui.domain.orders import OrderResult, Side, TradeFill
from hedgetui.domain.pnl import FundingRateRow, IncomeKind, IncomeRecord, SpotKline
from hedgetui.domain.venue import MarketKind


class VenuePort(Protocol):
    def rules(self, kind: MarketKind) -> MarketRules: ...

    def symbol(self, kind: MarketKind) -> str: ...

    async def fetch_order_book(self, kind: MarketKind, limit: int = 100) -> OrderBook: ...

    async def fetch_funding(self) -> FundingInfo: ...

    async def fetch_funding_interval(self) -> int: ...

    async def fetch_funding_rates(self, since_ms: int, limit: int = 1000) -> list[FundingRateRow]:
        """The perp's funding settlements from ``since_ms``, oldest first, with the rate and mark of each."""
        ...

    async def fetch_spot_klines(self, since_ms: int, limit: int = 1000) -> list[SpotKline]:
        """The spot market's one-minute klines from ``since_ms``, oldest first."""
        ...

    async def fetch_income(
        self,
        since_ms: int,
        until_ms: int | None = None,
        kinds: Iterable[IncomeKind] | None = None,
        *,
        all_symbols: bool = False,
    ) -> list[IncomeRecord]: ...

    async def fetch_spot_balances(self) -> dict[str, Balance]: ...

    async def fetch_futures_balance(self) -> FuturesBalance: ...

    async def fetch_perp_position(self) -> PerpPosition: ...

    async def create_market_order(
        self,
        kind: MarketKind,
        side: Side,
        amount: Decimal,
        client_order_id: str,
        *,
        reduce_only: bool = False,
    ) -> OrderResult: ...

    async def fetch_order(
        self, kind: MarketKind, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderResult: ...

    async def fetch_open_orders(self, kind: MarketKind) -> list[OrderResult]: ...

    async def cancel_order(
        self, kind: MarketKind, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderResult: ...

    async def fetch_order_trades(self, kind: MarketKind, order_id: str) -> list[TradeFill]: ...

    async def fetch_perp_trades(self, since_ms: int, limit: int = 100) -> list[TradeFill]:
        """The account's perp trades since ``since_ms``, whoever's order they belong to."""
        ...

    async def transfer(self, asset: str, amount: Decimal, direction: TransferDirection) -> str | None:
        """Move ``amount`` of ``asset`` between the spot and futures wallets; the exchange's id if given."""
        ...

    async def resync_clock(self) -> int: ...

    # ---- the user data stream (a venue without one answers None: the engine then polls and reads) ----

    async def wait_order(self, kind: MarketKind, client_order_id: str, timeout_s: float) -> OrderResult | None:
        """The order's terminal state with its executions (``OrderResult.trades``, commissions included) as
        the exchange pushed them; None at once without a healthy stream, or when nothing came in time."""
        ...

    async def account_view(self, settle_s: float = 0.0, *, full: bool = False) -> AccountView | None:
        """What the venue's account stream vouches for (None: no stream). ``settle_s`` waits for the account
        changes of fills already pushed; ``full`` also for the perp position's and wallet's re-read."""
        ...


class MarketFeed(Protocol):
    """Live market data the engine may decide on instead of reading it (the dashboard's streamed books).
    Each answer is fresh by the feed's own health rules, or None (then the engine reads over REST)."""

    def fresh_book(self, kind: MarketKind) -> OrderBook | None: ...

    def fresh_funding(self) -> FundingInfo | None: ...
