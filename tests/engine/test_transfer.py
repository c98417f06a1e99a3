"""The confirmed transfer between the spot and futures wallets, judged by the wallets the venue holds."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

from hedgetui.domain.margin import PerpThresholds, TransferDirection
from hedgetui.domain.risk import TradingState
from hedgetui.engine.engine import Busy, Engine
from hedgetui.engine.transfer import TransferStatus
from tests.engine.simvenue import Fault, SimVenue

TO_FUTURES, TO_SPOT = TransferDirection.TO_FUTURES, TransferDirection.TO_SPOT


async def test_top_up_moves_usdt_from_spot_to_futures_and_is_journaled_first(engine: Engine, venue: SimVenue) -> None:
    spot, wallet = venue.spot["USDT"], venue.wallet
    result = await engine.transfer(D("500"), TO_FUTURES)
    assert result.status is TransferStatus.CONFIRMED, result.reason
    assert venue.spot["USDT"] == spot - 500 and venue.wallet == wallet + 500
    assert result.before is not None and result.after is not None
    assert result.after.spot_free == result.before.spot_free - 500
    kinds = [e.kind for e in await engine.journal.events(intent_id=result.intent_id)]
    assert kinds.index("TRANSFER_INTENT") < kinds.index("TRANSFER")
    back = await engine.transfer(D("200.5"), TO_SPOT)
    assert back.success and venue.spot["USDT"] == spot - D("299.5") and venue.wallet == wallet + D("299.5")


async def test_more_than_the_source_holds_is_refused_and_nothing_is_sent(engine: Engine, venue: SimVenue) -> None:
    spot, wallet = venue.spot["USDT"], venue.wallet
    result = await engine.transfer(spot + 1, TO_FUTURES)
    assert result.status is TransferStatus.REFUSED and "spot wallet has" in result.reason
    assert venue.calls["transfer"] == 0 and venue.spot["USDT"] == spot and venue.wallet == wallet


async def test_taking_margin_out_is_refused_when_halted_or_when_the_ratio_would_reach_its_warning(
    engine: Engine, venue: SimVenue
) -> None:
    await engine.enter(D("2000"))
    futures = await venue.fetch_futures_balance()
    maint, initial = futures.maint_margin, futures.initial_margin
    engine.settings = replace(engine.settings, perp_watch=PerpThresholds(D("9"), D("20"), D("15"), D("7")))
    venue.wallet = initial + maint * 3  # margin ratio 1/13; 2 × maint out would make it 1/11 (warn 9 %)
    result = await engine.transfer(maint * 2, TO_SPOT)
    assert result.status is TransferStatus.REFUSED and "margin ratio would rise" in result.reason
    assert venue.calls["transfer"] == 0
    await engine.set_trading_state(TradingState.HALTED, "test")
    assert engine.why_transfer_refused(TO_SPOT) is not None
    assert engine.why_transfer_refused(TO_FUTURES) is None  # adding margin is never blocked by a halt
    result = await engine.transfer(D("1"), TO_SPOT)
    assert result.status is TransferStatus.REFUSED and venue.calls["transfer"] == 0
    assert (await engine.transfer(D("1"), TO_FUTURES)).success


async def test_a_lost_answer_is_decided_by_the_wallets_and_never_resent(engine: Engine, venue: SimVenue) -> None:
    venue.inject(Fault("transfer", "timeout_after"))
    spot = venue.spot["USDT"]
    result = await engine.transfer(D("300"), TO_FUTURES)
    assert result.status is TransferStatus.CONFIRMED and "answer was lost" in result.reason
    assert venue.calls["transfer"] == 1 and venue.spot["USDT"] == spot - 300
    venue.inject(Fault("transfer", "timeout_before"))
    result = await engine.transfer(D("300"), TO_FUTURES)
    assert result.status is TransferStatus.UNCONFIRMED and "nothing is resent" in result.reason
    assert venue.calls["transfer"] == 2 and venue.spot["USDT"] == spot - 300
    alerts = [e for e in await engine.journal.events() if e.kind == "ALERT"]
    assert any(e.data.get("code") == "TRANSFER_UNCONFIRMED" for e in alerts)


async def test_an_exchange_refusal_ends_refused(engine: Engine, venue: SimVenue) -> None:
    venue.inject(Fault("transfer", "reject", code=-5013))
    result = await engine.transfer(D("10"), TO_FUTURES)
    assert result.status is TransferStatus.REFUSED and "-5013" in result.reason


async def test_a_transfer_holds_the_engine_busy(engine: Engine, venue: SimVenue) -> None:
    task = engine.start_transfer(D("10"), TO_FUTURES)
    assert engine.busy and engine.why_transfer_refused() is not None
    try:
        engine.start_transfer(D("10"), TO_FUTURES)
        raise AssertionError("a second transfer started")
    except Busy:
        pass
    assert (await task).success and not engine.busy
