"""Order answers by newOrderRespType, through ccxt's real binance class: only the answer differs, never
whether or how the order fills."""

from __future__ import annotations

import pytest

from tests.sandbox.conftest import Factory

SPOT, PERP = "BTC/USDT", "BTC/USDT:USDT"


@pytest.mark.parametrize("resp", ["ACK", "RESULT", "FULL", None])
async def test_spot_answers(client: Factory, resp: str | None) -> None:
    ex = await client()
    params = {"newOrderRespType": resp} if resp else {}  # None: ccxt's own choice, FULL for MARKET/LIMIT
    placed = await ex.create_order(SPOT, "market", "buy", 0.01, None, params)
    info = placed["info"]
    truth = await ex.fetch_order(placed["id"], SPOT)
    assert truth["status"] == "closed" and truth["filled"] == 0.01  # the fill never depends on the answer
    if resp == "ACK":
        assert set(info) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
        assert placed["status"] is None and placed["filled"] == 0
        return
    assert placed["status"] == "closed" and placed["filled"] == 0.01 and placed["cost"] == truth["cost"]
    if resp == "RESULT":
        assert "fills" not in info and placed["fee"] is None
    else:
        fills = info["fills"]
        assert fills and all(set(f) == {"price", "qty", "commission", "commissionAsset", "tradeId"} for f in fills)
        trades = await ex.fetch_order_trades(placed["id"], SPOT)
        assert [int(f["tradeId"]) for f in fills] == [int(t["id"]) for t in trades]
        assert placed["fee"]["currency"] == "BTC"
        assert placed["fee"]["cost"] == pytest.approx(sum(t["fee"]["cost"] for t in trades))


@pytest.mark.parametrize("resp", ["ACK", "RESULT", None])
async def test_futures_answers(client: Factory, resp: str | None) -> None:
    ex = await client()
    params = {"newOrderRespType": resp} if resp else {}  # None: ccxt sends RESULT
    placed = await ex.create_order(PERP, "market", "sell", 0.01, None, params)
    truth = await ex.fetch_order(placed["id"], PERP)
    assert truth["status"] == "closed" and truth["filled"] == 0.01
    if resp == "ACK":
        # Binance's fapi ACK: the order before matching - NEW, nothing executed, even for a MARKET order.
        assert placed["info"]["status"] == "NEW" and placed["info"]["executedQty"] == "0.000"
        assert placed["status"] == "open" and placed["filled"] == 0
    else:
        assert placed["status"] == "closed" and placed["filled"] == 0.01 and placed["average"] == truth["average"]


async def test_futures_default_without_ccxt_is_ack(client: Factory) -> None:
    """Binance's fapi default (a client that sends no newOrderRespType) is ACK."""
    ex = await client()
    ex.options["newOrderRespType"] = {}
    raw = await ex.fapiPrivatePostOrder({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"})
    assert raw["status"] == "NEW" and raw["executedQty"] == "0.000"
