"""The sandbox exchange's matching core: books, a moving market, accounts, orders, fees and margin.

Pure Python and deterministic: the same seed, the same calls and the same clock give the same books,
prices and fills. No HTTP here; ``hedgetui.sandbox.server`` speaks Binance's API over it.

Accounting rules (checked by property tests): every balance change comes from a trade or a fee; no balance
goes negative (the order is rejected instead); a rejected request leaves no trace.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

from hedgetui.sandbox.book import Book
from hedgetui.sandbox.model import (
    KNOWN_SYMBOLS,
    DepthDiff,
    Market,
    Order,
    OrderStatus,
    OrderType,
    Position,
    SandboxError,
    Side,
    SymbolSpec,
    TimeInForce,
    Trade,
)

ZERO = Decimal(0)
BPS = Decimal(10_000)
CID_RE = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
FUNDING_INTERVAL_MS = 8 * 3600 * 1000
#: Distance between synthetic levels, in USD, for every market (a realistic-looking ladder).
LEVEL_SPACING_USD = Decimal("1")


@dataclass
class CoreConfig:
    symbols: tuple[str, ...] = ("BTCUSDT",)
    seed: int = 7
    spot_balances: dict[str, Decimal] = field(default_factory=lambda: {"USDT": Decimal("100000")})
    futures_wallet: Decimal = Decimal("100000")
    spot_taker_fee: Decimal = Decimal("0.001")
    spot_maker_fee: Decimal = Decimal("0.001")
    futures_taker_fee: Decimal = Decimal("0.0005")
    futures_maker_fee: Decimal = Decimal("0.0002")
    default_leverage: int = 20
    levels: int = 120
    volatility_bps: Decimal = Decimal("1.5")
    basis_bps: Decimal = Decimal("5")
    funding_rate: Decimal = Decimal("0.0001")
    strict_client_ids: bool = False


@dataclass(frozen=True)
class FuturesAccount:
    wallet_balance: Decimal
    unrealized_pnl: Decimal
    margin_balance: Decimal
    position_initial_margin: Decimal
    open_order_initial_margin: Decimal
    initial_margin: Decimal
    maint_margin: Decimal
    available_balance: Decimal


@dataclass(frozen=True)
class PositionView:
    symbol: str
    amount: Decimal
    entry_price: Decimal
    mark_price: Decimal
    unrealized_pnl: Decimal
    notional: Decimal
    leverage: int
    initial_margin: Decimal
    maint_margin: Decimal
    liquidation_price: Decimal
    update_time: int


def _q(value: Decimal, step: Decimal, rounding: str = ROUND_DOWN) -> Decimal:
    return (value / step).to_integral_value(rounding=rounding) * step


def _is_multiple(value: Decimal, step: Decimal) -> bool:
    return (value / step) == (value / step).to_integral_value()


class _SymbolMarket:
    """The moving market of one symbol: a spot book, a perp book and the random walk behind both."""

    def __init__(self, spec: SymbolSpec, cfg: CoreConfig, rng: random.Random) -> None:
        self.spec = spec
        self.cfg = cfg
        self.rng = rng
        self.mid = spec.start_price
        self.basis_bps = cfg.basis_bps
        self.funding = cfg.funding_rate
        self.depth_factor = Decimal(1)
        self.books = {Market.SPOT: Book(Market.SPOT, spec.symbol), Market.FUTURES: Book(Market.FUTURES, spec.symbol)}
        # Target quantity per (market, side, price): consumed liquidity grows back towards it.
        self.targets: dict[tuple[Market, str, Decimal], Decimal] = {}

    def perp_mid(self) -> Decimal:
        return self.mid * (1 + self.basis_bps / BPS)

    def market_mid(self, market: Market) -> Decimal:
        return self.mid if market is Market.SPOT else self.perp_mid()

    def base_qty(self) -> Decimal:
        return Decimal(1200) / self.spec.start_price  # ~$1,200 at the top level, growing with distance

    def _fresh_qty(self, market: Market, index: int) -> Decimal:
        raw = self.base_qty() * Decimal(1 + index / 8) * Decimal(str(round(self.rng.uniform(0.6, 1.4), 4)))
        qty = _q(raw * self.depth_factor, self.spec.step(market))
        return max(qty, self.spec.step(market))

    def reshape(self, market: Market, full: bool = False) -> None:
        """Move the ladder to the current mid: drop crossed levels, fill the ladder, regrow, jiggle the top."""
        book = self.books[market]
        tick = self.spec.tick(market)
        spacing = max(tick, _q(LEVEL_SPACING_USD, tick))
        mid = self.market_mid(market)
        best_bid = _q(mid - tick, spacing)
        if best_bid >= mid:
            best_bid -= spacing
        best_ask = _q(mid + tick, spacing, rounding="ROUND_UP")
        if best_ask <= mid:
            best_ask += spacing
        n = self.cfg.levels
        wanted = {
            "bid": [best_bid - spacing * i for i in range(n)],
            "ask": [best_ask + spacing * i for i in range(n)],
        }
        for side, prices in wanted.items():
            keep = set(prices)
            for price in list(book.synthetic[side]):
                if price not in keep:
                    book.set_synthetic(side, price, ZERO)
                    self.targets.pop((market, side, price), None)
            for i, price in enumerate(prices):
                key = (market, side, price)
                if key not in self.targets or full:
                    self.targets[key] = self._fresh_qty(market, i)
                    book.set_synthetic(side, price, self.targets[key])
                else:
                    current = book.synthetic[side].get(price, ZERO)
                    target = self.targets[key]
                    if current < target:
                        # Consumed liquidity comes back over a few ticks, not at once.
                        grow = _q(
                            max((target - current) * Decimal("0.4"), self.spec.step(market)), self.spec.step(market)
                        )
                        book.set_synthetic(side, price, min(target, current + grow))
            # Jiggle a few levels near the top so the book lives even when the mid stands still.
            for _ in range(3):
                i = self.rng.randrange(min(10, n))
                price = prices[i]
                self.targets[(market, side, price)] = self._fresh_qty(market, i)
                book.set_synthetic(side, price, self.targets[(market, side, price)])

    def step_walk(self) -> None:
        shock = Decimal(str(round(self.rng.gauss(0.0, 1.0), 6))) * self.cfg.volatility_bps / BPS
        self.mid = max(self.spec.tick(Market.SPOT), self.mid * (1 + shock))
        # The basis wanders around its mean; funding follows the basis loosely.
        drift = Decimal(str(round(self.rng.gauss(0.0, 0.2), 4)))
        self.basis_bps += drift - (self.basis_bps - self.cfg.basis_bps) * Decimal("0.05")
        self.funding = (self.cfg.funding_rate + self.basis_bps * Decimal("0.000001")).quantize(Decimal("0.00000001"))


class ExchangeCore:
    """The exchange: markets for every configured symbol, spot balances, a USDⓈ-M wallet, orders."""

    def __init__(self, config: CoreConfig, clock: Callable[[], int] | None = None) -> None:
        unknown = [s for s in config.symbols if s not in KNOWN_SYMBOLS]
        if unknown:
            raise ValueError(f"unknown symbol {unknown[0]}")
        self.config = config
        self._clock = clock or (lambda: int(time.time() * 1000))
        self.specs: dict[str, SymbolSpec] = {s: KNOWN_SYMBOLS[s] for s in config.symbols}
        self._listeners: list[Callable[[DepthDiff], None]] = []
        self._next_book_id = 1_000_000
        self._init_state()

    def _init_state(self) -> None:
        self._rng = random.Random(self.config.seed)
        previous = getattr(self, "markets", None)
        self.markets: dict[str, _SymbolMarket] = {}
        for symbol, spec in self.specs.items():
            m = _SymbolMarket(spec, self.config, self._rng)
            if previous is not None:
                # Update ids never go back, so streaming clients see the reset as ordinary changes.
                for market, book in m.books.items():
                    old = previous[symbol].books[market]
                    book.update_id = old.update_id
                    book.synthetic = old.synthetic
                    book.user = old.user
                    for side in ("bid", "ask"):
                        for price in list(book.user[side]):
                            book.add_user(side, price, -book.user[side][price])
            self.markets[symbol] = m
        assets = {"USDT"} | {s.base for s in self.specs.values()} | set(self.config.spot_balances)
        self._spot: dict[str, list[Decimal]] = {a: [self.config.spot_balances.get(a, ZERO), ZERO] for a in assets}
        self._wallet = self.config.futures_wallet
        self._positions: dict[str, Position] = {
            s: Position(symbol=s, leverage=self.config.default_leverage) for s in self.specs
        }
        self._orders: list[Order] = []
        self._trades: list[Trade] = []
        self._order_ids = 4_000_000_001
        self._trade_ids = 900_001
        self._held_market_orders: set[int] = set()
        self._resting: set[int] = set()  # limit orders resting in a book (their funds are locked)
        self._start_ms = self.now()
        for m in self.markets.values():
            for market in (Market.SPOT, Market.FUTURES):
                m.reshape(market, full=True)
        self._commit_all()

    # ---- time and listeners ------------------------------------------------------------------------

    def now(self) -> int:
        return int(self._clock())

    def add_depth_listener(self, cb: Callable[[DepthDiff], None]) -> None:
        self._listeners.append(cb)

    def remove_depth_listener(self, cb: Callable[[DepthDiff], None]) -> None:
        if cb in self._listeners:
            self._listeners.remove(cb)

    def _commit_all(self) -> None:
        now = self.now()
        for m in self.markets.values():
            for book in m.books.values():
                diff = book.commit(now)
                if diff is not None:
                    for cb in list(self._listeners):
                        cb(diff)

    def _spec(self, symbol: str) -> SymbolSpec:
        spec = self.specs.get(symbol)
        if spec is None:
            raise SandboxError(-1121, "Invalid symbol.")
        return spec

    def _book(self, market: Market, symbol: str) -> Book:
        self._spec(symbol)
        return self.markets[symbol].books[market]

    # ---- market data -------------------------------------------------------------------------------

    def tick(self) -> None:
        """One step of the walk for every symbol; books follow; crossed resting orders fill; diffs go out."""
        for m in self.markets.values():
            m.step_walk()
            for market in (Market.SPOT, Market.FUTURES):
                m.reshape(market)
        self._fill_crossed_resting()
        self._commit_all()

    def depth(
        self, market: Market, symbol: str, limit: int
    ) -> tuple[int, list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        book = self._book(market, symbol)
        return book.update_id, book.side_levels("bid", limit), book.side_levels("ask", limit)

    def best_bid_ask(self, market: Market, symbol: str) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        book = self._book(market, symbol)
        bid = book.best("bid") or (ZERO, ZERO)
        ask = book.best("ask") or (ZERO, ZERO)
        return bid[0], bid[1], ask[0], ask[1]

    def mid_price(self, market: Market, symbol: str) -> Decimal:
        bid, _, ask, _ = self.best_bid_ask(market, symbol)
        return (bid + ask) / 2

    def mark_price(self, symbol: str) -> Decimal:
        spec = self._spec(symbol)
        return _q(self.markets[symbol].perp_mid(), spec.perp_tick, ROUND_HALF_EVEN)

    def index_price(self, symbol: str) -> Decimal:
        spec = self._spec(symbol)
        return _q(self.markets[symbol].mid, spec.spot_tick, ROUND_HALF_EVEN)

    def funding_rate(self, symbol: str) -> Decimal:
        self._spec(symbol)
        return self.markets[symbol].funding

    def next_funding_time(self) -> int:
        now = self.now()
        return (now // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS

    def ticker_24h(self, market: Market, symbol: str) -> dict[str, Decimal | int]:
        spec = self._spec(symbol)
        trades = [t for t in self._trades if t.market is market and t.symbol == symbol and t.order_id > 0]
        mid = _q(self.mid_price(market, symbol), spec.tick(market), ROUND_HALF_EVEN)
        prices = [t.price for t in trades] or [mid]
        volume = sum((t.qty for t in trades), ZERO)
        quote = sum((t.quote_qty for t in trades), ZERO)
        return {
            "open": prices[0],
            "high": max(prices),
            "low": min(prices),
            "last": prices[-1],
            "last_qty": trades[-1].qty if trades else ZERO,
            "volume": volume,
            "quote_volume": quote,
            "weighted_avg": quote / volume if volume else mid,
            "open_time": self._start_ms,
            "close_time": self.now(),
            "first_trade_id": trades[0].trade_id if trades else -1,
            "last_trade_id": trades[-1].trade_id if trades else -1,
            "count": len(trades),
        }

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
    ) -> Order:
        """Validate, then match. Raises SandboxError (and changes nothing) when Binance would reject."""
        spec = self._spec(symbol)
        if not CID_RE.match(client_order_id):
            raise SandboxError(
                -1100,
                "Illegal characters found in parameter 'newClientOrderId'; legal range is "
                "'^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.",
            )
        self._check_duplicate(market, symbol, client_order_id)
        book = self.markets[symbol].books[market]
        step, tick = spec.step(market), spec.tick(market)
        mid = self.mid_price(market, symbol)
        if market is Market.SPOT and type is OrderType.MARKET and quantity is None:
            if quote_order_qty is None or quote_order_qty <= 0:
                raise SandboxError(-1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.")
            quantity = self._qty_for_quote(book, side, quote_order_qty, step)
            if quantity <= 0:
                raise SandboxError(-1013, "Filter failure: LOT_SIZE")
        if quantity is None:
            raise SandboxError(-1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.")
        if type is OrderType.LIMIT and (price is None or price <= 0):
            raise SandboxError(-1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed.")
        self._check_filters(market, spec, type, quantity, price, mid, reduce_only, step, tick)
        if market is Market.FUTURES and reduce_only:
            self._check_reduce_only(symbol, side, quantity)
        ref_price = price if type is OrderType.LIMIT and price is not None else mid
        self._check_funds(market, symbol, spec, side, type, quantity, ref_price, reduce_only)

        now = self.now()
        order = Order(
            market=market,
            symbol=symbol,
            order_id=self._order_ids,
            client_order_id=client_order_id,
            side=side,
            type=type,
            time_in_force=time_in_force,
            price=price if type is OrderType.LIMIT and price is not None else ZERO,
            orig_qty=quantity,
            executed_qty=ZERO,
            cum_quote=ZERO,
            status=OrderStatus.NEW,
            reduce_only=reduce_only,
            time=now,
            update_time=now,
            orig_quote_order_qty=quote_order_qty or ZERO,
        )
        self._order_ids += 1
        self._orders.append(order)
        if type is OrderType.MARKET:
            limit = quantity if fill_limit is None else min(quantity, _q(fill_limit, step))
            self._take(order, limit, None)
            if fill_limit is not None and order.executed_qty < order.orig_qty:
                self._held_market_orders.add(order.order_id)
                order.status = OrderStatus.PARTIALLY_FILLED if order.executed_qty > 0 else OrderStatus.NEW
            elif order.executed_qty < order.orig_qty:
                order.status = OrderStatus.EXPIRED  # the book ran out: Binance expires the rest
        else:
            assert price is not None
            self._take(order, quantity, price)
            if order.executed_qty < order.orig_qty:
                if time_in_force is TimeInForce.IOC:
                    order.status = OrderStatus.EXPIRED
                else:
                    self._rest(order)
        self._commit_all()
        return order

    def _qty_for_quote(self, book: Book, side: Side, quote: Decimal, step: Decimal) -> Decimal:
        remaining, qty = quote, ZERO
        for price, level in book.synthetic_levels("ask" if side is Side.BUY else "bid"):
            take = min(level, _q(remaining / price, step))
            qty += take
            remaining -= take * price
            if take < level:
                break
        return qty

    def _check_duplicate(self, market: Market, symbol: str, cid: str) -> None:
        """Binance: a client id must be unique among OPEN orders; strict mode also refuses finished ones."""
        for o in self._orders:
            if o.market is not market or o.client_order_id != cid:
                continue
            if o.status.is_open:
                if market is Market.SPOT:
                    raise SandboxError(-2010, "Duplicate order sent.")
                raise SandboxError(-4116, "ClientOrderId is duplicated.")
            if self.config.strict_client_ids:
                raise SandboxError(-2010, "Duplicate order sent.")

    def _check_filters(
        self,
        market: Market,
        spec: SymbolSpec,
        type: OrderType,
        qty: Decimal,
        price: Decimal | None,
        mid: Decimal,
        reduce_only: bool,
        step: Decimal,
        tick: Decimal,
    ) -> None:
        if market is Market.SPOT:
            max_qty = spec.spot_market_max_qty if type is OrderType.MARKET else spec.spot_max_qty
            if qty < spec.spot_min_qty or qty > max_qty or not _is_multiple(qty, step):
                raise SandboxError(-1013, "Filter failure: LOT_SIZE")
            if (
                price is not None
                and type is OrderType.LIMIT
                and (not _is_multiple(price, tick) or price < tick or price > Decimal("1000000"))
            ):
                raise SandboxError(-1013, "Filter failure: PRICE_FILTER")
            ref = price if type is OrderType.LIMIT and price is not None else mid
            if qty * ref < spec.spot_min_notional:
                raise SandboxError(-1013, "Filter failure: NOTIONAL")
            return
        if qty <= 0:
            raise SandboxError(-4003, "Quantity less than or equal to zero.")
        if not _is_multiple(qty, step):
            raise SandboxError(-1111, "Precision is over the maximum defined for this asset.")
        max_qty = spec.perp_market_max_qty if type is OrderType.MARKET else spec.perp_max_qty
        if qty < spec.perp_min_qty:
            raise SandboxError(-4003, "Quantity less than or equal to zero.")
        if qty > max_qty:
            raise SandboxError(-4005, f"Quantity greater than max quantity. ({max_qty})")
        if price is not None and type is OrderType.LIMIT:
            if not _is_multiple(price, tick):
                raise SandboxError(-4014, "Price not increased by tick size.")
            if price < spec.perp_min_price or price > spec.perp_max_price:
                raise SandboxError(-4016, "Limit price can't be higher than the maximum or lower than the minimum.")
        ref = price if type is OrderType.LIMIT and price is not None else mid
        if not reduce_only and qty * ref < spec.perp_min_notional:
            raise SandboxError(
                -4164,
                f"Order's notional must be no smaller than {spec.perp_min_notional:f} (unless you choose reduce only).",
            )

    def _check_reduce_only(self, symbol: str, side: Side, qty: Decimal) -> None:
        pos = self._positions[symbol].amount
        pending = sum(
            (
                o.remaining
                for o in self._orders
                if o.market is Market.FUTURES
                and o.symbol == symbol
                and o.reduce_only
                and o.status.is_open
                and o.side is side
            ),
            ZERO,
        )
        if pos == 0 or (side is Side.SELL and pos < 0) or (side is Side.BUY and pos > 0) or qty + pending > abs(pos):
            raise SandboxError(-2022, "ReduceOnly Order is rejected.")

    def _check_funds(
        self,
        market: Market,
        symbol: str,
        spec: SymbolSpec,
        side: Side,
        type: OrderType,
        qty: Decimal,
        ref_price: Decimal,
        reduce_only: bool,
    ) -> None:
        if market is Market.SPOT:
            if side is Side.BUY:
                book = self.markets[symbol].books[Market.SPOT]
                cost = self._walk_cost(book, "ask", qty, ref_price if type is OrderType.LIMIT else None)
                if cost > self._spot[spec.quote][0]:
                    raise SandboxError(-2010, "Account has insufficient balance for requested action.")
            elif qty > self._spot[spec.base][0]:
                raise SandboxError(-2010, "Account has insufficient balance for requested action.")
            return
        if reduce_only:
            return
        pos = self._positions[symbol]
        increasing = pos.amount == 0 or (pos.amount > 0) == (side is Side.BUY)
        if not increasing and qty <= abs(pos.amount):
            return
        opening = qty if increasing else qty - abs(pos.amount)
        notional = opening * ref_price
        need = notional / pos.leverage + notional * self.config.futures_taker_fee
        if need > self.futures_account().available_balance:
            raise SandboxError(-2019, "Margin is insufficient.")

    def _walk_cost(self, book: Book, side: str, qty: Decimal, limit: Decimal | None) -> Decimal:
        remaining, cost = qty, ZERO
        for price, level in book.synthetic_levels(side):
            if limit is not None and price > limit:
                break
            take = min(level, remaining)
            cost += take * price
            remaining -= take
            if remaining <= 0:
                break
        if remaining > 0 and limit is not None:
            cost += remaining * limit
        return cost

    def _take(self, order: Order, qty: Decimal, limit: Decimal | None) -> None:
        """Execute up to ``qty`` of ``order`` against synthetic liquidity, level by level (taker)."""
        book = self.markets[order.symbol].books[order.market]
        side = "ask" if order.side is Side.BUY else "bid"
        remaining = qty - order.executed_qty if qty > order.executed_qty else ZERO
        remaining = min(remaining, order.orig_qty - order.executed_qty)
        for price, level in book.synthetic_levels(side):
            if remaining <= 0:
                break
            if limit is not None and (
                (order.side is Side.BUY and price > limit) or (order.side is Side.SELL and price < limit)
            ):
                break
            take = min(level, remaining)
            if not self._affordable(order, take, price):
                break
            book.set_synthetic(side, price, level - take)
            self._execute(order, take, price, maker=False)
            remaining -= take

    def _affordable(self, order: Order, qty: Decimal, price: Decimal) -> bool:
        spec = self.specs[order.symbol]
        if order.market is Market.SPOT and order.side is Side.BUY:
            return qty * price <= self._spot[spec.quote][0]
        return True

    def _execute(self, order: Order, qty: Decimal, price: Decimal, maker: bool) -> None:
        """Book one trade: balances, fees, position, realised PnL."""
        spec = self.specs[order.symbol]
        quote = qty * price
        now = self.now()
        realized = ZERO
        if order.market is Market.SPOT:
            rate = self.config.spot_maker_fee if maker else self.config.spot_taker_fee
            base_bal, quote_bal = self._spot[spec.base], self._spot[spec.quote]
            resting = order.order_id in self._resting
            if order.side is Side.BUY:
                fee, fee_asset = _q(qty * rate, Decimal("0.00000001"), ROUND_HALF_EVEN), spec.base
                if resting:
                    reserved = qty * order.price
                    quote_bal[1] -= reserved
                    quote_bal[0] += reserved - quote
                else:
                    quote_bal[0] -= quote
                base_bal[0] += qty - fee
            else:
                fee, fee_asset = _q(quote * rate, Decimal("0.00000001"), ROUND_HALF_EVEN), spec.quote
                if resting:
                    base_bal[1] -= qty
                else:
                    base_bal[0] -= qty
                quote_bal[0] += quote - fee
        else:
            rate = self.config.futures_maker_fee if maker else self.config.futures_taker_fee
            fee, fee_asset = _q(quote * rate, Decimal("0.00000001"), ROUND_HALF_EVEN), "USDT"
            pos = self._positions[order.symbol]
            signed = qty if order.side is Side.BUY else -qty
            if pos.amount == 0 or (pos.amount > 0) == (signed > 0):
                new = pos.amount + signed
                pos.entry_price = (pos.entry_price * abs(pos.amount) + price * qty) / abs(new)
                pos.amount = new
            else:
                closing = min(qty, abs(pos.amount))
                direction = Decimal(1) if pos.amount > 0 else Decimal(-1)
                # Settled to 8 decimals like Binance, so the wallet equals the sum of its trades exactly.
                realized = _q(closing * (price - pos.entry_price) * direction, Decimal("0.00000001"), ROUND_HALF_EVEN)
                pos.amount += signed
                if pos.amount == 0:
                    pos.entry_price = ZERO
                elif (pos.amount > 0) == (signed > 0):  # flipped through zero
                    pos.entry_price = price
            pos.update_time = now
            self._wallet += realized - fee
        trade = Trade(
            market=order.market,
            symbol=order.symbol,
            trade_id=self._trade_ids,
            order_id=order.order_id,
            side=order.side,
            price=price,
            qty=qty,
            quote_qty=quote,
            commission=fee,
            commission_asset=fee_asset,
            realized_pnl=realized,
            time=now,
            is_maker=maker,
        )
        self._trade_ids += 1
        self._trades.append(trade)
        order.trades.append(trade)
        order.executed_qty += qty
        order.cum_quote += quote
        order.update_time = now
        order.status = OrderStatus.FILLED if order.executed_qty >= order.orig_qty else OrderStatus.PARTIALLY_FILLED

    def _rest(self, order: Order) -> None:
        spec = self.specs[order.symbol]
        remaining = order.remaining
        if order.market is Market.SPOT:
            if order.side is Side.BUY:
                amount = remaining * order.price
                bal = self._spot[spec.quote]
            else:
                amount = remaining
                bal = self._spot[spec.base]
            bal[0] -= amount
            bal[1] += amount
        side = "bid" if order.side is Side.BUY else "ask"
        self.markets[order.symbol].books[order.market].add_user(side, order.price, remaining)
        self._resting.add(order.order_id)

    def _unrest(self, order: Order) -> None:
        """Release a resting limit order's book quantity and locked funds (cancel / expire)."""
        spec = self.specs[order.symbol]
        remaining = order.remaining
        if order.market is Market.SPOT:
            if order.side is Side.BUY:
                amount, bal = remaining * order.price, self._spot[spec.quote]
            else:
                amount, bal = remaining, self._spot[spec.base]
            bal[1] -= amount
            bal[0] += amount
        side = "bid" if order.side is Side.BUY else "ask"
        self.markets[order.symbol].books[order.market].add_user(side, order.price, -remaining)
        self._resting.discard(order.order_id)

    def _fill_crossed_resting(self) -> None:
        for order in [o for o in self._orders if o.order_id in self._resting]:
            book = self.markets[order.symbol].books[order.market]
            opposite = book.synthetic_levels("ask" if order.side is Side.BUY else "bid")
            if not opposite:
                continue
            best = opposite[0][0]
            crossed = best <= order.price if order.side is Side.BUY else best >= order.price
            if not crossed:
                continue
            if order.market is Market.FUTURES and order.reduce_only:
                pos = self._positions[order.symbol].amount
                if pos == 0 or (order.side is Side.BUY) == (pos > 0):
                    self._unrest(order)
                    order.status = OrderStatus.EXPIRED
                    continue
            remaining = order.remaining
            side = "bid" if order.side is Side.BUY else "ask"
            book.add_user(side, order.price, -remaining)
            self._execute(order, remaining, order.price, maker=True)
            self._resting.discard(order.order_id)

    def get_order(
        self, market: Market, symbol: str, *, order_id: int | None = None, client_order_id: str | None = None
    ) -> Order:
        self._spec(symbol)
        for o in reversed(self._orders):
            if (
                o.market is market
                and o.symbol == symbol
                and (
                    (order_id is not None and o.order_id == order_id)
                    or (order_id is None and client_order_id is not None and o.client_order_id == client_order_id)
                )
            ):
                return o
        raise SandboxError(-2013, "Order does not exist.")

    def cancel_order(
        self, market: Market, symbol: str, *, order_id: int | None = None, client_order_id: str | None = None
    ) -> Order:
        try:
            order = self.get_order(market, symbol, order_id=order_id, client_order_id=client_order_id)
        except SandboxError:
            raise SandboxError(-2011, "Unknown order sent.") from None
        if not order.status.is_open:
            raise SandboxError(-2011, "Unknown order sent.")
        if order.type is OrderType.LIMIT:
            self._unrest(order)
        self._held_market_orders.discard(order.order_id)
        order.status = OrderStatus.CANCELED
        order.update_time = self.now()
        self._commit_all()
        return order

    def _held(self, market: Market, order_id: int) -> Order:
        for o in self._orders:
            if o.market is market and o.order_id == order_id:
                return o
        raise SandboxError(-2013, "Order does not exist.")

    def fill_rest(self, market: Market, order_id: int) -> Order:
        """Execute the remainder of a held market order at the current book (the `partial` fault)."""
        order = self._held(market, order_id)
        if order.order_id not in self._held_market_orders or not order.status.is_open:
            return order
        self._held_market_orders.discard(order.order_id)
        try:
            if order.market is Market.FUTURES and order.reduce_only:
                self._check_reduce_only_held(order)
            self._take(order, order.orig_qty, None)
        except SandboxError:
            pass
        if order.executed_qty < order.orig_qty:
            order.status = OrderStatus.EXPIRED
        self._commit_all()
        return order

    def _check_reduce_only_held(self, order: Order) -> None:
        pos = self._positions[order.symbol].amount
        if pos == 0 or (order.side is Side.SELL and pos < 0) or (order.side is Side.BUY and pos > 0):
            raise SandboxError(-2022, "ReduceOnly Order is rejected.")
        order.orig_qty = min(order.orig_qty, order.executed_qty + abs(pos))

    def expire_order(self, market: Market, order_id: int) -> Order:
        order = self._held(market, order_id)
        if order.status.is_open:
            if order.type is OrderType.LIMIT:
                self._unrest(order)
            self._held_market_orders.discard(order.order_id)
            order.status = OrderStatus.EXPIRED
            order.update_time = self.now()
            self._commit_all()
        return order

    def open_orders(self, market: Market, symbol: str | None) -> list[Order]:
        if symbol is not None:
            self._spec(symbol)
        return [
            o
            for o in self._orders
            if o.market is market and o.status.is_open and (symbol is None or o.symbol == symbol)
        ]

    def orders(self) -> list[Order]:
        return list(self._orders)

    def trades(
        self, market: Market | None = None, symbol: str | None = None, order_id: int | None = None
    ) -> list[Trade]:
        return [
            t
            for t in self._trades
            if (market is None or t.market is market)
            and (symbol is None or t.symbol == symbol)
            and (order_id is None or t.order_id == order_id)
        ]

    # ---- accounts ----------------------------------------------------------------------------------

    def spot_balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        return {a: (v[0], v[1]) for a, v in sorted(self._spot.items())}

    def position(self, symbol: str) -> PositionView:
        spec = self._spec(symbol)
        pos = self._positions[symbol]
        mark = self.mark_price(symbol)
        notional = pos.amount * mark
        upnl = pos.amount * (mark - pos.entry_price) if pos.amount else ZERO
        im = abs(notional) / pos.leverage
        mm = abs(notional) * spec.maint_margin_ratio
        liq = ZERO
        if pos.amount != 0:
            others = sum(
                (
                    p.amount * (self.mark_price(s) - p.entry_price)
                    for s, p in self._positions.items()
                    if s != symbol and p.amount
                ),
                ZERO,
            )
            wallet = self._wallet + others
            denominator = abs(pos.amount) * spec.maint_margin_ratio - pos.amount
            if denominator != 0:
                value = (wallet - pos.amount * pos.entry_price) / denominator
                liq = _q(value, spec.perp_tick, ROUND_HALF_EVEN) if value > 0 else ZERO
        return PositionView(
            symbol=symbol,
            amount=pos.amount,
            entry_price=pos.entry_price,
            mark_price=mark,
            unrealized_pnl=upnl,
            notional=notional,
            leverage=pos.leverage,
            initial_margin=im,
            maint_margin=mm,
            liquidation_price=liq,
            update_time=pos.update_time,
        )

    def positions(self) -> list[PositionView]:
        return [self.position(s) for s in self.specs]

    def leverage(self, symbol: str) -> int:
        self._spec(symbol)
        return self._positions[symbol].leverage

    def set_leverage(self, symbol: str, leverage: int) -> int:
        spec = self._spec(symbol)
        if not 1 <= leverage <= spec.max_leverage:
            raise SandboxError(-4028, f"Leverage {leverage} is not valid")
        self._positions[symbol].leverage = leverage
        return leverage

    def futures_account(self) -> FuturesAccount:
        views = self.positions()
        upnl = sum((v.unrealized_pnl for v in views), ZERO)
        position_im = sum((v.initial_margin for v in views), ZERO)
        mm = sum((v.maint_margin for v in views), ZERO)
        order_im = ZERO
        for o in self._orders:
            if o.market is Market.FUTURES and o.type is OrderType.LIMIT and o.status.is_open and not o.reduce_only:
                order_im += o.remaining * o.price / self._positions[o.symbol].leverage
        margin_balance = self._wallet + upnl
        im = position_im + order_im
        return FuturesAccount(
            wallet_balance=self._wallet,
            unrealized_pnl=upnl,
            margin_balance=margin_balance,
            position_initial_margin=position_im,
            open_order_initial_margin=order_im,
            initial_margin=im,
            maint_margin=mm,
            available_balance=max(ZERO, margin_balance - im),
        )

    # ---- control -----------------------------------------------------------------------------------

    def set_position(self, symbol: str, amount: Decimal, price: Decimal | None = None) -> PositionView:
        """Change a position from outside (liquidation, ADL, manual trade) as an adjustment trade."""
        spec = self._spec(symbol)
        amount = _q(amount, spec.perp_step)
        pos = self._positions[symbol]
        delta = amount - pos.amount
        if delta != 0:
            fill_price = price if price is not None else self.mark_price(symbol)
            adj = Order(
                market=Market.FUTURES,
                symbol=symbol,
                order_id=-1,
                client_order_id="external",
                side=Side.BUY if delta > 0 else Side.SELL,
                type=OrderType.MARKET,
                time_in_force=TimeInForce.GTC,
                price=ZERO,
                orig_qty=abs(delta),
                executed_qty=ZERO,
                cum_quote=ZERO,
                status=OrderStatus.NEW,
                reduce_only=False,
                time=self.now(),
                update_time=self.now(),
            )
            saved = self.config.futures_taker_fee
            self.config.futures_taker_fee = ZERO  # an external change carries no fee of ours
            try:
                self._execute(adj, abs(delta), fill_price, maker=False)
            finally:
                self.config.futures_taker_fee = saved
        return self.position(symbol)

    def move_market(self, symbol: str, move_bps: Decimal) -> None:
        self._spec(symbol)
        m = self.markets[symbol]
        m.mid = m.mid * (1 + move_bps / BPS)
        for market in (Market.SPOT, Market.FUTURES):
            m.reshape(market)
        self._fill_crossed_resting()
        self._commit_all()

    def set_depth_factor(self, symbol: str, factor: Decimal) -> None:
        if factor <= 0:
            raise ValueError("depth factor must be positive")
        self._spec(symbol)
        m = self.markets[symbol]
        m.depth_factor = factor
        for market in (Market.SPOT, Market.FUTURES):
            m.reshape(market, full=True)
        self._commit_all()

    def reset(self) -> None:
        self._init_state()
