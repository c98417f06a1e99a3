"""Signed-request checks, in the order of spec §A6: key header, key, HMAC over the RAW query/body, timing."""

from __future__ import annotations

import hashlib
import hmac
import re
from decimal import Decimal
from urllib.parse import parse_qsl

from hedgetui.sandbox.model import SandboxError

#: Binance refuses a wider window than this (-1131).
MAX_RECV_WINDOW_MS = 60_000
#: Binance's default when a signed request sends no ``recvWindow``.
DEFAULT_RECV_WINDOW_MS = 5_000
#: A request may claim to be this far ahead of the server and still be accepted.
AHEAD_TOLERANCE_MS = 1_000


#: Spot accepts a recvWindow with up to three decimals (microsecond precision); USDⓈ-M wants an integer.
SPOT_RECV_WINDOW_RE = re.compile(r"^[0-9]{1,20}(\.[0-9]{1,3})?$")
FUTURES_RECV_WINDOW_RE = re.compile(r"^[0-9]{1,20}$")


def merge_params(query: str, body: str) -> dict[str, str]:
    """Binance's parameters of one request: the form body's, overridden by the query string's.

    Binance reads parameters from both places for every method; a parameter sent in both is taken from
    the query string.
    """
    params = dict(parse_qsl(body, keep_blank_values=True))
    params.update(parse_qsl(query, keep_blank_values=True))
    return params


def check_api_key(api_key_header: str | None, api_key: str) -> None:
    """The API-key checks every keyed request passes first: -2014 without the header, -2015 for a wrong key."""
    if not api_key_header:
        raise SandboxError(-2014, "API-key format invalid.", 401)
    if not hmac.compare_digest(api_key_header.encode(), api_key.encode()):
        raise SandboxError(-2015, "Invalid API-key, IP, or permissions for action.", 401)


def check_signed(
    *,
    api_key_header: str | None,
    query: str,
    body: str,
    api_key: str,
    api_secret: str,
    server_time: int,
    fractional_recv_window: bool = False,
) -> dict[str, str]:
    """Verify one signed request; return its decoded parameters (without the signature).

    ``query`` is the raw (percent-encoded) query string and ``body`` the raw form body: aiohttp's decoded
    ``query_string`` would break signatures over ids containing ``:`` or ``/``. As on Binance, the signed
    payload is the query string immediately followed by the body, and the signature is its last parameter.
    ``fractional_recv_window`` allows spot's ``recvWindow`` with up to three decimals.
    """
    check_api_key(api_key_header, api_key)
    total = query + body
    if total.startswith("signature="):
        payload, signature = "", total[len("signature=") :]
    else:
        payload, sep, signature = total.rpartition("&signature=")
        if not sep:
            raise SandboxError(-1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
    expected = hmac.new(api_secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.lower().encode()):
        raise SandboxError(-1022, "Signature for this request is not valid.")
    # The signature is stripped from whichever part carried it; the rest of both parts are parameters.
    query_part = query if len(query) <= len(payload) else payload
    body_part = payload[len(query_part) :]
    params = merge_params(query_part, body_part)
    try:
        timestamp = int(params["timestamp"])
    except (KeyError, ValueError):
        raise SandboxError(
            -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."
        ) from None
    raw_window = params.get("recvWindow", str(DEFAULT_RECV_WINDOW_MS))
    grammar = SPOT_RECV_WINDOW_RE if fractional_recv_window else FUTURES_RECV_WINDOW_RE
    if not grammar.match(raw_window):
        raise SandboxError(
            -1100, f"Illegal characters found in parameter 'recvWindow'; legal range is '{grammar.pattern}'."
        )
    recv_window = Decimal(raw_window)
    if recv_window > MAX_RECV_WINDOW_MS:
        raise SandboxError(-1131, "recvWindow must be less than 60000")
    if not (timestamp < server_time + AHEAD_TOLERANCE_MS and server_time - timestamp <= recv_window):
        raise SandboxError(-1021, "Timestamp for this request is outside of the recvWindow.")
    return params
