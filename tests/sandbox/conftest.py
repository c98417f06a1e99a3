"""Fixtures: a sandbox server on a free loopback port and ccxt's real binance classes pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

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
        "ws": {"spot": ws + "/stream/ws", "margin": ws + "/stream/ws", "linear": ws + "/fstream/ws"},
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
