"""The perp-leg watch on the simulated venue: margin ratio and liquidation distance against their thresholds
(alerts raised, escalated and cleared), and a perp change no order of ours explains (liquidation, ADL, a
manual trade): a critical alert naming the unhedged spot, a proposal, and nothing sent (the venue's record)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from hedgetui.domain.account import FuturesBalance, PerpPosition
from hedgetui.domain.margin import PerpThresholds, WatchLevel, assess_perp, liquidation_distance_pct
from hedgetui.domain.orders import Side
from hedgetui.domain.risk import TradingState
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.engine import Engine
from hedgetui.engine.events import AlertEvent, EngineEvent
from hedgetui.engine.perpwatch import LIQUIDATION_ALERT, MARGIN_ALERT, ChangeCause, cause_of
from tests.engine.simvenue import SimVenue


def drain(queue: object) -> list[EngineEvent]:
    out: list[EngineEvent] = []
    while not queue.empty():  # type: ignore[attr-defined]
        out.append(queue.get_nowait())  # type: ignore[attr-defined]
    return out


def alerts(events: list[EngineEvent], code: str) -> list[AlertEvent]:
    return [e for e in events if isinstance(e, AlertEvent) and e.code == code]


def balance(margin_balance: str, maint: str) -> FuturesBalance:
    m = D(margin_balance)
    return FuturesBalance(
        asset="USDT",
        wallet=m,
        margin_balance=m,
        available=m,
        initial_margin=D(0),
        maint_margin=D(maint),
        unrealized_pnl=D(0),
    )


@pytest.mark.parametrize(
    ("margin_balance", "maint", "level"),
    [("100", "49.9", WatchLevel.OK), ("100", "50", WatchLevel.WARN), ("100", "80", WatchLevel.CRITICAL)],
)
def test_margin_ratio_levels_at_the_thresholds(margin_balance: str, maint: str, level: WatchLevel) -> None:
    position = PerpPosition(symbol="BTC/USDT:USDT", amount=D("-1"), mark_price=D("100"))
    health = assess_perp(balance(margin_balance, maint), position, D("100"), PerpThresholds(), 0)
    assert health.margin_level is level
    assert health.margin_ratio_pct == D(maint) / D(margin_balance) * 100


def test_liquidation_distance_levels_and_flat() -> None:
    t = PerpThresholds()
    assert liquidation_distance_pct(D("100"), D("115")) == D("15")
    assert t.liq_level(D("15.01")) is WatchLevel.OK
    assert t.liq_level(D("15")) is WatchLevel.WARN
    assert t.liq_level(D("7")) is WatchLevel.CRITICAL
    flat = PerpPosition(symbol="BTC/USDT:USDT", amount=D(0), liquidation_price=D("101"))
    health = assess_perp(balance("100", "0"), flat, D("100"), t, 0)
    assert health.liq_distance_pct is None and health.margin_ratio_pct is None and health.level is WatchLevel.OK


def test_the_liquidation_alert_shows_prices_to_the_perps_tick() -> None:
    short = PerpPosition(symbol="BTC/USDT:USDT", amount=D("-0.033"), liquidation_price=D("68749.78492304"))
    health = assess_perp(balance("300", "8"), short, D("60256.90000000"), PerpThresholds(), 0, D("0.10"))
    assert "mark 60,256.9, liquidation price 68,749.8;" in health.describe_liq(), health.describe_liq()
    raw = assess_perp(balance("300", "8"), short, D("60256.9"), PerpThresholds(), 0)
    assert "liquidation price 68,749.78492304;" in raw.describe_liq()


async def test_margin_alert_escalates_then_clears_with_the_venues_wallet(engine: Engine, venue: SimVenue) -> None:
    await engine.enter(D("2000"))
    queue = engine.bus.subscribe()
    health = await engine.read_perp()
    assert health.level is WatchLevel.OK and not alerts(drain(queue), MARGIN_ALERT)
    maint = (await venue.fetch_futures_balance()).maint_margin
    # The venue's wallet shrinks (losses elsewhere): maintenance ÷ margin balance crosses 50 %, then 80 %.
    venue.wallet = maint / D("0.6")
    health = await engine.read_perp()
    assert health.margin_level is WatchLevel.WARN
    raised = alerts(drain(queue), MARGIN_ALERT)
    assert len(raised) == 1 and raised[0].level.value == "warn" and "margin ratio WARN" in raised[0].message
    await engine.read_perp()  # the same level again: no second alert
    assert not alerts(drain(queue), MARGIN_ALERT)
    venue.wallet = maint / D("0.85")
    assert (await engine.read_perp()).margin_level is WatchLevel.CRITICAL
    raised = alerts(drain(queue), MARGIN_ALERT)
    assert len(raised) == 1 and raised[0].level.value == "critical" and "top up margin" in raised[0].message
    assert engine.status().perp is not None and engine.status().perp.margin_level is WatchLevel.CRITICAL
    venue.wallet = D("100000")
    assert (await engine.read_perp()).margin_level is WatchLevel.OK
    events = drain(queue)
    assert not alerts(events, MARGIN_ALERT)
    assert any(e.kind == "PERP_WATCH" and e.data.get("code") == MARGIN_ALERT for e in events)
    rows = [e for e in await engine.journal.events() if e.kind == "ALERT" and e.data.get("code") == MARGIN_ALERT]
    assert [r.data["level"] for r in rows] == ["warn", "critical"]


async def test_liquidation_distance_alert_from_the_positions_liquidation_price(engine: Engine, venue: SimVenue) -> None:
    await engine.enter(D("2000"))
    queue = engine.bus.subscribe()
    venue.liquidation_price = venue.perp_mid * D("1.10")  # 10 % away: WARN (15 %), not CRITICAL (7 %)
    assert (await engine.read_perp()).liq_level is WatchLevel.WARN
    venue.liquidation_price = venue.perp_mid * D("1.05")
    assert (await engine.read_perp()).liq_level is WatchLevel.CRITICAL
    raised = alerts(drain(queue), LIQUIDATION_ALERT)
    assert [a.level.value for a in raised] == ["warn", "critical"]
    venue.liquidation_price = venue.perp_mid * D("1.5")
    assert (await engine.read_perp()).liq_level is WatchLevel.OK


def test_cause_of_names_binance_liquidation_and_adl_orders() -> None:
    assert cause_of("autoclose-1700000000123") is ChangeCause.LIQUIDATION
    assert cause_of("adl_autoclose-1700000000123") is ChangeCause.ADL
    assert cause_of("web_abc123") is ChangeCause.MANUAL


@pytest.mark.parametrize(
    ("cid", "cause"),
    [
        ("autoclose-1700000000999", "LIQUIDATION"),
        ("adl_autoclose-1700000000999", "ADL"),
        ("web_8f3a1c", "MANUAL TRADE"),
    ],
)
async def test_an_external_perp_close_alerts_with_the_unhedged_spot_and_sends_nothing(
    engine: Engine, venue: SimVenue, cid: str, cause: str
) -> None:
    await engine.enter(D("2000"))
    await engine.check_drift(await engine.hedge.read())  # the legs match: the monitor notes when
    sent, orders = list(venue.sent_cids), len(venue.orders)
    queue = engine.bus.subscribe()
    venue.now_ms = engine.clock.wall_ms()
    venue.external_perp_trade(Side.BUY, D("0.033"), cid)  # the exchange closes the whole short
    spot = venue.spot["BTC"]
    proposal = await engine.check_drift(await engine.hedge.read())
    assert proposal is not None and engine.proposal is proposal
    assert engine.trading_state is TradingState.HALTED
    # Nothing was sent by hedgetui: the venue's record holds only the exchange's own order.
    assert venue.sent_cids == sent and len(venue.orders) == orders + 1
    raised = alerts(drain(queue), "EXTERNAL_DRIFT")
    assert len(raised) == 1 and raised[0].level.value == "critical"
    text = raised[0].message
    assert cause in text and cid in text
    assert f"{spot:f} BTC of spot is now unhedged" in text
    assert "nothing is sent until accepted" in text
    kinds = {(o.correction.kind, o.correction.side) for o in proposal.options}
    assert (MarketKind.SPOT, Side.SELL) in kinds and (MarketKind.PERP, Side.SELL) in kinds
    assert cause in (engine.halt_reason or "")


async def test_a_change_without_a_foreign_order_is_called_unexplained(engine: Engine, venue: SimVenue) -> None:
    await engine.enter(D("2000"))
    queue = engine.bus.subscribe()
    venue.position = D("-0.010")  # the position moved with no trade of the account's to show for it
    assert await engine.check_drift(await engine.hedge.read()) is not None
    raised = alerts(drain(queue), "EXTERNAL_DRIFT")
    assert raised and "UNEXPLAINED CHANGE" in raised[0].message and "of spot is now unhedged" in raised[0].message
