"""Child process for the crash tests: runs one pipeline and SIGKILLs itself at a chosen client id.

    python -m tests.engine.crash_child URL JOURNAL enter|exit|cycles2-enter KILL_AT [perp_first]

``KILL_AT``: a leg code (e.g. ``SO1``) names the order before whose request the process dies;
``fill:SO1`` dies inside fill collection, after that order's end was journaled and before its fills were;
``none`` never dies. ``cycles2-enter`` runs two full enter/exit cycles (leaving fee dust), then an entry.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from pydantic import SecretStr

from hedgetui.domain.venue import VenueMode
from hedgetui.engine.engine import Engine
from hedgetui.engine.journal import Journal, NewFill
from hedgetui.engine.legs import ExecTimeouts
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

    armed = [action != "cycles2-enter"]

    def die(cid: str) -> None:
        if armed[0] and not kill_at.startswith("fill:") and cid.endswith(kill_at):
            os.kill(os.getpid(), signal.SIGKILL)

    settings = EngineSettings(
        timeouts=ExecTimeouts(order_ack_s=6, fill_s=3, lookup_grace_s=1.0),
        leg_mode=LegMode.PERP_FIRST if mode == "perp_first" else LegMode.CONCURRENT,
    )
    async with Journal(Path(journal_path)) as journal:
        if kill_at.startswith("fill:"):
            post_fills = journal.post_fills
            target = kill_at.removeprefix("fill:")

            def die_in_fills(fills: Sequence[NewFill]) -> asyncio.Future[list[bool]]:
                if armed[0] and any(f.cid.endswith(target) for f in fills):
                    # Let everything queued before the fills (the order's FILLED update) commit, then die
                    # before the fills do: the kill lands between the two writes.
                    asyncio.get_running_loop().create_task(_flush_then_die(journal))
                    return asyncio.get_running_loop().create_future()
                return post_fills(fills)

            journal.post_fills = die_in_fills  # type: ignore[method-assign]
        engine = Engine(venue, journal, settings, before_send=die)
        await engine.start()
        if action == "cycles2-enter":
            for _ in range(2):
                assert (await engine.enter(Decimal("2000"))).success
                assert (await engine.exit()).success
            armed[0] = True
        result = await (engine.exit() if action == "exit" else engine.enter(Decimal("2000")))
        print(result.end_state.value, flush=True)
        await engine.shutdown()
    await venue.close()


async def _flush_then_die(journal: Journal) -> None:
    await journal.flush()
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5], sys.argv[5] if len(sys.argv) > 5 else "concurrent"))
