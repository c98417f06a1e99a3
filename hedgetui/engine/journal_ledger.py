"""The ledger's tables of the journal: income records and the fills hedgetui did not make.

The funding and P&L ledger reads the futures account's income records as the exchange booked them (one
row per record: Binance's tranId is unique per income type, so a refetch never counts an amount twice),
the journaled fills with the exchange's own time of each trade, and the fills of orders hedgetui did not
send (a liquidation, an ADL, a manual trade), taken from the exchange's trades when the drift monitor or
reconciliation explained an outside change of a leg. :class:`LedgerTables` holds those reads and writes;
the :class:`~hedgetui.engine.journal.Journal` owns it and the connection, and every operation here runs
through the journal's one writer like any other (awaited, in order, committed before it returns).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import aiosqlite

from hedgetui.domain.ledger import ExternalFill
from hedgetui.domain.orders import Side
from hedgetui.domain.pnl import IncomeKind, IncomeRecord
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.journal_rows import dec, txt
from hedgetui.engine.journal_writer import JournalWriter


class LedgerTables:
    """The journal's income and external-fill tables, and the ledger's view of the journaled fills."""

    def __init__(self, writer: JournalWriter, clock_ms: Callable[[], int]) -> None:
        self._writer = writer
        self._clock_ms = clock_ms

    async def record_income(self, records: Sequence[IncomeRecord]) -> int:
        """Store income records once each (by income type and tranId); returns how many were new."""

        async def op(db: aiosqlite.Connection) -> int:
            added = 0
            for r in records:
                cur = await db.execute(
                    "INSERT OR IGNORE INTO income VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        r.kind.value,
                        r.tran_id,
                        r.symbol,
                        r.asset,
                        txt(r.amount),
                        r.time_ms,
                        r.trade_id,
                        self._clock_ms(),
                    ),
                )
                added += cur.rowcount
            return added

        return await self._writer.submit(op) if records else 0

    async def income(self, *, since_ms: int | None = None, symbol: str | None = None) -> list[IncomeRecord]:
        """Stored income records, oldest first (from ``since_ms``; of ``symbol`` when given)."""
        rows = await self._writer.fetchall(
            "SELECT kind, tran_id, symbol, asset, amount, time_ms, trade_id FROM income"
            " WHERE time_ms >= ? AND (? IS NULL OR symbol = ?) ORDER BY time_ms, kind, tran_id",
            (since_ms if since_ms is not None else -1, symbol, symbol),
        )
        return [
            IncomeRecord(
                tran_id=r[1],
                kind=IncomeKind(r[0]) if r[0] in IncomeKind.__members__ else IncomeKind.OTHER,
                symbol=r[2],
                asset=r[3],
                amount=Decimal(r[4]),
                time_ms=int(r[5]),
                trade_id=r[6],
            )
            for r in rows
        ]

    async def latest_income_ms(self) -> int | None:
        """The exchange time of the newest stored income record (None when none is stored)."""
        rows = await self._writer.fetchall("SELECT MAX(time_ms) FROM income")
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    async def ledger_fills(self) -> list[dict[str, Any]]:
        """Every journaled fill in the order it was recorded, with its order's side.

        ``time_ms`` is the exchange's trade time, else the time it was journaled. A fallback row (trade id
        ``o<orderId>``) is left out while a real trade of the same order is journaled (as in
        :meth:`Journal.hedge_spot_qty`).
        """
        rows = await self._writer.fetchall(
            "SELECT f.market, f.trade_id, s.side, f.quantity, f.price, f.fee, f.fee_asset,"
            " COALESCE(f.trade_ms, f.created_ms), f.cid FROM fills f JOIN order_submits s ON s.cid = f.cid"
            " ORDER BY f.rowid"
        )
        real_cids = {r[8] for r in rows if not str(r[1]).startswith("o")}
        keys = ("market", "trade_id", "side", "quantity", "price", "fee", "fee_asset", "time_ms")
        return [
            dict(zip(keys, r[:8], strict=True)) for r in rows if not (str(r[1]).startswith("o") and r[8] in real_cids)
        ]

    async def record_external_fills(self, fills: Sequence[ExternalFill]) -> list[ExternalFill]:
        """Store the exchange's trades of orders hedgetui did not send, once each (by market and trade id);
        a trade already journaled as one of hedgetui's fills is never stored again. Returns the new ones."""

        async def op(db: aiosqlite.Connection) -> list[ExternalFill]:
            added: list[ExternalFill] = []
            for f in fills:
                cur = await db.execute(
                    "INSERT OR IGNORE INTO external_fills SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
                    " WHERE NOT EXISTS (SELECT 1 FROM fills WHERE market = ? AND trade_id = ?)",
                    (
                        f.market.value,
                        f.trade_id,
                        f.order_id,
                        f.client_order_id,
                        f.side.value,
                        txt(f.qty),
                        txt(f.price),
                        txt(f.fee),
                        f.fee_asset,
                        f.time_ms,
                        f.cause,
                        self._clock_ms(),
                        f.market.value,
                        f.trade_id,
                    ),
                )
                if cur.rowcount == 1:
                    added.append(f)
            return added

        return await self._writer.submit(op) if fills else []

    async def external_fills(self) -> list[ExternalFill]:
        """The journaled fills of orders hedgetui did not send, in the exchange's time order."""
        rows = await self._writer.fetchall(
            "SELECT market, trade_id, order_id, client_order_id, side, quantity, price, fee, fee_asset, trade_ms,"
            " cause FROM external_fills ORDER BY trade_ms, rowid"
        )
        return [
            ExternalFill(
                market=MarketKind(r[0]),
                trade_id=r[1],
                order_id=r[2],
                client_order_id=r[3],
                side=Side(r[4]),
                qty=Decimal(r[5]),
                price=Decimal(r[6]),
                fee=dec(r[7]),
                fee_asset=r[8],
                time_ms=int(r[9]),
                cause=r[10],
            )
            for r in rows
        ]

    async def last_fill_ms(self) -> int | None:
        """The exchange time of the newest journaled fill, hedgetui's or external (None: no fill yet)."""
        rows = await self._writer.fetchall(
            "SELECT MAX(t) FROM (SELECT MAX(COALESCE(trade_ms, created_ms)) AS t FROM fills"
            " UNION ALL SELECT MAX(trade_ms) FROM external_fills)"
        )
        return int(rows[0][0]) if rows and rows[0][0] is not None else None
