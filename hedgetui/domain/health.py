"""How healthy a live data feed is, as the operator needs to see it."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class FeedSource(enum.StrEnum):
    """Where a market's book currently comes from."""

    WS = "ws"
    REST = "rest"
    DOWN = "down"
    STARTING = "starting"


@dataclass(frozen=True)
class FeedHealth:
    """One market's feed: its source, the age of its latest book, resyncs so far and the last error."""

    source: FeedSource
    age_s: float | None
    stale: bool
    resyncs: int = 0
    last_error: str | None = None
