"""Crash tests (fault-matrix rows 30 and 31): SIGKILL the engine at each stage of enter and exit, restart,
reconcile: the end state is HEDGED, FLAT or HALTED, and no order is ever duplicated."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest
from pydantic import SecretStr

from hedgetui.domain.execution import EndState
from hedgetui.domain.risk import TradingState
from hedgetui.domain.venue import VenueMode
from hedgetui.engine.engine import Engine
from hedgetui.engine.journal import Journal
from hedgetui.engine.legs import ExecTimeouts
from hedgetui.engine.settings import EngineSettings
from hedgetui.exchange.settings import VenueSettings
from hedgetui.exchange.venue import BinanceVenue
from hedgetui.sandbox.options import DEFAULT_API_KEY, DEFAULT_API_SECRET, SandboxOptions
from hedgetui.sandbox.server import SandboxServer
from tests.engine.conftest import venue_spot

ROOT = Path(__file__).resolve().parents[2]


async def child(server: SandboxServer, journal: Path, action: str, kill_at: str, mode: str = "concurrent") -> int:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.engine.crash_child",
        server.base_url,
        str(journal),
        action,
        kill_at,
        mode,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    await asyncio.wait_for(proc.wait(), 60)
    return int(proc.returncode or 0)


async def restart_and_check(server: SandboxServer, journal_path: Path) -> Engine | None:
    venue = await BinanceVenue.connect(
        VenueSettings(
            mode=VenueMode.SANDBOX,
            sandbox_url=server.base_url,
            api_key=SecretStr(DEFAULT_API_KEY),
            api_secret=SecretStr(DEFAULT_API_SECRET),
            timeout_ms=1500,
        )
    )
    sent_before = len(server.core.orders())
    try:
        async with Journal(journal_path) as journal:
            engine = Engine(
                venue, journal, EngineSettings(timeouts=ExecTimeouts(order_ack_s=6, fill_s=3, lookup_grace_s=1.0))
            )
            report = await engine.start()
            assert report.complete, report.summary()
            assert await journal.unfinished_intents() == []
            # Judged by the venue's record: the sandbox's own spot balance and perp position.
            position = server.core.position("BTCUSDT").amount
            spot = venue_spot(server.core)
            assert len(server.core.orders()) == sent_before, "reconciliation must never send an order"
            if engine.trading_state is TradingState.HALTED:
                # HALTED only with a proposal that states the exchange's true residual.
                assert report.proposal is not None
                assert report.proposal.legs.spot_qty == spot and report.proposal.legs.perp_qty == position
            else:
                hedge = max(abs(spot), abs(position))
                if hedge * 60000 >= 5:  # not dust: the two legs must match within tolerance
                    assert abs(spot + position) / hedge * 10000 <= 50, (spot, position)
            cids = [o.client_order_id for o in server.core.orders()]
            assert len(cids) == len(set(cids)), cids
            submitted = await journal.all_cids()
            assert {c for c in cids if c.startswith("hg")} <= submitted  # every exchange order was journaled
            await engine.shutdown()
            return engine
    finally:
        await venue.close()


@pytest.mark.parametrize(
    ("action", "kill_at", "mode"),
    [
        ("enter", "PO1", "concurrent"),
        ("enter", "SO1", "concurrent"),
        ("enter", "SO1", "perp_first"),  # row 31: perp filled and journaled, spot never sent
        ("exit", "SC1", "concurrent"),
        ("exit", "PC1", "concurrent"),
    ],
)
async def test_sigkill_at_a_leg_then_restart_reconciles(tmp_path: Path, action: str, kill_at: str, mode: str) -> None:
    server = SandboxServer(SandboxOptions(port=0, tick_ms=50))
    await server.start()
    journal = tmp_path / "journal.sqlite3"
    try:
        if action == "exit":
            assert await child(server, journal, "enter", "none") == 0
        code = await child(server, journal, action, kill_at, mode)
        assert code == -signal.SIGKILL
        await restart_and_check(server, journal)
    finally:
        await server.stop()


@pytest.mark.parametrize(("action", "first", "second"), [("enter", "PO1", "SO1"), ("exit", "SC1", "PC1")])
async def test_sigkill_between_the_batched_journal_write_and_the_sends(
    tmp_path: Path, action: str, first: str, second: str
) -> None:
    """Both legs' submissions are committed in one transaction before either order is sent (safety rule 5):
    killed just before the first request leaves, the journal holds both legs and the venue neither."""
    server = SandboxServer(SandboxOptions(port=0, tick_ms=50))
    await server.start()
    journal = tmp_path / "journal.sqlite3"
    try:
        if action == "exit":
            assert await child(server, journal, "enter", "none") == 0
        before = {o.client_order_id for o in server.core.orders()}
        assert await child(server, journal, action, first) == -signal.SIGKILL
        # Judged by the venue's record: the kill came before the first send, so nothing new reached it.
        assert {o.client_order_id for o in server.core.orders()} == before
        async with Journal(journal) as j:
            (intent,) = await j.unfinished_intents()
            legs = sorted(s.cid[-3:] for s in await j.submits(intent.intent_id))
            assert legs == sorted([first, second])  # both rows durable, although neither order went out
        await restart_and_check(server, journal)
    finally:
        await server.stop()


async def test_sigkill_after_the_venue_accepted_but_before_the_answer(tmp_path: Path) -> None:
    """Row 30, the other half: the order is applied, the process dies while waiting for the reply."""
    server = SandboxServer(SandboxOptions(port=0, tick_ms=50))
    await server.start()
    journal = tmp_path / "journal.sqlite3"
    try:
        server.faults.add({"match": "POST /fapi/v1/order", "action": "timeout_after_accept", "hold_ms": 20000})
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.engine.crash_child",
            server.base_url,
            str(journal),
            "enter",
            "none",
            "perp_first",
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(200):
            await asyncio.sleep(0.05)
            if server.core.orders():
                break
        proc.kill()
        await proc.wait()
        assert server.core.position("BTCUSDT").amount == D("-0.033")  # applied; its answer never arrived
        await restart_and_check(server, journal)
    finally:
        await server.stop()


async def restarted(server: SandboxServer, journal_path: Path, journal: Journal) -> tuple[Engine, BinanceVenue]:
    venue = await BinanceVenue.connect(
        VenueSettings(
            mode=VenueMode.SANDBOX,
            sandbox_url=server.base_url,
            api_key=SecretStr(DEFAULT_API_KEY),
            api_secret=SecretStr(DEFAULT_API_SECRET),
            timeout_ms=1500,
        )
    )
    engine = Engine(venue, journal, EngineSettings(timeouts=ExecTimeouts(order_ack_s=6, fill_s=3, lookup_grace_s=1.0)))
    return engine, venue


async def test_sigkill_inside_fill_collection_backfills_the_fills_and_trades_nothing(tmp_path: Path) -> None:
    """The spot order's FILLED update is journaled, its fills are not: restart backfills them, sends nothing."""
    server = SandboxServer(SandboxOptions(port=0, tick_ms=50))
    await server.start()
    journal_path = tmp_path / "journal.sqlite3"
    try:
        assert await child(server, journal_path, "enter", "fill:SO1") == -signal.SIGKILL
        sent = len(server.core.orders())
        spot_cid = next(o.client_order_id for o in server.core.orders() if o.client_order_id.endswith("SO1"))
        async with Journal(journal_path) as journal:
            assert await journal.fills_for(spot_cid) == []  # the kill landed between the two writes
            engine, venue = await restarted(server, journal_path, journal)
            try:
                report = await engine.start()
                assert report.complete and report.proposal is None, report.summary()
                assert await journal.fills_for(spot_cid) != []  # backfilled from the exchange's trades
                assert engine.trading_state is TradingState.ACTIVE
                await engine.shutdown()
            finally:
                await venue.close()
        assert len(server.core.orders()) == sent
        assert server.core.position("BTCUSDT").amount == D("-0.033")
        assert venue_spot(server.core) == D("0.033") * D("0.999")
    finally:
        await server.stop()


async def test_two_cycles_of_fee_dust_then_a_kill_between_legs_proposes_and_completes(tmp_path: Path) -> None:
    """Two enter/exit cycles leave fee dust; a kill between legs leaves a naked perp. Restart proposes
    (covering the perp or completing the spot), sends nothing; accepting completion hedges on the venue."""
    server = SandboxServer(SandboxOptions(port=0, tick_ms=50))
    await server.start()
    journal_path = tmp_path / "journal.sqlite3"
    try:
        assert await child(server, journal_path, "cycles2-enter", "SO1", "perp_first") == -signal.SIGKILL
        dust = venue_spot(server.core)
        assert 0 < dust * 60000 < 5 and server.core.position("BTCUSDT").amount == D("-0.033")
        sent = len(server.core.orders())
        async with Journal(journal_path) as journal:
            engine, venue = await restarted(server, journal_path, journal)
            try:
                report = await engine.start()
                assert report.complete and engine.trading_state is TradingState.HALTED
                proposal = report.proposal
                assert proposal is not None
                assert proposal.legs.spot_qty == dust and proposal.legs.perp_qty == D("-0.033")
                assert len(server.core.orders()) == sent  # recovery proposed; it sent nothing
                labels = [o.label for o in proposal.options]
                assert labels == ["unwind perp", "complete spot"], labels
                result = await engine.accept_proposal(1)
                assert result.success and result.end_state is EndState.HEDGED, result.reason
                await engine.shutdown()
            finally:
                await venue.close()
        spot, perp = venue_spot(server.core), server.core.position("BTCUSDT").amount
        assert perp == D("-0.033") and abs(spot + perp) / D("0.033") * 10000 <= 50, (spot, perp)
    finally:
        await server.stop()
