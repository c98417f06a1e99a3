"""An in-process simulated venue behind the engine's VenuePort, with injectable faults (tests only).

It enforces what makes the worst bugs visible (fault-matrix.md): client order ids are unique only among
OPEN orders, so a blind resend after a fill creates a second order; a timeout after accept leaves a real
order behind; delayed visibility answers "not found" for a while. Spot buys pay their fee in BTC.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from hedgetui.domain.account import Balance, FundingInfo, FuturesBalance, PerpPosition
from hedgetui.domain.account_stream import AccountView
from hedgetui.domain.book import OrderBook
from hedgetui.domain.margin import TransferDirection
from hedgetui.domain.markets import MarketRules
from hedgetui.domain.orders import Fee, OrderResult, OrderStatus, Side, TradeFill
from hedgetui.domain.pnl import FundingRateRow, IncomeKind, IncomeRecord, SpotKline
from hedgetui.domain.venue import MarketKind
from hedgetui.exchange.errors import Ambiguous, DuplicateOrder, NotFound, Rejected

D = Decimal
TERMINAL = (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED)
SPOT_RULES = MarketRules(
    symbol="BTC/USDT",
    market_id="BTCUSDT",
    kind=MarketKind.SPOT,
    base="BTC",
    quote="USDT",
    tick=D("0.01"),
    step=D("0.00001"),
    min_qty=D("0.00001"),
    max_qty=D("9000"),
    market_max_qty=D("100"),
    min_notional=D("5"),
)
PERP_RULES = MarketRules(
    symbol="BTC/USDT:USDT",
    market_id="BTCUSDT",
    kind=MarketKind.PERP,
    base="BTC",
    quote="USDT",
    tick=D("0.1"),
    step=D("0.001"),
    min_qty=D("0.001"),
    max_qty=D("1000"),
    market_max_qty=D("120"),
    min_notional=D("100"),
)


@dataclass
class Fault:
    """One injected behaviour for the next matching call.

    ``op``: create | fetch | cancel | read; ``kind``: market or None for both; ``action``:
    timeout_after (apply, then raise Ambiguous), timeout_before (raise Ambiguous, nothing applied),
    error_after (apply, then raise Ambiguous as a 5xx would), reject (raise Rejected ``code``),
    duplicate (raise DuplicateOrder), partial (fill ``ratio`` now; the rest never fills),
    resting (fill nothing now; fill completely after ``after`` polls, or never when ``after`` is None),
    hidden (the created order answers NotFound to the next ``count`` lookups),
    lookup_error (fetch raises Ambiguous), read_error (balance/position reads raise Ambiguous).
    """

    op: str
    action: str
    kind: MarketKind | None = None
    times: int = 1
    code: int | None = None
    ratio: Decimal = Decimal("0.5")
    after: int | None = None
    count: int = 3


@dataclass
class SimOrder:
    order_id: str
    cid: str
    kind: MarketKind
    side: Side
    amount: Decimal
    reduce_only: bool
    filled: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    status: OrderStatus = OrderStatus.OPEN
    trades: list[TradeFill] = field(default_factory=list)
    fill_after_polls: int | None = None
    polls: int = 0
    hidden_for: int = 0


class SimVenue:
    """Spot and perp at a fixed mid with deep books; market orders fill at mid ± half spread."""

    def __init__(
        self,
        mid: str = "60000",
        basis_bps: str = "5",
        usdt: str = "100000",
        *,
        stream: bool = False,
        ack: bool = False,
    ) -> None:
        self.spot_mid = D(mid)
        self.perp_mid = D(mid) * (1 + D(basis_bps) / 10_000)
        self.spot = {"USDT": D(usdt), "BTC": D(0)}
        self.wallet = D(usdt)
        self.position = D(0)
        self.entry = D(0)
        self.funding_rate = D("0.0001")
        self.orders: list[SimOrder] = []
        self.faults: list[Fault] = []
        self._ids = itertools.count(4_000_000_001)
        self._trade_ids = itertools.count(900_001)
        self.calls: defaultdict[str, int] = defaultdict(int)
        self.sent_cids: list[str] = []
        self.liquidation_price: Decimal | None = None
        self.transfers: list[tuple[str, Decimal, TransferDirection]] = []
        self.now_ms = 1_700_000_000_000
        self.income: list[IncomeRecord] = []
        self._tran_ids = itertools.count(7_000_001)
        self.clock_ms: Callable[[], int] = itertools.count(1_700_000_000_000).__next__
        self.funding_interval_ms = 8 * 3_600_000
        self.settlements: list[FundingRateRow] = []
        self.spot_minutes: dict[int, SpotKline] = {}
        self.next_funding_ms: int | None = None
        #: A user data stream: orders confirmed by their events, the account pushed (``stream_stale`` makes it
        #: vouch for nothing; ``drop_events`` loses the next N orders' events).
        self.stream = stream
        self.stream_stale = False
        self.drop_events = 0
        self._dropped: set[str] = set()
        #: Answer creates as Binance's futures ACK does: the order before matching (NEW, nothing filled).
        self.ack = ack

    # ---- fault plumbing ----------------------------------------------------------------------------

    def inject(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    def _take(self, op: str, kind: MarketKind | None) -> Fault | None:
        for f in self.faults:
            if f.op == op and (f.kind is None or kind is None or f.kind is kind):
                f.times -= 1
                if f.times <= 0:
                    self.faults.remove(f)
                return f
        return None

    # ---- VenuePort ---------------------------------------------------------------------------------

    def rules(self, kind: MarketKind) -> MarketRules:
        return SPOT_RULES if kind is MarketKind.SPOT else PERP_RULES

    def symbol(self, kind: MarketKind) -> str:
        return self.rules(kind).symbol

    def _mid(self, kind: MarketKind) -> Decimal:
        return self.spot_mid if kind is MarketKind.SPOT else self.perp_mid

    def _book(self, kind: MarketKind) -> OrderBook:
        mid = self._mid(kind)
        tick = self.rules(kind).tick
        bids = tuple((mid - tick * (i + 1), D("2") + i) for i in range(50))
        asks = tuple((mid + tick * (i + 1), D("2") + i) for i in range(50))
        return OrderBook(symbol=self.symbol(kind), market=kind, bids=bids, asks=asks, update_id=1, received_at=0.0)

    async def fetch_order_book(self, kind: MarketKind, limit: int = 100) -> OrderBook:
        self._read_fault()
        return self._book(kind)

    def _read_fault(self) -> None:
        if self._take("read", None) is not None:
            raise Ambiguous("read failed", code=None, source="ExchangeNotAvailable", operation="read")

    async def fetch_funding(self) -> FundingInfo:
        self._read_fault()
        return FundingInfo(
            symbol="BTC/USDT:USDT",
            rate=self.funding_rate,
            mark_price=self.perp_mid,
            index_price=self.spot_mid,
            next_funding_ms=self.next_funding_ms,
            timestamp=None,
        )

    async def fetch_funding_interval(self) -> int:
        return self.funding_interval_ms

    async def fetch_income(
        self,
        since_ms: int,
        until_ms: int | None = None,
        kinds: Iterable[IncomeKind] | None = None,
        *,
        all_symbols: bool = False,
    ) -> list[IncomeRecord]:
        self._read_fault()
        wanted = set(kinds) if kinds is not None else None
        return [
            r
            for r in self.income
            if r.time_ms >= since_ms
            and (until_ms is None or r.time_ms <= until_ms)
            and (wanted is None or r.kind in wanted)
        ]

    def _book_income(self, kind: IncomeKind, amount: Decimal, time_ms: int, trade_id: str = "") -> None:
        self.wallet += amount
        self.income.append(
            IncomeRecord(str(next(self._tran_ids)), kind, PERP_RULES.symbol, "USDT", amount, time_ms, trade_id)
        )

    def settle_funding(self) -> Decimal:
        """Pay or charge funding on the open position at the mark (a short receives a positive rate); the
        settlement joins the funding-rate history, and the spot price then its minute's kline."""
        amount = -self.position * self.perp_mid * self.funding_rate
        now = self.clock_ms()
        self.settlements.append(FundingRateRow(now, self.funding_rate, self.perp_mid))
        minute = now - now % 60_000
        self.spot_minutes[minute] = SpotKline(minute, self.spot_mid, self.spot_mid)
        if self.position:
            self._book_income(IncomeKind.FUNDING_FEE, amount, now)
        return amount if self.position else D(0)

    async def fetch_funding_rates(self, since_ms: int, limit: int = 1000) -> list[FundingRateRow]:
        self._read_fault()
        self.calls["funding_rates"] += 1
        return [r for r in self.settlements if r.time_ms >= since_ms][:limit]

    async def fetch_spot_klines(self, since_ms: int, limit: int = 1000) -> list[SpotKline]:
        self._read_fault()
        self.calls["klines"] += 1
        return [k for t, k in sorted(self.spot_minutes.items()) if t >= since_ms][:limit]

    async def fetch_spot_balances(self) -> dict[str, Balance]:
        self._read_fault()
        self.calls["read"] += 1
        return {a: Balance(asset=a, free=v, used=D(0), total=v) for a, v in self.spot.items()}

    async def fetch_futures_balance(self) -> FuturesBalance:
        self._read_fault()
        self.calls["read"] += 1
        return await self._futures_now()

    async def _futures_now(self) -> FuturesBalance:
        upnl = self.position * (self.perp_mid - self.entry) if self.position else D(0)
        im = abs(self.position) * self.perp_mid / 20
        return FuturesBalance(
            asset="USDT",
            wallet=self.wallet,
            margin_balance=self.wallet + upnl,
            available=self.wallet + upnl - im,
            initial_margin=im,
            maint_margin=im / 10,
            unrealized_pnl=upnl,
        )

    async def fetch_perp_position(self) -> PerpPosition:
        self._read_fault()
        self.calls["read"] += 1
        return await self._position_now()

    async def _position_now(self) -> PerpPosition:
        return PerpPosition(
            symbol="BTC/USDT:USDT",
            amount=self.position,
            entry_price=self.entry if self.position else None,
            mark_price=self.perp_mid,
            notional=self.position * self.perp_mid,
            unrealized_pnl=self.position * (self.perp_mid - self.entry) if self.position else D(0),
            liquidation_price=self.liquidation_price if self.position else None,
        )

    async def create_market_order(
        self, kind: MarketKind, side: Side, amount: Decimal, client_order_id: str, *, reduce_only: bool = False
    ) -> OrderResult:
        self.calls["create"] += 1
        self.sent_cids.append(client_order_id)
        fault = self._take("create", kind)
        action = fault.action if fault else None
        if action == "timeout_before":
            raise Ambiguous("timed out", source="RequestTimeout", operation="create")
        if action == "reject":
            raise Rejected("rejected", code=fault.code if fault else None, source="InvalidOrder", operation="create")
        if any(
            o.cid == client_order_id and o.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)
            for o in self.orders
        ):
            raise DuplicateOrder("Duplicate order sent.", code=-2010, source="InvalidOrder", operation="create")
        if action == "duplicate":
            raise DuplicateOrder("ClientOrderId is duplicated.", code=-4116, source="InvalidOrder", operation="create")
        if amount % self.rules(kind).step:
            raise Rejected("Filter failure: LOT_SIZE", code=-1013, source="InvalidOrder", operation="create")
        if reduce_only and kind is MarketKind.PERP:
            increases = (side is Side.SELL and self.position <= 0) or (side is Side.BUY and self.position >= 0)
            if increases or amount > abs(self.position):
                raise Rejected("ReduceOnly Order is rejected.", code=-2022, source="InvalidOrder", operation="create")
        if kind is MarketKind.SPOT and side is Side.SELL and amount > self.spot["BTC"]:
            raise Rejected(
                "Account has insufficient balance for requested action.",
                code=-2010,
                source="InsufficientFunds",
                operation="create",
            )
        order = SimOrder(str(next(self._ids)), client_order_id, kind, side, amount, reduce_only)
        self.orders.append(order)
        if action == "resting":
            order.fill_after_polls = fault.after if fault else None
        elif action == "partial":
            self._fill(order, amount * (fault.ratio if fault else D("0.5")))
            if order.filled < amount and order.filled > 0:
                order.status = OrderStatus.PARTIALLY_FILLED
            order.fill_after_polls = None  # the rest never fills
        else:
            self._fill(order, amount)
        if action == "hidden":
            order.hidden_for = fault.count if fault else 3
        if self.stream and self.drop_events > 0:
            self.drop_events -= 1
            self._dropped.add(order.cid)
        if action in ("timeout_after", "error_after", "hidden"):
            raise Ambiguous("accepted but no answer", source="RequestTimeout", operation="create")
        if self.ack:
            return self._result(order).model_copy(
                update={
                    "status": OrderStatus.OPEN,
                    "filled": D(0),
                    "remaining": amount,
                    "cost": D(0),
                    "average": None,
                    "fees": (),
                }
            )
        return self._result(order)

    def _fill(self, order: SimOrder, qty: Decimal) -> None:
        step = self.rules(order.kind).step
        qty = (qty / step).to_integral_value(rounding="ROUND_DOWN") * step
        qty = min(qty, order.amount - order.filled)
        if qty <= 0:
            return
        tick = self.rules(order.kind).tick
        price = self._mid(order.kind) + (tick if order.side is Side.BUY else -tick)
        quote = qty * price
        if order.kind is MarketKind.SPOT:
            if order.side is Side.BUY:
                fee = Fee(cost=qty * D("0.001"), currency="BTC")
                self.spot["USDT"] -= quote
                self.spot["BTC"] += qty - fee.cost
            else:
                fee = Fee(cost=quote * D("0.001"), currency="USDT")
                self.spot["BTC"] -= qty
                self.spot["USDT"] += quote - fee.cost
        else:
            fee = Fee(cost=quote * D("0.0005"), currency="USDT")
            signed = qty if order.side is Side.BUY else -qty
            new = self.position + signed
            realized = D(0)
            if self.position == 0 or (self.position > 0) == (signed > 0):
                self.entry = (self.entry * abs(self.position) + price * qty) / abs(new) if new else D(0)
            else:
                closed = min(qty, abs(self.position))
                realized = closed * (price - self.entry) * (1 if self.position > 0 else -1)
                if abs(signed) > abs(self.position):
                    self.entry = price
            self.position = new
            if self.position == 0:
                self.entry = D(0)
        trade_id = str(next(self._trade_ids))
        now = self.clock_ms()
        if order.kind is MarketKind.PERP:
            if realized:
                self._book_income(IncomeKind.REALIZED_PNL, realized, now, trade_id)
            self._book_income(IncomeKind.COMMISSION, -fee.cost, now, trade_id)
        order.filled += qty
        order.cost += quote
        order.trades.append(
            TradeFill(
                trade_id=trade_id,
                order_id=order.order_id,
                price=price,
                qty=qty,
                fee=fee,
                timestamp=now,
                side=order.side,
            )
        )
        order.status = OrderStatus.FILLED if order.filled >= order.amount else OrderStatus.PARTIALLY_FILLED

    def _result(self, o: SimOrder) -> OrderResult:
        return OrderResult(
            order_id=o.order_id,
            client_order_id=o.cid,
            symbol=self.symbol(o.kind),
            kind=o.kind,
            side=o.side,
            type="market",
            amount=o.amount,
            filled=o.filled,
            remaining=o.amount - o.filled,
            average=o.cost / o.filled if o.filled else None,
            cost=o.cost,
            status=o.status,
            reduce_only=o.reduce_only,
            fees=tuple(t.fee for t in o.trades if t.fee) if o.kind is MarketKind.SPOT else (),
        )

    def _find(self, kind: MarketKind, order_id: str | None, cid: str | None) -> SimOrder:
        for o in reversed(self.orders):
            if o.kind is kind and (o.order_id == order_id or (cid is not None and o.cid == cid)):
                return o
        raise NotFound("Order does not exist.", code=-2013, source="OrderNotFound", operation="fetch")

    async def fetch_order(
        self, kind: MarketKind, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderResult:
        self.calls["fetch"] += 1
        if self._take("fetch", kind) is not None:
            raise Ambiguous("Service Unavailable", source="ExchangeNotAvailable", operation="fetch")
        o = self._find(kind, order_id, client_order_id)
        if o.hidden_for > 0:
            o.hidden_for -= 1
            raise NotFound("Order does not exist.", code=-2013, source="OrderNotFound", operation="fetch")
        if o.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED) and o.fill_after_polls is not None:
            o.polls += 1
            if o.polls >= o.fill_after_polls:
                self._fill(o, o.amount - o.filled)
        return self._result(o)

    async def fetch_open_orders(self, kind: MarketKind) -> list[OrderResult]:
        return [
            self._result(o)
            for o in self.orders
            if o.kind is kind and o.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)
        ]

    async def cancel_order(
        self, kind: MarketKind, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderResult:
        self.calls["cancel"] += 1
        o = self._find(kind, order_id, client_order_id)
        if o.status not in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED):
            raise NotFound("Unknown order sent.", code=-2011, source="OrderNotFound", operation="cancel")
        o.status = OrderStatus.CANCELED
        return self._result(o)

    async def fetch_order_trades(self, kind: MarketKind, order_id: str) -> list[TradeFill]:
        self.calls["trades"] += 1
        o = self._find(kind, order_id, None)
        return list(o.trades)

    async def fetch_perp_trades(self, since_ms: int, limit: int = 100) -> list[TradeFill]:
        self._read_fault()
        trades = [t for o in self.orders if o.kind is MarketKind.PERP for t in o.trades]
        return [t for t in trades if (t.timestamp or 0) >= since_ms][-limit:]

    async def transfer(self, asset: str, amount: Decimal, direction: TransferDirection) -> str | None:
        """USDT between the spot and futures wallets, refused (-5013) beyond what the source can give."""
        self.calls["transfer"] += 1
        fault = self._take("transfer", None)
        if fault is not None and fault.action == "timeout_before":
            raise Ambiguous("timed out", source="RequestTimeout", operation="transfer")
        if fault is not None and fault.action == "reject":
            raise Rejected("rejected", code=fault.code, source="BadRequest", operation="transfer")
        if direction is TransferDirection.TO_FUTURES:
            if amount > self.spot.get(asset, D(0)):
                raise Rejected("Asset transfer failed: insufficient balance", code=-5013, operation="transfer")
            self.spot[asset] -= amount
            self.wallet += amount
        else:
            if amount > self.wallet:
                raise Rejected("Asset transfer failed: insufficient balance", code=-5013, operation="transfer")
            self.wallet -= amount
            self.spot[asset] = self.spot.get(asset, D(0)) + amount
        self.transfers.append((asset, amount, direction))
        if fault is not None and fault.action == "timeout_after":
            raise Ambiguous("accepted but no answer", source="RequestTimeout", operation="transfer")
        return str(len(self.transfers))

    async def resync_clock(self) -> int:
        return 0

    async def wait_order(self, kind: MarketKind, client_order_id: str, timeout_s: float) -> OrderResult | None:
        if not self.stream or self.stream_stale:
            return None
        self.calls["wait_order"] += 1
        for o in reversed(self.orders):
            if o.kind is kind and o.cid == client_order_id:
                if o.cid in self._dropped or o.status not in TERMINAL:
                    return None  # the event was lost, or the order is still live: the engine polls
                return self._result(o).model_copy(update={"trades": tuple(o.trades)})
        return None

    async def account_view(self, settle_s: float = 0.0, *, full: bool = False) -> AccountView | None:
        if not self.stream:
            return None
        if self.stream_stale:
            return AccountView()
        self.calls["account_view"] += 1
        balances = {a: Balance(asset=a, free=v, used=D(0), total=v) for a, v in self.spot.items()}
        position = await self._position_now()
        return AccountView(
            spot_balances=balances,
            perp_amount=self.position,
            position=position,
            futures=await self._futures_now(),
        )

    # ---- test helpers ------------------------------------------------------------------------------

    def external_perp_trade(self, side: Side, qty: Decimal, cid: str) -> SimOrder:
        """An order hedgetui did not send (a liquidation ``autoclose-…``, an ADL, a manual trade), filled."""
        order = SimOrder(str(next(self._ids)), cid, MarketKind.PERP, side, qty, reduce_only=True)
        self.orders.append(order)
        self._fill(order, qty)
        order.trades = [t.model_copy(update={"timestamp": self.now_ms}) for t in order.trades]
        return order

    def account_value(self) -> Decimal:
        """Both wallets at the venue's own prices: spot USDT, spot BTC at mid, the futures wallet and the
        position's unrealized P&L at the mark."""
        upnl = self.position * (self.perp_mid - self.entry) if self.position else D(0)
        return self.spot["USDT"] + self.spot["BTC"] * self.spot_mid + self.wallet + upnl

    def open_orders(self) -> list[SimOrder]:
        return [o for o in self.orders if o.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)]

    def cids_used_twice(self) -> list[str]:
        seen: defaultdict[str, int] = defaultdict(int)
        for o in self.orders:
            seen[o.cid] += 1
        return [c for c, n in seen.items() if n > 1]
