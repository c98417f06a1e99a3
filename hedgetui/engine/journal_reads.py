"""The journal's read side: what recovery, reconciliation, the history and the intent detail ask of it.

Recovery and reconciliation read the submissions whose fate is unknown (open, concluded never placed,
filled without fill rows) and the unfinished intents; the history and the intent detail read intents with
their ends, events and fills; verification and the status command read the spot quantity the journaled
fills hold and row counts. Every read is a query run through the journal's one writer, so it sees every
row queued before it, committed. :class:`JournalReads` holds them; the
:class:`~hedgetui.engine.journal.Journal` owns it and the connection and keeps the public methods.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hedgetui.engine.journal_rows import EventRow, IntentRow, SubmitRow, dec
from hedgetui.engine.journal_schema import TABLES
from hedgetui.engine.journal_writer import JournalWriter


def submit_row(r: tuple[Any, ...]) -> SubmitRow:
    """An ``order_submits`` row (its eleven columns, in table order) as a :class:`SubmitRow`."""
    return SubmitRow(
        cid=r[0],
        intent_id=r[1],
        leg=r[2],
        attempt=int(r[3]),
        market=r[4],
        side=r[5],
        order_type=r[6],
        quantity=Decimal(r[7]),
        price=dec(r[8]),
        reduce_only=bool(r[9]),
        created_ms=int(r[10]),
    )


class JournalReads:
    """The journal's queries over intents, submissions, updates, fills, events and states."""

    def __init__(self, writer: JournalWriter) -> None:
        self._writer = writer

    async def unfinished_intents(self) -> list[IntentRow]:
        rows = await self._writer.fetchall("SELECT * FROM unfinished_intents ORDER BY created_ms")
        return [IntentRow(r[0], r[1], r[2], dec(r[3]), dec(r[4]), json.loads(r[5])) for r in rows]

    async def open_submits(self, intent_id: str | None = None) -> list[SubmitRow]:
        """Submissions with no terminal update: the orders whose fate must be looked up."""
        sql = "SELECT * FROM open_submits"
        params: tuple[object, ...] = ()
        if intent_id is not None:
            sql += " WHERE intent_id = ?"
            params = (intent_id,)
        rows = await self._writer.fetchall(sql + " ORDER BY created_ms, cid", params)
        return [submit_row(r) for r in rows]

    async def not_placed_submits(self, intent_id: str | None = None) -> list[SubmitRow]:
        """Submissions concluded never placed (a late-visible order may still exist); all intents if None."""
        where = "s.intent_id = ? AND " if intent_id is not None else ""
        rows = await self._writer.fetchall(
            f"SELECT s.* FROM order_submits s WHERE {where}(SELECT u.status FROM order_updates u"
            " WHERE u.cid = s.cid ORDER BY u.seq DESC LIMIT 1) = 'not_placed' ORDER BY s.created_ms, s.cid",
            (intent_id,) if intent_id is not None else (),
        )
        return [submit_row(r) for r in rows]

    async def filled_without_fills(self) -> list[tuple[SubmitRow, str]]:
        """Finished orders that filled but have no fill rows (a crash between the two writes), with order ids."""
        rows = await self._writer.fetchall(
            "SELECT s.*, u.order_id FROM order_submits s JOIN order_updates u ON u.cid = s.cid"
            " WHERE u.seq = (SELECT MAX(seq) FROM order_updates WHERE cid = s.cid AND terminal = 1)"
            " AND CAST(u.filled AS REAL) > 0 AND u.order_id IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM fills f WHERE f.cid = s.cid) ORDER BY s.created_ms, s.cid"
        )
        return [(submit_row(r[:11]), str(r[11])) for r in rows]

    async def submits(self, intent_id: str) -> list[SubmitRow]:
        rows = await self._writer.fetchall(
            "SELECT * FROM order_submits WHERE intent_id = ? ORDER BY created_ms, cid", (intent_id,)
        )
        return [submit_row(r) for r in rows]

    async def all_cids(self) -> set[str]:
        return {r[0] for r in await self._writer.fetchall("SELECT cid FROM order_submits")}

    async def events(self, *, intent_id: str | None = None, limit: int | None = None) -> list[EventRow]:
        """Events oldest first; with ``limit``, the most recent ``limit`` of them."""
        where = " WHERE intent_id = ?" if intent_id is not None else ""
        params: tuple[object, ...] = (intent_id,) if intent_id is not None else ()
        sql = f"SELECT * FROM events{where} ORDER BY seq DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rows = await self._writer.fetchall(sql, params)
        return [EventRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6]) for r in reversed(rows)]

    async def latest_state(self, name: str) -> dict[str, Any] | None:
        rows = await self._writer.fetchall(
            "SELECT value FROM state_changes WHERE name = ? ORDER BY seq DESC LIMIT 1", (name,)
        )
        return json.loads(rows[0][0]) if rows else None

    async def intent_end(self, intent_id: str) -> tuple[str, str] | None:
        rows = await self._writer.fetchall(
            "SELECT end_state, reason FROM intent_ends WHERE intent_id = ?", (intent_id,)
        )
        return (rows[0][0], rows[0][1]) if rows else None

    async def history(self, limit: int = 20) -> list[dict[str, Any]]:
        """The latest intents with their end (if any), newest first."""
        rows = await self._writer.fetchall(
            "SELECT i.intent_id, i.kind, i.created_ms, i.quantity, i.size_usd, e.end_state, e.reason,"
            " e.spot_qty, e.perp_qty, e.created_ms FROM intents i LEFT JOIN intent_ends e"
            " ON e.intent_id = i.intent_id ORDER BY i.created_ms DESC, i.rowid DESC LIMIT ?",
            (limit,),
        )
        keys = (
            "intent_id",
            "kind",
            "created_ms",
            "quantity",
            "size_usd",
            "end_state",
            "reason",
            "spot_qty",
            "perp_qty",
            "ended_ms",
        )
        return [dict(zip(keys, r, strict=True)) for r in rows]

    async def hedge_spot_qty(self, base_asset: str) -> Decimal:
        """The spot quantity the hedge holds, derived from journaled spot fills.

        Buys add their quantity less any fee charged in the base asset (Binance takes a spot buy's fee in
        the received asset), sells subtract. A fallback row (trade id ``o<orderId>``, written when an
        order's trades could not be read) counts only while no real trade of that order is journaled.
        """
        rows = await self._writer.fetchall(
            "SELECT s.side, f.quantity, f.fee, f.fee_asset, f.trade_id, f.cid FROM fills f"
            " JOIN order_submits s ON s.cid = f.cid WHERE f.market = 'spot'"
        )
        real_cids = {r[5] for r in rows if not str(r[4]).startswith("o")}
        total = Decimal(0)
        for side, qty, fee, fee_asset, trade_id, cid in rows:
            if str(trade_id).startswith("o") and cid in real_cids:
                continue
            q = Decimal(qty)
            if side == "buy":
                total += q - (Decimal(fee) if fee is not None and fee_asset == base_asset else Decimal(0))
            else:
                total -= q
        return total

    async def fills_for(self, cid: str) -> list[tuple[str, Decimal, Decimal]]:
        rows = await self._writer.fetchall(
            "SELECT trade_id, quantity, price FROM fills WHERE cid = ? ORDER BY created_ms", (cid,)
        )
        return [(r[0], Decimal(r[1]), Decimal(r[2])) for r in rows]

    async def raw_count(self, table: str) -> int:
        """Row count of one journal table (for tests and ``hedgetui status``)."""
        if table not in TABLES:
            raise ValueError(f"unknown journal table {table!r}")
        rows = await self._writer.fetchall(f"SELECT COUNT(*) FROM {table}")
        return int(rows[0][0])
