"""End to end on the sandbox through ccxt: the exchange liquidates the short (``POST /sandbox/market``), the
drift monitor explains it and journals the liquidation's trade as an external fill (its ``autoclose-``
client id, once), the ledger counts it (price P&L, the INSURANCE_CLEAR fee), and after the operator accepts
the correction (selling the unhedged spot) the hedge closes in history with a net equal, within 0.10 USDT,
to the change of the account's value across both wallets as ``/sandbox/state`` holds them (BTC at mid).

Two moves: just past the liquidation price (the wallet pays the loss and the clearance fee), and far past it
(the loss beyond the wallet is the insurance fund's, so the account lost less than the fill's price says).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path

import aiohttp
import pytest

from hedgetui.domain.execution import EndState
from hedgetui.domain.margin import TransferDirection
from hedgetui.domain.orders import Side
from hedgetui.domain.risk import ActionKind, TradingState
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.transfer import TransferStatus
from hedgetui.exchange.market_data import MarketDataSettings
from hedgetui.sandbox.model import Market
from hedgetui.wiring import demo_sandbox, open_stack, sandbox_venue_settings
from tests.test_ledger_acceptance import account_value, state
from tests.test_liquidation_watch import SETTINGS, until


@pytest.mark.parametrize("past_bps", [D("40"), D("3000")], ids=["just-past", "beyond-the-wallet"])
async def test_a_liquidated_hedge_closes_in_history_at_the_account_change(tmp_path: Path, past_bps: D) -> None:
    async with demo_sandbox(seed=7, tick_ms=50) as server:
        core = server.core
        before = await state(server)
        md = MarketDataSettings(account_poll_s=0.2)
        async with open_stack(sandbox_venue_settings(server), tmp_path / "j.sqlite3", SETTINGS, market_data=md) as s:
            engine = s.engine
            await until(lambda: engine.why_refused(ActionKind.ENTER) is None)
            assert (await engine.enter(D("2000"))).end_state is EndState.HEDGED
            amount = (core.futures_account().available_balance - D(150)).quantize(D("0.01"))
            assert (await engine.transfer(amount, TransferDirection.TO_SPOT)).status is TransferStatus.CONFIRMED
            liq = core.position("BTCUSDT").liquidation_price
            mark = core.mark_price("BTCUSDT")
            assert liq is not None and liq > mark
            move = past_bps if past_bps > 1000 else ((liq / mark - 1) * 10_000 + past_bps).quantize(D("1"))
            async with aiohttp.ClientSession() as http:
                answer = await http.post(
                    f"{server.base_url}/sandbox/market", json={"symbol": "BTCUSDT", "move_bps": str(move)}
                )
                assert answer.status == 200, await answer.text()
            assert core.position("BTCUSDT").amount == 0
            await until(lambda: engine.trading_state is TradingState.HALTED and engine.proposal is not None)

            # The journal holds the exchange's liquidation trade, as the sandbox recorded it, once.
            (liquidation,) = [o for o in core.orders() if o.client_order_id.startswith("autoclose-")]
            (trade,) = liquidation.trades
            (fill,) = await s.journal.external_fills()
            assert (fill.trade_id, fill.client_order_id, fill.cause) == (
                str(trade.trade_id),
                liquidation.client_order_id,
                "LIQUIDATION",
            )
            assert (fill.qty, fill.price, fill.side) == (trade.qty, trade.price, Side.BUY)
            income = (await state(server))["income"]
            clear = sum((D(r["income"]) for r in income if r["incomeType"] == "INSURANCE_CLEAR"), D(0))
            if past_bps < 1000:
                assert clear < 0  # the wallet paid a clearance fee: the ledger's fees hold it
            pnl = await engine.refresh_pnl(sync=True)
            assert pnl is not None and pnl.is_open
            perp_fees = sum((D(r["income"]) for r in income if r["incomeType"] == "COMMISSION"), D(0))
            spot_fees = pnl.fees - perp_fees - clear
            assert spot_fees < 0

            proposal = engine.proposal
            assert proposal is not None
            index = next(
                i
                for i, o in enumerate(proposal.options)
                if o.correction.kind is MarketKind.SPOT and o.correction.side is Side.SELL
            )
            assert (await engine.accept_proposal(index)).success
            await engine.refresh_pnl(sync=True)
            closed = (await engine.history(3))[0]
            assert closed.closed_ms is not None and closed.closed_ms >= fill.time_ms
            assert len(await s.journal.external_fills()) == 1
        await asyncio.sleep(0)
        after = await state(server)
        mid = core.mid_price(Market.SPOT, "BTCUSDT")
        change = account_value(after, mid) - account_value(before, mid)
        assert abs(closed.net - change) <= D("0.10"), (closed.net, change, closed)
