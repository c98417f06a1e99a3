"""Invariants of the core over random sequences of market activity, orders (valid and invalid), cancels,
partial fills, external position changes and market moves:

1. no balance is ever negative;
2. every balance is its start plus its trades minus its fees (the futures wallet also its clearance fees),
   and the position is the sum of its fills;
3. no order executes more than it asked for, and what it executed is the sum of its trades;
4. a rejected request changes nothing (Binance stores no rejected order).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal as D
from itertools import pairwise

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hedgetui.sandbox.core import CoreConfig, ExchangeCore
from hedgetui.sandbox.model import DepthDiff, Market, OrderType, SandboxError, Side, TimeInForce

SPOT, FUT = Market.SPOT, Market.FUTURES
SYM = "BTCUSDT"
START_SPOT = {"USDT": D("60000"), "BTC": D("0.8")}
START_WALLET = D("8000")
QTYS = ["0", "0.000001", "0.00001", "0.0001", "0.0015", "0.004", "0.01", "0.05", "0.123", "0.5", "1.2", "3", "150"]

#: The income types a futures trade books (its realized P&L and its commission), counted from the trades.
TRADE_INCOME = frozenset({"REALIZED_PNL", "COMMISSION"})

markets = st.sampled_from([SPOT, FUT])
sides = st.sampled_from(list(Side))
qtys = st.sampled_from(QTYS)
actions = st.lists(
    st.one_of(
        st.tuples(st.just("tick"), st.integers(1, 6)),
        st.tuples(st.just("market"), markets, sides, qtys, st.booleans()),
        st.tuples(st.just("quote"), sides, st.sampled_from(["3", "50", "2000", "70000"])),
        st.tuples(
            st.just("limit"),
            markets,
            sides,
            qtys,
            st.integers(-60, 60),
            st.sampled_from(list(TimeInForce)),
            st.booleans(),
        ),
        st.tuples(st.just("partial"), markets, sides, qtys, st.sampled_from(["0", "0.3", "0.7"]), st.booleans()),
        st.tuples(st.just("cancel"), st.integers(0, 20), st.booleans()),
        st.tuples(st.just("move"), st.integers(-400, 400)),
        st.tuples(st.just("set_position"), st.sampled_from(["-2", "-0.4", "0", "0.05", "0.7"]), st.integers(-90, 90)),
        st.tuples(st.just("factor"), st.sampled_from(["0.02", "0.3", "1"])),
        st.tuples(st.just("leverage"), st.sampled_from([1, 5, 20, 50])),
    ),
    min_size=4,
    max_size=30,
)


def snapshot(c: ExchangeCore) -> tuple[object, ...]:
    return (
        c.spot_balances(),
        c.futures_account(),
        c.positions(),
        [(o.order_id, o.status, o.executed_qty, o.orig_qty) for o in c.orders()],
        len(c.trades()),
        [o.order_id for m in (SPOT, FUT) for o in c.open_orders(m, None)],
        [c.depth(m, SYM, 1000) for m in (SPOT, FUT)],
        c.leverage(SYM),
    )


def check_invariants(c: ExchangeCore) -> None:
    # 0. books stay well formed: positive quantities, strictly ordered, never crossed
    for m in (SPOT, FUT):
        _, bids, asks = c.depth(m, SYM, 1000)
        assert all(q > 0 for _, q in bids + asks)
        assert all(a[0] > b[0] for a, b in pairwise(bids))
        assert all(a[0] < b[0] for a, b in pairwise(asks))
        assert not bids or not asks or bids[0][0] < asks[0][0]
    # 1. nothing negative
    for asset, (free, locked) in c.spot_balances().items():
        assert free >= 0 and locked >= 0, (asset, free, locked)
    assert c.futures_account().wallet_balance >= 0
    # 2. ledger identities
    spot: dict[str, D] = defaultdict(D)
    wallet = START_WALLET
    position = D(0)
    for t in c.trades():
        if t.market is SPOT:
            sign = 1 if t.side is Side.BUY else -1
            spot["BTC"] += sign * t.qty
            spot["USDT"] -= sign * t.quote_qty
            spot[t.commission_asset] -= t.commission
        else:
            wallet += t.realized_pnl - t.commission
            position += t.qty if t.side is Side.BUY else -t.qty
    # What moves the wallet without a trade of its own: a liquidation's clearance fee (the margin left is
    # the insurance fund's), funding, transfers.
    wallet += sum((r.income for r in c.income.records() if r.income_type not in TRADE_INCOME), D(0))
    for asset, (free, locked) in c.spot_balances().items():
        assert free + locked == START_SPOT.get(asset, D(0)) + spot[asset], asset
    assert c.futures_account().wallet_balance == wallet
    assert c.position(SYM).amount == position
    # Locked funds are exactly what the resting spot orders reserve.
    locked_usdt = sum((o.remaining * o.price for o in c.open_orders(SPOT, SYM) if o.side is Side.BUY), D(0))
    locked_btc = sum(
        (o.remaining for o in c.open_orders(SPOT, SYM) if o.side is Side.SELL and o.type is OrderType.LIMIT), D(0)
    )
    assert c.spot_balances()["USDT"][1] == locked_usdt and c.spot_balances()["BTC"][1] == locked_btc
    # 3. orders never over-execute and agree with their trades; ids run without gaps (a rejected request
    # takes no id)
    ids = [o.order_id for o in c.orders()]
    assert ids == list(range(4_000_000_001, 4_000_000_001 + len(ids)))
    open_ids = {o.order_id for m in (SPOT, FUT) for o in c.open_orders(m, None)}
    for o in c.orders():
        assert 0 <= o.executed_qty <= o.orig_qty
        assert o.executed_qty == sum((t.qty for t in o.trades), D(0))
        assert o.cum_quote == sum((t.quote_qty for t in o.trades), D(0))
        assert all(t.order_id == o.order_id for t in o.trades)
        if o.orig_quote_order_qty:
            assert o.cum_quote <= o.orig_quote_order_qty
        assert o.status.is_open == (o.order_id in open_ids)


def act(c: ExchangeCore, n: int, step: tuple[object, ...]) -> None:
    match step:
        case ("tick", int(count)):
            for _ in range(count):
                c.tick()
        case ("market", Market() as m, Side() as side, str(qty), bool(reduce)):
            c.place_order(
                m,
                SYM,
                side,
                OrderType.MARKET,
                quantity=D(qty),
                client_order_id=f"m{n}",
                reduce_only=reduce and m is FUT,
            )
        case ("quote", Side() as side, str(amount)):
            c.place_order(
                SPOT, SYM, side, OrderType.MARKET, quantity=None, quote_order_qty=D(amount), client_order_id=f"q{n}"
            )
        case ("limit", Market() as m, Side() as side, str(qty), int(offset), TimeInForce() as tif, bool(reduce)):
            tick = D("0.01") if m is SPOT else D("0.1")
            price = c.mid_price(m, SYM) + offset * tick * 20
            c.place_order(
                m,
                SYM,
                side,
                OrderType.LIMIT,
                quantity=D(qty),
                price=price,
                client_order_id=f"l{n % 7}",  # reused ids: duplicates while open are rejected
                time_in_force=tif,
                reduce_only=reduce and m is FUT,
            )
        case ("partial", Market() as m, Side() as side, str(qty), str(ratio), bool(expire)):
            o = c.place_order(
                m,
                SYM,
                side,
                OrderType.MARKET,
                quantity=D(qty),
                client_order_id=f"p{n}",
                fill_limit=D(qty) * D(ratio),
            )
            c.tick()
            (c.expire_order if expire else c.fill_rest)(m, o.order_id)
        case ("cancel", int(pick), bool(by_client_id)):
            opened = c.open_orders(SPOT, None) + c.open_orders(FUT, None)
            if opened:
                o = opened[pick % len(opened)]
                if by_client_id:
                    c.cancel_order(o.market, SYM, client_order_id=o.client_order_id)
                else:
                    c.cancel_order(o.market, SYM, order_id=o.order_id)
            else:
                c.cancel_order(SPOT, SYM, order_id=pick)  # unknown: -2011
        case ("move", int(bps)):
            c.move_market(SYM, D(bps))
        case ("set_position", str(amount), int(offset)):
            c.set_position(SYM, D(amount), price=c.mark_price(SYM) + offset * 10 if offset else None)
        case ("factor", str(factor)):
            c.set_depth_factor(SYM, D(factor))
        case ("leverage", int(leverage)):
            c.set_leverage(SYM, leverage)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions)
# A short liquidated with margin left: the clearance fee takes the rest of the wallet (found by Hypothesis).
@example(
    [
        ("set_position", "-2", 0),
        ("move", 89),
        ("partial", FUT, Side.SELL, "0.123", "0", False),
        ("move", 158),
        ("move", 332),
    ]
)
def test_accounting_holds_and_rejections_leave_no_trace(steps: list[tuple[object, ...]]) -> None:
    c = ExchangeCore(
        CoreConfig(spot_balances=dict(START_SPOT), futures_wallet=START_WALLET), clock=lambda: 1_700_000_000_000
    )
    diffs: list[DepthDiff] = []
    c.add_depth_listener(diffs.append)
    for n, step in enumerate(steps):
        before = snapshot(c)
        emitted = len(diffs)
        try:
            act(c, n, step)
        except SandboxError:
            assert snapshot(c) == before, step
            assert len(diffs) == emitted
        check_invariants(c)
