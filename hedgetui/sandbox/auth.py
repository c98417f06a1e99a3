"""Signed-request checks, in Binance's order (spec §A6): key header, HMAC over the RAW query, timing."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl

from hedgetui.sandbox.model import SandboxError


def check_signed(
    *, api_key_header: str | None, raw: str, api_key: str, api_secret: str, server_time: int
) -> dict[str, str]:
    """Verify one signed request; return its decoded parameters (without the signature).

    ``raw`` is the raw (percent-encoded) query string for GET/DELETE or the raw body for POST: aiohttp's
    decoded ``query_string`` would break signatures over ids containing ``:`` or ``/``.
    """
    if not api_key_header:
        raise SandboxError(-2014, "API-key format invalid.", 401)
    if not hmac.compare_digest(api_key_header, api_key):
        raise SandboxError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
    payload, sep, signature = raw.rpartition("&signature=")
    if not sep:
        if raw.startswith("signature="):
            payload, signature = "", raw[len("signature=") :]
        else:
            raise SandboxError(-1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
    expected = hmac.new(api_secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.split("&", 1)[0].lower()):
        raise SandboxError(-1022, "Signature for this request is not valid.")
    params = dict(parse_qsl(payload, keep_blank_values=True))
    try:
        timestamp = int(params["timestamp"])
    except (KeyError, ValueError):
        raise SandboxError(
            -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."
        ) from None
    try:
        recv_window = int(params.get("recvWindow", "5000"))
    except ValueError:
        raise SandboxError(-1102, "Illegal characters found in parameter 'recvWindow'.") from None
    if recv_window > 60000:
        raise SandboxError(-1131, "recvWindow must be less than 60000")
    if not (timestamp < server_time + 1000 and server_time - timestamp <= recv_window):
        raise SandboxError(-1021, "Timestamp for this request is outside of the recvWindow.")
    return params
