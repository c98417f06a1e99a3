"""What surrounds one pipeline run: the breaker's trial, the trading state and proposal after it, the P&L
refresh, and the crash path.

Kept apart from the engine facade, which starts the pipelines (one at a time, as tasks it owns) and keeps
the state this reads and sets; here is what happens once a pipeline has begun, so that every pipeline ends
the same way. :class:`PipelineRunner` is owned as ``Engine.runner``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from hedgetui.domain.execution import EndState, ExecutionResult
from hedgetui.domain.risk import TradingState
from hedgetui.domain.stages import PipelineKind

if TYPE_CHECKING:
    from hedgetui.engine.engine import Engine

#: The engine's logger: a pipeline's crash is the engine's (and log configuration names it).
log = logging.getLogger("hedgetui.engine.engine")


class PipelineRunner:
    """Runs a pipeline the engine started, and settles the engine's state after it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def run(
        self, kind: PipelineKind, run: Callable[[str], Coroutine[Any, Any, ExecutionResult]]
    ) -> ExecutionResult:
        """Run one pipeline to its end: its breaker trial (entries), the trading state and proposal after it,
        the P&L refresh; a crash halts trading loudly and asks for reconciliation."""
        engine = self.engine
        try:
            halted_before = engine.trading_state is TradingState.HALTED
            result = await run(engine._intent_ids())
            if kind is PipelineKind.ENTER and not result.aborted:
                # Only entries are the breaker's trials: an exit or a correction reduces exposure and must
                # neither close an open breaker nor be blocked by it.
                engine.breaker.record(result.success)
                await engine.breakers.save()
            await self.after(kind, result, halted_before)
            # The fills just changed the hedge: its P&L (or the closed hedge's record) follows.
            engine._pnl_refresh = engine._spawn(engine._refresh_pnl_quietly())
            return result
        except Exception as exc:
            # A bug or an unreadable exchange mid-pipeline: stop trading loudly, never silently.
            log.exception("pipeline %s crashed", kind.value)
            message = f"{kind.value} pipeline failed unexpectedly: {type(exc).__name__}: {exc}"
            await engine.report.alert("PIPELINE_CRASH", message)
            if kind is PipelineKind.ENTER:
                engine.breaker.record(False)
                await engine.breakers.save()
            engine.reconciled = False  # orders may be in flight: reconcile before anything else
            await engine._set_state(TradingState.HALTED, message)
            raise
        finally:
            engine._running = None

    async def after(self, kind: PipelineKind, result: ExecutionResult, halted_before: bool) -> None:
        """Trading state and proposal after a run, from the exchange's legs."""
        engine = self.engine
        if result.end_state is EndState.HALTED:
            if await engine.journal.open_submits():
                engine.reconciled = False  # an order's fate is unknown: no correction until reconciled
            engine.proposal = await engine.drift_monitor.propose("the pipeline halted")
            await engine._set_state(TradingState.HALTED, result.reason)
            return
        if kind is PipelineKind.CORRECT and result.success and not result.aborted and halted_before:
            engine.proposal = None
            await engine._set_state(TradingState.ACTIVE, "correction accepted by the operator: legs match")
        elif kind is PipelineKind.CORRECT and result.success:
            engine.proposal = None
