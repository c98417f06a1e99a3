"""Issue 10's acceptance, headless, judged by the sandbox's own record: on a sandbox settling funding every
3 s, ``enter --yes``, three fundings, ``status --json``'s pnl.funding equals the FUNDING_FEE income the
exchange booked since entry; after ``exit --yes``, ``history --json``'s closed hedge has its times and a
net within 0.10 USDT of the change of the account's value across both wallets (BTC at mid)."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hedgetui import commands
from hedgetui.sandbox.model import Market
from hedgetui.sandbox.options import SandboxOptions
from hedgetui.sandbox.server import SandboxServer
from tests.test_exchange_truth_commands import config_for, run


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    server = SandboxServer(SandboxOptions(port=0, tick_ms=50, funding_interval_s=3))
    await server.start()
    yield server
    await server.stop()


async def state(server: SandboxServer) -> dict[str, Any]:
    async with aiohttp.ClientSession() as s, s.get(server.base_url + "/sandbox/state") as r:
        return dict(await r.json())


def account_value(snapshot: dict[str, Any], mid: D) -> D:
    """Both wallets: spot USDT, spot BTC at ``mid``, the futures wallet and any unrealized P&L."""
    spot = {a: D(b["free"]) + D(b["locked"]) for a, b in snapshot["spot_balances"].items()}
    futures = snapshot["futures"]
    return (
        spot.get("USDT", D(0))
        + spot.get("BTC", D(0)) * mid
        + D(futures["wallet_balance"])
        + D(futures["unrealized_pnl"])
    )


def fundings(snapshot: dict[str, Any], since_ms: int) -> list[D]:
    return [
        D(r["income"])
        for r in snapshot["income"]
        if r["incomeType"] == "FUNDING_FEE" and r["symbol"] == "BTCUSDT" and r["time"] >= since_ms
    ]


async def test_funding_booked_since_entry_and_the_realized_net(sandbox: SandboxServer, tmp_path: Path) -> None:
    before = await state(sandbox)
    code, _, _ = await run("enter", sandbox, tmp_path, size_text="2000", yes=True)
    assert code == 0
    config, env = config_for(sandbox, tmp_path, "a.sqlite3")
    entered = min(t["time"] for t in (await state(sandbox))["trades"])
    for _ in range(200):
        if len(fundings(await state(sandbox), entered)) >= 3:
            break
        await asyncio.sleep(0.1)
    buf = io.StringIO()
    await commands.run_status(config, env, as_json=True, stdout=buf)
    status = json.loads(buf.getvalue())
    pnl = status["pnl"]
    assert status["pnl_error"] is None and pnl["quote"] == "USDT" and pnl["closed_ms"] is None
    booked = fundings(await state(sandbox), pnl["opened_ms"])[: pnl["fundings"]]
    assert pnl["fundings"] >= 3 and D(pnl["funding"]) == sum(booked, D(0)) != 0
    assert pnl["apr"] is not None and pnl["entry_basis_bps"] is not None

    code, _, _ = await run("exit", sandbox, tmp_path, yes=True)
    assert code == 0
    after = await state(sandbox)
    mid = sandbox.core.mid_price(Market.SPOT, "BTCUSDT")
    buf = io.StringIO()
    assert await commands.run_history(config, limit=5, as_json=True, stdout=buf, env=env) == 0
    (hedge,) = json.loads(buf.getvalue())["hedges"]
    assert hedge["closed_ms"] is not None and hedge["opened_ms"] == pnl["opened_ms"] < hedge["closed_ms"]
    net = D(hedge["pnl"]["net"])
    change = account_value(after, mid) - account_value(before, mid)
    assert abs(net - change) <= D("0.10"), (net, change)
    assert D(hedge["pnl"]["funding"]) == sum(fundings(after, hedge["opened_ms"]), D(0))


async def test_funding_points_carry_the_exchanges_rate_and_basis(sandbox: SandboxServer, tmp_path: Path) -> None:
    """Each settlement the hedge held through shows the rate the sandbox applied (its funding-rate history)
    and the basis then: that settlement's mark against the spot minute's price (``/api/v3/klines``)."""
    from hedgetui.domain.ledger import basis_bps
    from hedgetui.wiring import open_stack, sandbox_venue_settings
    from tests.test_liquidation_watch import SETTINGS

    async with open_stack(sandbox_venue_settings(sandbox), tmp_path / "j.sqlite3", SETTINGS, stream=False) as s:
        assert (await s.engine.enter(D("2000"))).end_state.value == "HEDGED"
        entered = min(t["time"] for t in (await state(sandbox))["trades"])
        for _ in range(200):
            if len(fundings(await state(sandbox), entered)) >= 3:
                break
            await asyncio.sleep(0.1)
        refreshed_ms = int(time.time() * 1000)  # before the refresh: a minute closed by then was read closed
        pnl = await s.engine.refresh_pnl(sync=True)
        assert pnl is not None and len(pnl.fundings) >= 3
        async with aiohttp.ClientSession() as http:
            url = f"{sandbox.base_url}/fapi/v1/fundingRate?symbol=BTCUSDT&startTime={entered}"
            async with http.get(url) as r:
                rows = {row["fundingTime"]: row for row in await r.json()}
            url = f"{sandbox.base_url}/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime={entered - 60_000}"
            async with http.get(url) as r:
                minutes = await r.json()
        for point in pnl.fundings:
            row = min(rows.values(), key=lambda row: abs(row["fundingTime"] - point.time_ms))
            assert point.rate == D(row["fundingRate"]), (point, row)
            t = row["fundingTime"]
            (k,) = [k for k in minutes if k[0] <= t < k[0] + 60_000]
            spot = D(k[1]) if t - k[0] < 30_000 else D(k[4])
            closed = k[0] + 60_000 <= refreshed_ms
            if closed or t - k[0] < 30_000:
                assert point.basis_bps == basis_bps(spot, D(row["markPrice"])), (point, row, k)
            else:  # the minute was still open at the refresh: its close then, within 30 s of the settlement
                assert point.basis_bps is not None
        assert (await s.engine.exit()).end_state.value == "FLAT"
