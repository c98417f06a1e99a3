"""The journal's schema: its tables, views and append-only triggers, and the migrations that build them.

``PRAGMA user_version`` holds the schema version of a journal file. :func:`migrate` brings an older file
up to :data:`SCHEMA_VERSION` one version at a time, each version's statements and its version bump in one
transaction, and refuses a file newer than this hedgetui. A migration only ever adds (tables, columns,
indexes, views, triggers): rows are never rewritten, and every table gets the triggers that abort an
UPDATE or DELETE.
"""

from __future__ import annotations

from pathlib import Path

import aiosqlite

from hedgetui.engine.journal_rows import JournalError

SCHEMA_VERSION = 3
#: The tables of schema 1; their triggers abort an UPDATE or DELETE (later tables get their own).
APPEND_ONLY = ("intents", "order_submits", "order_updates", "fills", "events", "intent_ends", "state_changes")
#: Every table of the current schema (what ``Journal.raw_count`` may count).
TABLES = (*APPEND_ONLY, "income", "external_fills")

MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE intents (
            intent_id   TEXT PRIMARY KEY,
            kind        TEXT NOT NULL,
            created_ms  INTEGER NOT NULL,
            quantity    TEXT,
            size_usd    TEXT,
            details     TEXT NOT NULL DEFAULT '{}'
        )""",
        """CREATE TABLE order_submits (
            cid         TEXT PRIMARY KEY,
            intent_id   TEXT NOT NULL REFERENCES intents(intent_id),
            leg         TEXT NOT NULL,
            attempt     INTEGER NOT NULL,
            market      TEXT NOT NULL,
            side        TEXT NOT NULL,
            order_type  TEXT NOT NULL,
            quantity    TEXT NOT NULL,
            price       TEXT,
            reduce_only INTEGER NOT NULL,
            created_ms  INTEGER NOT NULL,
            UNIQUE (intent_id, leg, attempt)
        )""",
        """CREATE TABLE order_updates (
            seq         INTEGER PRIMARY KEY AUTOINCREMENT,
            cid         TEXT NOT NULL REFERENCES order_submits(cid),
            order_id    TEXT,
            status      TEXT NOT NULL,
            filled      TEXT NOT NULL,
            average     TEXT,
            terminal    INTEGER NOT NULL,
            code        INTEGER,
            message     TEXT,
            created_ms  INTEGER NOT NULL
        )""",
        """CREATE TABLE fills (
            market      TEXT NOT NULL,
            trade_id    TEXT NOT NULL,
            cid         TEXT NOT NULL REFERENCES order_submits(cid),
            order_id    TEXT NOT NULL,
            quantity    TEXT NOT NULL,
            price       TEXT NOT NULL,
            fee         TEXT,
            fee_asset   TEXT,
            created_ms  INTEGER NOT NULL,
            PRIMARY KEY (market, trade_id)
        )""",
        """CREATE TABLE events (
            seq         INTEGER PRIMARY KEY AUTOINCREMENT,
            intent_id   TEXT,
            kind        TEXT NOT NULL,
            level       TEXT NOT NULL,
            message     TEXT NOT NULL,
            data        TEXT NOT NULL DEFAULT '{}',
            created_ms  INTEGER NOT NULL
        )""",
        """CREATE TABLE intent_ends (
            intent_id   TEXT PRIMARY KEY REFERENCES intents(intent_id),
            end_state   TEXT NOT NULL,
            reason      TEXT NOT NULL,
            spot_qty    TEXT,
            perp_qty    TEXT,
            created_ms  INTEGER NOT NULL
        )""",
        """CREATE TABLE state_changes (
            seq         INTEGER PRIMARY KEY AUTOINCREMENT,
            name        TEXT NOT NULL,
            value       TEXT NOT NULL,
            created_ms  INTEGER NOT NULL
        )""",
        "CREATE INDEX order_updates_cid ON order_updates(cid)",
        "CREATE INDEX events_intent ON events(intent_id)",
        "CREATE INDEX state_changes_name ON state_changes(name, seq)",
        # Open submissions: sent (or about to be) with no terminal answer recorded.
        """CREATE VIEW open_submits AS
            SELECT s.* FROM order_submits s
            WHERE NOT EXISTS (SELECT 1 FROM order_updates u WHERE u.cid = s.cid AND u.terminal = 1)""",
        """CREATE VIEW unfinished_intents AS
            SELECT i.* FROM intents i
            WHERE NOT EXISTS (SELECT 1 FROM intent_ends e WHERE e.intent_id = i.intent_id)""",
        *(
            stmt
            for table in APPEND_ONLY
            for stmt in (
                f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
                    BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END""",
                f"""CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
                    BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END""",
            )
        ),
    ),
    # The funding and P&L ledger: the futures account's income records as the exchange booked them (one row
    # per record: Binance's tranId is unique per income type, so a refetch never counts an amount twice),
    # and the exchange's own time of each fill (which funding settlements a hedge held through).
    2: (
        """CREATE TABLE income (
            kind        TEXT NOT NULL,
            tran_id     TEXT NOT NULL,
            symbol      TEXT NOT NULL,
            asset       TEXT NOT NULL,
            amount      TEXT NOT NULL,
            time_ms     INTEGER NOT NULL,
            trade_id    TEXT NOT NULL,
            created_ms  INTEGER NOT NULL,
            PRIMARY KEY (kind, tran_id)
        )""",
        "CREATE INDEX income_time ON income(time_ms)",
        "ALTER TABLE fills ADD COLUMN trade_ms INTEGER",
        """CREATE TRIGGER income_no_update BEFORE UPDATE ON income
            BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END""",
        """CREATE TRIGGER income_no_delete BEFORE DELETE ON income
            BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END""",
    ),
    # Fills hedgetui did not make (a liquidation, an ADL, a manual trade), taken from the exchange's trades
    # when the drift monitor or reconciliation explained an outside change of a leg: the journal says how
    # the hedge got where the exchange holds it, and the ledger counts them. One row per exchange trade.
    3: (
        """CREATE TABLE external_fills (
            market          TEXT NOT NULL,
            trade_id        TEXT NOT NULL,
            order_id        TEXT NOT NULL,
            client_order_id TEXT,
            side            TEXT NOT NULL,
            quantity        TEXT NOT NULL,
            price           TEXT NOT NULL,
            fee             TEXT,
            fee_asset       TEXT,
            trade_ms        INTEGER NOT NULL,
            cause           TEXT NOT NULL,
            created_ms      INTEGER NOT NULL,
            PRIMARY KEY (market, trade_id)
        )""",
        """CREATE TRIGGER external_fills_no_update BEFORE UPDATE ON external_fills
            BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END""",
        """CREATE TRIGGER external_fills_no_delete BEFORE DELETE ON external_fills
            BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END""",
    ),
}


async def user_version(db: aiosqlite.Connection) -> int:
    """The schema version recorded in the open journal file (0: a new file)."""
    async with db.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def migrate(db: aiosqlite.Connection, path: Path) -> None:
    """Apply every migration newer than the file's version (``path`` names the file in the error)."""
    current = await user_version(db)
    if current > SCHEMA_VERSION:
        raise JournalError(f"journal {path} has schema version {current}, newer than this hedgetui ({SCHEMA_VERSION})")
    for version in range(current + 1, SCHEMA_VERSION + 1):
        # Each migration and its version bump commit together (executescript would commit early).
        await db.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[version]:
                await db.execute(statement)
            await db.execute(f"PRAGMA user_version={version}")
            await db.execute("COMMIT")
        except BaseException:
            await db.execute("ROLLBACK")
            raise
