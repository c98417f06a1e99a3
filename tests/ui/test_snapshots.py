"""SVG snapshots of the main screen, the confirmation and the help screen on a deterministic venue.

The venue is the in-process simulated one (fixed books), clocks are frozen, and the journal is in memory,
so the pictures change only when the dashboard does. Update them with ``HEDGETUI_UPDATE_SNAPSHOTS=1``.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from hedgetui.domain.health import FeedHealth, FeedSource
from hedgetui.domain.pnl import FundingPoint, HedgePnl
from hedgetui.domain.slots import Slot
from hedgetui.domain.venue import MarketKind, VenueMode
from hedgetui.engine.clock import ManualClock
from hedgetui.engine.engine import Engine
from hedgetui.engine.journal import Journal
from hedgetui.ui.app import HedgeApp
from hedgetui.ui.screens.confirm import ConfirmScreen
from hedgetui.ui.screens.help import HelpScreen
from hedgetui.ui.settings import DashboardSettings
from tests.engine.conftest import make_settings
from tests.engine.simvenue import SimVenue

SNAPSHOTS = Path(__file__).parent / "__snapshots__"
NOW = 1000.0
WALL_MS = 1_700_000_000_000
#: The open hedge's P&L as the ledger would give it: five hours in, four fundings received.
SAMPLE_PNL = HedgePnl(
    quote="USDT",
    funding=Decimal("0.7924"),
    fees=Decimal("-1.9810"),
    price=Decimal("-0.9901"),
    opened_ms=WALL_MS - 5 * 3_600_000,
    entry_spot=Decimal("60000.01"),
    entry_perp=Decimal("60029.9"),
    entry_basis_bps=Decimal("4.98"),
    basis_now_bps=Decimal("5.00"),
    apr=Decimal("0.1095"),
    break_even_ms=11 * 3_600_000,
    funding_interval_ms=3_600_000,
    next_funding_ms=WALL_MS + 42_000,
    next_funding_estimate=Decimal("0.1981"),
    fundings=tuple(
        FundingPoint(WALL_MS - (4 - i) * 3_600_000, Decimal(a), Decimal("0.0001"), Decimal(b))
        for i, (a, b) in enumerate([("0.1980", "4.1"), ("0.1985", "5.2"), ("0.1978", "4.6"), ("0.1981", "5.0")])
    ),
)


class StaticFeed:
    def __init__(self) -> None:
        self.spot_book: Slot = Slot("spot_book")
        self.perp_book: Slot = Slot("perp_book")
        self.funding: Slot = Slot("funding")
        self.perp_position: Slot = Slot("perp_position")
        self.spot_balances: Slot = Slot("spot_balances")

    async def fill(self, venue: SimVenue) -> None:
        self.spot_book.publish(await venue.fetch_order_book(MarketKind.SPOT), NOW - 0.04)
        self.perp_book.publish(await venue.fetch_order_book(MarketKind.PERP), NOW - 0.04)
        self.funding.publish(await venue.fetch_funding(), NOW)
        self.perp_position.publish(await venue.fetch_perp_position(), NOW)
        self.spot_balances.publish(await venue.fetch_spot_balances(), NOW)

    def feed_health(self, kind: MarketKind, now: float) -> FeedHealth:
        return FeedHealth(source=FeedSource.WS, age_s=0.04, stale=False)


@pytest.fixture
async def app() -> AsyncIterator[HedgeApp]:
    venue = SimVenue()
    async with Journal(":memory:") as journal:  # type: ignore[arg-type]
        ids = iter(f"{n:012x}" for n in range(0xA0, 0x100))
        engine = Engine(
            venue, journal, make_settings(), clock=ManualClock(wall_start_ms=WALL_MS), intent_ids=lambda: next(ids)
        )
        await engine.start()
        await engine.enter(Decimal("2000"))
        feed = StaticFeed()
        await feed.fill(venue)
        settings = DashboardSettings(
            mode=VenueMode.SANDBOX,
            spot_symbol="BTC/USDT",
            perp_symbol="BTC/USDT:USDT",
            theme="desk-dark",
            remember_theme_choice=False,
            clock=lambda: NOW,
            wall_clock_ms=lambda: WALL_MS,
        )
        venue.liquidation_price = Decimal("78000")  # 30 % above the mark
        await engine.read_perp()  # the perp leg's margin figures, as the monitor would judge them
        await engine.refresh_pnl()  # the refresh the entry started has run: nothing overwrites the sample
        engine.ledger.current = SAMPLE_PNL  # four fundings in, as the ledger would leave it
        yield HedgeApp(feed, engine, settings)  # type: ignore[arg-type]
        await engine.shutdown()


def normalise(svg: str) -> str:
    # Textual prefixes CSS classes with a hash of the terminal's content; the picture is what matters.
    return re.sub(r"terminal-\d+", "terminal", svg)


def check(name: str, svg: str) -> None:
    path = SNAPSHOTS / f"{name}.svg"
    if os.environ.get("HEDGETUI_UPDATE_SNAPSHOTS") or not path.exists():
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(svg)
        if not os.environ.get("HEDGETUI_UPDATE_SNAPSHOTS"):
            pytest.fail(f"snapshot {path.name} was missing and has been written: review and commit it")
    assert normalise(svg) == normalise(path.read_text()), f"{name} differs from {path} (HEDGETUI_UPDATE_SNAPSHOTS=1)"


async def shoot(
    app: HedgeApp, name: str, keys: tuple[str, ...] = (), screen: type | None = None, size: tuple[int, int] = (160, 48)
) -> None:
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.2)
        app.refresh_panes()
        app.refresh_engine_panes()
        app.status_bar.tick_clock(WALL_MS)
        for key in keys:
            await pilot.press(key)
        if screen is not None:
            for _ in range(100):
                if isinstance(app.screen, screen):
                    break
                await pilot.pause(0.05)
        await pilot.pause(0.2)
        check(name, app.export_screenshot())


async def test_main_screen(app: HedgeApp) -> None:
    await shoot(app, "main")


async def test_confirmation(app: HedgeApp) -> None:
    await shoot(app, "confirm_exit", ("x",), ConfirmScreen)


async def test_help(app: HedgeApp) -> None:
    await shoot(app, "help", ("question_mark",), HelpScreen)


async def test_main_screen_at_80x24(app: HedgeApp) -> None:
    await shoot(app, "main_80x24", size=(80, 24))


async def test_main_screen_at_100x30(app: HedgeApp) -> None:
    await shoot(app, "main_100x30", size=(100, 30))
