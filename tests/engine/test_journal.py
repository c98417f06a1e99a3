"""The journal: append-only, durable ordering, derived views, migrations, cancellation safety."""

from __future__ import annotations

import asyncio
import sqlite3
from decimal import Decimal as D
from pathlib import Path

import pytest

from hedgetui.engine.journal import POST_LINGER_S, SCHEMA_VERSION, Journal, JournalError, NewSubmit


async def _intent_with_submit(j: Journal, intent: str = "aaaaaaaaaaaa", cid: str = "c1") -> None:
    await j.record_intent(intent, "enter", quantity=D("0.010"), size_usd=D("600"), details={"leg_mode": "x"})
    await j.record_submit(
        cid=cid,
        intent_id=intent,
        leg="perp_open",
        attempt=1,
        market="perp",
        side="sell",
        order_type="market",
        quantity=D("0.010"),
        reduce_only=False,
    )


async def test_schema_pragmas_and_version(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "j.sqlite3"
    async with Journal(path) as j:
        assert await j.schema_version() == SCHEMA_VERSION
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    con.close()
    async with Journal(path) as j:  # reopening does not migrate twice
        assert await j.schema_version() == SCHEMA_VERSION


async def test_rows_are_append_only(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    async with Journal(path) as j:
        await _intent_with_submit(j)
    con = sqlite3.connect(path)
    for sql in (
        "UPDATE order_submits SET quantity='1'",
        "DELETE FROM intents",
        "UPDATE intents SET kind='x'",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute(sql)
    con.close()


async def test_open_submits_and_unfinished_intents_are_derived(tmp_path: Path) -> None:
    async with Journal(tmp_path / "j.sqlite3") as j:
        await _intent_with_submit(j)
        assert [s.cid for s in await j.open_submits()] == ["c1"]
        assert [i.intent_id for i in await j.unfinished_intents()] == ["aaaaaaaaaaaa"]
        await j.record_update("c1", status="partially_filled", filled=D("0.005"), terminal=False, order_id="9")
        assert [s.cid for s in await j.open_submits()] == ["c1"]
        await j.record_update("c1", status="filled", filled=D("0.010"), terminal=True, order_id="9")
        assert await j.open_submits() == []
        await j.record_end("aaaaaaaaaaaa", "HEDGED", "both legs filled", spot_qty=D("0.01"), perp_qty=D("-0.01"))
        assert await j.unfinished_intents() == []
        assert await j.intent_end("aaaaaaaaaaaa") == ("HEDGED", "both legs filled")
        hist = await j.history()
        assert hist[0]["end_state"] == "HEDGED" and hist[0]["quantity"] == "0.010"


async def test_a_client_id_is_written_once(tmp_path: Path) -> None:
    async with Journal(tmp_path / "j.sqlite3") as j:
        await _intent_with_submit(j)
        with pytest.raises(sqlite3.IntegrityError):
            await j.record_submit(
                cid="c1",
                intent_id="aaaaaaaaaaaa",
                leg="perp_open",
                attempt=2,
                market="perp",
                side="sell",
                order_type="market",
                quantity=D("0.010"),
                reduce_only=False,
            )
        # The failed write rolled back cleanly; the journal still works.
        await j.record_event("LOOKUP", "found", intent_id="aaaaaaaaaaaa")
        assert [e.kind for e in await j.events()] == ["LOOKUP"]


async def test_fills_are_deduplicated_by_market_and_trade_id(tmp_path: Path) -> None:
    async with Journal(tmp_path / "j.sqlite3") as j:
        await _intent_with_submit(j)
        kw = {
            "cid": "c1",
            "order_id": "9",
            "quantity": D("0.01"),
            "price": D("60000"),
            "fee": None,
            "fee_asset": None,
        }
        assert await j.record_fill(market="perp", trade_id="1", **kw) is True
        assert await j.record_fill(market="perp", trade_id="1", **kw) is False
        assert await j.record_fill(market="spot", trade_id="1", **kw) is True
        assert await j.raw_count("fills") == 2


async def test_a_cancelled_caller_still_gets_its_write_committed(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    async with Journal(path) as j:
        await j.record_intent("bbbbbbbbbbbb", "exit")
        task = asyncio.create_task(j.record_event("ALERT", "cancelled caller", intent_id="bbbbbbbbbbbb"))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    async with Journal(path) as j:
        assert [e.message for e in await j.events()] == ["cancelled caller"]


async def test_writes_commit_in_call_order(tmp_path: Path) -> None:
    async with Journal(tmp_path / "j.sqlite3") as j:
        await asyncio.gather(*(j.record_event("E", f"m{i}") for i in range(50)))
        assert [e.message for e in await j.events()] == [f"m{i}" for i in range(50)]
        assert [e.message for e in await j.events(limit=3)] == ["m47", "m48", "m49"]


async def test_latest_state_wins(tmp_path: Path) -> None:
    async with Journal(tmp_path / "j.sqlite3") as j:
        assert await j.latest_state("breaker") is None
        await j.record_state("breaker", {"state": "open", "opened_ms": 1})
        await j.record_state("breaker", {"state": "closed"})
        assert await j.latest_state("breaker") == {"state": "closed"}


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(JournalError, match="newer"):
        async with Journal(path):
            pass


async def test_closed_journal_refuses_writes(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3")
    with pytest.raises(JournalError):
        await j.record_event("E", "x")


# ---- group commit and posted rows ----------------------------------------------------------------------


def _submit(cid: str, leg: str, intent: str = "aaaaaaaaaaaa") -> NewSubmit:
    return NewSubmit(
        cid=cid,
        intent_id=intent,
        leg=leg,
        attempt=1,
        market="perp" if leg.startswith("perp") else "spot",
        side="sell",
        order_type="market",
        quantity=D("0.010"),
        reduce_only=False,
    )


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    """What another connection (a restarted process) finds committed in the file."""
    con = sqlite3.connect(path)
    try:
        return list(con.execute(sql).fetchall())
    finally:
        con.close()


async def test_both_legs_submissions_commit_together_or_not_at_all(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    async with Journal(path) as j:
        await j.record_intent("aaaaaaaaaaaa", "enter")
        await j.record_submits([_submit("c1", "perp_open"), _submit("c2", "spot_open")])
        # Committed (visible to another connection) when the call returns: before either is sent.
        assert sorted(r[0] for r in _rows(path, "SELECT cid FROM order_submits")) == ["c1", "c2"]
        assert j.submits_recorded("aaaaaaaaaaaa") == 2
        with pytest.raises(sqlite3.IntegrityError):  # c2 exists: neither row of the pair is written
            await j.record_submits([_submit("c3", "perp_open"), _submit("c2", "spot_open")])
        assert sorted(r[0] for r in _rows(path, "SELECT cid FROM order_submits")) == ["c1", "c2"]
        assert j.submits_recorded("aaaaaaaaaaaa") == 2


async def test_a_posted_row_commits_with_the_next_awaited_write_never_after_it(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    async with Journal(path) as j:
        await j.record_intent("aaaaaaaaaaaa", "enter", wait=False)
        await j.record_event("STAGE", "posted", intent_id="aaaaaaaaaaaa", wait=False)
        # The awaited submission (its foreign key needs the posted intent) returns with all three committed.
        await j.record_submits([_submit("c1", "perp_open")])
        assert _rows(path, "SELECT intent_id FROM intents") == [("aaaaaaaaaaaa",)]
        assert _rows(path, "SELECT message FROM events") == [("posted",)]


async def test_a_posted_row_alone_commits_after_the_linger(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    async with Journal(path) as j:
        committed = j.post_event("DRIFT", "explains")
        await asyncio.wait_for(committed, POST_LINGER_S * 20)
        assert _rows(path, "SELECT message FROM events") == [("explains",)]


async def test_one_bad_row_in_a_batch_fails_alone(tmp_path: Path) -> None:
    async with Journal(tmp_path / "j.sqlite3") as j:
        await _intent_with_submit(j)
        good = asyncio.ensure_future(j.record_event("X", "good"))
        bad = asyncio.ensure_future(j.record_intent("aaaaaaaaaaaa", "enter"))  # the intent exists
        also_good = asyncio.ensure_future(j.record_event("X", "also good"))
        results = await asyncio.gather(good, bad, also_good, return_exceptions=True)
        assert results[0] is None and results[2] is None and isinstance(results[1], sqlite3.IntegrityError)
        assert [e.message for e in await j.events()] == ["good", "also good"]


async def test_a_failed_posted_write_refuses_everything_after_it(tmp_path: Path) -> None:
    """Nothing may be sent after the journal failed to record something, even something only posted."""
    path = tmp_path / "j.sqlite3"
    async with Journal(path) as j:
        await j.record_intent("aaaaaaaaaaaa", "enter")
        await j.record_intent("aaaaaaaaaaaa", "enter", wait=False)  # a duplicate: it will fail at its commit
        with pytest.raises(JournalError):
            await j.record_submits([_submit("c1", "perp_open")])
        with pytest.raises(JournalError):
            await j.record_event("X", "after")
    assert _rows(path, "SELECT cid FROM order_submits") == []


async def test_every_table_is_listed_countable_and_append_only(tmp_path: Path) -> None:
    """``TABLES`` is the schema's table list: a table added by a migration without being listed (so that
    ``raw_count`` refuses it, or it misses its append-only triggers) fails here."""
    from hedgetui.engine.journal_schema import TABLES

    path = tmp_path / "j.sqlite3"
    async with Journal(path) as j:
        for table in TABLES:
            assert await j.raw_count(table) >= 0
        with pytest.raises(ValueError):
            await j.raw_count("sqlite_master")
    con = sqlite3.connect(path)
    tables = {
        r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    }
    triggers = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    con.close()
    assert tables == set(TABLES)
    assert {f"{t}_no_{op}" for t in TABLES for op in ("update", "delete")} <= triggers
