from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from hedgetui.engine.clock import ManualClock
from hedgetui.engine.engine import Engine
from hedgetui.engine.journal import Journal
from hedgetui.engine.legs import ExecTimeouts
from hedgetui.engine.settings import EngineSettings
from tests.engine.simvenue import SimVenue

FAST = ExecTimeouts(order_ack_s=10, fill_s=20, partial_fill_retries=3, lookup_grace_s=3, max_resubmits=1)


def make_settings(**kw: object) -> EngineSettings:
    base = {"timeouts": FAST, "slippage_max_bps": Decimal("15"), "liquidity_multiple": Decimal("3")}
    base.update(kw)
    return EngineSettings(**base)  # type: ignore[arg-type]


@pytest.fixture
def venue() -> SimVenue:
    return SimVenue()


@pytest.fixture
async def engine(tmp_path: Path, venue: SimVenue) -> AsyncIterator[Engine]:
    async with Journal(tmp_path / "journal.sqlite3") as journal:
        eng = Engine(venue, journal, make_settings(), clock=ManualClock())
        await eng.start()
        yield eng
        await eng.shutdown()


def venue_spot(core: object, asset: str = "BTC") -> Decimal:
    """The sandbox's own spot balance of ``asset`` (free + locked): the venue's record, not the engine's."""
    free, locked = core.spot_balances().get(asset, (Decimal(0), Decimal(0)))  # type: ignore[attr-defined]
    return Decimal(free) + Decimal(locked)
