"""The hedge breaker: counting, gating, half-open trial, persistence, guarded listeners."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hedgetui.engine.breaker import BreakerOpen, BreakerSnapshot, BreakerState, HedgeBreaker


class Clock:
    def __init__(self) -> None:
        self.t = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.t


def test_two_consecutive_failures_open_it_and_a_success_resets_the_count() -> None:
    b = HedgeBreaker(fail_max=2, reset_timeout_s=30)
    b.record(False)
    b.record(True)
    b.record(False)
    assert b.snapshot().state is BreakerState.CLOSED and b.snapshot().failures == 1
    b.record(False)
    snap = b.snapshot()
    assert snap.state is BreakerState.OPEN and snap.reopens_in_s is not None and snap.reopens_in_s > 29
    with pytest.raises(BreakerOpen, match="refused"):
        b.admit()


def test_half_open_after_the_timeout_then_trial_decides() -> None:
    clock = Clock()
    b = HedgeBreaker(fail_max=1, reset_timeout_s=30, now=clock)
    b.record(False)
    assert b.snapshot().state is BreakerState.OPEN
    # pybreaker compares with the real wall clock: move the stored opening time back instead of waiting.
    b._storage.opened_at = datetime.now(UTC) - timedelta(seconds=31)
    clock.t = datetime.now(UTC)
    assert b.snapshot().state is BreakerState.HALF_OPEN
    b.admit()  # the trial may run
    b.record(False)  # trial failed: open again, countdown restarted
    assert b.snapshot().state is BreakerState.OPEN
    b._storage.opened_at = datetime.now(UTC) - timedelta(seconds=31)
    b.record(True)
    assert b.snapshot().state is BreakerState.CLOSED and b.snapshot().failures == 0


def test_listener_sees_transitions_and_a_raising_listener_cannot_keep_it_closed() -> None:
    seen: list[tuple[BreakerState, BreakerState | None]] = []

    def on_change(snap: BreakerSnapshot, prev: BreakerState | None) -> None:
        seen.append((snap.state, prev))
        raise RuntimeError("listener bug")

    b = HedgeBreaker(fail_max=1, on_change=on_change)
    b.record(False)
    assert b.snapshot().state is BreakerState.OPEN
    assert seen == [(BreakerState.OPEN, BreakerState.CLOSED)]
    b.reset()
    assert b.snapshot().state is BreakerState.CLOSED
    assert seen[-1] == (BreakerState.CLOSED, BreakerState.OPEN)


def test_state_survives_a_restart_through_persisted_snapshots() -> None:
    saved: list[BreakerSnapshot] = []
    b = HedgeBreaker(fail_max=2, persist=saved.append)
    b.record(False)
    assert saved[-1].failures == 1
    b.record(False)
    assert saved[-1].state is BreakerState.OPEN
    restored = HedgeBreaker(fail_max=2, restored=saved[-1].to_dict())
    snap = restored.snapshot()
    assert snap.state is BreakerState.OPEN and snap.reopens_in_s is not None and snap.reopens_in_s > 25
    with pytest.raises(BreakerOpen):
        restored.admit()


def test_half_open_restores_as_open_and_failures_are_kept() -> None:
    opened = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    b = HedgeBreaker(restored={"state": "half-open", "failures": 2, "opened_at": opened})
    assert b.snapshot().state is BreakerState.OPEN
    closed = HedgeBreaker(fail_max=3, restored={"state": "closed", "failures": 2, "opened_at": None})
    assert closed.snapshot().failures == 2
    closed.record(False)
    assert closed.snapshot().state is BreakerState.OPEN


def test_trip_opens_immediately() -> None:
    b = HedgeBreaker()
    b.trip()
    assert b.snapshot().state is BreakerState.OPEN
