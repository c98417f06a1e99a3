"""Time for the engine, injectable so tests never really wait.

Deadlines and backoffs read :meth:`Clock.monotonic` and wait with :meth:`Clock.sleep`; tests pass a
:class:`ManualClock` whose ``sleep`` advances its own time, which makes a 60-second fill deadline run in
microseconds (tenacity's own delay-based stops read the real monotonic clock, so the engine never uses them).
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def wall_ms(self) -> int: ...

    async def sleep(self, seconds: float) -> None: ...


class RealClock:
    """The process clocks and ``asyncio.sleep``."""

    def monotonic(self) -> float:
        return time.monotonic()

    def wall_ms(self) -> int:
        return int(time.time() * 1000)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ManualClock:
    """A clock that only moves when slept on (or advanced): sleeping advances time and yields once."""

    def __init__(self, start: float = 1000.0, wall_start_ms: int = 1_700_000_000_000) -> None:
        self.now = start
        self._wall0 = wall_start_ms
        self._start = start
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wall_ms(self) -> int:
        return self._wall0 + int((self.now - self._start) * 1000)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.now += seconds
