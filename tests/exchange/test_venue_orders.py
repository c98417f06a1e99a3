"""The adapter's order and account side against the sandbox: market and limit orders on both markets with
our client ids, look-ups, open orders, cancels, fills with fees, the status vocabulary, balances and the
position, and the checks that refuse an order before anything is sent."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from typing import Any

import pytest

from hedgetui.domain.orders import OrderStatus, Side
from hedgetui.domain.venue import MarketKind
from hedgetui.exchange.errors import Rejected
from hedgetui.exchange.venue import BinanceVenue
from hedgetui.sandbox.server import SandboxServer
from tests.exchange.conftest import add_fault

SPOT, PERP = MarketKind.SPOT, MarketKind.PERP


async def test_market_orders_fills_fees_balances(venue: BinanceVenue, sandbox: SandboxServer) -> None:
    flat = await venue.fetch_perp_position()
    assert flat.amount == 0 and flat.is_flat and flat.symbol == "BTC/USDT:USDT"

    spot = await venue.create_market_order(SPOT, Side.BUY, D("0.01"), "vt1SO1")
    assert (spot.status, spot.exchange_status, spot.side, spot.type) == (
        OrderStatus.FILLED,
        "FILLED",
        Side.BUY,
        "market",
    )
    assert spot.client_order_id == "vt1SO1" and spot.kind is SPOT and spot.symbol == "BTC/USDT"
    assert spot.filled == D("0.01") and spot.remaining == 0 and spot.average
    assert spot.cost == spot.filled * spot.average
    assert [(f.cost, f.currency) for f in spot.fees] == [(D("0.00001"), "BTC")]  # 0.1 % of the bought BTC

    perp = await venue.create_market_order(PERP, Side.SELL, D("0.010"), "vt1PO1")
    assert perp.status is OrderStatus.FILLED and perp.filled == D("0.01") and perp.average is not None
    assert perp.fees == ()  # USDⓈ-M order answers carry no fee: it is in the trades
    assert not perp.reduce_only

    # The exchange saw our ids and quantities, not ccxt's invented ones or a quoteOrderQty.
    sent = {o.client_order_id: o for o in sandbox.core.orders()}
    assert sent["vt1SO1"].orig_qty == D("0.01") and sent["vt1SO1"].orig_quote_order_qty == 0
    assert sent["vt1PO1"].orig_qty == D("0.01")

    perp_trades = await venue.fetch_order_trades(PERP, perp.order_id)
    assert sum(t.qty for t in perp_trades) == D("0.01")
    assert all(t.order_id == perp.order_id for t in perp_trades)
    assert all(t.fee and t.fee.currency == "USDT" and t.fee.cost > 0 for t in perp_trades)
    assert sum(t.qty * t.price for t in perp_trades) == perp.cost
    spot_trades = await venue.fetch_order_trades(SPOT, spot.order_id)
    assert sum(t.fee.cost for t in spot_trades if t.fee) == D("0.00001")
    assert all(t.maker is False for t in spot_trades + perp_trades)  # market orders take

    by_cid = await venue.fetch_order(PERP, client_order_id="vt1PO1")
    by_id = await venue.fetch_order(SPOT, order_id=spot.order_id)
    assert by_cid.order_id == perp.order_id and by_cid.status is OrderStatus.FILLED
    assert by_id.client_order_id == "vt1SO1" and by_id.filled == D("0.01")

    balances = await venue.fetch_spot_balances()
    assert balances["BTC"].total == D("0.00999") and balances["BTC"].free == D("0.00999")
    assert balances["USDT"].total == D(100000) - spot.cost
    futures = await venue.fetch_futures_balance()
    fees = sum(t.fee.cost for t in perp_trades if t.fee)
    assert futures.asset == "USDT" and futures.wallet == D(100000) - fees
    assert futures.initial_margin > 0 and futures.available < futures.margin_balance
    position = await venue.fetch_perp_position()
    assert position.amount == D("-0.01") and position.entry_price == perp.average
    assert position.liquidation_price and position.liquidation_price > position.entry_price
    assert position.notional < 0 and position.mark_price and position.margin_mode == "cross"

    close = await venue.create_market_order(PERP, Side.BUY, D("0.01"), "vt1PC1", reduce_only=True)
    assert close.reduce_only and close.status is OrderStatus.FILLED
    assert (await venue.fetch_perp_position()).amount == 0


@pytest.mark.parametrize("kind", [SPOT, PERP])
async def test_limit_orders_open_orders_and_cancels(venue: BinanceVenue, kind: MarketKind) -> None:
    book = await venue.fetch_order_book(kind, 5)
    tick = venue.rules(kind).tick
    below = (book.bids[-1][0] - 100 * tick).quantize(tick)
    qty = D("0.002")
    by_cid = await venue.create_limit_order(kind, Side.BUY, qty, below, "vt2A")
    by_id = await venue.create_limit_order(kind, Side.BUY, qty, below - tick, "vt2B")
    assert by_cid.status is OrderStatus.OPEN and by_cid.exchange_status == "NEW" and by_cid.filled == 0
    assert by_cid.type == "limit" and by_cid.remaining == qty and by_cid.average is None
    assert sorted(o.client_order_id or "" for o in await venue.fetch_open_orders(kind)) == ["vt2A", "vt2B"]

    canceled = await venue.cancel_order(kind, client_order_id="vt2A")
    # On a spot cancel ccxt's clientOrderId is the cancel request's own id: ours must survive.
    assert canceled.status is OrderStatus.CANCELED and canceled.client_order_id == "vt2A"
    assert canceled.order_id == by_cid.order_id
    canceled = await venue.cancel_order(kind, order_id=by_id.order_id)
    assert canceled.status is OrderStatus.CANCELED and canceled.client_order_id == "vt2B"
    assert await venue.fetch_open_orders(kind) == []
    assert (await venue.fetch_order(kind, client_order_id="vt2A")).status.is_terminal


async def test_perp_limit_reduce_only_and_ioc_expiry(venue: BinanceVenue) -> None:
    await venue.create_market_order(PERP, Side.SELL, D("0.01"), "vt3PO1")
    book = await venue.fetch_order_book(PERP, 5)
    far = book.bids[-1][0] - D(100)
    resting = await venue.create_limit_order(PERP, Side.BUY, D("0.01"), far, "vt3PC1", reduce_only=True)
    assert resting.reduce_only and resting.status is OrderStatus.OPEN
    await venue.cancel_order(PERP, client_order_id="vt3PC1")
    ioc = await venue.create_limit_order(PERP, Side.BUY, D("0.01"), far, "vt3IOC", time_in_force="IOC")
    assert ioc.status is OrderStatus.EXPIRED and ioc.exchange_status == "EXPIRED" and ioc.filled == 0


async def test_partial_fills_are_told_apart_from_open(venue: BinanceVenue, sandbox: SandboxServer) -> None:
    await add_fault(sandbox, "POST /fapi/v1/order", "partial", fill_ratio=0.5, rest_after_ms=200)
    first = await venue.create_market_order(PERP, Side.SELL, D("0.010"), "vt4P")
    assert first.status is OrderStatus.PARTIALLY_FILLED and first.exchange_status == "PARTIALLY_FILLED"
    assert first.filled == D("0.005") and first.remaining == D("0.005") and not first.status.is_terminal
    await add_fault(sandbox, "POST /api/v3/order", "partial", fill_ratio=0.5, rest_after_ms=200, expire=True)
    spot = await venue.create_market_order(SPOT, Side.BUY, D("0.002"), "vt4S")
    assert spot.status is OrderStatus.PARTIALLY_FILLED
    for _ in range(50):
        perp_now = await venue.fetch_order(PERP, client_order_id="vt4P")
        spot_now = await venue.fetch_order(SPOT, client_order_id="vt4S")
        if perp_now.status.is_terminal and spot_now.status.is_terminal:
            break
        await asyncio.sleep(0.05)
    assert perp_now.status is OrderStatus.FILLED and perp_now.filled == D("0.01")
    assert spot_now.status is OrderStatus.EXPIRED and spot_now.filled == D("0.001")


@pytest.mark.parametrize(
    ("kind", "amount", "kwargs", "problem"),
    [
        (PERP, "0.0105", {}, "not a multiple of the BTC/USDT:USDT step 0.001"),
        (SPOT, "0.000015", {}, "step"),
        (PERP, "0", {}, "must be positive"),
        (PERP, "-0.01", {}, "must be positive"),
        (PERP, "NaN", {}, "must be positive"),
        (PERP, "121", {}, "over the BTC/USDT:USDT maximum 120"),  # MARKET_LOT_SIZE
        (SPOT, "0.01", {"reduce_only": True}, "reduce-only exists only on the perp"),
        (SPOT, "0.01", {"client_order_id": "has space"}, "client order id"),
        (SPOT, "0.01", {"client_order_id": "x" * 37}, "client order id"),
        (SPOT, "0.01", {"client_order_id": ""}, "client order id"),
    ],
)
async def test_market_orders_refused_before_sending(
    venue: BinanceVenue,
    sandbox: SandboxServer,
    kind: MarketKind,
    amount: str,
    kwargs: dict[str, Any],
    problem: str,
) -> None:
    cid = str(kwargs.pop("client_order_id", "vt5X1"))
    with pytest.raises(Rejected, match=problem) as info:
        await venue.create_market_order(kind, Side.BUY, D(amount), cid, **kwargs)
    assert info.value.source == "LocalCheck" and info.value.operation == "create"
    assert sandbox.core.orders() == []


@pytest.mark.parametrize(
    ("amount", "price", "tif", "problem"),
    [
        ("0.01", "50000.05", "GTC", "tick 0.1"),
        ("0.01", "-1", "GTC", "tick"),
        ("0.01", "50000", "GTX_TYPO", "time in force"),
        ("1001", "50000", "GTC", "over the BTC/USDT:USDT maximum 1000"),  # LOT_SIZE for limits
    ],
)
async def test_limit_orders_refused_before_sending(
    venue: BinanceVenue, sandbox: SandboxServer, amount: str, price: str, tif: str, problem: str
) -> None:
    with pytest.raises(Rejected, match=problem):
        await venue.create_limit_order(PERP, Side.BUY, D(amount), D(price), "vt6X1", time_in_force=tif)
    assert sandbox.core.orders() == []


async def test_post_only_is_perp_only(venue: BinanceVenue, sandbox: SandboxServer) -> None:
    with pytest.raises(Rejected, match="time in force"):
        await venue.create_limit_order(SPOT, Side.BUY, D("0.01"), D("1000"), "vt7X1", time_in_force="GTX")
    assert sandbox.core.orders() == []


async def test_lookups_need_an_id(venue: BinanceVenue) -> None:
    with pytest.raises(ValueError, match="order_id or client_order_id"):
        await venue.fetch_order(PERP)
    with pytest.raises(ValueError, match="order_id or client_order_id"):
        await venue.cancel_order(SPOT)
