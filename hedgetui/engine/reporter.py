"""The one way the engine reports what it does: journal rows, live events and sticky alerts.

Pipelines, the order executor and reconciliation all report through a :class:`Reporter`, so a row in the
journal and a line on the screen always say the same thing, and an alert is always both journaled and
shown. ``event`` commits before it publishes (a posted event: once its commit lands), so the journal
explains the hedge even if the process dies right after; ``publish`` is for live-only lines whose durable
record is another journal table (SUBMIT, FILL).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any

from hedgetui.domain.stages import PipelineKind
from hedgetui.engine.clock import Clock
from hedgetui.engine.events import AlertEvent, EngineEvent, EventBus, Level
from hedgetui.engine.journal import Journal


@dataclass(frozen=True)
class Reporter:
    """Journal-then-publish for one pipeline (or none: engine-level events)."""

    journal: Journal
    bus: EventBus
    clock: Clock
    pipeline: PipelineKind | None = None

    def for_pipeline(self, pipeline: PipelineKind) -> Reporter:
        """The same reporter, tagging its events with ``pipeline``."""
        return replace(self, pipeline=pipeline)

    async def event(
        self,
        kind: str,
        message: str,
        intent_id: str | None = None,
        *,
        level: Level = Level.INFO,
        data: dict[str, Any] | None = None,
        wait: bool = True,
    ) -> None:
        """Commit an event row to the journal, then show it.

        ``wait=False`` (rows that only explain, on a pipeline's hot path) posts the row and returns at once:
        it is shown when its commit lands, with the next awaited write (``Journal`` "Posted writes")."""
        if not wait:
            posted = self.journal.post_event(kind, message, intent_id=intent_id, level=level.value, data=data)

            def show(done: asyncio.Future[None]) -> None:
                if not done.cancelled() and done.exception() is None:
                    self.publish(kind, message, intent_id, level=level, data=data)

            posted.add_done_callback(show)
            return
        await self.journal.record_event(kind, message, intent_id=intent_id, level=level.value, data=data)
        self.publish(kind, message, intent_id, level=level, data=data)

    def publish(
        self,
        kind: str,
        message: str,
        intent_id: str | None = None,
        *,
        level: Level = Level.INFO,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Show a line without a journal row (its durable record lives in another journal table)."""
        self.bus.publish(
            EngineEvent(
                ts_ms=self.clock.wall_ms(),
                kind=kind,
                message=message,
                level=level,
                intent_id=intent_id,
                pipeline=self.pipeline,
                data=dict(data or {}),
            )
        )

    async def alert(
        self,
        code: str,
        message: str,
        intent_id: str | None = None,
        *,
        level: Level = Level.CRITICAL,
        data: dict[str, Any] | None = None,
    ) -> None:
        """A sticky alert the operator must acknowledge: journaled, then shown."""
        await self.journal.record_event(
            "ALERT", message, intent_id=intent_id, level=level.value, data={"code": code, **(data or {})}
        )
        self.alert_now(code, message, intent_id, level=level)

    def alert_now(
        self, code: str, message: str, intent_id: str | None = None, *, level: Level = Level.CRITICAL
    ) -> None:
        """Show a sticky alert at once (the caller journals it with its own row)."""
        self.bus.publish(
            AlertEvent(
                ts_ms=self.clock.wall_ms(),
                kind="ALERT",
                message=message,
                level=level,
                intent_id=intent_id,
                pipeline=self.pipeline,
                code=code,
                sticky=True,
            )
        )
