"""The engine facade: owns the pipeline tasks, the breaker, the trading state and the journal.

The UI and the headless commands observe it and call it; they never own an order flow. One pipeline runs
at a time (``Busy`` otherwise), as an ``asyncio.Task`` held by the engine, so quitting the dashboard or a
cancelled UI worker can never cut a hedge between its legs: :meth:`shutdown` waits for the running
pipeline to reach its end state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hedgetui.domain.client_ids import new_intent_id
from hedgetui.domain.execution import EndState, ExecutionResult
from hedgetui.domain.risk import ActionKind, TradingState
from hedgetui.domain.stages import PipelineKind
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.breaker import BreakerOpen, BreakerSnapshot, BreakerState, HedgeBreaker
from hedgetui.engine.clock import Clock, RealClock
from hedgetui.engine.events import AlertEvent, EventBus, Level, StateEvent, journal_and_publish
from hedgetui.engine.journal import Journal
from hedgetui.engine.pipelines import Denied, EngineSettings, EntryPlan, HedgeBook, Pipelines
from hedgetui.engine.ports import VenuePort
from hedgetui.engine.reconcile import Reconciler, ReconcileReport

log = logging.getLogger(__name__)


class Busy(Exception):
    """Another pipeline is running; the engine runs one at a time."""


@dataclass(frozen=True)
class EngineStatus:
    trading_state: TradingState
    breaker: BreakerSnapshot
    busy: PipelineKind | None
    reconciled: bool
    hedge_spot_qty: Decimal
    halt_reason: str | None


class Engine:
    """Facade over pipelines, breaker, trading state, journal and reconciliation."""

    def __init__(
        self,
        venue: VenuePort,
        journal: Journal,
        settings: EngineSettings,
        *,
        fail_max: int = 2,
        reset_timeout_s: float = 30.0,
        clock: Clock | None = None,
        bus: EventBus | None = None,
        before_send: Callable[[str], None] | None = None,
        stale_data: Callable[[], str | None] | None = None,
        intent_ids: Callable[[], str] = new_intent_id,
    ) -> None:
        self.venue = venue
        self.journal = journal
        self.settings = settings
        self.clock = clock or RealClock()
        self.bus = bus or EventBus()
        self.hedge = HedgeBook()
        self.trading_state = TradingState.HALTED  # until reconciliation has run
        self.halt_reason: str | None = "startup reconciliation pending"
        self.reconciled = False
        self._fail_max = fail_max
        self._reset_timeout_s = reset_timeout_s
        self.breaker = HedgeBreaker(
            fail_max, reset_timeout_s, on_change=self._breaker_changed, persist=self._persist_breaker
        )
        self._task: asyncio.Task[ExecutionResult] | None = None
        self._running: PipelineKind | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self.pipelines = Pipelines(
            venue,
            journal,
            self.bus,
            self.clock,
            settings,
            self.hedge,
            risk_context=self._risk_context,
            before_send=before_send,
        )
        self.last_reconcile: ReconcileReport | None = None
        self.started_ms = self.clock.wall_ms()  # journal rows before this belong to earlier sessions
        # Live feed health (the market data service): a stale book stops new entries even though the
        # pipeline reads fresh data itself, because the operator decided on what the screen showed.
        self.stale_data = stale_data
        self._intent_ids = intent_ids

    # ---- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> ReconcileReport:
        """Restore breaker and trading state from the journal, then reconcile. No intent runs before."""
        self.started_ms = self.clock.wall_ms()
        restored = await self.journal.latest_state("breaker")
        if restored:
            self.breaker = HedgeBreaker(
                self._fail_max,
                self._reset_timeout_s,
                on_change=self._breaker_changed,
                persist=self._persist_breaker,
                restored=restored,
            )
        trading = await self.journal.latest_state("trading_state")
        return await self.reconcile(previous=TradingState(trading["state"]) if trading else TradingState.ACTIVE)

    async def reconcile(self, previous: TradingState | None = None) -> ReconcileReport:
        """Run reconciliation (also the ``hedgetui reconcile`` command). Blocks intents while it runs."""
        if self._task is not None and not self._task.done():
            raise Busy("a pipeline is running")
        self.reconciled = False
        self._running = PipelineKind.RECONCILE
        try:
            report = await Reconciler(
                self.venue,
                self.journal,
                self.bus,
                self.clock,
                self.settings.timeouts,
                self.settings.drift_tolerance_bps,
            ).run()
        finally:
            self._running = None
        self.last_reconcile = report
        self.hedge.spot_qty = await self.journal.hedge_spot_qty(self.venue.rules(MarketKind.SPOT).base)
        if not report.complete:
            await self._set_state(TradingState.HALTED, report.summary())
        elif report.halted:
            await self._set_state(TradingState.HALTED, report.messages[-1] if report.messages else "halted")
            self.reconciled = True
        else:
            self.reconciled = True
            target = previous or TradingState.ACTIVE
            reason = "restored after reconciliation" if target is not TradingState.HALTED else self.halt_reason
            await self._set_state(target, reason or "reconciled")
        return report

    async def shutdown(self) -> None:
        """Let a running pipeline finish (never cancel it), then let background writes drain."""
        if self._task is not None and not self._task.done():
            self.bus.publish(
                StateEvent(
                    ts_ms=self.clock.wall_ms(),
                    kind="SHUTDOWN",
                    message="waiting for the running pipeline to finish before exiting",
                )
            )
            await asyncio.shield(self._task)
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self.journal.record_event("SHUTDOWN", "engine stopped")

    # ---- state -------------------------------------------------------------------------------------

    def status(self) -> EngineStatus:
        return EngineStatus(
            trading_state=self.trading_state,
            breaker=self.breaker.snapshot(),
            busy=self._running,
            reconciled=self.reconciled,
            hedge_spot_qty=self.hedge.spot_qty,
            halt_reason=self.halt_reason if self.trading_state is TradingState.HALTED else None,
        )

    @property
    def busy(self) -> bool:
        return self._running is not None

    async def set_trading_state(self, state: TradingState, reason: str = "operator") -> None:
        """The operator switches trading state. Leaving HALTED requires a finished reconciliation."""
        if state is not TradingState.HALTED and not self.reconciled:
            raise Denied("RECONCILE_PENDING", "reconcile before leaving HALTED")
        await self._set_state(state, reason)

    async def _set_state(self, state: TradingState, reason: str) -> None:
        previous = self.trading_state
        self.trading_state = state
        self.halt_reason = reason if state is TradingState.HALTED else None
        await self.journal.record_state("trading_state", {"state": state.value, "reason": reason})
        self.bus.publish(
            StateEvent(
                ts_ms=self.clock.wall_ms(),
                kind="TRADING_STATE",
                message=f"trading {previous.value} → {state.value}: {reason}",
                level=Level.CRITICAL if state is TradingState.HALTED else Level.INFO,
                data={"state": state.value, "previous": previous.value, "reason": reason},
            )
        )

    def reset_breaker(self) -> None:
        self.breaker.reset()

    def _risk_context(self) -> dict[str, object]:
        snap = self.breaker.snapshot()
        return {
            "trading_state": self.trading_state,
            "breaker_open": snap.state is BreakerState.OPEN,
            "breaker_reopens_in_s": snap.reopens_in_s,
            "reconciled": self.reconciled,
        }

    def _breaker_changed(self, snap: BreakerSnapshot, previous: BreakerState | None) -> None:
        # Runs inside pybreaker's transition: only enqueue, never block or raise.
        opened = snap.state is BreakerState.OPEN
        self.bus.publish(
            AlertEvent(
                ts_ms=self.clock.wall_ms(),
                kind="BREAKER",
                message=f"breaker {previous.value if previous else '?'} → {snap.state.value}"
                + (f", half-open in {snap.reopens_in_s:.0f} s" if snap.reopens_in_s else ""),
                level=Level.ERROR if opened else Level.INFO,
                code="BREAKER_OPEN" if opened else "BREAKER_CLOSED",
                sticky=opened,
                data=snap.to_dict(),
            )
        )
        self._spawn(
            self.journal.record_event(
                "BREAKER",
                f"{previous.value if previous else '?'} → {snap.state.value}",
                level="error" if opened else "info",
                data=snap.to_dict(),
            )
        )

    def _persist_breaker(self, snap: BreakerSnapshot) -> None:
        self._spawn(self.journal.record_state("breaker", snap.to_dict()))

    def note(self, kind: str, message: str, data: dict[str, Any] | None = None, level: Level = Level.WARN) -> None:
        """Journal and show an event from outside the pipelines (e.g. BOOK_STALE from market data)."""
        self._spawn(
            journal_and_publish(self.journal, self.bus, self.clock.wall_ms(), kind, message, level=level, data=data)
        )

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:
            coro.close()
            return
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def guard(self, action: ActionKind) -> None:
        """Raise :class:`Denied` if the engine's state forbids ``action`` now (pipeline GUARDS stage)."""
        if not self.reconciled:
            raise Denied("RECONCILE_PENDING", "startup reconciliation has not finished")
        if self.trading_state is TradingState.HALTED:
            raise Denied("TRADING_HALTED", f"trading is HALTED: {self.halt_reason or 'operator'}")
        if self.trading_state is TradingState.REDUCING and not action.reduces_exposure:
            raise Denied("TRADING_REDUCING", "trading is REDUCING: only exits and reducing corrections")
        if not action.reduces_exposure:
            try:
                self.breaker.admit()
            except BreakerOpen as exc:
                raise Denied("BREAKER_OPEN", str(exc)) from exc
            stale = self.stale_data() if self.stale_data is not None else None
            if stale:
                raise Denied("STALE_BOOK", stale)

    # ---- pipelines ---------------------------------------------------------------------------------

    async def plan_entry(self, size_usd: Decimal) -> EntryPlan:
        """Phase 1: what an entry would do now (sends nothing)."""
        return await self.pipelines.plan_entry(size_usd, self.guard)

    def start_enter(self, size_usd: Decimal) -> asyncio.Task[ExecutionResult]:
        return self._start(PipelineKind.ENTER, lambda iid: self.pipelines.enter(iid, size_usd, self.guard))

    def start_exit(self) -> asyncio.Task[ExecutionResult]:
        return self._start(PipelineKind.EXIT, lambda iid: self.pipelines.exit(iid, self.guard))

    def start_correct(self) -> asyncio.Task[ExecutionResult]:
        return self._start(PipelineKind.CORRECT, lambda iid: self.pipelines.correct(iid, self.guard))

    async def enter(self, size_usd: Decimal) -> ExecutionResult:
        return await asyncio.shield(self.start_enter(size_usd))

    async def exit(self) -> ExecutionResult:
        return await asyncio.shield(self.start_exit())

    async def correct(self) -> ExecutionResult:
        return await asyncio.shield(self.start_correct())

    def _start(
        self, kind: PipelineKind, run: Callable[[str], Coroutine[Any, Any, ExecutionResult]]
    ) -> asyncio.Task[ExecutionResult]:
        if self._running is not None:
            raise Busy(f"{self._running.value} is running")
        self._running = kind
        self._task = asyncio.get_running_loop().create_task(self._run(kind, run), name=f"pipeline-{kind.value}")
        return self._task

    async def _run(
        self, kind: PipelineKind, run: Callable[[str], Coroutine[Any, Any, ExecutionResult]]
    ) -> ExecutionResult:
        try:
            result = await run(self._intent_ids())
            if not result.aborted:
                # Hedge-level outcome: anything but the intended end is one breaker failure.
                self.breaker.record(result.success)
            if result.end_state is EndState.HALTED:
                await self._set_state(TradingState.HALTED, result.reason)
            self.hedge.spot_qty = await self.journal.hedge_spot_qty(self.venue.rules(MarketKind.SPOT).base)
            return result
        except Exception as exc:
            # A bug or an unreadable exchange mid-pipeline: stop trading loudly, never silently.
            log.exception("pipeline %s crashed", kind.value)
            message = f"{kind.value} pipeline failed unexpectedly: {type(exc).__name__}: {exc}"
            self.bus.publish(
                AlertEvent(
                    ts_ms=self.clock.wall_ms(),
                    kind="ALERT",
                    message=message,
                    level=Level.CRITICAL,
                    code="PIPELINE_CRASH",
                    sticky=True,
                )
            )
            await self.journal.record_event("ALERT", message, level="critical", data={"code": "PIPELINE_CRASH"})
            self.breaker.record(False)
            await self._set_state(TradingState.HALTED, message)
            raise
        finally:
            self._running = None
