"""Binding, stopping, the tick loop's schedule, global latency and ``serve_forever``."""

from __future__ import annotations

import asyncio
import socket
import time

import aiohttp
import pytest

from hedgetui.sandbox.model import Market
from hedgetui.sandbox.options import SandboxOptions
from hedgetui.sandbox.server import SandboxServer, serve_forever
from tests.sandbox.conftest import fault, public, signed


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


async def test_binds_a_free_port_refuses_a_taken_one_and_releases_it() -> None:
    first = SandboxServer(SandboxOptions(port=0))
    await first.start()
    assert first.port > 0 and first.base_url == f"http://127.0.0.1:{first.port}"
    assert first.ws_url == f"ws://127.0.0.1:{first.port}"
    second = SandboxServer(SandboxOptions(port=first.port))
    with pytest.raises(OSError):
        await second.start()
    await first.stop()
    assert port_is_free(first.port)
    async with SandboxServer(SandboxOptions(port=first.port)) as again:  # the port can be taken back at once
        assert (await public(again, "/api/v3/ping"))[0] == 200


async def test_stop_ends_held_requests_at_once(sandbox: SandboxServer) -> None:
    await fault(sandbox, "POST /fapi/v1/order", "timeout_before_accept")  # holds for 60 s by default
    order = {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.01"}
    held = asyncio.create_task(signed(sandbox, "POST", "/fapi/v1/order", order))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await sandbox.stop()
    assert time.monotonic() - started < 1.5
    try:
        status, _ = await asyncio.wait_for(held, 2)
        assert status == 504
    except aiohttp.ClientError:
        pass  # the connection went away with the server: also an answer the client can act on
    assert sandbox.core.orders() == []


async def count_ticks(server: SandboxServer) -> list[float]:
    loop = asyncio.get_running_loop()
    times: list[float] = []
    original = server.core.tick

    def counted() -> None:
        times.append(loop.time())
        original()

    server.core.tick = counted  # type: ignore[method-assign]
    return times


async def test_tick_loop_keeps_its_schedule_and_skips_missed_ticks() -> None:
    async with SandboxServer(SandboxOptions(port=0, tick_ms=20)) as server:
        times = await count_ticks(server)
        await asyncio.sleep(0.5)
        steady = len(times)
        assert 15 <= steady <= 26  # 25 due; never more than the schedule allows
        time.sleep(0.3)  # noqa: ASYNC251 - on purpose: stall the event loop (15 ticks missed)
        stalled_at = asyncio.get_running_loop().time()
        await asyncio.sleep(0.05)
        burst = [t for t in times if stalled_at <= t < stalled_at + 0.015]
        assert len(burst) <= 2  # the missed ticks are skipped, not replayed in a burst


async def test_ticks_move_the_books() -> None:
    async with SandboxServer(SandboxOptions(port=0, tick_ms=5)) as server:
        first = server.core.depth(Market.SPOT, "BTCUSDT", 5)[0]
        await asyncio.sleep(0.1)
        assert server.core.depth(Market.SPOT, "BTCUSDT", 5)[0] > first


async def test_global_latency_applies_to_exchange_routes_not_control() -> None:
    async with SandboxServer(SandboxOptions(port=0, latency_ms=80, jitter_ms=20)) as server:
        started = time.monotonic()
        await public(server, "/api/v3/ping")
        assert time.monotonic() - started >= 0.16  # there and back
        started = time.monotonic()
        async with aiohttp.ClientSession() as s, s.get(server.base_url + "/sandbox/faults") as resp:
            assert resp.status == 200
        assert time.monotonic() - started < 0.08


async def test_serve_forever_serves_until_cancelled() -> None:
    ready: asyncio.Future[SandboxServer] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve_forever(SandboxOptions(port=0), on_ready=ready.set_result))
    server = await asyncio.wait_for(ready, 5)
    assert (await public(server, "/fapi/v1/ping"))[0] == 200
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert port_is_free(server.port)
