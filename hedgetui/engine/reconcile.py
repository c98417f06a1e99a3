"""Startup reconciliation: resolve what the journal says may be in flight before any new trade.

For every unfinished intent, every submission without a terminal answer is looked up by client id
(adopted and finished or cancelled if found; believed absent only after the grace window), fills are
collected, then the exchange's position and balances are compared with the journal. A residual delta is
corrected on the larger leg when that is orderable, else the engine halts with an alert. Until this has
finished, the engine refuses every new intent; if the exchange cannot be read, it stays HALTED with
"reconciliation incomplete" and retries with backoff.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from hedgetui.domain.client_ids import Leg, parse_client_order_id
from hedgetui.domain.drift import HedgeDrift, assess_drift
from hedgetui.domain.execution import EndState
from hedgetui.domain.orders import Side
from hedgetui.domain.stages import PipelineKind, Stage
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.clock import Clock
from hedgetui.engine.events import AlertEvent, EventBus, Level, journal_and_publish
from hedgetui.engine.journal import Journal
from hedgetui.engine.orders import ExecTimeouts, HaltRequired, LegOrder, OrderExecutor, Resolution
from hedgetui.engine.ports import VenuePort
from hedgetui.engine.tracker import StageTracker
from hedgetui.exchange.errors import VenueError


@dataclass
class ReconcileReport:
    """What reconciliation found and did, for the operator."""

    complete: bool = False
    halted: bool = False
    intents: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    not_placed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    corrections: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    drift: HedgeDrift | None = None
    messages: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if not self.complete:
            return "reconciliation incomplete: " + ("; ".join(self.messages) or "exchange unreadable")
        parts = [f"{len(self.intents)} unfinished intent(s)"]
        if self.adopted:
            parts.append(f"adopted {', '.join(self.adopted)}")
        if self.not_placed:
            parts.append(f"never placed {', '.join(self.not_placed)}")
        if self.cancelled:
            parts.append(f"cancelled {', '.join(self.cancelled)}")
        if self.corrections:
            parts.append("corrected " + ", ".join(self.corrections))
        if self.external:
            parts.append("external: " + "; ".join(self.external))
        if self.drift is not None:
            parts.append(self.drift.describe())
        if self.halted:
            parts.append("HALTED")
        return "; ".join(parts)


class Reconciler:
    def __init__(
        self,
        venue: VenuePort,
        journal: Journal,
        bus: EventBus,
        clock: Clock,
        timeouts: ExecTimeouts,
        tolerance_bps: Decimal,
    ) -> None:
        self.venue = venue
        self.journal = journal
        self.bus = bus
        self.clock = clock
        self.timeouts = timeouts
        self.tolerance_bps = tolerance_bps

    async def _event(
        self,
        kind: str,
        message: str,
        level: Level = Level.INFO,
        intent_id: str | None = None,
        data: dict[str, object] | None = None,
    ) -> None:
        await journal_and_publish(
            self.journal,
            self.bus,
            self.clock.wall_ms(),
            kind,
            message,
            intent_id=intent_id,
            pipeline=PipelineKind.RECONCILE,
            level=level,
            data=data,
        )

    async def run(self, expected_perp: Decimal | None = None) -> ReconcileReport:
        """Reconcile once. ``expected_perp`` is the perp position the journal implies, if known."""
        report = ReconcileReport()
        tracker = StageTracker(PipelineKind.RECONCILE, self.bus, self.journal, self.clock)
        ex = OrderExecutor(
            self.venue, self.journal, self.bus, self.clock, self.timeouts, pipeline=PipelineKind.RECONCILE
        )
        await self._event("RECONCILE", "start")
        try:
            async with tracker.stage(Stage.LOOKUP) as notes:
                for intent in await self.journal.unfinished_intents():
                    report.intents.append(intent.intent_id)
                    for submit in await self.journal.open_submits(intent.intent_id):
                        kind = MarketKind(submit.market)
                        order, resolution = await ex.lookup(kind, submit.cid, intent.intent_id)
                        if resolution is Resolution.UNRESOLVED:
                            raise HaltRequired("UNRESOLVED_ORDER", f"cannot resolve {submit.cid}", submit.cid)
                        if resolution is Resolution.NOT_PLACED or order is None:
                            await self.journal.record_update(
                                submit.cid,
                                status="not_placed",
                                filled=Decimal(0),
                                terminal=True,
                                message="not found at reconciliation",
                            )
                            report.not_placed.append(submit.cid)
                            continue
                        await self._event(
                            "ADOPT",
                            f"adopted {submit.cid} as order {order.order_id}",
                            intent_id=intent.intent_id,
                            data={"cid": submit.cid},
                        )
                        report.adopted.append(submit.cid)
                        if not order.status.is_terminal:
                            order = await ex.cancel_and_confirm(kind, submit.cid, intent.intent_id)
                            report.cancelled.append(submit.cid)
                        parsed = parse_client_order_id(submit.cid)
                        leg = parsed[1] if parsed else Leg.PERP_OPEN
                        req = LegOrder(
                            intent.intent_id,
                            leg,
                            kind,
                            Side(submit.side),
                            submit.quantity,
                            submit.reduce_only,
                        )
                        await ex._record(submit.cid, order)
                        await ex.collect_fills(req, order, submit.cid)
                notes.append(f"{len(report.intents)} intent(s), {len(report.adopted)} adopted")
            async with tracker.stage(Stage.POSITIONS) as notes:
                rules_spot = self.venue.rules(MarketKind.SPOT)
                rules_perp = self.venue.rules(MarketKind.PERP)
                spot_qty = await self.journal.hedge_spot_qty(rules_spot.base)
                position = await self.venue.fetch_perp_position()
                balances = await self.venue.fetch_spot_balances()
                funding = await self.venue.fetch_funding()
                held = balances.get(rules_spot.base)
                if held is not None and held.total < spot_qty:
                    report.external.append(
                        f"spot {rules_spot.base} balance {held.total} is below the hedge's {spot_qty}"
                    )
                if expected_perp is not None and position.amount != expected_perp:
                    report.external.append(f"perp position {position.amount}, journal implies {expected_perp}")
                mark = funding.mark_price if funding.mark_price > 0 else (position.mark_price or Decimal(0))
                drift = assess_drift(
                    spot_qty=spot_qty,
                    perp_qty=position.amount,
                    mark_price=mark,
                    tolerance_bps=self.tolerance_bps,
                    spot_rules=rules_spot,
                    perp_rules=rules_perp,
                )
                report.drift = drift
                notes.append(drift.describe())
                if drift.needs_correction:
                    if drift.correction is None:
                        raise HaltRequired("RESIDUAL_DELTA", f"residual delta not correctable: {drift.describe()}")
                    c = drift.correction
                    intent_id = report.intents[-1] if report.intents else None
                    if intent_id is None:
                        from hedgetui.domain.client_ids import new_intent_id

                        intent_id = new_intent_id()
                        await self.journal.record_intent(intent_id, "reconcile", quantity=c.quantity)
                        report.intents.append(intent_id)
                    leg = Leg.SPOT_DRIFT if c.kind is MarketKind.SPOT else Leg.PERP_DRIFT
                    attempt = 1 + sum(1 for s in await self.journal.submits(intent_id) if s.leg == leg.value)
                    fix = await ex.execute(
                        LegOrder(intent_id, leg, c.kind, c.side, c.quantity, c.reduce_only),
                        first_attempt=attempt,
                    )
                    report.corrections.append(f"{c.kind.value} {c.side.value} {fix.filled}/{c.quantity}")
                    spot_qty = await self.journal.hedge_spot_qty(rules_spot.base)
                    position = await self.venue.fetch_perp_position()
                    drift = assess_drift(
                        spot_qty=spot_qty,
                        perp_qty=position.amount,
                        mark_price=mark,
                        tolerance_bps=self.tolerance_bps,
                        spot_rules=rules_spot,
                        perp_rules=rules_perp,
                    )
                    report.drift = drift
                    if drift.needs_correction:
                        raise HaltRequired("RESIDUAL_DELTA", f"residual delta after correction: {drift.describe()}")
                for intent_id in report.intents:
                    end = EndState.HEDGED if position.amount != 0 else EndState.FLAT
                    await self.journal.record_end(
                        intent_id,
                        end.value,
                        "resolved at reconciliation",
                        spot_qty=spot_qty,
                        perp_qty=position.amount,
                    )
        except HaltRequired as halt:
            report.halted = True
            report.complete = True
            message = f"reconciliation halted: {halt.code} {halt.message}"
            report.messages.append(message)
            await self._alert(halt.code, message)
            await self._event("RECONCILE", "blocked", Level.CRITICAL, data={"code": halt.code})
            return report
        except VenueError as exc:
            report.messages.append(f"{exc.source}: {exc.exchange_message}")
            await self._alert(
                "RECONCILE_INCOMPLETE", f"reconciliation incomplete: cannot read the exchange ({exc.source})"
            )
            await self._event("RECONCILE", "blocked", Level.CRITICAL, data={"error": exc.source})
            return report
        report.complete = True
        await self._event("RECONCILE", f"done: {report.summary()}")
        return report

    async def _alert(self, code: str, message: str) -> None:
        await self.journal.record_event("ALERT", message, level="critical", data={"code": code})
        self.bus.publish(
            AlertEvent(
                ts_ms=self.clock.wall_ms(),
                kind="ALERT",
                message=message,
                level=Level.CRITICAL,
                pipeline=PipelineKind.RECONCILE,
                code=code,
                sticky=True,
            )
        )
