"""The desk dashboard application.

The app observes and asks; it never owns an order flow. Two channels come from the engine side:

* latest-value slots (books, funding, position) polled by a timer at ``refresh_hz`` (:mod:`.panes`); a
  pane repaints only when what it shows changed, so the UI's cost does not depend on the feed rate;
* the engine's ordered event queue (stages, fills, alerts, breaker and trading-state changes), drained by
  one async worker (:mod:`.engine_view`); nothing there is ever dropped.

Every action is a row of :data:`hedgetui.ui.actions.ACTIONS`; a refused key says why in a notification
and is greyed in the footer. Actions that send orders open a confirmation with the plan (:mod:`.plans`)
and start an engine-owned task on confirmation.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import events, work
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.widgets import Footer

from hedgetui.config.model import DEFAULT_KEYS
from hedgetui.domain.execution import ExecutionResult
from hedgetui.domain.risk import TradingState
from hedgetui.engine.engine import Busy, Engine
from hedgetui.engine.settings import Denied
from hedgetui.ui.actions import ACTIONS, BY_NAME, Facts, why_refused
from hedgetui.ui.alerts import AlertBook
from hedgetui.ui.commands import HedgeCommands
from hedgetui.ui.engine_view import EngineView, Outcome
from hedgetui.ui.feed import DashboardFeed
from hedgetui.ui.order_actions import OrderActions
from hedgetui.ui.panes import SlotPoller
from hedgetui.ui.plans import Markets
from hedgetui.ui.screens.confirm import ConfirmScreen
from hedgetui.ui.screens.help import HelpScreen
from hedgetui.ui.screens.intent import IntentScreen
from hedgetui.ui.screens.pnl import PnlScreen
from hedgetui.ui.screens.quit import QuitScreen
from hedgetui.ui.screens.size import SizeScreen
from hedgetui.ui.screens.state import TradingStateScreen
from hedgetui.ui.settings import DashboardSettings
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
from hedgetui.ui.widgets.text_line import TextLine

#: Layout classes by terminal size (see styles/app.tcss).
NARROW_COLS = 120
TINY_COLS = 90
SHORT_ROWS = 36
TINY_ROWS = 26


class HedgeApp(App[Outcome | None]):
    """The main dashboard. Its return value is the outcome to print after it closes (a quit mid-pipeline)."""

    TITLE = "hedgetui"
    CSS_PATH = Path(__file__).parent / "styles" / "app.tcss"
    COMMANDS = App.COMMANDS | {HedgeCommands}

    def __init__(self, feed: DashboardFeed, engine: Engine, settings: DashboardSettings) -> None:
        super().__init__()
        self.feed = feed
        self.engine = engine
        self.settings = settings
        self.keys = {**DEFAULT_KEYS, **settings.keys}
        for action in ACTIONS:
            self.bind(self.keys[action.key_id], action.name, description=action.label, show=action.footer)
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
        spot_rules, perp_rules = engine.spot_rules, engine.perp_rules
        self.markets = Markets(spot_rules, perp_rules, engine.settings.spot_taker_fee, engine.settings.perp_taker_fee)
        self.status_bar = StatusBar(
            settings.mode, f"{settings.spot_symbol} ⇄ {settings.perp_symbol}", settings.venue_url
        )
        self.quit_banner = TextLine(id="quit-banner")
        self.alert_bar = TextLine(id="alerts")
        self.spot_pane = BookPane(
            f"Spot {settings.spot_symbol}", settings.spot_price_places, settings.spot_size_places, id="spot-book"
        )
        self.perp_pane = BookPane(
            f"Perp {settings.perp_symbol}", settings.perp_price_places, settings.perp_size_places, id="perp-book"
        )
        self.hedge_pane = HedgePane(base=spot_rules.base, places=settings.spot_size_places, id="hedge")
        self.breaker_pane = BreakerPane(id="breaker")
        self.slippage_pane = SlippagePane(settings.spot_price_places, settings.perp_price_places, id="slippage")
        self.pipeline = PipelineProgress(id="pipeline")
        self.log_view = ExecLog(id="log")
        self.log_view.filter_key = self.keys["log_filter"]
        self.log_view.detail_key = self.keys["detail"]
        self.poller = SlotPoller(
            feed, engine, settings, self.status_bar, self.spot_pane, self.perp_pane, self.slippage_pane
        )
        self.view = EngineView(self)
        self.orders = OrderActions(self)
        self.footer = Footer()
        self.alerts = AlertBook()
        self.results: list[ExecutionResult] = []
        self.quitting = False
        self.closing = False

    @property
    def size_usd(self) -> Decimal:
        return self.poller.size_usd

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(VARIABLE_DEFAULTS)

    # ---- layout ------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield self.status_bar
        yield self.quit_banner
        yield self.alert_bar
        with Horizontal(id="top"):
            with Horizontal(id="books"):
                yield self.spot_pane
                yield self.perp_pane
            with Horizontal(id="side"):
                yield self.hedge_pane
                yield self.breaker_pane
        yield self.slippage_pane
        yield self.pipeline
        yield self.log_view
        yield self.footer

    def on_mount(self) -> None:
        for error in self.theme_errors:
            # One notification per broken theme file; the app goes on with the valid ones.
            self.notify(error, title="Theme skipped", severity="error", markup=False, timeout=10)
        self.quit_banner.display = False
        self.alert_bar.display = False
        self._apply_layout(self.size.width, self.size.height)
        self.status_bar.tick_clock(self.settings.wall_clock_ms())
        self.set_interval(1.0, self._tick_second)
        self.set_interval(1.0 / self.settings.refresh_hz, self.refresh_panes)
        self.refresh_panes()
        self.refresh_engine_panes()
        self.view.start()

    def on_resize(self, event: events.Resize) -> None:
        self._apply_layout(event.size.width, event.size.height)

    def _apply_layout(self, width: int, height: int) -> None:
        """Stack the side panes under the books when narrow; drop borders and shorten the log when short."""
        self.set_class(width < NARROW_COLS, "-narrow")
        self.set_class(width < TINY_COLS, "-tiny-cols")
        self.set_class(height < SHORT_ROWS, "-short")
        self.set_class(height < TINY_ROWS, "-tiny-rows")
        self.hedge_pane.set_compact(height < SHORT_ROWS)
        if self.is_mounted(self.footer):
            self.footer.compact = width < NARROW_COLS

    # ---- slots -------------------------------------------------------------------------------------

    def refresh_panes(self) -> None:
        """Poll the slots; each pane repaints only what changed."""
        with self.batch_update():
            self.poller.poll()

    def _tick_second(self) -> None:
        self.status_bar.tick_clock(self.settings.wall_clock_ms())
        self.refresh_engine_panes()

    @property
    def can_draw(self) -> bool:
        """False once the app closes: shutdown prunes the widgets (and their component styles) while the
        engine's events may still arrive, so nothing may be drawn from then on."""
        return not self.closing and self.is_running and bool(self.screen_stack)

    def refresh_engine_panes(self) -> None:
        """Breaker, hedge (settled or in flight), alerts, quit banner and the footer's greying."""
        if self.can_draw:
            self.view.refresh()

    def close(self, outcome: Outcome | None) -> None:
        """Exit once: nothing is drawn after this (callbacks of engine tasks may still arrive)."""
        if not self.closing:
            self.closing = True
            self.exit(outcome)

    # ---- action gating -----------------------------------------------------------------------------

    def facts(self) -> Facts:
        return Facts(drift=self.poller.drift(), quitting=self.quitting)

    def why_disabled(self, action: str) -> str | None:
        """Why an action is refused now (None when allowed): the footer, palette, help and key say this."""
        spec = BY_NAME.get(action)
        return why_refused(spec, self.engine, self.facts()) if spec is not None else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action not in BY_NAME:
            return True
        return None if self.why_disabled(action) else True

    def on_key(self, event: events.Key) -> None:
        """A refused key says why (the footer only greys it)."""
        if len(self.screen_stack) != 1:
            return
        for action in ACTIONS:
            if self.keys[action.key_id] == event.key:
                why = self.why_disabled(action.name)
                if why:
                    self.refused(action.label, why)
                return

    def refused(self, label: str, why: str) -> None:
        self.notify(why, title=f"{label}: not now", severity="warning", markup=False, timeout=6)

    def run_palette_action(self, action: str) -> None:
        """Palette entries: the same refusal check and notification as the keys."""
        why = self.why_disabled(action)
        if why:
            self.refused(BY_NAME[action].label, why)
            return
        self.run_worker(self.run_action(action), group="palette", exclusive=False)

    # ---- trading actions (plans and confirmations: :mod:`.order_actions`) --------------------------

    def action_enter(self) -> None:
        self.orders.enter()

    def action_exit_hedge(self) -> None:
        self.orders.exit()

    def action_correct(self) -> None:
        self.orders.correct()

    def action_margin(self) -> None:
        self.orders.transfer()

    # ---- other actions -----------------------------------------------------------------------------

    def action_reset_breaker(self) -> None:
        def done(confirmed: bool | None) -> None:
            if confirmed:
                self._reset_breaker()

        self.push_screen(
            ConfirmScreen("Reset the circuit breaker", Text("Close the breaker and clear failures?")), done
        )

    @work(group="breaker", exclusive=False)
    async def _reset_breaker(self) -> None:
        await self.engine.reset_breaker()
        self.log_line("warn", "OPERATOR", "", "breaker reset by the operator")
        self.refresh_engine_panes()

    def action_reconcile(self) -> None:
        try:
            task = self.engine.start_reconcile()
        except Busy as exc:
            self.refused("reconcile", str(exc))
            return

        def done(t: asyncio.Task[Any]) -> None:
            if t.cancelled() or t.exception() is not None or not self.can_draw:
                return
            self.log_line("info", "RECONCILE", "", t.result().summary())
            self.refresh_engine_panes()

        task.add_done_callback(done)
        self.refresh_engine_panes()

    def action_trading_state(self) -> None:
        current = self.engine.trading_state
        refused: dict[TradingState, str] = {}
        if not self.engine.reconciled:
            refused |= {s: "reconcile first" for s in TradingState if s is not TradingState.HALTED}
        elif self.engine.proposal is not None:
            reason = "a proposal is pending (d to review)"
            refused |= {s: reason for s in TradingState if s is not TradingState.HALTED}

        def done(target: TradingState | None) -> None:
            if target is not None:
                self._switch_state(target)

        self.push_screen(TradingStateScreen(current, refused), done)

    @work(group="state", exclusive=False)
    async def _switch_state(self, target: TradingState) -> None:
        try:
            await self.engine.set_trading_state(target, "operator")
        except Denied as exc:
            self.refused("trading state", exc.message)
        self.refresh_engine_panes()

    def action_size(self) -> None:
        def done(value: Decimal | None) -> None:
            if value is not None:
                self.poller.set_size(value)
                self.log_line("info", "OPERATOR", "", f"hedge size set to {value:,.2f} USD")

        self.push_screen(SizeScreen(self.size_usd, self.engine.settings.risk.max_position_usd), done)

    def action_pnl(self) -> None:
        self.push_screen(PnlScreen(self.engine.pnl(), self.engine.status().perp, self.settings.wall_clock_ms()))

    def action_log_filter(self) -> None:
        self.log_view.cycle_filter()

    def action_intent_detail(self) -> None:
        self.push_screen(IntentScreen(self.engine.journal, self.engine.bus.recent()))

    def action_acknowledge(self) -> None:
        for alert in self.alerts.acknowledge():
            self.log_line("info", "OPERATOR", "", f"alert {alert.code} acknowledged")
        self.clear_notifications()
        self.refresh_engine_panes()

    def action_help(self) -> None:
        rows = []
        for action in ACTIONS:
            rows.append((self.keys[action.key_id], f"{action.palette}: {action.help}", self.why_disabled(action.name)))
        self.push_screen(HelpScreen(rows, self.settings.venue_url))

    def action_quit_app(self) -> None:
        if not self.engine.busy:
            self.close(self.view.outcome())
            return

        def done(confirmed: bool | None) -> None:
            self.view.quit_screen = None
            if not confirmed:
                return
            if not self.engine.busy:
                self.close(self.view.outcome())
                return
            self.quitting = True
            self.log_line("warn", "OPERATOR", "", f"quit requested: waiting for {self.view.inflight.where()}")
            self.refresh_engine_panes()

        screen = QuitScreen(self.view.quit_status())
        self.view.quit_screen = screen
        self.push_screen(screen, done)

    async def action_quit(self) -> None:
        """Textual's own quit (ctrl+q) takes the same path as q: never a silent exit mid-pipeline."""
        self.action_quit_app()

    def action_next_theme(self) -> None:
        """Cycle through the desk themes and remember the choice."""
        if not self.desk_themes:
            return
        index = self.desk_themes.index(self.theme) if self.theme in self.desk_themes else -1
        self.theme = self.desk_themes[(index + 1) % len(self.desk_themes)]
        if self.settings.remember_theme_choice:
            remember_theme(self.theme)
        self.notify(f"theme {self.theme}", timeout=2, markup=False)

    # ---- log ---------------------------------------------------------------------------------------

    def log_line(self, level: str, tag: str, intent: str, message: str, ts_ms: int | None = None) -> None:
        stamp = ts_ms if ts_ms is not None else self.settings.wall_clock_ms()
        self.log_view.add(LogLine(stamp, level, tag, intent, message))
