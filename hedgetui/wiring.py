"""Assembling the program: sandbox (for the demo), venue, journal, engine, market data and dashboard.

This is the one place that knows every layer. Start-up order matters: the engine reconciles before the
dashboard enables trading, and on the way out the engine is drained (a running pipeline finishes) before
anything it depends on is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from hedgetui.config.model import AppConfig
from hedgetui.domain.ledger import Marks
from hedgetui.domain.venue import MarketKind, VenueMode
from hedgetui.engine.engine import Engine
from hedgetui.engine.events import Level
from hedgetui.engine.hedge import ExchangeLegs, legs_from
from hedgetui.engine.journal import Journal
from hedgetui.engine.settings import EngineSettings
from hedgetui.exchange.errors import VenueError
from hedgetui.exchange.market_data import MarketDataService, MarketDataSettings
from hedgetui.exchange.settings import VenueSettings
from hedgetui.exchange.venue import BinanceVenue
from hedgetui.sandbox.options import SandboxOptions
from hedgetui.sandbox.server import SandboxServer

if TYPE_CHECKING:
    from hedgetui.ui.engine_view import Outcome

log = logging.getLogger(__name__)


@dataclass
class Stack:
    """Everything a session runs on, started and stopped together."""

    venue: BinanceVenue
    journal: Journal
    engine: Engine
    market_data: MarketDataService
    sandbox: SandboxServer | None = None


@asynccontextmanager
async def open_stack(
    venue_settings: VenueSettings,
    journal_path: Path,
    engine_settings: EngineSettings,
    *,
    market_data: MarketDataSettings | None = None,
    fail_max: int = 2,
    reset_timeout_s: float = 30.0,
    sandbox: SandboxServer | None = None,
    stream: bool = True,
) -> AsyncIterator[Stack]:
    """Connect, open the journal, reconcile, start market data; tear down in reverse order.

    The dashboard and the headless commands both run on this stack. ``stream=False`` (a headless command)
    leaves the market data service, the user data streams and the drift monitor unstarted: the pipelines
    read fresh data themselves, and no screen decides on streamed books. A cold process would pay the
    streams' listen keys, connections and subscriptions before they could vouch for anything, while the
    order answers (RESULT/FULL) already carry the fills and one REST read verifies the legs. Its engine's
    start reconciliation reads the books and the futures wallet beside the legs, and an entry or exit that
    follows at once decides on that reading instead of reading it all again
    (``Engine.reuse_reconcile_reading``).
    """
    if not stream:
        venue_settings = replace(venue_settings, user_stream=False)
    venue = await BinanceVenue.connect(venue_settings)
    try:
        async with Journal(journal_path) as journal:
            service = MarketDataService(venue, market_data or MarketDataSettings())
            engine = Engine(
                venue,
                journal,
                engine_settings,
                fail_max=fail_max,
                reset_timeout_s=reset_timeout_s,
                stale_data=(lambda: stale_books(service)) if stream else None,
                market=service if stream else None,
                reuse_reconcile_reading=not stream,
            )
            service.on_event = lambda kind, message, data: engine.note(kind, message, data)
            if venue.user_stream is not None:
                venue.user_stream.on_change = lambda kind, message: engine.note(
                    kind, message, level=Level.WARN if kind == "ACCOUNT_STALE" else Level.INFO
                )
            await engine.start()
            monitors: list[asyncio.Task[None]] = []
            if stream:
                service.start()
                loop = asyncio.get_running_loop()
                monitors.append(loop.create_task(watch_drift(engine, service), name="drift-monitor"))
                monitors.append(loop.create_task(watch_ledger(engine, service), name="ledger-monitor"))
            try:
                yield Stack(venue, journal, engine, service, sandbox)
            finally:
                for monitor in monitors:
                    monitor.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await monitor
                await engine.shutdown()
                if stream:
                    await service.stop()
    finally:
        await venue.close()


def seen_legs(engine: Engine, service: MarketDataService) -> ExchangeLegs | None:
    """Both legs as the account polls last showed them (None until balances, position and funding arrived)."""
    balances, position, funding = (
        service.spot_balances.latest(),
        service.perp_position.latest(),
        service.funding.latest(),
    )
    if balances is None or position is None or funding is None:
        return None
    return legs_from(
        engine.spot_rules.base,
        engine.settings.spot_reserve,
        balances.value,
        position.value,
        funding.value,
        engine.clock.wall_ms(),
    )


async def watch_perp(engine: Engine, service: MarketDataService) -> None:
    """Let the engine judge the perp leg (margin ratio, liquidation distance) on the latest account polls."""
    balance, position, funding = (
        service.futures_balance.latest(),
        service.perp_position.latest(),
        service.funding.latest(),
    )
    if balance is None or position is None:
        return
    await engine.check_perp(balance.value, position.value, funding.value.mark_price if funding else None)


async def watch_drift(engine: Engine, service: MarketDataService) -> None:
    """The drift monitor: after every account poll, let the engine check the legs it shows and the perp's
    margin figures."""
    while True:
        await asyncio.sleep(service.settings.account_poll_s)
        try:
            await watch_perp(engine, service)
            await engine.check_drift(seen_legs(engine, service))
        except VenueError:
            continue  # an unreadable exchange shows as stale feeds; the next poll tries again
        except Exception:  # never let the monitor die silently: log it and keep watching
            log.exception("drift monitor")


async def watch_ledger(engine: Engine, service: MarketDataService) -> None:
    """Keep the open hedge's P&L fresh: marked at every account poll to the streamed mid and mark, and its
    income fetched right after each funding time and at least every minute (:meth:`Ledger.sync_due`)."""
    while True:
        try:
            await engine.refresh_pnl(await streamed_marks(engine, service))
        except VenueError:
            pass  # an unreadable exchange shows as stale feeds; the next poll tries again
        except Exception:  # never let the monitor die silently
            log.exception("ledger monitor")
        await asyncio.sleep(service.settings.account_poll_s)


async def streamed_marks(engine: Engine, service: MarketDataService) -> Marks | None:
    """Marks from the market data service's latest book and funding (None until both arrived)."""
    book, funding = service.spot_book.latest(), service.funding.latest()
    mid = book.value.mid if book is not None else None
    if mid is None or funding is None:
        return None
    f = funding.value
    return await engine.ledger.marks_from(mid, f.mark_price, f.rate, f.next_funding_ms)


def stale_books(service: MarketDataService) -> str | None:
    """Why the live books are not fit to decide on, or None (a denial reason for new entries)."""
    for kind in (MarketKind.SPOT, MarketKind.PERP):
        name = "spot_book" if kind is MarketKind.SPOT else "perp_book"
        if service.is_stale(name):
            age = service.book_age(kind)
            return f"{kind.value} book is stale ({'no data' if age is None else f'{age:.1f} s old'})"
    return None


#: ``hedgetui demo`` settles funding every minute, so a new user sees it arrive in the first two minutes.
DEMO_FUNDING_INTERVAL_S = 60


@asynccontextmanager
async def demo_sandbox(
    seed: int = 7, tick_ms: int = 100, funding_interval_s: int = SandboxOptions.funding_interval_s
) -> AsyncIterator[SandboxServer]:
    """The embedded sandbox on a free loopback port (funding on Binance's 8 h schedule unless told)."""
    server = SandboxServer(SandboxOptions(port=0, seed=seed, tick_ms=tick_ms, funding_interval_s=funding_interval_s))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def sandbox_venue_settings(server: SandboxServer) -> VenueSettings:
    return VenueSettings(
        mode=VenueMode.SANDBOX,
        sandbox_url=server.base_url,
        api_key=SecretStr(server.api_key),
        api_secret=SecretStr(server.api_secret),
        sandbox_keys=(server.api_key, server.api_secret),
        rate_limit_ms=0,
    )


async def run_demo(
    *,
    seed: int = 7,
    tick_ms: int = 100,
    size_usd: Decimal = Decimal("2000"),
    theme: str | None = None,
    funding_interval_s: int = DEMO_FUNDING_INTERVAL_S,
) -> Outcome | None:
    """``hedgetui demo``: the dashboard on a fresh embedded sandbox with a fresh journal.

    Returns what the dashboard hands back on closing (the end of a pipeline the operator quit during),
    for the caller to print once the terminal is its own again.
    """
    async with demo_sandbox(seed, tick_ms, funding_interval_s) as server:
        with tempfile.TemporaryDirectory(prefix="hedgetui-demo-") as folder:
            async with open_stack(
                sandbox_venue_settings(server), Path(folder) / "journal.sqlite3", EngineSettings()
            ) as stack:
                options: dict[str, object] = {"size_usd": size_usd, "theme": theme, "venue_url": server.base_url}
                return await run_app(stack, VenueMode.SANDBOX, options)


async def run_dashboard(config: AppConfig, vsettings: VenueSettings) -> Outcome | None:
    """``hedgetui`` / ``hedgetui tui``: the dashboard on the configured venue (returns the outcome to print)."""
    from hedgetui.command_setup import dashboard_options, stack_options

    async with open_stack(vsettings, **stack_options(config)) as stack:
        return await run_app(stack, config.venue.mode, dashboard_options(config))


async def run_app(stack: Stack, mode: VenueMode, options: dict[str, object]) -> Outcome | None:
    """The dashboard on ``stack``: settings from the markets' rules, in one place for every entry point."""
    from hedgetui.ui.app import HedgeApp
    from hedgetui.ui.settings import DashboardSettings

    settings = DashboardSettings.for_markets(
        mode, stack.venue.rules(MarketKind.SPOT), stack.venue.rules(MarketKind.PERP), **options
    )
    return await HedgeApp(stack.market_data, stack.engine, settings).run_async()
