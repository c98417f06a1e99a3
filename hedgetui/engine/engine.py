"""The engine facade: owns the pipeline tasks, the breaker, the trading state, the hedge state and the journal.

The UI and the headless commands observe it and call it; they never own an order flow. One pipeline runs
at a time (``Busy`` otherwise), as an ``asyncio.Task`` held by the engine, so quitting the dashboard or a
cancelled UI worker can never cut a hedge between its legs: :meth:`shutdown` waits for the running
pipeline to reach its end state.

What the screen and the confirmations show comes from the same calls the pipelines decide with:
:meth:`preview` (quantity, both legs' slippage and depth, risk, the first refusal) and :meth:`why_refused`.
Recovery only proposes (:attr:`proposal`); :meth:`start_correct` with the accepted option sends it.

The facade keeps the state and the public calls; collaborators it owns hold the logic: ``gate``
(:mod:`~hedgetui.engine.gate`: refusals, the entry preview), ``runner`` (:mod:`~hedgetui.engine.runner`:
what surrounds a pipeline run), ``drift_monitor`` (:mod:`~hedgetui.engine.drift_monitor`: external changes,
proposals), ``breakers`` (:mod:`~hedgetui.engine.breaker_store`: the breaker and its journal),
``transfers`` (:mod:`~hedgetui.engine.transfer`) and ``ledger``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

from hedgetui.domain.account import FuturesBalance, PerpPosition
from hedgetui.domain.client_ids import new_intent_id
from hedgetui.domain.execution import ExecutionResult
from hedgetui.domain.ledger import Marks
from hedgetui.domain.margin import PerpHealth, TransferDirection
from hedgetui.domain.markets import MarketRules
from hedgetui.domain.pnl import HedgePnl
from hedgetui.domain.risk import ActionKind, TradingState
from hedgetui.domain.stages import PipelineKind
from hedgetui.engine.breaker import BreakerState, HedgeBreaker
from hedgetui.engine.breaker_store import BreakerStore
from hedgetui.engine.clock import Clock, RealClock
from hedgetui.engine.correct import Choice, correct
from hedgetui.engine.drift_monitor import DriftMonitor
from hedgetui.engine.enter import enter
from hedgetui.engine.events import EventBus, Level, StateEvent
from hedgetui.engine.exit import exit_hedge
from hedgetui.engine.gate import Gate
from hedgetui.engine.hedge import ExchangeLegs, HedgeState
from hedgetui.engine.journal import Journal
from hedgetui.engine.kit import PipelineKit
from hedgetui.engine.ledger import Ledger
from hedgetui.engine.perpwatch import PerpWatch
from hedgetui.engine.ports import MarketFeed, VenuePort
from hedgetui.engine.preview import Preview
from hedgetui.engine.proposal import Proposal
from hedgetui.engine.reconcile import Reconciler, ReconcileReport
from hedgetui.engine.reporter import Reporter
from hedgetui.engine.runner import PipelineRunner
from hedgetui.engine.settings import Denied, EngineSettings
from hedgetui.engine.state import EngineState, EngineStatus
from hedgetui.engine.transfer import TransferDesk, TransferResult
from hedgetui.exchange.errors import VenueError

log = logging.getLogger(__name__)


class Busy(Exception):
    """Another pipeline is running; the engine runs one at a time."""


class Engine:
    """Facade over pipelines, breaker, trading state, hedge state, journal and reconciliation."""

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
        market: MarketFeed | None = None,
        reuse_reconcile_reading: bool = False,
    ) -> None:
        self.venue = venue
        #: Reconciliation reads a whole decision snapshot for the next entry or exit to decide on while it
        #: is fresh (a headless command: no stream answers that pipeline's reads without a round trip).
        self.reuse_reconcile_reading = reuse_reconcile_reading
        self.journal = journal
        self.settings = settings
        self.clock = clock or RealClock()
        self.bus = bus or EventBus()
        self.report = Reporter(journal, self.bus, self.clock)
        self.hedge = HedgeState(
            venue, self.clock, reserve=settings.spot_reserve, tolerance_bps=settings.drift_tolerance_bps
        )
        self.trading_state = TradingState.HALTED  # until reconciliation has run
        self.halt_reason: str | None = "startup reconciliation pending"
        self.reconciled = False
        self.proposal: Proposal | None = None
        #: The circuit breaker with its journal (``breaker`` reads it).
        self.breakers = BreakerStore(journal, self.report, fail_max, reset_timeout_s)
        self._task: asyncio.Task[ExecutionResult] | None = None
        self._running: PipelineKind | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._reconcile_task: asyncio.Task[ReconcileReport] | None = None
        #: The P&L refresh the last pipeline started (its fills changed the hedge).
        self._pnl_refresh: asyncio.Task[Any] | None = None
        self._runs = 0  # pipelines started: the drift monitor ignores a reading a pipeline may have overtaken
        # Streamed books and funding (the dashboard's market data): decisions use them while fresh.
        self.market = market
        self.hedge.market = market
        self.kit = PipelineKit(
            venue,
            journal,
            self.bus,
            self.clock,
            settings,
            self.hedge,
            state=self.state,
            before_send=before_send,
            market=market,
        )
        self.last_reconcile: ReconcileReport | None = None
        self.started_ms = self.clock.wall_ms()  # journal rows before this belong to earlier sessions
        # Live feed health (the market data service): a stale book stops new entries even though the
        # pipeline reads fresh data itself, because the operator decided on what the screen showed.
        self.stale_data = stale_data
        self._intent_ids = intent_ids
        #: The perp-leg watch: margin ratio and liquidation distance against ``settings.perp_watch``.
        self.perp_watch = PerpWatch(self.report, settings.perp_watch, self.kit.perp_rules.tick)
        #: The drift monitor: external changes to the legs, and the proposals that answer them.
        self.drift_monitor = DriftMonitor(self)
        #: What is allowed now, and what an entry would do.
        self.gate = Gate(self)
        #: What surrounds each pipeline run: the breaker's trial, the state after it, the crash path.
        self.runner = PipelineRunner(self)
        #: Wallet transfers: when one is allowed, and the one running.
        self.transfers = TransferDesk(self)
        self.ledger = Ledger(venue, journal, self.clock, exit_fee_rates=self._fee_rates)

    @property
    def _fee_rates(self) -> tuple[Decimal, Decimal]:
        return self.settings.spot_taker_fee, self.settings.perp_taker_fee

    @property
    def breaker(self) -> HedgeBreaker:
        """The circuit breaker (replaced when :meth:`start` restores it from the journal)."""
        return self.breakers.breaker

    @property
    def spot_rules(self) -> MarketRules:
        return self.kit.spot_rules

    @property
    def perp_rules(self) -> MarketRules:
        return self.kit.perp_rules

    # ---- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> ReconcileReport:
        """Restore breaker and trading state from the journal, then reconcile. No intent runs before."""
        self.started_ms = self.clock.wall_ms()
        await self.breakers.restore()
        trading = await self.journal.latest_state("trading_state")
        previous = TradingState(trading["state"]) if trading else TradingState.ACTIVE
        if previous is TradingState.HALTED and trading:
            self.halt_reason = trading.get("reason") or self.halt_reason
        return await self.reconcile(previous=previous)

    async def reconcile(self, previous: TradingState | None = None, *, operator: bool = False) -> ReconcileReport:
        """Run reconciliation (at start, and ``hedgetui reconcile``). Blocks intents while it runs.

        It never sends an order. A complete reconciliation with matching legs restores the previous trading
        state; asked by the operator (``operator``), it also lifts a HALT the legs no longer justify.
        Otherwise trading is HALTED with the proposal (or the unresolved order) as the reason.
        """
        if self._task is not None and not self._task.done():
            raise Busy("a pipeline is running")
        self.reconciled = False
        self._running = PipelineKind.RECONCILE
        self.kit.handoff = None
        try:
            report = await Reconciler(
                self.venue,
                self.journal,
                self.bus,
                self.clock,
                self.settings.timeouts,
                self.hedge,
                self._fee_rates,
                # Without streams the next pipeline would read all of it again one round trip later.
                snapshot_depth=self.settings.book_depth if self.reuse_reconcile_reading else None,
            ).run()
        finally:
            self._running = None
        self.last_reconcile = report
        self.proposal = report.proposal
        if report.complete and report.proposal is None:
            self.kit.handoff = report.snapshot
        if not report.complete:
            await self._set_state(TradingState.HALTED, report.summary())
            return report
        self.reconciled = True
        if report.proposal is not None:
            await self._set_state(TradingState.HALTED, "proposal pending: " + report.proposal.summary())
            return report
        target = previous or self.trading_state
        if target is TradingState.HALTED and operator:
            target = TradingState.ACTIVE
        reason = "reconciled: legs match on the exchange" if target is not TradingState.HALTED else self.halt_reason
        await self._set_state(target, reason or "reconciled")
        return report

    def start_reconcile(self) -> asyncio.Task[ReconcileReport]:
        """Reconcile on the operator's request, as a task the engine owns (the dashboard only observes it)."""
        if self.busy:
            raise Busy(f"{self._running.value if self._running else 'a pipeline'} is running")
        self._reconcile_task = asyncio.get_running_loop().create_task(self.reconcile(operator=True), name="reconcile")
        return self._reconcile_task

    async def check_drift(self, seen: ExchangeLegs | None) -> Proposal | None:
        """The drift monitor (:meth:`DriftMonitor.check`): the legs changed outside hedgetui; HALT with a proposal."""
        return await self.drift_monitor.check(seen)

    # ---- the perp-leg watch ------------------------------------------------------------------------

    async def check_perp(
        self, balance: FuturesBalance, position: PerpPosition, mark: Decimal | None = None
    ) -> PerpHealth:
        """Judge a reading of the futures wallet and the perp position (the market data service's polls):
        margin ratio and distance to liquidation against ``settings.perp_watch``, alerts raised and cleared.
        Sends nothing."""
        return await self.perp_watch.observe(balance, position, mark, self.clock.wall_ms())

    async def read_perp(self) -> PerpHealth:
        """Read the futures wallet, the position and the mark from the exchange, then :meth:`check_perp`."""
        balance, position, funding = await asyncio.gather(
            self.venue.fetch_futures_balance(), self.venue.fetch_perp_position(), self.venue.fetch_funding()
        )
        return await self.check_perp(balance, position, funding.mark_price)

    # ---- wallet transfers --------------------------------------------------------------------------

    def why_transfer_refused(self, direction: TransferDirection = TransferDirection.TO_FUTURES) -> str | None:
        """Why a transfer ``direction`` is refused now, in one line (None when allowed)."""
        return self.transfers.why_refused(direction)

    def start_transfer(self, amount: Decimal, direction: TransferDirection) -> asyncio.Task[TransferResult]:
        """Move ``amount`` of the perp's margin asset between the wallets (the operator has confirmed), as a
        task the engine owns. Raises Busy while a pipeline runs; other refusals end the run REFUSED."""
        if self._running is not None:
            raise Busy(f"{self._running.value} is running")
        self.kit.handoff = None  # the wallets change: the reconciliation's reading no longer holds
        return self.transfers.start(amount, direction)

    async def transfer(self, amount: Decimal, direction: TransferDirection) -> TransferResult:
        """:meth:`start_transfer` and wait for it (shielded: a cancelled caller never cuts a transfer)."""
        return await asyncio.shield(self.start_transfer(amount, direction))

    async def shutdown(self) -> None:
        """Let a running pipeline finish (never cancel it), then let background writes drain."""
        if self._reconcile_task is not None and not self._reconcile_task.done():
            await asyncio.shield(self._reconcile_task)
        if self.transfers.task is not None and not self.transfers.task.done():
            await asyncio.shield(self.transfers.task)
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
        await self.breakers.save()
        await self.journal.record_event("SHUTDOWN", "engine stopped")

    # ---- state -------------------------------------------------------------------------------------

    def state(self) -> EngineState:
        """The engine's state as the risk check reads it."""
        snap = self.breaker.snapshot()
        return EngineState(
            trading_state=self.trading_state,
            breaker_open=snap.state is BreakerState.OPEN,
            breaker_reopens_in_s=snap.reopens_in_s,
            reconciled=self.reconciled,
        )

    def status(self) -> EngineStatus:
        return EngineStatus(
            trading_state=self.trading_state,
            breaker=self.breaker.snapshot(),
            busy=self._running,
            reconciled=self.reconciled,
            halt_reason=self.halt_reason if self.trading_state is TradingState.HALTED else None,
            legs=self.hedge.legs,
            spot_reserve=self.settings.spot_reserve,
            account=self.hedge.account,
            proposal=self.proposal,
            perp=self.perp_watch.health,
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

    async def reset_breaker(self) -> None:
        """The operator closes the breaker by hand; the new state is saved before this returns."""
        await self.breakers.reset()

    def note(self, kind: str, message: str, data: dict[str, Any] | None = None, level: Level = Level.WARN) -> None:
        """Journal and show an event from outside the pipelines (e.g. BOOK_STALE from market data)."""
        self._spawn(self.report.event(kind, message, level=level, data=data))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:
            coro.close()
            return None
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    # ---- the ledger --------------------------------------------------------------------------------

    def pnl(self) -> HedgePnl | None:
        """The open hedge's P&L as of the last refresh (None when flat). Never waits on the exchange."""
        return self.ledger.current

    async def refresh_pnl(self, marks: Marks | None = None, *, sync: bool | None = None) -> HedgePnl | None:
        """Fetch new income (when due, or when ``sync``) and recompute the open hedge's P&L at ``marks``
        (read from the venue when not given). VenueError when the exchange could not be read."""
        return await self.ledger.refresh(marks, sync=sync)

    async def history(self, limit: int = 20) -> list[HedgePnl]:
        """The latest hedges, newest first (closed ones realized; the open one as last refreshed). A refresh
        the last pipeline started is waited for: its income belongs to the hedge that pipeline changed."""
        if self._pnl_refresh is not None and not self._pnl_refresh.done():
            await asyncio.shield(self._pnl_refresh)
        hedges = await self.ledger.history(limit)
        current = self.ledger.current
        if hedges and hedges[0].is_open and current is not None and current.opened_ms == hedges[0].opened_ms:
            hedges[0] = current
        return hedges

    async def _refresh_pnl_quietly(self) -> None:
        try:
            await self.ledger.refresh(sync=True)
        except VenueError as exc:  # the next refresh tries again; the screen keeps the last figures
            log.warning("ledger refresh failed: %s", exc)
        except Exception:
            log.exception("ledger refresh")

    # ---- what is allowed ---------------------------------------------------------------------------

    def refusal(self, action: ActionKind) -> tuple[str, str] | None:
        """(code, reason) if the engine's state forbids ``action`` now, else None. Sends nothing."""
        return self.gate.refusal(action)

    def why_refused(self, action: ActionKind) -> str | None:
        """Why ``action`` is refused now, in one line (None when allowed): the footer, palette and help say this."""
        return self.gate.why_refused(action)

    def guard(self, action: ActionKind) -> None:
        """Raise :class:`Denied` if the engine's state forbids ``action`` now (the GUARDS stage)."""
        self.gate.guard(action)

    # ---- previews ----------------------------------------------------------------------------------

    async def preview(self, size_usd: Decimal) -> Preview:
        """What an entry of ``size_usd`` would do now (risk phase 1, quantity, slippage). Sends nothing."""
        return await self.gate.preview(size_usd)

    plan_entry = preview

    # ---- pipelines ---------------------------------------------------------------------------------

    def start_enter(self, size_usd: Decimal) -> asyncio.Task[ExecutionResult]:
        return self._start(PipelineKind.ENTER, lambda iid: enter(self.kit, iid, size_usd, self._inner_guard))

    def start_exit(self) -> asyncio.Task[ExecutionResult]:
        return self._start(PipelineKind.EXIT, lambda iid: exit_hedge(self.kit, iid, self._inner_guard))

    def start_correct(self, choice: Choice | None = None) -> asyncio.Task[ExecutionResult]:
        """Correct drift; ``choice`` names the proposal option the operator accepted (default: the first)."""
        return self._start(PipelineKind.CORRECT, lambda iid: correct(self.kit, iid, self._inner_guard, choice))

    def accept_proposal(self, index: int = 0) -> asyncio.Task[ExecutionResult]:
        """Send option ``index`` of the pending proposal (the operator has confirmed it)."""
        if self.proposal is None or not 0 <= index < len(self.proposal.options):
            raise Denied("NO_PROPOSAL", "no such proposal option")
        return self.start_correct(Choice.of(self.proposal.options[index].correction))

    async def enter(self, size_usd: Decimal) -> ExecutionResult:
        return await asyncio.shield(self.start_enter(size_usd))

    async def exit(self) -> ExecutionResult:
        return await asyncio.shield(self.start_exit())

    async def correct(self, choice: Choice | None = None) -> ExecutionResult:
        return await asyncio.shield(self.start_correct(choice))

    def _inner_guard(self, action: ActionKind) -> None:
        self.guard(action)

    def _start(
        self, kind: PipelineKind, run: Callable[[str], Coroutine[Any, Any, ExecutionResult]]
    ) -> asyncio.Task[ExecutionResult]:
        if self._running is not None:
            raise Busy(f"{self._running.value} is running")
        self._running = kind
        self._runs += 1
        if kind not in (PipelineKind.ENTER, PipelineKind.EXIT):
            self.kit.handoff = None  # only an entry or exit decides on the reconciliation's reading
        self._task = asyncio.get_running_loop().create_task(self.runner.run(kind, run), name=f"pipeline-{kind.value}")
        return self._task
