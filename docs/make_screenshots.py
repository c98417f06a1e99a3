"""Regenerate the README's screenshots: the dashboard on the embedded sandbox after an entry.

    python docs/make_screenshots.py

Saves ``docs/dashboard.svg`` (160×48) and ``docs/dashboard-80x24.svg`` with the app's own
``save_screenshot``, from the same stack ``hedgetui demo`` runs on. Funding settles every
``FUNDING_INTERVAL_S`` seconds here, and the shots wait for ``FUNDINGS`` settlements after the entry, so
that the hedge pane shows funding received and the net P&L of both legs as the exchange booked them.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))  # this checkout, not whichever hedgetui is installed

from hedgetui.domain.risk import ActionKind  # noqa: E402
from hedgetui.domain.venue import MarketKind, VenueMode  # noqa: E402
from hedgetui.engine.settings import EngineSettings  # noqa: E402
from hedgetui.ui.app import HedgeApp  # noqa: E402
from hedgetui.ui.settings import DashboardSettings  # noqa: E402
from hedgetui.wiring import demo_sandbox, open_stack, sandbox_venue_settings  # noqa: E402

SHOTS = {(160, 48): "dashboard.svg", (80, 24): "dashboard-80x24.svg"}
FUNDING_INTERVAL_S = 60  # as `hedgetui demo` settles
FUNDINGS = 2


async def main() -> None:
    async with demo_sandbox(seed=7, tick_ms=100, funding_interval_s=FUNDING_INTERVAL_S) as server:
        with tempfile.TemporaryDirectory() as folder:
            async with open_stack(sandbox_venue_settings(server), Path(folder) / "j.sqlite3", EngineSettings()) as s:
                for _ in range(200):  # the books must be live before an entry is allowed
                    if s.engine.why_refused(ActionKind.ENTER) is None:
                        break
                    await asyncio.sleep(0.05)
                await s.engine.enter(Decimal("2000"))
                for _ in range((FUNDINGS + 1) * FUNDING_INTERVAL_S * 2):  # at most one interval more
                    if sum(r.income_type == "FUNDING_FEE" for r in server.core.income.records()) >= FUNDINGS:
                        break
                    await asyncio.sleep(0.5)
                await asyncio.sleep(5)  # the exchange announces the following funding time
                await s.engine.refresh_pnl(sync=True)
                for size, name in SHOTS.items():
                    settings = DashboardSettings.for_markets(
                        VenueMode.SANDBOX,
                        s.venue.rules(MarketKind.SPOT),
                        s.venue.rules(MarketKind.PERP),
                        remember_theme_choice=False,
                        theme="desk-dark",
                        venue_url=server.base_url,
                    )
                    app = HedgeApp(s.market_data, s.engine, settings)
                    async with app.run_test(size=size) as pilot:
                        await pilot.pause(2.5)
                        app.save_screenshot(name, str(DOCS))
                    print(f"saved docs/{name}")


if __name__ == "__main__":
    asyncio.run(main())
