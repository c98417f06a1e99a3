"""The core's funding, income history, transfers and liquidation on a clock the test drives."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from hedgetui.sandbox.core import CoreConfig, ExchangeCore
from hedgetui.sandbox.funding import EIGHT_HOURS_MS, funding_fee
from hedgetui.sandbox.income import DEFAULT_WINDOW_MS
from hedgetui.sandbox.model import (
    BalanceDelta,
    Execution,
    FuturesAccountChange,
    Market,
    OrderEvent,
    OrderStatus,
    OrderType,
    SandboxError,
    Side,
    UserEvent,
)

FUT = Market.FUTURES
SYM = "BTCUSDT"
T0 = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC; the next 8 h funding time is 00:00 UTC


class Clock:
    def __init__(self, t: int = T0) -> None:
        self.t = t

    def __call__(self) -> int:
        return self.t


def core(clock: Clock, **kw: object) -> ExchangeCore:
    return ExchangeCore(CoreConfig(**kw), clock=clock)  # type: ignore[arg-type]


def perp(c: ExchangeCore, side: Side, qty: str, cid: str) -> None:
    c.place_order(FUT, SYM, side, OrderType.MARKET, quantity=D(qty), client_order_id=cid)


def test_the_default_schedule_is_binances_8h_and_the_tick_settles_at_each_time() -> None:
    clock = Clock()
    c = core(clock)
    assert c.next_funding_time() == 1_700_006_400_000 and c.funding.interval_ms == EIGHT_HOURS_MS
    perp(c, Side.SELL, "0.5", "short")
    wallet = c.futures_account().wallet_balance
    clock.t = 1_700_006_400_000 - 1
    c.tick()
    assert {r.income_type for r in c.income.records()} == {"COMMISSION"}  # one per fill; no funding yet
    clock.t = 1_700_006_400_000
    mark, rate = c.mark_price(SYM), c.funding_rate(SYM)  # what the tick applies, before its walk step
    c.tick()
    (fee,) = [r for r in c.income.records() if r.income_type == "FUNDING_FEE"]
    assert fee.income == (D("0.5") * mark * rate).quantize(D("0.00000001")) > 0  # a short receives
    assert fee.time == 1_700_006_400_000 and fee.symbol == SYM and fee.info == "FUNDING_FEE" and fee.trade_id == ""
    assert c.futures_account().wallet_balance == wallet + fee.income
    (settled,) = c.funding.settlements
    assert (settled.time, settled.rate, settled.mark) == (fee.time, rate, mark)


def test_a_long_pays_a_positive_rate_and_a_short_pays_a_negative_one() -> None:
    assert funding_fee(D("0.1"), D("60000"), D("0.0001")) == D("-0.6")
    assert funding_fee(D("-0.1"), D("60000"), D("0.0001")) == D("0.6")
    assert funding_fee(D("-0.1"), D("60000"), D("-0.0003")) == D("-1.8")
    assert funding_fee(D("0.003"), D("61234.5"), D("0.00012345")) == D("-0.02267820")  # 8 dp


def test_a_short_interval_settles_every_time_the_clock_passes_and_catches_up_after_a_jump() -> None:
    clock = Clock(T0 + 500)
    c = core(clock, funding_interval_ms=1000)
    assert c.next_funding_time() == T0 + 1000
    perp(c, Side.BUY, "0.2", "long")
    clock.t = T0 + 3_400  # three funding times passed
    c.tick()
    fees = [r for r in c.income.records() if r.income_type == "FUNDING_FEE"]
    assert [r.time for r in fees] == [T0 + 1000, T0 + 2000, T0 + 3000]
    assert all(r.income < 0 for r in fees)  # a long pays the positive rate
    assert c.next_funding_time() == T0 + 4000
    assert [s.time for s in c.funding.settlements] == [T0 + 1000, T0 + 2000, T0 + 3000]


def test_a_forced_settlement_pays_now_at_the_given_rate_and_the_schedule_carries_on() -> None:
    clock = Clock()
    c = core(clock)
    events: list[list[UserEvent]] = []
    c.add_user_listener(events.append)
    perp(c, Side.SELL, "0.25", "short")
    events.clear()
    wallet, mark = c.futures_account().wallet_balance, c.mark_price(SYM)
    (record,) = c.settle_funding(D("-0.0005"))
    assert record.income == -(D("0.25") * mark * D("0.0005")) and record.time == T0  # a short pays a negative rate
    assert c.futures_account().wallet_balance == wallet + record.income
    assert c.funding_rate(SYM) == D("0.0001")  # the forced rate applied once; the walk's rate is kept
    assert c.funding.settlements[-1].rate == D("-0.0005")
    ((update,),) = events
    assert isinstance(update, FuturesAccountChange) and update.reason == "FUNDING_FEE" and update.symbols == ()
    assert c.next_funding_time() == 1_700_006_400_000
    assert c.settle_funding() and len(c.funding.settlements) == 2
    with pytest.raises(SandboxError):
        c.settle_funding(D("NaN"))


def test_flat_accounts_book_no_funding_but_the_rate_is_recorded() -> None:
    clock = Clock()
    c = core(clock)
    assert c.settle_funding() == [] and len(c.funding.settlements) == 1 and c.income.records() == []


def test_income_records_agree_with_every_wallet_change_of_fills() -> None:
    clock = Clock()
    c = core(clock)
    perp(c, Side.SELL, "0.4", "open")
    clock.t += 1000
    c.move_market(SYM, D("30"))
    perp(c, Side.BUY, "0.1", "reduce")
    perp(c, Side.BUY, "0.5", "flip")  # closes 0.3, opens 0.2 long
    trades = c.trades(FUT)
    commissions = [r for r in c.income.records() if r.income_type == "COMMISSION"]
    assert [r.trade_id for r in commissions] == [str(t.trade_id) for t in trades]
    assert [r.income for r in commissions] == [-t.commission for t in trades]
    assert all(r.info == r.trade_id for r in commissions)
    realized = [r for r in c.income.records() if r.income_type == "REALIZED_PNL"]
    reducing = [t for t in trades if t.order_id != trades[0].order_id and t.realized_pnl]
    assert [r.income for r in realized] == [t.realized_pnl for t in reducing]
    assert c.futures_account().wallet_balance == D("100000") + c.income.total()
    ids = [r.tran_id for r in c.income.records()]
    assert ids == sorted(set(ids))


def test_a_funding_booked_after_a_fill_is_never_dated_before_it() -> None:
    clock = Clock(T0 + 500)
    c = core(clock, funding_interval_ms=1000)
    perp(c, Side.SELL, "0.1", "short")
    clock.t = T0 + 1050  # a fill after the funding time, before the tick that settles it
    perp(c, Side.SELL, "0.1", "more")
    c.tick()
    times = [r.time for r in c.income.records()]
    assert times == sorted(times) and times[-1] == T0 + 1050
    assert c.funding.settlements[0].time == T0 + 1000  # the funding-rate history keeps the funding time


def test_income_query_windows_filters_and_pages() -> None:
    clock = Clock()
    c = core(clock)
    perp(c, Side.SELL, "0.3", "a")
    clock.t += 1000
    c.settle_funding()
    clock.t += 1000
    c.transfer_futures("MAIN_UMFUTURE", "USDT", D("250"))
    everything = c.income.records()
    n = len(everything) - 2  # one COMMISSION per fill of the order
    assert [r.income_type for r in everything] == ["COMMISSION"] * n + ["FUNDING_FEE", "TRANSFER"]
    q = c.income.query
    assert q(now=clock.t) == everything
    assert q(now=clock.t, income_type="FUNDING_FEE") == everything[n : n + 1]
    assert q(now=clock.t, income_type="COMMISSION") == everything[:n]
    assert q(now=clock.t, symbol=SYM) == everything[: n + 1]  # a transfer has no symbol
    assert q(now=clock.t, start=T0 + 1000) == everything[n:]
    assert q(now=clock.t, start=T0, end=T0 + 1000) == everything[: n + 1]
    assert q(now=clock.t, limit=n) == everything[:n] and q(now=clock.t, limit=n, page=2) == everything[n : 2 * n]
    assert q(now=clock.t, end=T0) == everything[:n]  # only endTime: the 7 days before it
    clock.t = T0 + DEFAULT_WINDOW_MS + 1500  # neither: the last 7 days
    assert q(now=clock.t) == everything[n + 1 :]
    assert q(now=clock.t, start=T0) == everything
    for kwargs, code in (
        ({"limit": 0}, -1100),
        ({"limit": 1001}, -1100),
        ({"page": 0}, -1100),
        ({"income_type": "NOPE"}, -1100),
        ({"start": T0 + 5, "end": T0}, -1023),
    ):
        with pytest.raises(SandboxError) as exc:
            q(now=clock.t, **kwargs)  # type: ignore[arg-type]
        assert exc.value.code == code
    assert q(now=clock.t, income_type="WELCOME_BONUS") == []  # a known type that never happens here


def test_transfers_move_usdt_both_ways_and_refuse_what_the_source_cannot_cover() -> None:
    clock = Clock()
    c = core(clock, spot_balances={"USDT": D("1000")}, futures_wallet=D("500"))
    events: list[list[UserEvent]] = []
    c.add_user_listener(events.append)
    first = c.transfer_futures("MAIN_UMFUTURE", "USDT", D("400.5"))
    assert c.spot_balances()["USDT"] == (D("599.5"), D(0)) and c.futures_account().wallet_balance == D("900.5")
    spot_delta, _spot, fut = events[-1]
    assert isinstance(spot_delta, BalanceDelta) and spot_delta.delta == D("-400.5")
    assert isinstance(fut, FuturesAccountChange) and fut.reason == "DEPOSIT"
    second = c.transfer_futures("UMFUTURE_MAIN", "USDT", D("0.5"))
    assert second > first and isinstance(events[-1][-1], FuturesAccountChange)
    assert events[-1][-1].reason == "WITHDRAW"
    transfers = [(r.income, r.tran_id, r.symbol) for r in c.income.records()]
    assert transfers == [(D("400.5"), first, ""), (D("-0.5"), second, "")]
    perp(c, Side.SELL, "0.1", "margin")  # about 300 USDT of initial margin in use
    available = c.futures_account().available_balance
    before = (c.spot_balances(), c.futures_account().wallet_balance, c.income.records())
    for kind, amount, code in (
        ("MAIN_UMFUTURE", D("600.01"), -5013),
        ("UMFUTURE_MAIN", available + D("0.01"), -5013),
        ("MAIN_MARGIN", D("1"), -1100),
        ("MAIN_UMFUTURE", D("0"), -1100),
        ("MAIN_UMFUTURE", D("0.000000001"), -1100),
    ):
        with pytest.raises(SandboxError) as exc:
            c.transfer_futures(kind, "USDT", amount)
        assert exc.value.code == code
    with pytest.raises(SandboxError):
        c.transfer_futures("MAIN_UMFUTURE", "BTC", D("1"))
    assert (c.spot_balances(), c.futures_account().wallet_balance, c.income.records()) == before  # nothing moved


@pytest.mark.parametrize("side", [Side.SELL, Side.BUY])
def test_liquidation_happens_when_the_mark_crosses_the_reported_price_not_before(side: Side) -> None:
    clock = Clock()
    c = core(clock, futures_wallet=D("1000"), volatility_bps=D(0))
    perp(c, side, "0.2", "pos")
    view = c.position(SYM)
    liq, mark = view.liquidation_price, view.mark_price
    assert (liq > mark) if side is Side.SELL else (liq < mark)
    # Just short of it: the position stays.
    c.move_market(SYM, (liq / mark - 1) * 10_000 * D("0.97"))
    assert c.position(SYM).amount == view.amount
    events: list[list[UserEvent]] = []
    c.add_user_listener(events.append)
    wallet = c.futures_account().wallet_balance
    c.move_market(SYM, D("300") if side is Side.SELL else D("-300"))
    assert c.position(SYM).amount == 0
    order = c.orders()[-1]
    assert order.client_order_id.startswith("autoclose-") and order.client_order_id[10:].isdigit()
    assert order.type is OrderType.LIQUIDATION and order.status is OrderStatus.FILLED and order.reduce_only
    assert order.side is (Side.BUY if side is Side.SELL else Side.SELL) and order.executed_qty == D("0.2")
    (trade,) = order.trades
    assert trade.price == c.mark_price(SYM) and trade.commission == 0
    (realized,) = [r for r in c.income.records() if r.trade_id == str(trade.trade_id)]
    assert realized.income_type == "REALIZED_PNL" and realized.income == trade.realized_pnl < 0
    assert c.futures_account().wallet_balance == D("1000") + c.income.total()
    assert c.futures_account().wallet_balance >= 0 and wallet > c.futures_account().wallet_balance
    batch = events[-1]
    executions = [e.execution for e in batch if isinstance(e, OrderEvent) and e.order is order]
    assert executions == [Execution.NEW, Execution.CALCULATED]
    assert isinstance(batch[-1], FuturesAccountChange) and batch[-1].reason == "ORDER"


def test_the_clearance_fee_is_the_liquidation_fee_rate_of_the_notional_while_the_wallet_lasts() -> None:
    clock = Clock()
    c = core(clock, futures_wallet=D("5000"), volatility_bps=D(0))
    perp(c, Side.SELL, "1", "pos")  # 60k notional at 20x: IM 3000, liquidation about 4.6 % up
    liq = c.position(SYM).liquidation_price
    mark = c.mark_price(SYM)
    c.move_market(SYM, (liq / mark - 1) * 10_000 + D("2"))  # just through it: margin is left for the fee
    assert c.position(SYM).amount == 0
    realized, fee = c.income.records()[-2:]
    trade = c.trades()[-1]
    assert realized.income_type == "REALIZED_PNL" and realized.income == trade.realized_pnl < 0
    assert fee.income_type == "INSURANCE_CLEAR"
    expected = min(
        (trade.quote_qty * D("0.0125")).quantize(D("0.00000001")), c.futures_account().wallet_balance - fee.income
    )
    assert fee.income == -expected
    assert c.futures_account().wallet_balance == D("5000") + c.income.total()
