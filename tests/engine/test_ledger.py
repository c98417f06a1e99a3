"""The funding and P&L ledger against the simulated venue's own income records and balances.

Amounts are judged by what the venue booked (its income list, its wallets), never by the engine's belief:
funding equal to the cent, a refetch never double counts, a restart (a new Engine on the same journal)
keeps the figures, and funding booked while no engine ran is picked up by the next one.
"""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from hedgetui.domain.pnl import IncomeKind
from hedgetui.engine.clock import ManualClock
from hedgetui.engine.engine import Engine
from hedgetui.engine.journal import Journal
from tests.engine.conftest import make_settings
from tests.engine.simvenue import SimVenue

HOUR_S = 3600.0


def venue_sum(venue: SimVenue, kind: IncomeKind, since_ms: int = 0) -> D:
    return sum((r.amount for r in venue.income if r.kind is kind and r.time_ms >= since_ms), D(0))


def make(venue: SimVenue, journal: Journal, clock: ManualClock) -> Engine:
    venue.clock_ms = clock.wall_ms
    return Engine(venue, journal, make_settings(), clock=clock)


async def test_funding_and_fees_equal_the_venue_records_across_a_restart_and_a_gap(tmp_path: Path) -> None:
    venue, clock = SimVenue(), ManualClock()
    path = tmp_path / "journal.sqlite3"
    before = venue.account_value()
    async with Journal(path) as journal:
        engine = make(venue, journal, clock)
        await engine.start()
        assert engine.pnl() is None and await engine.refresh_pnl() is None
        result = await engine.enter(D("2000"))
        assert result.end_state.value == "HEDGED"
        for _ in range(3):
            clock.advance(8 * HOUR_S)
            venue.settle_funding()
        pnl = await engine.refresh_pnl(sync=True)
        assert pnl is not None and pnl.is_open
        assert pnl.funding == venue_sum(venue, IncomeKind.FUNDING_FEE) > 0
        assert len(pnl.fundings) == 3
        # A refetch of the same period stores nothing new and changes nothing.
        assert await engine.ledger.sync() == 0
        assert (await engine.refresh_pnl(sync=True)) == pnl
        perp_fees = venue_sum(venue, IncomeKind.COMMISSION)
        spot_fees = sum(
            (-(t.fee.cost * t.price if t.fee.currency == "BTC" else t.fee.cost))
            for o in venue.orders
            if o.kind.value == "spot"
            for t in o.trades
            if t.fee is not None
        )
        assert pnl.fees == perp_fees + spot_fees
        assert pnl.net == pnl.funding + pnl.fees + pnl.price
        # Marked at the venue's prices, the open hedge's net is the account's change of value.
        assert abs(pnl.net - (venue.account_value() - before)) < D("0.01")
        assert pnl.apr == D("0.0001") * 3 * 365 and pnl.break_even_ms is not None
        assert pnl.entry_spot is not None and pnl.entry_perp is not None and pnl.entry_basis_bps is not None
        await engine.shutdown()
    # No engine runs: two more settlements are booked.
    for _ in range(2):
        clock.advance(8 * HOUR_S)
        venue.settle_funding()
    async with Journal(path) as journal:
        engine = make(venue, journal, clock)
        await engine.start()
        pnl = await engine.refresh_pnl()
        assert pnl is not None and pnl.funding == venue_sum(venue, IncomeKind.FUNDING_FEE)
        assert len(pnl.fundings) == 5 and await journal.raw_count("income") == len(venue.income)
        result = await engine.exit()
        assert result.end_state.value == "FLAT"
        await engine.shutdown()  # the refresh after the exit is drained here
        assert engine.pnl() is None
        (closed,) = await engine.history(5)
    assert closed.closed_ms is not None and closed.closed_ms >= closed.opened_ms
    assert closed.funding == venue_sum(venue, IncomeKind.FUNDING_FEE)
    # The realized net is the change of the account's value across both wallets (BTC dust at mid).
    assert abs(closed.net - (venue.account_value() - before)) < D("0.01")
