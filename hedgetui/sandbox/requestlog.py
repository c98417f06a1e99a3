"""The sandbox's record of the REST requests it received: what a client really cost in requests.

Every exchange request (``/api/...``, ``/fapi/...``; not the control API, not websocket upgrades) is
recorded as it reaches the exchange (after the inbound one-way latency) with its method, path and the
times it arrived and was answered. ``GET /sandbox/requests`` serves the record and ``DELETE
/sandbox/requests`` clears it (README "Control API"), so a test or a benchmark can judge a client by the
requests the exchange saw — how many, and how many round trips they took one after another — instead of
by what the client believes it sent.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass
from typing import Any

#: The record keeps the latest requests only: a long-running sandbox must not grow without bound.
MAX_RECORDED = 10_000


@dataclass
class RecordedRequest:
    """One request as the exchange saw it; ``answered_ms`` is None while it is being handled."""

    seq: int
    method: str
    path: str
    arrived_ms: float
    answered_ms: float | None = None
    status: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "method": self.method,
            "path": self.path,
            "arrived_ms": round(self.arrived_ms, 3),
            "answered_ms": None if self.answered_ms is None else round(self.answered_ms, 3),
            "status": self.status,
        }


class RequestLog:
    """The latest :data:`MAX_RECORDED` exchange requests, oldest first (times in epoch ms, fractional)."""

    def __init__(self) -> None:
        self._records: deque[RecordedRequest] = deque(maxlen=MAX_RECORDED)
        self._seq = itertools.count(1)

    def arrived(self, method: str, path: str, now_ms: float) -> RecordedRequest:
        """Record a request that has just reached the exchange."""
        record = RecordedRequest(next(self._seq), method, path, now_ms)
        self._records.append(record)
        return record

    @staticmethod
    def answered(record: RecordedRequest, status: int, now_ms: float) -> None:
        """Note when (and with which HTTP status) the exchange answered ``record``."""
        record.answered_ms, record.status = now_ms, status

    def clear(self) -> int:
        """Forget every record; returns how many there were."""
        count = len(self._records)
        self._records.clear()
        return count

    def records(self) -> list[RecordedRequest]:
        return list(self._records)

    def describe(self) -> dict[str, Any]:
        """The ``GET /sandbox/requests`` body: the count and every record, oldest first."""
        records = self.records()
        return {"count": len(records), "requests": [r.to_dict() for r in records]}
