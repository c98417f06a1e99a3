"""Every error row of the spec's Part C: the sandbox's answer maps to the ccxt exception it maps to live."""

from __future__ import annotations

from typing import Any

import ccxt
import pytest

from hedgetui.sandbox.server import SandboxServer
from tests.sandbox.conftest import Factory, fault

SPOT, PERP = "BTC/USDT", "BTC/USDT:USDT"


async def buy_spot(ex: Any, qty: float = 0.001, cid: str = "e1") -> Any:
    return await ex.create_order(SPOT, "market", "buy", qty, None, {"clientOrderId": cid})


async def sell_perp(ex: Any, qty: float = 0.01, cid: str = "e2", **params: Any) -> Any:
    return await ex.create_order(PERP, "market", "sell", qty, None, {"clientOrderId": cid, **params})


# Situations the core produces by itself.
async def test_spot_insufficient_balance(client: Factory) -> None:
    ex = await client()
    with pytest.raises(ccxt.InsufficientFunds):
        await ex.create_order(SPOT, "market", "sell", 1, None, {"clientOrderId": "e3"})


async def test_perp_margin_insufficient(client: Factory) -> None:
    ex = await client()
    with pytest.raises(ccxt.InsufficientFunds):
        await sell_perp(ex, 100)


async def test_reduce_only_would_increase(client: Factory) -> None:
    ex = await client()
    with pytest.raises(ccxt.InvalidOrder):
        await sell_perp(ex, 0.01, reduceOnly=True)


async def test_perp_notional_below_minimum(client: Factory) -> None:
    ex = await client()
    with pytest.raises(ccxt.InvalidOrder, match="notional"):
        await sell_perp(ex, 0.001)


async def test_spot_lot_size_and_notional(client: Factory) -> None:
    ex = await client()
    with pytest.raises(ccxt.BadRequest, match="NOTIONAL"):
        await buy_spot(ex, 0.00001)
    with pytest.raises(ccxt.InvalidOrder, match="LOT_SIZE"):
        await buy_spot(ex, 101)  # above the market-order maximum quantity


async def test_spot_price_filter(client: Factory) -> None:
    ex = await client()
    # ccxt truncates prices to the tick, so send the raw request to hit PRICE_FILTER.
    with pytest.raises(ccxt.InvalidOrder, match="PRICE_FILTER"):
        await ex.privatePostOrder(
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "0.001",
                "price": "50000.005",
            }
        )


async def test_unknown_orders_and_duplicates(client: Factory) -> None:
    ex = await client()
    with pytest.raises(ccxt.OrderNotFound):
        await ex.fetch_order(None, SPOT, {"clientOrderId": "nope"})
    with pytest.raises(ccxt.OrderNotFound):
        await ex.fetch_order("123", PERP)
    with pytest.raises(ccxt.OrderNotFound):
        await ex.cancel_order(None, PERP, {"clientOrderId": "nope"})
    book = await ex.fetch_order_book(SPOT, 5)
    low = round(book["bids"][-1][0] - 100, 2)
    await ex.create_order(SPOT, "limit", "buy", 0.001, low, {"clientOrderId": "dup1"})
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        await ex.create_order(SPOT, "limit", "buy", 0.001, low, {"clientOrderId": "dup1"})
    pbook = await ex.fetch_order_book(PERP, 5)
    high = round(pbook["asks"][-1][0] + 500, 1)
    await ex.create_order(PERP, "limit", "sell", 0.01, high, {"clientOrderId": "dup2"})
    with pytest.raises(ccxt.InvalidOrder, match="duplicated"):
        await ex.create_order(PERP, "limit", "sell", 0.01, high, {"clientOrderId": "dup2"})


async def test_filled_client_id_is_accepted_again_like_binance(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client()
    await buy_spot(ex, 0.001, "again")
    second = await buy_spot(ex, 0.001, "again")  # first one FILLED: Binance accepts the id again
    assert second["status"] == "closed"
    assert len([o for o in sandbox.core.orders() if o.client_order_id == "again"]) == 2


async def test_strict_mode_rejects_ids_of_finished_orders(client: Factory, sandbox: SandboxServer) -> None:
    sandbox.core.config.strict_client_ids = True
    ex = await client()
    await buy_spot(ex, 0.001, "strict")
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate"):
        await buy_spot(ex, 0.001, "strict")


async def test_invalid_symbol_and_client_id_regex(client: Factory) -> None:
    ex = await client()
    with pytest.raises(ccxt.BadSymbol):
        await ex.publicGetDepth({"symbol": "NOPEUSDT"})
    with pytest.raises(ccxt.ExchangeError, match="-1100"):
        await ex.create_order(SPOT, "market", "buy", 0.001, None, {"clientOrderId": "bad id!"})


# Situations injected with fault rules (the HTTP layer's answers).
@pytest.mark.parametrize(
    ("action", "params", "expected"),
    [
        ("reject", {"code": -2010, "msg": "Market is closed."}, ccxt.MarketClosed),
        (
            "reject",
            {"code": -2010, "msg": "Account has insufficient balance for requested action."},
            ccxt.InsufficientFunds,
        ),
        ("reject", {"code": -2014, "msg": "API-key format invalid.", "status": 401}, ccxt.AuthenticationError),
        ("reject", {"code": -1100, "msg": "Illegal characters found in parameter."}, ccxt.BadRequest),
        ("reject", {"code": -1121, "msg": "Invalid symbol."}, ccxt.BadSymbol),
        ("reject", {"code": -2019, "msg": "Margin is insufficient."}, ccxt.InsufficientFunds),
        ("reject", {"code": -4116, "msg": "ClientOrderId is duplicated."}, ccxt.InvalidOrder),
        ("http_429", {}, ccxt.DDoSProtection),
        ("http_418", {}, ccxt.DDoSProtection),
        ("reject", {"code": -1003, "msg": "Too many requests."}, ccxt.RateLimitExceeded),
        ("reject", {"code": -1015, "msg": "Too many new orders."}, ccxt.RateLimitExceeded),
        ("http_503", {}, ccxt.ExchangeNotAvailable),
        ("http_500", {}, ccxt.ExchangeNotAvailable),
        ("http_503", {"body": {"msg": "Service Unavailable."}}, ccxt.ExchangeNotAvailable),
        (
            "reject",
            {"code": -1001, "msg": "Internal error; unable to process your request.", "status": 500},
            ccxt.OperationFailed,
        ),
        ("reject", {"code": -1008, "msg": "Server is currently overloaded.", "status": 503}, ccxt.OperationFailed),
        (
            "reject",
            {"code": -1007, "msg": "Timeout waiting for response from backend server.", "status": 503},
            ccxt.RequestTimeout,
        ),
        (
            "reject",
            {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."},
            ccxt.InvalidNonce,
        ),
        ("reject", {"code": -1022, "msg": "Signature for this request is not valid."}, ccxt.AuthenticationError),
        (
            "reject",
            {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action.", "status": 401},
            ccxt.AuthenticationError,
        ),
        ("reject", {"status": 502, "body": "<html>Bad Gateway</html>"}, ccxt.ExchangeNotAvailable),
        ("reject", {"status": 504, "body": "Gateway Timeout"}, ccxt.RequestTimeout),
        ("reject", {"status": 403, "body": "<html>Forbidden by WAF</html>"}, ccxt.ExchangeNotAvailable),
        ("reject", {"status": 401, "body": "Unauthorized"}, ccxt.AuthenticationError),
        ("reject", {"status": 200, "body": {"code": -2019, "msg": "Margin is insufficient."}}, ccxt.InsufficientFunds),
    ],
)
async def test_injected_errors_map_like_live(
    client: Factory, sandbox: SandboxServer, action: str, params: dict[str, Any], expected: type[Exception]
) -> None:
    ex = await client()
    await fault(sandbox, "POST /fapi/v1/order", action, **params)
    with pytest.raises(expected):
        await sell_perp(ex, 0.01)
    assert sandbox.core.orders() == []  # none of these processed the order


async def test_unknown_route_is_exchange_not_available(client: Factory) -> None:
    ex = await client()
    ex.urls["api"]["public"] = ex.urls["api"]["public"].replace("/api/v3", "/nowhere")
    with pytest.raises(ccxt.ExchangeNotAvailable):
        await ex.fetch_order_book(SPOT)


async def test_authentication_rows(client: Factory, sandbox: SandboxServer) -> None:
    bad_key = await client(key="wrong-key")
    with pytest.raises(ccxt.AuthenticationError):
        await bad_key.fetch_balance()
    bad_secret = await client(secret="wrong-secret")
    with pytest.raises(ccxt.AuthenticationError, match="Signature"):
        await bad_secret.fetch_balance()
    ok = await client()
    await ok.fetch_balance()  # a successful private call...
    ok.apiKey = "wrong-key"
    with pytest.raises(ccxt.DDoSProtection):  # ...turns a later -2015 into ccxt's "temporary ban"
        await ok.fetch_balance()


async def test_timestamp_outside_recv_window(client: Factory) -> None:
    ex = await client()
    ex.options["timeDifference"] = -5000  # the client runs 5 s ahead
    with pytest.raises(ccxt.InvalidNonce):
        await ex.fetch_balance()
    ex.options["timeDifference"] = 20000  # 20 s behind with a 10 s window
    with pytest.raises(ccxt.InvalidNonce):
        await ex.fetch_balance()


async def test_signature_over_raw_query_with_encoded_client_id(client: Factory) -> None:
    ex = await client()
    order = await buy_spot(ex, 0.001, "hg:a/b")
    fetched = await ex.fetch_order(None, SPOT, {"clientOrderId": "hg:a/b"})
    assert fetched["id"] == order["id"]


async def test_slow_response_is_request_timeout(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client(timeout_ms=300)
    await fault(sandbox, "GET /api/v3/account", "latency", ms=800)
    with pytest.raises(ccxt.RequestTimeout):
        await ex.fetch_balance()


async def test_unpatched_loopback_degrades_fapi_codes_as_the_spec_says(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client(patched=False)
    await fault(sandbox, "POST /fapi/v1/order", "reject", code=-2019, msg="Margin is insufficient.")
    with pytest.raises(ccxt.ExchangeError) as info:
        await sell_perp(ex)
    assert type(info.value) is ccxt.ExchangeError


async def test_recv_window_too_wide_maps_per_market(client: Factory, sandbox: SandboxServer) -> None:
    """-1131 (spec: "not checked"): ccxt's spot table has it (BadRequest), its linear table does not."""
    ex = await client()
    ex.options["recvWindow"] = 70000
    with pytest.raises(ccxt.BadRequest):
        await ex.fetch_balance()
    with pytest.raises(ccxt.ExchangeError) as info:
        await ex.fetch_balance({"type": "swap"})
    assert type(info.value) is ccxt.ExchangeError and "-1131" in str(info.value)
