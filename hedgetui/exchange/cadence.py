"""Timing of the market data loops: exponential backoff with jitter, and steady non-overlapping polling."""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable
from typing import NoReturn

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


def backoff_delay(
    failures: int,
    *,
    minimum: float,
    maximum: float,
    rng: random.Random,
    jitter: float = 0.2,
) -> float:
    """Seconds to wait after ``failures`` consecutive failures (1, 2, ...).

    ``minimum`` doubles with each failure up to ``maximum``; a random ±``jitter`` share (from ``rng``, so
    tests can seed it) spreads reconnects of both markets and of many clients apart. The result always
    stays within [minimum, maximum].
    """
    if failures < 1:
        return 0.0
    base = min(maximum, minimum * 2.0 ** min(failures - 1, 60))
    spread = base * jitter * (2.0 * rng.random() - 1.0)
    return min(maximum, max(minimum, base + spread))


Step = Callable[[], Awaitable[None]]


async def run_steadily(step: Step, interval: float, *, clock: Clock, sleep: Sleep) -> NoReturn:
    """Call ``step`` on a fixed grid of slots ``interval`` apart, forever, never two at once.

    Each call is awaited to its end before the loop sleeps to the next slot of the grid (anchored at the
    first call, so the schedule does not drift). A call that overruns skips the slots it covered rather than
    starting late calls back to back. ``step`` must handle its own errors.
    """
    if interval <= 0:
        raise ValueError(f"interval must be positive, got {interval}")
    origin = clock()
    slot = 0
    while True:
        await step()
        now = clock()
        # The next slot strictly after the current one and not in the past. The wait never exceeds one
        # interval, which only matters for a clock that stands still (a test's frozen clock).
        slot = max(slot + 1, math.ceil((now - origin) / interval))
        await sleep(min(interval, max(0.0, origin + slot * interval - now)))
