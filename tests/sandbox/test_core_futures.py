"""USDⓈ-M orders on the core: filters and codes, margin, reduce-only, positions, PnL, liquidation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal as D

import pytest

from hedgetui.sandbox.core import CoreConfig, ExchangeCore
from hedgetui.sandbox.model import Market, Order, OrderStatus, OrderType, SandboxError, Side

FUT = Market.FUTURES
SYM = "BTCUSDT"
T0 = 1_700_000_000_000
MMR = D("0.004")


def core(**kw: object) -> ExchangeCore:
    return ExchangeCore(CoreConfig(**kw), clock=lambda: T0)  # type: ignore[arg-type]


def market(c: ExchangeCore, side: Side, qty: str, cid: str = "m", **kw: object) -> Order:
    return c.place_order(FUT, SYM, side, OrderType.MARKET, quantity=D(qty), client_order_id=cid, **kw)  # type: ignore[arg-type]


def limit(c: ExchangeCore, side: Side, qty: str, price: D | str, cid: str = "l", **kw: object) -> Order:
    return c.place_order(
        FUT,
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
    with pytest.raises(SandboxError) as info:
        yield
    assert info.value.code == code, info.value
    if msg is not None:
        assert info.value.msg == msg


def state(c: ExchangeCore) -> tuple[object, ...]:
    return (c.futures_account(), c.positions(), c.orders(), c.trades(), c.depth(FUT, SYM, 1000))


@pytest.mark.parametrize(
    ("type_", "qty", "price", "code", "msg"),
    [
        (OrderType.MARKET, "0.0005", None, -1111, "Precision is over the maximum defined for this asset."),
        (OrderType.MARKET, "0", None, -4003, "Quantity less than or equal to zero."),
        (OrderType.MARKET, "-1", None, -4003, "Quantity less than or equal to zero."),
        (OrderType.MARKET, "120.001", None, -4005, "Quantity greater than max quantity."),  # MARKET_LOT_SIZE
        (OrderType.LIMIT, "1000.001", "60000", -4005, "Quantity greater than max quantity."),
        (
            OrderType.MARKET,
            "0.001",
            None,
            -4164,
            "Order's notional must be no smaller than 100 (unless you choose reduce only).",
        ),
        (OrderType.LIMIT, "0.01", "60000.05", -4014, "Price not increased by tick size."),
        (OrderType.LIMIT, "0.01", "500", -4013, "Price less than min price."),
        (OrderType.LIMIT, "0.01", "4529764.1", -4002, "Price greater than max price."),
        (OrderType.LIMIT, "0.01", "-1", -4001, "Price less than 0."),
    ],
)
def test_filters_answer_fapi_codes_and_leave_no_trace(
    type_: OrderType, qty: str, price: str | None, code: int, msg: str
) -> None:
    c = core()
    before = state(c)
    with rejected(code, msg):
        c.place_order(
            FUT, SYM, Side.BUY, type_, quantity=D(qty), price=D(price) if price else None, client_order_id="f"
        )
    assert state(c) == before


def test_parameter_errors() -> None:
    c = core()
    with rejected(-1121, "Invalid symbol."):
        c.place_order(FUT, "XRPUSDT", Side.BUY, OrderType.MARKET, quantity=D("1"), client_order_id="a")
    with rejected(-1100):
        market(c, Side.BUY, "0.01", cid="bad id")
    with rejected(-1106, "Parameter 'quoteOrderQty' sent when not required."):
        c.place_order(
            FUT, SYM, Side.BUY, OrderType.MARKET, quantity=None, quote_order_qty=D("100"), client_order_id="q"
        )
    with rejected(-1102):
        c.place_order(FUT, SYM, Side.BUY, OrderType.MARKET, quantity=None, client_order_id="q")
    assert c.orders() == []


def test_opening_beyond_the_available_margin_is_2019() -> None:
    c = core(futures_wallet=D("1000"))  # 20x: about 20,000 USDT of notional
    with rejected(-2019, "Margin is insufficient."):
        market(c, Side.SELL, "0.34")
    with rejected(-2019):
        limit(c, Side.BUY, "0.34", "59000")
    assert c.orders() == [] and c.futures_account().wallet_balance == D("1000")
    short = market(c, Side.SELL, "0.3")
    assert short.status is OrderStatus.FILLED
    acc = c.futures_account()
    assert acc.position_initial_margin == abs(D("-0.3") * c.mark_price(SYM)) / 20
    assert acc.available_balance == max(D(0), acc.margin_balance - acc.initial_margin)
    with rejected(-2019):
        market(c, Side.SELL, "0.05", cid="more")
    assert market(c, Side.BUY, "0.3", cid="close").status is OrderStatus.FILLED  # reducing needs no margin


def test_resting_orders_hold_margin_and_leverage_changes_are_checked() -> None:
    c = core(futures_wallet=D("10000"))
    order = limit(c, Side.BUY, "1", "58000")
    acc = c.futures_account()
    assert acc.open_order_initial_margin == D("58000") / 20 and acc.initial_margin == acc.open_order_initial_margin
    assert acc.available_balance == D("10000") - D("2900")
    assert c.set_leverage(SYM, 10) == 10 and c.leverage(SYM) == 10
    assert c.futures_account().open_order_initial_margin == D("5800")
    with rejected(-2019):
        c.set_leverage(SYM, 1)  # 58,000 of margin on a 10,000 wallet
    assert c.leverage(SYM) == 10
    with rejected(-4028):
        c.set_leverage(SYM, 126)
    c.cancel_order(FUT, SYM, order_id=order.order_id)
    assert c.futures_account().open_order_initial_margin == 0


def test_reduce_only_closes_may_be_small_and_never_open_or_increase() -> None:
    c = core()
    msg = "ReduceOnly Order is rejected."
    with rejected(-2022, msg):
        market(c, Side.BUY, "0.01", cid="r0", reduce_only=True)  # flat: nothing to reduce
    market(c, Side.SELL, "0.01", cid="open")
    with rejected(-2022, msg):
        market(c, Side.SELL, "0.01", cid="r1", reduce_only=True)  # would increase the short
    with rejected(-2022, msg):
        market(c, Side.BUY, "0.011", cid="r2", reduce_only=True)  # would open a long
    small = market(c, Side.BUY, "0.001", cid="r3", reduce_only=True)  # 60 USDT: exempt from -4164
    assert small.status is OrderStatus.FILLED and small.reduce_only
    assert c.position(SYM).amount == D("-0.009")
    rest = market(c, Side.BUY, "0.009", cid="r4", reduce_only=True)
    assert rest.status is OrderStatus.FILLED and c.position(SYM).amount == 0


def test_duplicate_client_ids_4116_while_open_accepted_after_fill_rejected_in_strict_mode() -> None:
    c = core()
    market(c, Side.SELL, "0.01", cid="same")
    market(c, Side.SELL, "0.01", cid="same")  # the first one filled: accepted, a second order
    held = market(c, Side.SELL, "0.01", cid="held", fill_limit=D(0))
    with rejected(-4116, "ClientOrderId is duplicated."):
        market(c, Side.SELL, "0.01", cid="held")
    c.cancel_order(FUT, SYM, client_order_id="held")
    assert held.status is OrderStatus.CANCELED
    assert market(c, Side.SELL, "0.01", cid="held").status is OrderStatus.FILLED
    assert c.get_order(FUT, SYM, client_order_id="held").order_id > held.order_id
    strict = core(strict_client_ids=True)
    market(strict, Side.SELL, "0.01", cid="once")
    with rejected(-4116):
        market(strict, Side.SELL, "0.01", cid="once")


def test_fees_entry_price_realized_pnl_and_a_flip_through_zero() -> None:
    c = core()
    first = market(c, Side.SELL, "0.3", cid="a")
    pos = c.position(SYM)
    assert pos.amount == D("-0.3") and abs(pos.entry_price - first.cum_quote / D("0.3")) < D("1e-15")
    assert all(
        t.commission == (t.quote_qty * D("0.0005")).quantize(D("1e-8")) and t.commission_asset == "USDT"
        for t in first.trades
    )
    c.move_market(SYM, D("-50"))
    flip = market(c, Side.BUY, "0.5", cid="b")
    realized = sum(t.realized_pnl for t in flip.trades)
    closing: list[tuple[D, D]] = []
    remaining = D("0.3")
    for t in flip.trades:
        take = min(t.qty, remaining)
        if take:
            closing.append((t.price, take))
        remaining -= take
    expected = sum(((pos.entry_price - p) * q).quantize(D("1e-8")) for p, q in closing)
    assert realized == expected and realized > 0  # a short covered lower makes money
    after = c.position(SYM)
    assert after.amount == D("0.2")
    opened = flip.cum_quote - sum(p * q for p, q in closing)
    assert abs(after.entry_price - opened / D("0.2")) < D("1e-15")
    fees = sum(t.commission for t in c.trades())
    assert c.futures_account().wallet_balance == D("100000") + realized - fees
    assert after.unrealized_pnl == D("0.2") * (c.mark_price(SYM) - after.entry_price)
    assert after.notional == D("0.2") * c.mark_price(SYM)


def test_liquidation_price_follows_binance_cross_one_way_formula() -> None:
    c = core(futures_wallet=D("5000"))
    market(c, Side.SELL, "1.5", cid="short")
    pos = c.position(SYM)
    w = c.futures_account().wallet_balance
    expected = (w - pos.amount * pos.entry_price) / (abs(pos.amount) * MMR - pos.amount)
    assert pos.liquidation_price == expected.quantize(D("1e-8"))
    assert pos.entry_price * D("1.05") < pos.liquidation_price < pos.entry_price * D("1.06")
    assert pos.maint_margin == abs(pos.notional) * MMR and pos.initial_margin == abs(pos.notional) / 20
    c.set_position(SYM, D("0.01"))
    assert c.position(SYM).liquidation_price == 0  # a small long on a large wallet: not computable (< 0)
    c.set_position(SYM, D(0))
    assert c.position(SYM).liquidation_price == 0 and c.position(SYM).entry_price == 0


def test_set_position_is_an_external_trade_without_fee_at_mark_or_a_given_price() -> None:
    c = core()
    view = c.set_position(SYM, D("-0.5"))
    trade = c.trades()[-1]
    assert view.amount == D("-0.5") and view.entry_price == c.mark_price(SYM)
    assert trade.order_id == -1 and trade.commission == 0 and trade.price == c.mark_price(SYM)
    assert trade.side is Side.SELL and trade.qty == D("0.5")
    assert c.orders() == []
    closed = c.set_position(SYM, D(0), price=view.entry_price + 100)
    assert closed.amount == 0 and c.trades()[-1].realized_pnl == D("-50")
    assert c.futures_account().wallet_balance == D("100000") - 50
    with rejected(-1111):
        c.set_position(SYM, D("0.0001"))
    with rejected(-1121):
        c.set_position("NOPE", D(1))


def test_an_underwater_account_is_liquidated_at_the_mark_and_the_wallet_never_goes_negative() -> None:
    c = core(futures_wallet=D("1000"))
    market(c, Side.SELL, "0.3", cid="short")
    waiting = limit(c, Side.BUY, "0.01", "57500", cid="wait")
    liq = c.position(SYM).liquidation_price
    c.move_market(SYM, D("100"))  # not there yet
    assert c.position(SYM).amount == D("-0.3")
    c.move_market(SYM, D("800"))  # far through the liquidation price in one jump
    assert liq < c.mark_price(SYM)
    # Binance expires open orders of a liquidated account (expiry reason 5).
    assert c.position(SYM).amount == 0 and waiting.status is OrderStatus.EXPIRED
    closing = c.trades()[-1]
    liquidation = c.orders()[-1]
    assert liquidation.client_order_id.startswith("autoclose-") and liquidation.type is OrderType.LIQUIDATION
    assert closing.order_id == liquidation.order_id and closing.side is Side.BUY and closing.qty == D("0.3")
    acc = c.futures_account()
    assert acc.wallet_balance == 0  # the loss beyond the wallet went to the insurance fund
    assert acc.wallet_balance == D("1000") + sum(t.realized_pnl - t.commission for t in c.trades())
    assert acc.wallet_balance == D("1000") + c.income.total()


def test_a_resting_reduce_only_order_never_opens_when_it_fills() -> None:
    c = core(volatility_bps=D(0))
    market(c, Side.SELL, "0.05", cid="short")
    bid = c.best_bid_ask(FUT, SYM)[0]
    cover = limit(c, Side.BUY, "0.05", bid - 30, cid="cover", reduce_only=True)
    c.set_position(SYM, D("-0.02"))  # part of the short went elsewhere
    c.move_market(SYM, D("-20"))
    assert cover.status is OrderStatus.EXPIRED and cover.executed_qty == D("0.02")
    assert cover.trades[0].is_maker and cover.trades[0].commission == (cover.trades[0].quote_qty * D("0.0002"))
    assert c.position(SYM).amount == 0


def test_a_held_perp_order_fills_the_rest_and_a_held_reduce_only_stops_at_flat() -> None:
    c = core()
    held = market(c, Side.SELL, "0.2", cid="h", fill_limit=D("0.05"))
    assert held.status is OrderStatus.PARTIALLY_FILLED and c.position(SYM).amount == D("-0.05")
    assert c.futures_account().open_order_initial_margin > 0  # the held remainder still needs margin
    assert c.fill_rest(FUT, held.order_id).status is OrderStatus.FILLED
    assert c.position(SYM).amount == D("-0.2")
    close = market(c, Side.BUY, "0.2", cid="c", reduce_only=True, fill_limit=D("0.1"))
    c.set_position(SYM, D("-0.05"))
    c.fill_rest(FUT, close.order_id)
    assert close.status is OrderStatus.EXPIRED and close.executed_qty == D("0.15")
    assert c.position(SYM).amount == 0
    expiring = market(c, Side.SELL, "0.02", cid="e", fill_limit=D("0.01"))
    assert c.expire_order(FUT, expiring.order_id).status is OrderStatus.EXPIRED
    assert c.expire_order(FUT, expiring.order_id) is expiring
    assert c.open_orders(FUT, SYM) == [] and c.position(SYM).amount == D("-0.01")


def test_a_close_that_would_overdraw_the_wallet_is_rejected_and_the_next_tick_liquidates() -> None:
    c = core(futures_wallet=D("1000"))
    c.set_position(SYM, D("-3"), price=c.mark_price(SYM) - 400)  # 1,200 under water on a 1,000 wallet
    before = c.futures_account()
    with rejected(-2019, "Margin is insufficient."):
        market(c, Side.BUY, "3", cid="close", reduce_only=True)
    assert c.futures_account() == before and c.orders() == []
    c.tick()
    assert c.position(SYM).amount == 0 and c.futures_account().wallet_balance == 0
