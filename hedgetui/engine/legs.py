"""What one leg's orders are described and reported with: the request, its placement, its fill.

These are values, shared by the order executor (``orders.py``, ``fills.py``), the pipelines and
reconciliation. ``HaltRequired`` is how any of them says "this needs the operator"; ``halt_if_fatal``
names the errors no retry can cure.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal

from hedgetui.domain.client_ids import Leg, parse_client_order_id
from hedgetui.domain.orders import Fee, OrderResult, OrderStatus, Side, TradeFill
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.journal import SubmitRow
from hedgetui.exchange.errors import Ambiguous, AuthFailed, Disconnected, NotFound, RateLimited, VenueError


@dataclass(frozen=True)
class ExecTimeouts:
    """Deadlines and retry counts, from the ``timeouts`` configuration section."""

    order_ack_s: float = 30.0
    fill_s: float = 60.0
    partial_fill_retries: int = 3
    lookup_grace_s: float = 3.0
    max_resubmits: int = 1
    #: How long an order waits for its user data stream events (terminal update and trades) before it is
    #: polled; without a healthy stream it is polled at once.
    event_wait_s: float = 0.5


@dataclass(frozen=True)
class LegOrder:
    """One order a pipeline wants on one market."""

    intent_id: str
    leg: Leg
    kind: MarketKind
    side: Side
    quantity: Decimal
    reduce_only: bool = False


class Resolution(enum.StrEnum):
    PLACED = "placed"
    NOT_PLACED = "not_placed"
    REJECTED = "rejected"
    UNRESOLVED = "unresolved"


class LegStatus(enum.StrEnum):
    FILLED = "filled"
    PARTIAL = "partial"
    NONE = "none"
    REJECTED = "rejected"


class HaltRequired(Exception):
    """The engine must stop taking intents: the situation needs the operator."""

    def __init__(self, code: str, message: str, cid: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.cid = cid


@dataclass
class Placement:
    cid: str
    attempt: int
    resolution: Resolution
    order: OrderResult | None = None
    error: VenueError | None = None


@dataclass
class LegFill:
    """Where a leg ended: what filled (from the exchange), at what average, with which fees and orders."""

    request: LegOrder
    status: LegStatus
    filled: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    fees: list[Fee] = field(default_factory=list)
    orders: list[OrderResult] = field(default_factory=list)
    cids: list[str] = field(default_factory=list)
    trades: list[TradeFill] = field(default_factory=list)
    error: VenueError | None = None
    last_attempt: int = 0

    @property
    def average(self) -> Decimal | None:
        return self.cost / self.filled if self.filled > 0 else None

    @property
    def remaining(self) -> Decimal:
        return max(Decimal(0), self.request.quantity - self.filled)

    def fee_in(self, asset: str) -> Decimal:
        return sum((f.cost for f in self.fees if f.currency == asset), Decimal(0))

    def absorb(self, other: LegFill) -> None:
        """Add a follow-up order's result (a remainder attempt) to this leg."""
        self.filled += other.filled
        self.cost += other.cost
        self.fees += other.fees
        self.orders += other.orders
        self.cids += other.cids
        self.trades += other.trades
        self.last_attempt = max(self.last_attempt, other.last_attempt)
        if other.error is not None:
            self.error = other.error
        if self.filled >= self.request.quantity:
            self.status = LegStatus.FILLED
        elif self.filled > 0:
            self.status = LegStatus.PARTIAL


def halt_if_fatal(exc: VenueError, doing: str, cid: str | None = None) -> None:
    """Raise :class:`HaltRequired` for errors no retry can cure: bad credentials and an IP ban."""
    if isinstance(exc, AuthFailed):
        raise HaltRequired("AUTH", f"authentication failed ({exc.code}) {doing}: {exc.exchange_message}", cid) from exc
    if isinstance(exc, RateLimited) and exc.banned:
        raise HaltRequired("IP_BANNED", f"the exchange banned this IP {doing}: {exc.exchange_message}", cid) from exc


#: Errors a poll may wait out: the answer was lost or late, the order is not visible yet, or the exchange is
#: briefly unavailable. Anything else (a rejection of the lookup itself, bad credentials, a ban) is not
#: cured by asking again.
TRANSIENT = (Ambiguous, NotFound, Disconnected)


def request_of(submit: SubmitRow) -> LegOrder:
    """The order a journaled submission asked for."""
    parsed = parse_client_order_id(submit.cid)
    leg = parsed[1] if parsed else Leg(submit.leg)
    return LegOrder(
        submit.intent_id, leg, MarketKind(submit.market), Side(submit.side), submit.quantity, submit.reduce_only
    )


def leg_status(order: OrderResult, target: Decimal) -> LegStatus:
    """How far one order got towards ``target``, as the exchange reports it."""
    if order.filled >= target:
        return LegStatus.FILLED
    if order.filled > 0:
        return LegStatus.PARTIAL
    if order.status is OrderStatus.REJECTED:
        return LegStatus.REJECTED
    return LegStatus.NONE
