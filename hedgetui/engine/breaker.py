"""The execution circuit breaker: pybreaker, used so that asyncio cannot defeat it.

pybreaker's ``calling()`` catches ``BaseException`` around the guarded block, hides the tripping error
behind ``CircuitBreakerError`` and lets every concurrent caller through in half-open
(``execution-safety.md`` §5). So the pipeline itself never runs inside pybreaker:

* :meth:`HedgeBreaker.admit` is the gate. It runs under the engine's one-hedge-at-a-time lock, so there
  is exactly one trial in half-open, and it denies with the seconds left while the breaker is open.
* When a pipeline has reached its end state the engine calls :meth:`record` with the outcome. Only then
  does pybreaker see a (synchronous, instantaneous) call, which counts a hedge-level failure or resets the
  count. Exceptions of the pipeline never pass through pybreaker, so none is hidden, and a cancelled
  pipeline records nothing: cancellation is not a failure.
* Listeners are guarded: they catch everything and only hand a snapshot to the engine's callback (which
  enqueues an event). A raising listener would otherwise leave the breaker closed.
* The state lives in a storage that reports every change, so the journal keeps the breaker's state
  across restarts: an open breaker is still open after a crash.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pybreaker

log = logging.getLogger(__name__)


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass(frozen=True)
class BreakerSnapshot:
    """What the operator sees: state, consecutive failures and the countdown to half-open."""

    state: BreakerState
    failures: int
    fail_max: int
    reset_timeout_s: float
    opened_at: datetime | None
    reopens_in_s: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "failures": self.failures,
            "opened_at": self.opened_at.isoformat() if self.opened_at else None,
        }


class BreakerOpen(Exception):
    """A new intent was denied because the breaker is open."""

    def __init__(self, reopens_in_s: float) -> None:
        super().__init__(f"circuit breaker open: new intents are refused for another {reopens_in_s:.0f} s")
        self.reopens_in_s = reopens_in_s


class _HedgeFailed(Exception):
    """Internal marker handed to pybreaker to count one hedge-level failure."""


class _ReportingStorage(pybreaker.CircuitMemoryStorage):
    """pybreaker's memory storage that calls ``on_change`` after every mutation (for persistence)."""

    def __init__(self, state: str, on_change: Callable[[], None]) -> None:
        super().__init__(state)
        self._on_change = on_change

    @property
    def state(self) -> str:
        return str(self._state)

    @state.setter
    def state(self, state: str) -> None:
        self._state = state
        self._on_change()

    def increment_counter(self) -> None:
        super().increment_counter()
        self._on_change()

    def reset_counter(self) -> None:
        super().reset_counter()
        self._on_change()

    @property
    def opened_at(self) -> datetime | None:
        value = self._opened_at
        return value if isinstance(value, datetime) else None

    @opened_at.setter
    def opened_at(self, value: datetime) -> None:
        self._opened_at = value
        self._on_change()


class _GuardedListener(pybreaker.CircuitBreakerListener):
    def __init__(self, owner: HedgeBreaker) -> None:
        self._owner = owner

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        try:
            self._owner._state_changed(str(old_state.name) if old_state is not None else None, str(new_state.name))
        except Exception:  # a listener must never break the transition
            log.exception("breaker listener failed")


class HedgeBreaker:
    """Counts hedge-level failures; opens after ``fail_max`` in a row; half-open after ``reset_timeout_s``.

    ``on_change(snapshot, previous_state)`` is called after every state transition; ``persist(snapshot)``
    after every change of the stored state (also counter changes). Both must not block.
    """

    def __init__(
        self,
        fail_max: int = 2,
        reset_timeout_s: float = 30.0,
        *,
        on_change: Callable[[BreakerSnapshot, BreakerState | None], None] | None = None,
        persist: Callable[[BreakerSnapshot], None] | None = None,
        restored: dict[str, Any] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._on_change = on_change
        self._persist = persist
        self._now = now
        self._restoring = True
        storage = _ReportingStorage(pybreaker.STATE_CLOSED, self._stored_changed)
        if restored:
            # A half-open breaker restores as open: its trial never finished.
            state = restored.get("state")
            if state in (BreakerState.OPEN.value, BreakerState.HALF_OPEN.value):
                storage.state = pybreaker.STATE_OPEN
                opened = restored.get("opened_at")
                storage.opened_at = datetime.fromisoformat(opened) if opened else self._now()
            for _ in range(int(restored.get("failures", 0))):
                storage.increment_counter()
        self._cb = pybreaker.CircuitBreaker(
            fail_max=fail_max,
            reset_timeout=reset_timeout_s,
            state_storage=storage,
            listeners=[_GuardedListener(self)],
            throw_new_error_on_trip=False,
            name="hedge",
        )
        self._storage = storage
        self._restoring = False

    # ---- reading ------------------------------------------------------------------------------------

    def snapshot(self, raw_state: str | None = None) -> BreakerSnapshot:
        """The state as the operator should see it now (an elapsed open breaker reads as half-open)."""
        raw = raw_state or self._storage.state
        opened_at = self._storage.opened_at
        reopens_in: float | None = None
        state = BreakerState.CLOSED
        if raw == pybreaker.STATE_OPEN:
            remaining = self._remaining(opened_at)
            if remaining > 0:
                state, reopens_in = BreakerState.OPEN, remaining
            else:
                state = BreakerState.HALF_OPEN
        elif raw == pybreaker.STATE_HALF_OPEN:
            state = BreakerState.HALF_OPEN
        return BreakerSnapshot(
            state=state,
            failures=int(self._storage.counter),
            fail_max=self._cb.fail_max,
            reset_timeout_s=float(self._cb.reset_timeout),
            opened_at=opened_at if raw != pybreaker.STATE_CLOSED else None,
            reopens_in_s=reopens_in,
        )

    def _remaining(self, opened_at: datetime | None) -> float:
        if opened_at is None:
            return 0.0
        reopen = opened_at + timedelta(seconds=float(self._cb.reset_timeout))
        return max(0.0, (reopen - self._now()).total_seconds())

    # ---- gating and recording ----------------------------------------------------------------------

    def admit(self) -> None:
        """Raise :class:`BreakerOpen` if a new intent may not start now. Call under the hedge lock."""
        snap = self.snapshot()
        if snap.state is BreakerState.OPEN:
            raise BreakerOpen(snap.reopens_in_s or 0.0)

    def record(self, success: bool) -> None:
        """Count the outcome of one finished pipeline (success resets the count; failure adds one)."""
        try:
            with self._cb.calling():
                if not success:
                    raise _HedgeFailed()
        except _HedgeFailed:
            pass
        except pybreaker.CircuitBreakerError:
            # Recording while still open (a pipeline admitted before a concurrent trip): count it anyway.
            if not success:
                self._storage.increment_counter()

    def reset(self) -> None:
        """The operator closes the breaker by hand (failure count back to 0)."""
        self._cb.close()

    def trip(self) -> None:
        """Open the breaker now (e.g. on an IP ban or an authentication failure)."""
        self._cb.open()

    # ---- notifications -----------------------------------------------------------------------------

    def _stored_changed(self) -> None:
        if self._restoring or self._persist is None:
            return
        try:
            self._persist(self.snapshot())
        except Exception:
            log.exception("breaker persistence failed")

    def _state_changed(self, old: str | None, new: str) -> None:
        if self._on_change is None:
            return
        previous = BreakerState(old) if old in {s.value for s in BreakerState} else None
        # pybreaker notifies listeners before it stores the new state, so read the new one from the event.
        self._on_change(self.snapshot(raw_state=new), previous)
