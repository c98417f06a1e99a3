"""The exit pipeline: sell the hedge's spot and buy back the perp (reduce-only), then verify flat.

Stages (``PIPELINE_STAGES[EXIT]``): guards, risk (with the depth and slippage of both closing orders, from
the same estimate the dashboard shows), journal, orders (both at once), fills (both confirmed, even when
one halts), partials (remainders; a leg that failed outright restores the other, never leaving one leg
closed alone), verify flat (late orders swept, both legs read from the exchange), done. The quantities to
close are the exchange's: the perp position and the spot balance less the reserve.
"""

from __future__ import annotations

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
from hedgetui.engine.leg_results import why
from hedgetui.engine.legs import HaltRequired, LegFill, LegOrder
from hedgetui.engine.preview import LegEstimates, estimate_legs
from hedgetui.engine.settings import Denied
from hedgetui.engine.snapshot import MarketSnapshot, deepen
from hedgetui.engine.verify import EarlyReading, verification_legs


async def exit_hedge(kit: PipelineKit, intent_id: str, guard: Guard) -> ExecutionResult:
    """Close both legs as the exchange holds them; end FLAT, HEDGED (nothing sent) or HALTED."""
    run = Run(kit, PipelineKind.EXIT, intent_id)
    tr = run.tracker
    s = kit.settings
    risk: RiskAssessment | None = None
    try:
        async with tr.stage(Stage.GUARDS):
            guard(ActionKind.EXIT)
        async with tr.stage(Stage.RISK) as notes:
            snap = await kit.decision_snapshot(notes)
            legs = kit.legs(snap)
            if legs.perp_qty > 0:
                raise Denied("PERP_LONG", f"the perp position is long {legs.perp_qty}: not a hedge to exit")
            spot_price = snap.spot_book.best_bid or snap.mark
            spot_qty, spot_why = kit.orderable(
                MarketKind.SPOT, min(legs.spot_qty, snap.free(kit.spot_rules.base)), spot_price, False
            )
            perp_qty = -legs.perp_qty
            if spot_why is not None:
                notes.append(f"spot not sold: {spot_why}")
                spot_qty = Decimal(0)
            if perp_qty == 0 and spot_qty == 0:
                raise Denied("ALREADY_FLAT", f"nothing to exit: {legs.describe()}")
            notional = max(spot_qty, perp_qty) * snap.mark
            risk = kit.risk(snap, ActionKind.EXIT, notional, spot_qty)
            notes.append(risk.summary())
            if not risk.allowed:
                raise Denied(risk.blocking[0].code, risk.summary(), risk)
            est = _estimate(kit, snap, spot_qty, perp_qty)
            refused = est.blocking()
            if refused is not None and refused.verdict is SlippageVerdict.INSUFFICIENT_DEPTH:
                deeper = await deepen(snap, kit.venue, s.book_depth)
                if deeper is not None:
                    # Refused for depth on shallow books: decided again on full ones, never on a truncated read.
                    notes.append(f"books read again {s.book_depth} levels deep")
                    snap, est = deeper, _estimate(kit, deeper, spot_qty, perp_qty)
            for leg_est, q in ((est.spot, spot_qty), (est.perp, perp_qty)):
                if q > 0:
                    notes.append(f"{leg_est.kind.value} {leg_est.reason}")
                    if not leg_est.ok:
                        raise Denied(leg_est.verdict.value, f"{leg_est.kind.value}: {leg_est.reason}", risk)
        async with tr.stage(Stage.JOURNAL):
            # Posted: it commits in the transaction of the first submission, awaited before anything is sent.
            await kit.journal.record_intent(
                intent_id,
                PipelineKind.EXIT.value,
                quantity=max(spot_qty, perp_qty),
                details={
                    "spot_qty": spot_qty,
                    "perp_qty": perp_qty,
                    "spot_est_bps": est.spot.slippage_bps,
                    "perp_est_bps": est.perp.slippage_bps,
                },
                wait=False,
            )
            run.journaled = True
    except Denied as exc:
        already_flat = exc.code == "ALREADY_FLAT"
        if already_flat:
            run.report.publish("DENY", exc.message, intent_id, data={"code": exc.code})
        else:
            await kit.deny(run, exc)
        legs_now = kit.hedge.legs
        return await kit.finish(
            run,
            end=EndState.FLAT if already_flat or (legs_now is not None and legs_now.perp_qty == 0) else EndState.HEDGED,
            success=already_flat,
            aborted=True,
            reason=exc.message,
            code=exc.code,
            legs=legs_now,
            risk=exc.risk or risk,
        )
    return await _execute(kit, run, spot_qty, perp_qty, est, risk, snap.mark)


async def _execute(
    kit: PipelineKit,
    run: Run,
    spot_qty: Decimal,
    perp_qty: Decimal,
    est: LegEstimates,
    risk: RiskAssessment,
    mark: Decimal,
) -> ExecutionResult:
    tr, ex, intent_id = run.tracker, run.ex, run.intent_id
    spot: LegFill | None = None
    perp: LegFill | None = None
    fixes: list[LegFill] = []
    reqs = [
        r
        for r, q in (
            (LegOrder(intent_id, Leg.SPOT_CLOSE, MarketKind.SPOT, Side.SELL, spot_qty), spot_qty),
            (LegOrder(intent_id, Leg.PERP_CLOSE, MarketKind.PERP, Side.BUY, perp_qty, reduce_only=True), perp_qty),
        )
        if q > 0
    ]
    # The flat check's read, sent beside the fills once every answer is terminal (hedgetui.engine.verify).
    early: EarlyReading | None = None
    try:
        async with tr.stage(Stage.ORDERS) as notes:
            placed = await kit.place_all(ex, reqs)
            notes.append(
                ", ".join(
                    f"{r.leg.value} {getattr(p, 'resolution', 'halt')}" for r, p in zip(reqs, placed, strict=True)
                )
            )
            early = await EarlyReading.start(kit.hedge, kit.journal, intent_id, placed)
        async with tr.stage(Stage.FILLS) as notes:
            fills, halt = await kit.confirm_all(ex, list(zip(reqs, placed, strict=True)))
            for req, fill in zip(reqs, fills, strict=True):
                if req.kind is MarketKind.SPOT:
                    spot = fill
                else:
                    perp = fill
            notes.append(f"spot {spot.filled if spot else '-'}, perp {perp.filled if perp else '-'}")
            if halt is not None:
                raise halt
        async with tr.stage(Stage.PARTIALS) as notes:
            if spot is not None and spot.filled > 0:
                notes += await kit.complete_partials(run, spot, mark)
            if perp is not None and perp.filled > 0:
                notes += await kit.complete_partials(run, perp, mark)
            await _exit_failures(kit, run, spot, perp, notes, fixes)
        async with tr.stage(Stage.VERIFY_FLAT) as notes:
            late = await kit.sweep(run, notes)
            fixes += late
            legs, was_early = await verification_legs(kit.hedge, early, late)
            drift = kit.hedge.drift(legs)
            if was_early and (legs.perp_qty != 0 or not (drift.dust or drift.flat)):
                # Never halt on the early reading alone: a fresh read confirms the legs are not flat.
                legs = await kit.hedge.read()
                drift = kit.hedge.drift(legs)
            notes.append(legs.describe())
            if legs.perp_qty != 0 or not (drift.dust or drift.flat):
                raise HaltRequired("NOT_FLAT", f"after the exit the legs are not flat: {drift.describe()}")
            if legs.spot_qty != 0:
                notes.append(f"spot dust {legs.spot_qty} left")
        slippage = await kit.report_slippage(run, [(spot, est.spot, "spot_close"), (perp, est.perp, "perp_close")])
        return await kit.finish(
            run,
            end=EndState.FLAT,
            success=True,
            aborted=False,
            reason="flat on both legs",
            code="FLAT",
            legs=legs,
            perp=kit.summary(perp),
            spot=kit.summary(spot),
            corrections=kit.summaries(fixes),
            drift=drift,
            risk=risk,
            slippage=slippage,
        )
    except HaltRequired as halt:
        return await kit.halt(
            run, halt, perp=kit.summary(perp), spot=kit.summary(spot), corrections=kit.summaries(fixes), risk=risk
        )
    finally:
        if early is not None:
            early.discard()  # used or not, never left in flight


def _estimate(kit: PipelineKit, snap: MarketSnapshot, spot_qty: Decimal, perp_qty: Decimal) -> LegEstimates:
    s = kit.settings
    return estimate_legs(
        snap.spot_book,
        snap.perp_book,
        spot_qty,
        perp_qty,
        entry=False,
        max_bps=s.slippage_max_bps,
        liquidity_multiple=s.liquidity_multiple,
    )


async def _exit_failures(
    kit: PipelineKit, run: Run, spot: LegFill | None, perp: LegFill | None, notes: list[str], fixes: list[LegFill]
) -> None:
    """One exit leg failed outright: never leave the other leg closed alone; restore it, then halt."""
    spot_failed = spot is not None and spot.filled == 0
    perp_failed = perp is not None and perp.filled == 0
    if perp_failed and perp is not None:
        position = await kit.venue.fetch_perp_position()
        if position.amount == 0:
            notes.append("perp already flat on the exchange (close not needed)")
            await run.event("DECISION", "perp close failed but the position is already flat", level=Level.WARN)
            perp_failed = False
    if spot_failed and not perp_failed and perp is not None and perp.filled > 0:
        restore = await run.ex.execute(
            LegOrder(run.intent_id, Leg.PERP_RESTORE, MarketKind.PERP, Side.SELL, perp.filled)
        )
        fixes.append(restore)
        raise HaltRequired(
            "EXIT_BLOCKED",
            f"spot sell failed ({why(spot)}); perp short restored {restore.filled} of {perp.filled}: exit pending",
        )
    if perp_failed and spot is not None and spot.filled > 0:
        restore = await run.ex.execute(
            LegOrder(
                run.intent_id, Leg.SPOT_RESTORE, MarketKind.SPOT, Side.BUY, floor_to(spot.filled, kit.spot_rules.step)
            )
        )
        fixes.append(restore)
        raise HaltRequired(
            "EXIT_BLOCKED", f"perp close failed ({why(perp)}); spot bought back {restore.filled}: exit pending"
        )
    if spot_failed and (perp is None or perp_failed):
        raise HaltRequired("EXIT_BLOCKED", f"exit orders failed: {why(spot, perp)}; both legs kept")
