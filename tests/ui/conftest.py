"""Fixtures: the real dashboard on the real stack (sandbox → ccxt → engine → market data)."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hedgetui.domain.venue import MarketKind, VenueMode
from hedgetui.engine.legs import ExecTimeouts
from hedgetui.engine.settings import EngineSettings
from hedgetui.exchange.market_data import MarketDataSettings
from hedgetui.ui.app import HedgeApp
from hedgetui.ui.settings import DashboardSettings
from hedgetui.wiring import Stack, demo_sandbox, open_stack, sandbox_venue_settings


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    async with demo_sandbox(seed=7, tick_ms=50) as server:
        with tempfile.TemporaryDirectory() as folder:
            settings = EngineSettings(timeouts=ExecTimeouts(order_ack_s=6, fill_s=3, lookup_grace_s=1.0))
            async with open_stack(
                sandbox_venue_settings(server),
                Path(folder) / "j.sqlite3",
                settings,
                market_data=MarketDataSettings(account_poll_s=0.3),
            ) as s:
                s.sandbox = server
                yield s


def make_app(stack: Stack, tmp_path: Path, **kw: object) -> HedgeApp:
    spot = stack.venue.rules(MarketKind.SPOT)
    perp = stack.venue.rules(MarketKind.PERP)
    settings = DashboardSettings(
        mode=kw.pop("mode", VenueMode.SANDBOX),  # type: ignore[arg-type]
        spot_symbol=spot.symbol,
        perp_symbol=perp.symbol,
        remember_theme_choice=False,
        **kw,  # type: ignore[arg-type]
    )
    return HedgeApp(stack.market_data, stack.engine, settings)
