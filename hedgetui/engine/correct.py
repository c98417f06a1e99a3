"""The correction pipeline: bring the legs back within tolerance with one order, as the exchange holds them.

Stages (``PIPELINE_STAGES[CORRECT]``): guards, drift (both legs read from the exchange; late orders of
earlier runs swept first), order, fill, done. By default it trims the larger leg; an operator who accepted
a proposal's other option (e.g. completing a half-done entry instead of unwinding it) names that option's
market and side, and the pipeline uses it only if the fresh drift still offers it. An order that adds
exposure (a spot buy, a perp sell that grows the short) is first checked against the wallet it draws on,
read from the exchange: one the exchange would reject for funds (after a liquidation the futures wallet is
often empty) is not sent, and the run ends HALTED with the residual (the legs are still apart).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hedgetui.domain.drift import DriftCorrection, HedgeDrift
from hedgetui.domain.execution import EndState, ExecutionResult
from hedgetui.domain.orders import Side
from hedgetui.domain.risk import ActionKind, RiskReason, funds_shortfall
from hedgetui.domain.stages import PipelineKind, Stage
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.kit import Guard, PipelineKit, Run
from hedgetui.engine.legs import HaltRequired, LegFill
from hedgetui.engine.settings import Denied


@dataclass(frozen=True)
class Choice:
    """Which order the operator accepted: its market and side (the quantity is re-read at run time)."""

    kind: MarketKind
    side: Side

    @staticmethod
    def of(c: DriftCorrection) -> Choice:
        return Choice(c.kind, c.side)


def pick(drift: HedgeDrift, choice: Choice | None) -> DriftCorrection | None:
    """The correction to send: the chosen option if the drift still offers it, else the preferred one."""
    if choice is None:
        return drift.correction
    for c in (drift.correction, drift.alternative):
        if c is not None and Choice.of(c) == choice:
            return c
    return None


async def shortfall(kit: PipelineKit, c: DriftCorrection, mark: Decimal) -> RiskReason | None:
    """Whether the wallet a correction that adds exposure draws on can pay for it now, read from the
    exchange: the spot wallet for a spot buy, the futures wallet for a perp order that grows the short."""
    spot_free = futures_available = None
    if c.kind is MarketKind.SPOT:
        held = (await kit.venue.fetch_spot_balances()).get(kit.spot_rules.quote)
        spot_free = held.free if held is not None else Decimal(0)
    else:
        futures_available = (await kit.venue.fetch_futures_balance()).available
    return funds_shortfall(c.kind, c.quantity * mark, spot_quote_free=spot_free, futures_available=futures_available)


async def correct(kit: PipelineKit, intent_id: str, guard: Guard, choice: Choice | None = None) -> ExecutionResult:
    """Correct drift once; end HEDGED or FLAT within tolerance, or HALTED with the exchange's residual."""
    run = Run(kit, PipelineKind.CORRECT, intent_id)
    tr = run.tracker
    fix: LegFill | None = None
    try:
        async with tr.stage(Stage.GUARDS):
            guard(ActionKind.CORRECT_REDUCING)
        async with tr.stage(Stage.DRIFT) as notes:
            late = await run.ex.sweep(await kit.journal.not_placed_submits())
            for fill in late:
                notes.append(f"late order {fill.cids[0]} filled {fill.filled}")
            legs = await kit.hedge.read()
            drift = kit.hedge.drift(legs)
            notes.append(drift.describe())
            if not drift.needs_correction:
                raise Denied("WITHIN_TOLERANCE", f"no correction needed: {drift.describe()}")
            c = pick(drift, choice)
            if c is None:
                if choice is not None:
                    raise Denied("PROPOSAL_STALE", f"the accepted option no longer fits the legs: {drift.describe()}")
                raise HaltRequired("DRIFT_UNCORRECTABLE", f"drift not correctable: {drift.describe()}")
            if not c.reduces:
                guard(ActionKind.CORRECT_INCREASING)
                short = await shortfall(kit, c, legs.mark)
                if short is not None:
                    # The exchange would reject it (-2019, -2010). Nothing is sent, and the legs stay apart:
                    # HALTED, with the residual and a proposal read again from the wallets as they are.
                    raise HaltRequired(short.code, f"{c.describe()} cannot be paid for: {short.message}")
            await kit.journal.record_intent(
                intent_id,
                PipelineKind.CORRECT.value,
                quantity=c.quantity,
                details={"drift_bps": drift.drift_bps, "order": f"{c.kind.value} {c.side.value} {c.quantity}"},
            )
            run.journaled = True
        async with tr.stage(Stage.ORDER) as notes:
            fix = await kit.send_correction(run, c)
            notes.append(f"{fix.status.value}")
        async with tr.stage(Stage.FILL) as notes:
            notes.append(f"{fix.filled}/{c.quantity}")
            legs = await kit.hedge.read()
            after = kit.hedge.drift(legs)
            await run.event("DRIFT", f"after correction: {after.describe()}", data={"bps": after.drift_bps})
            if after.needs_correction:
                raise HaltRequired("DRIFT_UNCORRECTABLE", f"drift still above tolerance: {after.describe()}")
        flat = legs.perp_qty == 0
        return await kit.finish(
            run,
            end=EndState.FLAT if flat else EndState.HEDGED,
            success=True,
            aborted=False,
            reason=after.describe(),
            code="CORRECTED",
            legs=legs,
            corrections=kit.summaries([fix]),
            drift=after,
        )
    except Denied as exc:
        legs_now = kit.hedge.legs
        return await kit.finish(
            run,
            end=EndState.FLAT if legs_now is None or legs_now.perp_qty == 0 else EndState.HEDGED,
            success=exc.code == "WITHIN_TOLERANCE",
            aborted=True,
            reason=exc.message,
            code=exc.code,
            legs=legs_now,
        )
    except HaltRequired as halt:
        return await kit.halt(run, halt, corrections=kit.summaries([fix] if fix else []))
