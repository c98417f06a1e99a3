"""Reading only what the streams do not already answer, and the rest at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

#: How long a decision waits for the account stream to settle (a fill's balance change, the background
#: re-read of the perp wallet): only ever for work already under way, and cheaper than a new read.
ACCOUNT_SETTLE_S = 0.25
#: How long a verification waits for the balance and position changes of fills the stream reported
#: (they follow the order's events at once; the stream declares them lost after its own grace).
LEGS_SETTLE_S = 1.0


async def gather_missing(*pairs: tuple[Any, Callable[[], Awaitable[Any]]]) -> list[Any]:
    """Each value as given, or read when it is None; the reads needed run concurrently (one round trip)."""
    reads = [read() for value, read in pairs if value is None]
    results: list[Any] = list(await asyncio.gather(*reads))
    return [value if value is not None else results.pop(0) for value, _ in pairs]
