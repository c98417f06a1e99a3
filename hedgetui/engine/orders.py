"""Placing one leg's order safely: journal first, send once, resolve ambiguity, confirm the fill.

The rules this module enforces (DEVELOPERS.md, safety rules 1–4):

* the submission is committed to the journal before the request is sent;
* a client order id is sent at most once; a new attempt gets a new id (``attempt + 1``);
* after an ambiguous failure (timeout, network error, 5xx, -1007, 429, -1021) the order is looked up by
  its client id before anything else; "not found" is believed only after repeated answers spanning the
  grace window; lookups that keep failing leave the order UNRESOLVED, which halts the engine — never a
  blind resend;
* a fill is never assumed: ``fills.py`` polls the order until the exchange reports a terminal status; at
  the fill deadline it is cancelled and re-fetched, so a fill that lands after the cancel is still counted;
* an order found by its client id (after ambiguity, late, or at reconciliation) joins the record one way:
  :meth:`OrderExecutor.adopt`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal

from hedgetui.domain.client_ids import client_order_id
from hedgetui.domain.orders import OrderResult
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.events import Level
from hedgetui.engine.fills import FillConfirmer
from hedgetui.engine.journal import NewSubmit, SubmitRow
from hedgetui.engine.legs import (
    HaltRequired,
    LegFill,
    LegOrder,
    LegStatus,
    Placement,
    Resolution,
    halt_if_fatal,
    leg_status,
    request_of,
)
from hedgetui.exchange.errors import (
    Ambiguous,
    AuthFailed,
    ClockSkew,
    DuplicateOrder,
    NotFound,
    RateLimited,
    Rejected,
    VenueError,
)

log = logging.getLogger(__name__)


class OrderExecutor(FillConfirmer):
    """Runs single orders to a confirmed end, journaling every step and publishing events."""

    async def record_submits(self, reqs: Sequence[LegOrder], attempt: int) -> None:
        """Commit the submissions of ``reqs`` (each at ``attempt``) in one transaction, before any is sent."""
        await self.journal.record_submits(
            [
                NewSubmit(
                    cid=client_order_id(req.intent_id, req.leg, attempt),
                    intent_id=req.intent_id,
                    leg=req.leg.value,
                    attempt=attempt,
                    market=req.kind.value,
                    side=req.side.value,
                    order_type="market",
                    quantity=req.quantity,
                    reduce_only=req.reduce_only,
                )
                for req in reqs
            ]
        )

    async def submit(self, req: LegOrder, attempt: int, *, journaled: bool = False) -> Placement:
        """Journal (unless ``journaled``: the caller committed it), send once, and resolve the outcome
        (looking the order up after any ambiguity)."""
        cid = client_order_id(req.intent_id, req.leg, attempt)
        if not journaled:
            await self.record_submits([req], attempt)
        # The order_submits row is the journal's record of this; the event is for the live log only, so the
        # request is not delayed by a second commit.
        self.report.publish(
            "SUBMIT",
            f"{req.kind.value} {req.side.value.upper()} {req.quantity} @ market cid {cid}"
            + (" reduce-only" if req.reduce_only else ""),
            req.intent_id,
            data={
                "cid": cid,
                "leg": req.leg.value,
                "attempt": attempt,
                "market": req.kind.value,
                "side": req.side.value,
                "quantity": req.quantity,
                "reduce_only": req.reduce_only,
            },
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
            self.not_placed = True
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

    async def place(self, req: LegOrder, first_attempt: int = 1, *, journaled: bool = False) -> Placement:
        """Submit ``req``; resubmit with a new id only after a proven not-placed, up to ``max_resubmits``.

        ``journaled``: the first attempt's submission is already committed (:meth:`record_submits`).
        Raises :class:`HaltRequired` (with a sticky alert) when the order's fate cannot be resolved.
        """
        attempt = first_attempt
        while True:
            placement = await self.submit(req, attempt, journaled=journaled and attempt == first_attempt)
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
