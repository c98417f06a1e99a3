"""The dashboard opened on an account hedged under another journal: no order, the positions on screen."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path

from hedgetui.domain.execution import EndState
from hedgetui.domain.risk import ActionKind, TradingState
from hedgetui.domain.stages import PipelineKind, Stage
from hedgetui.engine.events import AlertEvent, EngineEvent, Level, StageEvent
from hedgetui.engine.legs import ExecTimeouts
from hedgetui.engine.settings import EngineSettings
from hedgetui.exchange.market_data import MarketDataSettings
from hedgetui.wiring import demo_sandbox, open_stack, sandbox_venue_settings
from tests.ui.conftest import make_app
from tests.ui.test_dashboard import settle, wait_for

SETTINGS = EngineSettings(timeouts=ExecTimeouts(order_ack_s=6, fill_s=3, lookup_grace_s=1.0))


async def test_a_new_journal_on_a_hedged_account_sends_nothing_and_shows_the_hedge(tmp_path: Path) -> None:
    async with demo_sandbox(seed=7, tick_ms=50) as server:
        venue = sandbox_venue_settings(server)
        md = MarketDataSettings(account_poll_s=0.3)
        async with open_stack(venue, tmp_path / "first.sqlite3", SETTINGS, market_data=md) as first:
            for _ in range(200):  # the stack's books must be live before an entry is allowed
                if first.engine.why_refused(ActionKind.ENTER) is None:
                    break
                await asyncio.sleep(0.05)
            assert (await first.engine.enter(D("2000"))).end_state is EndState.HEDGED
        sent = len(server.core.orders())
        async with open_stack(venue, tmp_path / "third.sqlite3", SETTINGS, market_data=md) as stack:
            app = make_app(stack, tmp_path)
            async with app.run_test(size=(160, 48)) as pilot:
                await settle(app, pilot)
                await wait_for(lambda: app.poller.legs() is not None, pilot)
                app.refresh_engine_panes()
                shown = app.hedge_pane.figures.shown.plain
                assert "perp -0.03300" in shown and "spot +0.03297" in shown
                assert app.engine.trading_state is TradingState.ACTIVE
                assert app.engine.last_reconcile is not None and app.engine.last_reconcile.adopted_positions
            # Events still arrive while the app shuts down (its widgets pruned, their component styles
            # gone): the view records them and draws nothing (CI once failed here with a KeyError).
            for event in (
                StageEvent(ts_ms=1, kind="STAGE", message="", pipeline=PipelineKind.ENTER, stage=Stage.RISK),
                AlertEvent(ts_ms=2, kind="ALERT", message="late", level=Level.WARN, code="LATE"),
                EngineEvent(ts_ms=3, kind="FILL", message="late fill"),
            ):
                app.view.handle(event)
        assert len(server.core.orders()) == sent  # the exchange received no order
        assert server.core.position("BTCUSDT").amount == D("-0.033")
