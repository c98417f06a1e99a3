"""Fills hedgetui did not make, in the journal and the ledger, judged by the simulated venue's own record.

A liquidation (or an ADL, a manual trade) closes the perp with the exchange's own order: when the drift
monitor or the start's reconciliation explains the change, that order's trades are journaled as external
fills (once each), the hedge's price P&L and fees count them (and the INSURANCE_CLEAR fee, and what the
insurance fund took), and after the operator's correction the closed hedge's net equals the venue's
account change. The funding points carry the rate each settlement applied and the basis then.
"""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from hedgetui.domain.ledger import basis_bps
from hedgetui.domain.orders import Side
from hedgetui.domain.pnl import IncomeKind
from hedgetui.domain.risk import TradingState
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.clock import ManualClock
from hedgetui.engine.engine import Engine
from hedgetui.engine.journal import Journal
from tests.engine.conftest import make_settings
from tests.engine.simvenue import SimVenue

HOUR_S = 3600.0


def make(venue: SimVenue, journal: Journal, clock: ManualClock) -> Engine:
    venue.clock_ms = clock.wall_ms
    return Engine(venue, journal, make_settings(), clock=clock)


def liquidate(venue: SimVenue, clock: ManualClock, *, fee: D, insurance: D = D(0), cid: str = "") -> str:
    """The exchange closes the whole short with its own order, books the clearance fee, and (past the
    wallet) the insurance fund's share of the loss on the same trade."""
    venue.now_ms = clock.wall_ms()
    order = venue.external_perp_trade(Side.BUY, -venue.position, cid or f"autoclose-{venue.now_ms}000001")
    (trade,) = order.trades
    if insurance:
        venue._book_income(IncomeKind.REALIZED_PNL, insurance, venue.now_ms, trade.trade_id)
    venue._book_income(IncomeKind.INSURANCE_CLEAR, -fee, venue.now_ms)
    return trade.trade_id


def spot_sell_option(engine: Engine) -> int:
    assert engine.proposal is not None
    for i, option in enumerate(engine.proposal.options):
        c = option.correction
        if c.kind is MarketKind.SPOT and c.side is Side.SELL:
            return i
    raise AssertionError("no spot sale proposed")


async def test_a_liquidation_is_journaled_counted_and_the_corrected_hedge_closes_at_the_account_change(
    tmp_path: Path,
) -> None:
    venue, clock = SimVenue(), ManualClock()
    before = venue.account_value()
    async with Journal(tmp_path / "j.sqlite3") as journal:
        engine = make(venue, journal, clock)
        await engine.start()
        assert (await engine.enter(D("2000"))).end_state.value == "HEDGED"
        await engine.check_drift(await engine.hedge.read())  # the legs match: the monitor notes when
        clock.advance(8 * HOUR_S)
        venue.settle_funding()
        clock.advance(60)
        venue.perp_mid += D("900")  # the short loses; the exchange liquidates it
        venue.spot_mid += D("900")
        trade_id = liquidate(venue, clock, fee=D("7.25"), insurance=D("3.5"))
        assert await engine.check_drift(await engine.hedge.read()) is not None
        (fill,) = await journal.external_fills()
        assert fill.trade_id == trade_id and fill.cause == "LIQUIDATION" and fill.side is Side.BUY
        assert fill.client_order_id is not None and fill.client_order_id.startswith("autoclose-")
        assert fill.qty == D("0.033")
        events = [e for e in await journal.events() if e.kind == "EXTERNAL_FILL"]
        assert len(events) == 1 and trade_id in events[0].message and "autoclose-" in events[0].message
        # Explained again (a second monitor reading, a restart): nothing is journaled twice.
        engine.proposal = None
        await engine.check_drift(await engine.hedge.read())
        assert len(await journal.external_fills()) == 1

        pnl = await engine.refresh_pnl(sync=True)
        assert pnl is not None and pnl.is_open  # the perp is flat but the spot is not: still one hedge
        commission = sum((r.amount for r in venue.income if r.kind is IncomeKind.COMMISSION), D(0))
        spot_fees = sum(
            (t.fee.cost * t.price for o in venue.orders if o.kind is MarketKind.SPOT for t in o.trades if t.fee), D(0)
        )
        assert pnl.fees == commission - D("7.25") - spot_fees
        assert abs(pnl.net - (venue.account_value() - before)) < D("0.01")

        assert engine.trading_state is TradingState.HALTED
        result = await engine.accept_proposal(spot_sell_option(engine))
        assert result.success, result.reason
        (closed,) = await engine.history(3)
    assert closed.closed_ms is not None and closed.closed_ms >= fill.time_ms
    assert closed.funding == sum((r.amount for r in venue.income if r.kind is IncomeKind.FUNDING_FEE), D(0))
    assert abs(closed.net - (venue.account_value() - before)) < D("0.01"), (closed.net, venue.account_value() - before)


async def test_reconciliation_at_start_explains_and_journals_a_liquidation_while_no_engine_ran(
    tmp_path: Path,
) -> None:
    venue, clock = SimVenue(), ManualClock()
    path = tmp_path / "j.sqlite3"
    before = venue.account_value()
    async with Journal(path) as journal:
        engine = make(venue, journal, clock)
        await engine.start()
        assert (await engine.enter(D("2000"))).end_state.value == "HEDGED"
        await engine.shutdown()
    clock.advance(3 * HOUR_S)
    venue.perp_mid += D("700")
    trade_id = liquidate(venue, clock, fee=D("5"))
    clock.advance(HOUR_S)
    async with Journal(path) as journal:
        engine = make(venue, journal, clock)
        report = await engine.start()
        assert report.complete and report.proposal is not None
        assert any("LIQUIDATION" in m and "autoclose-" in m for m in report.messages), report.messages
        assert "LIQUIDATION" in report.proposal.reason
        (fill,) = await journal.external_fills()
        assert fill.trade_id == trade_id and fill.cause == "LIQUIDATION"
        # A second start finds the same trade: still one row.
        await engine.reconcile()
        assert len(await journal.external_fills()) == 1
        result = await engine.accept_proposal(spot_sell_option(engine))
        assert result.success, result.reason
        (closed,) = await engine.history(3)
        await engine.shutdown()
    assert closed.closed_ms is not None
    assert abs(closed.net - (venue.account_value() - before)) < D("0.01")


async def test_funding_points_carry_the_rate_applied_and_the_basis_with_one_read_per_new_settlement(
    tmp_path: Path,
) -> None:
    venue, clock = SimVenue(basis_bps="7"), ManualClock()
    async with Journal(tmp_path / "j.sqlite3") as journal:
        engine = make(venue, journal, clock)
        await engine.start()
        assert (await engine.enter(D("2000"))).end_state.value == "HEDGED"
        expected = []
        for rate, move in ((D("0.0001"), D("0")), (D("-0.0002"), D("40")), (D("0.0003"), D("-25"))):
            venue.funding_rate = rate
            venue.perp_mid += move
            clock.advance(8 * HOUR_S)
            venue.settle_funding()
            expected.append((rate, basis_bps(venue.spot_mid, venue.perp_mid)))
        pnl = await engine.refresh_pnl(sync=True)
        assert pnl is not None
        assert [(p.rate, p.basis_bps) for p in pnl.fundings] == expected
        assert venue.calls["funding_rates"] == 1 and venue.calls["klines"] == 1
        # Nothing new: the settlements are kept, the exchange is not asked again.
        await engine.refresh_pnl(sync=True)
        assert venue.calls["funding_rates"] == 1 and venue.calls["klines"] == 1
        clock.advance(8 * HOUR_S)
        venue.settle_funding()
        pnl = await engine.refresh_pnl(sync=True)
        assert pnl is not None and len(pnl.fundings) == 4 and pnl.fundings[-1].rate == D("0.0003")
        assert venue.calls["funding_rates"] == 2 and venue.calls["klines"] == 2
        await engine.shutdown()
