"""End to end on the sandbox through ccxt: margin moved back to spot with the confirmed transfer (the wallets
as the sandbox holds them), then ``POST /sandbox/market`` drives the mark past the liquidation price. The
exchange liquidates the short with an ``autoclose-`` order; hedgetui raises the critical alert naming
LIQUIDATION and the unhedged spot quantity, proposes the correction, and sends nothing. The liquidation
emptied the futures wallet: the option that completes the perp says it is not funded, and accepting it
anyway sends nothing; once margin is topped up, the same option rebuilds the hedge on the exchange."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path

import aiohttp

from hedgetui.domain.execution import EndState
from hedgetui.domain.margin import TransferDirection, WatchLevel
from hedgetui.domain.risk import ActionKind, TradingState
from hedgetui.engine.legs import ExecTimeouts
from hedgetui.engine.settings import EngineSettings
from hedgetui.engine.transfer import TransferStatus
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


async def test_a_sandbox_liquidation_alerts_with_the_unhedged_spot_and_a_proposal_nothing_sent(
    tmp_path: Path,
) -> None:
    async with demo_sandbox(seed=7, tick_ms=50) as server:
        md = MarketDataSettings(account_poll_s=0.2)
        async with open_stack(sandbox_venue_settings(server), tmp_path / "j.sqlite3", SETTINGS, market_data=md) as s:
            engine, core = s.engine, server.core
            await until(lambda: engine.why_refused(ActionKind.ENTER) is None)
            assert (await engine.enter(D("2000"))).end_state is EndState.HEDGED
            # Take all but 150 USDT of the free margin back to spot: the venue's wallets move by the amount.
            account = core.futures_account()
            amount = (account.available_balance - D(150)).quantize(D("0.01"))
            spot_before = core.spot_balances()["USDT"][0]
            result = await engine.transfer(amount, TransferDirection.TO_SPOT)
            assert result.status is TransferStatus.CONFIRMED, result.reason
            assert core.futures_account().wallet_balance == account.wallet_balance - amount
            assert core.spot_balances()["USDT"][0] == spot_before + amount
            liq = core.position("BTCUSDT").liquidation_price
            assert liq is not None and liq > 0
            ours = len(core.orders())
            spot = venue_spot(core)
            # The mark jumps past the liquidation price: the sandbox liquidates the short itself.
            async with aiohttp.ClientSession() as http:
                answer = await http.post(
                    f"{server.base_url}/sandbox/market", json={"symbol": "BTCUSDT", "move_bps": "3000"}
                )
                assert answer.status == 200, await answer.text()
            assert core.position("BTCUSDT").amount == 0
            await until(lambda: engine.trading_state is TradingState.HALTED and engine.proposal is not None)
            proposal = engine.proposal
            assert proposal is not None and proposal.legs.perp_qty == 0 and proposal.legs.spot_qty == spot
            rows = [e for e in await s.journal.events() if e.kind == "ALERT" and e.data.get("code") == "EXTERNAL_DRIFT"]
            assert rows, "no EXTERNAL_DRIFT alert"
            text = rows[-1].message
            assert "LIQUIDATION" in text and "autoclose-" in text, text
            assert f"{spot:f} BTC of spot is now unhedged" in text, text
            # Nothing sent by hedgetui: the only new order on the exchange is its own liquidation order.
            new = core.orders()[ours:]
            assert [o.client_order_id.startswith("autoclose-") for o in new] == [True], new
            assert engine.perp_watch.level_of("LIQUIDATION_DISTANCE") in (WatchLevel.OK, WatchLevel.CRITICAL)

            # The proposal: unwind the spot (funded) or complete the perp, which the empty wallet cannot pay.
            unwind, complete = proposal.options
            assert unwind.correction.reduces and unwind.unfunded is None, unwind.describe()
            assert not complete.correction.reduces and complete.correction.quantity == D("0.033")
            assert core.futures_account().available_balance < 1
            assert complete.unfunded is not None and "INSUFFICIENT_MARGIN" in complete.unfunded, complete.describe()
            assert "NOT FUNDED" in complete.describe()
            # Accepted anyway: not sent; still HALTED with the residual, and the reason says why.
            refused = await engine.accept_proposal(1)
            assert refused.end_state is EndState.HALTED and refused.reason_code == "INSUFFICIENT_MARGIN"
            assert "cannot be paid for" in refused.reason and f"spot {spot} BTC" in refused.reason, refused.reason
            assert core.orders()[ours:] == new and core.position("BTCUSDT").amount == 0
            assert engine.trading_state is TradingState.HALTED and engine.proposal is not None
            assert "cannot be paid for" in (engine.halt_reason or "")
            # Margin topped up (allowed while HALTED: it only adds margin), the same option completes the hedge.
            # (at 1x: Binance's positionRisk does not say the leverage, so the whole notional is asked for).
            topped = await engine.transfer(D(3000), TransferDirection.TO_FUTURES)
            assert topped.status is TransferStatus.CONFIRMED, topped.reason
            done = await engine.accept_proposal(1)
            assert done.end_state is EndState.HEDGED and not done.aborted, done.reason
            assert core.position("BTCUSDT").amount == D("-0.033")
            assert venue_spot(core) == spot
            assert engine.trading_state is TradingState.ACTIVE
