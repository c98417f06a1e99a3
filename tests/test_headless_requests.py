"""What a headless enter and exit cost the exchange, judged by the sandbox's own request record.

``GET /sandbox/requests`` lists every REST request the exchange received, with the time it arrived. The
pipeline's window is taken from the journal (its first and last STAGE rows). The targets (issue 12): the
markets are loaded once per process; then one batch of reads (the start's reconciliation, which reads the
books and the futures wallet beside the legs, and which the pipeline decides on while it is fresh), the
orders, and one verification — four round trips one after another for the whole command, the last two
inside the pipeline, and nothing a decision does not need (no leverage brackets, no read made twice). With
a one-way latency of ``LATENCY_MS`` the requests of one round trip reach the exchange within a few ms of
each other, and a request that waited for an answer arrives at least two one-way latencies after it, so
rounds are told apart by arrival gaps.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hedgetui import commands
from hedgetui.command_setup import session, venue_settings
from hedgetui.config.loader import load_config
from hedgetui.domain.margin import TransferDirection
from hedgetui.engine.journal import Journal
from hedgetui.engine.snapshot import HANDOFF_S
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
    assert "/fapi/v1/leverageBracket" not in paths, paths


#: What a decision reads: both books, both wallets, the position and the funding.
DECISION_READS = {
    "GET /api/v3/depth",
    "GET /fapi/v1/depth",
    "GET /api/v3/account",
    "GET /fapi/v3/account",
    "GET /fapi/v3/positionRisk",
    "GET /fapi/v1/premiumIndex",
}


def assert_reads_orders_verification(record: list[dict[str, Any]], inside: list[list[str]]) -> None:
    """The whole command, round by round: the markets, one batch of reads (the reconciliation's, which the
    pipeline decides on), both orders at once, one verification; the pipeline itself is the last two."""
    assert_markets_once_before(record, inside)
    whole = rounds(record)
    markets, reads, orders, verification = whole[:4]
    assert sorted(markets) == ["GET /api/v3/exchangeInfo", "GET /fapi/v1/exchangeInfo"], whole
    assert set(reads) >= DECISION_READS, whole
    assert len(reads) == len(set(reads)), reads  # each read once
    assert sorted(orders) == ["POST /api/v3/order", "POST /fapi/v1/order"], whole
    assert {"GET /api/v3/account", "GET /fapi/v3/positionRisk"} <= set(verification), whole
    assert len(verification) <= 5, verification
    assert inside == [orders, verification], inside  # nothing read again inside the pipeline
    # Nothing polled: no order lookup anywhere.
    assert not any(r.endswith("/order") and r.startswith("GET") for batch in whole for r in batch), whole


async def test_headless_enter_is_reads_orders_verification(sandbox: SandboxServer, tmp_path: Path) -> None:
    record, inside, result = await measured(sandbox, tmp_path, "enter", size_text="2000")
    assert result["end_state"] == "HEDGED"
    assert_reads_orders_verification(record, inside)
    risk = next(s for s in result["stages"] if s["stage"] == "risk")
    assert "on the reconciliation's reading of" in risk["detail"], risk
    assert sandbox.core.position("BTCUSDT").amount == Decimal("-0.033")


async def test_headless_exit_is_reads_orders_verification(sandbox: SandboxServer, tmp_path: Path) -> None:
    await headless(sandbox, tmp_path, "enter", size_text="2000")
    record, inside, result = await measured(sandbox, tmp_path, "exit")
    assert result["end_state"] == "FLAT"
    assert_reads_orders_verification(record, inside)
    # The exchange's record agrees with the pipeline's: both legs flat.
    assert sandbox.core.position("BTCUSDT").amount == 0


async def test_a_reading_too_old_is_read_again(sandbox: SandboxServer, tmp_path: Path) -> None:
    """Past HANDOFF_S the reconciliation's reading is not decided on: the pipeline reads everything again."""
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_DATA_HOME": str(tmp_path / "data")}
    config = load_config(None, env, {"venue.url": sandbox.base_url, "venue.mode": "sandbox"})
    assert config.journal.path is not None
    async with session(config, venue_settings(config, env)) as engine:
        assert engine.kit.handoff is not None
        await control(sandbox, "DELETE", "/sandbox/requests")
        await asyncio.sleep(HANDOFF_S + 0.1)
        result = await engine.enter(Decimal(2000))
        assert result.end_state.value == "HEDGED", result.reason
        record = (await control(sandbox, "GET", "/sandbox/requests"))["requests"]
    first = rounds(record)[0]
    assert DECISION_READS - {"GET /fapi/v1/premiumIndex"} <= set(first), first
    assert engine.kit.handoff is None


async def test_nothing_but_an_entry_or_exit_decides_on_the_reading(sandbox: SandboxServer, tmp_path: Path) -> None:
    """A transfer or a correction started after the reconciliation voids its reading."""
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_DATA_HOME": str(tmp_path / "data")}
    config = load_config(None, env, {"venue.url": sandbox.base_url, "venue.mode": "sandbox"})
    async with session(config, venue_settings(config, env)) as engine:
        assert engine.kit.handoff is not None
        await engine.transfer(Decimal(100), TransferDirection.TO_FUTURES)
        assert engine.kit.handoff is None
        await engine.reconcile(operator=True)
        assert engine.kit.handoff is not None
        await engine.correct()  # nothing to correct: refused, but it started
        assert engine.kit.handoff is None
