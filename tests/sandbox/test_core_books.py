"""The core's books: shape, determinism, depth calibration, cheap ticks, regrowth and exact diffs."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hedgetui.sandbox.core import CoreConfig, ExchangeCore
from hedgetui.sandbox.model import DepthDiff, Market, OrderType, SandboxError, Side, TimeInForce

SPOT, FUT = Market.SPOT, Market.FUTURES
SYM = "BTCUSDT"
T0 = 1_700_000_000_000
RICH = {"USDT": D("5000000"), "BTC": D("50")}


def core(**kw: object) -> ExchangeCore:
    cfg = CoreConfig(**kw)  # type: ignore[arg-type]
    return ExchangeCore(cfg, clock=lambda: T0)


def buy(c: ExchangeCore, market: Market, qty: str, cid: str) -> None:
    c.place_order(market, SYM, Side.BUY, OrderType.MARKET, quantity=D(qty), client_order_id=cid)


def book_mid(c: ExchangeCore, market: Market) -> D:
    bid, _, ask, _ = c.best_bid_ask(market, SYM)
    return (bid + ask) / 2


def test_every_book_has_the_configured_levels_on_tick_and_step_and_a_tight_spread() -> None:
    c = core(levels=120)
    for n in range(3):
        for market, tick, step in ((SPOT, D("0.01"), D("0.00001")), (FUT, D("0.1"), D("0.001"))):
            _, bids, asks = c.depth(market, SYM, 5000)
            assert len(bids) >= 120 and len(asks) >= 120
            for p, q in bids + asks:
                assert p % tick == 0 and q % step == 0 and q > 0
            assert [p for p, _ in bids] == sorted((p for p, _ in bids), reverse=True)
            assert [p for p, _ in asks] == sorted(p for p, _ in asks)
            assert tick <= asks[0][0] - bids[0][0] <= 4 * tick  # a tick or a few
        for _ in range(300 * n):
            c.tick()


def test_the_perp_book_sits_at_the_spot_mid_plus_the_basis() -> None:
    c = core(basis_bps=D("5"))
    for _ in range(200):
        c.tick()
        basis = (c.mid_price(FUT, SYM) / c.mid_price(SPOT, SYM) - 1) * 10_000
        assert D("1") < basis < D("9")
        for market in (SPOT, FUT):
            tick = D("0.01") if market is SPOT else D("0.1")
            assert abs(book_mid(c, market) - c.mid_price(market, SYM)) <= 3 * tick
    assert c.mark_price(SYM) == c.mid_price(FUT, SYM) and c.mark_price(SYM) % D("0.1") == 0
    assert c.index_price(SYM) == c.mid_price(SPOT, SYM) and c.index_price(SYM) % D("0.01") == 0


def test_levels_are_thin_at_the_top_and_grow_and_spread_out_with_distance() -> None:
    c = core()
    for _ in range(100):
        c.tick()
    _, bids, asks = c.depth(SPOT, SYM, 120)
    for levels in (bids, asks):
        top = sum(q for _, q in levels[:10])
        deep = sum(q for _, q in levels[60:70])
        assert deep > 3 * top
        top_span = abs(levels[10][0] - levels[0][0])
        deep_span = abs(levels[70][0] - levels[60][0])
        assert deep_span > 3 * top_span


def test_the_shape_survives_long_walks_and_trends() -> None:
    walk, trend = core(seed=13), core(seed=13, volatility_bps=D(0))
    for _ in range(3000):
        walk.tick()
    for _ in range(300):
        trend.move_market(SYM, D("1.5"))  # 450 bps up in small steps: bids pile up, asks get eaten
        trend.tick()
    for c in (walk, trend):
        for market in (SPOT, FUT):
            _, bids, asks = c.depth(market, SYM, 1000)
            mid = c.mid_price(market, SYM)
            for levels in (bids, asks):
                assert len(levels) >= 120
                span = abs(levels[119][0] / mid - 1) * 10_000
                assert D(60) < span < D(250)  # neither packed into a few bps nor spread thin
                near = sum((p * q for p, q in levels if abs(p / mid - 1) * 10_000 <= 3), D(0))
                assert D(25_000) < near < D(120_000)
                assert sum((p * q for p, q in levels), D(0)) > D(500_000)


def test_same_seed_same_calls_same_clock_give_identical_books_prices_and_fills() -> None:
    def run(seed: int) -> tuple[object, ...]:
        c = core(seed=seed, spot_balances=dict(RICH))
        for n in range(40):
            c.tick()
            if n % 7 == 0:
                buy(c, SPOT, "0.3", f"s{n}")
                c.place_order(FUT, SYM, Side.SELL, OrderType.MARKET, quantity=D("0.2"), client_order_id=f"f{n}")
        return (
            c.depth(SPOT, SYM, 1000),
            c.depth(FUT, SYM, 1000),
            c.mid_price(SPOT, SYM),
            c.funding_rate(SYM),
            [(t.price, t.qty, t.commission, t.realized_pnl) for t in c.trades()],
        )

    assert run(3) == run(3)
    assert run(3)[0] != run(4)[0] and run(3)[2] != run(4)[2]


def test_the_price_path_does_not_depend_on_what_was_traded() -> None:
    quiet, busy = core(seed=5), core(seed=5, spot_balances=dict(RICH))
    for n in range(30):
        quiet.tick()
        busy.tick()
        buy(busy, SPOT, "0.5", f"b{n}")
        assert quiet.mid_price(SPOT, SYM) == busy.mid_price(SPOT, SYM)
        assert quiet.mark_price(SYM) == busy.mark_price(SYM)


def vwap_slippage_bps(c: ExchangeCore, market: Market, usd: D, cid: str) -> tuple[D, int]:
    """Slippage of a market buy worth ``usd`` against the book mid, and how many levels it touched."""
    mid = book_mid(c, market)
    step = D("0.00001") if market is SPOT else D("0.001")
    qty = (usd / mid).quantize(step)
    order = c.place_order(market, SYM, Side.BUY, OrderType.MARKET, quantity=qty, client_order_id=cid)
    return (order.avg_price / mid - 1) * 10_000, len(order.trades)


def test_top_of_book_depth_makes_2k_to_50k_orders_realistic_and_a_thin_book_expensive() -> None:
    for market in (SPOT, FUT):
        for ticks in (0, 2000):
            c = core(seed=9, spot_balances=dict(RICH), futures_wallet=D("1000000"))
            for _ in range(ticks):
                c.tick()
            small, _ = vwap_slippage_bps(c, market, D("2000"), "small")
            for _ in range(20):  # let the consumed levels grow back
                c.tick()
            large, touched = vwap_slippage_bps(c, market, D("50000"), "large")
            assert D(0) < small < D("0.5")
            assert D("0.5") < large < D("5") and touched > 5
        thin = core(seed=9, spot_balances=dict(RICH), futures_wallet=D("1000000"))
        thin.set_depth_factor(SYM, D("0.1"))
        slippage, touched = vwap_slippage_bps(thin, market, D("50000"), "thin")
        assert slippage > D("8") and touched > 40


def test_a_quiet_tick_changes_only_a_handful_of_levels_and_a_moving_one_far_from_all() -> None:
    diffs: list[DepthDiff] = []
    quiet = core(volatility_bps=D(0))
    quiet.add_depth_listener(diffs.append)
    for _ in range(200):
        quiet.tick()
    spot = [d for d in diffs if d.market is SPOT]
    assert len(spot) >= 190  # the book lives even when the mid stands still
    assert max(len(d.bids) + len(d.asks) for d in spot) <= 20

    diffs.clear()
    moving = core()
    moving.add_depth_listener(diffs.append)
    for _ in range(200):
        moving.tick()
    per_tick = sum(len(d.bids) + len(d.asks) for d in diffs if d.market is SPOT) / 200
    assert per_tick < 0.4 * 240  # never a reshape of the whole ladder


def test_consumed_liquidity_returns_over_a_few_ticks_not_at_once() -> None:
    c = core(volatility_bps=D(0), spot_balances=dict(RICH))
    _, _, asks = c.depth(SPOT, SYM, 6)
    consumed = asks[:5]
    buy(c, SPOT, str(sum(q for _, q in consumed)), "sweep")
    prices = {p for p, _ in consumed}

    def shown() -> D:
        return sum((q for p, q in c.depth(SPOT, SYM, 200)[2] if p in prices), D(0))

    assert shown() == 0
    c.tick()
    after_one = shown()
    assert 0 < after_one < sum(q for _, q in consumed) * D("0.8")
    for _ in range(15):
        c.tick()
    assert shown() > after_one


# ---- exact diffs ------------------------------------------------------------------------------------

ops = st.lists(
    st.one_of(
        st.tuples(st.just("tick"), st.integers(1, 4)),
        st.tuples(st.just("market"), st.sampled_from([SPOT, FUT]), st.sampled_from(list(Side)), st.integers(1, 400)),
        st.tuples(st.just("limit"), st.sampled_from([SPOT, FUT]), st.sampled_from(list(Side)), st.integers(-40, 40)),
        st.tuples(st.just("cancel"), st.integers(0, 9)),
        st.tuples(st.just("move"), st.integers(-200, 200)),
        st.tuples(st.just("factor"), st.sampled_from(["0.05", "0.5", "1", "3"])),
        st.tuples(st.just("partial"), st.sampled_from([SPOT, FUT]), st.booleans()),
        st.tuples(st.just("quote"), st.sampled_from(list(Side))),
        st.tuples(st.just("reset")),
    ),
    min_size=1,
    max_size=20,
)


class Mirror:
    """A client's copy of one book: a snapshot plus every diff after it."""

    def __init__(self, c: ExchangeCore, market: Market) -> None:
        self.last_id, bids, asks = c.depth(market, SYM, 100_000)
        self.bids, self.asks = dict(bids), dict(asks)

    def apply(self, d: DepthDiff) -> None:
        assert d.first_id == self.last_id + 1 and d.prev_last_id == self.last_id and d.last_id == d.first_id
        for levels, changes in ((self.bids, d.bids), (self.asks, d.asks)):
            for price, qty in changes:
                if qty == 0:
                    assert price in levels  # only levels that existed are removed
                    del levels[price]
                else:
                    levels[price] = qty
        self.last_id = d.last_id

    def matches(self, c: ExchangeCore, market: Market) -> bool:
        last_id, bids, asks = c.depth(market, SYM, 100_000)
        return (
            last_id == self.last_id
            and bids == sorted(self.bids.items(), reverse=True)
            and asks == sorted(self.asks.items())
        )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_a_snapshot_plus_every_diff_is_always_exactly_the_book(steps: list[tuple[object, ...]]) -> None:
    c = core(spot_balances=dict(RICH), futures_wallet=D("2000000"))
    mirrors = {m: Mirror(c, m) for m in (SPOT, FUT)}
    c.add_depth_listener(lambda d: mirrors[d.market].apply(d))
    for n, step in enumerate(steps):
        try:
            match step:
                case ("tick", count):
                    for _ in range(int(str(count))):
                        c.tick()
                case ("market", Market() as m, Side() as side, int(size)):
                    qty = D(size) / (D(1000) if m is SPOT else D(100))
                    c.place_order(m, SYM, side, OrderType.MARKET, quantity=qty, client_order_id=f"m{n}")
                case ("limit", Market() as m, Side() as side, int(offset)):
                    tick = D("0.01") if m is SPOT else D("0.1")
                    price = c.mid_price(m, SYM) + offset * tick * 5
                    c.place_order(
                        m, SYM, side, OrderType.LIMIT, quantity=D("0.05"), price=price, client_order_id=f"l{n}"
                    )
                case ("cancel", int(pick)):
                    opened = c.open_orders(SPOT, None) + c.open_orders(FUT, None)
                    if opened:
                        o = opened[pick % len(opened)]
                        c.cancel_order(o.market, SYM, order_id=o.order_id)
                case ("move", int(bps)):
                    c.move_market(SYM, D(bps))
                case ("factor", str(factor)):
                    c.set_depth_factor(SYM, D(factor))
                case ("partial", Market() as m, bool(expire)):
                    o = c.place_order(
                        m,
                        SYM,
                        Side.SELL,
                        OrderType.MARKET,
                        quantity=D("0.2"),
                        client_order_id=f"p{n}",
                        fill_limit=D("0.1"),
                    )
                    (c.expire_order if expire else c.fill_rest)(m, o.order_id)
                case ("quote", Side() as side):
                    c.place_order(
                        SPOT,
                        SYM,
                        side,
                        OrderType.MARKET,
                        quantity=None,
                        quote_order_qty=D("3000"),
                        client_order_id=f"q{n}",
                    )
                case ("reset",):
                    c.reset()
        except SandboxError:
            pass
        for m in (SPOT, FUT):
            assert mirrors[m].matches(c, m)


def test_reset_keeps_update_ids_increasing_and_rebuilds_the_start_book() -> None:
    c = core(spot_balances=dict(RICH))
    fresh = core(spot_balances=dict(RICH))
    for _ in range(50):
        c.tick()
    c.place_order(
        SPOT,
        SYM,
        Side.BUY,
        OrderType.LIMIT,
        quantity=D("0.1"),
        price=D("59000"),
        client_order_id="rest",
        time_in_force=TimeInForce.GTC,
    )
    before = c.depth(SPOT, SYM, 1)[0]
    c.reset()
    after_id, bids, asks = c.depth(SPOT, SYM, 1000)
    assert after_id == before + 1
    assert (bids, asks) == fresh.depth(SPOT, SYM, 1000)[1:]
