"""Headless commands judged by the sandbox's own record: another journal never trades, and recovery only
proposes (issue: the exchange is the truth of the hedge)."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hedgetui import commands
from hedgetui.config.loader import load_config
from hedgetui.sandbox.options import SandboxOptions
from hedgetui.sandbox.server import SandboxServer
from tests.engine.conftest import venue_spot

FEE = D("0.999")  # the sandbox takes a spot buy's 0.1 % fee in BTC


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    server = SandboxServer(SandboxOptions(port=0, tick_ms=50))
    await server.start()
    yield server
    await server.stop()


def config_for(server: SandboxServer, tmp_path: Path, journal: str) -> tuple[Any, dict[str, str]]:
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_DATA_HOME": str(tmp_path / "data")}
    overrides = {
        "venue.url": server.base_url,
        "venue.timeout_ms": 1500,
        "timeouts.fill_s": 3,
        "timeouts.order_ack_s": 4,
        "timeouts.lookup_grace_s": 1,
        "journal.path": str(tmp_path / journal),
    }
    return load_config(None, env, overrides), env


async def run(
    command: str, server: SandboxServer, tmp_path: Path, journal: str = "a.sqlite3", **kw: Any
) -> tuple[int, str, str]:
    config, env = config_for(server, tmp_path, journal)
    out, err = io.StringIO(), io.StringIO()
    code = await commands.run_trading_command(
        command, config, env, stdin=io.StringIO("n\n"), stdout=out, stderr=err, **kw
    )
    return code, out.getvalue(), err.getvalue()


async def status(server: SandboxServer, tmp_path: Path, journal: str) -> dict[str, Any]:
    config, env = config_for(server, tmp_path, journal)
    buf = io.StringIO()
    await commands.run_status(config, env, as_json=True, stdout=buf)
    return dict(json.loads(buf.getvalue()))


async def fault(server: SandboxServer, **rule: Any) -> None:
    async with aiohttp.ClientSession() as s:
        await s.post(server.base_url + "/sandbox/faults", json=rule)


async def clear_faults(server: SandboxServer) -> None:
    async with aiohttp.ClientSession() as s:
        await s.delete(server.base_url + "/sandbox/faults")


def legs(server: SandboxServer) -> tuple[D, D]:
    return venue_spot(server.core), server.core.position("BTCUSDT").amount


async def test_another_journal_never_trades_and_sees_the_exchange(sandbox: SandboxServer, tmp_path: Path) -> None:
    code, _, _ = await run("enter", sandbox, tmp_path, "a.sqlite3", size_text="2000", yes=True)
    assert code == 0
    sent = len(sandbox.core.orders())
    # A second journal (a new laptop): status shows the exchange's legs, reconcile adopts them, no order goes out.
    st = await status(sandbox, tmp_path, "b.sqlite3")
    assert D(st["perp_position"]) == D("-0.033") and D(st["hedge_spot_qty"]) == D("0.033") * FEE
    code, out, _ = await run("reconcile", sandbox, tmp_path, "b.sqlite3")
    assert code == 0, out
    assert "existing positions adopted" in out
    assert len(sandbox.core.orders()) == sent
    assert legs(sandbox) == (D("0.033") * FEE, D("-0.033"))
    # An unbalanced account met by a third journal: a proposal, HALTED, still no order.
    await _set_position(sandbox, "0")
    code, out, _ = await run("reconcile", sandbox, tmp_path, "c.sqlite3")
    assert code == 3 and "Proposed (nothing is sent until accepted)" in out
    assert len(sandbox.core.orders()) == sent


async def _set_position(server: SandboxServer, amount: str) -> None:
    async with aiohttp.ClientSession() as s:
        await s.post(server.base_url + "/sandbox/position", json={"symbol": "BTCUSDT", "amount": amount})


async def test_case_1_lost_perp_answer_then_reconcile_adopts_both_legs(sandbox: SandboxServer, tmp_path: Path) -> None:
    await fault(sandbox, match="POST /fapi/v1/order", action="timeout_after_accept", times=1)
    await fault(sandbox, match="GET /fapi/v1/order", action="http_503", times=1000)
    code, out, _ = await run("enter", sandbox, tmp_path, size_text="2000", yes=True)
    assert code == 3 and "UNRESOLVED_ORDER" in out
    spot, perp = legs(sandbox)
    assert (spot, perp) == (D("0.033") * FEE, D("-0.033"))  # the venue filled both legs
    sent = len(sandbox.core.orders())
    await clear_faults(sandbox)
    code, out, _ = await run("reconcile", sandbox, tmp_path)  # the operator answers no
    assert code == 3 and "Lift the HALT? [y/N]" in out and "trading stays HALTED" in out
    code, out, _ = await run("reconcile", sandbox, tmp_path, yes=True)
    assert code == 0, out
    assert len(sandbox.core.orders()) == sent  # no order sent: the legs were whole all along
    assert legs(sandbox) == (spot, perp)
    st = await status(sandbox, tmp_path, "a.sqlite3")
    assert st["trading_state"]["state"] == "ACTIVE" and st["discrepancy"] is None


async def test_case_3_exit_with_a_lost_perp_close_ends_flat_with_one_spot_sale(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    assert (await run("enter", sandbox, tmp_path, size_text="2000", yes=True))[0] == 0
    await fault(sandbox, match="POST /fapi/v1/order", action="timeout_after_accept", times=1)
    await fault(sandbox, match="GET /fapi/v1/order", action="http_503", times=1000)
    code, out, _ = await run("exit", sandbox, tmp_path, yes=True)
    assert code == 3, out
    await clear_faults(sandbox)
    sent = len(sandbox.core.orders())
    code, out, _ = await run("reconcile", sandbox, tmp_path, yes=True)
    assert code == 0, out
    assert len(sandbox.core.orders()) == sent
    spot, perp = legs(sandbox)
    assert perp == 0 and spot * 60000 < 5  # flat: fee dust at most
    spot_sells = [o for o in sandbox.core.orders() if o.market.value == "spot" and o.side.value == "SELL"]
    assert len(spot_sells) == 1
