"""Funding and the income history through ccxt's real binance class: settlements every second, forced
settlements, premiumIndex / fundingRate / fundingInfo, and /fapi/v1/income read by fetch_funding_history
and fetch_ledger, judged against the sandbox's own record (GET /sandbox/state)."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from decimal import Decimal as D
from typing import Any

import aiohttp
import pytest

from hedgetui.sandbox.options import SandboxOptions
from hedgetui.sandbox.server import SandboxServer
from tests.sandbox.conftest import Factory, control, public, signed
from tests.sandbox.test_user_stream import key_call

PERP = "BTC/USDT:USDT"
CENT = D("0.01")


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    """A sandbox that settles funding every second (overrides conftest's)."""
    server = SandboxServer(SandboxOptions(port=0, tick_ms=20, funding_interval_s=1))
    await server.start()
    yield server
    await server.stop()


async def state(sandbox: SandboxServer) -> dict[str, Any]:
    return dict(await control(sandbox, "GET", "/sandbox/state"))


def wallet(st: dict[str, Any]) -> D:
    return D(st["futures"]["wallet_balance"])


async def fundings(sandbox: SandboxServer, count: int) -> list[dict[str, Any]]:
    """Wait until the venue booked ``count`` FUNDING_FEE records; return them."""
    for _ in range(100):
        rows = [r for r in (await state(sandbox))["income"] if r["incomeType"] == "FUNDING_FEE"]
        if len(rows) >= count:
            return rows
        await asyncio.sleep(0.1)
    raise AssertionError(f"fewer than {count} fundings booked")


async def test_each_funding_is_position_times_mark_times_rate_and_moves_the_wallet(
    client: Factory, sandbox: SandboxServer
) -> None:
    ex = await client()
    start = wallet(await state(sandbox))
    await ex.create_order(PERP, "market", "sell", 0.02)
    rows = (await fundings(sandbox, 2))[:2]
    history = {h["timestamp"]: h for h in await ex.fetch_funding_rate_history(PERP, since=rows[0]["time"])}
    for row in rows:
        applied = history[row["time"]]["info"]  # the settlement's own rate and mark
        expected = -D("-0.02") * D(applied["markPrice"]) * D(applied["fundingRate"])
        assert abs(D(row["income"]) - expected) < CENT and D(row["income"]) == expected.quantize(D("1e-8"))
        assert (D(row["income"]) > 0) == (D(applied["fundingRate"]) > 0)  # a short receives a positive rate
        assert row["time"] % 1000 == 0 and row["symbol"] == "BTCUSDT" and row["asset"] == "USDT"
    st = await state(sandbox)
    assert wallet(st) - start == sum(D(r["income"]) for r in st["income"])
    # What ccxt's fetch_funding_history reads is the venue's record.
    parsed = await ex.fetch_funding_history(PERP)
    fees = [r for r in st["income"] if r["incomeType"] == "FUNDING_FEE"]
    assert [p["id"] for p in parsed] == [str(r["tranId"]) for r in fees[: len(parsed)]]
    assert all(p["symbol"] == PERP and p["code"] == "USDT" for p in parsed)
    assert [D(str(p["amount"])) for p in parsed] == [D(r["income"]) for r in fees[: len(parsed)]]


async def test_a_forced_settlement_charges_a_long_and_names_its_time(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client()
    await ex.create_order(PERP, "market", "buy", 0.03)
    before = await state(sandbox)
    forced = await control(sandbox, "POST", "/sandbox/funding", {"rate": "0.0004"})
    (row,) = forced["income"]
    assert row["incomeType"] == "FUNDING_FEE" and row["time"] == forced["time"]
    after = await state(sandbox)
    fees = [r for r in after["income"] if r["tranId"] == row["tranId"]]
    assert fees == [row]
    (mark_row,) = [
        h for h in await ex.fetch_funding_rate_history(PERP, since=row["time"]) if h["timestamp"] == row["time"]
    ]
    assert mark_row["fundingRate"] == 0.0004
    assert D(row["income"]) == -(D("0.03") * D(mark_row["info"]["markPrice"]) * D("0.0004")) < 0
    new = [r for r in after["income"] if r not in before["income"]]
    assert wallet(after) - wallet(before) == sum(D(r["income"]) for r in new)
    for body in ({"rate": "nope"}, {"rate": "0.5"}, {"other": 1}):
        with pytest.raises(AssertionError, match="400"):
            await control(sandbox, "POST", "/sandbox/funding", body)


async def test_premium_index_funding_rate_and_funding_info_report_the_interval(
    client: Factory, sandbox: SandboxServer
) -> None:
    ex = await client()
    rate = await ex.fetch_funding_rate(PERP)
    now = sandbox.now()
    assert rate["fundingTimestamp"] % 1000 == 0 and now < rate["fundingTimestamp"] <= now + 1000
    await fundings(sandbox, 0)
    await asyncio.sleep(2.1)
    history = await ex.fetch_funding_rate_history(PERP)
    times = [h["timestamp"] for h in history]
    assert len(times) >= 2 and {b - a for a, b in itertools.pairwise(times)} == {1000}
    intervals = await ex.fetch_funding_intervals()
    info = intervals[PERP]["info"]
    assert info["fundingIntervalMs"] == 1000 and info["fundingIntervalHours"] == pytest.approx(1 / 3600)
    status, body = await public(sandbox, "/fapi/v1/fundingInfo")
    assert status == 200 and [r["symbol"] for r in body] == ["BTCUSDT"]
    st = await state(sandbox)
    assert st["funding"]["interval_ms"] == 1000 and st["funding"]["next_funding_time"] % 1000 == 0


async def test_the_default_schedule_reports_binances_8h(client: Factory) -> None:
    server = SandboxServer(SandboxOptions(port=0, tick_ms=50))
    await server.start()
    try:
        status, body = await public(server, "/fapi/v1/fundingInfo")
        assert status == 200 and body[0]["fundingIntervalHours"] == 8
        assert body[0]["fundingIntervalMs"] == 8 * 3600 * 1000
        status, index = await public(server, "/fapi/v1/premiumIndex", symbol="BTCUSDT")
        assert status == 200 and index["nextFundingTime"] % (8 * 3600 * 1000) == 0
        assert index["nextFundingTime"] > server.now()
    finally:
        await server.stop()


async def test_income_filters_limit_and_ccxt_ledger(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client()
    opened = await ex.create_order(PERP, "market", "sell", 0.02)
    await fundings(sandbox, 1)
    closed = await ex.create_order(PERP, "market", "buy", 0.02)
    st = await state(sandbox)
    income = st["income"]
    status, everything = await signed(sandbox, "GET", "/fapi/v1/income")
    assert status == 200 and everything == income  # the last 7 days, oldest first
    assert all(
        set(r) == {"symbol", "incomeType", "income", "asset", "info", "time", "tranId", "tradeId"} for r in income
    )
    ids = [r["tranId"] for r in income]
    assert ids == sorted(set(ids)) and [r["time"] for r in income] == sorted(r["time"] for r in income)
    trades = await ex.fetch_my_trades(PERP)
    commissions = [r for r in income if r["incomeType"] == "COMMISSION"]
    assert [r["tradeId"] for r in commissions] == [t["id"] for t in trades] == [r["info"] for r in commissions]
    assert [D(r["income"]) for r in commissions] == [-D(t["info"]["commission"]) for t in trades]
    realized = [r for r in income if r["incomeType"] == "REALIZED_PNL"]
    closing = [t for t in trades if t["order"] == closed["id"]]
    assert [r["tradeId"] for r in realized] == [t["id"] for t in closing if D(t["info"]["realizedPnl"])]
    assert opened["id"] not in {t["order"] for t in trades if t["id"] in {r["tradeId"] for r in realized}}
    for params, check in (
        ({"incomeType": "COMMISSION"}, lambda r: r["incomeType"] == "COMMISSION"),
        ({"symbol": "BTCUSDT", "incomeType": "FUNDING_FEE"}, lambda r: r["incomeType"] == "FUNDING_FEE"),
        ({"startTime": closed["timestamp"]}, lambda r: r["time"] >= closed["timestamp"]),
        ({"endTime": closed["timestamp"] - 1}, lambda r: r["time"] < closed["timestamp"]),
    ):
        status, rows = await signed(sandbox, "GET", "/fapi/v1/income", params)
        assert status == 200 and rows == [r for r in income if check(r)] and rows, params
    status, rows = await signed(sandbox, "GET", "/fapi/v1/income", {"limit": 2})
    assert rows == income[:2]
    status, rows = await signed(sandbox, "GET", "/fapi/v1/income", {"limit": 2, "page": 2})
    assert rows == income[2:4]
    for params, code in (({"limit": 1001}, -1100), ({"incomeType": "BONUS"}, -1100), ({"symbol": "X"}, -1121)):
        status, err = await signed(sandbox, "GET", "/fapi/v1/income", params)
        assert status == 400 and err["code"] == code, (params, err)
    ledger = await ex.fetch_ledger("USDT", None, None, {"type": "future"})
    assert [e["id"] for e in ledger] == [str(r["tranId"]) for r in income]
    kinds = {"COMMISSION": "commission", "FUNDING_FEE": "fee", "REALIZED_PNL": "trade"}
    assert [e["type"] for e in ledger] == [kinds.get(r["incomeType"], r["incomeType"]) for r in income]
    signed_amounts = [D(str(e["amount"])) * (1 if e["direction"] == "in" else -1) for e in ledger]
    assert signed_amounts == [D(r["income"]) for r in income]
    assert wallet(st) - D("100000") == sum(D(r["income"]) for r in income)


async def test_the_user_stream_reports_funding_and_the_mark_stream_the_next_time(
    client: Factory, sandbox: SandboxServer
) -> None:
    ex = await client()
    await ex.create_order(PERP, "market", "sell", 0.01)
    key = (await key_call(sandbox, "POST", "/fapi/v1/listenKey"))[1]["listenKey"]
    async with (
        aiohttp.ClientSession() as s,
        s.ws_connect(f"{sandbox.ws_url}/fstream/private/ws?listenKey={key}") as ws,
        s.ws_connect(f"{sandbox.ws_url}/fstream/ws/btcusdt@markPrice@1s") as marks,
    ):
        update = json.loads((await asyncio.wait_for(ws.receive(), 5)).data)  # the next scheduled funding
        mark = json.loads((await asyncio.wait_for(marks.receive(), 5)).data)
    assert update["e"] == "ACCOUNT_UPDATE" and update["a"]["m"] == "FUNDING_FEE" and update["a"]["P"] == []
    st = await state(sandbox)
    fee = next(r for r in st["income"] if r["incomeType"] == "FUNDING_FEE")
    assert update["T"] >= fee["time"] and D(update["a"]["B"][0]["wb"]) > 0
    assert mark["e"] == "markPriceUpdate" and mark["T"] % 1000 == 0 and mark["E"] < mark["T"] <= mark["E"] + 1000
