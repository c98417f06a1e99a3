"""The core's control operations and market statistics: market moves, depth factor, reset, tickers,
funding, listeners and configuration."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from hedgetui.sandbox.core import CoreConfig, ExchangeCore
from hedgetui.sandbox.model import DepthDiff, Market, OrderStatus, OrderType, SandboxError, Side

SPOT, FUT = Market.SPOT, Market.FUTURES
SYM = "BTCUSDT"
T0 = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC


class Clock:
    def __init__(self, t: int = T0) -> None:
        self.t = t

    def __call__(self) -> int:
        return self.t


def core(clock: Clock | None = None, **kw: object) -> ExchangeCore:
    kw.setdefault("spot_balances", {"USDT": D("100000"), "BTC": D("1")})
    return ExchangeCore(CoreConfig(**kw), clock=clock or Clock())  # type: ignore[arg-type]


def test_move_market_jumps_both_books_and_fills_what_it_crosses() -> None:
    c = core()
    spot, perp = c.mid_price(SPOT, SYM), c.mid_price(FUT, SYM)
    resting = c.place_order(
        SPOT, SYM, Side.SELL, OrderType.LIMIT, quantity=D("0.1"), price=spot * D("1.01"), client_order_id="up"
    )
    c.move_market(SYM, D("150"))
    assert abs(c.mid_price(SPOT, SYM) / spot - D("1.015")) < D("0.00001")
    assert abs(c.mid_price(FUT, SYM) / perp - D("1.015")) < D("0.00001")
    for market in (SPOT, FUT):
        bid, _, ask, _ = c.best_bid_ask(market, SYM)
        assert bid <= c.mid_price(market, SYM) <= ask and bid < ask
    assert resting.status is OrderStatus.FILLED and resting.trades[0].is_maker
    c.move_market(SYM, D("-20000"))  # more than everything: the price floors instead of going negative
    assert c.mid_price(SPOT, SYM) > 0 and c.best_bid_ask(SPOT, SYM)[0] > 0
    with pytest.raises(SandboxError) as info:
        c.move_market("NOPE", D(1))
    assert info.value.code == -1121


def test_depth_factor_thins_both_books_at_once_persists_and_1_restores() -> None:
    c = core(volatility_bps=D(0))

    def depth(market: Market) -> D:
        _, bids, asks = c.depth(market, SYM, 100)
        return sum((q for _, q in bids + asks), D(0))

    normal = {m: depth(m) for m in (SPOT, FUT)}
    c.set_depth_factor(SYM, D("0.1"))
    for m in (SPOT, FUT):
        assert normal[m] * D("0.08") < depth(m) < normal[m] * D("0.12")
    for _ in range(50):
        c.tick()
    for m in (SPOT, FUT):
        assert depth(m) < normal[m] * D("0.2")
    c.set_depth_factor(SYM, D(1))
    for _ in range(10):
        c.tick()
    for m in (SPOT, FUT):
        assert depth(m) > normal[m] * D("0.6")
    for bad in (D(0), D(-1), D("NaN")):
        with pytest.raises(SandboxError):
            c.set_depth_factor(SYM, bad)


def test_reset_restores_the_start_state_but_not_the_update_ids() -> None:
    c = core()
    start = (c.spot_balances(), c.futures_account(), c.positions(), c.mid_price(SPOT, SYM), c.funding_rate(SYM))
    start_depth = c.depth(FUT, SYM, 1000)
    diffs: list[DepthDiff] = []
    c.add_depth_listener(diffs.append)
    for _ in range(30):
        c.tick()
    c.place_order(SPOT, SYM, Side.BUY, OrderType.MARKET, quantity=D("0.2"), client_order_id="a")
    c.place_order(SPOT, SYM, Side.SELL, OrderType.LIMIT, quantity=D("0.5"), price=D("70000"), client_order_id="b")
    c.place_order(FUT, SYM, Side.SELL, OrderType.MARKET, quantity=D("0.2"), client_order_id="c")
    c.set_depth_factor(SYM, D("0.2"))
    ids = {m: c.depth(m, SYM, 1)[0] for m in (SPOT, FUT)}
    diffs.clear()
    c.reset()
    assert (c.spot_balances(), c.futures_account(), c.positions()) == start[:3]
    assert (c.mid_price(SPOT, SYM), c.funding_rate(SYM)) == start[3:]
    assert c.orders() == [] and c.trades() == [] and c.open_orders(SPOT, None) == []
    assert c.depth(FUT, SYM, 1000)[1:] == start_depth[1:]
    assert [(d.market, d.first_id) for d in diffs] == [(SPOT, ids[SPOT] + 1), (FUT, ids[FUT] + 1)]
    order = c.place_order(SPOT, SYM, Side.BUY, OrderType.MARKET, quantity=D("0.01"), client_order_id="a")
    assert order.order_id == 4_000_000_001 and order.trades[0].trade_id == 900_001


def test_ticker_counts_trades_since_the_start() -> None:
    clock = Clock()
    c = core(clock)
    empty = c.ticker_24h(SPOT, SYM)
    assert empty["count"] == 0 and empty["first_trade_id"] == -1 and empty["volume"] == 0
    assert empty["last"] == c.mid_price(SPOT, SYM) == empty["open"]
    clock.t += 60_000
    for _ in range(20):
        c.tick()
    buy = c.place_order(SPOT, SYM, Side.BUY, OrderType.MARKET, quantity=D("0.3"), client_order_id="b")
    perp = c.place_order(FUT, SYM, Side.SELL, OrderType.MARKET, quantity=D("0.1"), client_order_id="f")
    c.set_position(SYM, D(0))  # external: not a market trade
    t = c.ticker_24h(SPOT, SYM)
    assert t["count"] == len(buy.trades) and t["volume"] == D("0.3") and t["quote_volume"] == buy.cum_quote
    assert t["first_trade_id"] == buy.trades[0].trade_id and t["last_trade_id"] == buy.trades[-1].trade_id
    assert t["last"] == buy.trades[-1].price and t["last_qty"] == buy.trades[-1].qty
    assert t["weighted_avg"] == buy.avg_price
    assert t["open_time"] == T0 and t["close_time"] == T0 + 60_000
    assert isinstance(t["high"], D) and isinstance(t["low"], D) and t["low"] <= t["last"] <= t["high"]
    assert c.ticker_24h(FUT, SYM)["count"] == len(perp.trades)  # the external trade does not count


def test_funding_rate_and_next_funding_time() -> None:
    clock = Clock(T0)
    c = core(clock)
    assert c.next_funding_time() == 1_700_006_400_000  # 00:00 UTC next day
    clock.t = 1_700_006_400_000  # exactly at a funding time: the next one
    assert c.next_funding_time() == 1_700_006_400_000 + 8 * 3600 * 1000
    for _ in range(200):
        c.tick()
        assert D("0.00005") < c.funding_rate(SYM) < D("0.00015")


def test_listeners_are_called_synchronously_until_removed() -> None:
    c = core()
    seen: list[DepthDiff] = []
    c.add_depth_listener(seen.append)
    c.tick()
    assert {d.market for d in seen} == {SPOT, FUT}
    assert all(d.last_id == c.depth(d.market, SYM, 1)[0] for d in seen)
    c.remove_depth_listener(seen.append)
    c.remove_depth_listener(seen.append)  # removing twice is harmless
    c.tick()
    assert len(seen) == 2


def test_configuration_is_checked_and_two_symbols_trade_independently() -> None:
    with pytest.raises(ValueError, match="unknown symbol"):
        core(symbols=("DOGEUSDT",))
    with pytest.raises(ValueError, match="at least 100"):
        core(levels=50)
    c = core(symbols=("BTCUSDT", "ETHUSDT"), spot_balances={"USDT": D("100000")})
    assert set(c.spot_balances()) == {"BTC", "ETH", "USDT"}
    assert [p.symbol for p in c.positions()] == ["BTCUSDT", "ETHUSDT"]
    eth = c.mid_price(SPOT, "ETHUSDT")
    assert D("2900") < eth < D("3100")
    c.place_order(SPOT, "ETHUSDT", Side.BUY, OrderType.MARKET, quantity=D("1"), client_order_id="e")
    assert c.spot_balances()["ETH"][0] == D("0.999") and c.spot_balances()["BTC"] == (D(0), D(0))
    _, bids, _ = c.depth(FUT, "ETHUSDT", 200)
    assert len(bids) >= 120 and all(p % D("0.01") == 0 for p, _ in bids)
    c.move_market("ETHUSDT", D("100"))
    assert c.mid_price(SPOT, "ETHUSDT") > eth and abs(c.mid_price(SPOT, SYM) - D("60000")) < 1
