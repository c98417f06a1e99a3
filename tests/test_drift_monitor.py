"""The drift monitor (fault-matrix row 20): a position changed outside hedgetui is detected from the exchange,
alerted with the unhedged quantity and a proposal, and nothing is sent until the operator accepts."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path

from hedgetui.domain.execution import EndState
from hedgetui.domain.orders import Side
from hedgetui.domain.risk import ActionKind, TradingState
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.legs import ExecTimeouts
from hedgetui.engine.settings import EngineSettings
from hedgetui.exchange.market_data import MarketDataSettings
from hedgetui.wiring import demo_sandbox, open_stack, sandbox_venue_settings
from tests.engine.conftest import venue_spot

SETTINGS = EngineSettings(timeouts=ExecTimeouts(order_ack_s=6, fill_s=3, lookup_grace_s=1.0))


async def until(predicate, seconds: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def test_a_liquidation_outside_hedgetui_halts_with_a_proposal_and_sends_nothing(tmp_path: Path) -> None:
    async with demo_sandbox(seed=7, tick_ms=50) as server:
        md = MarketDataSettings(account_poll_s=0.2)
        async with open_stack(sandbox_venue_settings(server), tmp_path / "j.sqlite3", SETTINGS, market_data=md) as s:
            engine = s.engine
            await until(lambda: engine.why_refused(ActionKind.ENTER) is None)
            assert (await engine.enter(D("2000"))).end_state is EndState.HEDGED
            sent = len(server.core.orders())
            server.core.set_position("BTCUSDT", D("-0.013"))  # 0.020 of the short liquidated outside hedgetui
            await until(lambda: engine.trading_state is TradingState.HALTED)
            proposal = engine.proposal
            assert proposal is not None
            # The proposal states the venue's own legs, and the monitor sent nothing.
            assert proposal.legs.perp_qty == server.core.position("BTCUSDT").amount == D("-0.013")
            assert proposal.legs.spot_qty == venue_spot(server.core)
            assert len(server.core.orders()) == sent
            alerts = [
                e for e in await s.journal.events() if e.kind == "ALERT" and e.data.get("code") == "EXTERNAL_DRIFT"
            ]
            assert alerts and "unhedged +0.01996700 BTC" in alerts[0].message
            kinds = {(o.correction.kind, o.correction.side) for o in proposal.options}
            assert kinds == {(MarketKind.SPOT, Side.SELL), (MarketKind.PERP, Side.SELL)}
            # The operator accepts the option that restores the short: hedged again, trading ACTIVE.
            index = next(i for i, o in enumerate(proposal.options) if o.correction.kind is MarketKind.PERP)
            result = await engine.accept_proposal(index)
            assert result.success and result.end_state is EndState.HEDGED, result.reason
            assert server.core.position("BTCUSDT").amount == D("-0.033")
            assert engine.trading_state is TradingState.ACTIVE and engine.proposal is None
