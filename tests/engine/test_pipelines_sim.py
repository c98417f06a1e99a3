"""The pipelines against the simulated venue: happy paths and the fault matrix's engine-level rows."""

from __future__ import annotations

from decimal import Decimal as D

from hedgetui.domain.execution import EndState
from hedgetui.domain.orders import Side
from hedgetui.domain.risk import TradingState
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.engine import Engine
from tests.engine.simvenue import Fault, SimVenue


async def test_enter_then_exit(engine: Engine, venue: SimVenue) -> None:
    result = await engine.enter(D("2000"))
    assert result.success and result.end_state is EndState.HEDGED, result.reason
    assert result.quantity == D("0.033")
    assert venue.position == D("-0.033")
    assert venue.spot["BTC"] == D("0.033") - D("0.000033")  # fee in BTC
    assert engine.hedge.legs is not None and engine.hedge.legs.spot_qty == venue.spot["BTC"]
    assert result.drift is not None and result.drift.within_tolerance
    out = await engine.exit()
    assert out.success and out.end_state is EndState.FLAT, out.reason
    assert venue.position == 0
    assert venue.open_orders() == []
    assert venue.cids_used_twice() == []


async def test_perp_rejected_definitively_is_flat_and_spot_unwound(engine: Engine, venue: SimVenue) -> None:
    venue.inject(Fault("create", "reject", MarketKind.PERP, code=-2019))
    result = await engine.enter(D("2000"))
    assert result.end_state is EndState.FLAT and not result.success
    assert venue.position == 0
    assert venue.spot["BTC"] < D("0.00005")  # spot bought concurrently, then sold back (dust only)
    assert engine.breaker.snapshot().failures == 1


async def test_timeout_after_accept_is_adopted_not_resent(engine: Engine, venue: SimVenue) -> None:
    venue.inject(Fault("create", "timeout_after", MarketKind.PERP))
    result = await engine.enter(D("2000"))
    assert result.end_state is EndState.HEDGED, result.reason
    perp_orders = [o for o in venue.orders if o.kind is MarketKind.PERP]
    assert len(perp_orders) == 1
    assert venue.position == D("-0.033")
    events = [e.kind for e in await engine.journal.events()]
    assert "AMBIGUOUS" in events and "ADOPT" in events


async def test_timeout_before_accept_resubmits_with_a_new_id(engine: Engine, venue: SimVenue) -> None:
    venue.inject(Fault("create", "timeout_before", MarketKind.PERP))
    result = await engine.enter(D("2000"))
    assert result.end_state is EndState.HEDGED, result.reason
    perp_cids = [c for c in venue.sent_cids if "PO" in c]
    assert len(perp_cids) == 2 and perp_cids[0] != perp_cids[1] and perp_cids[1].endswith("PO2")
    not_found = [e for e in await engine.journal.events() if e.kind == "LOOKUP" and e.data.get("result") == "not_found"]
    assert len(not_found) >= 3


async def test_delayed_visibility_never_duplicates(engine: Engine, venue: SimVenue) -> None:
    venue.inject(Fault("create", "hidden", MarketKind.PERP, count=2))
    result = await engine.enter(D("2000"))
    assert result.end_state is EndState.HEDGED, result.reason
    assert len([o for o in venue.orders if o.kind is MarketKind.PERP]) == 1


async def test_lookups_that_keep_failing_halt_without_resending(engine: Engine, venue: SimVenue) -> None:
    venue.inject(
        Fault("create", "timeout_after", MarketKind.PERP), Fault("fetch", "lookup_error", MarketKind.PERP, times=1000)
    )
    result = await engine.enter(D("2000"))
    assert result.end_state is EndState.HALTED
    assert engine.trading_state is TradingState.HALTED
    assert len([c for c in venue.sent_cids if "PO" in c]) == 1
    assert "UNRESOLVED_ORDER" in result.reason_code


async def test_partial_spot_fill_is_completed(engine: Engine, venue: SimVenue) -> None:
    venue.inject(Fault("create", "partial", MarketKind.SPOT, ratio=D("0.5")))
    result = await engine.enter(D("2000"))
    assert result.end_state is EndState.HEDGED, result.reason
    assert result.spot is not None and result.spot.filled == D("0.033")
    assert any(c.endswith("SO2") for c in venue.sent_cids)


async def test_spot_rejected_after_perp_filled_covers_the_perp(engine: Engine, venue: SimVenue) -> None:
    venue.inject(Fault("create", "reject", MarketKind.SPOT, code=-2010))
    result = await engine.enter(D("2000"))
    assert result.end_state is EndState.FLAT
    assert venue.position == 0
    assert any("PU" in c for c in venue.sent_cids)


async def test_unwind_rejected_halts_with_residual(engine: Engine, venue: SimVenue) -> None:
    venue.inject(Fault("create", "reject", MarketKind.SPOT, code=-2010))
    original = venue.create_market_order

    async def create(kind, side, amount, cid, *, reduce_only=False):  # the cover (leg PU) is rejected too
        if "PU" in cid:
            venue.inject(Fault("create", "reject", MarketKind.PERP, code=-2019))
        return await original(kind, side, amount, cid, reduce_only=reduce_only)

    venue.create_market_order = create  # type: ignore[method-assign]
    result = await engine.enter(D("2000"))
    assert result.end_state is EndState.HALTED
    assert "residual" in result.reason and "-0.033" in result.reason
    assert engine.trading_state is TradingState.HALTED
    alerts = [e for e in await engine.journal.events() if e.kind == "ALERT"]
    assert any("UNWIND_FAILED" in a.message for a in alerts)
    # The halt ends with a proposal stating the venue's own legs, and nothing more is sent on its own.
    assert engine.proposal is not None
    assert engine.proposal.legs.perp_qty == venue.position == D("-0.033")
    assert engine.proposal.legs.spot_qty == venue.spot["BTC"] == 0
    assert {(o.correction.kind, o.correction.side) for o in engine.proposal.options} == {
        (MarketKind.PERP, Side.BUY),
        (MarketKind.SPOT, Side.BUY),
    }


async def test_resting_order_is_cancelled_at_the_fill_deadline(engine: Engine, venue: SimVenue) -> None:
    venue.inject(Fault("create", "resting", MarketKind.PERP, after=None))
    result = await engine.enter(D("2000"))
    assert result.end_state is EndState.FLAT
    assert venue.position == 0 and venue.open_orders() == []
    assert any(e.kind == "FILL_TIMEOUT" for e in await engine.journal.events())


async def test_breaker_opens_after_two_failed_hedges_and_denies_entries(engine: Engine, venue: SimVenue) -> None:
    for _ in range(2):
        venue.inject(Fault("create", "reject", MarketKind.PERP, code=-2019))
        await engine.enter(D("2000"))
    denied = await engine.enter(D("2000"))
    assert denied.aborted and denied.reason_code == "BREAKER_OPEN"
    assert len([o for o in venue.orders if o.kind is MarketKind.PERP]) == 0


async def test_thin_book_is_denied_before_anything_is_sent(engine: Engine, venue: SimVenue) -> None:
    result = await engine.enter(D("5000000"))
    assert result.aborted and not venue.sent_cids


async def test_correct_drift_trims_the_larger_leg(engine: Engine, venue: SimVenue) -> None:
    await engine.enter(D("2000"))
    venue.position -= D("0.010")  # an external change: more short
    result = await engine.correct()
    assert result.success, result.reason
    assert venue.position == D("-0.033")


async def test_visibility_longer_than_the_grace_window_is_caught_and_corrected(engine: Engine, venue: SimVenue) -> None:
    # No finite grace window can beat an unbounded delay: the second attempt is sent, then the late first
    # order is found by the sweep, and the drift check trims the doubled perp back to the hedge.
    venue.inject(Fault("create", "hidden", MarketKind.PERP, count=5))
    result = await engine.enter(D("2000"))
    assert result.end_state is EndState.HEDGED, result.reason
    assert venue.position == D("-0.033")
    kinds = [e.kind for e in await engine.journal.events()]
    assert "ADOPT" in kinds and "DRIFT" in kinds
    assert any("PD" in c for c in venue.sent_cids)


async def test_a_stale_live_book_denies_new_entries_but_not_exits(tmp_path, venue: SimVenue) -> None:
    from hedgetui.engine.clock import ManualClock
    from hedgetui.engine.journal import Journal
    from tests.engine.conftest import make_settings

    stale: list[str | None] = [None]
    async with Journal(tmp_path / "j.sqlite3") as journal:
        eng = Engine(venue, journal, make_settings(), clock=ManualClock(), stale_data=lambda: stale[0])
        await eng.start()
        assert (await eng.enter(D("2000"))).success
        stale[0] = "perp book is stale (3.2 s old)"
        denied = await eng.enter(D("2000"))
        assert denied.aborted and denied.reason_code == "STALE_BOOK" and venue.position == D("-0.033")
        assert (await eng.exit()).end_state is EndState.FLAT  # exits reduce exposure: still allowed
        await eng.shutdown()


async def test_an_open_breaker_survives_a_restart(tmp_path, venue: SimVenue) -> None:
    from hedgetui.engine.breaker import BreakerState
    from hedgetui.engine.clock import ManualClock
    from hedgetui.engine.journal import Journal
    from tests.engine.conftest import make_settings

    path = tmp_path / "j.sqlite3"
    async with Journal(path) as journal:
        eng = Engine(venue, journal, make_settings(), clock=ManualClock())
        await eng.start()
        for _ in range(2):
            venue.inject(Fault("create", "reject", MarketKind.PERP, code=-2019))
            await eng.enter(D("2000"))
        assert eng.breaker.snapshot().state is BreakerState.OPEN
        await eng.shutdown()
    async with Journal(path) as journal:
        again = Engine(venue, journal, make_settings(), clock=ManualClock())
        await again.start()
        assert again.breaker.snapshot().state is BreakerState.OPEN
        assert (await again.enter(D("2000"))).reason_code == "BREAKER_OPEN"
        await again.shutdown()


async def test_fill_polling_backs_off_0_5_to_5_s_by_1_5_and_cancels_at_the_deadline(tmp_path) -> None:
    from hedgetui.domain.client_ids import Leg
    from hedgetui.domain.orders import Side
    from hedgetui.engine.clock import ManualClock
    from hedgetui.engine.events import EventBus
    from hedgetui.engine.journal import Journal
    from hedgetui.engine.legs import ExecTimeouts, LegOrder, LegStatus
    from hedgetui.engine.orders import OrderExecutor

    venue = SimVenue()
    clock = ManualClock()
    async with Journal(tmp_path / "j.sqlite3") as journal:
        await journal.record_intent("aaaaaaaaaaaa", "enter")
        ex = OrderExecutor(venue, journal, EventBus(), clock, ExecTimeouts(fill_s=20))
        venue.inject(Fault("create", "resting", MarketKind.PERP, after=None))  # never fills
        fill = await ex.execute(LegOrder("aaaaaaaaaaaa", Leg.PERP_OPEN, MarketKind.PERP, Side.SELL, D("0.01")))
        assert fill.status is LegStatus.NONE and venue.open_orders() == []
        assert clock.slept[:6] == [0.5, 0.75, 1.125, 1.6875, 2.53125, 3.796875]
        assert max(clock.slept) <= 5.0 and 19.0 <= sum(clock.slept) <= 21.0  # bounded by the 20 s deadline
        assert venue.calls["cancel"] == 1
        # An order already terminal in its create answer needs no poll at all.
        clock.slept.clear()
        before = venue.calls["fetch"]
        done = await ex.execute(
            LegOrder("aaaaaaaaaaaa", Leg.PERP_OPEN, MarketKind.PERP, Side.SELL, D("0.01")), first_attempt=2
        )
        assert done.status is LegStatus.FILLED and venue.calls["fetch"] == before and clock.slept == []


async def test_on_leg_failure_complete_retries_the_failed_leg(tmp_path, venue: SimVenue) -> None:
    from hedgetui.engine.clock import ManualClock
    from hedgetui.engine.journal import Journal
    from hedgetui.engine.settings import OnLegFailure
    from tests.engine.conftest import make_settings

    async with Journal(tmp_path / "j.sqlite3") as journal:
        eng = Engine(venue, journal, make_settings(on_leg_failure=OnLegFailure.COMPLETE), clock=ManualClock())
        await eng.start()
        venue.inject(Fault("create", "resting", MarketKind.SPOT, after=None))  # spot never fills: cancelled
        result = await eng.enter(D("2000"))
        assert result.end_state is EndState.HEDGED, result.reason
        assert [o.cid[-3:] for o in venue.orders if o.kind is MarketKind.SPOT] == ["SO1", "SO2"]
        assert not any("PU" in c for c in venue.sent_cids)  # completed, not unwound
        await eng.shutdown()
