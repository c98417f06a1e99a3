"""Stage tracking for one pipeline run: the same stage list drives events, journal rows and timings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from hedgetui.domain.execution import StageTiming
from hedgetui.domain.stages import PIPELINE_STAGES, PipelineKind, Stage, StageState
from hedgetui.engine.clock import Clock
from hedgetui.engine.events import EventBus, Level, StageEvent
from hedgetui.engine.journal import Journal


class StageTracker:
    """Publishes a StageEvent (and journals a STAGE row) for every stage transition of one run."""

    def __init__(
        self,
        pipeline: PipelineKind,
        bus: EventBus,
        journal: Journal,
        clock: Clock,
        intent_id: str | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.bus = bus
        self.journal = journal
        self.clock = clock
        self.intent_id = intent_id
        self.states: dict[Stage, StageTiming] = {
            s: StageTiming(stage=s, state=StageState.WAITING) for s in PIPELINE_STAGES[pipeline]
        }

    def _publish(self, stage: Stage, state: StageState, elapsed_ms: float | None, detail: str) -> None:
        self.states[stage] = StageTiming(stage=stage, state=state, elapsed_ms=elapsed_ms, detail=detail)
        level = Level.WARN if state is StageState.FAILED else Level.INFO
        text = f"{stage.value} {state.value}" + (f": {detail}" if detail else "")
        self.bus.publish(
            StageEvent(
                ts_ms=self.clock.wall_ms(),
                kind="STAGE",
                message=text,
                level=level,
                intent_id=self.intent_id,
                pipeline=self.pipeline,
                stage=stage,
                state=state,
                elapsed_ms=elapsed_ms,
            )
        )

    async def _journal(self, stage: Stage, state: StageState, elapsed_ms: float | None, detail: str) -> None:
        if state in (StageState.DONE, StageState.FAILED, StageState.SKIPPED):
            # Posted: a stage row explains, it guards nothing; it commits with the run's next awaited write
            # (its submissions, its END), so it never delays the pipeline by a commit of its own.
            await self.journal.record_event(
                "STAGE",
                f"{self.pipeline.value} {stage.value} {state.value}" + (f": {detail}" if detail else ""),
                intent_id=self.intent_id,
                level="warn" if state is StageState.FAILED else "info",
                data={"stage": stage.value, "state": state.value, "elapsed_ms": elapsed_ms},
                wait=False,
            )

    @asynccontextmanager
    async def stage(self, stage: Stage, detail: str = "") -> AsyncIterator[list[str]]:
        """Run a stage. The yielded list collects detail text; an exception marks the stage FAILED."""
        started = self.clock.monotonic()
        self._publish(stage, StageState.RUNNING, None, "")
        notes: list[str] = [detail] if detail else []
        try:
            yield notes
        except BaseException:
            elapsed = (self.clock.monotonic() - started) * 1000
            self._publish(stage, StageState.FAILED, elapsed, "; ".join(notes))
            await self._journal(stage, StageState.FAILED, elapsed, "; ".join(notes))
            raise
        elapsed = (self.clock.monotonic() - started) * 1000
        self._publish(stage, StageState.DONE, elapsed, "; ".join(notes))
        await self._journal(stage, StageState.DONE, elapsed, "; ".join(notes))

    async def fail(self, stage: Stage, detail: str) -> None:
        """Mark a stage FAILED without running it as a block (a check that denied)."""
        self._publish(stage, StageState.FAILED, 0.0, detail)
        await self._journal(stage, StageState.FAILED, 0.0, detail)

    async def skip(self, stage: Stage, detail: str = "") -> None:
        self._publish(stage, StageState.SKIPPED, None, detail)
        await self._journal(stage, StageState.SKIPPED, None, detail)

    async def skip_rest(self, detail: str = "") -> None:
        """Mark every stage still WAITING as SKIPPED (after a denial or a halt)."""
        for stage, timing in list(self.states.items()):
            if timing.state is StageState.WAITING and stage is not Stage.DONE:
                await self.skip(stage, detail)

    def timings(self) -> tuple[StageTiming, ...]:
        return tuple(self.states.values())
