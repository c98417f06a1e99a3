"""The ledger's and the wallets' headless commands: ``history`` (the hedges with their P&L, the journal's
intents, the CSV export) and ``transfer`` (margin between the spot and the futures wallets).

Kept apart from :mod:`hedgetui.commands` (enter, exit, correct, status) because neither trades the hedge:
history reads the journal and the exchange's income records, and a transfer moves margin, not a leg.
Exit codes as in :mod:`hedgetui.exit_codes`.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import TextIO

from hedgetui.command_setup import UsageError, confirm, session, venue_settings
from hedgetui.config.model import AppConfig
from hedgetui.config.secrets import SecretsError
from hedgetui.config.sizes import parse_transfer_amount
from hedgetui.domain.margin import TransferDirection
from hedgetui.domain.pnl import HedgePnl, pnl_json
from hedgetui.engine.clock import RealClock
from hedgetui.engine.journal import Journal
from hedgetui.engine.ledger import Ledger
from hedgetui.exchange.errors import VenueError
from hedgetui.exchange.venue import BinanceVenue
from hedgetui.exit_codes import EXIT_FAILED, EXIT_HALTED, EXIT_OK, EXIT_USAGE
from hedgetui.pnl_text import CSV_COLUMNS, csv_rows, fee_rates, span, utc, writable_target


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
