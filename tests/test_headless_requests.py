"""What a headless enter and exit cost the exchange, judged by the sandbox's own request record.

``GET /sandbox/requests`` lists every REST request the exchange received, with the time it arrived. The
pipeline's window is taken from the journal (its first and last STAGE rows). The targets (issue 12):
markets are loaded once per process before the pipeline; inside it, one batch of reads, the orders, and
one verification — three round trips one after another, and nothing the decision does not need (no
exchangeInfo, server time or leverage brackets). With a one-way latency of ``LATENCY_MS`` the requests of
one round trip reach the exchange within a few ms of each other, and a request that waited for an answer
arrives at least two one-way latencies after it, so rounds are told apart by arrival gaps.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hedgetui import commands
from hedgetui.config.loader import load_config
from hedgetui.engine.journal import Journal
from hedgetui.sandbox.options import SandboxOptions
from hedgetui.sandbox.server import SandboxServer

LATENCY_MS = 25
#: Requests arriving within this of a round's first request belong to that round (a dependent request
#: arrives at least 2 x LATENCY_MS after the answer it waited for).
SAME_ROUND_MS = LATENCY_MS
#: Paths a pipeline never needs: markets and server time are loaded before it, brackets never.
NOT_IN_PIPELINE = {"/api/v3/exchangeInfo", "/fapi/v1/exchangeInfo", "/api/v3/time", "/fapi/v1/time"}


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    server = SandboxServer(SandboxOptions(port=0, tick_ms=50, latency_ms=LATENCY_MS))
    await server.start()
    yield server
    await server.stop()


async def control(server: SandboxServer, method: str, path: str) -> Any:
    async with aiohttp.ClientSession() as s, s.request(method, server.base_url + path) as resp:
        assert resp.status == 200
        return await resp.json()


async def headless(server: SandboxServer, tmp_path: Path, command: str, **kw: Any) -> tuple[dict[str, Any], Path]:
    """Run ``hedgetui <command> --yes --json`` in-process, as the CLI does (the headless stack, no streams)."""
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_DATA_HOME": str(tmp_path / "data")}
    config = load_config(None, env, {"venue.url": server.base_url, "venue.mode": "sandbox", "timeouts.fill_s": 5})
    out, err = io.StringIO(), io.StringIO()
    code = await commands.run_trading_command(
        command, config, env, yes=True, as_json=True, stdout=out, stderr=err, **kw
    )
    assert code == 0, err.getvalue()
    assert config.journal.path is not None
    return json.loads(out.getvalue()), config.journal.path


async def pipeline_window(journal_path: Path, intent_id: str) -> tuple[float, float]:
    """Wall-clock ms from the pipeline's first STAGE row (guards done) to its last (done)."""
    async with Journal(journal_path) as journal:
        stages = [e for e in await journal.events(intent_id=intent_id) if e.kind == "STAGE"]
    return float(stages[0].created_ms), float(stages[-1].created_ms + 1)


def rounds(requests: list[dict[str, Any]]) -> list[list[str]]:
    """The requests grouped into round trips by arrival time ("METHOD path" each)."""
    out: list[list[str]] = []
    first = float("-inf")
    for r in sorted(requests, key=lambda r: r["arrived_ms"]):
        if r["arrived_ms"] - first > SAME_ROUND_MS:
            out.append([])
            first = r["arrived_ms"]
        out[-1].append(f"{r['method']} {r['path']}")
    return out


async def measured(
    server: SandboxServer, tmp_path: Path, command: str, **kw: Any
) -> tuple[list[dict[str, Any]], list[list[str]], dict[str, Any]]:
    """Everything the command sent, and the pipeline's requests grouped into rounds."""
    await control(server, "DELETE", "/sandbox/requests")
    result, journal_path = await headless(server, tmp_path, command, **kw)
    record = (await control(server, "GET", "/sandbox/requests"))["requests"]
    start, end = await pipeline_window(journal_path, result["intent_id"])
    inside = [r for r in record if start <= r["arrived_ms"] <= end]
    return record, rounds(inside), result


def assert_markets_once_before(record: list[dict[str, Any]], inside: list[list[str]]) -> None:
    paths = [r["path"] for r in record]
    assert paths.count("/api/v3/exchangeInfo") == 1 and paths.count("/fapi/v1/exchangeInfo") == 1, paths
    sent = {req.split(" ", 1)[1] for batch in inside for req in batch}
    assert not sent & NOT_IN_PIPELINE, sent
    assert "/fapi/v1/leverageBracket" not in sent, sent


async def test_headless_enter_is_reads_orders_verification(sandbox: SandboxServer, tmp_path: Path) -> None:
    record, inside, result = await measured(sandbox, tmp_path, "enter", size_text="2000")
    assert result["end_state"] == "HEDGED"
    assert_markets_once_before(record, inside)
    # One batch of reads, both orders at once, one verification (the fee reads travel beside it).
    assert len(inside) == 3, inside
    reads, orders, verification = inside
    assert sorted(orders) == ["POST /api/v3/order", "POST /fapi/v1/order"], inside
    assert {"GET /api/v3/depth", "GET /fapi/v1/depth", "GET /api/v3/account"} <= set(reads), reads
    assert {"GET /api/v3/account", "GET /fapi/v3/positionRisk"} <= set(verification), verification
    # Each leg's state read once per round: nothing sent twice, nothing polled.
    assert len(reads) <= 6 and len(verification) <= 5, inside
    assert not any(r.endswith("/order") and r.startswith("GET") for batch in inside for r in batch), inside


async def test_headless_exit_is_reads_orders_verification(sandbox: SandboxServer, tmp_path: Path) -> None:
    await headless(sandbox, tmp_path, "enter", size_text="2000")
    record, inside, result = await measured(sandbox, tmp_path, "exit")
    assert result["end_state"] == "FLAT"
    assert_markets_once_before(record, inside)
    assert len(inside) == 3, inside
    assert sorted(inside[1]) == ["POST /api/v3/order", "POST /fapi/v1/order"], inside
    assert {"GET /api/v3/account", "GET /fapi/v3/positionRisk"} <= set(inside[2]), inside
    # The exchange's record agrees with the pipeline's: both legs flat.
    assert sandbox.core.position("BTCUSDT").amount == 0
