"""Fixtures: a sandbox server on a free loopback port and ccxt's real binance classes pointed at it."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import aiohttp
import ccxt.pro as ccxtpro
import pytest

from hedgetui.sandbox.options import SandboxOptions
from hedgetui.sandbox.server import SandboxServer

OPTIONS = {"fetchMarkets": {"types": ["spot", "linear"]}, "fetchCurrencies": False, "fetchMargins": False}


def urls(base: str, ws: str) -> dict[str, Any]:
    return {
        "public": base + "/api/v3",
        "private": base + "/api/v3",
        "v1": base + "/api/v1",
        "fapiPublic": base + "/fapi/v1",
        "fapiPublicV2": base + "/fapi/v2",
        "fapiPublicV3": base + "/fapi/v3",
        "fapiPrivate": base + "/fapi/v1",
        "fapiPrivateV2": base + "/fapi/v2",
        "fapiPrivateV3": base + "/fapi/v3",
        "fapiData": base + "/futures/data",
        "sapi": base + "/sapi/v1",  # the universal transfer (POST /sapi/v1/asset/transfer)
        "ws": {
            "spot": ws + "/stream/ws",
            "margin": ws + "/stream/ws",
            "linear": ws + "/fstream/ws",
            # ccxt.pro 4.5.90 subscribes the spot user data stream over the websocket API
            "ws-api": {"spot": ws + "/ws-api/v3"},
        },
    }


def patch_errors(ex: Any) -> None:
    """Spec §B7: select ccxt's per-market error tables by URL path, as live hosts get them."""

    def by_path(url: str, kind: str) -> dict[str, Any]:
        path = url.split("://", 1)[-1].split("/", 1)[-1]
        mt = "linear" if path.startswith("fapi/") else "spot" if path.startswith(("api/", "sapi/")) else None
        return ex.safe_dict(ex.safe_dict(ex.exceptions, mt, {}), kind, {}) if mt else {}

    ex.get_exceptions_by_url = by_path


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    server = SandboxServer(SandboxOptions(port=0, tick_ms=20))
    await server.start()
    yield server
    await server.stop()


Factory = Callable[..., Awaitable[Any]]


@pytest.fixture
async def client(sandbox: SandboxServer) -> AsyncIterator[Factory]:
    """``await client(patched=True, timeout=…, key=…)`` → a loaded ccxt.pro.binance on the sandbox."""
    made: list[Any] = []

    async def make(
        *,
        patched: bool = True,
        timeout_ms: int = 10_000,
        key: str | None = None,
        secret: str | None = None,
        load: bool = True,
    ) -> Any:
        ex = ccxtpro.binance(
            {
                "apiKey": key or sandbox.api_key,
                "secret": secret or sandbox.api_secret,
                "options": dict(OPTIONS),
                "timeout": timeout_ms,
                "enableRateLimit": False,
            }
        )
        ex.urls["api"] = urls(sandbox.base_url, sandbox.ws_url)
        # ccxt waits 250 ms on close() to let TLS transports shut down; plain loopback HTTP has none.
        ex.timeout_on_exit = 0
        if patched:
            patch_errors(ex)
        made.append(ex)
        if load:
            await ex.load_markets()
        return ex

    yield make
    for ex in made:
        await ex.close()


async def control(sandbox: SandboxServer, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    async with aiohttp.ClientSession() as session, session.request(method, sandbox.base_url + path, json=body) as resp:
        data = await resp.json()
        if resp.status >= 400:
            raise AssertionError(f"{method} {path} -> {resp.status}: {data}")
        return data


async def fault(sandbox: SandboxServer, match: str, action: str, **params: Any) -> int:
    return int((await control(sandbox, "POST", "/sandbox/faults", {"match": match, "action": action, **params}))["id"])


async def signed(
    sandbox: SandboxServer,
    method: str,
    path: str,
    params: dict[str, Any] | None = None,
    *,
    timestamp: int | None = None,
    secret: str | None = None,
    key: str | None = None,
) -> tuple[int, Any]:
    """A hand-signed Binance request (as ccxt would send it): the status and the decoded JSON (or text)."""
    query = urlencode({**(params or {}), "timestamp": timestamp or sandbox.now(), "recvWindow": 10000})
    signature = hmac.new((secret or sandbox.api_secret).encode(), query.encode(), hashlib.sha256).hexdigest()
    payload = f"{query}&signature={signature}"
    headers = {"X-MBX-APIKEY": key or sandbox.api_key}
    url = sandbox.base_url + path
    async with aiohttp.ClientSession() as session:
        if method == "POST":
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            request = session.post(url, data=payload, headers=headers)
        else:
            request = session.request(method, f"{url}?{payload}", headers=headers)
        async with request as resp:
            text = await resp.text()
            try:
                return resp.status, json.loads(text)
            except ValueError:
                return resp.status, text


async def public(sandbox: SandboxServer, path: str, **params: Any) -> tuple[int, Any]:
    """An unsigned GET: the status and the decoded JSON (or text)."""
    async with aiohttp.ClientSession() as session, session.get(sandbox.base_url + path, params=params) as resp:
        text = await resp.text()
        try:
            return resp.status, json.loads(text)
        except ValueError:
            return resp.status, text
