"""The entry pipeline: short the perp and buy the same quantity of spot, confirmed, completed or unwound.

Stages (``PIPELINE_STAGES[ENTER]``): guards, risk (phase 2 on a fresh snapshot, and the hedge must be
within tolerance before it grows), slippage and quantity (the same :func:`estimate_hedge` the dashboard and
the confirmation show), journal, orders, fills, partials, unwind, drift, done. In ``concurrent`` mode both
orders go out at once and both are confirmed even when one of them must halt; in ``perp_first`` mode the
perp is filled (remainders included) before the spot is sized to what the perp actually filled.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from hedgetui.domain.client_ids import Leg
from hedgetui.domain.execution import EndState, ExecutionResult
from hedgetui.domain.orders import Side
from hedgetui.domain.quantity import floor_to
from hedgetui.domain.risk import ActionKind, RiskAssessment
from hedgetui.domain.slippage import SlippageVerdict
from hedgetui.domain.stages import PipelineKind, Stage
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.events import Level
from hedgetui.engine.kit import Guard, PipelineKit, Run
from hedgetui.engine.leg_results import failure_code, why
from hedgetui.engine.legs import HaltRequired, LegFill, LegOrder, LegStatus, Placement, Resolution
from hedgetui.engine.preview import DRIFT_PENDING, HedgeEstimate, estimate_hedge
from hedgetui.engine.settings import Denied, LegMode, OnLegFailure
from hedgetui.engine.snapshot import MarketSnapshot, deepen
from hedgetui.engine.verify import EarlyReading


async def enter(kit: PipelineKit, intent_id: str, size_usd: Decimal, guard: Guard) -> ExecutionResult:
    """Short the perp and buy the same quantity of spot; end HEDGED, FLAT (unwound) or HALTED."""
    run = Run(kit, PipelineKind.ENTER, intent_id)
    tr = run.tracker
    s = kit.settings
    risk: RiskAssessment | None = None
    try:
        async with tr.stage(Stage.GUARDS):
            guard(ActionKind.ENTER)
        async with tr.stage(Stage.RISK) as notes:
            snap = await kit.decision_snapshot(notes)
            risk = kit.risk(snap, ActionKind.ENTER, size_usd, Decimal(0))
            notes.append(risk.summary())
            if not risk.allowed:
                raise Denied(risk.blocking[0].code, risk.summary(), risk)
            before = kit.hedge.drift(kit.legs(snap))
            if before.needs_correction:
                # Growing a hedge whose legs are already apart would hide the gap inside the new orders.
                raise Denied(DRIFT_PENDING, f"correct the drift before entering: {before.describe()}", risk)
        async with tr.stage(Stage.SLIPPAGE) as notes:
            est = _estimate(kit, size_usd, snap)
            deeper = await deepen(snap, kit.venue, s.book_depth) if _depth_refused(est) else None
            if deeper is not None:
                # Refused for depth on shallow books: decided again on full ones, never on a truncated read.
                notes.append(f"books read again {s.book_depth} levels deep")
                snap, est = deeper, _estimate(kit, size_usd, deeper)
            if est.entry is None:
                notes.append("no quantity to estimate")
            else:
                for leg_est in (est.entry.spot, est.entry.perp):
                    notes.append(f"{leg_est.kind.value} {leg_est.reason}")
                blocked = est.entry.blocking()
                if blocked is not None:
                    raise Denied(blocked.verdict.value, f"{blocked.kind.value}: {blocked.reason}", risk)
        async with tr.stage(Stage.QUANTITY) as notes:
            if est.quantity is None:
                raise Denied(est.quantity_reason or "NO_QUANTITY", est.quantity_message, risk)
            qty = est.quantity
            notes.append(f"{qty} {kit.spot_rules.base} on both legs")
        async with tr.stage(Stage.JOURNAL):
            # Posted: it commits in the transaction of the first submission, awaited before anything is sent.
            assert est.entry is not None
            await kit.journal.record_intent(
                intent_id,
                PipelineKind.ENTER.value,
                quantity=qty,
                size_usd=size_usd,
                details={
                    "leg_mode": s.leg_mode.value,
                    "risk": risk.summary(),
                    "spot_est_bps": est.entry.spot.slippage_bps,
                    "perp_est_bps": est.entry.perp.slippage_bps,
                },
                wait=False,
            )
            run.journaled = True
    except Denied as exc:
        await kit.deny(run, exc)
        return await kit.finish(
            run,
            end=EndState.FLAT if kit.hedge.legs is None or kit.hedge.legs.perp_qty == 0 else EndState.HEDGED,
            success=False,
            aborted=True,
            reason=exc.message,
            code=exc.code,
            legs=kit.hedge.legs,
            risk=exc.risk or risk,
        )
    return await _execute(kit, run, qty, snap, est, risk)


async def _execute(
    kit: PipelineKit, run: Run, qty: Decimal, snap: MarketSnapshot, est: HedgeEstimate, risk: RiskAssessment
) -> ExecutionResult:
    tr, ex, intent_id = run.tracker, run.ex, run.intent_id
    perp_req = LegOrder(intent_id, Leg.PERP_OPEN, MarketKind.PERP, Side.SELL, qty)
    spot_req = LegOrder(intent_id, Leg.SPOT_OPEN, MarketKind.SPOT, Side.BUY, qty)
    perp: LegFill | None = None
    spot: LegFill | None = None
    corrections: list[LegFill] = []
    perp_price = snap.perp_book.best_bid or snap.mark
    spot_price = snap.spot_book.best_ask or snap.mark
    # The drift check's read, sent beside the fills once every answer is terminal (hedgetui.engine.verify).
    early: EarlyReading | None = None
    try:
        if kit.settings.leg_mode is LegMode.CONCURRENT:
            async with tr.stage(Stage.ORDERS) as notes:
                placed = await kit.place_all(ex, [perp_req, spot_req])
                notes.append(
                    ", ".join(f"{r.leg.value} {_placed(p)}" for r, p in zip((perp_req, spot_req), placed, strict=True))
                )
                early = await EarlyReading.start(kit.hedge, kit.journal, intent_id, placed)
            async with tr.stage(Stage.FILLS) as notes:
                fills, halt = await kit.confirm_all(ex, list(zip((perp_req, spot_req), placed, strict=True)))
                perp, spot = fills
                notes.append(f"perp {_filled(perp)}/{qty}, spot {_filled(spot)}/{qty}")
                if halt is not None:
                    raise halt
            assert perp is not None and spot is not None
            async with tr.stage(Stage.PARTIALS) as notes:
                if perp.filled > 0 and spot.filled > 0:
                    notes += await kit.complete_partials(run, perp, perp_price)
                    notes += await kit.complete_partials(run, spot, spot_price)
        else:
            async with tr.stage(Stage.ORDERS) as notes:
                perp_p = await ex.place(perp_req)
                notes.append(f"perp {perp_p.resolution.value}")
            async with tr.stage(Stage.FILLS) as notes:
                whole = _filled_whole(perp_p, perp_req)
                if whole is not None:
                    # The perp's terminal answer is the exchange's word that it filled whole: the spot leg goes
                    # now, while the perp's trades (its fee) are still being collected — never before.
                    spot_req = LegOrder(
                        intent_id, Leg.SPOT_OPEN, MarketKind.SPOT, Side.BUY, floor_to(whole, kit.spot_rules.step)
                    )
                    started: list[EarlyReading] = []

                    async def spot_leg() -> LegFill:
                        spot_p = await ex.place(spot_req)
                        reading = await EarlyReading.start(kit.hedge, kit.journal, intent_id, [perp_p, spot_p])
                        started.extend([reading] if reading is not None else [])
                        return await ex.confirm(spot_req, spot_p)

                    perp_r, spot_r = await asyncio.gather(
                        ex.confirm(perp_req, perp_p), spot_leg(), return_exceptions=True
                    )
                    early = started[0] if started else None
                    perp = perp_r if isinstance(perp_r, LegFill) else None
                    spot = spot_r if isinstance(spot_r, LegFill) else None
                    for r in (perp_r, spot_r):
                        if isinstance(r, BaseException):
                            raise r  # each leg ran to its own end first: whatever filled is journaled
                    assert perp is not None
                    notes.append(f"perp {perp.filled}/{qty}")
                    notes.append(f"spot {_filled(spot)}/{spot_req.quantity}")
                else:
                    perp = await ex.confirm(perp_req, perp_p)
                    # A partial (or no) fill: the perp is filled whole (remainders included) before spot is
                    # sized to what it filled.
                    notes += await kit.complete_partials(run, perp, perp_price)
                    notes.append(f"perp {perp.filled}/{qty}")
                    if perp.filled > 0:
                        spot_qty = floor_to(perp.filled, kit.spot_rules.step)
                        spot_req = LegOrder(intent_id, Leg.SPOT_OPEN, MarketKind.SPOT, Side.BUY, spot_qty)
                        spot_p = await ex.place(spot_req)
                        early = await EarlyReading.start(kit.hedge, kit.journal, intent_id, [spot_p])
                        spot = await ex.confirm(spot_req, spot_p)
                        notes.append(f"spot {spot.filled}/{spot_qty}")
            async with tr.stage(Stage.PARTIALS) as notes:
                if spot is not None and spot.filled > 0:
                    notes += await kit.complete_partials(run, spot, spot_price)
        async with tr.stage(Stage.UNWIND) as notes:
            outcome = await _unwind_if_needed(kit, run, perp, spot, snap, notes)
        if outcome is not None:
            corrections += outcome[1]
        async with tr.stage(Stage.DRIFT) as notes:
            late = await kit.sweep(run, notes)
            corrections += late
            drift, legs, fixes = await kit.drift_step(run, notes, early, late)
            corrections += fixes
        common = {
            "quantity": qty,
            "perp": kit.summary(perp),
            "spot": kit.summary(spot),
            "corrections": kit.summaries(corrections),
            "drift": drift,
            "risk": risk,
        }
        flat = legs.perp_qty == 0 and (drift.dust or drift.flat)
        if outcome is not None:
            reason, code = outcome[0]
            return await kit.finish(
                run,
                end=EndState.FLAT if flat else EndState.HEDGED,
                success=False,
                aborted=False,
                reason=reason,
                code=code,
                legs=legs,
                **common,
            )
        assert est.entry is not None
        slippage = await kit.report_slippage(
            run, [(spot, est.entry.spot, "spot_open"), (perp, est.entry.perp, "perp_open")]
        )
        return await kit.finish(
            run,
            end=EndState.FLAT if flat else EndState.HEDGED,
            success=not flat,
            aborted=False,
            reason=f"hedged {-legs.perp_qty} {kit.perp_rules.base} short against {legs.spot_qty} spot: "
            f"{drift.describe()}",
            code="HEDGED" if not flat else "NOTHING_FILLED",
            legs=legs,
            slippage=slippage,
            **common,
        )
    except HaltRequired as halt:
        return await kit.halt(
            run,
            halt,
            quantity=qty,
            perp=kit.summary(perp),
            spot=kit.summary(spot),
            corrections=kit.summaries(corrections),
            risk=risk,
        )
    finally:
        if early is not None:
            early.discard()  # used or not, never left in flight


async def _unwind_if_needed(
    kit: PipelineKit,
    run: Run,
    perp: LegFill | None,
    spot: LegFill | None,
    snap: MarketSnapshot,
    notes: list[str],
) -> tuple[tuple[str, str], list[LegFill]] | None:
    """If exactly one leg failed outright, complete it (if configured) or unwind the other.

    Returns None when both legs have fills (the drift step handles any imbalance), else the end's reason and
    code and the orders sent. Quantities come from the filled orders as the exchange confirmed them.
    """
    perp_failed = perp is None or perp.filled == 0
    spot_failed = spot is None or spot.filled == 0
    if not perp_failed and not spot_failed:
        notes.append("not needed")
        return None
    if perp_failed and spot_failed:
        text = why(perp, spot)
        notes.append(f"nothing filled: {text}")
        return (f"no leg filled: {text}", failure_code(perp, spot)), []
    failed, other = (perp, spot) if perp_failed else (spot, perp)
    assert failed is not None and other is not None
    await run.event(
        "UNWIND",
        f"{failed.request.leg.value} failed after the other leg filled: {why(failed)}",
        level=Level.WARN,
        data={"reason": failure_code(failed)},
    )
    if kit.settings.on_leg_failure is OnLegFailure.COMPLETE and failed.status is not LegStatus.REJECTED:
        req = failed.request
        retry = await run.ex.execute(
            LegOrder(run.intent_id, req.leg, req.kind, req.side, floor_to(other.filled, kit.rules(req.kind).step)),
            first_attempt=failed.last_attempt + 1,
        )
        failed.absorb(retry)
        if failed.filled > 0:
            notes.append(f"completed {req.leg.value}: {failed.filled}")
            return None
    fixes: list[LegFill] = []
    if perp_failed:
        # Spot bought, perp never shorted: sell what this intent's spot orders added to the holding.
        held = kit.spot_net(other)
        qty, blocker = kit.orderable(MarketKind.SPOT, held, snap.spot_book.best_bid or snap.mark, False)
        if blocker is not None:
            raise HaltRequired("UNWIND_BELOW_MIN", f"cannot unwind spot {held}: {blocker}")
        fix = await run.ex.execute(LegOrder(run.intent_id, Leg.SPOT_UNWIND, MarketKind.SPOT, Side.SELL, qty))
        fixes.append(fix)
        if fix.filled < qty:
            raise HaltRequired("UNWIND_FAILED", f"spot unwind filled {fix.filled} of {qty}")
    else:
        qty = other.filled
        fix = await run.ex.execute(
            LegOrder(run.intent_id, Leg.PERP_UNWIND, MarketKind.PERP, Side.BUY, qty, reduce_only=True)
        )
        fixes.append(fix)
        if fix.filled < qty:
            raise HaltRequired("UNWIND_FAILED", f"perp cover filled {fix.filled} of {qty}")
    notes.append("unwound")
    return (f"unwound after {failed.request.leg.value} failed: {why(failed)}", failure_code(failed)), fixes


def _estimate(kit: PipelineKit, size_usd: Decimal, snap: MarketSnapshot) -> HedgeEstimate:
    s = kit.settings
    return estimate_hedge(
        size_usd,
        snap.spot_book,
        snap.perp_book,
        kit.spot_rules,
        kit.perp_rules,
        max_bps=s.slippage_max_bps,
        liquidity_multiple=s.liquidity_multiple,
    )


def _depth_refused(est: HedgeEstimate) -> bool:
    blocked = est.entry.blocking() if est.entry is not None else None
    return blocked is not None and blocked.verdict is SlippageVerdict.INSUFFICIENT_DEPTH


def _filled_whole(placed: Placement, req: LegOrder) -> Decimal | None:
    """What the order filled, when its answer is terminal and says it filled all of ``req``; else None."""
    order = placed.order
    if placed.resolution is not Resolution.PLACED or order is None or not order.status.is_terminal:
        return None
    return order.filled if order.filled >= req.quantity else None


def _placed(p: object) -> str:
    return "halt" if isinstance(p, HaltRequired) else getattr(getattr(p, "resolution", None), "value", "?")


def _filled(fill: LegFill | None) -> str:
    return "unknown" if fill is None else str(fill.filled)
