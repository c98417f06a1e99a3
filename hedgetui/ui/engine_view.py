"""The engine → the screen: the ordered event queue, and the panes that follow the engine's state.

One async worker drains the engine's queue (never dropped, in order): each event updates the pipeline
strip, the in-flight record, the alerts and, when it matters, the log. Once a second (and on every state
event) :meth:`EngineView.refresh` redraws the breaker, the hedge (settled, or in flight while a pipeline
holds the legs), the alert bar, the quit banner and the footer's greying — and, when the operator has
asked to quit and the pipeline has ended, closes the app with the outcome to print.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual.worker import Worker

from hedgetui.domain.stages import Stage, StageState
from hedgetui.engine.events import AlertEvent, EngineEvent, FillEvent, Level, StageEvent, StateEvent
from hedgetui.ui.actions import ACTIONS
from hedgetui.ui.alerts import readable
from hedgetui.ui.formatting import decimals_of, fmt_price, fmt_qty
from hedgetui.ui.inflight import InFlight
from hedgetui.ui.screens.quit import QuitScreen

if TYPE_CHECKING:
    from hedgetui.ui.app import HedgeApp

#: Events kept off the log: the pipeline strip shows stages, the hedge pane shows orders in flight.
QUIET_KINDS = frozenset({"STAGE"})
#: Events that are alerts although they are not AlertEvents (market data, via ``Engine.note``).
ALERT_KINDS = frozenset({"BOOK_STALE"})


def log_worthy(event: EngineEvent) -> bool:
    """One line per event that matters: a failed stage is one, a stage starting or ending is not."""
    if isinstance(event, StageEvent):
        return event.state is StageState.FAILED and event.stage is not Stage.DONE
    return event.kind not in QUIET_KINDS


@dataclass(frozen=True)
class Outcome:
    """How the pipeline the operator quit during ended, printed once the app has closed."""

    text: str
    end_state: str | None  #: HEDGED, FLAT, HALTED, ... when known

    @property
    def halted(self) -> bool:
        return self.end_state == "HALTED"


class EngineView:
    """Everything the app draws from the engine (its state and its events)."""

    def __init__(self, app: HedgeApp) -> None:
        self.app = app
        self.engine = app.engine
        self.inflight = InFlight()
        self.last_end: str | None = None
        self.last_end_state: str | None = None
        self.quit_screen: QuitScreen | None = None
        self.worker: Worker[None] | None = None
        self._greyed: tuple[bool, ...] = ()

    def start(self) -> None:
        self.worker = self.app.run_worker(self._drain(), group="engine-events", exclusive=False)

    async def _drain(self) -> None:
        """First the recent journal from earlier sessions, then this session's events, replayed and live."""
        try:
            earlier = await self.engine.journal.events(limit=200)
        except Exception as exc:  # the journal is the engine's; a read failure must not stop the live log
            earlier = []
            self.app.notify(f"cannot read the journal history: {readable(str(exc))}", severity="warning", markup=False)
        for row in earlier:
            if row.created_ms < self.engine.started_ms and row.kind != "STAGE":
                self.app.log_line(row.level, f"{row.kind}*", row.intent_id or "", row.message, row.created_ms)
        queue = self.engine.bus.subscribe(replay=True)
        try:
            while True:
                self.handle(await queue.get())
        finally:
            self.engine.bus.unsubscribe(queue)

    def handle(self, event: EngineEvent) -> None:
        """One engine event, in order."""
        app = self.app
        self.inflight.apply(event)
        if event.kind == "END":
            self.last_end = f"{event.pipeline.value if event.pipeline else 'pipeline'} {event.intent_id or ''}: "
            self.last_end += event.message
            self.last_end_state = str(event.data.get("state")) if event.data.get("state") else None
        if not app.can_draw:
            return  # shutting down: the widgets are being pruned (the record above still counts)
        if isinstance(event, StageEvent) and event.pipeline is not None:
            app.pipeline.stage(event.pipeline, event.intent_id, event.stage, event.state, event.elapsed_ms)
        if log_worthy(event):
            message = self._fill_text(event) if isinstance(event, FillEvent) else event.message
            if isinstance(event, AlertEvent) and event.code:
                message = f"{event.code}: {message}"
            app.log_line(event.level.value, event.kind, event.intent_id or "", message, event.ts_ms)
        if isinstance(event, AlertEvent) or event.kind in ALERT_KINDS:
            code = event.code if isinstance(event, AlertEvent) and event.code else event.kind
            alert = app.alerts.raise_alert(code, event.message, event.level.value, event.ts_ms, self.engine.status())
            bad = event.level in (Level.ERROR, Level.CRITICAL)
            app.notify(alert.message, title=code, severity="error" if bad else "warning", markup=False, timeout=10)
        if isinstance(event, (StateEvent, AlertEvent)) or event.kind == "END" or self.quit_screen is not None:
            app.refresh_engine_panes()
        elif isinstance(event, StageEvent) or event.kind in ("SUBMIT", "FILL", "AMBIGUOUS"):
            self._draw_hedge()
            self._draw_quit()

    def _fill_text(self, fill: FillEvent) -> str:
        """``spot BUY 0.01220 @ 60,012.21 fee 0.00001220 BTC cid …``: figures to the market's step and tick."""
        spot = fill.leg.startswith("spot")
        rules = self.engine.spot_rules if spot else self.engine.perp_rules
        words = fill.message.split()
        side = words[1] if len(words) > 1 else ""
        qty = fmt_qty(fill.quantity, decimals_of(rules.step))
        text = f"{'spot' if spot else 'perp'} {side} {qty} @ {fmt_price(fill.price, decimals_of(rules.tick))}"
        if fill.fee is not None:
            text += f" fee {fill.fee.normalize():f} {fill.fee_asset or ''}".rstrip()
        return f"{text} cid {fill.cid}"

    # ---- the panes that follow the engine's state ------------------------------------------------

    def refresh(self) -> None:
        app = self.app
        status = self.engine.status()
        app.breaker_pane.show(status.breaker, status.trading_state, status.halt_reason)
        self._draw_hedge()
        for alert, why in app.alerts.sweep(status, app.poller.books_stale()):
            app.log_line("info", "ALERT", "", f"{alert.code} cleared: {why}")
        self._draw_alerts()
        self._draw_quit()
        self._refresh_footer()
        if app.quitting and not self.engine.busy:
            app.close(self.outcome())

    def _refresh_footer(self) -> None:
        """Re-grey the footer only when an action's availability changed: refreshing the bindings rebuilds
        the whole footer (a dozen widgets mounted), which is the costliest repaint on this screen."""
        greyed = tuple(self.app.why_disabled(a.name) is not None for a in ACTIONS)
        if greyed != self._greyed:
            self._greyed = greyed
            self.app.refresh_bindings()

    def _draw_hedge(self) -> None:
        app = self.app
        status = self.engine.status()
        poller = app.poller
        if status.busy is not None:
            where = self.inflight.where() if not self.inflight.ended else status.busy.value
            app.hedge_pane.show_in_flight(where, poller.legs(), self.inflight.lines(app.settings.spot_size_places))
            return
        notes = []
        if status.spot_reserve:
            notes.append(f"reserve {status.spot_reserve} {self.engine.spot_rules.base} held outside the hedge")
        if status.account is not None and self.engine.hedge.is_discrepancy(status.account):
            notes.append(f"journal accounts for {status.account.spot_qty} spot: exchange used")
        if status.proposal is not None:
            notes.append(f"PROPOSAL PENDING: {app.keys['correct']} to review")
        app.hedge_pane.show(
            poller.drift(),
            unrealized_pnl=poller.perp_unrealized_pnl(),
            pnl=self.engine.pnl(),
            perp=status.perp,
            now_ms=app.settings.wall_clock_ms(),
            note=" · ".join(notes),
        )

    def _draw_alerts(self) -> None:
        app = self.app
        active = list(app.alerts.active.values())
        app.alert_bar.display = bool(active)
        if not active:
            return
        latest = active[-1]
        text = Text(f"‼ {len(active)} alert{'s' if len(active) > 1 else ''} · ", style="bold")
        text.append(f"{latest.code}: {latest.message}")
        if any(a.needs_decision for a in active):
            text.append(f"  ({app.keys['acknowledge']} acknowledge)", style="italic")
        app.alert_bar.set(text)

    def quit_status(self) -> str:
        if self.engine.busy:
            return f"A pipeline is running: {self.inflight.where()}."
        return f"The pipeline has ended: {self.last_end or 'see the log'}. Quitting now is immediate."

    def _draw_quit(self) -> None:
        app = self.app
        if self.quit_screen is not None:
            self.quit_screen.set_status(self.quit_status())
        app.quit_banner.display = app.quitting
        if app.quitting:
            app.quit_banner.set(
                Text(f"QUITTING · waiting for {self.inflight.where()} · the outcome is printed on exit", style="bold")
            )

    def outcome(self) -> Outcome | None:
        """What to print once the app has closed: the end of a pipeline the operator quit during."""
        if not self.app.quitting:
            return None
        r = self.app.results[-1] if self.app.results else None
        if r is not None and (r.intent_id == self.inflight.intent_id or self.last_end is None):
            text = f"{r.pipeline.value} {r.intent_id or ''} ended {r.end_state.value}: {readable(r.reason, 400)}"
            return Outcome(text, r.end_state.value)
        return Outcome(readable(self.last_end or "the pipeline ended (see hedgetui history)", 400), self.last_end_state)
