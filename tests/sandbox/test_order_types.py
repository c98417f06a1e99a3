"""Order types exchangeInfo advertises, with Binance's semantics, through ccxt's real class: LIMIT_MAKER
and GTX rejected when they would take, FOK filled whole or expired (spot) / rejected (USDⓈ-M), GTD expiring
at its goodTillDate."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import ccxt
import pytest

from hedgetui.sandbox.core import CoreConfig, ExchangeCore
from hedgetui.sandbox.model import Market, OrderType, SandboxError, Side
from hedgetui.sandbox.server import SandboxServer
from tests.sandbox.conftest import Factory, control, public

SPOT, PERP = "BTC/USDT", "BTC/USDT:USDT"


async def _top(sandbox: SandboxServer, path: str) -> tuple[float, float]:
    _, book = await public(sandbox, path, symbol="BTCUSDT", limit=5)
    return float(book["bids"][0][0]), float(book["asks"][0][0])


async def test_exchange_info_advertises_only_what_is_executed(sandbox: SandboxServer) -> None:
    _, spot = await public(sandbox, "/api/v3/exchangeInfo")
    _, perp = await public(sandbox, "/fapi/v1/exchangeInfo")
    assert spot["symbols"][0]["orderTypes"] == ["LIMIT", "LIMIT_MAKER", "MARKET"]
    assert perp["symbols"][0]["orderTypes"] == ["LIMIT", "MARKET"]
    assert perp["symbols"][0]["timeInForce"] == ["GTC", "IOC", "FOK", "GTX", "GTD"]


@pytest.mark.parametrize(("symbol", "path"), [(SPOT, "/api/v3/depth"), (PERP, "/fapi/v1/depth")])
async def test_post_only_rests_or_is_rejected(client: Factory, sandbox: SandboxServer, symbol: str, path: str) -> None:
    ex = await client()
    bid, ask = await _top(sandbox, path)
    resting = await ex.create_order(symbol, "limit", "buy", 0.01, round(bid * 0.99, 1), {"postOnly": True})
    assert resting["status"] == "open" and resting["postOnly"] is True
    before = len((await control(sandbox, "GET", "/sandbox/state"))["orders"])
    # Spot LIMIT_MAKER: -2010 "Order would immediately match and take."; USDⓈ-M GTX: -5022.
    expected = ccxt.OrderImmediatelyFillable if symbol == SPOT else ccxt.OrderNotFillable
    with pytest.raises(expected):
        await ex.create_order(symbol, "limit", "buy", 0.01, round(ask * 1.01, 1), {"postOnly": True})
    assert len((await control(sandbox, "GET", "/sandbox/state"))["orders"]) == before  # no trace


async def test_spot_fok_fills_whole_or_expires(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client()
    _, ask = await _top(sandbox, "/api/v3/depth")
    whole = await ex.create_order(SPOT, "limit", "buy", 0.01, round(ask * 1.001, 2), {"timeInForce": "FOK"})
    assert whole["status"] == "closed" and whole["filled"] == 0.01
    usdt = (await ex.fetch_balance())["USDT"]["free"]
    # Far more than the book holds within 0.1 % of the ask: nothing fills, the order is EXPIRED.
    await control(sandbox, "POST", "/sandbox/market", {"depth_factor": 0.01})
    _, ask = await _top(sandbox, "/api/v3/depth")
    expired = await ex.create_order(SPOT, "limit", "buy", 1, round(ask * 1.001, 2), {"timeInForce": "FOK"})
    assert expired["status"] == "expired" and expired["filled"] == 0 and expired["info"]["fills"] == []
    assert (await ex.fetch_balance())["USDT"]["free"] == usdt


async def test_futures_fok_is_rejected_when_it_cannot_fill(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client()
    await control(sandbox, "POST", "/sandbox/market", {"depth_factor": 0.01})
    _, ask = await _top(sandbox, "/fapi/v1/depth")
    with pytest.raises(ccxt.OrderNotFillable):
        await ex.create_order(PERP, "limit", "buy", 5, round(ask * 1.001, 1), {"timeInForce": "FOK"})
    assert (await ex.fetch_positions([PERP])) == []


async def test_futures_gtd_expires_at_its_date(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client()
    bid, _ = await _top(sandbox, "/fapi/v1/depth")
    price = round(bid * 0.98, 1)
    with pytest.raises(ccxt.BadRequest, match="600 seconds"):
        await ex.create_order(PERP, "limit", "buy", 0.01, price, {"timeInForce": "GTD", "goodTillDate": sandbox.now()})
    till = sandbox.now() + 601_000
    order = await ex.create_order(PERP, "limit", "buy", 0.01, price, {"timeInForce": "GTD", "goodTillDate": till})
    assert order["status"] == "open" and order["info"]["goodTillDate"] == till - till % 1000
    wall = sandbox._wall
    sandbox._wall = lambda: wall() + 602_000
    await asyncio.sleep(0.1)  # a few ticks past the date
    sandbox._wall = wall  # back in step with the client's clock, or its signed requests are refused
    assert (await ex.fetch_order(order["id"], PERP))["status"] == "expired"


def test_futures_max_num_orders_is_enforced() -> None:
    """MAX_NUM_ORDERS (200 per symbol) is advertised, so the 201st open order is refused with -2025."""
    core = ExchangeCore(CoreConfig(), clock=lambda: 1_700_000_000_000)
    price = (core.mark_price("BTCUSDT") * Decimal("0.9")).quantize(Decimal("0.1"))

    def place(i: int) -> None:
        core.place_order(
            Market.FUTURES,
            "BTCUSDT",
            Side.BUY,
            OrderType.LIMIT,
            quantity=Decimal("0.002"),
            client_order_id=f"n{i}",
            price=price,
        )

    for i in range(200):
        place(i)
    with pytest.raises(SandboxError) as info:
        place(200)
    assert (info.value.code, info.value.msg) == (-2025, "Reach max open order limit.")
    core.place_order(
        Market.FUTURES, "BTCUSDT", Side.SELL, OrderType.MARKET, quantity=Decimal("0.002"), client_order_id="m"
    )
    core.cancel_order(Market.FUTURES, "BTCUSDT", client_order_id="n0")
    place(201)  # room again after a cancel
