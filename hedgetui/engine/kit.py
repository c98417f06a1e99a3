"""The shared kit of the three pipelines that move money (enter, exit, correct).

Each pipeline is an explicit walk through its stage list (``hedgetui.domain.stages``) and ends in exactly
one of HEDGED, FLAT or HALTED. The kit holds what they share: the venue, journal and reporter, the risk
check over a typed engine state, placing and confirming both legs together, completing partial fills,
reporting slippage, the late-visibility sweep, the drift step and the end of a run. Every figure a
pipeline decides or reports the hedge with is read from the exchange (``hedgetui.engine.hedge``), never
summed from its own belief. What a result says of its legs (summaries, realised slippage, the failure in
the exchange's words) is worked out in ``hedgetui.engine.leg_results``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from decimal import Decimal

from hedgetui.domain.client_ids import Leg
from hedgetui.domain.drift import DriftCorrection, HedgeDrift
from hedgetui.domain.execution import EndState, ExecutionResult, LegSummary, SlippageAnalysis
from hedgetui.domain.markets import MarketRules
from hedgetui.domain.orders import Side
from hedgetui.domain.quantity import floor_to, orderable
from hedgetui.domain.risk import ActionKind, RiskAssessment, evaluate_risk
from hedgetui.domain.slippage import SlippageEstimate
from hedgetui.domain.stages import PipelineKind, Stage
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.clock import Clock
from hedgetui.engine.events import EventBus, Level
from hedgetui.engine.hedge import ExchangeLegs, HedgeState
from hedgetui.engine.journal import Journal
from hedgetui.engine.leg_results import bps_text, leg_summary, realized_slippage
from hedgetui.engine.legs import HaltRequired, LegFill, LegOrder, LegStatus, Placement
from hedgetui.engine.orders import OrderExecutor
from hedgetui.engine.ports import MarketFeed, VenuePort
from hedgetui.engine.reporter import Reporter
from hedgetui.engine.settings import Denied, EngineSettings
from hedgetui.engine.snapshot import HANDOFF_S, MarketSnapshot, read_snapshot
from hedgetui.engine.state import EngineState
from hedgetui.engine.tracker import StageTracker
from hedgetui.engine.verify import EarlyReading, verification_legs
from hedgetui.exchange.errors import VenueError

Guard = Callable[[ActionKind], None]
"""Raises :class:`Denied` when the engine's state forbids the action (busy, halted, breaker, reconcile)."""


class Run:
    """One pipeline run: its kind, intent, stage tracker and reporter, and whether its intent is journaled."""

    def __init__(self, kit: PipelineKit, pipeline: PipelineKind, intent_id: str) -> None:
        self.pipeline = pipeline
        self.intent_id = intent_id
        self.report = kit.reporter.for_pipeline(pipeline)
        self.tracker = StageTracker(pipeline, kit.bus, kit.journal, kit.clock, intent_id)
        self.ex = kit.executor(pipeline)
        self.journaled = False
        #: A refusal recorded the intent with its own END row (so the result names the intent).
        self.denied = False

    async def event(
        self,
        kind: str,
        message: str,
        *,
        level: Level = Level.INFO,
        data: dict[str, object] | None = None,
        wait: bool = True,
    ) -> None:
        await self.report.event(kind, message, self.intent_id, level=level, data=data, wait=wait)


class PipelineKit:
    """What every pipeline shares, for one hedge pair against one venue."""

    def __init__(
        self,
        venue: VenuePort,
        journal: Journal,
        bus: EventBus,
        clock: Clock,
        settings: EngineSettings,
        hedge: HedgeState,
        *,
        state: Callable[[], EngineState],
        before_send: Callable[[str], None] | None = None,
        market: MarketFeed | None = None,
    ) -> None:
        self.venue = venue
        self.market = market
        self.journal = journal
        self.bus = bus
        self.clock = clock
        self.settings = settings
        self.hedge = hedge
        self.state = state
        self.before_send = before_send
        self.reporter = Reporter(journal, bus, clock)
        self.spot_rules: MarketRules = venue.rules(MarketKind.SPOT)
        self.perp_rules: MarketRules = venue.rules(MarketKind.PERP)
        #: The last reconciliation's whole reading, for the next entry or exit to decide on while it is
        #: fresh (the engine sets it, and clears it when anything else starts); taken once.
        self.handoff: MarketSnapshot | None = None

    # ---- building blocks ---------------------------------------------------------------------------

    def executor(self, pipeline: PipelineKind) -> OrderExecutor:
        return OrderExecutor(
            self.venue,
            self.journal,
            self.bus,
            self.clock,
            self.settings.timeouts,
            pipeline=pipeline,
            before_send=self.before_send,
        )

    def rules(self, kind: MarketKind) -> MarketRules:
        return self.spot_rules if kind is MarketKind.SPOT else self.perp_rules

    async def decision_snapshot(self, notes: list[str]) -> MarketSnapshot:
        """Phase 2's data: the reconciliation's reading when it was made under :data:`HANDOFF_S` ago (a cold
        headless command reconciles right before its pipeline), else one fresh read (streamed where the
        streams vouch, the rest in one round trip, books shallow first)."""
        handed, self.handoff = self.handoff, None
        if handed is not None:
            age = self.clock.monotonic() - handed.taken_at
            if age <= HANDOFF_S:
                notes.append(f"on the reconciliation's reading of {age * 1000:.0f} ms ago")
                return handed
        depth = self.settings.book_depth
        return await read_snapshot(self.venue, self.clock, depth, self.market, shallow_first=True)

    def legs(self, snap: MarketSnapshot) -> ExchangeLegs:
        """Both legs from a snapshot's reads, recorded as the hedge's latest reading."""
        return self.hedge.observe(snap.legs(self.spot_rules.base, self.settings.spot_reserve, self.clock.wall_ms()))

    def risk(self, snap: MarketSnapshot, action: ActionKind, notional: Decimal, base_needed: Decimal) -> RiskAssessment:
        state = self.state()
        inputs = snap.risk_inputs(
            action,
            notional,
            trading_state=state.trading_state,
            breaker_open=state.breaker_open,
            breaker_reopens_in_s=state.breaker_reopens_in_s,
            reconciled=state.reconciled,
            quote_asset=self.spot_rules.quote,
            base_asset=self.spot_rules.base,
            spot_base_needed=base_needed,
            now=self.clock.monotonic(),
        )
        return evaluate_risk(inputs, self.settings.risk)

    def orderable(
        self, kind: MarketKind, qty: Decimal, price: Decimal, reduce_only: bool
    ) -> tuple[Decimal, str | None]:
        """Round ``qty`` down to the market's step; say why it cannot be ordered, if it cannot."""
        rules = self.rules(kind)
        q = floor_to(qty, rules.step)
        if q <= 0:
            return q, f"{qty} is below one {kind.value} step {rules.step}"
        return q, orderable(q, rules, price, reduce_only=reduce_only)

    @staticmethod
    def summary(fill: LegFill | None) -> LegSummary | None:
        return leg_summary(fill)

    def summaries(self, fills: Sequence[LegFill]) -> tuple[LegSummary, ...]:
        return tuple(s for s in map(self.summary, fills) if s is not None)

    def spot_net(self, fill: LegFill) -> Decimal:
        """Base quantity a spot order changed the holding by: buys net of the base-asset fee, sells negative."""
        if fill.request.side is Side.BUY:
            return fill.filled - fill.fee_in(self.spot_rules.base)
        return -fill.filled

    # ---- both legs at once ---------------------------------------------------------------------------

    @staticmethod
    async def place_all(ex: OrderExecutor, reqs: Sequence[LegOrder]) -> list[Placement | HaltRequired]:
        """Submit every order at once: all their submissions committed in one transaction first (one fsync,
        safety rule 5 for each), then all sent together. A leg that must halt does not cut the others short:
        each placement is kept, so an order the exchange accepted is confirmed and journaled before the halt."""
        await ex.record_submits(reqs, 1)
        results = await asyncio.gather(*(ex.place(r, journaled=True) for r in reqs), return_exceptions=True)
        out: list[Placement | HaltRequired] = []
        for r in results:
            if isinstance(r, HaltRequired | Placement):
                out.append(r)
            elif isinstance(r, BaseException):
                raise r
        return out

    @staticmethod
    async def confirm_all(
        ex: OrderExecutor, pairs: Sequence[tuple[LegOrder, Placement | HaltRequired]]
    ) -> tuple[list[LegFill | None], HaltRequired | None]:
        """Confirm every placed order to its end, all at once, and wait for all of them.

        A leg whose confirmation halts never leaves a sibling polling in the background after the halt:
        every sibling runs to its own end first, so its fill is journaled and counted in the residual.
        Returns the fills (None for a leg that halted) and the first halt, if any.
        """

        async def one(req: LegOrder, placed: Placement | HaltRequired) -> LegFill:
            if isinstance(placed, HaltRequired):
                raise placed
            return await ex.confirm(req, placed)

        results = await asyncio.gather(*(one(r, p) for r, p in pairs), return_exceptions=True)
        fills: list[LegFill | None] = []
        halt: HaltRequired | None = None
        for r in results:
            if isinstance(r, LegFill):
                fills.append(r)
                continue
            fills.append(None)
            if isinstance(r, HaltRequired):
                halt = halt or r
            elif isinstance(r, BaseException):
                raise r
        return fills, halt

    async def complete_partials(self, run: Run, fill: LegFill, price: Decimal) -> list[str]:
        """Send remainders of a partially filled leg as new attempts; report remainders below minimums."""
        notes: list[str] = []
        retries = 0
        while 0 < fill.filled < fill.request.quantity and retries < self.settings.timeouts.partial_fill_retries:
            rem, why = self.orderable(fill.request.kind, fill.remaining, price, fill.request.reduce_only)
            if why is not None:
                await run.event(
                    "REMAINDER_BELOW_MIN",
                    f"{fill.request.leg.value} remainder {fill.remaining}: {why}",
                    level=Level.WARN,
                    data={"market": fill.request.kind.value, "qty": fill.remaining},
                )
                notes.append(f"{fill.request.leg.value} remainder below minimum")
                break
            req = fill.request
            follow = await run.ex.execute(
                LegOrder(run.intent_id, req.leg, req.kind, req.side, rem, req.reduce_only),
                first_attempt=fill.last_attempt + 1,
            )
            fill.absorb(follow)
            retries += 1
            notes.append(f"{req.leg.value} remainder {rem} → filled {follow.filled}")
            if follow.status in (LegStatus.REJECTED, LegStatus.NONE):
                break
        return notes

    # ---- slippage ----------------------------------------------------------------------------------

    async def report_slippage(
        self, run: Run, legs: Sequence[tuple[LegFill | None, SlippageEstimate | None, str]]
    ) -> tuple[SlippageAnalysis, ...]:
        """Realised against expected slippage per leg; alert over the limit or far above the estimate."""
        limit = self.settings.slippage_max_bps
        out = tuple(a for a in (realized_slippage(f, e, name, limit) for f, e, name in legs) if a is not None)
        for a in out:
            await run.event(
                "SLIPPAGE",
                f"{a.leg} expected {bps_text(a.expected_bps)}, realised {bps_text(a.realized_bps)}",
                data={"expected": a.expected_bps, "realised": a.realized_bps, "difference": a.difference_bps},
                wait=False,
            )
            if not a.within_limits:
                await run.report.alert(
                    "SLIPPAGE_OVER_LIMIT",
                    f"{a.leg} realised {bps_text(a.realized_bps)} over the {a.limit_bps} bps limit",
                    run.intent_id,
                    level=Level.ERROR,
                )
            elif a.difference_bps is not None and a.difference_bps > self.settings.slippage_alert_bps:
                await run.report.alert(
                    "SLIPPAGE_ABOVE_ESTIMATE",
                    f"{a.leg} realised {bps_text(a.realized_bps)}, {bps_text(a.difference_bps)} worse than the "
                    f"{bps_text(a.expected_bps)} estimated (alert above {self.settings.slippage_alert_bps} bps)",
                    run.intent_id,
                    level=Level.WARN,
                )
        return out

    # ---- exchange truth ----------------------------------------------------------------------------

    async def sweep(self, run: Run, notes: list[str]) -> list[LegFill]:
        """Look once more for this intent's orders concluded "not placed" (late visibility)."""
        if not run.ex.not_placed:
            return []  # only this run's executor concludes "not placed" for this intent's orders
        late = await run.ex.sweep(await self.journal.not_placed_submits(run.intent_id))
        for fill in late:
            notes.append(f"late order {fill.cids[0]} filled {fill.filled}")
        return late

    async def drift_step(
        self, run: Run, notes: list[str], early: EarlyReading | None = None, late: Sequence[LegFill] = ()
    ) -> tuple[HedgeDrift, ExchangeLegs, list[LegFill]]:
        """Drift as the exchange holds the legs; above tolerance, send its correction once (trimming the larger
        leg, or completing the smaller when trimming cannot be ordered), then read the legs again.

        This runs only inside a pipeline the operator confirmed, and only after an entry refused to start on
        legs already apart (DRIFT_PENDING): what it corrects is what that pipeline did. ``early`` is the
        verification read sent beside the fills (``hedgetui.engine.verify``), used while it stands for the
        run's end; ``late`` the orders the sweep just found (they void it).
        """
        fixes: list[LegFill] = []
        legs, was_early = await verification_legs(self.hedge, early, late)
        drift = self.hedge.drift(legs)
        if drift.needs_correction and was_early:
            # Nothing is ever sent on the early reading alone: the gap is confirmed on a fresh read first.
            legs = await self.hedge.read()
            drift = self.hedge.drift(legs)
        notes.append(drift.describe())
        await run.event(
            "DRIFT",
            f"{drift.describe()} [{legs.describe()}]",
            data={"bps": drift.drift_bps, "action": "correct" if drift.correction else "none"},
            wait=False,
        )
        if drift.needs_correction and drift.correction is not None:
            fixes.append(await self.send_correction(run, drift.correction))
            legs = await self.hedge.read(streamed=True)
            drift = self.hedge.drift(legs)
            notes.append(f"after correction: {drift.describe()}")
        if drift.needs_correction:
            raise HaltRequired("DRIFT_UNCORRECTABLE", f"drift above tolerance and not correctable: {drift.describe()}")
        return drift, legs, fixes

    async def send_correction(self, run: Run, c: DriftCorrection) -> LegFill:
        leg = Leg.SPOT_DRIFT if c.kind is MarketKind.SPOT else Leg.PERP_DRIFT
        attempt = 1 + sum(1 for s in await self.journal.submits(run.intent_id) if s.leg == leg.value)
        return await run.ex.execute(
            LegOrder(run.intent_id, leg, c.kind, c.side, c.quantity, c.reduce_only), first_attempt=attempt
        )

    async def residual(self) -> tuple[str, ExchangeLegs | None]:
        """The exchange's true residual, for a halt: read now, never the pipeline's running belief."""
        try:
            legs = await self.hedge.read()
        except VenueError:
            return "residual unknown: the exchange could not be read", None
        return f"residual on the {legs.describe()}", legs

    # ---- ends --------------------------------------------------------------------------------------

    async def finish(
        self,
        run: Run,
        *,
        end: EndState,
        success: bool,
        aborted: bool,
        reason: str,
        code: str,
        legs: ExchangeLegs | None = None,
        **fields: object,
    ) -> ExecutionResult:
        tr = run.tracker
        await tr.skip_rest(reason if not success else "")
        # The DONE stage is recorded before the END row: nothing of a run is journaled after its END.
        async with tr.stage(Stage.DONE, f"{end.value}: {reason}"):
            pass
        if run.journaled:
            spot = legs.spot_qty if legs is not None else None
            perp = legs.perp_qty if legs is not None else None
            # The END row, its event and every row posted before them commit together, before the result.
            await self.journal.record_end(
                run.intent_id, end.value, f"{code}: {reason}", spot_qty=spot, perp_qty=perp, wait=False
            )
            await run.event(
                "END",
                f"{run.pipeline.value} ended {end.value}: {reason}",
                level=Level.INFO if success else Level.WARN,
                data={"state": end.value, "code": code, "spot_qty": spot, "perp_qty": perp},
                wait=False,
            )
        await self.journal.flush()
        return ExecutionResult(
            pipeline=run.pipeline,
            intent_id=run.intent_id if run.journaled or run.denied else None,
            success=success,
            aborted=aborted,
            end_state=end,
            reason=reason,
            reason_code=code,
            stages=tr.timings(),
            timestamp_ms=self.clock.wall_ms(),
            **fields,  # type: ignore[arg-type]
        )

    async def halt(self, run: Run, halt: HaltRequired, **fields: object) -> ExecutionResult:
        """End HALTED with a loud alert that states the exchange's true residual."""
        if not run.journaled:
            # A halt before the intent row (e.g. an uncorrectable drift found by ``correct``): the intent is
            # recorded now, so the alert, the HALT row and the END row all belong to it.
            await self.journal.record_intent(run.intent_id, run.pipeline.value, details={"halted": halt.code})
            run.journaled = True
        residual, legs = await self.residual()
        message = f"HALTED {halt.code}: {halt.message}. {residual}. Operator decision needed."
        await run.report.alert(halt.code, message, run.intent_id)
        await run.event("HALT", message, level=Level.CRITICAL, data={"code": halt.code, "cid": halt.cid})
        return await self.finish(
            run,
            end=EndState.HALTED,
            success=False,
            aborted=False,
            reason=message,
            code=halt.code,
            legs=legs,
            alerts=(message,),
            **fields,
        )

    async def deny(self, run: Run, exc: Denied) -> None:
        """Record a refusal. Before the intent row, the intent and its denial are recorded together, so the
        journal shows every refused request (fault-matrix row 17: INTENT, DENY, no SUBMIT)."""
        if run.journaled:
            await self.journal.record_event("DENY", exc.message, intent_id=run.intent_id, data={"code": exc.code})
            return
        await self.journal.record_intent(run.intent_id, run.pipeline.value, details={"denied": exc.code})
        await self.journal.record_event(
            "DENY", exc.message, intent_id=run.intent_id, level="warn", data={"code": exc.code}
        )
        await self.journal.record_end(run.intent_id, EndState.FLAT.value, f"{exc.code}: {exc.message}")
        run.denied = True
        run.report.publish(
            "DENY",
            f"{run.pipeline.value} denied: {exc.code} {exc.message}",
            run.intent_id,
            level=Level.WARN,
            data={"code": exc.code},
        )


def floor_spot(qty: Decimal, rules: MarketRules) -> Decimal:
    return floor_to(qty, rules.step)
