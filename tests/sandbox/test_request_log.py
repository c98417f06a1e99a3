"""The request record (``GET/DELETE /sandbox/requests``): every exchange REST request, as the exchange saw it."""

from __future__ import annotations

import time

import aiohttp

from hedgetui.sandbox.options import SandboxOptions
from hedgetui.sandbox.requestlog import MAX_RECORDED, RequestLog
from hedgetui.sandbox.server import SandboxServer
from tests.sandbox.conftest import control, fault


async def get(sandbox: SandboxServer, path: str) -> int:
    async with aiohttp.ClientSession() as s, s.get(sandbox.base_url + path) as resp:
        await resp.read()
        return resp.status


async def test_exchange_requests_are_recorded_in_order_with_their_status(sandbox: SandboxServer) -> None:
    assert await get(sandbox, "/api/v3/ping") == 200
    assert await get(sandbox, "/fapi/v1/depth?symbol=BTCUSDT&limit=5") == 200
    assert await get(sandbox, "/api/v3/depth") == 400  # no symbol: refused, and still a request received
    await control(sandbox, "GET", "/sandbox/state")  # the control API is not the exchange: not recorded
    record = await control(sandbox, "GET", "/sandbox/requests")
    assert record["count"] == 3
    got = [(r["method"], r["path"], r["status"]) for r in record["requests"]]
    assert got == [("GET", "/api/v3/ping", 200), ("GET", "/fapi/v1/depth", 200), ("GET", "/api/v3/depth", 400)]
    seqs = [r["seq"] for r in record["requests"]]
    assert seqs == sorted(seqs)
    assert all(r["arrived_ms"] <= r["answered_ms"] for r in record["requests"])


async def test_clearing_and_reset_forget_the_record(sandbox: SandboxServer) -> None:
    await get(sandbox, "/api/v3/ping")
    assert await control(sandbox, "DELETE", "/sandbox/requests") == {"cleared": 1}
    assert (await control(sandbox, "GET", "/sandbox/requests"))["count"] == 0
    await get(sandbox, "/api/v3/time")
    await control(sandbox, "POST", "/sandbox/reset")
    assert (await control(sandbox, "GET", "/sandbox/requests"))["count"] == 0


async def test_faulted_and_rate_limited_requests_are_recorded() -> None:
    async with SandboxServer(SandboxOptions(port=0, tick_ms=50)) as sandbox:
        await fault(sandbox, "GET /api/v3/ping", "http_503")
        assert await get(sandbox, "/api/v3/ping") == 503
        record = (await control(sandbox, "GET", "/sandbox/requests"))["requests"]
        assert [(r["path"], r["status"]) for r in record] == [("/api/v3/ping", 503)]


async def test_arrival_is_after_the_inbound_latency() -> None:
    async with SandboxServer(SandboxOptions(port=0, tick_ms=50, latency_ms=30)) as sandbox:
        sent = time.time() * 1000
        await get(sandbox, "/api/v3/ping")
        back = time.time() * 1000
        (r,) = (await control(sandbox, "GET", "/sandbox/requests"))["requests"]
        assert r["arrived_ms"] - sent >= 29 and back - r["answered_ms"] >= 29


def test_the_record_is_bounded() -> None:
    log = RequestLog()
    for i in range(MAX_RECORDED + 5):
        log.answered(log.arrived("GET", "/api/v3/ping", float(i)), 200, float(i))
    records = log.records()
    assert len(records) == MAX_RECORDED and records[0].seq == 6 and records[-1].seq == MAX_RECORDED + 5
