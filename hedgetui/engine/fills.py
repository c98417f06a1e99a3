"""Confirming a fill: never assumed, always the exchange's word.

The exchange speaks three ways, taken in this order: an answer that carries the fills (a terminal create
answer: RESULT on the perp, FULL with its executions and commissions on spot), the user data stream's
events (the terminal order update and its trades, commissions included: ``VenuePort.wait_order``), and,
only when neither came within ``ExecTimeouts.event_wait_s``, polling. Polling runs until the exchange
reports a terminal status (tenacity on the injected clock: 0.5 s to 5 s by 1.5, the last poll on the
deadline); only what waiting can cure is retried (a lost answer, late visibility, a brief outage), while
bad credentials or a ban halt at once. At the fill deadline the order is cancelled and re-fetched, so a
fill that lands after the cancel is still counted. Its trades are journaled once each (fees on the perp
exist only there) before the leg is reported.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from decimal import Decimal

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, retry_if_result
from tenacity.wait import wait_exponential

from hedgetui.domain.orders import Fee, OrderResult, TradeFill
from hedgetui.domain.stages import PipelineKind
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.clock import Clock
from hedgetui.engine.events import EventBus, FillEvent, Level
from hedgetui.engine.journal import Journal, NewFill
from hedgetui.engine.legs import TRANSIENT, ExecTimeouts, HaltRequired, LegOrder, halt_if_fatal
from hedgetui.engine.ports import VenuePort
from hedgetui.engine.reporter import Reporter
from hedgetui.exchange.errors import AuthFailed, NotFound, VenueError

log = logging.getLogger(__name__)


class FillConfirmer:
    """Runs a placed order to its confirmed end: polls it, cancels it at the deadline, collects its fills."""

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
        #: Some order of this executor was concluded "not placed" (the late-visibility sweep has work).
        self.not_placed = False

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
        # Posted: an answer the exchange keeps (recovery looks the order up by client id after a crash); it
        # commits with the next awaited write, never after the run's END.
        await self.journal.record_update(
            cid,
            status=order.status.value,
            filled=order.filled,
            terminal=order.status.is_terminal,
            order_id=order.order_id,
            average=order.average,
            wait=False,
        )

    # ---- submission --------------------------------------------------------------------------------

    async def await_terminal(self, kind: MarketKind, order: OrderResult, cid: str, intent_id: str) -> OrderResult:
        """Poll until the exchange reports a terminal status; at the fill deadline cancel and re-fetch."""
        if order.status.is_terminal:
            return order
        streamed = await self.venue.wait_order(kind, cid, self.timeouts.event_wait_s)
        if streamed is not None:
            # The stream's terminal update is the exchange's own word: no poll needed.
            await self._record(cid, streamed)
            return streamed
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
        """The order's trades (from the answer or the stream when they came with it, else read: perp fees
        exist only in the trades), journaled once each, with FILL events."""
        if order.filled <= 0:
            return [], []
        trades = await self._pushed_trades(req, order, cid)
        if trades is not None:
            return await self._journal_fills(req, order, cid, trades)
        trades = []
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
        return await self._journal_fills(req, order, cid, trades)

    async def _pushed_trades(self, req: LegOrder, order: OrderResult, cid: str) -> list[TradeFill] | None:
        """The order's executions as the exchange already sent them: with the answer (spot FULL) or by the
        stream (the perp's RESULT answer has no commissions); None when they must be read."""
        # Asked even when the answer carried the trades: the stream must see every fill of ours, and one
        # it never reports is a gap that makes it stale (re-read) instead of silently behind.
        streamed = await self.venue.wait_order(req.kind, cid, self.timeouts.event_wait_s)
        if order.trades_complete:
            return list(order.trades)
        if streamed is not None and streamed.filled == order.filled and streamed.trades_complete:
            return list(streamed.trades)
        return None

    async def _journal_fills(
        self, req: LegOrder, order: OrderResult, cid: str, trades: list[TradeFill]
    ) -> tuple[list[TradeFill], list[Fee]]:
        """Journal each trade once and publish its FILL event; without trade detail, the order's own fill."""
        fees = [t.fee for t in trades if t.fee is not None]
        if trades:
            rows = [
                NewFill(
                    market=req.kind.value,
                    trade_id=t.trade_id,
                    cid=cid,
                    order_id=order.order_id,
                    quantity=t.qty,
                    price=t.price,
                    fee=t.fee.cost if t.fee else None,
                    fee_asset=t.fee.currency if t.fee else None,
                    trade_ms=t.timestamp,
                )
                for t in trades
            ]
            # Posted: committed with the next awaited write (the run's END at the latest); each FILL line is
            # shown once its row is committed, and only for a trade not journaled before.
            self.journal.post_fills(rows).add_done_callback(lambda done: self._publish_fills(req, cid, trades, done))
        else:
            fees = list(order.fees)
            # Keep the confirmed fill in the journal even without trade detail (the hedge's spot holding is
            # derived from journaled fills); the fee is the order's own, when the exchange gave one.
            fee = fees[0] if fees else None
            self.journal.post_fills(
                [
                    NewFill(
                        market=req.kind.value,
                        trade_id=f"o{order.order_id}",
                        cid=cid,
                        order_id=order.order_id,
                        quantity=order.filled,
                        price=order.average or Decimal(0),
                        fee=sum((f.cost for f in fees), Decimal(0)) if fees else None,
                        fee_asset=fee.currency if fee else None,
                    )
                ]
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

    def _publish_fills(
        self, req: LegOrder, cid: str, trades: list[TradeFill], done: asyncio.Future[list[bool]]
    ) -> None:
        if done.cancelled() or done.exception() is not None:
            return  # the journal is poisoned by the failure; nothing is shown that was not journaled
        for t, fresh in zip(trades, done.result(), strict=True):
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

    # ---- a whole leg -------------------------------------------------------------------------------
