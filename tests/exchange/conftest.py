"""Fixtures for the venue layer: a real sandbox on loopback with its own credentials, and a venue on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from hedgetui.domain.venue import VenueMode
from hedgetui.exchange.settings import VenueSettings
from hedgetui.exchange.venue import BinanceVenue
from hedgetui.sandbox.options import SandboxOptions
from hedgetui.sandbox.server import SandboxServer

#: Credentials only these tests use, distinctive enough to be searched for in every text that leaves.
KEY = "adapter-test-key-0123456789abcdef"
SECRET = "adapter-test-secret-SHOULD-NOT-LEAK-42"


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    server = SandboxServer(SandboxOptions(port=0, tick_ms=20, api_key=KEY, api_secret=SECRET))
    await server.start()
    yield server
    await server.stop()


def settings_for(server: SandboxServer, **kw: Any) -> VenueSettings:
    """Sandbox-mode settings for ``server`` (its keys, no client-side throttle, a 2 s timeout)."""
    base: dict[str, Any] = {
        "mode": VenueMode.SANDBOX,
        "sandbox_url": server.base_url,
        "api_key": SecretStr(server.api_key),
        "api_secret": SecretStr(server.api_secret),
        "timeout_ms": 2000,
        "rate_limit_ms": 0,
    }
    base.update(kw)
    return VenueSettings(**base)


@pytest.fixture
async def venue(sandbox: SandboxServer) -> AsyncIterator[BinanceVenue]:
    # The adapter's own calls only: the user data streams' background reads would take the faults armed
    # for the call under test (they have their own tests).
    v = await BinanceVenue.connect(settings_for(sandbox, user_stream=False))
    yield v
    await v.close()


async def add_fault(server: SandboxServer, match: str, action: str, **params: Any) -> None:
    """Arm a fault rule through the sandbox's control API."""
    body = {"match": match, "action": action, **params}
    async with aiohttp.ClientSession() as s, s.post(server.base_url + "/sandbox/faults", json=body) as r:
        assert r.status == 200, await r.text()
