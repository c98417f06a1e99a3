"""The desk dashboard application.

The app observes and asks; it never owns an order flow. Two channels come from the engine side:

* latest-value slots (books, funding, position) polled by a timer at ``refresh_hz``; a pane repaints only
  when its slot's version changed, so the UI's cost does not depend on how fast the exchange streams;
* the engine's ordered event queue (stages, fills, alerts, breaker and trading-state changes), drained by
  one async worker; nothing there is ever dropped.

Every action that sends orders opens a confirmation with the engine's plan and starts an engine-owned
task on confirmation. Bindings are greyed (``check_action`` → None) whenever the engine would refuse.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer

from hedgetui.config.model import DEFAULT_KEYS
from hedgetui.domain.drift import HedgeDrift
from hedgetui.domain.execution import ExecutionResult
from hedgetui.domain.risk import ActionKind, TradingState
from hedgetui.domain.venue import MarketKind, VenueMode
from hedgetui.engine.breaker import BreakerState
from hedgetui.engine.engine import Busy, Engine
from hedgetui.engine.events import AlertEvent, EngineEvent, Level, StageEvent, StateEvent
from hedgetui.engine.hedge import ExchangeLegs, legs_from
from hedgetui.engine.preview import estimate_hedge
from hedgetui.ui.commands import HedgeCommands
from hedgetui.ui.feed import DashboardFeed
from hedgetui.ui.formatting import fmt_bps, fmt_duration_hms, fmt_pct
from hedgetui.ui.screens.confirm import ConfirmScreen
from hedgetui.ui.screens.help import HelpScreen
from hedgetui.ui.screens.size import SizeScreen
from hedgetui.ui.themes import (
    DEFAULT_THEME,
    VARIABLE_DEFAULTS,
    load_themes,
    remember_theme,
    remembered_theme,
    shipped_theme_dirs,
    user_theme_dir,
)
from hedgetui.ui.widgets.book_pane import BookPane
from hedgetui.ui.widgets.breaker import BreakerPane
from hedgetui.ui.widgets.exec_log import ExecLog, LogLine
from hedgetui.ui.widgets.hedge import HedgePane
from hedgetui.ui.widgets.pipeline import PipelineProgress
from hedgetui.ui.widgets.slippage import SlippagePane
from hedgetui.ui.widgets.status_bar import StatusBar

#: Dashboard actions that are engine actions: the engine says whether and why they are refused.
ENGINE_ACTIONS: dict[str, ActionKind] = {
    "enter": ActionKind.ENTER,
    "exit_hedge": ActionKind.EXIT,
    "correct": ActionKind.CORRECT_REDUCING,
}

ACTION_HELP: dict[str, str] = {
    "enter": "enter the hedge: short the perp and buy spot (confirmation first)",
    "exit": "exit the hedge: sell spot and buy back the perp reduce-only (confirmation first)",
    "correct": "correct drift: one order on the larger leg (confirmation first)",
    "reset_breaker": "close the circuit breaker by hand (confirmation first)",
    "size": "change the hedge size in USD",
    "trading_state": "switch trading state ACTIVE → REDUCING → HALTED",
    "reconcile": "reconcile now: resolve every order, compare both legs on the exchange, propose (never trades)",
    "theme": "switch the colour theme (remembered)",
    "log_filter": "execution log filter: all → warn → error",
    "acknowledge": "acknowledge (dismiss) alerts",
    "help": "this help",
    "quit": "quit (waits for a running pipeline)",
}


@dataclass(frozen=True)
class DashboardSettings:
    """What the dashboard needs to know besides the feed and the engine."""

    mode: VenueMode
    spot_symbol: str
    perp_symbol: str
    size_usd: Decimal = Decimal("2000")
    spot_price_places: int = 2
    spot_size_places: int = 5
    perp_price_places: int = 1
    perp_size_places: int = 3
    refresh_hz: float = 15.0
    theme: str | None = None
    theme_dirs: tuple[Path, ...] = field(default_factory=tuple)
    remember_theme_choice: bool = True
    keys: dict[str, str] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic
    wall_clock_ms: Callable[[], int] = field(default=lambda: int(time.time() * 1000))


def _bindings(keys: dict[str, str]) -> list[Binding]:
    k = {**DEFAULT_KEYS, **keys}
    return [
        Binding(k["enter"], "enter", "enter", id="hedge.enter"),
        Binding(k["exit"], "exit_hedge", "exit", id="hedge.exit"),
        Binding(k["correct"], "correct", "correct drift", id="hedge.correct"),
        Binding(k["size"], "size", "size", id="hedge.size"),
        Binding(k["trading_state"], "trading_state", "trading state", id="hedge.trading_state"),
        Binding(k["reconcile"], "reconcile", "reconcile", id="hedge.reconcile"),
        Binding(k["reset_breaker"], "reset_breaker", "reset breaker", id="hedge.reset_breaker"),
        Binding(k["theme"], "next_theme", "theme", id="hedge.theme"),
        Binding(k["log_filter"], "log_filter", "log filter", id="hedge.log_filter", show=False),
        Binding(k["acknowledge"], "acknowledge", "ack alerts", id="hedge.acknowledge", show=False),
        Binding(k["help"], "help", "help", id="hedge.help"),
        Binding(k["quit"], "quit_app", "quit", id="hedge.quit"),
    ]


class HedgeApp(App[None]):
    """The main dashboard."""

    TITLE = "hedgetui"
    CSS_PATH = Path(__file__).parent / "styles" / "app.tcss"
    COMMANDS = App.COMMANDS | {HedgeCommands}
    # Bindings are built per instance from the key map (see __init__).

    def __init__(self, feed: DashboardFeed, engine: Engine, settings: DashboardSettings) -> None:
        super().__init__()
        self.feed = feed
        self.engine = engine
        self.settings = settings
        self.size_usd = settings.size_usd
        self.keys = {**DEFAULT_KEYS, **settings.keys}
        for binding in _bindings(settings.keys):
            self.bind(
                binding.key,
                binding.action,
                description=binding.description,
                show=binding.show,
                key_display=None,
            )
        self.theme_errors: list[str] = []
        dirs = list(settings.theme_dirs) or [*shipped_theme_dirs(), user_theme_dir()]
        loaded = load_themes(dirs)
        self.theme_errors = loaded.errors
        for theme in loaded.themes.values():
            self.register_theme(theme)
        self.desk_themes = sorted(loaded.themes)
        wanted = settings.theme or (remembered_theme() if settings.remember_theme_choice else None)
        fallback = DEFAULT_THEME if DEFAULT_THEME in loaded.themes else "textual-dark"
        self.theme = wanted if wanted in loaded.themes else fallback
        base = engine.spot_rules.base
        self.status_bar = StatusBar(settings.mode, f"{settings.spot_symbol} ⇄ {settings.perp_symbol}")
        self.spot_pane = BookPane(
            f"Spot {settings.spot_symbol}",
            settings.spot_price_places,
            settings.spot_size_places,
            id="spot-book",
        )
        self.perp_pane = BookPane(
            f"Perp {settings.perp_symbol}",
            settings.perp_price_places,
            settings.perp_size_places,
            id="perp-book",
        )
        self.hedge_pane = HedgePane(base=base, id="hedge")
        self.breaker_pane = BreakerPane(id="breaker")
        self.slippage_pane = SlippagePane(id="slippage")
        self.pipeline = PipelineProgress(id="pipeline")
        self.log_view = ExecLog(id="log")
        self.results: list[ExecutionResult] = []
        self.sticky_alerts: list[str] = []
        self._slippage_versions = (-1, -1)
        self._last_slippage_at = 0.0

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(VARIABLE_DEFAULTS)

    # ---- layout ------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield self.status_bar
        with Horizontal(id="top"):
            with Horizontal(id="books"):
                yield self.spot_pane
                yield self.perp_pane
            with Vertical(id="side"):
                yield self.hedge_pane
                yield self.breaker_pane
        yield self.slippage_pane
        yield self.pipeline
        yield self.log_view
        yield Footer()

    def on_mount(self) -> None:
        for error in self.theme_errors:
            # One notification per broken theme file; the app goes on with the valid ones.
            self.notify(error, title="Theme skipped", severity="error", markup=False, timeout=10)
        self.status_bar.tick_clock(self.settings.wall_clock_ms())
        self.set_interval(1.0, self._tick_second)
        self.set_interval(1.0 / self.settings.refresh_hz, self.refresh_panes)
        self.refresh_panes()
        self._refresh_engine_panes()
        self._drain_events()
        report = self.engine.last_reconcile
        if report is not None:
            self._log_line(
                self.settings.wall_clock_ms(),
                "info" if report.complete else "critical",
                "RECONCILE",
                "",
                f"startup reconciliation: {report.summary()}",
            )

    # ---- slots -------------------------------------------------------------------------------------

    def refresh_panes(self) -> None:
        """Poll the slots; repaint what changed. Health and ages refresh every time (they age)."""
        now = self.settings.clock()
        spot_h = self.feed.feed_health(MarketKind.SPOT, now)
        perp_h = self.feed.feed_health(MarketKind.PERP, now)
        with self.batch_update():
            spot = self.feed.spot_book.latest()
            perp = self.feed.perp_book.latest()
            self.spot_pane.show(spot.value if spot else None, spot_h)
            self.perp_pane.show(perp.value if perp else None, perp_h)
            self.status_bar.show_health(spot_h, perp_h)
            self.perp_pane.show_market_line(self._perp_market_line())
            self.spot_pane.show_market_line(self._spot_market_line())
            self._refresh_slippage(now)

    def _refresh_slippage(self, now: float) -> None:
        versions = (self.feed.spot_book.version, self.feed.perp_book.version)
        # Estimates change only with the books; 4 Hz is plenty for a figure a human reads.
        if versions == self._slippage_versions or now - self._last_slippage_at < 0.25:
            return
        self._slippage_versions, self._last_slippage_at = versions, now
        spot = self.feed.spot_book.latest()
        perp = self.feed.perp_book.latest()
        s = self.engine.settings
        if spot is None or perp is None:
            self.slippage_pane.show(
                self.size_usd, None, (None, None), (None, None), s.slippage_max_bps, "waiting for both books"
            )
            return
        est = estimate_hedge(
            self.size_usd,
            spot.value,
            perp.value,
            self.engine.spot_rules,
            self.engine.perp_rules,
            max_bps=s.slippage_max_bps,
            liquidity_multiple=s.liquidity_multiple,
        )
        if est.entry is None or est.exit is None:
            self.slippage_pane.show(
                self.size_usd, None, (None, None), (None, None), s.slippage_max_bps, est.quantity_message
            )
            return
        self.slippage_pane.show(
            self.size_usd,
            est.quantity,
            (est.entry.spot, est.entry.perp),
            (est.exit.spot, est.exit.perp),
            s.slippage_max_bps,
        )

    def _spot_market_line(self) -> str:
        funding = self.feed.funding.latest()
        balances = self.feed.spot_balances.latest()
        rules = self.engine.spot_rules
        parts = ["index —" if funding is None else f"index {funding.value.index_price:,.2f}"]
        if balances is not None:
            quote = balances.value.get(rules.quote)
            base = balances.value.get(rules.base)
            if quote is not None:
                parts.append(f"{rules.quote} free {quote.free:,.2f}")
            if base is not None:
                parts.append(f"{rules.base} {base.total}")
        return " · ".join(parts)

    def _perp_market_line(self) -> str:
        spot = self.feed.spot_book.latest()
        perp = self.feed.perp_book.latest()
        basis: Decimal | None = None
        if spot and perp and spot.value.mid and perp.value.mid:
            basis = (perp.value.mid - spot.value.mid) / spot.value.mid * Decimal(10_000)
        funding = self.feed.funding.latest()
        if funding is None:
            return f"basis {fmt_bps(basis)} · funding —"
        info = funding.value
        countdown = "—"
        if info.next_funding_ms:
            countdown = fmt_duration_hms((info.next_funding_ms - self.settings.wall_clock_ms()) / 1000)
        return f"basis {fmt_bps(basis)} · funding {fmt_pct(info.rate)} · next in {countdown}"

    def _tick_second(self) -> None:
        self.status_bar.tick_clock(self.settings.wall_clock_ms())
        self._refresh_engine_panes()

    def _refresh_engine_panes(self) -> None:
        status = self.engine.status()
        self.breaker_pane.show(status.breaker, status.trading_state, status.halt_reason)
        pnl, liq = self._position_figures()
        status = self.engine.status()
        notes = []
        if status.spot_reserve:
            notes.append(f"reserve {status.spot_reserve} {self.engine.spot_rules.base} held outside the hedge")
        if status.account is not None and self.engine.hedge.is_discrepancy(status.account):
            notes.append(f"journal accounts for {status.account.spot_qty} spot: exchange used")
        if status.proposal is not None:
            notes.append("PROPOSAL PENDING: press d to review")
        self.hedge_pane.show(self._drift(), unrealized_pnl=pnl, liquidation_distance_pct=liq, note=" · ".join(notes))
        self.refresh_bindings()

    def _legs(self) -> ExchangeLegs | None:
        """Both legs as the exchange holds them (streamed balances and position; the spot leg less the reserve)."""
        position = self.feed.perp_position.latest()
        funding = self.feed.funding.latest()
        balances = self.feed.spot_balances.latest()
        if position is None or funding is None or balances is None:
            return None
        return legs_from(
            self.engine.spot_rules.base,
            self.engine.settings.spot_reserve,
            balances.value,
            position.value,
            funding.value,
            self.settings.wall_clock_ms(),
        )

    def _drift(self) -> HedgeDrift | None:
        legs = self._legs()
        return self.engine.hedge.drift(legs) if legs is not None else None

    def _position_figures(self) -> tuple[Decimal | None, Decimal | None]:
        """Unrealized PnL and the distance to liquidation in % of the mark."""
        position = self.feed.perp_position.latest()
        funding = self.feed.funding.latest()
        if position is None:
            return None, None
        pos = position.value
        mark = funding.value.mark_price if funding else pos.mark_price
        liq = None
        if pos.liquidation_price and mark and pos.amount != 0:
            liq = abs(pos.liquidation_price - mark) / mark * 100
        return pos.unrealized_pnl, liq

    # ---- engine events -----------------------------------------------------------------------------

    @work(group="engine-events", exclusive=False)
    async def _drain_events(self) -> None:
        """The one consumer of the engine's event queue: every event is shown, in order.

        First the recent journal from earlier sessions (so the operator sees what happened before this start),
        then this session's events, replayed from the engine's history and followed live.
        """
        try:
            earlier = await self.engine.journal.events(limit=200)
        except Exception as exc:  # the journal is the engine's; a read failure must not stop the live log
            earlier = []
            self.notify(f"cannot read the journal history: {exc}", severity="warning", markup=False)
        for row in earlier:
            if row.created_ms < self.engine.started_ms:
                self._log_line(row.created_ms, row.level, f"{row.kind}*", row.intent_id or "", row.message)
        queue = self.engine.bus.subscribe(replay=True)
        try:
            while True:
                event = await queue.get()
                self.handle_engine_event(event)
        finally:
            self.engine.bus.unsubscribe(queue)

    def handle_engine_event(self, event: EngineEvent) -> None:
        tag = event.kind
        if isinstance(event, StageEvent):
            if event.pipeline is not None:
                self.pipeline.stage(event.pipeline, event.intent_id, event.stage, event.state, event.elapsed_ms)
            tag = f"{event.pipeline.value.upper() if event.pipeline else ''}"
        self._log_line(event.ts_ms, event.level.value, tag or event.kind, event.intent_id or "", event.message)
        if isinstance(event, AlertEvent) and event.level in (Level.ERROR, Level.CRITICAL):
            sticky = event.sticky or event.level is Level.CRITICAL
            if sticky:
                self.sticky_alerts.append(event.message)
            # Engine and exchange text: never markup. Critical alerts stay until acknowledged.
            self.notify(
                event.message,
                title=event.code or event.kind,
                severity="error",
                markup=False,
                timeout=3600 if sticky else 10,
            )
        if isinstance(event, (StateEvent, AlertEvent)):
            self._refresh_engine_panes()

    def _log_line(self, ts_ms: int, level: str, tag: str, intent: str, message: str) -> None:
        self.log_view.add(LogLine(ts_ms, level, tag, intent, message))

    # ---- action gating -----------------------------------------------------------------------------

    def why_disabled(self, action: str) -> str | None:
        """Why an action is greyed now (None when allowed). Shared by the footer, palette and help.

        Trading actions ask the engine (``why_refused``), so the screen refuses exactly what the engine would.
        """
        if action in ENGINE_ACTIONS:
            return self.engine.why_refused(ENGINE_ACTIONS[action])
        status = self.engine.status()
        if action in ("reset_breaker", "trading_state", "reconcile") and status.busy:
            return f"{status.busy.value} running"
        if action == "reset_breaker" and status.breaker.state is BreakerState.CLOSED and status.breaker.failures == 0:
            return "breaker already closed"
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in (*ENGINE_ACTIONS, "reset_breaker", "trading_state", "reconcile"):
            return None if self.why_disabled(action) else True
        return True

    # ---- actions -----------------------------------------------------------------------------------

    def run_palette_action(self, action: str) -> None:
        """Palette entries go through run_action, so check_action greys them exactly like the keys."""
        why = self.why_disabled(action)
        if why:
            self.notify(f"{action.replace('_', ' ')} is unavailable: {why}", severity="warning", markup=False)
            return
        self.run_worker(self.run_action(action), group="palette", exclusive=False)

    def action_enter(self) -> None:
        self._plan_and_confirm_entry()

    @work(group="plans", exclusive=False)
    async def _plan_and_confirm_entry(self) -> None:
        # Reading the plan is not an order flow: a worker may do it. The order flow is the engine's task.
        try:
            plan = await self.engine.plan_entry(self.size_usd)
        except Exception as exc:  # an exchange error while planning: show it, send nothing
            self.notify(f"cannot plan the entry: {exc}", severity="error", markup=False)
            return
        text = Text()
        text.append(f"Size {self.size_usd:,.2f} USD → quantity {plan.quantity or '—'} on both legs\n\n")
        text.append(f"Risk: {plan.risk.summary()}\n")
        for r in plan.risk.reasons:
            text.append(f"  {r.severity.value:<5} {r.code}: {r.message}\n")
        for label, est in (("spot buy ", plan.spot), ("perp sell", plan.perp)):
            if est is not None:
                vwap = f"{est.vwap:,.2f}" if est.vwap else "—"
                bps = f"{est.slippage_bps:+.2f} bps" if est.slippage_bps is not None else "—"
                cost = f"{est.notional:,.2f}" if est.notional else "—"
                text.append(f"{label} VWAP {vwap}  {bps}  notional {cost}  {est.verdict.value}\n")
        confirmed = await self.push_screen_wait(
            ConfirmScreen(
                "Enter hedge: short perp + buy spot",
                text,
                live=self.settings.mode is VenueMode.LIVE,
                blocked=plan.denial,
            )
        )
        if confirmed:
            self._start(lambda: self.engine.start_enter(self.size_usd))
        else:
            self._log_line(self.settings.wall_clock_ms(), "info", "OPERATOR", "", "entry cancelled at confirmation")

    def action_exit_hedge(self) -> None:
        self._confirm_simple(
            "Exit hedge: sell spot + buy back perp (reduce-only)",
            self._exit_plan_text(),
            lambda: self.engine.start_exit(),
        )

    def _exit_plan_text(self) -> Text:
        legs = self._legs()
        spot = "—" if legs is None else f"{legs.spot_qty}"
        perp = "—" if legs is None else f"{-legs.perp_qty}"
        text = Text(f"Sell hedge spot {spot} {self.engine.spot_rules.base} (exchange balance less reserve)\n")
        text.append(f"Buy back perp {perp} (reduce-only)\n")
        text.append("Then verify both legs are flat on the exchange.")
        return text

    def action_correct(self) -> None:
        proposal = self.engine.proposal
        if proposal is not None and proposal.options:
            self._confirm_simple(
                "Accept the proposal (option 1)", Text(proposal.describe()), lambda: self.engine.accept_proposal(0)
            )
            return
        drift = self._drift()
        text = Text(drift.describe() if drift else "no position data yet")
        self._confirm_simple("Correct drift", text, lambda: self.engine.start_correct())

    def _confirm_simple(self, title: str, text: Text, start: Callable[[], asyncio.Task[ExecutionResult]]) -> None:
        def done(confirmed: bool | None) -> None:
            if confirmed:
                self._start(start)
            else:
                self._log_line(self.settings.wall_clock_ms(), "info", "OPERATOR", "", f"{title}: cancelled")

        self.push_screen(ConfirmScreen(title, text, live=self.settings.mode is VenueMode.LIVE), done)

    def _start(self, start: Callable[[], asyncio.Task[ExecutionResult]]) -> None:
        try:
            task = start()
        except Busy as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        task.add_done_callback(self._pipeline_done)
        self.refresh_bindings()

    def _pipeline_done(self, task: asyncio.Task[ExecutionResult]) -> None:
        if task.cancelled() or task.exception() is not None:
            return
        result = task.result()
        self.results.append(result)
        self.notify(
            f"{result.pipeline.value} → {result.end_state.value}: {result.reason}"[:300],
            severity="information" if result.success else "warning",
            markup=False,
            timeout=8,
        )
        self._refresh_engine_panes()

    def action_reset_breaker(self) -> None:
        def done(confirmed: bool | None) -> None:
            if confirmed:
                self.run_worker(self.engine.reset_breaker(), group="breaker")
                self._log_line(self.settings.wall_clock_ms(), "warn", "OPERATOR", "", "breaker reset by the operator")
                self._refresh_engine_panes()

        self.push_screen(
            ConfirmScreen("Reset the circuit breaker", Text("Close the breaker and clear failures?")), done
        )

    def action_reconcile(self) -> None:
        try:
            task = self.engine.start_reconcile()
        except Busy as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return

        def done(t: asyncio.Task[object]) -> None:
            if not t.cancelled() and t.exception() is None:
                self._log_line(
                    self.settings.wall_clock_ms(),
                    "info",
                    "RECONCILE",
                    "",
                    str(getattr(t.result(), "summary", lambda: "")()),
                )
                self._refresh_engine_panes()

        task.add_done_callback(done)
        self.refresh_bindings()

    def action_trading_state(self) -> None:
        order = [TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED]
        current = self.engine.trading_state
        target = order[(order.index(current) + 1) % len(order)]

        def done(confirmed: bool | None) -> None:
            if confirmed:
                self._switch_state(target)

        self.push_screen(
            ConfirmScreen(
                f"Trading state {current.value} → {target.value}", Text(f"Switch trading to {target.value}?")
            ),
            done,
        )

    @work(group="state", exclusive=False)
    async def _switch_state(self, target: TradingState) -> None:
        try:
            await self.engine.set_trading_state(target, "operator")
        except Exception as exc:
            self.notify(str(exc), severity="error", markup=False)
        self._refresh_engine_panes()

    def action_size(self) -> None:
        def done(value: Decimal | None) -> None:
            if value is not None:
                self.size_usd = value
                self._slippage_versions = (-1, -1)
                self._log_line(self.settings.wall_clock_ms(), "info", "OPERATOR", "", f"hedge size set to {value} USD")

        self.push_screen(SizeScreen(self.size_usd, self.engine.settings.risk.max_position_usd), done)

    def action_log_filter(self) -> None:
        self.log_view.cycle_filter()

    def action_acknowledge(self) -> None:
        self.sticky_alerts.clear()
        self.clear_notifications()

    def action_help(self) -> None:
        rows = []
        for action, key in self.keys.items():
            internal = {"exit": "exit_hedge", "quit": "quit_app", "theme": "next_theme"}.get(action, action)
            rows.append((key, ACTION_HELP[action], self.why_disabled(internal)))
        self.push_screen(HelpScreen(rows))

    def action_quit_app(self) -> None:
        if not self.engine.busy:
            self.exit()
            return

        def done(confirmed: bool | None) -> None:
            if confirmed:
                self._log_line(
                    self.settings.wall_clock_ms(), "warn", "OPERATOR", "", "quit requested during a pipeline"
                )
                self.exit()

        self.push_screen(
            ConfirmScreen(
                "A pipeline is running",
                Text("Quit now? The engine finishes the running pipeline to its end state before the program exits."),
            ),
            done,
        )

    def action_next_theme(self) -> None:
        """Cycle through the desk themes and remember the choice."""
        if not self.desk_themes:
            return
        index = self.desk_themes.index(self.theme) if self.theme in self.desk_themes else -1
        self.theme = self.desk_themes[(index + 1) % len(self.desk_themes)]
        if self.settings.remember_theme_choice:
            remember_theme(self.theme)
        self.notify(f"theme {self.theme}", timeout=2, markup=False)
