"""Headless commands against the configured venue that trade or read the hedge: enter, exit, correct, status.

Exit codes (:mod:`hedgetui.exit_codes`): 0 done, 1 aborted or failed safely, 2 bad input or configuration,
3 HALTED with exposure that needs the operator. Bad input gets one line on stderr and nothing is sent.
Without ``--yes`` the plan is shown and the operator is asked; in live mode the answer must be the word LIVE.
Every command runs on the dashboard's stack (:func:`session`), built from the configuration in one place,
:mod:`hedgetui.command_setup`; ``history`` and ``transfer`` live in :mod:`hedgetui.ledger_commands`. This
module re-exports both, so ``hedgetui.commands`` stays the CLI's one entry point.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any, TextIO

from hedgetui.command_setup import (
    UsageError,
    confirm,
    dashboard_options,
    engine_settings,
    load,
    market_data_settings,
    session,
    stack_options,
    venue_settings,
)
from hedgetui.config.model import AppConfig
from hedgetui.config.secrets import SecretsError
from hedgetui.config.sizes import parse_size_usd
from hedgetui.domain.execution import EndState, ExecutionResult
from hedgetui.domain.pnl import pnl_json
from hedgetui.domain.quantity import QuantityReason
from hedgetui.domain.risk import TradingState
from hedgetui.engine.clock import RealClock
from hedgetui.engine.correct import Choice
from hedgetui.engine.hedge import HedgeState
from hedgetui.engine.journal import Journal
from hedgetui.engine.ledger import Ledger
from hedgetui.exchange.errors import VenueError
from hedgetui.exchange.venue import BinanceVenue
from hedgetui.exit_codes import EXIT_FAILED, EXIT_HALTED, EXIT_OK, EXIT_USAGE
from hedgetui.ledger_commands import read_ledger, run_history, run_transfer_command
from hedgetui.pnl_text import describe_pnl, fee_rates
from hedgetui.ui.formatting import decimals_of, fmt_price

#: Denials that mean the request itself was wrong (exit 2) rather than refused by the market's state (exit 1).
BAD_INPUT_CODES = {r.value for r in QuantityReason} | {"NON_POSITIVE_SIZE", "MAX_POSITION", "HARD_CAP"}


def parse_size(text: str | None, config: AppConfig) -> Decimal:
    """``--size-usd`` (or the configured size when not given), checked against the position limit."""
    if text is None:
        return config.hedge.size_usd
    try:
        return parse_size_usd(text, config.risk.max_position_usd)
    except ValueError as exc:
        raise UsageError(f"--size-usd: {exc}") from None


def result_json(result: ExecutionResult) -> str:
    return result.model_dump_json(indent=2)


def exit_code(result: ExecutionResult) -> int:
    if result.end_state is EndState.HALTED:
        return EXIT_HALTED
    if result.aborted and result.reason_code in BAD_INPUT_CODES:
        return EXIT_USAGE
    return EXIT_OK if result.success else EXIT_FAILED


async def run_trading_command(
    command: str,
    config: AppConfig,
    env: dict[str, str],
    *,
    size_text: str | None = None,
    yes: bool = False,
    as_json: bool = False,
    option: int = 1,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    stderr: TextIO = sys.stderr,
) -> int:
    """enter / exit / correct / reconcile. Returns the exit code.

    Every command starts with reconciliation, which only proposes. ``reconcile`` prints what it found;
    with ``--yes`` it accepts option ``--option`` of a pending proposal (or, when the legs match, lifts a
    HALT). ``correct`` sends the pending proposal's option, or the drift correction when none is pending.
    """
    size = parse_size(size_text, config) if command == "enter" else None
    vsettings = venue_settings(config, env)
    mode = config.venue.mode.value.upper()
    async with session(config, vsettings) as engine:
        report = engine.last_reconcile
        assert report is not None  # open_stack reconciled before handing the engine over
        if command == "reconcile":
            stdout.write(f"reconcile: {report.summary()}\n")
            if report.proposal is not None:
                stdout.write(report.proposal.describe() + "\n")
        if not report.complete:
            if command != "reconcile":
                stderr.write(f"reconcile: {report.summary()}\n")
            return EXIT_HALTED
        proposal = engine.proposal
        run: Callable[[], Any]
        if command == "reconcile" and proposal is None:
            if engine.trading_state is TradingState.HALTED:
                if not yes and not confirm(
                    config.venue.mode,
                    f"the legs match on {mode}; trading is HALTED: {engine.halt_reason}",
                    stdin,
                    stdout,
                    action="lift the HALT",
                ):
                    stdout.write("trading stays HALTED ('hedgetui reconcile --yes' lifts it)\n")
                    return EXIT_HALTED
                await engine.set_trading_state(TradingState.ACTIVE, "reconciled by the operator: legs match")
                stdout.write("trading ACTIVE: the legs match on the exchange\n")
            return EXIT_OK
        if command == "reconcile" and proposal is not None and not yes:
            stdout.write("nothing was sent: accept with 'hedgetui reconcile --yes [--option N]'\n")
            return EXIT_HALTED
        if command in ("reconcile", "correct") and proposal is not None:
            if not 1 <= option <= len(proposal.options):
                stderr.write(f"{command}: the proposal has {len(proposal.options)} option(s); --option {option}\n")
                return EXIT_USAGE if proposal.options else EXIT_HALTED
            chosen = proposal.options[option - 1]
            plan_text = f"{proposal.describe()}\nsend option [{option}] on {mode}: {chosen.describe()}"

            def run() -> Any:
                return engine.correct(Choice.of(chosen.correction))
        elif command != "correct" and engine.trading_state is TradingState.HALTED:
            stderr.write(f"{command} refused: trading is HALTED: {engine.halt_reason}\n")
            return EXIT_HALTED
        elif command == "enter" and yes:
            # Nobody reads a plan: the pipeline's own risk stage makes the same checks (the same functions) on
            # its one batch of fresh reads, so a preview here would only read everything a second time.
            plan_text = ""

            def run() -> Any:
                assert size is not None
                return engine.enter(size)
        elif command == "enter":
            assert size is not None
            plan = await engine.preview(size)
            if plan.denial is not None:
                stderr.write(f"enter refused: {plan.denial_code}: {plan.denial}\n")
                return EXIT_USAGE if plan.denial_code in BAD_INPUT_CODES else EXIT_FAILED
            text = [
                f"enter: short {plan.quantity} {config.pair.perp} and buy {plan.quantity} {config.pair.spot}"
                f" (about {size} USD) on {mode}, legs {config.hedge.leg_mode}",
                f"risk: {plan.risk.summary()}",
            ]
            for label, est in (("spot buy", plan.spot), ("perp sell", plan.perp)):
                if est is not None and est.vwap is not None and est.slippage_bps is not None:
                    text.append(
                        f"{label}: VWAP {est.vwap:.2f}, {est.slippage_bps:+.2f} bps, notional {est.notional:.2f}"
                    )
            plan_text = "\n".join(text)

            def run() -> Any:
                assert size is not None
                return engine.enter(size)
        elif command == "exit":
            legs = engine.hedge.legs or await engine.hedge.read()
            plan_text = (
                f"exit: sell {legs.spot_qty} {config.pair.spot} and buy back {-legs.perp_qty}"
                f" {config.pair.perp} reduce-only on {mode} ({legs.describe()})"
            )

            def run() -> Any:
                return engine.exit()
        else:
            legs = await engine.hedge.read()
            drift = engine.hedge.drift(legs)
            if not drift.needs_correction:
                stdout.write(f"correct: nothing to send: {drift.describe()} [{legs.describe()}]\n")
                return EXIT_OK
            plan_text = f"correct drift on {mode}: {drift.describe()} [{legs.describe()}]"

            def run() -> Any:
                return engine.correct()

        if not yes and not confirm(config.venue.mode, plan_text, stdin, stdout):
            stderr.write(f"{command}: not confirmed; nothing was sent\n")
            return EXIT_FAILED
        result: ExecutionResult = await run()
        if command == "enter" and yes and result.aborted:
            # What the preview's refusal said before the pipeline decided alone: one line on stderr.
            stderr.write(f"enter refused: {result.reason_code}: {result.reason}\n")
        if as_json:
            stdout.write(result_json(result) + "\n")
        else:
            stdout.write(f"{result.pipeline.value}: {result.end_state.value}: {result.reason}\n")
            for leg in (result.perp, result.spot, *result.corrections):
                if leg is not None:
                    rules = engine.spot_rules if leg.market == "spot" else engine.perp_rules
                    avg = fmt_price(leg.average, decimals_of(rules.tick))
                    stdout.write(
                        f"  {leg.leg}: {leg.side} {leg.filled}/{leg.target} avg {avg} "
                        f"({leg.status}) {', '.join(leg.client_order_ids)}\n"
                    )
        return exit_code(result)


async def run_status(config: AppConfig, env: dict[str, str], *, as_json: bool, stdout: TextIO) -> int:
    """Both legs as the exchange holds them, the journal's account beside them (sends nothing)."""
    # One look sends nothing and waits for no event: no user data stream to open.
    vsettings = replace(venue_settings(config, env), user_stream=False)
    venue = await BinanceVenue.connect(vsettings)
    try:
        assert config.journal.path is not None
        async with Journal(config.journal.path) as journal:
            hedge = HedgeState(
                venue, RealClock(), reserve=config.hedge.spot_reserve, tolerance_bps=config.drift.tolerance_bps
            )
            legs = await hedge.read()
            balances = await venue.fetch_spot_balances()
            drift = hedge.drift(legs)
            account = await hedge.compare(journal, legs)
            breaker = await journal.latest_state("breaker") or {"state": "closed", "failures": 0}
            trading = await journal.latest_state("trading_state") or {"state": "ACTIVE"}
            unfinished = [i.intent_id for i in await journal.unfinished_intents()]
            ledger = Ledger(venue, journal, RealClock(), exit_fee_rates=fee_rates(config))
            pnl_error: str | None = None
            try:
                pnl = await ledger.refresh(sync=True)
            except VenueError as exc:  # the legs were read: show them, with the ledger as last stored
                pnl_error = f"income not refreshed: {venue.describe_error(exc)}"
                pnl = await ledger.refresh(sync=False)
    finally:
        await venue.close()
    status: dict[str, Any] = {
        "venue": config.venue.mode.value,
        "pair": [config.pair.spot, config.pair.perp],
        "perp_position": format(legs.perp_qty, "f"),
        "hedge_spot_qty": format(legs.spot_qty, "f"),
        "spot_reserve": format(legs.spot_total - legs.spot_qty, "f"),
        "drift_bps": format(drift.drift_bps, "f"),
        "drift": drift.describe(),
        "journal_spot_qty": format(account.spot_qty, "f"),
        "discrepancy": format(account.difference, "f") if hedge.is_discrepancy(account) else None,
        "spot_balance": {a: format(b.total, "f") for a, b in balances.items() if b.total},
        "breaker": breaker,
        "trading_state": trading,
        "unfinished_intents": unfinished,
        "pnl": pnl_json(pnl) if pnl is not None else None,
        "pnl_error": pnl_error,
    }
    if as_json:
        stdout.write(json.dumps(status, indent=2) + "\n")
    else:
        stdout.write(f"{status['venue'].upper()} {config.pair.spot} / {config.pair.perp}\n")
        stdout.write(f"{legs.describe()}\n{drift.describe()}\n")
        if status["discrepancy"] is not None:
            stdout.write(
                f"discrepancy: the journal accounts for {status['journal_spot_qty']} spot; the exchange is used\n"
            )
        stdout.write(
            f"breaker {breaker.get('state')} (failures {breaker.get('failures', 0)})  trading {trading.get('state')}\n"
        )
        if unfinished:
            stdout.write(f"unfinished intents (run reconcile): {', '.join(unfinished)}\n")
        stdout.write((describe_pnl(pnl, now_ms=RealClock().wall_ms()) if pnl else "pnl: flat (no open hedge)") + "\n")
        if pnl_error:
            stdout.write(f"pnl: {pnl_error}; the figures are as last stored\n")
    return EXIT_HALTED if unfinished or trading.get("state") == "HALTED" else EXIT_OK


__all__ = [
    "EXIT_FAILED",
    "EXIT_HALTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "SecretsError",
    "UsageError",
    "VenueError",
    "confirm",
    "dashboard_options",
    "engine_settings",
    "load",
    "market_data_settings",
    "read_ledger",
    "run_history",
    "run_status",
    "run_trading_command",
    "run_transfer_command",
    "session",
    "stack_options",
    "venue_settings",
]
