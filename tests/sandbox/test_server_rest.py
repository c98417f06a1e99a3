"""ccxt's real binance class against the sandbox: markets, books, funding, orders, balances, positions."""

from __future__ import annotations

import pytest

from hedgetui.sandbox.server import SandboxServer
from tests.sandbox.conftest import Factory, control

SPOT, PERP = "BTC/USDT", "BTC/USDT:USDT"


async def test_markets_and_filters_parse(client: Factory) -> None:
    ex = await client()
    spot, perp = ex.markets[SPOT], ex.markets[PERP]
    assert spot["spot"] and spot["precision"]["amount"] == 1e-05 and spot["precision"]["price"] == 0.01
    assert spot["limits"]["cost"]["min"] == 5.0 and spot["limits"]["amount"]["min"] == 1e-05
    assert perp["type"] == "swap" and perp["linear"] and perp["settle"] == "USDT" and perp["contractSize"] == 1.0
    assert perp["precision"]["amount"] == 0.001 and perp["precision"]["price"] == 0.1
    assert perp["limits"]["cost"]["min"] == 100.0


async def test_books_tickers_and_funding(client: Factory) -> None:
    ex = await client()
    spot = await ex.fetch_order_book(SPOT, 100)
    perp = await ex.fetch_order_book(PERP, 100)
    for book in (spot, perp):
        assert len(book["bids"]) == 100 and len(book["asks"]) == 100
        assert book["bids"][0][0] < book["asks"][0][0]
        assert book["nonce"] is not None
    assert perp["timestamp"] is not None and spot["timestamp"] is None
    ticker = await ex.fetch_ticker(SPOT)
    assert ticker["bid"] and ticker["ask"] and ticker["last"]
    perp_ticker = await ex.fetch_ticker(PERP)
    assert perp_ticker["bid"] is None  # as on Binance: use bookTicker or the book
    funding = await ex.fetch_funding_rate(PERP)
    assert funding["fundingRate"] is not None and funding["markPrice"] > 0 and funding["fundingTimestamp"] > 0


async def test_market_buy_spot_and_sell_perp_with_fills_fees_and_averages(
    client: Factory, sandbox: SandboxServer
) -> None:
    ex = await client()
    spot = await ex.create_order(SPOT, "market", "buy", 0.05, None, {"clientOrderId": "t1SO1"})
    assert spot["status"] == "closed" and spot["filled"] == 0.05
    assert spot["fee"]["currency"] == "BTC" and spot["fee"]["cost"] == pytest.approx(0.00005)
    fills = spot["info"]["fills"]
    assert len(fills) >= 1
    vwap = sum(float(f["price"]) * float(f["qty"]) for f in fills) / sum(float(f["qty"]) for f in fills)
    assert spot["average"] == pytest.approx(vwap)
    perp = await ex.create_order(PERP, "market", "sell", 0.05, None, {"clientOrderId": "t1PO1"})
    assert perp["status"] == "closed" and perp["filled"] == 0.05 and perp["average"] > 0
    trades = await ex.fetch_my_trades(PERP, params={"orderId": perp["id"]})
    assert sum(t["amount"] for t in trades) == pytest.approx(0.05)
    assert all(t["fee"]["currency"] == "USDT" and t["fee"]["cost"] > 0 for t in trades)
    balance = await ex.fetch_balance()
    assert balance["BTC"]["total"] == pytest.approx(0.05 - 0.00005)  # the fee came out of the BTC bought
    swap = await ex.fetch_balance({"type": "swap"})
    assert swap["USDT"]["total"] < 100000
    positions = await ex.fetch_positions([PERP])
    assert positions[0]["side"] == "short" and positions[0]["contracts"] == pytest.approx(0.05)
    state = await control(sandbox, "GET", "/sandbox/state")
    assert {o["clientOrderId"] for o in state["orders"]} == {"t1SO1", "t1PO1"}


async def test_reduce_only_close_and_reduce_only_rejection(client: Factory) -> None:
    ex = await client()
    await ex.create_order(PERP, "market", "sell", 0.01, None, {"clientOrderId": "t2PO1"})
    close = await ex.create_order(PERP, "market", "buy", 0.01, None, {"clientOrderId": "t2PC1", "reduceOnly": True})
    assert close["status"] == "closed" and close["reduceOnly"] is True
    assert await ex.fetch_positions([PERP]) == []  # flat positions vanish in ccxt
    import ccxt

    with pytest.raises(ccxt.InvalidOrder):
        await ex.create_order(PERP, "market", "buy", 0.01, None, {"clientOrderId": "t2PC2", "reduceOnly": True})


async def test_fetch_and_cancel_by_client_order_id(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client()
    book = await ex.fetch_order_book(SPOT, 5)
    low = round(book["bids"][-1][0] - 100, 2)
    order = await ex.create_order(SPOT, "limit", "buy", 0.001, low, {"clientOrderId": "t3SO1"})
    assert order["status"] == "open"
    fetched = await ex.fetch_order(None, SPOT, {"clientOrderId": "t3SO1"})
    assert fetched["id"] == order["id"] and fetched["clientOrderId"] == "t3SO1"
    canceled = await ex.cancel_order(None, SPOT, {"clientOrderId": "t3SO1"})
    assert canceled["status"] == "canceled"
    # Live spot cancel: clientOrderId is the cancel request's id; the order's own is origClientOrderId.
    assert canceled["info"]["origClientOrderId"] == "t3SO1" and canceled["clientOrderId"] != "t3SO1"
    pbook = await ex.fetch_order_book(PERP, 5)
    perp = await ex.create_order(
        PERP, "limit", "sell", 0.01, round(pbook["asks"][-1][0] + 500, 1), {"clientOrderId": "t3PO1"}
    )
    assert (await ex.fetch_order(None, PERP, {"clientOrderId": "t3PO1"}))["status"] == "open"
    assert len(await ex.fetch_open_orders(PERP)) == 1
    perp_canceled = await ex.cancel_order(perp["id"], PERP)
    assert perp_canceled["status"] == "canceled" and perp_canceled["clientOrderId"] == "t3PO1"
    state = await control(sandbox, "GET", "/sandbox/state")
    assert [o["status"] for o in state["orders"]] == ["CANCELED", "CANCELED"]
    assert state["spot_balances"]["USDT"]["locked"] == "0"


async def test_balances_and_positions_after_trades_match_the_core(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client()
    await ex.create_order(PERP, "market", "sell", 0.02, None, {"clientOrderId": "t4PO1"})
    await ex.create_order(PERP, "market", "sell", 0.01, None, {"clientOrderId": "t4PO2"})
    position = (await ex.fetch_positions([PERP]))[0]
    view = sandbox.core.position("BTCUSDT")
    assert position["contracts"] == pytest.approx(0.03) and float(view.amount) == -0.03
    assert position["entryPrice"] == pytest.approx(float(view.entry_price), rel=1e-9)
    swap = await ex.fetch_balance({"type": "swap"})
    acc = sandbox.core.futures_account()
    assert swap["USDT"]["free"] == pytest.approx(float(acc.available_balance), rel=1e-6)
