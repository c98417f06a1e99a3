"""Child process for the crash tests: runs one pipeline and SIGKILLs itself at a chosen client id.

    python -m tests.engine.crash_child URL JOURNAL enter|exit LEG_CODE [perp_first]

``LEG_CODE`` (e.g. ``SO1``) names the order before whose request the process dies; ``none`` never dies.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from decimal import Decimal
from pathlib import Path

from pydantic import SecretStr

from hedgetui.domain.venue import VenueMode
from hedgetui.engine.engine import Engine
from hedgetui.engine.journal import Journal
from hedgetui.engine.orders import ExecTimeouts
from hedgetui.engine.settings import EngineSettings, LegMode
from hedgetui.exchange.settings import VenueSettings
from hedgetui.exchange.venue import BinanceVenue
from hedgetui.sandbox.options import DEFAULT_API_KEY, DEFAULT_API_SECRET


async def main(url: str, journal_path: str, action: str, kill_at: str, mode: str) -> None:
    venue = await BinanceVenue.connect(
        VenueSettings(
            mode=VenueMode.SANDBOX,
            sandbox_url=url,
            api_key=SecretStr(DEFAULT_API_KEY),
            api_secret=SecretStr(DEFAULT_API_SECRET),
            timeout_ms=1500,
        )
    )

    def die(cid: str) -> None:
        if cid.endswith(kill_at):
            os.kill(os.getpid(), signal.SIGKILL)

    settings = EngineSettings(
        timeouts=ExecTimeouts(order_ack_s=6, fill_s=3, lookup_grace_s=1.0),
        leg_mode=LegMode.PERP_FIRST if mode == "perp_first" else LegMode.CONCURRENT,
    )
    async with Journal(Path(journal_path)) as journal:
        engine = Engine(venue, journal, settings, before_send=die)
        await engine.start()
        result = await (engine.enter(Decimal("2000")) if action == "enter" else engine.exit())
        print(result.end_state.value, flush=True)
        await engine.shutdown()
    await venue.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5], sys.argv[5] if len(sys.argv) > 5 else "concurrent"))
