"""The REST surface by hand (no ccxt): every route answers, parameters are validated like Binance."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from hedgetui.sandbox.model import Market
from hedgetui.sandbox.options import SandboxOptions
from hedgetui.sandbox.server import SandboxServer
from tests.sandbox.conftest import public, signed

FIXED = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def numbers_are_fixed_point(value: Any) -> bool:
    """Every string that looks numeric is plain fixed-point (never ``0E-8`` or ``1E+2``)."""
    if isinstance(value, dict):
        return all(numbers_are_fixed_point(v) for v in value.values())
    if isinstance(value, list):
        return all(numbers_are_fixed_point(v) for v in value)
    return not (isinstance(value, str) and re.search(r"[0-9]E[-+]?[0-9]", value))


async def test_public_routes(sandbox: SandboxServer) -> None:
    for path in ("/api/v3/ping", "/fapi/v1/ping"):
        assert await public(sandbox, path) == (200, {})
    for path in ("/api/v3/time", "/fapi/v1/time"):
        status, body = await public(sandbox, path)
        assert status == 200 and abs(body["serverTime"] - sandbox.now()) < 1000
    status, spot = await public(sandbox, "/api/v3/ticker/bookTicker", symbol="BTCUSDT")
    assert status == 200 and set(spot) == {"symbol", "bidPrice", "bidQty", "askPrice", "askQty"}
    status, perp = await public(sandbox, "/fapi/v1/ticker/bookTicker", symbol="BTCUSDT")
    assert status == 200 and Decimal(perp["bidPrice"]) < Decimal(perp["askPrice"])
    assert {"time", "lastUpdateId"} <= set(perp)
    status, listed = await public(sandbox, "/fapi/v1/premiumIndex")
    assert status == 200 and isinstance(listed, list) and listed[0]["symbol"] == "BTCUSDT"
    status, tickers = await public(sandbox, "/api/v3/ticker/24hr")
    assert status == 200 and [t["symbol"] for t in tickers] == ["BTCUSDT"]


async def test_depth_limits(sandbox: SandboxServer) -> None:
    status, body = await public(sandbox, "/fapi/v1/depth", symbol="BTCUSDT", limit=7)
    assert (status, body["code"]) == (400, -4021)
    status, body = await public(sandbox, "/fapi/v1/depth", symbol="BTCUSDT", limit=20)
    assert status == 200 and len(body["bids"]) == 20 and body["T"] > 0
    status, body = await public(sandbox, "/api/v3/depth", symbol="BTCUSDT", limit=7)
    assert status == 200 and len(body["asks"]) == 7 and set(body) == {"lastUpdateId", "bids", "asks"}
    for bad in ("0", "5001", "abc"):
        status, body = await public(sandbox, "/api/v3/depth", symbol="BTCUSDT", limit=bad)
        assert (status, body["code"]) == (400, -1100)
    assert (await public(sandbox, "/api/v3/depth"))[1]["code"] == -1102
    assert (await public(sandbox, "/api/v3/depth", symbol="DOGEUSDT"))[1] == {"code": -1121, "msg": "Invalid symbol."}


@pytest.mark.parametrize(("market", "path"), [(Market.SPOT, "/api/v3/depth"), (Market.FUTURES, "/fapi/v1/depth")])
async def test_depth_snapshot_and_top_of_book_are_the_core_book(market: Market, path: str) -> None:
    async with SandboxServer(SandboxOptions(port=0, tick_ms=60_000)) as quiet:  # no tick in between
        status, body = await public(quiet, path, symbol="BTCUSDT", limit=1000)
        uid, bids, asks = quiet.core.depth(market, "BTCUSDT", 1000)
        assert status == 200 and body["lastUpdateId"] == uid and numbers_are_fixed_point(body)
        assert [(Decimal(p), Decimal(q)) for p, q in body["bids"]] == bids
        assert [(Decimal(p), Decimal(q)) for p, q in body["asks"]] == asks
        _, top = await public(quiet, path.replace("depth", "ticker/bookTicker"), symbol="BTCUSDT")
        assert (Decimal(top["bidPrice"]), Decimal(top["askQty"])) == (bids[0][0], asks[0][1])


async def test_unknown_route_is_a_404_text(sandbox: SandboxServer) -> None:
    status, body = await public(sandbox, "/api/v3/nowhere")
    assert status == 404 and isinstance(body, str)


ORDER = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001", "newClientOrderId": "v1"}


@pytest.mark.parametrize(
    ("path", "change", "code"),
    [
        ("/api/v3/order", {"side": None}, -1102),
        ("/api/v3/order", {"side": "UP"}, -1117),
        ("/api/v3/order", {"type": "STOPPY"}, -1116),
        ("/api/v3/order", {"type": "LIMIT", "price": "50000"}, -1102),  # no timeInForce
        ("/api/v3/order", {"type": "LIMIT", "price": "50000", "timeInForce": "XYZ"}, -1115),
        ("/api/v3/order", {"quantity": None}, -1102),
        ("/api/v3/order", {"quantity": "1e-3"}, -1100),
        ("/api/v3/order", {"quantity": "-0.001"}, -1100),
        ("/api/v3/order", {"quoteOrderQty": "100"}, -1128),
        ("/api/v3/order", {"price": "50000"}, -1106),
        ("/api/v3/order", {"reduceOnly": "true"}, -1106),
        ("/api/v3/order", {"newOrderRespType": "EVERYTHING"}, -1136),
        ("/api/v3/order", {"newClientOrderId": "no spaces"}, -1100),
        ("/api/v3/order", {"symbol": "DOGEUSDT"}, -1121),
        ("/fapi/v1/order", {"quantity": "0.01", "quoteOrderQty": "100"}, -1106),
        ("/fapi/v1/order", {"quantity": "0.01", "reduceOnly": "maybe"}, -1100),
        ("/fapi/v1/order", {"quantity": "0.01", "newOrderRespType": "FULL"}, -1136),
        ("/fapi/v1/order", {"quantity": "0.0105"}, -1111),
        ("/fapi/v1/order", {"quantity": "0"}, -4003),
    ],
)
async def test_order_parameters_are_validated_like_binance(
    sandbox: SandboxServer, path: str, change: dict[str, str | None], code: int
) -> None:
    params = {k: v for k, v in {**ORDER, **change}.items() if v is not None}
    status, body = await signed(sandbox, "POST", path, params)
    assert (status, body["code"]) == (400, code), body
    assert sandbox.core.orders() == []


async def test_response_types(sandbox: SandboxServer) -> None:
    spot = {**ORDER, "newClientOrderId": "r1"}
    _, full = await signed(sandbox, "POST", "/api/v3/order", spot)  # default FULL
    assert full["status"] == "FILLED" and full["fills"] and numbers_are_fixed_point(full)
    _, result = await signed(sandbox, "POST", "/api/v3/order", {**spot, "newOrderRespType": "RESULT"})
    assert result["status"] == "FILLED" and "fills" not in result
    _, ack = await signed(sandbox, "POST", "/api/v3/order", {**spot, "newOrderRespType": "ACK"})
    assert set(ack) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    perp = {**ORDER, "side": "SELL", "quantity": "0.01", "newClientOrderId": "r2"}
    _, perp_ack = await signed(sandbox, "POST", "/fapi/v1/order", perp)  # fapi's default is ACK
    assert perp_ack["status"] == "NEW" and perp_ack["executedQty"] == "0.000"
    _, fetched = await signed(sandbox, "GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": perp_ack["orderId"]})
    assert fetched["status"] == "FILLED" and fetched["executedQty"] == "0.010"
    _, perp_result = await signed(sandbox, "POST", "/fapi/v1/order", {**perp, "newOrderRespType": "RESULT"})
    assert perp_result["status"] == "FILLED" and Decimal(perp_result["avgPrice"]) > 0


async def test_lookups_validate_ids(sandbox: SandboxServer) -> None:
    status, body = await signed(sandbox, "GET", "/api/v3/order", {"symbol": "BTCUSDT"})
    assert (status, body["code"]) == (400, -1102)
    status, body = await signed(sandbox, "GET", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": "12x"})
    assert (status, body["code"]) == (400, -1100)
    status, body = await signed(sandbox, "DELETE", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": "5"})
    assert (status, body) == (400, {"code": -2011, "msg": "Unknown order sent."})


async def test_trades_filters_and_limits(sandbox: SandboxServer) -> None:
    for i in range(3):
        await signed(sandbox, "POST", "/api/v3/order", {**ORDER, "newClientOrderId": f"t{i}"})
    _, trades = await signed(sandbox, "GET", "/api/v3/myTrades", {"symbol": "BTCUSDT"})
    ids = [t["id"] for t in trades]
    assert len(ids) >= 3 and ids == sorted(ids)
    _, last = await signed(sandbox, "GET", "/api/v3/myTrades", {"symbol": "BTCUSDT", "limit": 1})
    assert [t["id"] for t in last] == ids[-1:]
    _, since = await signed(sandbox, "GET", "/api/v3/myTrades", {"symbol": "BTCUSDT", "fromId": ids[1], "limit": 1})
    assert [t["id"] for t in since] == [ids[1]]
    status, body = await signed(sandbox, "GET", "/api/v3/myTrades", {"symbol": "BTCUSDT", "limit": 1001})
    assert (status, body["code"]) == (400, -1100)
    status, body = await signed(sandbox, "GET", "/fapi/v1/userTrades", {})
    assert (status, body["code"]) == (400, -1102)


async def test_futures_accounts_positions_and_leverage(sandbox: SandboxServer) -> None:
    await signed(sandbox, "POST", "/fapi/v1/order", {**ORDER, "side": "SELL", "quantity": "0.02"})
    for version in (2, 3):
        status, account = await signed(sandbox, "GET", f"/fapi/v{version}/account")
        assert status == 200 and account["assets"][0]["updateTime"] > 0 and numbers_are_fixed_point(account)
        status, rows = await signed(sandbox, "GET", f"/fapi/v{version}/positionRisk")
        assert status == 200 and rows[0]["positionAmt"] == "-0.020" and Decimal(rows[0]["notional"]) < 0
        assert ("leverage" in rows[0]) is (version == 2)
    status, body = await signed(sandbox, "POST", "/fapi/v1/leverage", {"symbol": "BTCUSDT", "leverage": 5})
    assert (status, body["leverage"], body["symbol"]) == (200, 5, "BTCUSDT")
    assert sandbox.core.leverage("BTCUSDT") == 5
    status, body = await signed(sandbox, "POST", "/fapi/v1/leverage", {"symbol": "BTCUSDT", "leverage": 500})
    assert (status, body["code"]) == (400, -4028)
    _, brackets = await signed(sandbox, "GET", "/fapi/v1/leverageBracket")
    assert isinstance(brackets, list) and brackets[0]["brackets"][0]["maintMarginRatio"] == 0.004


async def test_an_unexpected_failure_is_binance_internal_error(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(sandbox.core, "spot_balances", broken)
    status, body = await signed(sandbox, "GET", "/api/v3/account")
    assert (status, body["code"]) == (500, -1001)
