"""Property: reconciliation never trades. Whatever the venue holds and whatever the journal says, starting
the engine sends no order, and it ends ACTIVE with matching legs or HALTED with a proposal that states
exactly the venue's legs (fault-matrix invariant 7)."""

from __future__ import annotations

import asyncio
import os
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hedgetui.domain.client_ids import Leg, client_order_id
from hedgetui.domain.orders import Side
from hedgetui.domain.risk import TradingState
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.clock import ManualClock
from hedgetui.engine.engine import Engine
from hedgetui.engine.journal import Journal
from tests.engine.conftest import make_settings
from tests.engine.simvenue import SimOrder, SimVenue

EXAMPLES = max(50, int(os.environ.get("HEDGETUI_PROPERTY_EXAMPLES", "500")) // 3)
spot_held = st.sampled_from([D(0), D("0.000033"), D("0.032967"), D("0.033"), D("0.02"), D("0.066")])
perp_held = st.sampled_from([D(0), D("-0.001"), D("-0.016"), D("-0.033"), D("-0.066")])
reserve = st.sampled_from([D(0), D("0.01")])


async def case(spot: D, perp: D, spot_reserve: D, journaled: bool, order_on_venue: bool) -> None:
    venue = SimVenue()
    venue.spot["BTC"] = spot + spot_reserve
    venue.position = perp
    venue.entry = venue.perp_mid if perp else D(0)
    async with Journal(":memory:") as journal:  # type: ignore[arg-type]
        if journaled:
            # An entry whose perp order was sent and never answered: the journal does not know its end.
            cid = client_order_id("abcdef012345", Leg.PERP_OPEN, 1)
            await journal.record_intent("abcdef012345", "enter", quantity=D("0.033"))
            await journal.record_submit(
                cid=cid,
                intent_id="abcdef012345",
                leg=Leg.PERP_OPEN.value,
                attempt=1,
                market="perp",
                side="sell",
                order_type="market",
                quantity=D("0.033"),
                reduce_only=False,
            )
            if order_on_venue:
                venue.orders.append(SimOrder("4000000999", cid, MarketKind.PERP, Side.SELL, D("0.033"), False))
        engine = Engine(venue, journal, make_settings(spot_reserve=spot_reserve), clock=ManualClock())
        report = await engine.start()
        assert venue.sent_cids == [], "reconciliation sent an order"
        assert report.complete, report.summary()
        assert await journal.unfinished_intents() == []
        legs = engine.hedge.legs
        assert legs is not None and (legs.spot_qty, legs.perp_qty) == (venue.spot["BTC"] - spot_reserve, venue.position)
        drift = engine.hedge.drift(legs)
        if drift.needs_correction:
            assert engine.trading_state is TradingState.HALTED
            assert report.proposal is not None and report.proposal.legs == legs
        else:
            assert engine.trading_state is TradingState.ACTIVE and report.proposal is None
        await engine.shutdown()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spot_held, perp_held, reserve, st.booleans(), st.booleans())
def test_reconciliation_never_trades_and_states_the_venues_legs(
    spot: D, perp: D, spot_reserve: D, journaled: bool, order_on_venue: bool
) -> None:
    asyncio.run(case(spot, perp, spot_reserve, journaled, order_on_venue))
