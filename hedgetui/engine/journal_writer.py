"""The journal's writer: one task that runs every queued operation, in order, in committed transactions.

aiosqlite runs one worker thread per connection, and one shared connection is one shared transaction, so
the journal's single connection is used by a single writer task: every operation is queued and executed
in order (FIFO) inside a ``BEGIN IMMEDIATE … COMMIT`` and acknowledged only after that commit. Cancelling
the awaiting caller does not cancel the write (aiosqlite would commit it anyway); the queue makes that
explicit. The :class:`~hedgetui.engine.journal.Journal` owns the connection and hands it to the writer
when it opens the file.

Group commit. A commit costs an fsync (synchronous FULL, as the durability section of
execution-safety.md requires; never relaxed here), and on a busy machine that is milliseconds. The
writer therefore runs every operation queued at the same moment in one transaction: the rows still
commit in queue order, each caller is acknowledged only after the commit that holds its row, and if any
operation of a batch fails the batch is rolled back and each operation is run again in a transaction of
its own, so one bad row never takes its neighbours with it.

Posted writes (``wait=False``). Rows that only explain (stage rows, live events, an order's answer and its
fills, which recovery re-reads from the exchange by client id after a crash: execution-safety.md §6) need
not hold a pipeline up: they are queued without waiting and committed with the next awaited operation —
which is never acknowledged before them (FIFO) — or, if none comes, after :data:`POST_LINGER_S`. Safety
rule 5 is untouched: intents and submissions are awaited, and a posted row queued before them commits in
the same transaction or an earlier one. A posted write that fails poisons the journal: every later
operation raises :class:`JournalError`, so nothing is sent after it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import aiosqlite

from hedgetui.engine.journal_rows import JournalError

T = TypeVar("T")

Op = Callable[[aiosqlite.Connection], Awaitable[T]]
"""One journal operation: run by the writer inside a transaction, given the connection."""

#: How long a posted (``wait=False``) row may wait for an awaited operation to commit with before it is
#: committed on its own: the crash window of rows that only explain (recovery re-reads the rest).
POST_LINGER_S = 0.1


@dataclass(frozen=True)
class _Queued:
    """One queued operation: what to run, who waits for it, and whether anyone awaits it (posted: not)."""

    op: Callable[[aiosqlite.Connection], Awaitable[Any]]
    future: asyncio.Future[Any]
    wait: bool


class Insert:
    """A plain insert of ``rows`` (no result): runnable alone, or merged with its neighbours in a batch."""

    def __init__(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        self.sql = sql
        self.rows = rows

    async def __call__(self, db: aiosqlite.Connection) -> None:
        await db.executemany(self.sql, self.rows)


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class JournalWriter:
    """The queue and the task that commit the journal's operations (see the module docstring)."""

    def __init__(self) -> None:
        self._db: aiosqlite.Connection | None = None
        self._queue: asyncio.Queue[_Queued] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        #: Set when an awaited operation is queued: the writer stops lingering over posted rows.
        self._urgent = asyncio.Event()
        #: The failure of a posted write: the journal refuses everything after it.
        self._failed: BaseException | None = None

    def start(self, db: aiosqlite.Connection) -> None:
        """Start the writer task over ``db`` (an open, migrated connection the journal owns)."""
        self._db = db
        self._task = asyncio.create_task(self._run(), name="journal-writer")

    async def stop(self) -> None:
        """Finish every queued operation, then stop the task (the journal closes the connection after)."""
        if self._task is not None:
            self._urgent.set()
            await self._queue.join()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._db = None

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            try:
                if not batch[0].wait and not self._urgent.is_set():
                    # Posted rows wait (briefly) for an awaited operation to share its commit.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._urgent.wait(), POST_LINGER_S)
                self._urgent.clear()
                while not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                await self._run_batch(batch)
            except asyncio.CancelledError:
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(JournalError("the journal closed before this operation ran"))
                raise
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _run_batch(self, batch: list[_Queued]) -> None:
        """Run ``batch`` in one transaction; if any of it fails, each operation alone (see the docstring)."""
        if len(batch) > 1 and self._failed is None:
            try:
                results = await self._transaction([item.op for item in batch])
            except Exception:  # each operation is run again alone below, and reports its own error
                pass
            else:
                for item, result in zip(batch, results, strict=True):
                    self._settle(item, result, None)
                return
        for item in batch:
            if self._failed is not None:
                self._settle(item, None, JournalError(f"an earlier journal write failed: {self._failed}"))
                continue
            try:
                (result,) = await self._transaction([item.op])
            except Exception as exc:  # the caller must see every failure
                self._settle(item, None, exc)
            else:
                self._settle(item, result, None)

    async def _transaction(self, ops: list[Callable[[aiosqlite.Connection], Awaitable[Any]]]) -> list[Any]:
        db = self._connection()
        await db.execute("BEGIN IMMEDIATE")
        try:
            results: list[Any] = []
            i = 0
            while i < len(ops):
                op = ops[i]
                if isinstance(op, Insert):
                    # Consecutive plain inserts into one table go to the worker thread as one executemany.
                    group = [op]
                    while i + len(group) < len(ops):
                        following = ops[i + len(group)]
                        if not (isinstance(following, Insert) and following.sql == op.sql):
                            break
                        group.append(following)
                    await db.executemany(op.sql, [row for g in group for row in g.rows])
                    results += [None] * len(group)
                    i += len(group)
                    continue
                results.append(await op(db))
                i += 1
            await db.execute("COMMIT")
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        return results

    def _settle(self, item: _Queued, result: Any, error: BaseException | None) -> None:
        if error is not None and not item.wait and self._failed is None:
            self._failed = error
        if item.future.done():
            return
        if error is None:
            item.future.set_result(result)
        else:
            item.future.set_exception(error)

    def _connection(self) -> aiosqlite.Connection:
        if self._db is None:
            raise JournalError("the journal is not open")
        return self._db

    def _queue_op(self, op: Op[T], wait: bool) -> asyncio.Future[T]:
        if self._task is None or self._task.done():
            raise JournalError("the journal is not open")
        if self._failed is not None:
            raise JournalError(f"an earlier journal write failed: {self._failed}")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Queued(op, future, wait))
        return future

    async def submit(self, op: Op[T]) -> T:
        """Queue ``op`` and return its result once the transaction holding it has committed."""
        future = self._queue_op(op, wait=True)
        self._urgent.set()
        # Shield: if the caller is cancelled, the write still completes and commits in order.
        return await asyncio.shield(future)

    def post(self, op: Op[T]) -> asyncio.Future[T]:
        """Queue a write without waiting for it (see "Posted writes"); the future settles at its commit."""
        future = self._queue_op(op, wait=False)
        # Nobody need await it: its error is kept in ``_failed``, never left unretrieved.
        future.add_done_callback(_retrieve)
        return future

    async def fetchall(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run one query in the writer's order and return its rows as tuples."""

        async def op(db: aiosqlite.Connection) -> list[tuple[Any, ...]]:
            async with db.execute(sql, params) as cur:
                return [tuple(r) for r in await cur.fetchall()]

        return await self.submit(op)
