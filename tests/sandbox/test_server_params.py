"""Request parameters as Binance reads them: query string and form body for every method, query wins."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from hedgetui.sandbox.auth import check_signed
from hedgetui.sandbox.model import SandboxError
from hedgetui.sandbox.server import SandboxServer

KEY, SECRET, NOW = "k", "s3cret", 1_700_000_000_000


def _sign(payload: str, secret: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


async def raw(
    sandbox: SandboxServer, method: str, path: str, *, query: dict[str, Any], body: dict[str, Any]
) -> tuple[int, Any]:
    """A client written to Binance's documentation: it signs query + body itself and sends a form body."""
    q, b = urlencode(query), urlencode(body)
    sig = _sign(q + b, sandbox.api_secret)
    b = f"{b}&signature={sig}" if b else b
    url = sandbox.base_url + path + (f"?{q}" if q else "")
    if not b:
        url += ("&" if q else "?") + f"signature={sig}"
    headers = {"X-MBX-APIKEY": sandbox.api_key, "Content-Type": "application/x-www-form-urlencoded"}
    async with aiohttp.ClientSession() as s, s.request(method, url, data=b or None, headers=headers) as resp:
        return resp.status, json.loads(await resp.text())


@pytest.mark.parametrize("path", ["/api/v3/order", "/fapi/v1/order"])
async def test_a_raw_client_cancels_with_a_delete_form_body(sandbox: SandboxServer, path: str) -> None:
    spot = path.startswith("/api/")
    price = "50000" if spot else "59000.0"  # within the perp band of ±5 % around the mark
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "price": price}
    order["quantity"] = "0.001" if spot else "0.010"
    status, placed = await raw(sandbox, "POST", path, query={}, body={**order, "timestamp": sandbox.now()})
    assert status == 200, placed
    cancel = {"symbol": "BTCUSDT", "orderId": placed["orderId"], "timestamp": sandbox.now(), "recvWindow": 5000}
    status, canceled = await raw(sandbox, "DELETE", path, query={}, body=cancel)
    assert (status, canceled["status"], canceled["orderId"]) == (200, "CANCELED", placed["orderId"])


async def test_query_and_body_together_on_a_delete_and_a_get(sandbox: SandboxServer) -> None:
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "price": "50000"}
    status, placed = await raw(
        sandbox, "POST", "/api/v3/order", query=order, body={"quantity": "0.001", "timestamp": sandbox.now()}
    )
    assert status == 200 and placed["price"] == "50000.00000000"
    status, got = await raw(
        sandbox,
        "GET",
        "/api/v3/order",
        query={"symbol": "BTCUSDT", "orderId": placed["orderId"], "timestamp": sandbox.now()},
        body={},
    )
    assert got["status"] == "NEW"
    status, canceled = await raw(
        sandbox,
        "DELETE",
        "/api/v3/order",
        query={"symbol": "BTCUSDT"},
        body={"orderId": placed["orderId"], "timestamp": sandbox.now()},
    )
    assert (status, canceled["status"]) == (200, "CANCELED")


def test_the_query_string_wins_over_the_body() -> None:
    query, body = "symbol=BTCUSDT&side=BUY", f"side=SELL&timestamp={NOW}"
    sig = _sign(query + body, SECRET)
    params = check_signed(
        api_key_header=KEY, query=query, body=f"{body}&signature={sig}", api_key=KEY, api_secret=SECRET, server_time=NOW
    )
    assert params["side"] == "BUY"


def _recv(window: str, *, spot: bool, now: int = NOW, ts: int = NOW) -> dict[str, str]:
    query = f"timestamp={ts}&recvWindow={window}"
    return check_signed(
        api_key_header=KEY,
        query=f"{query}&signature={_sign(query, SECRET)}",
        body="",
        api_key=KEY,
        api_secret=SECRET,
        server_time=now,
        fractional_recv_window=spot,
    )


def test_fractional_recv_window_on_spot_only() -> None:
    assert _recv("6000.346", spot=True)["recvWindow"] == "6000.346"
    assert _recv("6000.5", spot=True, now=NOW + 6000)
    with pytest.raises(SandboxError) as info:
        _recv("6000.5", spot=True, now=NOW + 6001)  # the fraction counts: 6001 > 6000.5
    assert info.value.code == -1021
    for bad, spot in (("6000.3461", True), ("6000.5", False), ("-1", True), ("1e3", True)):
        with pytest.raises(SandboxError) as info:
            _recv(bad, spot=spot)
        assert info.value.code == -1100, bad
