"""Every dashboard action in one table: key, footer label, help, palette entry and why it is refused now.

The footer shows them in this order, so help and quit come right after the trading keys and stay in
view on an 80-column terminal.

The footer, the command palette, the help screen, ``check_action`` and the notification a refused key
shows are all built from :data:`ACTIONS` and :func:`why_refused`, so they can never disagree. Trading
actions ask the engine (``Engine.why_refused``) first; the dashboard adds only what the engine does not
judge: a flat hedge has nothing to exit, drift within tolerance has nothing to correct, a quit in
progress starts nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass

from hedgetui.domain.drift import HedgeDrift
from hedgetui.domain.risk import ActionKind
from hedgetui.engine.breaker import BreakerState
from hedgetui.engine.engine import Engine


@dataclass(frozen=True)
class Action:
    """One row of the action table."""

    name: str  #: the ``action_<name>`` method of the app
    key_id: str  #: the key map entry (``ui.keys``) that binds it
    label: str  #: the footer label
    palette: str  #: the command palette title
    help: str  #: one line for the help screen and the palette
    engine: ActionKind | None = None  #: the engine action whose refusal applies
    footer: bool = True
    guarded: bool = False  #: greyed while a pipeline runs or the app is quitting


ACTIONS: tuple[Action, ...] = (
    Action(
        "enter",
        "enter",
        "enter",
        "Enter hedge",
        "short the perp and buy spot (confirmation first)",
        ActionKind.ENTER,
        guarded=True,
    ),
    Action(
        "exit_hedge",
        "exit",
        "exit",
        "Exit hedge",
        "sell spot and buy back the perp reduce-only (confirmation first)",
        ActionKind.EXIT,
        guarded=True,
    ),
    Action(
        "correct",
        "correct",
        "correct",
        "Correct drift / accept proposal",
        "one order on the larger leg, or the engine's reconciliation proposal (confirmation first)",
        ActionKind.CORRECT_REDUCING,
        guarded=True,
    ),
    Action("help", "help", "help", "Help", "every key, and why a greyed key is greyed"),
    Action("quit_app", "quit", "quit", "Quit", "quit (waits for a running pipeline and prints its outcome)"),
    Action("size", "size", "size", "Change hedge size", "set the hedge size in USD"),
    Action(
        "trading_state",
        "trading_state",
        "state",
        "Trading state",
        "choose ACTIVE, REDUCING (exits and reducing corrections only) or HALTED",
        guarded=True,
    ),
    Action(
        "reconcile",
        "reconcile",
        "reconcile",
        "Reconcile now",
        "resolve every order, compare both legs on the exchange, propose (never trades)",
        guarded=True,
    ),
    Action(
        "reset_breaker",
        "reset_breaker",
        "breaker",
        "Reset circuit breaker",
        "close the circuit breaker by hand (confirmation first)",
        guarded=True,
    ),
    Action("log_filter", "log_filter", "filter", "Log filter", "execution log filter: all → warn → error"),
    Action(
        "intent_detail",
        "detail",
        "detail",
        "Intent detail",
        "the latest intent from the journal: orders, fills, fees, timings",
    ),
    Action("acknowledge", "acknowledge", "ack", "Acknowledge alerts", "dismiss the alerts that need a decision"),
    Action(
        "margin",
        "margin",
        "margin",
        "Top up margin / transfer",
        "move USDT from spot to the futures wallet, or back (amount, direction, confirmation first)",
        guarded=True,
    ),
    Action(
        "pnl",
        "pnl",
        "P&L",
        "Hedge P&L",
        "net P&L of both legs with funding, fees and price; funding and basis history; margin figures",
        footer=False,
    ),
    Action("next_theme", "theme", "theme", "Next theme", "switch the colour theme (remembered)", footer=False),
)

BY_NAME: dict[str, Action] = {a.name: a for a in ACTIONS}


@dataclass(frozen=True)
class Facts:
    """What the dashboard knows besides the engine's state (from the streamed account)."""

    drift: HedgeDrift | None
    quitting: bool = False


def why_refused(action: Action, engine: Engine, facts: Facts) -> str | None:
    """Why ``action`` does nothing now, in one line; None when it runs. The engine's word comes first."""
    if facts.quitting and action.guarded:
        return "quitting: waiting for the running pipeline to end"
    status = engine.status()
    if action.name == "correct" and engine.proposal is not None:
        # Accepting a proposal is what lifts a halt: only the engine's hard stops apply (busy, unreconciled).
        refused = engine.refusal(ActionKind.CORRECT_REDUCING)
        return f"{refused[0]}: {refused[1]}" if refused and refused[0] != "TRADING_HALTED" else None
    if action.engine is not None:
        why = engine.why_refused(action.engine)
        if why:
            return why
    drift = facts.drift
    if action.name == "exit_hedge":
        if drift is None:
            return "NO_POSITION_DATA: the account figures have not arrived yet"
        if drift.flat:
            return "FLAT: no hedge open on the exchange (nothing to exit)"
    if action.name == "correct":
        if drift is None:
            return "NO_POSITION_DATA: the account figures have not arrived yet"
        if not drift.needs_correction:
            return f"NO_DRIFT: drift {drift.drift_bps:+.1f} bps is within {drift.tolerance_bps} bps"
    if action.name == "margin":
        return engine.why_transfer_refused()
    if action.guarded and status.busy is not None:
        return f"BUSY: {status.busy.value} is running"
    if action.name == "reset_breaker" and status.breaker.state is BreakerState.CLOSED and not status.breaker.failures:
        return "CLOSED: the breaker is already closed with no failures"
    return None
