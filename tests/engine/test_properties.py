"""Property tests: random fault sequences against the simulated venue never leave silent exposure.

After every run (fault-matrix.md invariants): the end state is HEDGED within tolerance, FLAT, or HALTED
with an alert; no live order is left behind; no leg filled beyond its target; every exchange order was
journaled before it was sent; no client id was sent twice.
"""

from __future__ import annotations

import asyncio
import os
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
from tests.engine.conftest import make_settings
from tests.engine.simvenue import Fault, SimVenue

EXAMPLES = int(os.environ.get("HEDGETUI_PROPERTY_EXAMPLES", "500"))
kinds = st.sampled_from([MarketKind.PERP, MarketKind.SPOT])
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


def check_invariants(
    venue: SimVenue, engine: Engine, result_state: EndState, submitted: set[str], qty: D | None
) -> None:
    assert result_state in (EndState.HEDGED, EndState.FLAT, EndState.HALTED)
    # A client id reaches the venue at most once, and every order the venue holds was journaled first.
    assert len(venue.sent_cids) == len(set(venue.sent_cids)), venue.sent_cids
    assert {o.cid for o in venue.orders} <= submitted
    if result_state is EndState.HALTED:
        assert engine.trading_state is TradingState.HALTED
        return
    assert venue.open_orders() == []
    if qty is not None:
        for leg_code in ("PO", "SO"):
            filled = sum(
                (o.filled for o in venue.orders if (p := parse_client_order_id(o.cid)) and p[1].code == leg_code), D(0)
            )
            assert filled <= qty, (leg_code, filled, qty)
    net = engine.hedge.spot_qty + venue.position
    if result_state is EndState.FLAT:
        assert venue.position == 0
        assert engine.hedge.spot_qty * venue.spot_mid < 5  # dust below spot's minimum notional at most
    else:
        hedge = max(abs(engine.hedge.spot_qty), abs(venue.position))
        assert hedge > 0 and abs(net) / hedge * 10_000 <= 50


async def run_case(faults: list[Fault], exit_faults: list[Fault]) -> None:
    venue = SimVenue()
    async with Journal(":memory:") as journal:  # type: ignore[arg-type]
        engine = Engine(venue, journal, make_settings(), clock=ManualClock())
        await engine.start()
        venue.inject(*faults)
        result = await engine.enter(D("2000"))
        submitted = await journal.all_cids()
        check_invariants(venue, engine, result.end_state, submitted, result.quantity)
        if result.end_state is EndState.HEDGED:
            venue.faults = list(exit_faults)
            out = await engine.exit()
            submitted = await journal.all_cids()
            check_invariants(venue, engine, out.end_state, submitted, None)
        await engine.shutdown()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(create_faults, max_size=4), st.lists(create_faults, max_size=2))
def test_random_fault_sequences_end_safely(faults: list[Fault], exit_faults: list[Fault]) -> None:
    asyncio.run(run_case(faults, exit_faults))
