from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from hedgetui.domain.venue import VenueMode
from hedgetui.exchange.settings import VenueSettings
from hedgetui.exchange.venue import BinanceVenue
from hedgetui.sandbox.options import SandboxOptions
from hedgetui.sandbox.server import SandboxServer

KEY = "adapter-test-key-0123456789abcdef"
SECRET = "adapter-test-secret-SHOULD-NOT-LEAK-42"


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    server = SandboxServer(SandboxOptions(port=0, tick_ms=20, api_key=KEY, api_secret=SECRET))
    await server.start()
    yield server
    await server.stop()


def settings_for(server: SandboxServer, **kw: object) -> VenueSettings:
    base: dict[str, object] = {
        "mode": VenueMode.SANDBOX,
        "sandbox_url": server.base_url,
        "api_key": SecretStr(server.api_key),
        "api_secret": SecretStr(server.api_secret),
        "timeout_ms": 2000,
    }
    base.update(kw)
    return VenueSettings(**base)  # type: ignore[arg-type]


@pytest.fixture
async def venue(sandbox: SandboxServer) -> AsyncIterator[BinanceVenue]:
    v = await BinanceVenue.connect(settings_for(sandbox))
    yield v
    await v.close()
