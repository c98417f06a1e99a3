"""Spot orders on the core: filters and error codes, fees, walking the book, resting, IOC, client ids."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal as D

import pytest

from hedgetui.sandbox.core import CoreConfig, ExchangeCore
from hedgetui.sandbox.model import Market, Order, OrderStatus, OrderType, SandboxError, Side, TimeInForce

SPOT = Market.SPOT
SYM = "BTCUSDT"
T0 = 1_700_000_000_000


def core(**kw: object) -> ExchangeCore:
    kw.setdefault("spot_balances", {"USDT": D("200000"), "BTC": D("2")})
    return ExchangeCore(CoreConfig(**kw), clock=lambda: T0)  # type: ignore[arg-type]


def market(c: ExchangeCore, side: Side, qty: str | None, cid: str = "c1", **kw: object) -> Order:
    quantity = D(qty) if qty is not None else None
    return c.place_order(SPOT, SYM, side, OrderType.MARKET, quantity=quantity, client_order_id=cid, **kw)  # type: ignore[arg-type]


def limit(c: ExchangeCore, side: Side, qty: str, price: D | str, cid: str = "l1", **kw: object) -> Order:
    return c.place_order(
        SPOT,
        SYM,
        side,
        OrderType.LIMIT,
        quantity=D(qty),
        price=D(price),
        client_order_id=cid,
        **kw,  # type: ignore[arg-type]
    )


@contextmanager
def rejected(code: int, msg: str | None = None) -> Iterator[None]:
    """The block must raise this Binance error (and, with ``msg``, exactly that message)."""
    with pytest.raises(SandboxError) as info:
        yield
    assert info.value.code == code, info.value
    if msg is not None:
        assert info.value.msg == msg


def status(c: ExchangeCore, order: Order) -> OrderStatus:
    """The order's status as the exchange reports it now."""
    return c.get_order(order.market, order.symbol, order_id=order.order_id).status


def state(c: ExchangeCore) -> tuple[object, ...]:
    return (c.spot_balances(), c.orders(), c.trades(), c.depth(SPOT, SYM, 1000), c.open_orders(SPOT, None))


@pytest.mark.parametrize(
    ("side", "type_", "qty", "price", "msg"),
    [
        (Side.BUY, OrderType.MARKET, "0.000001", None, "Filter failure: LOT_SIZE"),  # below minQty
        (Side.BUY, OrderType.MARKET, "0.000015", None, "Filter failure: LOT_SIZE"),  # not a step multiple
        (Side.BUY, OrderType.MARKET, "0", None, "Filter failure: LOT_SIZE"),
        (Side.BUY, OrderType.MARKET, "100.00001", None, "Filter failure: LOT_SIZE"),  # MARKET_LOT_SIZE max 100
        (Side.BUY, OrderType.LIMIT, "9000.00001", "1", "Filter failure: LOT_SIZE"),  # LOT_SIZE max 9000
        (Side.BUY, OrderType.MARKET, "0.00008", None, "Filter failure: NOTIONAL"),  # 4.8 USDT < 5
        (Side.SELL, OrderType.LIMIT, "0.001", "4000", "Filter failure: NOTIONAL"),  # 4 USDT
        (Side.BUY, OrderType.LIMIT, "200", "50000", "Filter failure: NOTIONAL"),  # above maxNotional 9M
        (Side.BUY, OrderType.LIMIT, "0.01", "60000.001", "Filter failure: PRICE_FILTER"),  # off tick
        (Side.BUY, OrderType.LIMIT, "0.01", "0", "Filter failure: PRICE_FILTER"),
        (Side.BUY, OrderType.LIMIT, "0.01", "1000000.01", "Filter failure: PRICE_FILTER"),  # above maxPrice
    ],
)
def test_filters_answer_1013_and_leave_no_trace(
    side: Side, type_: OrderType, qty: str, price: str | None, msg: str
) -> None:
    c = core()
    before = state(c)
    with rejected(-1013, msg):
        c.place_order(SPOT, SYM, side, type_, quantity=D(qty), price=D(price) if price else None, client_order_id="f")
    assert state(c) == before


def test_parameter_errors_have_binance_codes() -> None:
    c = core()
    with rejected(-1121, "Invalid symbol."):
        c.place_order(SPOT, "DOGEUSDT", Side.BUY, OrderType.MARKET, quantity=D("1"), client_order_id="a")
    for bad in ("has space", "x" * 37, "", "naïve", "semi;colon"):
        with rejected(
            -1100,
            "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.",
        ):
            market(c, Side.BUY, "0.01", cid=bad)
    market(c, Side.BUY, "0.001", cid="ok.A:/z_0-9")  # every legal character class
    with rejected(-1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed."):
        market(c, Side.BUY, None)
    with rejected(-1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed."):
        c.place_order(SPOT, SYM, Side.BUY, OrderType.LIMIT, quantity=D("0.01"), client_order_id="p")
    with rejected(-1106, "Parameter 'price' sent when not required."):
        market(c, Side.BUY, "0.01", price=D("60000"))
    with rejected(-1106, "Parameter 'reduceOnly' sent when not required."):
        market(c, Side.SELL, "0.01", reduce_only=True)
    with rejected(-1106, "Parameter 'quoteOrderQty' sent when not required."):
        limit(c, Side.BUY, "0.01", "59000", quote_order_qty=D("100"))
    with rejected(-1128):
        market(c, Side.BUY, "0.01", quote_order_qty=D("100"))
    with rejected(-1100):
        market(c, Side.BUY, "-0.01")
    assert len(c.orders()) == 1


def test_insufficient_balance_is_2010_on_both_sides() -> None:
    c = core(spot_balances={"USDT": D("1000"), "BTC": D("0.01")})
    msg = "Account has insufficient balance for requested action."
    with rejected(-2010, msg):
        market(c, Side.BUY, "0.02")  # ~1200 USDT
    with rejected(-2010, msg):
        limit(c, Side.BUY, "0.02", "55000")  # the whole order at its limit price: 1100 USDT
    with rejected(-2010, msg):
        market(c, Side.SELL, "0.011")
    with rejected(-2010, msg):
        market(c, Side.BUY, None, quote_order_qty=D("1000.01"))
    assert c.orders() == [] and c.spot_balances()["USDT"] == (D("1000"), D(0))
    assert market(c, Side.SELL, "0.01").status is OrderStatus.FILLED  # exactly the balance is fine


def test_a_buy_pays_its_fee_in_base_and_a_sell_in_quote() -> None:
    c = core(spot_balances={"USDT": D("100000")})
    order = market(c, Side.BUY, "0.5")
    fees = sum(t.commission for t in order.trades)
    assert all(t.commission_asset == "BTC" and t.commission == t.qty * D("0.001") for t in order.trades)
    assert c.spot_balances()["BTC"] == (D("0.5") - fees, D(0))
    assert c.spot_balances()["BTC"][0] < order.executed_qty  # received less than ordered
    assert c.spot_balances()["USDT"] == (D("100000") - order.cum_quote, D(0))

    sell = market(c, Side.SELL, "0.4", cid="s")
    sell_fees = sum(t.commission for t in sell.trades)
    assert all(t.commission_asset == "USDT" for t in sell.trades)
    assert sell_fees == sum((t.quote_qty * D("0.001")).quantize(D("1e-8")) for t in sell.trades)
    assert c.spot_balances()["USDT"][0] == D("100000") - order.cum_quote + sell.cum_quote - sell_fees
    assert c.spot_balances()["BTC"][0] == D("0.5") - fees - D("0.4")


def test_a_market_order_walks_the_book_level_by_level_at_each_level_price() -> None:
    c = core()
    _, _, asks = c.depth(SPOT, SYM, 50)
    order = market(c, Side.BUY, "0.5")
    assert order.status is OrderStatus.FILLED and len(order.trades) > 3
    for trade, (price, _) in zip(order.trades, asks, strict=False):
        assert trade.price == price and not trade.is_maker
    assert all(t.qty == q for t, (_, q) in zip(order.trades[:-1], asks, strict=False))  # whole levels
    assert order.trades[-1].qty <= asks[len(order.trades) - 1][1]
    assert order.avg_price == sum(t.price * t.qty for t in order.trades) / D("0.5")
    assert order.cum_quote == sum(t.quote_qty for t in order.trades)
    _, _, after = c.depth(SPOT, SYM, 50)
    assert after[0][0] >= order.trades[-1].price  # the walked liquidity is gone


def test_a_market_order_the_book_cannot_fill_is_filled_as_far_as_possible_then_expired() -> None:
    c = core(spot_balances={"USDT": D("10000000")})
    c.set_depth_factor(SYM, D("0.001"))
    _, _, asks = c.depth(SPOT, SYM, 100_000)
    whole_side = sum(q for _, q in asks)
    order = market(c, Side.BUY, "50")
    assert order.status is OrderStatus.EXPIRED
    assert order.executed_qty == whole_side and len(order.trades) == len(asks)
    assert c.depth(SPOT, SYM, 10)[2] == []
    assert c.best_bid_ask(SPOT, SYM)[2:] == (D(0), D(0))


def test_quote_order_qty_buys_whole_steps_for_at_most_that_amount() -> None:
    c = core()
    order = market(c, Side.BUY, None, quote_order_qty=D("1000"))
    assert order.status is OrderStatus.FILLED and order.orig_quote_order_qty == D("1000")
    assert order.orig_qty == order.executed_qty and order.executed_qty % D("0.00001") == 0
    assert D("999") < order.cum_quote <= D("1000")
    sell = market(c, Side.SELL, None, cid="s", quote_order_qty=D("500"))
    assert sell.cum_quote <= D("500") and sell.executed_qty > 0
    with rejected(-1013, "Filter failure: NOTIONAL"):
        market(c, Side.BUY, None, cid="tiny", quote_order_qty=D("4"))


def test_a_limit_rests_locks_funds_shows_in_depth_and_fills_as_maker_when_the_market_crosses() -> None:
    c = core()
    bid = c.best_bid_ask(SPOT, SYM)[0]
    price = bid + D("0.01") if c.best_bid_ask(SPOT, SYM)[2] - bid > D("0.01") else bid
    order = limit(c, Side.BUY, "0.1", price)
    assert order.status is OrderStatus.NEW and order.trades == []
    assert c.spot_balances()["USDT"] == (D("200000") - price * D("0.1"), price * D("0.1"))
    level = dict(c.depth(SPOT, SYM, 200)[1])[price]
    assert level >= D("0.1")
    assert c.open_orders(SPOT, SYM) == [order]

    c.move_market(SYM, D("-30"))
    assert status(c, order) is OrderStatus.FILLED and len(order.trades) == 1
    trade = order.trades[0]
    assert trade.is_maker and trade.price == price and trade.qty == D("0.1")
    assert trade.commission == D("0.0001") and trade.commission_asset == "BTC"
    assert c.spot_balances()["USDT"] == (D("200000") - price * D("0.1"), D(0))
    assert c.spot_balances()["BTC"] == (D("2") + D("0.0999"), D(0))
    assert c.open_orders(SPOT, SYM) == []
    assert dict(c.depth(SPOT, SYM, 1000)[1]).get(price, D(0)) < level


def test_a_marketable_limit_takes_up_to_its_price_then_rests_the_rest() -> None:
    c = core(volatility_bps=D(0))
    _, _, asks = c.depth(SPOT, SYM, 10)
    price = asks[2][0]
    available = sum(q for p, q in asks if p <= price)
    order = limit(c, Side.BUY, str(available + D("0.05")), price)
    assert order.status is OrderStatus.PARTIALLY_FILLED and order.executed_qty == available
    assert [t.price for t in order.trades] == [p for p, _ in asks[:3]] and not any(t.is_maker for t in order.trades)
    assert c.spot_balances()["USDT"][1] == D("0.05") * price  # only the resting part is locked
    assert c.best_bid_ask(SPOT, SYM)[:2] == (price, D("0.05"))
    c.tick()  # the market did not move away: sellers come back through the bid, which fills as maker
    assert status(c, order) is OrderStatus.FILLED and order.trades[-1].is_maker
    assert order.trades[-1].price == price
    assert c.spot_balances()["USDT"][1] == 0


def test_ioc_expires_what_does_not_fill_at_once() -> None:
    c = core()
    _, _, asks = c.depth(SPOT, SYM, 10)
    partial = limit(c, Side.BUY, "1", asks[1][0], cid="ioc", time_in_force=TimeInForce.IOC)
    assert partial.status is OrderStatus.EXPIRED and partial.executed_qty == asks[0][1] + asks[1][1]
    far = limit(c, Side.BUY, "0.01", asks[0][0] - 100, cid="far", time_in_force=TimeInForce.IOC)
    assert far.status is OrderStatus.EXPIRED and far.executed_qty == 0
    assert c.spot_balances()["USDT"][1] == 0 and c.open_orders(SPOT, None) == []


def test_cancel_releases_the_lock_and_unknown_or_final_orders_are_2011_lookups_2013() -> None:
    c = core()
    order = limit(c, Side.SELL, "0.5", "65000")
    assert c.spot_balances()["BTC"] == (D("1.5"), D("0.5"))
    assert dict(c.depth(SPOT, SYM, 1000)[2])[D("65000")] >= D("0.5")
    canceled = c.cancel_order(SPOT, SYM, client_order_id="l1")
    assert canceled is order and order.status is OrderStatus.CANCELED
    assert c.spot_balances()["BTC"] == (D("2"), D(0))
    assert dict(c.depth(SPOT, SYM, 1000)[2]).get(D("65000"), D(0)) < D("0.5")
    with rejected(-2011, "Unknown order sent."):
        c.cancel_order(SPOT, SYM, order_id=order.order_id)
    with rejected(-2011, "Unknown order sent."):
        c.cancel_order(SPOT, SYM, order_id=1)
    with rejected(-2013, "Order does not exist."):
        c.get_order(SPOT, SYM, client_order_id="nope")
    with rejected(-2013):
        c.get_order(Market.FUTURES, SYM, order_id=order.order_id)  # the other market's ids are not found
    with rejected(-1102):
        c.get_order(SPOT, SYM)
    assert c.get_order(SPOT, SYM, order_id=order.order_id) is order


def test_duplicate_client_ids_while_open_are_2010_finished_ones_are_reused_unless_strict() -> None:
    c = core()
    first = limit(c, Side.BUY, "0.01", "50000", cid="dup")
    with rejected(-2010, "Duplicate order sent."):
        limit(c, Side.BUY, "0.01", "50000", cid="dup")
    c.cancel_order(SPOT, SYM, order_id=first.order_id)
    again = market(c, Side.BUY, "0.01", cid="dup")
    third = market(c, Side.BUY, "0.01", cid="dup")  # the earlier one filled: Binance accepts the id
    assert c.get_order(SPOT, SYM, client_order_id="dup") is third and again.order_id < third.order_id
    assert [o.order_id for o in c.orders()] == [4_000_000_001, 4_000_000_002, 4_000_000_003]

    strict = core(strict_client_ids=True)
    market(strict, Side.BUY, "0.01", cid="once")
    with rejected(-2010, "Duplicate order sent."):
        market(strict, Side.BUY, "0.01", cid="once")


def test_an_order_expires_its_own_resting_orders_it_would_trade_with() -> None:
    c = core()
    ask = c.best_bid_ask(SPOT, SYM)[2]
    own = limit(c, Side.SELL, "0.2", ask - D("0.01"), cid="own")  # inside the spread: the best ask
    assert c.best_bid_ask(SPOT, SYM)[2] == ask - D("0.01")
    taker = market(c, Side.BUY, "0.05", cid="taker")
    assert own.status is OrderStatus.EXPIRED and own.trades == []
    assert all(t.order_id == taker.order_id for t in c.trades())
    assert c.spot_balances()["BTC"][1] == 0
    far = limit(c, Side.SELL, "0.2", ask + D("500"), cid="far")
    market(c, Side.BUY, "0.05", cid="taker2")
    assert far.status is OrderStatus.NEW  # out of the taker's reach


def test_a_held_market_order_fills_the_rest_later_or_expires() -> None:
    c = core()
    held = market(c, Side.BUY, "0.3", cid="h", fill_limit=D("0.1"))
    assert held.status is OrderStatus.PARTIALLY_FILLED and held.executed_qty == D("0.1")
    assert c.open_orders(SPOT, SYM) == [held]
    c.tick()
    assert c.fill_rest(SPOT, held.order_id).status is OrderStatus.FILLED and held.executed_qty == D("0.3")
    assert c.fill_rest(SPOT, held.order_id) is held  # finished: unchanged

    nothing = market(c, Side.SELL, "0.3", cid="n", fill_limit=D("0"))
    assert nothing.status is OrderStatus.NEW and nothing.trades == []
    assert c.expire_order(SPOT, nothing.order_id).status is OrderStatus.EXPIRED
    assert c.open_orders(SPOT, None) == []
    with rejected(-2013):
        c.fill_rest(Market.FUTURES, held.order_id)

    # Funds spent meanwhile: the rest fills only as far as the balance goes, then expires.
    poor = core(spot_balances={"USDT": D("7000")})
    late = market(poor, Side.BUY, "0.1", cid="late", fill_limit=D("0.05"))
    market(poor, Side.BUY, "0.06", cid="spend")
    poor.fill_rest(SPOT, late.order_id)
    assert late.status is OrderStatus.EXPIRED and D("0.05") <= late.executed_qty < D("0.1")
    assert poor.spot_balances()["USDT"][0] >= 0
