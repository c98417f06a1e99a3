"""Liquidation driven with POST /sandbox/market, seen through ccxt's real classes and the raw USDⓈ-M user
stream: the autoclose- LIQUIDATION order, the closed position, the loss and fee in the income history."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal as D
from typing import Any

import aiohttp
import pytest

from hedgetui.sandbox.options import SandboxOptions
from hedgetui.sandbox.server import SandboxServer
from tests.sandbox.conftest import Factory, control
from tests.sandbox.test_user_stream import key_call

PERP = "BTC/USDT:USDT"


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    """A small futures wallet, so a short of 0.1 BTC is liquidated about 8 % up (overrides conftest's)."""
    server = SandboxServer(SandboxOptions(port=0, tick_ms=20, futures_usdt=D("1000")))
    await server.start()
    yield server
    await server.stop()


async def until(ws: aiohttp.ClientWebSocketResponse, kind: str) -> list[dict[str, Any]]:
    """Events up to and including the first of type ``kind``."""
    seen: list[dict[str, Any]] = []
    while not seen or seen[-1]["e"] != kind:
        seen.append(json.loads((await asyncio.wait_for(ws.receive(), 5)).data))
    return seen


async def test_a_mark_move_through_the_liquidation_price_liquidates_as_binance_reports_it(
    client: Factory, sandbox: SandboxServer
) -> None:
    ex = await client()
    await ex.create_order(PERP, "market", "sell", 0.1, None, {"clientOrderId": "short-1"})
    (pos,) = await ex.fetch_positions([PERP])
    liq, mark = D(str(pos["liquidationPrice"])), D(str(pos["markPrice"]))
    assert liq > mark * D("1.05")  # cross margin: the whole 1000 USDT wallet backs the short
    key = (await key_call(sandbox, "POST", "/fapi/v1/listenKey"))[1]["listenKey"]
    async with (
        aiohttp.ClientSession() as s,
        s.ws_connect(f"{sandbox.ws_url}/fstream/private/ws?listenKey={key}") as ws,
    ):
        liquidations = asyncio.ensure_future(ex.watch_my_liquidations(PERP))
        balance = asyncio.ensure_future(ex.watch_balance({"type": "future"}))  # ccxt.pro's ACCOUNT_UPDATE cache
        await asyncio.sleep(0.3)
        short_of_it = float((liq / mark - 1) * 10_000) - 150
        await control(sandbox, "POST", "/sandbox/market", {"move_bps": short_of_it})
        assert (await ex.fetch_positions([PERP]))[0]["contracts"] == 0.1  # not yet
        await control(sandbox, "POST", "/sandbox/market", {"move_bps": 400})
        stream = await until(ws, "ACCOUNT_UPDATE")
        await asyncio.wait_for(liquidations, 5)  # resolves on the first event, the NEW one
        for _ in range(50):  # the CALCULATED execution follows it into ccxt's cache
            if ex.myLiquidations[-1]["contracts"]:
                break
            await asyncio.sleep(0.05)
        mine = ex.myLiquidations[-1]
    balance.cancel()
    updates = [e["o"] for e in stream if e["e"] == "ORDER_TRADE_UPDATE"]
    assert [(u["x"], u["X"]) for u in updates] == [("NEW", "NEW"), ("CALCULATED", "FILLED")]
    assert all(u["c"].startswith("autoclose-") and u["o"] == "LIQUIDATION" and u["S"] == "BUY" for u in updates)
    assert stream[-1]["a"]["m"] == "ORDER" and D(stream[-1]["a"]["P"][0]["pa"]) == 0
    assert mine["symbol"] == PERP and mine["contracts"] == 0.1 and mine["side"] == "buy"
    # The venue's record: position closed, the order, its trade, the loss and fee in the income history.
    assert not [p for p in await ex.fetch_positions([PERP]) if p["contracts"]]
    st = await control(sandbox, "GET", "/sandbox/state")
    (order,) = [o for o in st["orders"] if o["clientOrderId"].startswith("autoclose-")]
    assert order["type"] == "LIQUIDATION" and order["status"] == "FILLED" and D(order["executedQty"]) == D("0.1")
    fetched = await ex.fetch_order(str(order["orderId"]), PERP)
    assert fetched["clientOrderId"] == order["clientOrderId"] and fetched["status"] == "closed"
    (trade,) = [t for t in await ex.fetch_my_trades(PERP) if t["order"] == str(order["orderId"])]
    income = st["income"]
    (loss,) = [r for r in income if r["tradeId"] == trade["id"]]
    assert loss["incomeType"] == "REALIZED_PNL" and D(loss["income"]) == D(trade["info"]["realizedPnl"]) < 0
    assert D(st["futures"]["wallet_balance"]) == D("1000") + sum(D(r["income"]) for r in income)
    assert D(st["futures"]["wallet_balance"]) >= 0


async def test_liquidation_books_the_clearance_fee_when_margin_is_left(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client()
    await ex.create_order(PERP, "market", "buy", 0.3)  # 18k long on 1000: liquidated about 3 % down
    (pos,) = await ex.fetch_positions([PERP])
    liq, mark = D(str(pos["liquidationPrice"])), D(str(pos["markPrice"]))
    await control(sandbox, "POST", "/sandbox/market", {"move_bps": float((liq / mark - 1) * 10_000) - 3})
    st = await control(sandbox, "GET", "/sandbox/state")
    assert st["positions"][0]["positionAmt"] == "0"
    fees = [r for r in st["income"] if r["incomeType"] == "INSURANCE_CLEAR"]
    (trade,) = [t for t in st["trades"] if t["orderId"] == st["orders"][-1]["orderId"]]
    assert len(fees) == 1 and D(fees[0]["income"]) < 0
    notional_fee = (D(trade["price"]) * D(trade["qty"]) * D("0.0125")).quantize(D("1e-8"))
    assert -D(fees[0]["income"]) == min(notional_fee, -D(fees[0]["income"]) + D(st["futures"]["wallet_balance"]))
    assert D(st["futures"]["wallet_balance"]) == D("1000") + sum(D(r["income"]) for r in st["income"])


async def test_clients_cannot_send_liquidation_orders(client: Factory) -> None:
    ex = await client()
    import ccxt

    with pytest.raises(ccxt.BadRequest, match="-1116"):
        await ex.fapiPrivatePostOrder({"symbol": "BTCUSDT", "side": "SELL", "type": "LIQUIDATION", "quantity": "0.01"})
