"""The three pipelines that move money: enter, exit and correct drift.

Each is an explicit walk through its stage list (``hedgetui.domain.stages``). Each ends in exactly one of
HEDGED, FLAT or HALTED (with a loud alert stating the residual): a leg that fails after the other filled is
completed or unwound, never left naked in silence. Pre-trade checks deny before anything is sent;
everything after the JOURNAL stage is confirmed from the exchange.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from hedgetui.domain.client_ids import Leg
from hedgetui.domain.drift import HedgeDrift, assess_drift
from hedgetui.domain.execution import EndState, ExecutionResult, LegSummary, SlippageAnalysis
from hedgetui.domain.markets import MarketRules
from hedgetui.domain.orders import Side
from hedgetui.domain.quantity import floor_to, hedge_quantity, orderable
from hedgetui.domain.risk import ActionKind, RiskAssessment, RiskLimits, evaluate_risk
from hedgetui.domain.slippage import SlippageEstimate, TakerSide, estimate_slippage
from hedgetui.domain.stages import PipelineKind, Stage
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.clock import Clock
from hedgetui.engine.events import AlertEvent, EventBus, Level, journal_and_publish
from hedgetui.engine.journal import Journal
from hedgetui.engine.orders import ExecTimeouts, HaltRequired, LegFill, LegOrder, LegStatus, OrderExecutor
from hedgetui.engine.ports import VenuePort
from hedgetui.engine.snapshot import MarketSnapshot, read_snapshot
from hedgetui.engine.tracker import StageTracker
from hedgetui.exchange.errors import VenueError

log = logging.getLogger(__name__)
BPS = Decimal(10_000)


class LegMode(enum.StrEnum):
    CONCURRENT = "concurrent"
    PERP_FIRST = "perp_first"


class OnLegFailure(enum.StrEnum):
    UNWIND = "unwind"
    COMPLETE = "complete"


@dataclass(frozen=True)
class EngineSettings:
    """Everything the pipelines decide with (from the configuration)."""

    leg_mode: LegMode = LegMode.CONCURRENT
    on_leg_failure: OnLegFailure = OnLegFailure.UNWIND
    slippage_max_bps: Decimal = Decimal("15")
    liquidity_multiple: Decimal = Decimal("3")
    drift_tolerance_bps: Decimal = Decimal("50")
    risk: RiskLimits = field(default_factory=RiskLimits)
    timeouts: ExecTimeouts = field(default_factory=ExecTimeouts)
    book_depth: int = 100


class Denied(Exception):
    """A pre-trade check refused the action; nothing was sent."""

    def __init__(self, code: str, message: str, risk: RiskAssessment | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.risk = risk


@dataclass
class HedgeBook:
    """The spot quantity that belongs to the hedge (net of fees). The perp side is read from the exchange.

    The journal is the source of truth (``Journal.hedge_spot_qty`` sums the journaled spot fills); this is
    the running value a pipeline updates as its own fills are confirmed, refreshed from the journal at start.
    """

    spot_qty: Decimal = Decimal(0)


@dataclass
class EntryPlan:
    """Phase-1 plan for an entry: what the confirmation shows."""

    size_usd: Decimal
    quantity: Decimal | None
    risk: RiskAssessment
    spot: SlippageEstimate | None
    perp: SlippageEstimate | None
    denial: str | None
    denial_code: str | None

    @property
    def allowed(self) -> bool:
        return self.denial is None


Guard = Callable[[ActionKind], None]
"""Raises :class:`Denied` when the engine's state forbids the action (busy, halted, breaker, reconcile)."""


class Pipelines:
    """Runs the pipelines for one hedge pair against one venue."""

    def __init__(
        self,
        venue: VenuePort,
        journal: Journal,
        bus: EventBus,
        clock: Clock,
        settings: EngineSettings,
        hedge: HedgeBook,
        *,
        risk_context: Callable[[], dict[str, object]],
        before_send: Callable[[str], None] | None = None,
    ) -> None:
        self.venue = venue
        self.journal = journal
        self.bus = bus
        self.clock = clock
        self.settings = settings
        self.hedge = hedge
        self.risk_context = risk_context
        self.before_send = before_send
        self.spot_rules: MarketRules = venue.rules(MarketKind.SPOT)
        self.perp_rules: MarketRules = venue.rules(MarketKind.PERP)

    # ---- helpers -----------------------------------------------------------------------------------

    def _executor(self, pipeline: PipelineKind) -> OrderExecutor:
        return OrderExecutor(
            self.venue,
            self.journal,
            self.bus,
            self.clock,
            self.settings.timeouts,
            pipeline=pipeline,
            before_send=self.before_send,
        )

    def _rules(self, kind: MarketKind) -> MarketRules:
        return self.spot_rules if kind is MarketKind.SPOT else self.perp_rules

    async def _alert(self, code: str, message: str, intent_id: str | None, pipeline: PipelineKind) -> None:
        await self.journal.record_event("ALERT", message, intent_id=intent_id, level="critical", data={"code": code})
        self.bus.publish(
            AlertEvent(
                ts_ms=self.clock.wall_ms(),
                kind="ALERT",
                message=message,
                level=Level.CRITICAL,
                intent_id=intent_id,
                pipeline=pipeline,
                code=code,
                sticky=True,
            )
        )

    async def _event(
        self,
        kind: str,
        message: str,
        intent_id: str | None,
        pipeline: PipelineKind,
        level: Level = Level.INFO,
        data: dict[str, object] | None = None,
    ) -> None:
        await journal_and_publish(
            self.journal,
            self.bus,
            self.clock.wall_ms(),
            kind,
            message,
            intent_id=intent_id,
            pipeline=pipeline,
            level=level,
            data=data,
        )

    def _risk(
        self, snap: MarketSnapshot, action: ActionKind, notional: Decimal, base_needed: Decimal
    ) -> RiskAssessment:
        ctx = self.risk_context()
        inputs = snap.risk_inputs(
            action,
            notional,
            trading_state=ctx["trading_state"],  # type: ignore[arg-type]
            breaker_open=bool(ctx["breaker_open"]),
            breaker_reopens_in_s=ctx.get("breaker_reopens_in_s"),  # type: ignore[arg-type]
            reconciled=bool(ctx["reconciled"]),
            quote_asset=self.spot_rules.quote,
            base_asset=self.spot_rules.base,
            spot_base_needed=base_needed,
            now=self.clock.monotonic(),
        )
        return evaluate_risk(inputs, self.settings.risk)

    def _orderable(
        self, kind: MarketKind, qty: Decimal, price: Decimal, reduce_only: bool
    ) -> tuple[Decimal, str | None]:
        """Round ``qty`` down to the market's step; say why it cannot be ordered, if it cannot."""
        rules = self._rules(kind)
        q = floor_to(qty, rules.step)
        if q <= 0:
            return q, f"{qty} is below one {kind.value} step {rules.step}"
        return q, orderable(q, rules, price, reduce_only=reduce_only)

    def _summary(self, fill: LegFill | None) -> LegSummary | None:
        if fill is None:
            return None
        return LegSummary(
            leg=fill.request.leg.value,
            market=fill.request.kind.value,
            side=fill.request.side.value,
            target=fill.request.quantity,
            filled=fill.filled,
            average=fill.average,
            fees=tuple((f.currency, f.cost) for f in fill.fees),
            client_order_ids=tuple(fill.cids),
            order_ids=tuple(o.order_id for o in fill.orders),
            status=fill.status.value,
        )

    def _spot_net(self, fill: LegFill) -> Decimal:
        """Base quantity a spot leg changed the holding by: buys net of the base-asset fee, sells negative."""
        if fill.request.side is Side.BUY:
            return fill.filled - fill.fee_in(self.spot_rules.base)
        return -fill.filled

    async def _complete_partials(
        self, ex: OrderExecutor, fill: LegFill, price: Decimal, intent_id: str, pipeline: PipelineKind
    ) -> list[str]:
        """Send remainders of a partially filled leg as new attempts; report remainders below minimums."""
        notes: list[str] = []
        retries = 0
        while fill.filled < fill.request.quantity and retries < self.settings.timeouts.partial_fill_retries:
            rem, why = self._orderable(fill.request.kind, fill.remaining, price, fill.request.reduce_only)
            if why is not None:
                await self._event(
                    "REMAINDER_BELOW_MIN",
                    f"{fill.request.leg.value} remainder {fill.remaining}: {why}",
                    intent_id,
                    pipeline,
                    Level.WARN,
                    data={"market": fill.request.kind.value, "qty": fill.remaining},
                )
                notes.append(f"{fill.request.leg.value} remainder below minimum")
                break
            follow = await ex.execute(
                LegOrder(
                    intent_id,
                    fill.request.leg,
                    fill.request.kind,
                    fill.request.side,
                    rem,
                    fill.request.reduce_only,
                ),
                first_attempt=fill.last_attempt + 1,
            )
            fill.absorb(follow)
            retries += 1
            notes.append(f"{fill.request.leg.value} remainder {rem} → filled {follow.filled}")
            if follow.status in (LegStatus.REJECTED, LegStatus.NONE):
                break
        return notes

    def _realized(self, fill: LegFill | None, est: SlippageEstimate | None, leg: str) -> SlippageAnalysis | None:
        if fill is None or est is None or fill.average is None or est.mid is None:
            return None
        raw = (fill.average - est.mid) / est.mid * BPS
        realized = raw if fill.request.side is Side.BUY else -raw
        expected = est.slippage_bps
        return SlippageAnalysis(
            leg=leg,
            expected_bps=expected,
            realized_bps=realized,
            difference_bps=None if expected is None else realized - expected,
            limit_bps=self.settings.slippage_max_bps,
            within_limits=realized <= self.settings.slippage_max_bps,
        )

    async def _finish(
        self,
        tracker: StageTracker,
        pipeline: PipelineKind,
        intent_id: str | None,
        *,
        end: EndState,
        success: bool,
        aborted: bool,
        reason: str,
        code: str,
        journaled: bool,
        **fields: object,
    ) -> ExecutionResult:
        await tracker.skip_rest(reason if not success else "")
        if journaled and intent_id is not None:
            pos: Decimal | None = None
            try:
                pos = (await self.venue.fetch_perp_position()).amount
            except VenueError:
                pos = None
            await self.journal.record_end(
                intent_id, end.value, f"{code}: {reason}", spot_qty=self.hedge.spot_qty, perp_qty=pos
            )
            await self._event(
                "END",
                f"{pipeline.value} ended {end.value}: {reason}",
                intent_id,
                pipeline,
                Level.INFO if success else Level.WARN,
                data={"state": end.value, "code": code, "spot_qty": self.hedge.spot_qty, "perp_qty": pos},
            )
        async with tracker.stage(Stage.DONE, f"{end.value}: {reason}"):
            pass
        return ExecutionResult(
            pipeline=pipeline,
            intent_id=intent_id,
            success=success,
            aborted=aborted,
            end_state=end,
            reason=reason,
            reason_code=code,
            stages=tracker.timings(),
            timestamp_ms=self.clock.wall_ms(),
            **fields,  # type: ignore[arg-type]
        )

    # ---- phase 1 -----------------------------------------------------------------------------------

    async def plan_entry(self, size_usd: Decimal, guard: Guard) -> EntryPlan:
        """What an entry of ``size_usd`` would do now (risk phase 1, slippage, quantity). Sends nothing."""
        snap = await read_snapshot(self.venue, self.clock, self.settings.book_depth)
        risk = self._risk(snap, ActionKind.ENTER, size_usd, Decimal(0))
        denial: str | None = None
        code: str | None = None
        try:
            guard(ActionKind.ENTER)
        except Denied as exc:
            denial, code = exc.message, exc.code
        spot_est = perp_est = None
        qty = None
        q = hedge_quantity(size_usd, snap.spot_book.best_ask, snap.perp_book.best_bid, self.spot_rules, self.perp_rules)
        if q.quantity is not None:
            qty = q.quantity
            spot_est, perp_est = self._estimates(snap, qty, entry=True)
        elif denial is None:
            denial, code = q.message, q.reason
        if denial is None and not risk.allowed:
            denial, code = risk.summary(), risk.blocking[0].code
        if denial is None and spot_est is not None and perp_est is not None:
            for est in (spot_est, perp_est):
                if not est.ok:
                    denial, code = f"{est.kind.value}: {est.reason}", est.verdict.value
                    break
        return EntryPlan(size_usd, qty, risk, spot_est, perp_est, denial, code)

    def _estimates(self, snap: MarketSnapshot, qty: Decimal, entry: bool) -> tuple[SlippageEstimate, SlippageEstimate]:
        s = self.settings
        spot_side = TakerSide.BUY if entry else TakerSide.SELL
        perp_side = TakerSide.SELL if entry else TakerSide.BUY
        spot = estimate_slippage(
            snap.spot_book,
            spot_side,
            qty,
            max_bps=s.slippage_max_bps,
            liquidity_multiple=s.liquidity_multiple,
        )
        perp = estimate_slippage(
            snap.perp_book,
            perp_side,
            qty,
            max_bps=s.slippage_max_bps,
            liquidity_multiple=s.liquidity_multiple,
        )
        return spot, perp

    # ---- enter -------------------------------------------------------------------------------------

    async def enter(self, intent_id: str, size_usd: Decimal, guard: Guard) -> ExecutionResult:
        """Short the perp and buy the same quantity of spot, confirmed, completed or unwound."""
        P = PipelineKind.ENTER
        tr = StageTracker(P, self.bus, self.journal, self.clock, intent_id)
        journaled = False
        risk: RiskAssessment | None = None
        try:
            async with tr.stage(Stage.GUARDS):
                guard(ActionKind.ENTER)
            async with tr.stage(Stage.RISK) as notes:
                snap = await read_snapshot(self.venue, self.clock, self.settings.book_depth)
                risk = self._risk(snap, ActionKind.ENTER, size_usd, Decimal(0))
                notes.append(risk.summary())
                if not risk.allowed:
                    raise Denied(risk.blocking[0].code, risk.summary(), risk)
            async with tr.stage(Stage.SLIPPAGE) as notes:
                mid = snap.spot_book.mid or Decimal(0)
                probe = size_usd / mid if mid > 0 else Decimal(0)
                spot_est, perp_est = self._estimates(snap, probe, entry=True)
                for est in (spot_est, perp_est):
                    notes.append(f"{est.kind.value} {est.reason}")
                    if not est.ok:
                        raise Denied(est.verdict.value, f"{est.kind.value}: {est.reason}")
            async with tr.stage(Stage.QUANTITY) as notes:
                q = hedge_quantity(
                    size_usd,
                    snap.spot_book.best_ask,
                    snap.perp_book.best_bid,
                    self.spot_rules,
                    self.perp_rules,
                )
                if q.quantity is None:
                    raise Denied(q.reason or "NO_QUANTITY", q.message)
                qty = q.quantity
                notes.append(f"{qty} {self.spot_rules.base} on both legs")
            async with tr.stage(Stage.JOURNAL):
                await self.journal.record_intent(
                    intent_id,
                    P.value,
                    quantity=qty,
                    size_usd=size_usd,
                    details={
                        "leg_mode": self.settings.leg_mode.value,
                        "risk": risk.summary(),
                        "spot_est_bps": spot_est.slippage_bps,
                        "perp_est_bps": perp_est.slippage_bps,
                    },
                )
                journaled = True
        except Denied as exc:
            if journaled:
                await self.journal.record_event("DENY", exc.message, intent_id=intent_id, data={"code": exc.code})
            else:
                await self._deny_unjournaled(intent_id, P, exc)
            return await self._finish(
                tr,
                P,
                intent_id,
                end=EndState.FLAT,
                success=False,
                aborted=True,
                reason=exc.message,
                code=exc.code,
                journaled=journaled,
                risk=exc.risk or risk,
            )
        return await self._enter_execute(tr, intent_id, qty, snap, spot_est, perp_est, risk)

    async def _deny_unjournaled(self, intent_id: str, pipeline: PipelineKind, exc: Denied) -> None:
        # A denial before the intent was journaled: record the intent and its denial together, so the
        # journal shows every refused request (fault-matrix row 17: INTENT, DENY, no SUBMIT).
        await self.journal.record_intent(intent_id, pipeline.value, details={"denied": exc.code})
        await self.journal.record_event("DENY", exc.message, intent_id=intent_id, level="warn", data={"code": exc.code})
        await self.journal.record_end(intent_id, EndState.FLAT.value, f"{exc.code}: {exc.message}")
        await self._event(
            "DENY",
            f"{pipeline.value} denied: {exc.code} {exc.message}",
            intent_id,
            pipeline,
            Level.WARN,
            data={"code": exc.code},
        )

    async def _enter_execute(
        self,
        tr: StageTracker,
        intent_id: str,
        qty: Decimal,
        snap: MarketSnapshot,
        spot_est: SlippageEstimate,
        perp_est: SlippageEstimate,
        risk: RiskAssessment,
    ) -> ExecutionResult:
        P = PipelineKind.ENTER
        ex = self._executor(P)
        perp_req = LegOrder(intent_id, Leg.PERP_OPEN, MarketKind.PERP, Side.SELL, qty)
        spot_req = LegOrder(intent_id, Leg.SPOT_OPEN, MarketKind.SPOT, Side.BUY, qty)
        perp: LegFill | None = None
        spot: LegFill | None = None
        corrections: list[LegFill] = []
        try:
            if self.settings.leg_mode is LegMode.CONCURRENT:
                async with tr.stage(Stage.ORDERS) as notes:
                    perp_p, spot_p = await _gather_placements(ex, perp_req, spot_req)
                    notes.append(f"perp {perp_p.resolution.value}, spot {spot_p.resolution.value}")
                async with tr.stage(Stage.FILLS) as notes:
                    perp_fill, spot_fill = await asyncio.gather(
                        ex.confirm(perp_req, perp_p), ex.confirm(spot_req, spot_p)
                    )
                    perp, spot = perp_fill, spot_fill
                    notes.append(f"perp {perp_fill.filled}/{qty}, spot {spot_fill.filled}/{qty}")
            else:
                async with tr.stage(Stage.ORDERS) as notes:
                    perp_p = await ex.place(perp_req)
                    notes.append(f"perp {perp_p.resolution.value}")
                async with tr.stage(Stage.FILLS) as notes:
                    perp = await ex.confirm(perp_req, perp_p)
                    notes.append(f"perp {perp.filled}/{qty}")
                    if perp.filled > 0:
                        spot_qty = floor_to(perp.filled, self.spot_rules.step)
                        spot_req = LegOrder(intent_id, Leg.SPOT_OPEN, MarketKind.SPOT, Side.BUY, spot_qty)
                        spot = await ex.execute(spot_req)
                        notes.append(f"spot {spot.filled}/{spot_qty}")
            assert perp is not None
            async with tr.stage(Stage.PARTIALS) as notes:
                both_started = perp.filled > 0 and (spot is not None and spot.filled > 0)
                if both_started:
                    notes += await self._complete_partials(ex, perp, snap.perp_book.best_bid or snap.mark, intent_id, P)
                    if spot is not None:
                        notes += await self._complete_partials(
                            ex, spot, snap.spot_book.best_ask or snap.mark, intent_id, P
                        )
            if spot is not None:
                self.hedge.spot_qty += self._spot_net(spot)
            async with tr.stage(Stage.UNWIND) as notes:
                outcome = await self._unwind_if_needed(ex, intent_id, perp, spot, snap, notes)
            if outcome is not None:
                corrections += outcome[1]
            async with tr.stage(Stage.DRIFT) as notes:
                # Orders concluded "not placed" are looked for once more: a late-visible order becomes a
                # known fill here, and the drift check (from exchange state) corrects or halts.
                late = await ex.sweep_not_placed(intent_id)
                for fill in late:
                    notes.append(f"late order {fill.cids[0]} filled {fill.filled}")
                    if fill.request.kind is MarketKind.SPOT:
                        self.hedge.spot_qty += self._spot_net(fill)
                drift, fixes = await self._drift_step(ex, intent_id, P, notes)
                corrections += fixes
            if outcome is not None:
                _, reason, code = outcome[0]
                return await self._finish(
                    tr,
                    P,
                    intent_id,
                    end=EndState.FLAT if drift.flat else EndState.HEDGED,
                    success=False,
                    aborted=False,
                    reason=reason,
                    code=code,
                    journaled=True,
                    quantity=qty,
                    perp=self._summary(perp),
                    spot=self._summary(spot),
                    corrections=tuple(s for s in map(self._summary, corrections) if s),
                    drift=drift,
                    risk=risk,
                )
            slippage = tuple(
                a
                for a in (
                    self._realized(spot, spot_est, "spot_open"),
                    self._realized(perp, perp_est, "perp_open"),
                )
                if a is not None
            )
            for a in slippage:
                if not a.within_limits:
                    await self._alert(
                        "SLIPPAGE_OVER_LIMIT",
                        f"{a.leg} realised {a.realized_bps:.1f} bps over the {a.limit_bps} bps limit",
                        intent_id,
                        P,
                    )
                await self._event(
                    "SLIPPAGE",
                    f"{a.leg} expected {a.expected_bps} bps, realised {a.realized_bps:.2f}",
                    intent_id,
                    P,
                    data={"expected": a.expected_bps, "realised": a.realized_bps},
                )
            return await self._finish(
                tr,
                P,
                intent_id,
                end=EndState.HEDGED,
                success=True,
                aborted=False,
                reason=f"hedged {qty}: {drift.describe()}",
                code="HEDGED",
                journaled=True,
                quantity=qty,
                perp=self._summary(perp),
                spot=self._summary(spot),
                corrections=tuple(s for s in map(self._summary, corrections) if s),
                drift=drift,
                risk=risk,
                slippage=slippage,
            )
        except HaltRequired as halt:
            return await self._halt(
                tr,
                P,
                intent_id,
                halt,
                quantity=qty,
                perp=self._summary(perp),
                spot=self._summary(spot),
                risk=risk,
            )

    async def _unwind_if_needed(
        self,
        ex: OrderExecutor,
        intent_id: str,
        perp: LegFill,
        spot: LegFill | None,
        snap: MarketSnapshot,
        notes: list[str],
    ) -> tuple[tuple[EndState, str, str], list[LegFill]] | None:
        """If exactly one leg failed outright, complete it (if configured) or unwind the other.

        Returns None when both legs have fills (drift handles any imbalance), else the end and the orders.
        """
        perp_failed = perp.filled == 0
        spot_failed = spot is None or spot.filled == 0
        if not perp_failed and not spot_failed:
            notes.append("not needed")
            return None
        if perp_failed and spot_failed:
            why = _why(perp, spot)
            notes.append(f"nothing filled: {why}")
            return (EndState.FLAT, f"no leg filled: {why}", _code(perp, spot)), []
        fixes: list[LegFill] = []
        failed = perp if perp_failed else spot
        assert failed is not None
        await self._event(
            "UNWIND",
            f"{failed.request.leg.value} failed after the other leg filled: {_why(failed, None)}",
            intent_id,
            PipelineKind.ENTER,
            Level.WARN,
            data={"reason": _code(failed, None)},
        )
        if self.settings.on_leg_failure is OnLegFailure.COMPLETE and failed.status is not LegStatus.REJECTED:
            other = spot if perp_failed else perp
            assert other is not None
            retry = await ex.execute(
                LegOrder(
                    intent_id,
                    failed.request.leg,
                    failed.request.kind,
                    failed.request.side,
                    floor_to(other.filled, self._rules(failed.request.kind).step),
                ),
                first_attempt=failed.last_attempt + 1,
            )
            failed.absorb(retry)
            if failed.filled > 0:
                if failed is spot:
                    self.hedge.spot_qty += self._spot_net(retry)
                notes.append(f"completed {failed.request.leg.value}: {failed.filled}")
                return None
        if perp_failed:
            # Spot bought, perp never shorted: sell the spot we hold for this intent.
            assert spot is not None
            held = self._spot_net(spot)
            qty, blocker = self._orderable(MarketKind.SPOT, held, snap.spot_book.best_bid or snap.mark, False)
            if blocker is not None:
                raise HaltRequired("UNWIND_BELOW_MIN", f"cannot unwind spot {held}: {blocker}")
            fix = await ex.execute(LegOrder(intent_id, Leg.SPOT_UNWIND, MarketKind.SPOT, Side.SELL, qty))
            fixes.append(fix)
            self.hedge.spot_qty += self._spot_net(fix)
            if fix.filled < qty:
                raise HaltRequired(
                    "UNWIND_FAILED",
                    f"spot unwind filled {fix.filled} of {qty}: residual {held - fix.filled} "
                    f"{self.spot_rules.base} long, unhedged",
                )
        else:
            qty = perp.filled
            fix = await ex.execute(
                LegOrder(intent_id, Leg.PERP_UNWIND, MarketKind.PERP, Side.BUY, qty, reduce_only=True)
            )
            fixes.append(fix)
            if fix.filled < qty:
                raise HaltRequired(
                    "UNWIND_FAILED",
                    f"perp cover filled {fix.filled} of {qty}: residual "
                    f"{qty - fix.filled} {self.perp_rules.base} short, unhedged",
                )
        notes.append("unwound")
        return (
            EndState.FLAT,
            f"unwound after {failed.request.leg.value} failed: {_why(failed, None)}",
            _code(failed, None),
        ), fixes

    async def _drift_step(
        self, ex: OrderExecutor, intent_id: str, pipeline: PipelineKind, notes: list[str]
    ) -> tuple[HedgeDrift, list[LegFill]]:
        """Assess drift from exchange state; correct it once if it is above tolerance and orderable."""
        fixes: list[LegFill] = []
        drift = await self._assess()
        notes.append(drift.describe())
        await self._event(
            "DRIFT",
            drift.describe(),
            intent_id,
            pipeline,
            data={"bps": drift.drift_bps, "action": "correct" if drift.correction else "none"},
        )
        if drift.needs_correction and drift.correction is not None:
            c = drift.correction
            leg = Leg.SPOT_DRIFT if c.kind is MarketKind.SPOT else Leg.PERP_DRIFT
            fix = await ex.execute(LegOrder(intent_id, leg, c.kind, c.side, c.quantity, c.reduce_only))
            fixes.append(fix)
            if c.kind is MarketKind.SPOT:
                self.hedge.spot_qty += self._spot_net(fix)
            drift = await self._assess()
            notes.append(f"after correction: {drift.describe()}")
        if drift.needs_correction:
            raise HaltRequired("DRIFT_UNCORRECTABLE", f"drift above tolerance and not correctable: {drift.describe()}")
        return drift, fixes

    async def _assess(self) -> HedgeDrift:
        position, funding = await asyncio.gather(self.venue.fetch_perp_position(), self.venue.fetch_funding())
        mark = funding.mark_price if funding.mark_price > 0 else (position.mark_price or Decimal(0))
        return assess_drift(
            spot_qty=self.hedge.spot_qty,
            perp_qty=position.amount,
            mark_price=mark,
            tolerance_bps=self.settings.drift_tolerance_bps,
            spot_rules=self.spot_rules,
            perp_rules=self.perp_rules,
        )

    async def _halt(
        self,
        tr: StageTracker,
        pipeline: PipelineKind,
        intent_id: str | None,
        halt: HaltRequired,
        **fields: object,
    ) -> ExecutionResult:
        residual = ""
        try:
            drift = await self._assess()
            residual = (
                f" residual: spot {self.hedge.spot_qty}, perp {drift.perp_qty}, net {drift.drift_qty:+f} "
                f"({drift.drift_notional:+.2f} USD)"
            )
        except VenueError:
            residual = " residual unknown: the exchange could not be read"
        message = f"HALTED {halt.code}: {halt.message}.{residual} Operator decision needed."
        await self._alert(halt.code, message, intent_id, pipeline)
        await self._event(
            "HALT", message, intent_id, pipeline, Level.CRITICAL, data={"code": halt.code, "cid": halt.cid}
        )
        return await self._finish(
            tr,
            pipeline,
            intent_id,
            end=EndState.HALTED,
            success=False,
            aborted=False,
            reason=message,
            code=halt.code,
            journaled=True,
            alerts=(message,),
            **fields,
        )

    # ---- exit --------------------------------------------------------------------------------------

    async def exit(self, intent_id: str, guard: Guard) -> ExecutionResult:
        """Sell the hedge's spot and buy back the perp (reduce-only), then verify flat on the exchange."""
        P = PipelineKind.EXIT
        tr = StageTracker(P, self.bus, self.journal, self.clock, intent_id)
        risk: RiskAssessment | None = None
        try:
            async with tr.stage(Stage.GUARDS):
                guard(ActionKind.EXIT)
            async with tr.stage(Stage.RISK) as notes:
                snap = await read_snapshot(self.venue, self.clock, self.settings.book_depth)
                spot_qty, spot_why = self._orderable(
                    MarketKind.SPOT,
                    min(self.hedge.spot_qty, snap.free(self.spot_rules.base)),
                    snap.spot_book.best_bid or snap.mark,
                    False,
                )
                perp_qty = -snap.position.amount if snap.position.amount < 0 else Decimal(0)
                notional = max(spot_qty, perp_qty) * snap.mark
                risk = self._risk(snap, ActionKind.EXIT, notional, spot_qty)
                notes.append(risk.summary())
                if not risk.allowed:
                    raise Denied(risk.blocking[0].code, risk.summary(), risk)
                if snap.position.amount > 0:
                    raise Denied("PERP_LONG", f"the perp position is long {snap.position.amount}: not a hedge to exit")
                if spot_why is not None:
                    notes.append(f"spot not sold: {spot_why}")
                    spot_qty = Decimal(0)
                if perp_qty == 0 and spot_qty == 0:
                    raise Denied("ALREADY_FLAT", "nothing to exit: no perp short and no orderable hedge spot")
            async with tr.stage(Stage.JOURNAL):
                await self.journal.record_intent(
                    intent_id,
                    P.value,
                    quantity=max(spot_qty, perp_qty),
                    details={"spot_qty": spot_qty, "perp_qty": perp_qty},
                )
        except Denied as exc:
            if exc.code == "ALREADY_FLAT":
                await self._event("DENY", exc.message, intent_id, P, data={"code": exc.code})
                return await self._finish(
                    tr,
                    P,
                    None,
                    end=EndState.FLAT,
                    success=True,
                    aborted=True,
                    reason=exc.message,
                    code=exc.code,
                    journaled=False,
                    risk=risk,
                )
            await self._deny_unjournaled(intent_id, P, exc)
            # Nothing was sent: the hedge is as it was.
            return await self._finish(
                tr,
                P,
                intent_id,
                end=EndState.HEDGED,
                success=False,
                aborted=True,
                reason=exc.message,
                code=exc.code,
                journaled=False,
                risk=exc.risk or risk,
            )
        ex = self._executor(P)
        spot: LegFill | None = None
        perp: LegFill | None = None
        fixes: list[LegFill] = []
        try:
            spot_req = LegOrder(intent_id, Leg.SPOT_CLOSE, MarketKind.SPOT, Side.SELL, spot_qty)
            perp_req = LegOrder(intent_id, Leg.PERP_CLOSE, MarketKind.PERP, Side.BUY, perp_qty, reduce_only=True)
            async with tr.stage(Stage.ORDERS) as notes:
                spot_p = await ex.place(spot_req) if spot_qty > 0 else None
                perp_p = await ex.place(perp_req) if perp_qty > 0 else None
                notes.append(
                    f"spot {spot_p.resolution.value if spot_p else 'none'}, "
                    f"perp {perp_p.resolution.value if perp_p else 'none'}"
                )
            async with tr.stage(Stage.FILLS):
                spot, perp = await asyncio.gather(
                    ex.confirm(spot_req, spot_p) if spot_p else _none(),
                    ex.confirm(perp_req, perp_p) if perp_p else _none(),
                )
            if spot is not None:
                self.hedge.spot_qty += self._spot_net(spot)
            async with tr.stage(Stage.PARTIALS) as notes:
                if spot is not None and spot.filled > 0:
                    before = spot.filled
                    notes += await self._complete_partials(ex, spot, snap.spot_book.best_bid or snap.mark, intent_id, P)
                    self.hedge.spot_qty -= spot.filled - before
                if perp is not None and perp.filled > 0:
                    notes += await self._complete_partials(ex, perp, snap.perp_book.best_ask or snap.mark, intent_id, P)
                fixes += await self._exit_failures(ex, intent_id, spot, perp, notes)
            async with tr.stage(Stage.VERIFY_FLAT) as notes:
                position = await self.venue.fetch_perp_position()
                _dust, dust_why = self._orderable(
                    MarketKind.SPOT, self.hedge.spot_qty, snap.spot_book.best_bid or snap.mark, False
                )
                notes.append(f"perp {position.amount}, hedge spot {self.hedge.spot_qty}")
                if position.amount != 0 or dust_why is None:
                    raise HaltRequired(
                        "NOT_FLAT",
                        f"after the exit the perp is {position.amount} and the hedge "
                        f"still holds {self.hedge.spot_qty} {self.spot_rules.base}",
                    )
                if self.hedge.spot_qty > 0:
                    notes.append(f"spot dust {self.hedge.spot_qty} left ({dust_why})")
            return await self._finish(
                tr,
                P,
                intent_id,
                end=EndState.FLAT,
                success=True,
                aborted=False,
                reason="flat on both legs",
                code="FLAT",
                journaled=True,
                perp=self._summary(perp),
                spot=self._summary(spot),
                corrections=tuple(s for s in map(self._summary, fixes) if s),
                risk=risk,
            )
        except HaltRequired as halt:
            return await self._halt(
                tr, P, intent_id, halt, perp=self._summary(perp), spot=self._summary(spot), risk=risk
            )

    async def _exit_failures(
        self, ex: OrderExecutor, intent_id: str, spot: LegFill | None, perp: LegFill | None, notes: list[str]
    ) -> list[LegFill]:
        """One exit leg failed outright: never leave the other leg unwound alone; restore it, then halt."""
        spot_failed = spot is not None and spot.filled == 0
        perp_failed = perp is not None and perp.filled == 0
        fixes: list[LegFill] = []
        if perp_failed and perp is not None:
            position = await self.venue.fetch_perp_position()
            if position.amount == 0:
                notes.append("perp already flat on the exchange (close not needed)")
                await self._event(
                    "DECISION",
                    "perp close rejected but the position is already flat",
                    intent_id,
                    PipelineKind.EXIT,
                    Level.WARN,
                )
                perp_failed = False
        if spot_failed and not perp_failed and perp is not None and perp.filled > 0:
            restore = await ex.execute(LegOrder(intent_id, Leg.PERP_RESTORE, MarketKind.PERP, Side.SELL, perp.filled))
            fixes.append(restore)
            raise HaltRequired(
                "EXIT_BLOCKED",
                f"spot sell failed ({_why(spot, None)}); perp short restored "
                f"{restore.filled} of {perp.filled}: exit pending",
            )
        if perp_failed and spot is not None and spot.filled > 0:
            restore = await ex.execute(
                LegOrder(
                    intent_id,
                    Leg.SPOT_RESTORE,
                    MarketKind.SPOT,
                    Side.BUY,
                    floor_to(spot.filled, self.spot_rules.step),
                )
            )
            fixes.append(restore)
            self.hedge.spot_qty += self._spot_net(restore)
            raise HaltRequired(
                "EXIT_BLOCKED",
                f"perp close failed ({_why(perp, None)}); spot bought back {restore.filled}: exit pending",
            )
        if spot_failed and (perp is None or perp_failed):
            raise HaltRequired("EXIT_BLOCKED", f"exit orders failed: {_why(spot, perp)}; both legs kept")
        return fixes

    # ---- correct -----------------------------------------------------------------------------------

    async def correct(self, intent_id: str, guard: Guard) -> ExecutionResult:
        """Bring the legs back within tolerance with one order on the larger leg (reduce only)."""
        P = PipelineKind.CORRECT
        tr = StageTracker(P, self.bus, self.journal, self.clock, intent_id)
        ex = self._executor(P)
        try:
            async with tr.stage(Stage.GUARDS):
                guard(ActionKind.CORRECT_REDUCING)
            async with tr.stage(Stage.DRIFT) as notes:
                drift = await self._assess()
                notes.append(drift.describe())
                if not drift.needs_correction:
                    raise Denied("WITHIN_TOLERANCE", f"no correction needed: {drift.describe()}")
                if drift.correction is None:
                    raise HaltRequired("DRIFT_UNCORRECTABLE", f"drift not correctable: {drift.describe()}")
                await self.journal.record_intent(
                    intent_id,
                    P.value,
                    quantity=drift.correction.quantity,
                    details={"drift_bps": drift.drift_bps},
                )
            c = drift.correction
            leg = Leg.SPOT_DRIFT if c.kind is MarketKind.SPOT else Leg.PERP_DRIFT
            req = LegOrder(intent_id, leg, c.kind, c.side, c.quantity, c.reduce_only)
            async with tr.stage(Stage.ORDER) as notes:
                placement = await ex.place(req)
                notes.append(placement.resolution.value)
            async with tr.stage(Stage.FILL) as notes:
                fix = await ex.confirm(req, placement)
                notes.append(f"{fix.filled}/{c.quantity}")
                if c.kind is MarketKind.SPOT:
                    self.hedge.spot_qty += self._spot_net(fix)
            after = await self._assess()
            await self._event(
                "DRIFT", f"after correction: {after.describe()}", intent_id, P, data={"bps": after.drift_bps}
            )
            if after.needs_correction:
                raise HaltRequired("DRIFT_UNCORRECTABLE", f"drift still above tolerance: {after.describe()}")
            end = EndState.HEDGED if after.hedge_notional > 0 else EndState.FLAT
            return await self._finish(
                tr,
                P,
                intent_id,
                end=end,
                success=True,
                aborted=False,
                reason=after.describe(),
                code="CORRECTED",
                journaled=True,
                corrections=tuple(s for s in [self._summary(fix)] if s),
                drift=after,
            )
        except Denied as exc:
            end = EndState.FLAT
            return await self._finish(
                tr,
                P,
                None,
                end=end,
                success=exc.code == "WITHIN_TOLERANCE",
                aborted=True,
                reason=exc.message,
                code=exc.code,
                journaled=False,
            )
        except HaltRequired as halt:
            return await self._halt(tr, P, intent_id, halt)


async def _none() -> None:
    return None


async def _gather_placements(ex: OrderExecutor, a: LegOrder, b: LegOrder) -> tuple:  # type: ignore[type-arg]
    """Submit both legs at once. If one raises (halt), the other still completes and is reported."""
    results = await asyncio.gather(ex.place(a), ex.place(b), return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results[0], results[1]


def _why(a: LegFill | None, b: LegFill | None) -> str:
    parts = []
    for f in (a, b):
        if f is None:
            continue
        if f.error is not None:
            parts.append(f"{f.request.leg.value} {f.error.source} {f.error.code}: {f.error.exchange_message}")
        else:
            parts.append(f"{f.request.leg.value} {f.status.value}")
    return "; ".join(parts) or "no order sent"


def _code(a: LegFill | None, b: LegFill | None) -> str:
    for f in (a, b):
        if f is not None and f.error is not None and f.error.code is not None:
            return f"LEG_FAILED_{f.error.code}"
    return "LEG_FAILED"
