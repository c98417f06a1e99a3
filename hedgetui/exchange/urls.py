"""Per-mode endpoints: the sandbox's ``urls['api']`` replacement and the path-based error-table picker.

Live and demo use ccxt's own URLs (demo through ``enable_demo_trading``); only the sandbox needs a dict of
its own (``binance-sandbox-spec.md`` §B1). The error-table picker (§B7) is installed in every mode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: The REST sections hedgetui's calls use, with the path each maps to (``sapi`` for the wallet transfer,
#: ``POST /sapi/v1/asset/transfer``, which the sandbox serves). Anything else (``sapi`` v2+, ``dapi*``,
#: ``eapi*``, ``papi*``) is deliberately absent: ccxt's ``sign()`` then raises NotSupported before any
#: network I/O, so a forgotten endpoint can never reach the real Binance from sandbox mode.
SANDBOX_REST_SECTIONS: dict[str, str] = {
    "public": "/api/v3",
    "private": "/api/v3",
    "v1": "/api/v1",
    "fapiPublic": "/fapi/v1",
    "fapiPublicV2": "/fapi/v2",
    "fapiPublicV3": "/fapi/v3",
    "fapiPrivate": "/fapi/v1",
    "fapiPrivateV2": "/fapi/v2",
    "fapiPrivateV3": "/fapi/v3",
    "fapiData": "/futures/data",
    "sapi": "/sapi/v1",
}
#: Websocket routes per ccxt market type; the spot route must contain ``/stream`` (spec §A7).
SANDBOX_WS_SECTIONS: dict[str, str] = {"spot": "/stream/ws", "margin": "/stream/ws", "linear": "/fstream/ws"}
#: The spot websocket API, where ccxt.pro subscribes the spot user data stream.
SANDBOX_WS_API = "/ws-api/v3"


def ws_base(http_base: str) -> str:
    """``http://h:p`` → ``ws://h:p`` and ``https://…`` → ``wss://…``."""
    if http_base.startswith("https://"):
        return "wss://" + http_base[len("https://") :]
    if http_base.startswith("http://"):
        return "ws://" + http_base[len("http://") :]
    raise ValueError(f"not an http(s) URL: {http_base!r}")


def sandbox_urls(base_url: str) -> dict[str, Any]:
    """The complete ``urls['api']`` replacement for a sandbox at ``base_url`` (spec §B1)."""
    http = base_url.rstrip("/")
    ws = ws_base(http)
    api: dict[str, Any] = {section: http + path for section, path in SANDBOX_REST_SECTIONS.items()}
    api["ws"] = {market: ws + path for market, path in SANDBOX_WS_SECTIONS.items()}
    # ccxt.pro subscribes the spot user data stream over the websocket API (spec §7 of sandbox-contract.md).
    api["ws"]["ws-api"] = {"spot": ws + SANDBOX_WS_API}
    return api


def market_type_of_path(url: str) -> str | None:
    """ccxt's market type for an endpoint, from the URL's path: ``fapi/…`` linear, ``api/``/``sapi/`` spot."""
    _host, _, path = url.split("://", 1)[-1].partition("/")
    if path.startswith("fapi/"):
        return "linear"
    if path.startswith(("api/", "sapi/")):
        return "spot"
    return None


def exceptions_by_path(exceptions: dict[str, Any]) -> Callable[[str | None, str], dict[str, Any]]:
    """A ``get_exceptions_by_url`` replacement that picks ccxt's per-market error tables by URL path.

    ccxt picks them by host (``https://fapi.binance.com/`` ...), so on loopback fapi codes such as -2019,
    -2022, -4116 and -4164 would degrade to a plain ExchangeError (spec §B7). For live and demo hosts the
    path gives the same table as the host, so the same picker is installed in every mode.
    """

    def by_path(url: str | None, exact_or_broad: str) -> dict[str, Any]:
        if not url:
            return {}
        market_type = market_type_of_path(url)
        if market_type is None:
            return {}
        tables = exceptions.get(market_type)
        table = tables.get(exact_or_broad) if isinstance(tables, dict) else None
        return table if isinstance(table, dict) else {}

    return by_path
