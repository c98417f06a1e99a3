"""The verification read of both legs, sent as soon as the exchange has answered every order of the run.

A pipeline ends by reading both legs from the exchange (the drift check of an entry, the flat check of an
exit). Without a warm user data stream that read used to be the pipeline's last round trip, sent only
after the fills stage had read each order's trades (their fees) — a round trip of its own. Both reads
need only one thing: every order of the run is over on the exchange. Once every order's answer is
terminal (RESULT/FULL answers of filled market orders), :class:`EarlyReading` sends the verification read
at once, so it travels beside the trade reads: one round trip instead of two.

The early reading stands for the verification only while it still describes the run's end: no order was
sent after it went out (the journal records every order before it is sent, so its count of this intent's
submissions tells: :meth:`Journal.submits_recorded`, kept by the journal's one writer, no read) and the
late-visibility sweep found nothing. Otherwise it is dropped and the legs are read again. And it never
decides a correction or a halt on its own: legs apart on the early reading are read once more, in full
over REST, before anything is sent (:meth:`HedgeState.read`).

With a warm user data stream the reading is the stream's (``read(streamed=True)``: the account changes of
the reported fills, waited for in the background); without one it is the REST read of both legs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from hedgetui.engine.hedge import ExchangeLegs, HedgeState
from hedgetui.engine.journal import Journal
from hedgetui.engine.legs import HaltRequired, Placement, Resolution
from hedgetui.engine.reads import LEGS_SETTLE_S


def answered(placed: Sequence[Placement | HaltRequired]) -> bool:
    """True when every placement's fate is final on the exchange: rejected, or placed with a terminal answer."""
    for p in placed:
        if isinstance(p, HaltRequired):
            return False
        if p.resolution is Resolution.REJECTED:
            continue
        if p.resolution is not Resolution.PLACED or p.order is None or not p.order.status.is_terminal:
            return False
    return True


class EarlyReading:
    """Both legs, read as soon as every order of the run had a terminal answer (see the module docstring)."""

    def __init__(
        self, hedge: HedgeState, journal: Journal, intent_id: str, submits: int, placed: Sequence[Placement]
    ) -> None:
        self.hedge = hedge
        self.journal = journal
        self.intent_id = intent_id
        #: How many orders the run had journaled when the read went out.
        self.submits = submits
        self.task: asyncio.Task[ExchangeLegs] = asyncio.get_running_loop().create_task(
            self._read(placed), name=f"early-verification-{intent_id}"
        )

    async def _read(self, placed: Sequence[Placement]) -> ExchangeLegs:
        # The stream vouches for the account only after it has seen these orders' own events (they set the
        # fills' account changes pending, which the read then waits for): an answer can overtake its events,
        # and a balance read before them would be the account before the fills. On a stale stream, or
        # when the events are lost (the stream goes stale), this costs nothing and the read is over REST.
        venue = self.hedge.venue
        await asyncio.gather(
            *(
                venue.wait_order(p.order.kind, p.cid, LEGS_SETTLE_S)
                for p in placed
                if p.order is not None and p.order.filled > 0
            )
        )
        return await self.hedge.read(streamed=True)

    @classmethod
    async def start(
        cls, hedge: HedgeState, journal: Journal, intent_id: str, placed: Sequence[Placement | HaltRequired]
    ) -> EarlyReading | None:
        """Send the read now if every placement in ``placed`` is final on the exchange, else None."""
        if not answered(placed):
            return None
        done = [p for p in placed if isinstance(p, Placement)]
        return cls(hedge, journal, intent_id, journal.submits_recorded(intent_id), done)

    async def legs(self, late: Sequence[object] = ()) -> ExchangeLegs | None:
        """The early reading if it still describes the run's end (no order sent since, no ``late`` order
        found by the sweep, the read succeeded); else None, and the caller reads again."""
        if late or self.journal.submits_recorded(self.intent_id) != self.submits:
            self.discard()
            return None
        try:
            return await self.task
        except Exception:  # a failed early read costs nothing: the caller's own read decides
            return None

    def discard(self) -> None:
        """Drop the reading (cancel it while in flight; never leave its error unretrieved)."""
        if not self.task.done():
            self.task.cancel()
        else:
            with contextlib.suppress(BaseException):
                self.task.exception()


async def verification_legs(
    hedge: HedgeState, early: EarlyReading | None, late: Sequence[object] = ()
) -> tuple[ExchangeLegs, bool]:
    """Both legs for a pipeline's verification: the early reading while it stands, else a fresh read.

    Returns the legs and whether they are the early reading (the caller reads again before acting on a gap).
    """
    if early is not None:
        legs = await early.legs(late)
        if legs is not None:
            return legs, True
    return await hedge.read(streamed=True), False
