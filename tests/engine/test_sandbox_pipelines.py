"""The pipelines end to end: engine → venue adapter → ccxt's binance → the sandbox over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hedgetui.domain.execution import EndState
from hedgetui.engine.engine import Engine
from hedgetui.engine.journal import Journal
from hedgetui.engine.legs import ExecTimeouts
from hedgetui.engine.settings import EngineSettings
from hedgetui.exchange.venue import BinanceVenue
from hedgetui.sandbox.options import SandboxOptions
from hedgetui.sandbox.server import SandboxServer
from tests.exchange.conftest import KEY, SECRET, settings_for

FAST = ExecTimeouts(order_ack_s=8, fill_s=3, partial_fill_retries=3, lookup_grace_s=1.0, max_resubmits=1)


class Harness:
    def __init__(self, server: SandboxServer, engine: Engine, journal_path: Path) -> None:
        self.server = server
        self.engine = engine
        self.journal_path = journal_path

    async def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with aiohttp.ClientSession() as s, s.request(method, self.server.base_url + path, json=body) as r:
            return await r.json()

    async def fault(self, match: str, action: str, **params: Any) -> None:
        await self.control("POST", "/sandbox/faults", {"match": match, "action": action, **params})

    async def state(self) -> dict[str, Any]:
        return dict(await self.control("GET", "/sandbox/state"))


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    server = SandboxServer(SandboxOptions(port=0, tick_ms=50, api_key=KEY, api_secret=SECRET))
    await server.start()
    venue = await BinanceVenue.connect(settings_for(server, timeout_ms=1500))
    path = tmp_path / "journal.sqlite3"
    try:
        async with Journal(path) as journal:
            engine = Engine(venue, journal, EngineSettings(timeouts=FAST))
            await engine.start()
            yield Harness(server, engine, path)
            await engine.shutdown()
    finally:
        await venue.close()
        await server.stop()


def leg_orders(state: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [o for o in state["orders"] if code in o["clientOrderId"]]


def assert_no_duplicate_cids(state: dict[str, Any]) -> None:
    cids = [o["clientOrderId"] for o in state["orders"]]
    assert len(cids) == len(set(cids))


async def test_enter_and_exit_against_the_sandbox(harness: Harness) -> None:
    result = await harness.engine.enter(D("2000"))
    assert result.end_state is EndState.HEDGED, result.reason
    state = await harness.state()
    assert D(state["positions"][0]["positionAmt"]) == -result.quantity  # type: ignore[operator]
    out = await harness.engine.exit()
    assert out.end_state is EndState.FLAT, out.reason
    state = await harness.state()
    assert D(state["positions"][0]["positionAmt"]) == 0
    assert_no_duplicate_cids(state)


async def test_timeout_after_accept_is_adopted_once(harness: Harness) -> None:
    await harness.fault("POST /fapi/v1/order", "timeout_after_accept", hold_ms=4000)
    result = await harness.engine.enter(D("2000"))
    assert result.end_state is EndState.HEDGED, result.reason
    state = await harness.state()
    assert len(leg_orders(state, "PO")) == 1
    kinds = [e.kind for e in await harness.engine.journal.events()]
    assert "AMBIGUOUS" in kinds and "ADOPT" in kinds


async def test_perp_rejected_ends_flat(harness: Harness) -> None:
    await harness.fault("POST /fapi/v1/order", "reject", code=-2019, msg="Margin is insufficient.")
    result = await harness.engine.enter(D("2000"))
    assert result.end_state is EndState.FLAT
    state = await harness.state()
    assert D(state["positions"][0]["positionAmt"]) == 0
    assert_no_duplicate_cids(state)


async def test_the_journal_never_holds_a_credential(harness: Harness) -> None:
    await harness.fault("POST /fapi/v1/order", "http_503")
    await harness.engine.enter(D("2000"))
    await harness.engine.exit()
    for file in harness.journal_path.parent.iterdir():
        data = file.read_bytes()
        assert KEY.encode() not in data and SECRET.encode() not in data


async def test_perp_first_sends_spot_on_the_perps_filled_answer_beside_its_fee_read(tmp_path: Path) -> None:
    """perp_first: a perp answer that says FILLED (whole) is the exchange's word; the spot order goes at
    once, in the same round trip as the perp's trade read (its fee), not one round trip after it. Judged by
    the sandbox's request record and its own legs."""
    from hedgetui.domain.venue import MarketKind
    from hedgetui.engine.settings import LegMode

    server = SandboxServer(SandboxOptions(port=0, tick_ms=50, latency_ms=25, api_key=KEY, api_secret=SECRET))
    await server.start()
    venue = await BinanceVenue.connect(settings_for(server, timeout_ms=1500, user_stream=False))
    try:
        async with Journal(tmp_path / "journal.sqlite3") as journal:
            engine = Engine(venue, journal, EngineSettings(timeouts=FAST, leg_mode=LegMode.PERP_FIRST))
            await engine.start()
            server.requests.clear()
            result = await engine.enter(D("2000"))
            assert result.end_state is EndState.HEDGED and result.success, result.reason
            await engine.shutdown()
        records = server.requests.records()
        perp_post = next(r for r in records if r.method == "POST" and r.path == "/fapi/v1/order")
        spot_post = next(r for r in records if r.method == "POST" and r.path == "/api/v3/order")
        trades = next(r for r in records if r.path == "/fapi/v1/userTrades")
        assert perp_post.answered_ms is not None
        # Sent on the perp's answer: arrives one round trip after the perp order, beside the trade read.
        assert abs(spot_post.arrived_ms - trades.arrived_ms) < 25
        assert spot_post.arrived_ms - perp_post.arrived_ms < 2 * 50
        spot = server.core.spot_balances()["BTC"][0]
        assert server.core.position("BTCUSDT").amount == -result.quantity  # type: ignore[operator]
        assert spot == result.quantity * D("0.999") and venue.rules(MarketKind.SPOT).base == "BTC"  # type: ignore[operator]
    finally:
        await venue.close()
        await server.stop()


async def test_books_read_shallow_first_and_again_in_full_before_a_depth_refusal(harness: Harness) -> None:
    """The pipeline reads 20 levels first; a size those levels cannot hold (times the liquidity multiple)
    is decided again on full books, never refused on a truncated read. Judged by the sandbox's request
    record (two depth reads per market) and its own legs."""
    server = harness.server
    server.requests.clear()
    small = await harness.engine.enter(D("2000"))  # 20 levels hold 3x its quantity: one depth read each
    assert small.success, small.reason
    depth_reads = [r.path for r in server.requests.records() if r.path.endswith("/depth")]
    assert sorted(depth_reads) == ["/api/v3/depth", "/fapi/v1/depth"]
    assert (await harness.engine.exit()).success
    server.requests.clear()
    large = await harness.engine.enter(D("25000"))  # ~0.42 BTC: 20 levels hold less than 3x, 100 levels more
    assert large.success and large.end_state is EndState.HEDGED, large.reason
    depth_reads = [r.path for r in server.requests.records() if r.path.endswith("/depth")]
    assert sorted(depth_reads) == ["/api/v3/depth", "/api/v3/depth", "/fapi/v1/depth", "/fapi/v1/depth"]
    assert server.core.position("BTCUSDT").amount == -large.quantity  # type: ignore[operator]
