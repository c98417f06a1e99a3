"""Checks that once differed between what was shown and what was done: the data's age, the exit's depth and
slippage, realised-against-estimated alerts, and one preview for the screen, the confirmation and the
pipeline. Judged by the simulated venue's own record."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from hedgetui.domain.book import OrderBook
from hedgetui.domain.execution import EndState
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.clock import ManualClock
from hedgetui.engine.engine import Engine
from hedgetui.engine.journal import Journal
from hedgetui.engine.preview import estimate_hedge
from tests.engine.conftest import make_settings
from tests.engine.simvenue import SimVenue


async def started(tmp_path: Path, venue: SimVenue, clock: ManualClock | None = None, **kw: object) -> Engine:
    journal = Journal(tmp_path / "j.sqlite3")
    await journal.start()
    engine = Engine(venue, journal, make_settings(**kw), clock=clock or ManualClock())
    await engine.start()
    return engine


async def stop(engine: Engine) -> None:
    await engine.shutdown()
    await engine.journal.close()


async def test_data_age_counts_the_time_the_reads_took(tmp_path: Path) -> None:
    venue, clock = SimVenue(), ManualClock()
    engine = await started(tmp_path, venue, clock)
    original = venue.fetch_funding

    async def slow_funding():  # type: ignore[no-untyped-def]
        clock.advance(6.0)  # the exchange took 6 s to answer: the snapshot is 6 s old when decided on
        return await original()

    venue.fetch_funding = slow_funding  # type: ignore[method-assign]
    result = await engine.enter(D("2000"))
    assert result.aborted and result.reason_code == "STALE_DATA", result.reason
    assert venue.sent_cids == [] and venue.position == 0
    await stop(engine)


def thin(venue: SimVenue, kind: MarketKind, depth: D) -> None:
    """One side of ``kind``'s book holds ``depth`` in total, spread over five levels."""
    rebuild = venue._book

    def book(k: MarketKind) -> OrderBook:
        full = rebuild(k)
        if k is not kind:
            return full
        level = depth / 5
        bids = tuple((p, level) for p, _ in full.bids[:5])
        asks = tuple((p, level) for p, _ in full.asks[:5])
        return full.model_copy(update={"bids": bids, "asks": asks})

    venue._book = book  # type: ignore[method-assign]


async def test_what_the_preview_allows_the_pipeline_does_not_deny(tmp_path: Path) -> None:
    # 0.0995 BTC of perp bids: 3x the hedge quantity (0.033) fits, 3x the size at mid (0.0333) would not.
    venue = SimVenue()
    thin(venue, MarketKind.PERP, D("0.0995"))
    engine = await started(tmp_path, venue)
    preview = await engine.preview(D("2000"))
    spot_book = venue._book(MarketKind.SPOT)
    perp_book = venue._book(MarketKind.PERP)
    pane = estimate_hedge(
        D("2000"),
        spot_book,
        perp_book,
        engine.spot_rules,
        engine.perp_rules,
        max_bps=engine.settings.slippage_max_bps,
        liquidity_multiple=engine.settings.liquidity_multiple,
    )
    assert preview.allowed and pane.entry is not None and pane.entry.blocking() is None
    assert preview.spot == pane.entry.spot and preview.perp == pane.entry.perp  # the pane shows what was checked
    result = await engine.enter(D("2000"))
    assert result.end_state is EndState.HEDGED, result.reason
    assert venue.position == D("-0.033")
    await stop(engine)


async def test_exit_checks_depth_before_sending(tmp_path: Path) -> None:
    venue = SimVenue()
    engine = await started(tmp_path, venue)
    assert (await engine.enter(D("2000"))).end_state is EndState.HEDGED
    sent = len(venue.sent_cids)
    thin(venue, MarketKind.SPOT, D("0.05"))  # less than 3x the 0.033 to sell
    result = await engine.exit()
    assert result.aborted and result.reason_code == "INSUFFICIENT_DEPTH", result.reason
    assert len(venue.sent_cids) == sent and venue.position == D("-0.033")
    await stop(engine)


async def test_exit_records_realised_slippage_and_alerts_above_the_estimate(tmp_path: Path) -> None:
    venue = SimVenue()
    engine = await started(tmp_path, venue)
    assert (await engine.enter(D("2000"))).end_state is EndState.HEDGED
    original = venue.create_market_order

    async def moved(kind, side, amount, cid, *, reduce_only=False):  # type: ignore[no-untyped-def]
        if kind is MarketKind.SPOT:
            venue.spot_mid -= D("60")  # the spot market drops 10 bps between the estimate and the fill
        return await original(kind, side, amount, cid, reduce_only=reduce_only)

    venue.create_market_order = moved  # type: ignore[method-assign]
    result = await engine.exit()
    assert result.end_state is EndState.FLAT, result.reason
    legs = {a.leg: a for a in result.slippage}
    assert set(legs) == {"spot_close", "perp_close"}
    assert legs["spot_close"].realized_bps is not None and legs["spot_close"].realized_bps > 9
    alerts = [e for e in await engine.journal.events() if e.kind == "ALERT"]
    assert any(e.data.get("code") == "SLIPPAGE_ABOVE_ESTIMATE" and "spot_close" in e.message for e in alerts)
    assert venue.position == 0
    await stop(engine)


async def test_reconciliation_sweeps_orders_concluded_never_placed(tmp_path: Path) -> None:
    """A perp order stays invisible past the grace window (concluded "not placed", resent as attempt 2) and
    past the entry's own sweep; the next reconciliation finds it, adopts it and journals its fills."""
    from tests.engine.simvenue import Fault

    venue = SimVenue()
    engine = await started(tmp_path, venue)
    venue.inject(Fault("create", "hidden", MarketKind.PERP, count=6))
    result = await engine.enter(D("2000"))
    first = next(o for o in venue.orders if o.cid.endswith("PO1"))
    assert first.filled == D("0.033")  # the venue filled it all along
    assert await engine.journal.fills_for(first.cid) == []
    assert result.end_state is EndState.HEDGED, result.reason
    sent = len(venue.sent_cids)
    report = await engine.reconcile()
    assert first.cid in report.adopted
    assert [q for _, q, _ in await engine.journal.fills_for(first.cid)] == [D("0.033")]
    assert len(venue.sent_cids) == sent  # reconciliation adopted; it sent nothing
    # The venue's legs, not the journal's, decide: they match, so nothing is proposed.
    assert report.proposal is None and abs(venue.spot["BTC"] + venue.position) < D("0.001")
    await stop(engine)


async def test_an_entry_on_legs_already_apart_is_refused_the_same_way_by_preview_and_pipeline(tmp_path: Path) -> None:
    venue = SimVenue()
    engine = await started(tmp_path, venue)
    assert (await engine.enter(D("2000"))).end_state is EndState.HEDGED
    venue.position = D("-0.016")  # half the short closed outside hedgetui
    sent = len(venue.sent_cids)
    preview = await engine.preview(D("2000"))
    result = await engine.enter(D("2000"))
    assert preview.denial_code == result.reason_code == "DRIFT_PENDING", (preview.denial, result.reason)
    assert result.aborted and len(venue.sent_cids) == sent and venue.position == D("-0.016")
    await stop(engine)


def test_proposal_labels_name_what_the_order_does_to_the_hedge() -> None:
    from hedgetui.domain.drift import DriftCorrection
    from hedgetui.domain.orders import Side
    from hedgetui.engine.hedge import ExchangeLegs
    from hedgetui.engine.proposal import label

    def legs(spot: str, perp: str) -> ExchangeLegs:
        return ExchangeLegs("BTC", D(spot), D(0), D(perp), D("60000"), 0)

    def fix(kind: MarketKind, side: Side, qty: str, reduce_only: bool = False) -> DriftCorrection:
        return DriftCorrection(kind=kind, side=side, quantity=D(qty), reduce_only=reduce_only, reduces=True)

    step = D("0.00001")
    # Selling 0.03296 of 0.032967 leaves only fee dust: that closes the leg.
    assert label(fix(MarketKind.SPOT, Side.SELL, "0.03296"), legs("0.032967", "0"), step) == "unwind spot"
    assert label(fix(MarketKind.SPOT, Side.SELL, "0.003"), legs("0.036", "-0.033"), step) == "trim spot"
    assert label(fix(MarketKind.SPOT, Side.BUY, "0.033"), legs("0.000033", "-0.033"), step) == "complete spot"
    assert label(fix(MarketKind.PERP, Side.BUY, "0.033", True), legs("0", "-0.033"), D("0.001")) == "unwind perp"
    assert label(fix(MarketKind.PERP, Side.SELL, "0.033"), legs("0.032967", "0"), D("0.001")) == "complete perp"
