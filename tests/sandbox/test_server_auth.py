"""Signed-request checks (spec §A6): their order, the raw-query rule and Binance's timing window."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hedgetui.sandbox.auth import check_signed
from hedgetui.sandbox.model import SandboxError
from hedgetui.sandbox.server import SandboxServer
from tests.sandbox.conftest import signed

KEY, SECRET, NOW = "k", "s3cret", 1_700_000_000_000


def sign(query: str, secret: str = SECRET) -> str:
    return f"{query}&signature={hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()}"


def check(query: str = "", body: str = "", *, key: str | None = KEY, now: int = NOW) -> dict[str, str]:
    return check_signed(api_key_header=key, query=query, body=body, api_key=KEY, api_secret=SECRET, server_time=now)


def code_of(**kwargs: object) -> tuple[int, int]:
    with pytest.raises(SandboxError) as info:
        check(**kwargs)  # type: ignore[arg-type]
    return info.value.code, info.value.http_status


def test_checks_run_in_binance_order() -> None:
    bad_everything = "timestamp=1&signature=00"
    assert code_of(query=bad_everything, key=None) == (-2014, 401)  # the header first
    assert code_of(query=bad_everything, key="other") == (-2015, 401)  # then the key
    assert code_of(query=bad_everything) == (-1022, 400)  # then the signature
    assert code_of(query=sign("timestamp=1")) == (-1021, 400)  # only then the time


def test_timing_window() -> None:
    window = "recvWindow=10000"
    assert check(sign(f"timestamp={NOW - 10_000}&{window}"))["recvWindow"] == "10000"
    assert code_of(query=sign(f"timestamp={NOW - 10_001}&{window}"))[0] == -1021
    assert check(sign(f"timestamp={NOW + 999}&{window}"))
    assert code_of(query=sign(f"timestamp={NOW + 1000}&{window}"))[0] == -1021  # 1 s ahead is too far
    assert code_of(query=sign(f"timestamp={NOW - 6000}"))[0] == -1021  # default window 5 s
    assert code_of(query=sign(f"timestamp={NOW}&recvWindow=60001"))[0] == -1131
    assert code_of(query=sign("recvWindow=5000"))[0] == -1102  # no timestamp


def test_missing_signature_and_signature_in_the_body() -> None:
    assert code_of(query=f"timestamp={NOW}")[0] == -1102
    params = check("", sign(f"symbol=BTCUSDT&timestamp={NOW}"))
    assert params == {"symbol": "BTCUSDT", "timestamp": str(NOW)}


def test_query_and_body_are_signed_together_as_binance_concatenates_them() -> None:
    query, body = "symbol=BTCUSDT&side=BUY", f"quantity=1&timestamp={NOW}"
    signature = hmac.new(SECRET.encode(), (query + body).encode(), hashlib.sha256).hexdigest()
    params = check(query, f"{body}&signature={signature}")
    assert params == {"symbol": "BTCUSDT", "side": "BUY", "quantity": "1", "timestamp": str(NOW)}


@given(cid=st.text(alphabet="abcXYZ019.:/_-", min_size=1, max_size=36))
def test_signature_is_checked_over_the_raw_encoded_query(cid: str) -> None:
    query = urlencode({"symbol": "BTCUSDT", "origClientOrderId": cid, "timestamp": NOW})
    assert check(sign(query))["origClientOrderId"] == cid
    # A client that signed the decoded string (a common bug) is refused whenever encoding changed it.
    decoded = f"symbol=BTCUSDT&origClientOrderId={cid}&timestamp={NOW}"
    if decoded != query:
        with pytest.raises(SandboxError):
            check(query + "&signature=" + sign(decoded).rsplit("=", 1)[1])


async def test_server_answers_auth_errors_with_binance_bodies(sandbox: SandboxServer) -> None:
    assert await signed(sandbox, "GET", "/api/v3/account", key="nope") == (
        401,
        {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."},
    )
    assert await signed(sandbox, "GET", "/api/v3/account", secret="nope") == (
        400,
        {"code": -1022, "msg": "Signature for this request is not valid."},
    )
    status, body = await signed(sandbox, "GET", "/fapi/v3/account", timestamp=sandbox.now() - 20_000)
    assert (status, body["code"]) == (400, -1021)
    status, body = await signed(sandbox, "POST", "/fapi/v1/leverage", {"symbol": "BTCUSDT", "leverage": 10})
    assert (status, body["leverage"]) == (200, 10)  # a signed POST: the signature is in the form body
