"""Headless commands against the configured venue: enter, exit, correct, status, history, reconcile.

Exit codes (:mod:`hedgetui.exit_codes`): 0 done, 1 aborted or failed safely, 2 bad input or configuration,
3 HALTED with exposure that needs the operator. Bad input gets one line on stderr and nothing is sent.
Without ``--yes`` the plan is shown and the operator is asked; in live mode the answer must be the word LIVE.
Every command runs on the dashboard's stack (:func:`session`), built from the configuration here, in one
place (:func:`engine_settings`, :func:`market_data_settings`, :func:`venue_settings`, :func:`dashboard_options`).
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from hedgetui.config.loader import ConfigError, load_config
from hedgetui.config.model import AppConfig
from hedgetui.config.secrets import SecretsError, resolve_credentials
from hedgetui.config.sizes import parse_size_usd, parse_transfer_amount
from hedgetui.domain.execution import EndState, ExecutionResult
from hedgetui.domain.margin import PerpThresholds, TransferDirection
from hedgetui.domain.pnl import HedgePnl, pnl_json
from hedgetui.domain.quantity import QuantityReason
from hedgetui.domain.risk import RiskLimits, TradingState
from hedgetui.domain.venue import VenueMode
from hedgetui.engine.clock import RealClock
from hedgetui.engine.correct import Choice
from hedgetui.engine.engine import Engine
from hedgetui.engine.hedge import HedgeState
from hedgetui.engine.journal import Journal
from hedgetui.engine.ledger import Ledger
from hedgetui.engine.legs import ExecTimeouts
from hedgetui.engine.settings import EngineSettings, LegMode, OnLegFailure
from hedgetui.exchange.errors import VenueError
from hedgetui.exchange.market_data import MarketDataSettings
from hedgetui.exchange.settings import VenueSettings
from hedgetui.exchange.venue import BinanceVenue
from hedgetui.exit_codes import EXIT_FAILED, EXIT_HALTED, EXIT_OK, EXIT_USAGE
from hedgetui.pnl_text import CSV_COLUMNS, csv_rows, describe_pnl, fee_rates, span, utc, writable_target
from hedgetui.sandbox.options import DEFAULT_API_KEY, DEFAULT_API_SECRET
from hedgetui.ui.formatting import decimals_of, fmt_price
from hedgetui.wiring import open_stack

#: Denials that mean the request itself was wrong (exit 2) rather than refused by the market's state (exit 1).
BAD_INPUT_CODES = {r.value for r in QuantityReason} | {"NON_POSITIVE_SIZE", "MAX_POSITION", "HARD_CAP"}


class UsageError(Exception):
    """Bad input or configuration: one line, exit code 2."""


def engine_settings(config: AppConfig) -> EngineSettings:
    """The engine's settings from the configuration."""
    r, t = config.risk, config.timeouts
    return EngineSettings(
        leg_mode=LegMode(config.hedge.leg_mode),
        on_leg_failure=OnLegFailure(config.hedge.on_leg_failure),
        slippage_max_bps=config.slippage.max_bps,
        slippage_alert_bps=config.slippage.alert_difference_bps,
        spot_reserve=config.hedge.spot_reserve,
        spot_taker_fee=config.ui.spot_taker_fee_pct / 100,
        perp_taker_fee=config.ui.perp_taker_fee_pct / 100,
        liquidity_multiple=config.slippage.liquidity_multiple,
        drift_tolerance_bps=config.drift.tolerance_bps,
        risk=RiskLimits(
            max_position_usd=r.max_position_usd,
            max_leverage=r.max_leverage,
            min_liquidation_distance_pct=r.min_liquidation_distance_pct,
            max_basis_bps=r.max_basis_bps,
            max_data_age_s=r.max_data_age_s,
            require_positive_funding_for_entry=r.require_positive_funding_for_entry,
        ),
        perp_watch=PerpThresholds(
            margin_ratio_warn_pct=config.perp_watch.margin_ratio_warn_pct,
            margin_ratio_critical_pct=config.perp_watch.margin_ratio_critical_pct,
            liq_distance_warn_pct=config.perp_watch.liq_distance_warn_pct,
            liq_distance_critical_pct=config.perp_watch.liq_distance_critical_pct,
        ),
        timeouts=ExecTimeouts(
            order_ack_s=t.order_ack_s,
            fill_s=t.fill_s,
            partial_fill_retries=t.partial_fill_retries,
            lookup_grace_s=t.lookup_grace_s,
        ),
        book_depth=100,
    )


def market_data_settings(config: AppConfig) -> MarketDataSettings:
    """The market data service's settings (the dashboard's books keep at least 20 levels)."""
    md = config.market_data
    return MarketDataSettings(
        depth=max(md.book_depth, 20),
        stale_after_s=md.stale_after_s,
        funding_poll_s=md.funding_poll_s,
        account_poll_s=md.account_poll_s,
    )


def stack_options(config: AppConfig) -> dict[str, Any]:
    """Everything :func:`hedgetui.wiring.open_stack` takes from the configuration besides the venue."""
    assert config.journal.path is not None
    return {
        "journal_path": config.journal.path,
        "engine_settings": engine_settings(config),
        "market_data": market_data_settings(config),
        "fail_max": config.breaker.fail_max,
        "reset_timeout_s": config.breaker.reset_timeout_s,
    }


def dashboard_options(config: AppConfig) -> dict[str, object]:
    """The dashboard's settings from the configuration (the markets' places come from their rules)."""
    return {
        "size_usd": config.hedge.size_usd,
        "refresh_hz": config.ui.refresh_hz,
        "theme": config.ui.theme,
        "keys": dict(config.ui.keys),
        "venue_url": config.venue.url if config.venue.mode is VenueMode.SANDBOX else None,
    }


def venue_settings(config: AppConfig, env: dict[str, str]) -> VenueSettings:
    """Venue settings with credentials resolved (raises SecretsError / UsageError)."""
    v = config.venue
    if v.mode is VenueMode.SANDBOX and not v.url:
        raise UsageError("venue: sandbox mode needs the sandbox URL (--venue-url or venue.url)")
    creds = resolve_credentials(config, env)
    return VenueSettings(
        mode=v.mode,
        spot_symbol=config.pair.spot,
        perp_symbol=config.pair.perp,
        api_key=creds.api_key,
        api_secret=creds.api_secret,
        sandbox_url=v.url,
        timeout_ms=v.timeout_ms,
        recv_window_ms=v.recv_window_ms,
        verbose=v.verbose,
        user_stream=v.user_stream,
        sandbox_keys=(DEFAULT_API_KEY, DEFAULT_API_SECRET) if v.mode is VenueMode.SANDBOX else (),
    )


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


def confirm(mode: VenueMode, plan_text: str, stdin: TextIO, stdout: TextIO, action: str = "send these orders") -> bool:
    """Show the plan and ask to do ``action``. Live needs the word LIVE; anything else (or no terminal) is a no."""
    stdout.write(plan_text.rstrip() + "\n")
    prompt = f"Type LIVE to {action}: " if mode is VenueMode.LIVE else f"{action[:1].upper()}{action[1:]}? [y/N] "
    stdout.write(prompt)
    stdout.flush()
    answer = stdin.readline().strip()
    return answer == "LIVE" if mode is VenueMode.LIVE else answer.lower() in ("y", "yes")


@asynccontextmanager
async def session(config: AppConfig, vsettings: VenueSettings) -> AsyncIterator[Engine]:
    """A headless command's engine, on the dashboard's stack (reconciled on the way in, drained on the way
    out), without the streams a screen needs."""
    async with open_stack(vsettings, **stack_options(config), stream=False) as stack:
        yield stack.engine


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


async def read_ledger(
    config: AppConfig, env: dict[str, str], journal: Journal, limit: int, stderr: TextIO
) -> list[HedgePnl] | None:
    """The latest hedges, newest first, after fetching the income booked since the last look.

    Hedges are cut with the spot market's rules and valued with the exchange's records, so the exchange
    must answer: when it cannot be reached (or no credentials are configured) one line on stderr says so
    and None is returned. When only the income fetch fails, the stored records are used, and said so.
    """
    try:
        venue = await BinanceVenue.connect(venue_settings(config, env))
    except (VenueError, SecretsError, UsageError) as exc:
        stderr.write(f"history: hedges need the exchange, which was not read: {exc}\n")
        return None
    try:
        ledger = Ledger(venue, journal, RealClock(), exit_fee_rates=fee_rates(config))
        current: HedgePnl | None = None
        try:
            current = await ledger.refresh(sync=True)
        except VenueError as exc:
            stderr.write(f"history: income not refreshed ({exc}); the figures are as last stored\n")
        hedges = await ledger.history(limit)
        if hedges and current is not None and hedges[0].is_open:
            hedges[0] = current
        return hedges
    finally:
        await venue.close()


async def run_history(
    config: AppConfig,
    *,
    limit: int,
    as_json: bool,
    stdout: TextIO,
    env: dict[str, str] | None = None,
    intents: bool = False,
    csv_path: Path | None = None,
    stderr: TextIO = sys.stderr,
) -> int:
    """The hedges with their P&L (``--intents``: the journal's intents; ``--csv FILE``: export the ledger).

    ``--json`` prints ``{"hedges": [...], "intents": [...]}``, each hedge with ``opened_ms``, ``closed_ms``
    (null while open) and its ``pnl`` (realized once closed).
    """
    assert config.journal.path is not None
    if csv_path is not None and not writable_target(csv_path):
        stderr.write(f"history: cannot write {csv_path}: not a file in an existing folder\n")
        return EXIT_USAGE
    if not config.journal.path.exists():
        stdout.write("no journal yet\n" if not as_json else json.dumps({"hedges": [], "intents": []}) + "\n")
        return EXIT_OK
    async with Journal(config.journal.path) as journal:
        rows = await journal.history(limit)
        read = [] if intents and not as_json else await read_ledger(config, env or {}, journal, limit, stderr)
    hedges = read or []
    if csv_path is not None:
        if read is None:
            return EXIT_FAILED
        try:
            with csv_path.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
                writer.writeheader()
                writer.writerows(csv_rows(hedges))
        except OSError as exc:
            stderr.write(f"history: cannot write {csv_path}: {exc.strerror or exc}\n")
            return EXIT_USAGE
        stdout.write(f"{len(hedges)} hedge(s) written to {csv_path}\n")
        return EXIT_OK
    if as_json:
        listing = [{"opened_ms": h.opened_ms, "closed_ms": h.closed_ms, "pnl": pnl_json(h)} for h in hedges]
        stdout.write(json.dumps({"hedges": listing, "intents": rows}, indent=2) + "\n")
        return EXIT_OK if read is not None else EXIT_FAILED
    if intents:
        for r in rows:
            took = f"{(r['ended_ms'] - r['created_ms']) / 1000:6.2f} s" if r["ended_ms"] else "       —"
            stdout.write(
                f"{utc(r['created_ms'])} UTC {took}  {r['intent_id']}  {r['kind']:<9} qty {r['quantity'] or '-':<8} "
                f"{r['end_state'] or 'UNFINISHED':<10} {r['reason'] or ''}\n"
            )
        return EXIT_OK
    if read is None:
        return EXIT_FAILED
    if not hedges:
        stdout.write("no hedges yet ('hedgetui history --intents' lists the journal's intents)\n")
    for h in hedges:
        closed = f"{utc(h.closed_ms)} UTC" if h.closed_ms is not None else "open" + " " * 19
        took = span((h.closed_ms if h.closed_ms is not None else RealClock().wall_ms()) - h.opened_ms)
        stdout.write(
            f"{utc(h.opened_ms)} UTC → {closed} {took:>8}  net {h.net:+,.2f} {h.quote}"
            f" (funding {h.funding:+,.2f}, fees {h.fees:+,.2f}, price {h.price:+,.2f})\n"
        )
    return EXIT_OK


async def run_transfer_command(
    config: AppConfig,
    env: dict[str, str],
    *,
    to: str,
    amount_text: str,
    yes: bool = False,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    stderr: TextIO = sys.stderr,
) -> int:
    """``hedgetui transfer --to futures|spot --amount N``: move the perp's margin asset between the wallets.

    Shows both wallets and the margin figures, asks (live: the word LIVE) unless ``--yes``, and reports what
    the wallets show after. Exit 0 confirmed, 1 refused or not confirmed, 2 bad input, 3 unconfirmed (the
    answer was lost and the wallets do not show the move: look before trying again).
    """
    from hedgetui.engine.transfer import TransferStatus, read_wallets

    try:
        direction = TransferDirection(to)
    except ValueError:
        raise UsageError(f"--to: must be futures or spot (got {to})") from None
    quote = config.pair.perp.split(":")[1]
    try:
        amount = parse_transfer_amount(amount_text, quote)
    except ValueError as exc:
        raise UsageError(f"--amount: {exc}") from None
    vsettings = venue_settings(config, env)
    mode = config.venue.mode.value.upper()
    async with session(config, vsettings) as engine:
        refused = engine.why_transfer_refused(direction)
        if refused:
            stderr.write(f"transfer refused: {refused}\n")
            return EXIT_FAILED
        wallets = await read_wallets(engine.venue, quote)
        health = await engine.read_perp()
        ratio = "—" if health.margin_ratio_pct is None else f"{health.margin_ratio_pct:.1f} %"
        plan = (
            f"transfer {amount:,f} {quote} from {direction.source} to {direction.target} on {mode}\n"
            f"now: {wallets.describe(quote)}; margin ratio {ratio}"
        )
        if not yes and not confirm(config.venue.mode, plan, stdin, stdout, action="move it"):
            stderr.write("transfer: not confirmed; nothing was sent\n")
            return EXIT_FAILED
        result = await engine.transfer(amount, direction)
    stdout.write(result.describe() + "\n")
    if result.status is TransferStatus.CONFIRMED:
        return EXIT_OK
    return EXIT_HALTED if result.status is TransferStatus.UNCONFIRMED else EXIT_FAILED


def load(args: Any, overrides: dict[str, object]) -> tuple[AppConfig, dict[str, str]]:
    env = dict(os.environ)
    try:
        return load_config(getattr(args, "config", None), env, overrides), env
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


__all__ = [
    "EXIT_FAILED",
    "EXIT_HALTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "SecretsError",
    "UsageError",
    "VenueError",
    "load",
    "run_history",
    "run_status",
    "run_trading_command",
    "run_transfer_command",
]
