"""Headless commands against a sandbox: plan and confirm, exit codes, JSON, status, history, reconcile."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from hedgetui import commands
from hedgetui.config.loader import load_config
from hedgetui.pnl_text import CSV_COLUMNS
from hedgetui.sandbox.options import SandboxOptions
from hedgetui.sandbox.server import SandboxServer


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    server = SandboxServer(SandboxOptions(port=0, tick_ms=50))
    await server.start()
    yield server
    await server.stop()


def config_for(server: SandboxServer, tmp_path: Path, **overrides: object):
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_DATA_HOME": str(tmp_path / "data")}
    config = load_config(None, env, {"venue.url": server.base_url, "timeouts.fill_s": 5, **overrides})
    return config, env


async def run(command: str, server: SandboxServer, tmp_path: Path, answer: str = "", **kw: object):
    config, env = config_for(server, tmp_path)
    out, err = io.StringIO(), io.StringIO()
    code = await commands.run_trading_command(
        command, config, env, stdin=io.StringIO(answer + "\n"), stdout=out, stderr=err, **kw
    )  # type: ignore[arg-type]
    return code, out.getvalue(), err.getvalue()


async def test_enter_asks_and_a_no_sends_nothing(sandbox: SandboxServer, tmp_path: Path) -> None:
    code, out, err = await run("enter", sandbox, tmp_path, answer="n", size_text="2000")
    assert code == 1 and "Send these orders?" in out and "nothing was sent" in err
    assert sandbox.core.orders() == []


async def test_enter_yes_json_then_status_history_and_exit(sandbox: SandboxServer, tmp_path: Path) -> None:
    code, out, _ = await run("enter", sandbox, tmp_path, size_text="2000", yes=True, as_json=True)
    assert code == 0
    result = json.loads(out)
    assert result["end_state"] == "HEDGED" and result["perp"]["filled"] == "0.033"
    config, env = config_for(sandbox, tmp_path)
    buf = io.StringIO()
    assert await commands.run_status(config, env, as_json=True, stdout=buf) == 0
    status = json.loads(buf.getvalue())
    assert status["perp_position"] == "-0.033" and status["unfinished_intents"] == []
    pnl = status["pnl"]  # the open hedge: fees paid on both legs, no funding yet
    assert pnl["quote"] == "USDT" and pnl["funding"] == "0" and Decimal(pnl["fees"]) < 0
    assert Decimal(pnl["net"]) == Decimal(pnl["funding"]) + Decimal(pnl["fees"]) + Decimal(pnl["price"])
    assert pnl["opened_ms"] > 0 and pnl["closed_ms"] is None and pnl["entry_basis_bps"] is not None
    buf = io.StringIO()
    await commands.run_history(config, limit=5, as_json=True, stdout=buf, env=env)
    listing = json.loads(buf.getvalue())
    assert listing["intents"][0]["end_state"] == "HEDGED"
    assert listing["hedges"][0]["closed_ms"] is None and listing["hedges"][0]["pnl"]["fees"] == pnl["fees"]
    buf = io.StringIO()
    await commands.run_history(config, limit=5, as_json=False, stdout=buf, env=env, intents=True)
    first = buf.getvalue().splitlines()[0]  # start time (UTC) and duration lead every line
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC +\d+\.\d\d s  \S+  enter ", first), first
    code, out, _ = await run("exit", sandbox, tmp_path, answer="y")
    assert code == 0 and "FLAT" in out
    buf = io.StringIO()
    assert await commands.run_status(config, env, as_json=True, stdout=buf) == 0
    assert json.loads(buf.getvalue())["pnl"] is None
    buf = io.StringIO()
    await commands.run_history(config, limit=5, as_json=False, stdout=buf, env=env)
    (line,) = buf.getvalue().splitlines()  # one closed hedge: opened → closed, duration, net
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC → \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC +\S+ +\S+  net ", line)
    csv_path = tmp_path / "ledger.csv"
    assert (
        await commands.run_history(config, limit=5, as_json=False, stdout=io.StringIO(), env=env, csv_path=csv_path)
        == 0
    )
    (row,) = list(csv.DictReader(csv_path.open()))
    assert set(row) == set(CSV_COLUMNS) and row["closed_ms"] and Decimal(row["fees"]) < 0
    err = io.StringIO()
    bad = tmp_path / "missing" / "ledger.csv"
    code = await commands.run_history(
        config, limit=5, as_json=False, stdout=io.StringIO(), env=env, csv_path=bad, stderr=err
    )
    assert code == 2 and err.getvalue().count("\n") == 1 and not bad.exists()


@pytest.mark.parametrize(("size", "fragment"), [("0", "positive"), ("abc", "not a number"), ("999999", "limit")])
async def test_bad_sizes_are_one_line_and_send_nothing(
    sandbox: SandboxServer, tmp_path: Path, size: str, fragment: str
) -> None:
    with pytest.raises(commands.UsageError, match=fragment):
        await run("enter", sandbox, tmp_path, size_text=size, yes=True)
    assert sandbox.core.orders() == []


async def test_below_the_minimum_order_exits_2(sandbox: SandboxServer, tmp_path: Path) -> None:
    code, _, err = await run("enter", sandbox, tmp_path, size_text="50", yes=True)
    assert code == 2 and err.count("\n") == 1 and sandbox.core.orders() == []


async def test_both_legs_rejected_fails_safely_with_exit_1(sandbox: SandboxServer, tmp_path: Path) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as s:
        await s.post(
            sandbox.base_url + "/sandbox/faults",
            json={"match": "POST /api/v3/order", "action": "reject", "code": -2010, "msg": "Market is closed."},
        )
        await s.post(
            sandbox.base_url + "/sandbox/faults",
            json={
                "match": "POST /fapi/v1/order",
                "action": "reject",
                "code": -2019,
                "msg": "Margin is insufficient.",
                "times": 5,
            },
        )
    code, out, _ = await run("enter", sandbox, tmp_path, size_text="2000", yes=True)
    assert code == 1 and "FLAT" in out
    assert all(o.status.value != "FILLED" for o in sandbox.core.orders())


async def test_reconcile_command(sandbox: SandboxServer, tmp_path: Path) -> None:
    code, out, _ = await run("reconcile", sandbox, tmp_path)
    assert code == 0 and "reconcile: no unfinished intent; exchange: spot 0 BTC, perp 0" in out
    assert sandbox.core.orders() == []


async def test_live_mode_without_keys_is_refused(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_DATA_HOME": str(tmp_path / "d")}
    config = load_config(None, env, {"venue.mode": "live"})
    with pytest.raises(commands.SecretsError, match="live mode needs API keys"):
        await commands.run_trading_command("enter", config, env, size_text="2000", yes=True)
