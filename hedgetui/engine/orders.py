"""Placing one leg's order safely: journal first, send once, resolve ambiguity, confirm the fill.

The rules this module enforces (DEVELOPERS.md, safety rules 1–4):

* the submission is committed to the journal before the request is sent;
* a client order id is sent at most once; a new attempt gets a new id (``attempt + 1``);
* after an ambiguous failure (timeout, network error, 5xx, -1007, 429, -1021) the order is looked up by
  its client id before anything else; "not found" is believed only after repeated answers spanning the
  grace window; lookups that keep failing leave the order UNRESOLVED, which halts the engine — never a
  blind resend;
* a fill is never assumed: the order is polled until the exchange reports a terminal status; at the fill
  deadline it is cancelled and re-fetched, so a fill that lands after the cancel is still counted.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, retry_if_result
from tenacity.wait import wait_exponential

from hedgetui.domain.client_ids import Leg, client_order_id, parse_client_order_id
from hedgetui.domain.orders import Fee, OrderResult, OrderStatus, Side, TradeFill
from hedgetui.domain.stages import PipelineKind
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.clock import Clock
from hedgetui.engine.events import EventBus, FillEvent, Level
from hedgetui.engine.journal import Journal, SubmitRow
from hedgetui.engine.ports import VenuePort
from hedgetui.engine.reporter import Reporter
from hedgetui.exchange.errors import (
    Ambiguous,
    AuthFailed,
    ClockSkew,
    Disconnected,
    DuplicateOrder,
    NotFound,
    RateLimited,
    Rejected,
    VenueError,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExecTimeouts:
    """Deadlines and retry counts, from the ``timeouts`` configuration section."""

    order_ack_s: float = 30.0
    fill_s: float = 60.0
    partial_fill_retries: int = 3
    lookup_grace_s: float = 3.0
    max_resubmits: int = 1


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


class OrderExecutor:
    """Runs single orders to a confirmed end, journaling every step and publishing events."""

    def __init__(
        self,
        venue: VenuePort,
        journal: Journal,
        bus: EventBus,
        clock: Clock,
        timeouts: ExecTimeouts,
        *,
        pipeline: PipelineKind | None = None,
        before_send: Callable[[str], None] | None = None,
    ) -> None:
        self.venue = venue
        self.journal = journal
        self.bus = bus
        self.clock = clock
        self.timeouts = timeouts
        self.pipeline = pipeline
        self.report = Reporter(journal, bus, clock, pipeline)
        # Test hook: called with the cid just before the request goes out (crash tests kill here).
        self.before_send = before_send

    async def _event(
        self,
        kind: str,
        message: str,
        intent_id: str | None,
        *,
        level: Level = Level.INFO,
        data: dict[str, object] | None = None,
    ) -> None:
        await self.report.event(kind, message, intent_id, level=level, data=data)

    async def _record(self, cid: str, order: OrderResult) -> None:
        await self.journal.record_update(
            cid,
            status=order.status.value,
            filled=order.filled,
            terminal=order.status.is_terminal,
            order_id=order.order_id,
            average=order.average,
        )

    # ---- submission --------------------------------------------------------------------------------

    async def submit(self, req: LegOrder, attempt: int) -> Placement:
        """Journal, send once, and resolve the outcome (looking the order up after any ambiguity)."""
        cid = client_order_id(req.intent_id, req.leg, attempt)
        await self.journal.record_submit(
            cid=cid,
            intent_id=req.intent_id,
            leg=req.leg.value,
            attempt=attempt,
            market=req.kind.value,
            side=req.side.value,
            order_type="market",
            quantity=req.quantity,
            reduce_only=req.reduce_only,
        )
        # The order_submits row is the journal's record of this; the event is for the live log only, so the
        # request is not delayed by a second commit.
        self.report.publish(
            "SUBMIT",
            f"{req.kind.value} {req.side.value.upper()} {req.quantity} @ market cid {cid}"
            + (" reduce-only" if req.reduce_only else ""),
            req.intent_id,
            data={"cid": cid, "leg": req.leg.value, "attempt": attempt},
        )
        if self.before_send is not None:
            self.before_send(cid)
        try:
            order = await self.venue.create_market_order(
                req.kind, req.side, req.quantity, cid, reduce_only=req.reduce_only
            )
        except DuplicateOrder as exc:
            # An order with this id exists (e.g. sent outside our control): adopt it, never "rejected".
            await self.journal.record_update(
                cid,
                status="duplicate",
                filled=Decimal(0),
                terminal=False,
                code=exc.code,
                message=exc.exchange_message,
            )
            await self._event(
                "AMBIGUOUS",
                f"duplicate client id answer for {cid}",
                req.intent_id,
                level=Level.WARN,
                data={"cid": cid, "code": exc.code},
            )
            return await self._resolve(req, cid, attempt, exc)
        except AuthFailed as exc:
            await self.journal.record_update(
                cid,
                status="rejected",
                filled=Decimal(0),
                terminal=True,
                code=exc.code,
                message=exc.exchange_message,
            )
            raise HaltRequired("AUTH", f"authentication failed ({exc.code}): {exc.exchange_message}", cid) from exc
        except RateLimited as exc:
            if exc.banned:
                raise HaltRequired("IP_BANNED", f"the exchange banned this IP: {exc.exchange_message}", cid) from exc
            await self._event(
                "AMBIGUOUS",
                f"rate limited on {cid}",
                req.intent_id,
                level=Level.WARN,
                data={"cid": cid, "error": exc.source, "code": exc.code},
            )
            return await self._resolve(req, cid, attempt, exc, backoff_first=True)
        except ClockSkew as exc:
            await self._event(
                "AMBIGUOUS",
                f"clock skew on {cid}",
                req.intent_id,
                level=Level.WARN,
                data={"cid": cid, "error": exc.source, "code": exc.code},
            )
            await self._resync_clock(req.intent_id)
            return await self._resolve(req, cid, attempt, exc)
        except Ambiguous as exc:
            await self._event(
                "AMBIGUOUS",
                f"{exc.source} on {cid}: the order may exist",
                req.intent_id,
                level=Level.WARN,
                data={"cid": cid, "error": exc.source, "code": exc.code},
            )
            return await self._resolve(req, cid, attempt, exc)
        except Rejected as exc:
            await self.journal.record_update(
                cid,
                status="rejected",
                filled=Decimal(0),
                terminal=True,
                code=exc.code,
                message=exc.exchange_message,
            )
            await self._event(
                "REJECTED",
                f"{cid} rejected ({exc.code}): {exc.exchange_message}",
                req.intent_id,
                level=Level.WARN,
                data={"cid": cid, "code": exc.code},
            )
            return Placement(cid, attempt, Resolution.REJECTED, error=exc)
        except VenueError as exc:
            # Anything unclassified on an order POST is treated as "may have happened".
            await self._event(
                "AMBIGUOUS",
                f"{exc.source} on {cid}",
                req.intent_id,
                level=Level.WARN,
                data={"cid": cid, "error": exc.source, "code": exc.code},
            )
            return await self._resolve(req, cid, attempt, exc)
        await self._record(cid, order)
        return Placement(cid, attempt, Resolution.PLACED, order=order)

    async def _resync_clock(self, intent_id: str | None) -> None:
        try:
            offset = await self.venue.resync_clock()
        except VenueError as exc:
            raise HaltRequired("CLOCK", f"clock resync failed: {exc.exchange_message}") from exc
        await self._event("CLOCK_RESYNC", f"clock offset {offset} ms", intent_id, data={"offset_ms": offset})

    async def _resolve(
        self, req: LegOrder, cid: str, attempt: int, cause: VenueError, *, backoff_first: bool = False
    ) -> Placement:
        order, resolution = await self.lookup(req.kind, cid, req.intent_id, backoff_first=backoff_first)
        if resolution is Resolution.PLACED and order is not None:
            await self._event(
                "ADOPT",
                f"adopted {cid} as order {order.order_id}",
                req.intent_id,
                data={"cid": cid, "order_id": order.order_id},
            )
            await self._record(cid, order)
            return Placement(cid, attempt, Resolution.PLACED, order=order, error=cause)
        if resolution is Resolution.NOT_PLACED:
            await self.journal.record_update(
                cid,
                status="not_placed",
                filled=Decimal(0),
                terminal=True,
                code=cause.code,
                message="not found over the whole grace window",
            )
            return Placement(cid, attempt, Resolution.NOT_PLACED, error=cause)
        return Placement(cid, attempt, Resolution.UNRESOLVED, error=cause)

    async def lookup(
        self, kind: MarketKind, cid: str, intent_id: str | None, *, backoff_first: bool = False
    ) -> tuple[OrderResult | None, Resolution]:
        """Find an order by client id after an ambiguous outcome.

        Found → PLACED. NOT_PLACED only after enough not-found answers (at least three, one per polling
        interval across the window) whose span covers the whole grace window (late visibility). Errors
        do not count as not-found; if no answer settles it before the ack deadline the result is UNRESOLVED.
        """
        grace = self.timeouts.lookup_grace_s
        start = self.clock.monotonic()
        deadline = start + max(self.timeouts.order_ack_s, grace)
        first_not_found: float | None = None
        not_found = 0
        error_backoff = 0.5
        interval = max(0.2, grace / 4)
        # Believe "not found" only from enough answers to cover the window at the polling interval, even if
        # the clock ran fast (a busy loop must not shorten the number of checks).
        min_answers = max(3, int(grace / interval) + 1)
        if backoff_first:
            await self._event(
                "BACKOFF",
                f"backing off {error_backoff:.1f} s before looking up {cid}",
                intent_id,
                data={"seconds": error_backoff},
            )
            await self.clock.sleep(error_backoff)
        while True:
            now = self.clock.monotonic()
            try:
                order = await self.venue.fetch_order(kind, client_order_id=cid)
            except NotFound:
                not_found += 1
                first_not_found = now if first_not_found is None else first_not_found
                await self._event(
                    "LOOKUP",
                    f"{cid} not found ({not_found})",
                    intent_id,
                    data={"cid": cid, "result": "not_found"},
                )
                if not_found >= min_answers and now - first_not_found >= grace:
                    return None, Resolution.NOT_PLACED
                delay = interval
            except ClockSkew as exc:
                await self._event(
                    "LOOKUP",
                    f"{cid} lookup error {exc.source}",
                    intent_id,
                    level=Level.WARN,
                    data={"cid": cid, "result": "error", "error": exc.source},
                )
                await self._resync_clock(intent_id)
                delay = interval
            except VenueError as exc:
                halt_if_fatal(exc, f"while looking up {cid}", cid)
                await self._event(
                    "LOOKUP",
                    f"{cid} lookup error {exc.source}",
                    intent_id,
                    level=Level.WARN,
                    data={"cid": cid, "result": "error", "error": exc.source, "code": exc.code},
                )
                delay = error_backoff
                error_backoff = min(error_backoff * 2, 5.0)
            else:
                await self._event(
                    "LOOKUP",
                    f"{cid} found: order {order.order_id} {order.status.value}",
                    intent_id,
                    data={"cid": cid, "result": "found"},
                )
                return order, Resolution.PLACED
            if self.clock.monotonic() + delay > deadline:
                return None, Resolution.UNRESOLVED
            await self.clock.sleep(delay)

    # ---- fills -------------------------------------------------------------------------------------

    async def await_terminal(self, kind: MarketKind, order: OrderResult, cid: str, intent_id: str) -> OrderResult:
        """Poll until the exchange reports a terminal status; at the fill deadline cancel and re-fetch."""
        if order.status.is_terminal:
            return order
        deadline = self.clock.monotonic() + self.timeouts.fill_s
        last: list[OrderResult] = [order]

        backoff = wait_exponential(multiplier=0.5, exp_base=1.5, min=0.5, max=5.0)

        def stop(state: RetryCallState) -> bool:
            # The injected clock, not tenacity's own monotonic one: tests never really wait.
            return self.clock.monotonic() >= deadline

        def wait(state: RetryCallState) -> float:
            # 0.5 s → 5 s by 1.5, the last wait cut short so that one poll lands on the deadline itself.
            return float(min(backoff(state), max(0.0, deadline - self.clock.monotonic())))

        async def poll() -> OrderResult:
            fresh = await self.venue.fetch_order(kind, client_order_id=cid)
            if fresh.filled != last[-1].filled or fresh.status != last[-1].status:
                await self._record(cid, fresh)
            last.append(fresh)
            return fresh

        retrying = AsyncRetrying(
            stop=stop,
            wait=wait,
            # Only what waiting can cure is retried: a lost answer, late visibility, a brief outage. Bad
            # credentials or a ban halt at once instead of polling until the deadline.
            retry=retry_if_exception_type(TRANSIENT) | retry_if_result(lambda o: not o.status.is_terminal),
            retry_error_callback=lambda rs: None,
            sleep=self.clock.sleep,
            reraise=False,
        )
        result: OrderResult | None
        try:
            result = await retrying(poll)
        except VenueError as exc:
            halt_if_fatal(exc, f"while polling {cid}", cid)
            await self._event(
                "FILL_TIMEOUT",
                f"polling {cid} refused ({exc.source} {exc.code}): cancelling",
                intent_id,
                level=Level.WARN,
                data={"cid": cid, "error": exc.source},
            )
            return await self.cancel_and_confirm(kind, cid, intent_id)
        if result is not None and result.status.is_terminal:
            return result
        await self._event(
            "FILL_TIMEOUT",
            f"{cid} not terminal after {self.timeouts.fill_s:.0f} s: cancelling",
            intent_id,
            level=Level.WARN,
            data={"cid": cid},
        )
        return await self.cancel_and_confirm(kind, cid, intent_id)

    async def cancel_and_confirm(self, kind: MarketKind, cid: str, intent_id: str) -> OrderResult:
        """Cancel by client id, then re-fetch until terminal: the re-fetch, not the cancel answer, is truth."""
        try:
            await self.venue.cancel_order(kind, client_order_id=cid)
            await self._event("CANCEL", f"cancel sent for {cid}", intent_id, data={"cid": cid})
        except NotFound:
            await self._event("CANCEL", f"{cid} already final when cancelling", intent_id, data={"cid": cid})
        except AuthFailed as exc:
            raise HaltRequired("AUTH", f"authentication failed cancelling {cid}", cid) from exc
        except VenueError as exc:
            await self._event(
                "CANCEL",
                f"cancel of {cid} ambiguous ({exc.source})",
                intent_id,
                level=Level.WARN,
                data={"cid": cid, "error": exc.source},
            )
        delay = 0.25
        deadline = self.clock.monotonic() + max(self.timeouts.order_ack_s, 1.0)
        while True:
            try:
                order = await self.venue.fetch_order(kind, client_order_id=cid)
            except VenueError as exc:
                halt_if_fatal(exc, f"confirming {cid}", cid)
                order = None
            if order is not None:
                await self._record(cid, order)
                if order.status.is_terminal:
                    return order
            if self.clock.monotonic() + delay > deadline:
                raise HaltRequired("UNRESOLVED_ORDER", f"cannot confirm the end of order {cid}", cid)
            await self.clock.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def collect_fills(self, req: LegOrder, order: OrderResult, cid: str) -> tuple[list[TradeFill], list[Fee]]:
        """Fetch the order's trades (perp fees exist only there), journal each once, publish FILL events."""
        if order.filled <= 0:
            return [], []
        trades: list[TradeFill] = []
        try:
            trades = await self.venue.fetch_order_trades(req.kind, order.order_id)
        except VenueError as exc:
            # The fill itself is confirmed by the order; only fee detail is missing. Say so, don't guess.
            await self._event(
                "FILL",
                f"trades of {cid} unavailable ({exc.source}); fees from the order",
                req.intent_id,
                level=Level.WARN,
                data={"cid": cid},
            )
        fees: list[Fee] = []
        for t in trades:
            if t.fee is not None:
                fees.append(t.fee)
            fresh = await self.journal.record_fill(
                market=req.kind.value,
                trade_id=t.trade_id,
                cid=cid,
                order_id=order.order_id,
                quantity=t.qty,
                price=t.price,
                fee=t.fee.cost if t.fee else None,
                fee_asset=t.fee.currency if t.fee else None,
            )
            if fresh:
                self.bus.publish(
                    FillEvent(
                        ts_ms=self.clock.wall_ms(),
                        kind="FILL",
                        message=f"{req.kind.value} {req.side.value.upper()} {t.qty} @ {t.price} cid {cid}",
                        intent_id=req.intent_id,
                        pipeline=self.pipeline,
                        leg=req.leg.value,
                        cid=cid,
                        quantity=t.qty,
                        price=t.price,
                        fee=t.fee.cost if t.fee else None,
                        fee_asset=t.fee.currency if t.fee else None,
                    )
                )
        if not trades:
            fees = list(order.fees)
            # Keep the confirmed fill in the journal even without trade detail (the hedge's spot holding is
            # derived from journaled fills); the fee is the order's own, when the exchange gave one.
            fee = fees[0] if fees else None
            await self.journal.record_fill(
                market=req.kind.value,
                trade_id=f"o{order.order_id}",
                cid=cid,
                order_id=order.order_id,
                quantity=order.filled,
                price=order.average or Decimal(0),
                fee=sum((f.cost for f in fees), Decimal(0)) if fees else None,
                fee_asset=fee.currency if fee else None,
            )
        traded = sum((t.qty for t in trades), Decimal(0))
        if trades and traded != order.filled:
            await self._event(
                "FILL",
                f"{cid}: trades sum to {traded} but the order reports {order.filled} filled",
                req.intent_id,
                level=Level.WARN,
                data={"cid": cid},
            )
        return trades, fees

    # ---- a whole leg -------------------------------------------------------------------------------

    async def place(self, req: LegOrder, first_attempt: int = 1) -> Placement:
        """Submit ``req``; resubmit with a new id only after a proven not-placed, up to ``max_resubmits``.

        Raises :class:`HaltRequired` (with a sticky alert) when the order's fate cannot be resolved.
        """
        attempt = first_attempt
        while True:
            placement = await self.submit(req, attempt)
            if placement.resolution is Resolution.NOT_PLACED and attempt - first_attempt < self.timeouts.max_resubmits:
                attempt += 1
                continue
            if placement.resolution is Resolution.UNRESOLVED:
                self.report.alert_now(
                    "UNRESOLVED_ORDER",
                    f"cannot tell whether order {placement.cid} exists; nothing will be resent",
                    req.intent_id,
                )
                raise HaltRequired("UNRESOLVED_ORDER", f"order {placement.cid} could not be resolved", placement.cid)
            return placement

    async def confirm(self, req: LegOrder, placement: Placement) -> LegFill:
        """Run a placed order to its confirmed end and collect its fills; a non-placed one fills nothing."""
        if placement.resolution is Resolution.REJECTED:
            return LegFill(
                req,
                LegStatus.REJECTED,
                error=placement.error,
                cids=[placement.cid],
                last_attempt=placement.attempt,
            )
        if placement.resolution is not Resolution.PLACED or placement.order is None:
            return LegFill(
                req,
                LegStatus.NONE,
                error=placement.error,
                cids=[placement.cid],
                last_attempt=placement.attempt,
            )
        final = await self.await_terminal(req.kind, placement.order, placement.cid, req.intent_id)
        trades, fees = await self.collect_fills(req, final, placement.cid)
        status = leg_status(final, req.quantity)
        cost = final.cost if final.cost > 0 else (final.average or Decimal(0)) * final.filled
        return LegFill(
            req,
            status,
            filled=final.filled,
            cost=cost,
            fees=fees,
            orders=[final],
            cids=[placement.cid],
            trades=trades,
            error=placement.error,
            last_attempt=placement.attempt,
        )

    async def adopt(self, submit: SubmitRow, order: OrderResult, *, late: bool = False) -> LegFill:
        """Take an order found by its client id as ours: journal it, run it to its end, collect its fills.

        The one way a found order joins the hedge's record, shared by the late-visibility sweep and
        reconciliation. A live order is cancelled (it was sent by an earlier run, whose plan is void now);
        the re-fetch after the cancel, not the cancel's answer, says what filled.
        """
        kind = MarketKind(submit.market)
        await self._event(
            "ADOPT",
            f"{'late ' if late else ''}order {submit.cid} found as {order.order_id} ({order.status.value})",
            submit.intent_id,
            level=Level.WARN if late else Level.INFO,
            data={"cid": submit.cid, "order_id": order.order_id, "late": late},
        )
        await self._record(submit.cid, order)
        if not order.status.is_terminal:
            order = await self.cancel_and_confirm(kind, submit.cid, submit.intent_id)
        req = request_of(submit)
        trades, fees = await self.collect_fills(req, order, submit.cid)
        return LegFill(
            req,
            leg_status(order, submit.quantity),
            filled=order.filled,
            cost=order.cost if order.cost > 0 else (order.average or Decimal(0)) * order.filled,
            fees=fees or list(order.fees),
            orders=[order],
            cids=[submit.cid],
            trades=trades,
            last_attempt=submit.attempt,
        )

    async def sweep(self, submits: list[SubmitRow], *, final: bool = False) -> list[LegFill]:
        """Look once more for orders concluded "not placed"; adopt any that became visible since.

        An order can become visible after the grace window; finding it here turns a silent exposure into
        a known fill. With ``final`` (reconciliation, long after the send) an order still absent is
        recorded as ``absent`` and never looked up again.
        """
        found: list[LegFill] = []
        for submit in submits:
            try:
                order = await self.venue.fetch_order(MarketKind(submit.market), client_order_id=submit.cid)
            except NotFound:
                if final:
                    await self.journal.record_update(
                        submit.cid,
                        status="absent",
                        filled=Decimal(0),
                        terminal=True,
                        message="still not found at reconciliation",
                    )
                continue
            except VenueError as exc:
                halt_if_fatal(exc, f"sweeping {submit.cid}", submit.cid)
                raise HaltRequired(
                    "UNRESOLVED_ORDER", f"cannot re-check {submit.cid} ({exc.source})", submit.cid
                ) from exc
            found.append(await self.adopt(submit, order, late=True))
        return found

    async def execute(self, req: LegOrder, first_attempt: int = 1) -> LegFill:
        """Place ``req`` and run it to a confirmed end."""
        return await self.confirm(req, await self.place(req, first_attempt))


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
