"""The sandbox exchange's matching core: moving books, orders, fills, fees, accounts, margin and control.

Pure Python and deterministic: the same seed, the same calls and the same clock give the same books,
prices and fills. No HTTP and no asyncio here; ``hedgetui.sandbox.server`` speaks Binance's API over it.

Rules the property tests hold it to:

- every balance change is a trade (user fills, liquidations and external adjustments) or a fee;
- no balance goes negative: an order that would make one negative is rejected, never half-booked;
- a rejected request leaves no trace (Binance does not store rejected orders);
- every visible change of a book is exactly one :class:`DepthDiff` (update id + 1), so a client that
  applies every diff after a snapshot holds exactly :meth:`ExchangeCore.depth`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

from hedgetui.sandbox import adjustments
from hedgetui.sandbox.accounts import ZERO, FuturesAccount, MarginAccount, PositionView, SpotWallet
from hedgetui.sandbox.book import Book
from hedgetui.sandbox.coreconfig import CoreConfig
from hedgetui.sandbox.eventbatch import flush_user_events, futures_state
from hedgetui.sandbox.filters import MARGIN_INSUFFICIENT
from hedgetui.sandbox.funding import FundingSchedule, settle_funding, settle_now
from hedgetui.sandbox.heldorders import fill_rest
from hedgetui.sandbox.income import IncomeLedger, IncomeRecord
from hedgetui.sandbox.liquidation import liquidate_if_due
from hedgetui.sandbox.model import (
    KNOWN_SYMBOLS,
    DepthDiff,
    Execution,
    Market,
    Order,
    OrderEvent,
    OrderStatus,
    OrderType,
    SandboxError,
    Side,
    SymbolSpec,
    TimeInForce,
    Trade,
    UserEvent,
)
from hedgetui.sandbox.orderentry import place_order
from hedgetui.sandbox.resting import close_order, fill_crossed
from hedgetui.sandbox.symbolmarket import MARKETS, SymbolMarket
from hedgetui.sandbox.ticker import ticker_24h
from hedgetui.sandbox.transfers import transfer as transfer_between_wallets

__all__ = ["CoreConfig", "ExchangeCore"]

FIRST_ORDER_ID = 4_000_000_001
FIRST_TRADE_ID = 900_001
FIRST_BOOK_ID = 1_000_000
MIN_LEVELS = 100


class ExchangeCore:
    """The exchange: for every configured symbol a spot and a perp book on one price walk; spot balances,
    a USDⓈ-M cross-margin wallet with one-way positions; orders, trades and the control operations."""

    def __init__(self, config: CoreConfig, clock: Callable[[], int] | None = None) -> None:
        unknown = [s for s in config.symbols if s not in KNOWN_SYMBOLS]
        if unknown:
            raise ValueError(f"unknown symbol {unknown[0]}")
        if config.levels < MIN_LEVELS:
            raise ValueError(f"levels must be at least {MIN_LEVELS}")
        if not config.symbols:
            raise ValueError("at least one symbol is needed")
        self.config = config
        self.specs: dict[str, SymbolSpec] = {s: KNOWN_SYMBOLS[s] for s in config.symbols}
        self._clock: Callable[[], int] = clock or (lambda: int(time.time() * 1000))
        self._listeners: list[Callable[[DepthDiff], None]] = []
        self._user_listeners: list[Callable[[list[UserEvent]], None]] = []
        books = {
            s: {m: Book(m, s, spec.tick(m), spec.step(m), FIRST_BOOK_ID) for m in MARKETS}
            for s, spec in self.specs.items()
        }
        self._start(books)
        self._commit(self.now())

    def _start(self, books: dict[str, dict[Market, Book]]) -> None:
        """(Re)build the start state on these books (their update ids carry on)."""
        now = self.now()
        #: When this exchange opened or was reset (epoch ms): funding history starts here.
        self.started_at = now
        #: The funding times and the settlements that happened.
        self.funding = FundingSchedule(self.config.funding_interval_ms, now)
        #: Every change of the futures wallet (``GET /fapi/v1/income``).
        self.income = IncomeLedger()
        #: The ACCOUNT_UPDATE reason of the operation in progress, when it is not an order's or an adjustment.
        self._account_reason: str | None = None
        self._markets = {s: SymbolMarket(spec, self.config, books[s], now) for s, spec in self.specs.items()}
        assets = {"USDT"} | {spec.base for spec in self.specs.values()} | {spec.quote for spec in self.specs.values()}
        self._spot = SpotWallet(self.config.spot_balances, assets)
        self._futures = MarginAccount(self.config.futures_wallet, self.specs, self.config.default_leverage)
        self._orders: list[Order] = []
        self._by_id: dict[int, Order] = {}
        self._by_client_id: dict[tuple[Market, str, str], list[Order]] = {}
        self._open: dict[int, Order] = {}  # resting limit orders and held market orders, in arrival order
        self._trades: list[Trade] = []
        self._order_ids = FIRST_ORDER_ID
        self._trade_ids = FIRST_TRADE_ID
        # User data stream bookkeeping: events of the operation in progress, and the account as last reported.
        self._pending: list[UserEvent] = []
        self._reported_spot = self._spot.snapshot()
        self._reported_futures = futures_state(self)

    # ---- time and listeners ------------------------------------------------------------------------

    def now(self) -> int:
        """The exchange's clock in epoch milliseconds."""
        return int(self._clock())

    def add_depth_listener(self, cb: Callable[[DepthDiff], None]) -> None:
        """Call ``cb`` synchronously with every DepthDiff of every book from now on."""
        self._listeners.append(cb)

    def remove_depth_listener(self, cb: Callable[[DepthDiff], None]) -> None:
        if cb in self._listeners:
            self._listeners.remove(cb)

    def add_user_listener(self, cb: Callable[[list[UserEvent]], None]) -> None:
        """Call ``cb`` with the user events of each operation (order changes first, then the account
        changes they caused), once per operation that produced any."""
        self._user_listeners.append(cb)

    def remove_user_listener(self, cb: Callable[[list[UserEvent]], None]) -> None:
        if cb in self._user_listeners:
            self._user_listeners.remove(cb)

    def _commit(self, now: int) -> None:
        for sym in self._markets.values():
            for book in sym.books.values():
                diff = book.commit(now)
                if diff is not None:
                    for cb in list(self._listeners):
                        cb(diff)
        self._flush_user_events(now)

    def _order_event(
        self, order: Order, execution: Execution, now: int, trade: Trade | None = None, cancel_id: str | None = None
    ) -> None:
        self._pending.append(
            OrderEvent(order, execution, order.status, order.executed_qty, order.cum_quote, trade, now, cancel_id)
        )

    def _flush_user_events(self, now: int) -> None:
        """Append the account changes (found by comparing with the last report) and hand the batch out."""
        flush_user_events(self, now)

    def _market(self, symbol: str) -> SymbolMarket:
        sym = self._markets.get(symbol)
        if sym is None:
            raise SandboxError(-1121, "Invalid symbol.")
        return sym

    # ---- market data -------------------------------------------------------------------------------

    def tick(self) -> None:
        """One step of the walk for every symbol: both books follow their mids, resting orders the market
        crossed fill as makers, under-margined accounts are liquidated; one diff per changed book."""
        now = self.now()
        due = self.funding.due(now)
        for t in due:
            settle_funding(self, t)
        if due:
            self._flush_user_events(now)  # funding is its own ACCOUNT_UPDATE, before this tick's fills
        for sym in self._markets.values():
            sym.walk.step()
            self._follow(sym, now)
        self._liquidate_if_due(now)
        for order in [o for o in self._open.values() if o.good_till and o.good_till <= now]:
            close_order(self, order, OrderStatus.EXPIRED, now)  # GTD reached its goodTillDate
        self._commit(now)

    def _follow(self, sym: SymbolMarket, now: int) -> None:
        for market in MARKETS:
            mid = sym.mid(market)
            liquidity = sym.liquidity[market]
            fill_crossed(self, sym, market, *liquidity.top(mid), now)
            liquidity.follow(mid)
            sym.stats[market].see_price(sym.rounded_mid(market))

    def depth(
        self, market: Market, symbol: str, limit: int
    ) -> tuple[int, list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """``(last_update_id, bids best first, asks best first)``, at most ``limit`` levels a side,
        resting user orders included."""
        book = self._market(symbol).books[market]
        return book.update_id, book.levels(True, limit), book.levels(False, limit)

    def best_bid_ask(self, market: Market, symbol: str) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """Best bid, its quantity, best ask, its quantity (0 for an empty side)."""
        book = self._market(symbol).books[market]
        bid, bid_qty = book.best(True)
        ask, ask_qty = book.best(False)
        return bid, bid_qty, ask, ask_qty

    def mid_price(self, market: Market, symbol: str) -> Decimal:
        """The market's fair mid (the walk, not the book) rounded to the market's tick."""
        return self._market(symbol).rounded_mid(market)

    def mark_price(self, symbol: str) -> Decimal:
        """The perp mid rounded to the perp tick."""
        return self.mid_price(Market.FUTURES, symbol)

    def index_price(self, symbol: str) -> Decimal:
        """The spot mid rounded to the spot tick."""
        return self.mid_price(Market.SPOT, symbol)

    def funding_rate(self, symbol: str) -> Decimal:
        return self._market(symbol).walk.funding

    def next_funding_time(self) -> int:
        """The first funding time after now, in ms (8 h schedule: the next 00:00, 08:00 or 16:00 UTC)."""
        return self.funding.after(self.now())

    def settle_funding(self, rate: Decimal | None = None) -> list[IncomeRecord]:
        """Settle funding now, off the schedule (the control API's ``POST /sandbox/funding``): every open
        position pays or receives at the current mark and rate (or ``rate`` for every symbol); the
        scheduled times carry on. Returns the FUNDING_FEE records booked."""
        return settle_now(self, rate)

    def ticker_24h(self, market: Market, symbol: str) -> dict[str, Decimal | int]:
        """Rolling statistics since the core started: open, high, low, last, volumes, trade ids, count."""
        return ticker_24h(self, market, symbol)

    # ---- orders ------------------------------------------------------------------------------------

    def place_order(
        self,
        market: Market,
        symbol: str,
        side: Side,
        type: OrderType,
        *,
        quantity: Decimal | None,
        client_order_id: str,
        quote_order_qty: Decimal | None = None,
        price: Decimal | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
        reduce_only: bool = False,
        fill_limit: Decimal | None = None,
        good_till: int = 0,
    ) -> Order:
        """Validate, then execute an order as Binance would (:func:`hedgetui.sandbox.orderentry.place_order`)."""
        return place_order(
            self,
            market,
            symbol,
            side,
            type,
            quantity=quantity,
            client_order_id=client_order_id,
            quote_order_qty=quote_order_qty,
            price=price,
            time_in_force=time_in_force,
            reduce_only=reduce_only,
            fill_limit=fill_limit,
            good_till=good_till,
        )

    def _register(self, order: Order, now: int) -> None:
        """Index an accepted order (its id is the next order id) and report it NEW."""
        self._order_ids += 1
        self._orders.append(order)
        self._by_id[order.order_id] = order
        self._by_client_id.setdefault((order.market, order.symbol, order.client_order_id), []).append(order)
        self._order_event(order, Execution.NEW, now)

    # ---- lookups, cancels, held orders --------------------------------------------------------------

    def get_order(
        self, market: Market, symbol: str, *, order_id: int | None = None, client_order_id: str | None = None
    ) -> Order:
        """An order by id, or the most recent one with that client id; -2013 when there is none."""
        self._market(symbol)
        if order_id is not None:
            order = self._by_id.get(order_id)
            if order is not None and order.market is market and order.symbol == symbol:
                return order
        elif client_order_id is not None:
            same = self._by_client_id.get((market, symbol, client_order_id))
            if same:
                return same[-1]
        else:
            raise SandboxError(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
        raise SandboxError(-2013, "Order does not exist.")

    def cancel_order(
        self,
        market: Market,
        symbol: str,
        *,
        order_id: int | None = None,
        client_order_id: str | None = None,
        cancel_client_id: str | None = None,
    ) -> Order:
        """Cancel an open order, releasing its funds; -2011 when unknown or already final.
        ``cancel_client_id`` is the cancel request's own id (spot reports it in the executionReport)."""
        try:
            order = self.get_order(market, symbol, order_id=order_id, client_order_id=client_order_id)
        except SandboxError as exc:
            if exc.code != -2013:
                raise
            raise SandboxError(-2011, "Unknown order sent.") from None
        if not order.status.is_open:
            raise SandboxError(-2011, "Unknown order sent.")
        now = self.now()
        close_order(self, order, OrderStatus.CANCELED, now, cancel_client_id)
        self._commit(now)
        return order

    def _held(self, market: Market, order_id: int) -> Order:
        order = self._by_id.get(order_id)
        if order is None or order.market is not market:
            raise SandboxError(-2013, "Order does not exist.")
        return order

    def fill_rest(self, market: Market, order_id: int) -> Order:
        """Execute the remainder of a held MARKET order at the current book (the server's ``partial``).

        What the book or the account cannot carry now (an empty book, funds spent meanwhile, a reduce-only
        order whose position shrank) is expired, as Binance expires what a market order cannot fill.
        A finished order (or a limit order) is returned unchanged.
        """
        return fill_rest(self, market, self._held(market, order_id))

    def expire_order(self, market: Market, order_id: int) -> Order:
        """Expire an open (held) order, releasing what it holds; a finished order is returned unchanged."""
        order = self._held(market, order_id)
        if order.status.is_open:
            now = self.now()
            close_order(self, order, OrderStatus.EXPIRED, now)
            self._commit(now)
        return order

    def open_orders(self, market: Market, symbol: str | None) -> list[Order]:
        """Open orders of one market (one symbol, or all with ``None``), in arrival order."""
        if symbol is not None:
            self._market(symbol)
        return [o for o in self._open.values() if o.market is market and (symbol is None or o.symbol == symbol)]

    def orders(self) -> list[Order]:
        """Every order ever received (both markets) in arrival order; rejected requests are not orders."""
        return list(self._orders)

    def trades(
        self, market: Market | None = None, symbol: str | None = None, order_id: int | None = None
    ) -> list[Trade]:
        """Every trade, optionally of one market, symbol or order, in execution order."""
        return [
            t
            for t in self._trades
            if (market is None or t.market is market)
            and (symbol is None or t.symbol == symbol)
            and (order_id is None or t.order_id == order_id)
        ]

    # ---- accounts ----------------------------------------------------------------------------------

    def spot_balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        """Every known asset -> (free, locked)."""
        return self._spot.snapshot()

    def _marks(self) -> dict[str, Decimal]:
        return {s: self.mark_price(s) for s in self.specs}

    def _open_order_margin(self, marks: dict[str, Decimal]) -> Decimal:
        margin = ZERO
        for o in self._open.values():
            if o.market is Market.FUTURES and not o.reduce_only:
                price = o.price if o.type is not OrderType.MARKET else marks[o.symbol]
                margin += o.remaining * price / self._futures.positions[o.symbol].leverage
        return margin

    def futures_account(self) -> FuturesAccount:
        """The USDT cross-margin account at the current marks."""
        marks = self._marks()
        return self._futures.account(marks, self._open_order_margin(marks))

    def position(self, symbol: str) -> PositionView:
        """One symbol's position at the current mark (amount 0 when flat)."""
        self._market(symbol)
        return self._futures.view(symbol, self._marks())

    def positions(self) -> list[PositionView]:
        """Every configured symbol's position, flat ones included."""
        marks = self._marks()
        return [self._futures.view(s, marks) for s in self.specs]

    def leverage(self, symbol: str) -> int:
        self._market(symbol)
        return self._futures.positions[symbol].leverage

    def set_leverage(self, symbol: str, leverage: int) -> int:
        """Change a symbol's leverage (``POST /fapi/v1/leverage``); refused if the margin would not carry it."""
        spec = self._market(symbol).spec
        if not 1 <= leverage <= spec.max_leverage:
            raise SandboxError(-4028, f"Leverage {leverage} is not valid")
        pos = self._futures.positions[symbol]
        previous, pos.leverage = pos.leverage, leverage
        account = self.futures_account()
        if leverage < previous and account.margin_balance < account.initial_margin:
            pos.leverage = previous
            raise SandboxError(-2019, MARGIN_INSUFFICIENT)
        return leverage

    def _liquidate_if_due(self, now: int) -> None:
        """Cross margin: below the maintenance margin every position is closed by a liquidation order
        (``liquidation.py``) and every open futures order expires."""
        liquidate_if_due(self, now)

    def transfer_futures(self, kind: str, asset: str, amount: Decimal) -> int:
        """``POST /sapi/v1/asset/transfer``: ``MAIN_UMFUTURE`` or ``UMFUTURE_MAIN``; returns the tranId."""
        return transfer_between_wallets(self, kind, asset, amount)

    # ---- control -----------------------------------------------------------------------------------

    def set_position(self, symbol: str, amount: Decimal, price: Decimal | None = None) -> PositionView:
        """Change the perp position from outside (liquidation, ADL, a manual trade elsewhere).

        Booked as one trade with order id -1 at ``price`` (default: the mark) and no fee, so realised PnL
        reaches the wallet the same way as for any fill.
        """
        return adjustments.set_position(self, symbol, amount, price)

    def transfer(self, asset: str, delta: Decimal) -> None:
        """Deposit into (``delta`` > 0) or withdraw from the spot wallet: Binance's ``balanceUpdate``."""
        adjustments.transfer(self, asset, delta)

    def move_market(self, symbol: str, move_bps: Decimal) -> None:
        """Move spot and perp by ``move_bps`` at once; crossed resting orders fill, margin is checked."""
        adjustments.move_market(self, symbol, move_bps)

    def set_depth_factor(self, symbol: str, factor: Decimal) -> None:
        """Scale every level of both books by ``factor`` (> 0) relative to the normal shape; later ticks
        keep it (1 restores the normal depth)."""
        adjustments.set_depth_factor(self, symbol, factor)

    def reset(self) -> None:
        """Back to the start state: balances, positions, orders, trades, prices (same seed), depth factor 1.
        Book update ids carry on, so streaming clients see the reset as one more diff per book."""
        books = {s: sym.books for s, sym in self._markets.items()}
        for per_market in books.values():
            for book in per_market.values():
                for side in (book.bids, book.asks):
                    for u, qty in list(side.user.items()):
                        side.add_user(u, -qty)
        self._start(books)
        self._commit(self.now())
