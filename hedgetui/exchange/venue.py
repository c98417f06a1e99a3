"""The venue adapter: one async class over ccxt's real ``binance`` (REST and websockets on one instance).

Live trading, Binance demo trading and the embedded sandbox share this code; only URLs, options and keys
differ (``binance-sandbox-spec.md`` Part B, built in :mod:`hedgetui.exchange.client`). Everything leaving
this class is hedgetui's own types with Decimal fields; every error is a
:class:`~hedgetui.exchange.errors.VenueError`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from decimal import Decimal
from typing import Any, TypeVar

from hedgetui.domain.account import Balance, FundingInfo, FuturesBalance, PerpPosition, Ticker
from hedgetui.domain.account_stream import AccountView
from hedgetui.domain.book import OrderBook
from hedgetui.domain.margin import TransferDirection
from hedgetui.domain.markets import MarketRules
from hedgetui.domain.orders import OrderResult, Side, TradeFill
from hedgetui.domain.pnl import FundingRateRow, IncomeKind, IncomeRecord, SpotKline
from hedgetui.domain.venue import MarketKind
from hedgetui.exchange import parsing, venue_history
from hedgetui.exchange.client import assert_no_retries, build_exchange
from hedgetui.exchange.errors import (
    CANCEL,
    CREATE,
    ORDER_CHANGING,
    READ,
    STREAM,
    TRANSFER,
    Ambiguous,
    Rejected,
    VenueError,
    translate,
)
from hedgetui.exchange.order_checks import check_limit, check_order
from hedgetui.exchange.settings import VenueSettings
from hedgetui.exchange.user_data import UserDataStream
from hedgetui.exchange.venue_history import INCOME_PAGE
from hedgetui.exchange.venue_streams import UserStreamWatches
from hedgetui.redaction import scrub

__all__ = ["INCOME_PAGE", "BinanceVenue", "build_exchange"]

log = logging.getLogger(__name__)
T = TypeVar("T")
Request = Callable[[], Awaitable[Any]]
"""One ccxt call, ready to await."""

_PARSE_DETAIL = 300


class BinanceVenue:
    """hedgetui's door to Binance (live, demo) or the sandbox, through ccxt's ``binance`` class.

    Build it with :meth:`connect` (which loads the markets), or construct it directly and call
    :meth:`load_markets` yourself. ``clock`` stamps ``OrderBook.received_at`` (monotonic seconds).
    """

    def __init__(
        self,
        settings: VenueSettings,
        exchange: Any | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.exchange = exchange if exchange is not None else build_exchange(settings)
        self.clock = clock
        self._secrets = settings.secrets()
        self._rules: dict[MarketKind, MarketRules] = {}
        #: The user data streams (``hedgetui.exchange.user_data``), when started.
        self.user_stream: UserDataStream | None = None
        #: The user data stream watches (ccxt.pro), which the user data stream runs.
        self.watches = UserStreamWatches(self)

    def __repr__(self) -> str:
        s = self.settings
        return f"BinanceVenue(mode={s.mode.value}, spot={s.spot_symbol!r}, perp={s.perp_symbol!r})"

    @classmethod
    async def connect(cls, settings: VenueSettings) -> BinanceVenue:
        """Build the ccxt instance and load both markets (VenueError on failure, the instance closed)."""
        venue = cls(settings)
        try:
            await venue.load_markets()
            if settings.user_stream and settings.api_key is not None:
                venue.start_user_stream()
        except BaseException:
            await venue.close()
            raise
        return venue

    def start_user_stream(self) -> UserDataStream:
        """Start the user data streams (idempotent); they seed themselves over REST in the background."""
        if self.user_stream is None:
            self.user_stream = UserDataStream(self, self.watches, clock=self.clock)
            self.user_stream.start()
        return self.user_stream

    async def close(self) -> None:
        """Close the HTTP session and every websocket (best effort: closing never raises)."""
        if self.user_stream is not None:
            await self.user_stream.stop()
        try:
            await self.exchange.close()
        except Exception as exc:
            log.debug("closing the ccxt instance failed: %s", scrub(str(exc), self._secrets))

    async def _call(self, operation: str, request: Request, parse: Callable[[Any], T]) -> T:
        """Run one ccxt call and read its answer; every failure leaves as a VenueError.

        The VenueError is raised outside the ``except`` block so it carries no chained ccxt exception (whose
        text may hold URLs with signed queries).
        """
        error: VenueError
        try:
            raw = await request()
        except Exception as exc:  # ccxt, aiohttp and asyncio timeouts alike; CancelledError passes
            error = translate(exc, operation=operation, secrets=self._secrets)
        else:
            try:
                return parse(raw)
            except Exception as exc:
                error = self._unreadable(operation, exc)
        raise error

    def _unreadable(self, operation: str, exc: Exception) -> VenueError:
        """An answer we could not read. After an order POST/DELETE the request may well have been applied."""
        if isinstance(exc, parsing.HedgeModeError):
            return VenueError(str(exc), source="HedgeMode", operation=operation)
        detail = scrub(f"{type(exc).__name__}: {exc}", self._secrets).replace("\n", " ")[:_PARSE_DETAIL]
        message = f"could not read the exchange's answer ({detail})"
        cls = Ambiguous if operation in ORDER_CHANGING else VenueError
        return cls(message, source="BadResponse", operation=operation)

    # ---- markets -----------------------------------------------------------------------------------

    async def load_markets(self) -> None:
        """Load spot and USDⓈ-M markets and keep our two symbols' rules (VenueError if either is unknown)."""
        markets: Any = await self._call(READ, lambda: self.exchange.load_markets(), lambda raw: raw)
        rules: dict[MarketKind, MarketRules] = {}
        for kind, wanted in ((MarketKind.SPOT, "spot"), (MarketKind.PERP, "swap")):
            symbol = self.symbol(kind)
            market = markets.get(symbol) if isinstance(markets, dict) else None
            if market is None:
                raise VenueError(f"unknown symbol {symbol}", source="BadSymbol", operation=READ)
            if market.get("type") != wanted or (kind is MarketKind.PERP and not market.get("linear")):
                what = "a spot market" if kind is MarketKind.SPOT else "a linear (USDⓈ-M) perpetual"
                raise VenueError(f"{symbol} is not {what}", source="BadSymbol", operation=READ)
            try:
                rules[kind] = parsing.parse_rules(kind, market)
            except Exception as exc:
                error = self._unreadable(READ, exc)
            else:
                continue
            raise error
        self._rules = rules

    def rules(self, kind: MarketKind) -> MarketRules:
        """The trading rules of one leg (after :meth:`load_markets`)."""
        try:
            return self._rules[kind]
        except KeyError:
            raise VenueError("markets are not loaded", source="NotConnected") from None

    def symbol(self, kind: MarketKind) -> str:
        """The unified ccxt symbol of one leg."""
        return self.settings.spot_symbol if kind is MarketKind.SPOT else self.settings.perp_symbol

    # ---- market data -------------------------------------------------------------------------------

    async def fetch_order_book(self, kind: MarketKind, limit: int = 100) -> OrderBook:
        """A REST snapshot of the top ``limit`` levels a side."""
        symbol = self.symbol(kind)
        return await self._call(
            READ,
            lambda: self.exchange.fetch_order_book(symbol, limit),
            lambda raw: parsing.parse_book(symbol, kind, raw, limit, self.clock()),
        )

    async def watch_order_book(self, kind: MarketKind, limit: int = 100) -> OrderBook:
        """The next update of the live book (ccxt.pro). Raises BookGap after a skipped diff (watch again to
        resubscribe), Disconnected when the stream's connection is lost, other VenueErrors otherwise."""
        symbol = self.symbol(kind)
        return await self._call(
            STREAM,
            lambda: self.exchange.watch_order_book(symbol),
            lambda raw: parsing.parse_book(symbol, kind, raw, limit, self.clock()),
        )

    async def unwatch_order_book(self, kind: MarketKind) -> None:
        """Stop the book stream of one leg (a dead stream is not worth an error)."""
        try:
            await self.exchange.un_watch_order_book(self.symbol(kind))
        except Exception as exc:
            log.debug("unwatch of the %s book failed: %s", kind.value, scrub(str(exc), self._secrets))

    async def fetch_ticker(self, kind: MarketKind) -> Ticker:
        """Last price and best bid/ask (the perp's 24h ticker has none: they come from its bookTicker)."""
        symbol = self.symbol(kind)
        if kind is MarketKind.SPOT:
            return await self._call(
                READ,
                lambda: self.exchange.fetch_ticker(symbol),
                lambda raw: parsing.parse_ticker(symbol, kind, raw),
            )

        async def both() -> tuple[Any, Any]:
            # One after the other: a failure of either leaves no orphaned request behind.
            ticker = await self.exchange.fetch_ticker(symbol)
            quotes = await self.exchange.fetch_bids_asks([symbol])
            return ticker, quotes.get(symbol)

        return await self._call(READ, both, lambda raw: parsing.parse_ticker(symbol, kind, raw[0], raw[1]))

    async def fetch_funding(self) -> FundingInfo:
        """The perp's funding rate, mark and index price and next funding time."""
        symbol = self.settings.perp_symbol
        return await self._call(
            READ,
            lambda: self.exchange.fetch_funding_rate(symbol),
            lambda raw: parsing.parse_funding(symbol, raw),
        )

    async def fetch_funding_interval(self) -> int:
        """The perp's own funding interval in ms.

        Binance lists contracts whose interval differs from 8 h in ``/fapi/v1/fundingInfo``; otherwise the
        interval is read from the last two settlements of ``/fapi/v1/fundingRate``; 8 h when neither says
        (the interval only annualizes figures for the screen: nothing is traded on it).
        """
        return await venue_history.fetch_funding_interval(self)

    async def fetch_funding_rates(self, since_ms: int, limit: int = 1000) -> list[FundingRateRow]:
        """The perp's funding settlements from ``since_ms``, oldest first: the rate each applied and the mark
        then (Binance's ``/fapi/v1/fundingRate`` through ccxt's implicit method, which keeps ``markPrice``)."""
        return await venue_history.fetch_funding_rates(self, since_ms, limit)

    async def fetch_spot_klines(self, since_ms: int, limit: int = 1000) -> list[SpotKline]:
        """The spot market's one-minute klines from ``since_ms``, oldest first (``/api/v3/klines``)."""
        return await venue_history.fetch_spot_klines(self, since_ms, limit)

    # ---- accounts ----------------------------------------------------------------------------------

    async def fetch_income(
        self,
        since_ms: int,
        until_ms: int | None = None,
        kinds: Iterable[IncomeKind] | None = None,
        *,
        all_symbols: bool = False,
    ) -> list[IncomeRecord]:
        """The futures account's income records from ``since_ms`` (inclusive), oldest first.

        Read with Binance's ``/fapi/v1/income`` through ccxt's implicit method, which keeps every field
        (ccxt's unified ledger drops the trade id). Of the perp's symbol unless ``all_symbols`` (transfers
        carry no symbol); ``kinds`` filters by income type. A full page (1000 records) is followed by the
        next from its last record's time; a record seen twice on the page boundary is kept once.
        """
        return await venue_history.fetch_income(self, since_ms, until_ms, kinds, all_symbols=all_symbols)

    async def fetch_spot_balances(self) -> dict[str, Balance]:
        """Every spot asset's free, locked and total balance."""
        return await self._call(READ, lambda: self.exchange.fetch_balance(), parsing.parse_spot_balances)

    async def fetch_futures_balance(self) -> FuturesBalance:
        """The USDⓈ-M wallet in the perp's margin asset."""
        quote = self.rules(MarketKind.PERP).quote
        return await self._call(
            READ,
            lambda: self.exchange.fetch_balance({"type": "swap"}),
            lambda raw: parsing.parse_futures_balance(raw, quote),
        )

    async def fetch_perp_position(self) -> PerpPosition:
        """The one-way perp position, amount signed and 0 when flat.

        Read with ccxt's own signed call of ``GET /fapi/v3/positionRisk`` rather than ``fetch_positions``,
        whose first call in a process waits for ``/fapi/v1/leverageBracket`` first (ccxt derives margin
        fields from the brackets that hedgetui reads from the answer itself): a round trip a cold
        headless command would otherwise spend before its reconciliation could read the legs.
        """
        symbol, market_id = self.settings.perp_symbol, self.rules(MarketKind.PERP).market_id
        return await self._call(
            READ,
            lambda: self.exchange.fapiPrivateV3GetPositionRisk({"symbol": market_id}),
            lambda raw: parsing.parse_position(symbol, parsing.position_rows(symbol, market_id, raw)),
        )

    # ---- orders ------------------------------------------------------------------------------------

    async def _send(self, kind: MarketKind, operation: str, request: Request) -> OrderResult:
        symbol = self.symbol(kind)
        return await self._call(operation, request, lambda raw: parsing.parse_order(symbol, kind, raw))

    async def create_market_order(
        self,
        kind: MarketKind,
        side: Side,
        amount: Decimal,
        client_order_id: str,
        *,
        reduce_only: bool = False,
    ) -> OrderResult:
        """Send a market order with our client order id. Rejected (nothing sent) when the amount is off the
        step or outside the limits; Ambiguous when the order may exist."""
        qty = check_order(self.rules(kind), kind, amount, client_order_id, reduce_only=reduce_only, market_order=True)
        # A resend inside ccxt would duplicate an order POST: check again right before every send.
        assert_no_retries(self.exchange)
        params: dict[str, Any] = {"clientOrderId": client_order_id}
        if reduce_only:
            params["reduceOnly"] = True
        symbol = self.symbol(kind)
        # price=None: a spot market order with a price would be sent as quoteOrderQty (spec §B5).
        return await self._send(
            kind, CREATE, lambda: self.exchange.create_order(symbol, "market", side.value, qty, None, params)
        )

    async def create_limit_order(
        self,
        kind: MarketKind,
        side: Side,
        amount: Decimal,
        price: Decimal,
        client_order_id: str,
        *,
        reduce_only: bool = False,
        time_in_force: str = "GTC",
    ) -> OrderResult:
        """Send a limit order with our client order id (GTC, IOC, FOK; GTX post-only on the perp)."""
        rules = self.rules(kind)
        qty = check_order(rules, kind, amount, client_order_id, reduce_only=reduce_only, market_order=False)
        check_limit(rules, kind, price, time_in_force)
        assert_no_retries(self.exchange)
        params: dict[str, Any] = {"clientOrderId": client_order_id, "timeInForce": time_in_force}
        if reduce_only:
            params["reduceOnly"] = True
        symbol = self.symbol(kind)
        px = format(price, "f")
        return await self._send(
            kind, CREATE, lambda: self.exchange.create_order(symbol, "limit", side.value, qty, px, params)
        )

    @staticmethod
    def _lookup(order_id: str | None, client_order_id: str | None) -> dict[str, Any]:
        if order_id is None and client_order_id is None:
            raise ValueError("give order_id or client_order_id")
        # By client id ccxt sends origClientOrderId and ignores the id argument.
        return {"clientOrderId": client_order_id} if order_id is None else {}

    async def fetch_order(
        self, kind: MarketKind, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderResult:
        """One order by exchange id or by our client id (NotFound when the exchange does not know it)."""
        params = self._lookup(order_id, client_order_id)
        symbol = self.symbol(kind)
        return await self._send(kind, READ, lambda: self.exchange.fetch_order(order_id, symbol, params))

    async def fetch_open_orders(self, kind: MarketKind) -> list[OrderResult]:
        """Every open order of one leg's symbol."""
        symbol = self.symbol(kind)
        return await self._call(
            READ,
            lambda: self.exchange.fetch_open_orders(symbol),
            lambda raw: [parsing.parse_order(symbol, kind, o) for o in raw],
        )

    async def cancel_order(
        self, kind: MarketKind, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderResult:
        """Cancel by exchange id or client id. NotFound when unknown or already final; Ambiguous when the
        answer was lost (the cancel may have happened)."""
        params = self._lookup(order_id, client_order_id)
        symbol = self.symbol(kind)
        assert_no_retries(self.exchange)
        return await self._send(kind, CANCEL, lambda: self.exchange.cancel_order(order_id, symbol, params))

    async def fetch_order_trades(self, kind: MarketKind, order_id: str) -> list[TradeFill]:
        """The fills of one order with their fees (spot myTrades, perp userTrades)."""
        symbol = self.symbol(kind)

        async def request() -> Any:
            if kind is MarketKind.PERP:
                # Perp fees are only in userTrades (spec §B5).
                return await self.exchange.fetch_my_trades(symbol, None, None, {"orderId": order_id})
            return await self.exchange.fetch_order_trades(order_id, symbol)

        return await self._call(READ, request, lambda raw: [parsing.parse_trade(t, order_id) for t in raw])

    async def fetch_perp_trades(self, since_ms: int, limit: int = 100) -> list[TradeFill]:
        """The account's perp trades since ``since_ms`` (any order's: ours, a liquidation's, a manual one)."""
        symbol = self.symbol(MarketKind.PERP)
        return await self._call(
            READ,
            lambda: self.exchange.fetch_my_trades(symbol, since_ms, limit),
            lambda raw: [parsing.parse_trade(t, "") for t in raw],
        )

    async def transfer(self, asset: str, amount: Decimal, direction: TransferDirection) -> str | None:
        """Move ``amount`` of ``asset`` between the spot and the USDⓈ-M futures wallets (ccxt's ``transfer``:
        ``MAIN_UMFUTURE`` / ``UMFUTURE_MAIN``). Returns the exchange's transfer id when it says one.

        Ambiguous when the answer was lost (the money may have moved: re-read both wallets); Rejected when
        the exchange refused it; nothing is sent for an amount that is not positive.
        """
        if not amount.is_finite() or amount <= 0:
            raise Rejected(f"amount {amount} must be positive", source="LocalCheck", operation=TRANSFER)
        assert_no_retries(self.exchange)
        # ccxt's accountsByType: "linear" is UMFUTURE (USDⓈ-M); "future" is not a key and would go as FUTURE.
        source, target = ("spot", "linear") if direction is TransferDirection.TO_FUTURES else ("linear", "spot")
        qty = format(amount, "f")

        def read(raw: Any) -> str | None:
            tran = raw.get("id") if isinstance(raw, dict) else None
            return str(tran) if tran not in (None, "") else None

        return await self._call(TRANSFER, lambda: self.exchange.transfer(asset, qty, source, target), read)

    async def resync_clock(self) -> int:
        """Measure the exchange clock and set ccxt's ``timeDifference``; returns it in ms.

        The value is local minus server time (ccxt signs with ``local - timeDifference``): positive when
        the local clock runs ahead. The midpoint of the round trip stands for the moment the server read
        its clock.
        """
        before = int(time.time() * 1000)
        server = await self._call(READ, lambda: self.exchange.fetch_time(), parsing.to_int)
        after = int(time.time() * 1000)
        if server is None:
            raise VenueError("the exchange did not say its time", source="BadResponse", operation=READ)
        offset = (before + after) // 2 - server
        self.exchange.options["timeDifference"] = offset
        return offset

    async def wait_order(self, kind: MarketKind, client_order_id: str, timeout_s: float) -> OrderResult | None:
        """The order's terminal state with its trades, as its stream events report them; None when there is
        no healthy stream or the events did not arrive within ``timeout_s`` (then poll)."""
        if self.user_stream is None:
            return None
        return await self.user_stream.wait_order(kind, client_order_id, timeout_s)

    async def account_view(self, settle_s: float = 0.0, *, full: bool = False) -> AccountView | None:
        """What the user data stream vouches for (None without a stream); ``settle_s`` waits that long for
        the balance and position changes of the fills it has reported (``full``: and for the re-read of the
        perp position and wallet)."""
        if self.user_stream is None:
            return None
        return await self.user_stream.view(settle_s, full=full)

    def describe_error(self, exc: BaseException) -> str:
        """One line for an operator, with credentials scrubbed."""
        return scrub(str(exc), self._secrets)
