"""The order journal: an append-only SQLite file (aiosqlite, WAL, synchronous FULL).

Every intent and every order submission is committed here *before* the request goes to the exchange, so
after a crash the program knows exactly what it may have sent (safety rule 5). Rows are never updated or
deleted: triggers abort any attempt. Current state (open submissions, unfinished intents, the breaker's
state) is derived from the rows with views and queries.

:class:`Journal` is the one owner of the file's single connection and the one door to it: callers record
and read through its methods only. aiosqlite runs one worker thread per connection, and one shared
connection is one shared transaction, so every operation goes through a single writer task, in order
(FIFO), inside a ``BEGIN IMMEDIATE … COMMIT``, and is acknowledged only after that commit; cancelling the
awaiting caller does not cancel the write. Rows that only explain may be posted (``wait=False``) and
commit with the next awaited operation; intents and submissions are always awaited (safety rule 5), and
a posted write that fails poisons the journal: every later operation raises :class:`JournalError`.

Where the parts live:

- ``journal_writer``: the writer task, group commit and posted writes (the durability argument in full);
- ``journal_schema``: the tables, views, append-only triggers and migrations (``PRAGMA user_version``);
- ``journal_rows``: the row types, :class:`JournalError` and the columns' text codecs (re-exported here);
- ``journal_reads``: the queries of recovery, reconciliation, the history and the intent detail;
- ``journal_ledger``: the ledger's tables (income records, fills hedgetui did not make).

The writes that safety rule 5 rests on (intents, submissions, updates, fills, ends) stay here, in order,
next to the connection they commit on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from hedgetui.domain.ledger import ExternalFill
from hedgetui.domain.pnl import IncomeRecord
from hedgetui.engine.journal_ledger import LedgerTables
from hedgetui.engine.journal_reads import JournalReads
from hedgetui.engine.journal_rows import (
    EventRow,
    IntentRow,
    JournalError,
    NewFill,
    NewSubmit,
    SubmitRow,
    json_text,
    txt,
)
from hedgetui.engine.journal_schema import SCHEMA_VERSION, migrate, user_version
from hedgetui.engine.journal_writer import POST_LINGER_S, Insert, JournalWriter, Op

__all__ = [
    "POST_LINGER_S",
    "SCHEMA_VERSION",
    "EventRow",
    "IntentRow",
    "Journal",
    "JournalError",
    "NewFill",
    "NewSubmit",
    "SubmitRow",
]

T = TypeVar("T")


class Journal:
    """The append-only journal. Use as ``async with Journal(path) as journal: ...``."""

    def __init__(self, path: Path, clock_ms: Callable[[], int] | None = None) -> None:
        self.path = path
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self._db: aiosqlite.Connection | None = None
        #: The one task that runs every operation on ``_db`` (group commit, posted writes).
        self._writer = JournalWriter()
        self._reads = JournalReads(self._writer)
        self._ledger = LedgerTables(self._writer, self._clock_ms)
        #: Submissions queued per intent (this process): what an early verification compares against.
        self._submit_counts: dict[str, int] = {}

    async def __aenter__(self) -> Journal:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Open the file (creating folders), set WAL + synchronous FULL, migrate, start the writer task."""
        in_memory = str(self.path) == ":memory:"  # tests: a private in-memory journal
        if not in_memory:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(":memory:" if in_memory else self.path, isolation_level=None)
        try:
            await self._db.execute("PRAGMA journal_mode=WAL")
            await self._db.execute("PRAGMA synchronous=FULL")
            await self._db.execute("PRAGMA foreign_keys=ON")
            await migrate(self._db, self.path)
        except BaseException:
            # A journal we cannot use must not leave its worker thread behind.
            await self._db.close()
            self._db = None
            raise
        self._writer.start(self._db)

    async def close(self) -> None:
        """Finish every queued operation, then close the connection."""
        await self._writer.stop()
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def schema_version(self) -> int:
        """The schema version of the open journal file."""
        return await self._submit(user_version, write=False)

    async def _submit(self, op: Op[T], *, write: bool) -> T:
        """Queue ``op`` and return its result once the transaction holding it has committed.

        ``write`` is kept for the callers' sake: reads and writes alike run in the writer's transactions.
        """
        return await self._writer.submit(op)

    def _post(self, op: Op[T]) -> asyncio.Future[T]:
        """Queue a write without waiting for it (see "Posted writes"); the future settles at its commit."""
        return self._writer.post(op)

    async def flush(self) -> None:
        """Wait until every row queued so far (posted ones included) is committed."""

        async def op(db: aiosqlite.Connection) -> None:
            return None

        await self._submit(op, write=True)

    async def _insert(self, sql: str, params: Sequence[object], *, wait: bool = True) -> None:
        op = Insert(sql, [params])
        if wait:
            await self._submit(op, write=True)
        else:
            self._post(op)

    # ---- writes -------------------------------------------------------------------------------------

    async def record_intent(
        self,
        intent_id: str,
        kind: str,
        *,
        quantity: Decimal | None = None,
        size_usd: Decimal | None = None,
        details: dict[str, Any] | None = None,
        wait: bool = True,
    ) -> None:
        """Commit a new intent. Raises if the id exists (intents are written once).

        With ``wait=False`` it is posted: it commits with the run's first submission, which is awaited
        before anything is sent (a failure poisons the journal, and the submission's foreign key fails too).
        """
        await self._insert(
            "INSERT INTO intents VALUES (?, ?, ?, ?, ?, ?)",
            (intent_id, kind, self._clock_ms(), txt(quantity), txt(size_usd), json_text(details)),
            wait=wait,
        )

    async def record_submit(
        self,
        *,
        cid: str,
        intent_id: str,
        leg: str,
        attempt: int,
        market: str,
        side: str,
        order_type: str,
        quantity: Decimal,
        reduce_only: bool,
        price: Decimal | None = None,
    ) -> None:
        """Commit an order submission. Must return before the request is sent; a cid is written once."""
        await self.record_submits(
            [
                NewSubmit(
                    cid=cid,
                    intent_id=intent_id,
                    leg=leg,
                    attempt=attempt,
                    market=market,
                    side=side,
                    order_type=order_type,
                    quantity=quantity,
                    reduce_only=reduce_only,
                    price=price,
                )
            ]
        )

    async def record_submits(self, submits: Sequence[NewSubmit]) -> None:
        """Commit several order submissions in one transaction (all or none): both legs' orders are recorded
        with one fsync before either is sent. Must return before any of them is sent."""
        now = self._clock_ms()
        rows = [
            (
                n.cid,
                n.intent_id,
                n.leg,
                n.attempt,
                n.market,
                n.side,
                n.order_type,
                txt(n.quantity),
                txt(n.price),
                int(n.reduce_only),
                now,
            )
            for n in submits
        ]

        # All or none: an operation that fails rolls its whole transaction back (see ``_run_batch``).
        await self._submit(
            Insert("INSERT INTO order_submits VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows), write=True
        )
        for n in submits:
            self._submit_counts[n.intent_id] = self._submit_counts.get(n.intent_id, 0) + 1

    def submits_recorded(self, intent_id: str) -> int:
        """How many submissions of ``intent_id`` this process has committed (no read: the journal's writer
        is the only one, so this is exact for an intent begun in this process)."""
        return self._submit_counts.get(intent_id, 0)

    async def record_update(
        self,
        cid: str,
        *,
        status: str,
        filled: Decimal,
        terminal: bool,
        order_id: str | None = None,
        average: Decimal | None = None,
        code: int | None = None,
        message: str | None = None,
        wait: bool = True,
    ) -> None:
        """Record what the exchange said about an order (including rejections with code and message).

        ``wait=False`` posts it (an answer recovery can re-read from the exchange by client id)."""
        await self._insert(
            "INSERT INTO order_updates (cid, order_id, status, filled, average, terminal, code, message,"
            " created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                cid,
                order_id,
                status,
                txt(filled),
                txt(average),
                int(terminal),
                code,
                message,
                self._clock_ms(),
            ),
            wait=wait,
        )

    async def record_fill(
        self,
        *,
        market: str,
        trade_id: str,
        cid: str,
        order_id: str,
        quantity: Decimal,
        price: Decimal,
        fee: Decimal | None,
        fee_asset: str | None,
        trade_ms: int | None = None,
    ) -> bool:
        """Record a fill once. Returns False when this trade was already journaled (seen twice).

        ``trade_ms`` is the exchange's time of the trade, when it said (the ledger's hedge times).
        """
        row = NewFill(market, trade_id, cid, order_id, quantity, price, fee, fee_asset, trade_ms)
        (fresh,) = await self._submit(self._fills_op([row]), write=True)
        return fresh

    def post_fills(self, fills: Sequence[NewFill]) -> asyncio.Future[list[bool]]:
        """Post an order's fills (one row per trade, each once): committed with the next awaited write.

        The future settles at the commit with, per fill, whether it was new (False: journaled before).
        """
        return self._post(self._fills_op(list(fills)))

    def _fills_op(self, fills: list[NewFill]) -> Callable[[aiosqlite.Connection], Awaitable[list[bool]]]:
        async def op(db: aiosqlite.Connection) -> list[bool]:
            fresh: list[bool] = []
            for f in fills:
                cur = await db.execute(
                    "INSERT OR IGNORE INTO fills (market, trade_id, cid, order_id, quantity, price, fee, fee_asset,"
                    " created_ms, trade_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        f.market,
                        f.trade_id,
                        f.cid,
                        f.order_id,
                        txt(f.quantity),
                        txt(f.price),
                        txt(f.fee),
                        f.fee_asset,
                        self._clock_ms(),
                        f.trade_ms,
                    ),
                )
                fresh.append(cur.rowcount == 1)
            return fresh

        return op

    async def record_event(
        self,
        kind: str,
        message: str,
        *,
        intent_id: str | None = None,
        level: str = "info",
        data: dict[str, Any] | None = None,
        wait: bool = True,
    ) -> None:
        """Record a stage event, decision or alert (``kind`` from the fault matrix's vocabulary);
        ``wait=False`` posts it."""
        await self._insert(
            "INSERT INTO events (intent_id, kind, level, message, data, created_ms) VALUES (?, ?, ?, ?, ?, ?)",
            (intent_id, kind, level, message, json_text(data), self._clock_ms()),
            wait=wait,
        )

    def post_event(
        self,
        kind: str,
        message: str,
        *,
        intent_id: str | None = None,
        level: str = "info",
        data: dict[str, Any] | None = None,
    ) -> asyncio.Future[None]:
        """Post an event row; the future settles at its commit (to show it only once it is journaled)."""
        sql = "INSERT INTO events (intent_id, kind, level, message, data, created_ms) VALUES (?, ?, ?, ?, ?, ?)"
        return self._post(Insert(sql, [(intent_id, kind, level, message, json_text(data), self._clock_ms())]))

    async def record_end(
        self,
        intent_id: str,
        end_state: str,
        reason: str,
        *,
        spot_qty: Decimal | None = None,
        perp_qty: Decimal | None = None,
        wait: bool = True,
    ) -> None:
        """Close an intent with its end state (HEDGED, FLAT, HALTED, ABORTED); ``wait=False`` posts it (the
        caller then awaits :meth:`flush` before it reports the end)."""
        await self._insert(
            "INSERT INTO intent_ends VALUES (?, ?, ?, ?, ?, ?)",
            (intent_id, end_state, reason, txt(spot_qty), txt(perp_qty), self._clock_ms()),
            wait=wait,
        )

    async def record_state(self, name: str, value: dict[str, Any]) -> None:
        """Append a named state snapshot (breaker, trading state); the latest row is the current value."""
        await self._insert(
            "INSERT INTO state_changes (name, value, created_ms) VALUES (?, ?, ?)",
            (name, json_text(value), self._clock_ms()),
        )

    # ---- reads (engine/journal_reads.py) ------------------------------------------------------------

    async def _fetchall(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        return await self._writer.fetchall(sql, params)

    async def unfinished_intents(self) -> list[IntentRow]:
        return await self._reads.unfinished_intents()

    async def open_submits(self, intent_id: str | None = None) -> list[SubmitRow]:
        """Submissions with no terminal update: the orders whose fate must be looked up."""
        return await self._reads.open_submits(intent_id)

    async def not_placed_submits(self, intent_id: str | None = None) -> list[SubmitRow]:
        """Submissions concluded never placed (a late-visible order may still exist); all intents if None."""
        return await self._reads.not_placed_submits(intent_id)

    async def filled_without_fills(self) -> list[tuple[SubmitRow, str]]:
        """Finished orders that filled but have no fill rows (a crash between the two writes), with order ids."""
        return await self._reads.filled_without_fills()

    async def intent_count(self) -> int:
        """How many intents the journal holds (0: a new journal)."""
        return await self.raw_count("intents")

    async def submits(self, intent_id: str) -> list[SubmitRow]:
        return await self._reads.submits(intent_id)

    async def all_cids(self) -> set[str]:
        return await self._reads.all_cids()

    async def events(self, *, intent_id: str | None = None, limit: int | None = None) -> list[EventRow]:
        """Events oldest first; with ``limit``, the most recent ``limit`` of them."""
        return await self._reads.events(intent_id=intent_id, limit=limit)

    async def latest_state(self, name: str) -> dict[str, Any] | None:
        return await self._reads.latest_state(name)

    async def intent_end(self, intent_id: str) -> tuple[str, str] | None:
        return await self._reads.intent_end(intent_id)

    async def history(self, limit: int = 20) -> list[dict[str, Any]]:
        """The latest intents with their end (if any), newest first."""
        return await self._reads.history(limit)

    async def hedge_spot_qty(self, base_asset: str) -> Decimal:
        """The spot quantity the hedge holds, derived from journaled spot fills (buys less any fee in the
        base asset, minus sells; a fallback ``o<orderId>`` row only while no real trade of it is journaled)."""
        return await self._reads.hedge_spot_qty(base_asset)

    async def fills_for(self, cid: str) -> list[tuple[str, Decimal, Decimal]]:
        return await self._reads.fills_for(cid)

    async def raw_count(self, table: str) -> int:
        """Row count of one journal table (for tests and ``hedgetui status``)."""
        return await self._reads.raw_count(table)

    # ---- the ledger (engine/journal_ledger.py) ------------------------------------------------------

    async def record_income(self, records: Sequence[IncomeRecord]) -> int:
        """Store income records once each (by income type and tranId); returns how many were new."""
        return await self._ledger.record_income(records)

    async def income(self, *, since_ms: int | None = None, symbol: str | None = None) -> list[IncomeRecord]:
        """Stored income records, oldest first (from ``since_ms``; of ``symbol`` when given)."""
        return await self._ledger.income(since_ms=since_ms, symbol=symbol)

    async def latest_income_ms(self) -> int | None:
        """The exchange time of the newest stored income record (None when none is stored)."""
        return await self._ledger.latest_income_ms()

    async def ledger_fills(self) -> list[dict[str, Any]]:
        """Every journaled fill in the order it was recorded, with its order's side (fallback rows left out
        while a real trade of the same order is journaled; ``time_ms`` is the exchange's trade time)."""
        return await self._ledger.ledger_fills()

    async def record_external_fills(self, fills: Sequence[ExternalFill]) -> list[ExternalFill]:
        """Store the exchange's trades of orders hedgetui did not send, once each (by market and trade id);
        a trade already journaled as one of hedgetui's fills is never stored again. Returns the new ones."""
        return await self._ledger.record_external_fills(fills)

    async def external_fills(self) -> list[ExternalFill]:
        """The journaled fills of orders hedgetui did not send, in the exchange's time order."""
        return await self._ledger.external_fills()

    async def last_fill_ms(self) -> int | None:
        """The exchange time of the newest journaled fill, hedgetui's or external (None: no fill yet)."""
        return await self._ledger.last_fill_ms()
