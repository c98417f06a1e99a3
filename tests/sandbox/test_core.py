"""The matching core: filters and codes, fees, fills, margin, positions; property tests for accounting."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hedgetui.sandbox.core import CoreConfig, ExchangeCore
from hedgetui.sandbox.model import DepthDiff, Market, OrderStatus, OrderType, SandboxError, Side, TimeInForce

SPOT, FUT = Market.SPOT, Market.FUTURES


class Clock:
    def __init__(self) -> None:
        self.t = 1_700_000_000_000

    def __call__(self) -> int:
        self.t += 1
        return self.t


def core(**kw: object) -> ExchangeCore:
    return ExchangeCore(CoreConfig(**kw), clock=Clock())  # type: ignore[arg-type]


def mkt(c: ExchangeCore, market: Market, side: Side, qty: str, cid: str, **kw: object):
    return c.place_order(market, "BTCUSDT", side, OrderType.MARKET, quantity=D(qty), client_order_id=cid, **kw)


def test_deterministic_with_a_seed() -> None:
    a, b = core(seed=3), core(seed=3)
    for _ in range(20):
        a.tick()
        b.tick()
    assert a.depth(SPOT, "BTCUSDT", 50) == b.depth(SPOT, "BTCUSDT", 50)
    assert core(seed=4).depth(SPOT, "BTCUSDT", 5) != a.depth(SPOT, "BTCUSDT", 5)


def test_books_have_100_levels_on_the_filters_and_move() -> None:
    c = core()
    for market, tick, step in ((SPOT, D("0.01"), D("0.00001")), (FUT, D("0.1"), D("0.001"))):
        _, bids, asks = c.depth(market, "BTCUSDT", 1000)
        assert len(bids) >= 100 and len(asks) >= 100
        assert all(p % tick == 0 and q % step == 0 and q > 0 for p, q in bids + asks)
        assert bids[0][0] < asks[0][0]
    before = c.mid_price(SPOT, "BTCUSDT")
    for _ in range(50):
        c.tick()
    assert c.mid_price(SPOT, "BTCUSDT") != before
    assert c.mid_price(FUT, "BTCUSDT") > c.mid_price(SPOT, "BTCUSDT") * D("0.999")


def test_spot_buy_pays_the_fee_in_base_and_walks_levels() -> None:
    c = core()
    o = mkt(c, SPOT, Side.BUY, "0.5", "a")
    assert o.status is OrderStatus.FILLED and len(o.trades) > 1
    assert o.avg_price == sum(t.price * t.qty for t in o.trades) / o.executed_qty
    assert sorted(t.price for t in o.trades) == [t.price for t in o.trades]  # level by level, best first
    free_btc = c.spot_balances()["BTC"][0]
    assert free_btc == D("0.5") - D("0.0005") and all(t.commission_asset == "BTC" for t in o.trades)
    s = mkt(c, SPOT, Side.SELL, "0.4", "b")
    assert all(t.commission_asset == "USDT" for t in s.trades)


def test_limit_rests_appears_in_depth_and_fills_as_maker_when_crossed() -> None:
    c = core()
    bid = c.best_bid_ask(SPOT, "BTCUSDT")[0]
    price = bid - D("5")
    o = c.place_order(SPOT, "BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=D("0.01"), price=price, client_order_id="l")
    assert o.status is OrderStatus.NEW
    assert c.spot_balances()["USDT"][1] == price * D("0.01")
    levels = dict(c.depth(SPOT, "BTCUSDT", 200)[1])
    assert levels[price] >= D("0.01")
    c.move_market("BTCUSDT", D("-20"))
    assert o.status is OrderStatus.FILLED and o.trades[0].is_maker and o.trades[0].price == price
    assert c.spot_balances()["USDT"][1] == 0
    far = c.best_bid_ask(SPOT, "BTCUSDT")[0] - 100
    ioc = c.place_order(
        SPOT,
        "BTCUSDT",
        Side.BUY,
        OrderType.LIMIT,
        quantity=D("0.01"),
        price=far,
        client_order_id="i",
        time_in_force=TimeInForce.IOC,
    )
    assert ioc.status is OrderStatus.EXPIRED


@pytest.mark.parametrize(
    ("market", "qty", "code"),
    [
        (SPOT, "0.000001", -1013),
        (SPOT, "0.00005", -1013),
        (SPOT, "1000", -1013),
        (FUT, "0.0005", -1111),
        (FUT, "0.001", -4164),
        (FUT, "200", -4005),
        (SPOT, "0", -1013),
    ],
)
def test_filters(market: Market, qty: str, code: int) -> None:
    with pytest.raises(SandboxError) as info:
        mkt(core(), market, Side.BUY, qty, "x")
    assert info.value.code == code


def test_balance_margin_reduce_only_and_duplicates() -> None:
    c = core()
    with pytest.raises(SandboxError, match="insufficient balance"):
        mkt(c, SPOT, Side.SELL, "1", "s")
    with pytest.raises(SandboxError) as info:
        mkt(c, FUT, Side.SELL, "50", "m")
    assert info.value.code == -2019
    with pytest.raises(SandboxError) as info:
        mkt(c, FUT, Side.BUY, "0.01", "r", reduce_only=True)
    assert info.value.code == -2022
    mkt(c, FUT, Side.SELL, "0.01", "p")
    close = mkt(c, FUT, Side.BUY, "0.001", "c", reduce_only=True)  # reduce-only is exempt from the notional minimum
    assert close.status is OrderStatus.FILLED
    with pytest.raises(SandboxError) as info:
        mkt(c, FUT, Side.BUY, "0.02", "c2", reduce_only=True)  # would flip: rejected
    assert info.value.code == -2022
    mkt(c, FUT, Side.SELL, "0.01", "p")  # the first "p" filled: the id is free again
    held = mkt(c, FUT, Side.SELL, "0.01", "h", fill_limit=D("0"))
    with pytest.raises(SandboxError) as info:
        mkt(c, FUT, Side.SELL, "0.01", "h")
    assert info.value.code == -4116
    assert c.cancel_order(FUT, "BTCUSDT", client_order_id="h").status is OrderStatus.CANCELED
    assert held.status is OrderStatus.CANCELED
    with pytest.raises(SandboxError) as info:
        c.cancel_order(FUT, "BTCUSDT", client_order_id="h")
    assert info.value.code == -2011
    with pytest.raises(SandboxError) as info:
        c.get_order(FUT, "BTCUSDT", client_order_id="nope")
    assert info.value.code == -2013
    with pytest.raises(SandboxError) as info:
        mkt(c, SPOT, Side.BUY, "0.001", "bad id")
    assert info.value.code == -1100


def test_position_entry_flip_realized_pnl_and_liquidation() -> None:
    c = core()
    mkt(c, FUT, Side.SELL, "0.1", "a")
    pos = c.position("BTCUSDT")
    assert pos.amount == D("-0.1") and pos.entry_price > 0
    w, e = c.futures_account().wallet_balance, pos.entry_price
    expected = (w - pos.amount * e) / (abs(pos.amount) * D("0.004") - pos.amount)
    assert abs(pos.liquidation_price - expected) <= D("0.1")
    c.move_market("BTCUSDT", D("-100"))
    cover = mkt(c, FUT, Side.BUY, "0.2", "b")  # through zero: long 0.1
    realized = sum(t.realized_pnl for t in cover.trades)
    assert realized > 0  # a short covered lower makes money
    assert c.position("BTCUSDT").amount == D("0.1")
    assert c.position("BTCUSDT").entry_price == cover.trades[-1].price or c.position("BTCUSDT").entry_price > 0


def test_partial_hold_then_fill_rest_or_expire() -> None:
    c = core()
    o = mkt(c, FUT, Side.SELL, "0.02", "p", fill_limit=D("0.01"))
    assert o.status is OrderStatus.PARTIALLY_FILLED and o.executed_qty == D("0.01")
    c.fill_rest(FUT, o.order_id)
    assert o.status is OrderStatus.FILLED
    e = mkt(c, FUT, Side.SELL, "0.02", "q", fill_limit=D("0.01"))
    c.expire_order(FUT, e.order_id)
    assert e.status is OrderStatus.EXPIRED and e.executed_qty == D("0.01")


def test_set_position_is_an_adjustment_trade_and_reset_restores() -> None:
    c = core()
    c.set_position("BTCUSDT", D("-0.5"))
    assert c.position("BTCUSDT").amount == D("-0.5")
    assert c.trades()[-1].order_id == -1 and c.trades()[-1].commission == 0
    c.reset()
    assert c.position("BTCUSDT").amount == 0 and c.orders() == [] and c.trades() == []
    assert c.spot_balances()["USDT"] == (D("100000"), D(0))


# ---- properties -------------------------------------------------------------------------------------

actions = st.lists(
    st.one_of(
        st.tuples(st.just("tick"), st.integers(1, 5)),
        st.tuples(
            st.just("mkt"),
            st.sampled_from([SPOT, FUT]),
            st.sampled_from(list(Side)),
            st.decimals(min_value=D("0"), max_value=D("3"), places=3),
            st.booleans(),
        ),
        st.tuples(
            st.just("limit"),
            st.sampled_from([SPOT, FUT]),
            st.sampled_from(list(Side)),
            st.decimals(min_value=D("0.001"), max_value=D("1"), places=3),
            st.integers(-30, 30),
        ),
        st.tuples(
            st.just("partial"),
            st.sampled_from([SPOT, FUT]),
            st.sampled_from(list(Side)),
            st.decimals(min_value=D("0.002"), max_value=D("1"), places=3),
            st.booleans(),
        ),
        st.tuples(st.just("cancel"), st.integers(0, 20)),
        st.tuples(st.just("move"), st.integers(-300, 300)),
        st.tuples(st.just("set_position"), st.decimals(min_value=D("-2"), max_value=D("2"), places=3)),
    ),
    max_size=25,
)


def ledger(c: ExchangeCore) -> tuple[dict[str, D], D, D]:
    spot: dict[str, D] = defaultdict(D)
    wallet = D(0)
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
    return spot, wallet, position


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions)
def test_every_balance_change_comes_from_a_trade_or_fee_and_nothing_goes_negative(steps: list[tuple]) -> None:
    c = core(spot_balances={"USDT": D("50000"), "BTC": D("0.5")}, futures_wallet=D("20000"))
    diffs: list[DepthDiff] = []
    c.add_depth_listener(diffs.append)
    snapshot = {m: c.depth(m, "BTCUSDT", 1000) for m in (SPOT, FUT)}
    books = {m: ({p: q for p, q in snapshot[m][1]}, {p: q for p, q in snapshot[m][2]}) for m in (SPOT, FUT)}
    for n, step in enumerate(steps, start=1):
        kind = step[0]
        before = (c.spot_balances(), c.futures_account().wallet_balance, len(c.orders()), len(c.trades()))
        try:
            if kind == "tick":
                for _ in range(step[1]):
                    c.tick()
            elif kind == "mkt":
                _, m, side, qty, reduce = step
                mkt(c, m, side, str(qty), f"o{n}", reduce_only=reduce and m is FUT)
            elif kind == "limit":
                _, m, side, qty, offset = step
                tick = D("0.01") if m is SPOT else D("0.1")
                price = (c.mid_price(m, "BTCUSDT") + offset).quantize(tick)
                c.place_order(
                    m,
                    "BTCUSDT",
                    side,
                    OrderType.LIMIT,
                    quantity=qty,
                    price=price,
                    client_order_id=f"o{n}",
                )
            elif kind == "partial":
                _, m, side, qty, expire = step
                o = mkt(c, m, side, str(qty), f"o{n}", fill_limit=qty / 2)
                (c.expire_order if expire else c.fill_rest)(m, o.order_id)
            elif kind == "cancel":
                open_orders = c.open_orders(SPOT, None) + c.open_orders(FUT, None)
                if open_orders:
                    o = open_orders[step[1] % len(open_orders)]
                    c.cancel_order(o.market, o.symbol, order_id=o.order_id)
            elif kind == "move":
                c.move_market("BTCUSDT", D(step[1]))
            elif kind == "set_position":
                c.set_position("BTCUSDT", step[1])
        except SandboxError:
            # A rejected request leaves no trace.
            after = (c.spot_balances(), c.futures_account().wallet_balance, len(c.orders()), len(c.trades()))
            assert after == before
        for asset, (free, locked) in c.spot_balances().items():
            assert free >= 0 and locked >= 0, (asset, free, locked)
        assert c.futures_account().wallet_balance >= 0
        for o in c.orders():
            assert o.executed_qty <= o.orig_qty
            assert o.executed_qty == sum((t.qty for t in o.trades), D(0))
    spot, wallet, position = ledger(c)
    balances = c.spot_balances()
    assert sum(balances["BTC"]) == D("0.5") + spot["BTC"]
    assert sum(balances["USDT"]) == D("50000") + spot["USDT"]
    assert c.futures_account().wallet_balance == D("20000") + wallet
    assert c.position("BTCUSDT").amount == position
    # Applying every diff to the first snapshot reproduces the book exactly.
    for d in diffs:
        bids, asks = books[d.market]
        for side_levels, changes in ((bids, d.bids), (asks, d.asks)):
            for price, qty in changes:
                if qty == 0:
                    side_levels.pop(price, None)
                else:
                    side_levels[price] = qty
    for m in (SPOT, FUT):
        _, bids, asks = c.depth(m, "BTCUSDT", 10_000)
        assert sorted(books[m][0].items(), reverse=True) == bids
        assert sorted(books[m][1].items()) == asks
