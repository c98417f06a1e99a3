"""Latest-value slots: the channel for high-rate data (books, estimates) from producers to observers.

A producer overwrites a slot; an observer polls at its own rate and acts only when the version changed.
Nothing queues, so an observer's cost does not depend on the producer's rate. Slots are plain objects
with no locking: producers and observers share one asyncio event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Versioned(Generic[T]):
    """A value with the slot version it was published under and the monotonic time it was published."""

    value: T
    version: int
    published_at: float


class Slot(Generic[T]):
    """Holds the latest value of one item with a version that increases on every publish."""

    __slots__ = ("_latest", "_version", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._version = 0
        self._latest: Versioned[T] | None = None

    @property
    def version(self) -> int:
        """0 until the first publish, then 1, 2, ..."""
        return self._version

    def publish(self, value: T, now: float) -> int:
        """Replace the value; ``now`` is the producer's monotonic clock. Returns the new version."""
        self._version += 1
        self._latest = Versioned(value, self._version, now)
        return self._version

    def latest(self) -> Versioned[T] | None:
        """The latest published value, or None if nothing was published yet."""
        return self._latest

    def changed_since(self, version: int) -> bool:
        """True if a value newer than ``version`` was published."""
        return self._version > version
