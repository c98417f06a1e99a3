"""The sandbox exchange's own vocabulary: symbol specifications, orders, trades, positions and errors.

The sandbox deliberately shares nothing with hedgetui's domain layer: an exchange that reuses our maths
could not catch our mistakes. Every number here is a ``Decimal``; formatting to Binance's fixed-point
strings happens at the HTTP boundary (``hedgetui.sandbox.shapes``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal


class Market(enum.StrEnum):
    """Which half of the exchange an order or book belongs to."""

    SPOT = "spot"
    FUTURES = "futures"


class Side(enum.StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(enum.StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    #: spot post-only: rejected when it would take
    LIMIT_MAKER = "LIMIT_MAKER"
    #: USDⓈ-M: the exchange's own order closing a liquidated position (never accepted from a client)
    LIQUIDATION = "LIQUIDATION"


class TimeInForce(enum.StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    #: fill whole at once or not at all
    FOK = "FOK"
    #: USDⓈ-M post-only
    GTX = "GTX"
    #: USDⓈ-M good till ``goodTillDate``
    GTD = "GTD"

    @property
    def rests(self) -> bool:
        """Whether an unfilled remainder stays on the book."""
        return self in (TimeInForce.GTC, TimeInForce.GTX, TimeInForce.GTD)


class OrderStatus(enum.StrEnum):
    """Binance's order statuses (the subset the sandbox produces)."""

    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"

    @property
    def is_open(self) -> bool:
        return self in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)


@dataclass(frozen=True)
class SymbolSpec:
    """One tradable symbol with its spot and USDⓈ-M perpetual filters (Binance's real values)."""

    symbol: str
    base: str
    quote: str
    start_price: Decimal
    spot_tick: Decimal = Decimal("0.01")
    spot_step: Decimal = Decimal("0.00001")
    spot_min_qty: Decimal = Decimal("0.00001")
    spot_max_qty: Decimal = Decimal("9000")
    spot_market_max_qty: Decimal = Decimal("100")
    spot_min_notional: Decimal = Decimal("5")
    perp_tick: Decimal = Decimal("0.10")
    perp_step: Decimal = Decimal("0.001")
    perp_min_qty: Decimal = Decimal("0.001")
    perp_max_qty: Decimal = Decimal("1000")
    perp_market_max_qty: Decimal = Decimal("120")
    perp_min_notional: Decimal = Decimal("100")
    perp_min_price: Decimal = Decimal("556.80")
    perp_max_price: Decimal = Decimal("4529764")
    # Maintenance margin ratio of the first leverage bracket, used for the liquidation price.
    maint_margin_ratio: Decimal = Decimal("0.004")
    #: The liquidation clearance fee rate (exchangeInfo ``liquidationFee``), of the liquidated notional.
    liquidation_fee: Decimal = Decimal("0.0125")
    max_leverage: int = 125

    def tick(self, market: Market) -> Decimal:
        return self.spot_tick if market is Market.SPOT else self.perp_tick

    def step(self, market: Market) -> Decimal:
        return self.spot_step if market is Market.SPOT else self.perp_step


#: Symbols the sandbox knows. BTCUSDT is the default; ETHUSDT is available with ``--symbols``.
KNOWN_SYMBOLS: dict[str, SymbolSpec] = {
    "BTCUSDT": SymbolSpec(symbol="BTCUSDT", base="BTC", quote="USDT", start_price=Decimal("60000")),
    "ETHUSDT": SymbolSpec(
        symbol="ETHUSDT",
        base="ETH",
        quote="USDT",
        start_price=Decimal("3000"),
        spot_step=Decimal("0.0001"),
        spot_min_qty=Decimal("0.0001"),
        spot_max_qty=Decimal("100000"),
        spot_market_max_qty=Decimal("2000"),
        perp_tick=Decimal("0.01"),
        perp_step=Decimal("0.001"),
        perp_max_qty=Decimal("10000"),
        perp_market_max_qty=Decimal("2000"),
        perp_min_notional=Decimal("20"),
        perp_min_price=Decimal("39.86"),
        perp_max_price=Decimal("306177"),
        maint_margin_ratio=Decimal("0.005"),
        max_leverage=100,
    ),
}


class SandboxError(Exception):
    """A Binance error answer: HTTP status, Binance ``code`` and ``msg``."""

    def __init__(self, code: int, msg: str, http_status: int = 400) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.http_status = http_status

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}


@dataclass
class Trade:
    """One execution of an order against the book (one book level = one trade)."""

    market: Market
    symbol: str
    trade_id: int
    order_id: int
    side: Side
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    realized_pnl: Decimal
    time: int
    is_maker: bool


@dataclass
class Order:
    """An order as the exchange keeps it. ``trades`` lists its executions in order."""

    market: Market
    symbol: str
    order_id: int
    client_order_id: str
    side: Side
    type: OrderType
    time_in_force: TimeInForce
    price: Decimal  # limit price; 0 for market orders
    orig_qty: Decimal
    executed_qty: Decimal
    cum_quote: Decimal
    status: OrderStatus
    reduce_only: bool
    time: int
    update_time: int
    orig_quote_order_qty: Decimal = Decimal(0)
    trades: list[Trade] = field(default_factory=list)
    #: GTD: epoch ms at which the exchange expires the order (0: none)
    good_till: int = 0

    @property
    def avg_price(self) -> Decimal:
        """Volume-weighted average fill price, 0 when nothing filled."""
        return self.cum_quote / self.executed_qty if self.executed_qty else Decimal(0)

    @property
    def remaining(self) -> Decimal:
        return self.orig_qty - self.executed_qty


@dataclass
class Position:
    """A one-way (positionSide BOTH) USDⓈ-M position. ``amount`` is signed: negative is short."""

    symbol: str
    amount: Decimal = Decimal(0)
    entry_price: Decimal = Decimal(0)
    leverage: int = 20
    update_time: int = 0


@dataclass(frozen=True)
class DepthDiff:
    """One depth update event for one book, in Binance's ``U``/``u``/``pu`` terms.

    ``bids``/``asks`` hold absolute quantities per changed price level; a zero quantity deletes the level.
    ``first_id`` is the previous event's ``last_id`` + 1, and ``prev_last_id`` is the previous event's
    ``last_id`` (the futures ``pu``).
    """

    market: Market
    symbol: str
    first_id: int
    last_id: int
    prev_last_id: int
    event_time: int
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]


class Execution(enum.StrEnum):
    """Binance's execution types (``x`` of ``executionReport`` / ``ORDER_TRADE_UPDATE``) the sandbox produces."""

    NEW = "NEW"
    TRADE = "TRADE"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    #: USDⓈ-M liquidation execution
    CALCULATED = "CALCULATED"


@dataclass(frozen=True)
class OrderEvent:
    """One change of an order, with the order's cumulative state at that moment (the order itself moves on)."""

    order: Order
    execution: Execution
    status: OrderStatus
    executed_qty: Decimal
    cum_quote: Decimal
    trade: Trade | None
    time: int
    #: A spot cancel's own client id (the ``c`` of its executionReport; ``C`` is then the order's).
    cancel_client_id: str | None = None


@dataclass(frozen=True)
class BalanceDelta:
    """A spot balance change that is no trade (a deposit or withdrawal): Binance's ``balanceUpdate``."""

    asset: str
    delta: Decimal
    time: int


@dataclass(frozen=True)
class SpotAccountChange:
    """Spot balances changed (``outboundAccountPosition``): the assets whose free or locked moved."""

    assets: tuple[str, ...]
    time: int


@dataclass(frozen=True)
class FuturesAccountChange:
    """The futures wallet or positions changed (``ACCOUNT_UPDATE``), for Binance's reason ``m``."""

    reason: str
    symbols: tuple[str, ...]
    time: int


UserEvent = OrderEvent | BalanceDelta | SpotAccountChange | FuturesAccountChange
