"""Property tests: random fault sequences against the simulated venue never leave silent exposure.

After every run (fault-matrix.md invariants), judged by the simulated venue's own record (its BTC balance,
its position and its orders), never by the engine's belief: no client id was sent twice and every order
was journaled before it was sent; no leg filled beyond its target; HEDGED means the venue's legs are within
tolerance and FLAT means no position and at most spot dust, with no live order left behind; HALTED comes
with no proposal only when the venue's legs need none, and otherwise with a proposal showing the venue's
legs. After a halt the faults pass and the operator reconciles: nothing is sent, and the outcome again
matches the venue.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hedgetui.domain.client_ids import parse_client_order_id
from hedgetui.domain.execution import EndState
from hedgetui.domain.risk import TradingState
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.clock import ManualClock
from hedgetui.engine.engine import Engine
from hedgetui.engine.journal import Journal
from hedgetui.engine.settings import LegMode
from tests.engine.conftest import make_settings
from tests.engine.simvenue import Fault, SimVenue
from tests.engine.test_exchange_truth import DUST_USD, TOLERANCE_BPS, JournalFirst

EXAMPLES = int(os.environ.get("HEDGETUI_PROPERTY_EXAMPLES", "500"))
kinds = st.sampled_from([MarketKind.PERP, MarketKind.SPOT, None])
create_faults = st.one_of(
    st.builds(
        Fault,
        op=st.just("create"),
        action=st.sampled_from(["timeout_after", "timeout_before", "error_after"]),
        kind=kinds,
    ),
    st.builds(
        Fault,
        op=st.just("create"),
        action=st.just("reject"),
        kind=kinds,
        code=st.sampled_from([-2010, -2019, -1013, -4164]),
    ),
    st.builds(
        Fault,
        op=st.just("create"),
        action=st.just("partial"),
        kind=kinds,
        ratio=st.sampled_from([D("0"), D("0.3"), D("0.5"), D("0.99")]),
    ),
    st.builds(
        Fault,
        op=st.just("create"),
        action=st.just("resting"),
        kind=kinds,
        after=st.one_of(st.none(), st.integers(1, 6)),
    ),
    # Visibility delays shorter than the grace window (fault-matrix row 6): 5 lookups span 3 s.
    st.builds(Fault, op=st.just("create"), action=st.just("hidden"), kind=kinds, count=st.integers(1, 4)),
    st.builds(Fault, op=st.just("create"), action=st.just("duplicate"), kind=kinds),
    st.builds(
        Fault, op=st.just("fetch"), action=st.just("lookup_error"), kind=kinds, times=st.sampled_from([1, 2, 3, 1000])
    ),
)


def hedge_legs(venue: SimVenue, reserve: D) -> tuple[D, D]:
    """The hedge's legs as the venue holds them: its BTC balance less the desk's reserve, and its position."""
    return venue.spot["BTC"] - reserve, venue.position


def venue_ok(venue: SimVenue, reserve: D) -> bool:
    """The venue's own legs are within the drift tolerance of the hedge, or apart by dust only."""
    spot, perp = hedge_legs(venue, reserve)
    net = spot + perp
    hedge = max(abs(spot), abs(perp))
    if hedge == 0 or abs(net) * venue.spot_mid < DUST_USD:
        return True
    return abs(net) / hedge * 10_000 <= TOLERANCE_BPS


@dataclass
class Case:
    venue: SimVenue
    engine: Engine
    journal: Journal
    first: JournalFirst
    reserve: D


async def check_invariants(case: Case, result_state: EndState, qty: D | None) -> None:
    """Judge a run by the venue's record (its spot balance, position and orders), never the engine's belief."""
    venue, engine = case.venue, case.engine
    assert result_state in (EndState.HEDGED, EndState.FLAT, EndState.HALTED)
    # A client id reaches the venue at most once, and every order was journaled before it was sent.
    assert len(venue.sent_cids) == len(set(venue.sent_cids)), venue.sent_cids
    assert venue.cids_used_twice() == []
    assert case.first.violations == [], f"sent before being journaled: {case.first.violations}"
    assert {o.cid for o in venue.orders} <= await case.journal.all_cids()
    spot, perp = hedge_legs(venue, case.reserve)
    assert venue.spot["BTC"] * venue.spot_mid >= case.reserve * venue.spot_mid - DUST_USD, "the reserve was sold"
    if qty is not None:
        for leg_code in ("PO", "SO"):
            filled = sum(
                (o.filled for o in venue.orders if (p := parse_client_order_id(o.cid)) and p[1].code == leg_code), D(0)
            )
            assert filled <= qty, (leg_code, filled, qty)
    if result_state is EndState.HALTED:
        assert engine.trading_state is TradingState.HALTED
        check_proposal(case)
        return
    assert venue.open_orders() == []
    if result_state is EndState.FLAT:
        assert perp == 0, perp
        assert abs(spot) * venue.spot_mid < DUST_USD, spot  # dust below spot's minimum notional at most
    else:  # HEDGED: the venue's net within the drift tolerance of the hedge
        assert perp != 0 and abs(spot + perp) / max(abs(spot), abs(perp)) * 10_000 <= TOLERANCE_BPS, (spot, perp)


def check_proposal(case: Case) -> None:
    """Halted: no proposal only when the venue's legs need none; otherwise the proposal shows the venue's legs."""
    proposal = case.engine.proposal
    if proposal is None:
        assert venue_ok(case.venue, case.reserve), hedge_legs(case.venue, case.reserve)
    else:
        legs = proposal.legs
        assert (legs.spot_qty, legs.perp_qty) == hedge_legs(case.venue, case.reserve), legs.describe()


async def after_halt(case: Case) -> None:
    """The faults pass and the operator reconciles: nothing is sent, and the outcome matches the venue."""
    venue, engine = case.venue, case.engine
    venue.faults.clear()
    sent = list(venue.sent_cids)
    report = await engine.reconcile(operator=True)
    assert venue.sent_cids == sent, "reconciliation sent an order"
    assert report.complete, report.summary()
    assert await case.journal.open_submits() == []
    assert venue.open_orders() == []  # a live order of the halted run is adopted and cancelled
    assert case.first.violations == []
    if report.proposal is None:
        assert venue_ok(venue, case.reserve), hedge_legs(venue, case.reserve)
        assert engine.trading_state is not TradingState.HALTED, engine.halt_reason
    else:
        assert engine.trading_state is TradingState.HALTED
        legs = report.proposal.legs
        assert (legs.spot_qty, legs.perp_qty) == hedge_legs(venue, case.reserve), legs.describe()


async def run_case(faults: list[Fault], exit_faults: list[Fault], mode: LegMode, reserve: D) -> None:
    venue = SimVenue()
    venue.spot["BTC"] = reserve
    async with Journal(":memory:") as journal:  # type: ignore[arg-type]
        engine = Engine(venue, journal, make_settings(leg_mode=mode, spot_reserve=reserve), clock=ManualClock())
        await engine.start()
        case = Case(venue, engine, journal, JournalFirst(venue, journal), reserve)
        venue.inject(*faults)
        result = await engine.enter(D("2000"))
        await check_invariants(case, result.end_state, result.quantity)
        if result.end_state is EndState.HALTED:
            await after_halt(case)
        if engine.trading_state is not TradingState.HALTED and venue.position != 0:
            venue.faults = list(exit_faults)
            out = await engine.exit()
            await check_invariants(case, out.end_state, None)
            if out.end_state is EndState.HALTED:
                await after_halt(case)
        await engine.shutdown()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(create_faults, max_size=4),
    st.lists(create_faults, max_size=2),
    st.sampled_from(list(LegMode)),
    st.sampled_from([D(0), D("0.01")]),
)
def test_random_fault_sequences_end_safely(
    faults: list[Fault], exit_faults: list[Fault], mode: LegMode, reserve: D
) -> None:
    asyncio.run(run_case(faults, exit_faults, mode, reserve))
