"""The breaker's persistence: its transitions shown and journaled, its state saved and restored.

Kept apart from the engine facade (and from :mod:`hedgetui.engine.breaker`, the breaker itself) because it
is the breaker's bookkeeping, not a decision: pybreaker calls back inside a transition, where nothing may
be awaited, so the transition is published at once and its journal row queued until :meth:`BreakerStore.save`
writes it. :class:`BreakerStore` is owned as ``Engine.breakers``; ``Engine.breaker`` reads its breaker.
"""

from __future__ import annotations

from typing import Any

from hedgetui.engine.breaker import BreakerSnapshot, BreakerState, HedgeBreaker
from hedgetui.engine.events import Level
from hedgetui.engine.journal import Journal
from hedgetui.engine.reporter import Reporter


class BreakerStore:
    """The engine's circuit breaker with its journal: restored at start, saved after every trial."""

    def __init__(self, journal: Journal, report: Reporter, fail_max: int, reset_timeout_s: float) -> None:
        self.journal = journal
        self.report = report
        self._fail_max = fail_max
        self._reset_timeout_s = reset_timeout_s
        self.breaker = HedgeBreaker(fail_max, reset_timeout_s, on_change=self._breaker_changed)
        self._breaker_rows: list[tuple[str, str, dict[str, Any]]] = []

    async def restore(self) -> None:
        """Restore the breaker from the journal's last saved state (none saved: it stays closed)."""
        restored = await self.journal.latest_state("breaker")
        if restored:
            self.breaker = HedgeBreaker(
                self._fail_max, self._reset_timeout_s, on_change=self._breaker_changed, restored=restored
            )

    async def reset(self) -> None:
        """The operator closes the breaker by hand; the new state is saved before this returns."""
        self.breaker.reset()
        await self.save()

    def _breaker_changed(self, snap: BreakerSnapshot, previous: BreakerState | None) -> None:
        # Runs inside pybreaker's transition: only publish and queue the journal row; save writes it.
        opened = snap.state is BreakerState.OPEN
        text = f"{previous.value if previous else '?'} → {snap.state.value}"
        self.report.publish(
            "BREAKER",
            f"breaker {text}" + (f", half-open in {snap.reopens_in_s:.0f} s" if snap.reopens_in_s else ""),
            level=Level.ERROR if opened else Level.INFO,
            data=snap.to_dict(),
        )
        if opened:
            self.report.alert_now("BREAKER_OPEN", f"circuit breaker open: {text}", level=Level.ERROR)
        self._breaker_rows.append(("error" if opened else "info", text, snap.to_dict()))

    async def save(self) -> None:
        """Journal the breaker's transitions and its current state (awaited: it survives a crash after)."""
        rows, self._breaker_rows = self._breaker_rows, []
        for level, text, data in rows:
            await self.journal.record_event("BREAKER", text, level=level, data=data)
        await self.journal.record_state("breaker", self.breaker.snapshot().to_dict())
