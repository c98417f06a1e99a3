"""User data streams with ccxt.pro's real binance class: watch_orders, watch_my_trades, watch_balance and
watch_positions on spot (websocket API subscription) and USDⓈ-M (listen key)."""

from __future__ import annotations

import asyncio
from typing import Any

from hedgetui.sandbox.server import SandboxServer
from tests.sandbox.conftest import Factory, control

SPOT, PERP = "BTC/USDT", "BTC/USDT:USDT"


async def _started(coro: Any) -> asyncio.Task[Any]:
    """Start a watch and give it time to subscribe before the order that should show up in it."""
    task = asyncio.ensure_future(coro)
    await asyncio.sleep(0.3)
    assert not task.done(), task  # nothing happened yet, so nothing may have arrived
    return task


async def test_spot_watch_orders_trades_and_balance(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client()
    orders = await _started(ex.watch_orders(SPOT))
    placed = await ex.create_order(SPOT, "market", "buy", 0.01, None, {"clientOrderId": "ws-spot-1"})
    seen = await asyncio.wait_for(orders, 5)
    first = seen[-1]
    assert first["id"] == placed["id"] and first["clientOrderId"] == "ws-spot-1"
    # The stream reports NEW first, then the fills. They may all arrive in one burst (a watch resolves on the
    # next message only), so look in ccxt's order cache before waiting again.
    while (final := ex.orders.hashmap[SPOT][placed["id"]])["status"] != "closed":
        await asyncio.wait_for(ex.watch_orders(SPOT), 5)
    assert final["filled"] == placed["filled"] == 0.01
    assert final["cost"] == placed["cost"]
    trades = await _started(ex.watch_my_trades(SPOT))
    balance = await _started(ex.watch_balance())
    sold = await ex.create_order(SPOT, "market", "sell", 0.005, None, {"clientOrderId": "ws-spot-2"})
    got = await asyncio.wait_for(trades, 5)
    assert got[-1]["order"] == sold["id"] and got[-1]["side"] == "sell"
    assert got[-1]["fee"]["currency"] == "USDT" and got[-1]["fee"]["cost"] > 0
    bal = await asyncio.wait_for(balance, 5)
    rest = await ex.fetch_balance()
    assert bal["BTC"]["free"] == rest["BTC"]["free"] and bal["USDT"]["free"] == rest["USDT"]["free"]


async def test_spot_cancel_reports_both_client_ids(client: Factory) -> None:
    ex = await client()
    orders = await _started(ex.watch_orders(SPOT))
    placed = await ex.create_order(SPOT, "limit", "buy", 0.001, 40000, {"clientOrderId": "ws-rest-1"})
    assert (await asyncio.wait_for(orders, 5))[-1]["status"] == "open"
    orders = await _started(ex.watch_orders(SPOT))
    await ex.cancel_order(placed["id"], SPOT)
    canceled = (await asyncio.wait_for(orders, 5))[-1]
    assert canceled["status"] == "canceled" and canceled["clientOrderId"] == "ws-rest-1"
    assert canceled["info"]["c"].startswith("sandbox-cancel-") and canceled["info"]["C"] == "ws-rest-1"


async def test_futures_watch_orders_trades_balance_and_positions(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client()
    positions = await ex.watch_positions([PERP])  # the first call answers the REST snapshot
    assert positions == []
    orders = await _started(ex.watch_orders(PERP))
    trades = await _started(ex.watch_my_trades(PERP))
    balance = await _started(ex.watch_balance({"type": "swap"}))
    watch_pos = await _started(ex.watch_positions([PERP]))
    placed = await ex.create_order(PERP, "market", "sell", 0.01, None, {"clientOrderId": "ws-perp-1"})
    seen = await asyncio.wait_for(orders, 5)
    assert seen[-1]["id"] == placed["id"] and seen[-1]["clientOrderId"] == "ws-perp-1"
    got = await asyncio.wait_for(trades, 5)
    rest_trades = await ex.fetch_my_trades(PERP, params={"orderId": placed["id"]})
    assert got[-1]["order"] == placed["id"] and got[-1]["fee"]["cost"] == rest_trades[-1]["fee"]["cost"]
    bal = await asyncio.wait_for(balance, 5)
    state = await control(sandbox, "GET", "/sandbox/state")
    assert bal["USDT"]["total"] == float(state["futures"]["wallet_balance"])
    pos = await asyncio.wait_for(watch_pos, 5)
    assert pos[-1]["symbol"] == PERP and pos[-1]["side"] == "short" and pos[-1]["contracts"] == 0.01
    assert pos[-1]["entryPrice"] == placed["average"]
