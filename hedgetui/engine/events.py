"""The engine's ordered event stream: stages, fills, alerts, breaker and trading-state changes, log lines.

Events are never dropped or coalesced: every subscriber has its own unbounded queue and receives every
event in publication order. High-rate data (books, estimates) does not travel here; it goes through
latest-value slots.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hedgetui.domain.stages import PipelineKind, Stage, StageState

log = logging.getLogger(__name__)


class Level(enum.StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARN = "warn"
    ERROR = "error"
    CRITICAL = "critical"


@dataclass(frozen=True)
class EngineEvent:
    """Base of every event. ``kind`` uses the journal's vocabulary (SUBMIT, AMBIGUOUS, LOOKUP, ...)."""

    ts_ms: int
    kind: str
    message: str
    level: Level = Level.INFO
    intent_id: str | None = None
    pipeline: PipelineKind | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StageEvent(EngineEvent):
    """A pipeline stage changed state; ``elapsed_ms`` is the stage's own duration when it ended."""

    stage: Stage = Stage.GUARDS
    state: StageState = StageState.WAITING
    elapsed_ms: float | None = None


@dataclass(frozen=True)
class FillEvent(EngineEvent):
    leg: str = ""
    cid: str = ""
    quantity: Decimal = Decimal(0)
    price: Decimal = Decimal(0)
    fee: Decimal | None = None
    fee_asset: str | None = None


@dataclass(frozen=True)
class AlertEvent(EngineEvent):
    """Something the operator must see. ``sticky`` alerts stay on screen until acknowledged."""

    code: str = ""
    sticky: bool = False


@dataclass(frozen=True)
class StateEvent(EngineEvent):
    """The breaker, the trading state or the engine's busy flag changed; ``data`` holds the new values."""


class EventBus:
    """Fan-out of engine events to any number of subscribers, in order, without loss."""

    def __init__(self, history: int = 500) -> None:
        self._subscribers: list[asyncio.Queue[EngineEvent]] = []
        self._history: deque[EngineEvent] = deque(maxlen=history)

    def subscribe(self, replay: bool = False) -> asyncio.Queue[EngineEvent]:
        """A new queue receiving every event from now on (and, with ``replay``, the recent history)."""
        queue: asyncio.Queue[EngineEvent] = asyncio.Queue()
        if replay:
            for event in self._history:
                queue.put_nowait(event)
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[EngineEvent]) -> None:
        if queue in self._subscribers:
            self._subscribers.remove(queue)

    def publish(self, event: EngineEvent) -> None:
        """Deliver ``event`` to every subscriber now (never blocks, never drops)."""
        self._history.append(event)
        level = {
            Level.DEBUG: logging.DEBUG,
            Level.INFO: logging.INFO,
            Level.WARN: logging.WARNING,
            Level.ERROR: logging.ERROR,
            Level.CRITICAL: logging.CRITICAL,
        }[event.level]
        log.log(level, "%s %s %s", event.kind, event.intent_id or "-", event.message)
        for queue in self._subscribers:
            queue.put_nowait(event)

    def recent(self) -> list[EngineEvent]:
        return list(self._history)
