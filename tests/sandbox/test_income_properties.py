"""The income history is the futures wallet's whole story: across random fills (opening, reducing,
flipping, resting makers), funding settlements (scheduled and forced, either sign), transfers both ways
(refused ones included), external position changes, market moves and liquidations, the sum of the income
records equals the wallet's change since the start, and tranIds and times only ever ascend."""

from __future__ import annotations

from decimal import Decimal as D
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hedgetui.sandbox.core import CoreConfig, ExchangeCore
from hedgetui.sandbox.model import Market, OrderType, SandboxError, Side, TimeInForce

FUT = Market.FUTURES
SYM = "BTCUSDT"
T0 = 1_700_000_000_000
START_WALLET = D("3000")

sides = st.sampled_from(list(Side))
qtys = st.sampled_from(["0.001", "0.01", "0.05", "0.2", "0.7"])
actions = st.lists(
    st.one_of(
        st.tuples(st.just("market"), sides, qtys, st.booleans()),
        st.tuples(st.just("limit"), sides, qtys, st.integers(-40, 40)),
        st.tuples(st.just("time"), st.integers(1, 2500)),
        st.tuples(st.just("funding"), st.sampled_from([None, "0.0003", "-0.0007", "0.002"])),
        st.tuples(st.just("transfer"), st.booleans(), st.sampled_from(["0.01", "25", "700", "99999"])),
        st.tuples(st.just("move"), st.integers(-900, 900)),
        st.tuples(st.just("set_position"), st.sampled_from(["-0.3", "0", "0.1"])),
    ),
    min_size=3,
    max_size=25,
)


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> int:
        return self.t


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions)
def test_income_sums_to_the_futures_wallet_change(steps: list[tuple[object, ...]]) -> None:
    clock = Clock()
    c = ExchangeCore(
        CoreConfig(futures_wallet=START_WALLET, spot_balances={"USDT": D("2000")}, funding_interval_ms=1000),
        clock=clock,
    )
    for n, step in enumerate(steps):
        kind = step[0]
        try:
            if kind == "market":
                _, side, qty, reduce_only = step
                c.place_order(
                    FUT, SYM, side, OrderType.MARKET, quantity=D(str(qty)), client_order_id=f"m{n}",
                    reduce_only=bool(reduce_only),
                )  # fmt: skip
            elif kind == "limit":
                _, side, qty, offset = step
                price = (c.mark_price(SYM) + D(str(offset)) * 10).quantize(D("0.1"))
                c.place_order(
                    FUT, SYM, side, OrderType.LIMIT, quantity=D(str(qty)), price=price,
                    time_in_force=TimeInForce.GTC, client_order_id=f"l{n}",
                )  # fmt: skip
            elif kind == "time":
                clock.t += int(str(step[1]))
                c.tick()
            elif kind == "funding":
                c.settle_funding(None if step[1] is None else D(str(step[1])))
            elif kind == "transfer":
                _, inbound, amount = step
                c.transfer_futures("MAIN_UMFUTURE" if inbound else "UMFUTURE_MAIN", "USDT", D(str(amount)))
            elif kind == "move":
                c.move_market(SYM, D(str(step[1])))
            else:
                c.set_position(SYM, D(str(step[1])))
        except SandboxError:
            pass  # refused: it must have left no record and no wallet change (checked below all the same)
        records = c.income.records()
        assert c.futures_account().wallet_balance - START_WALLET == sum((r.income for r in records), D(0))
        assert all(a.tran_id < b.tran_id and a.time <= b.time for a, b in pairwise(records))
        assert all(r.income != 0 and r.asset == "USDT" for r in records)
    # Every perp trade of an order has exactly its commission booked against its id.
    booked = {r.trade_id: r.income for r in c.income.records() if r.income_type == "COMMISSION"}
    for trade in c.trades(FUT):
        if trade.commission:
            assert booked[str(trade.trade_id)] == -trade.commission
