"""Funding: the schedule of funding times, the settlements that happened, and settling one.

Funding times are the multiples of the interval since the Unix epoch: with Binance's 8 h that is 00:00,
08:00 and 16:00 UTC; with ``--funding-interval-s 60`` every full minute. At each funding time every open
position receives ``−positionAmt × markPrice × fundingRate`` (a short receives when the rate is positive,
a long pays), booked into the futures wallet with a ``FUNDING_FEE`` income record and an
``ACCOUNT_UPDATE`` with reason ``FUNDING_FEE``. The core's tick settles every funding time it has passed;
:meth:`ExchangeCore.settle_funding` settles at once (the control API's ``POST /sandbox/funding``).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from hedgetui.sandbox.accounts import settle
from hedgetui.sandbox.model import SandboxError

if TYPE_CHECKING:
    from hedgetui.sandbox.core import ExchangeCore
    from hedgetui.sandbox.income import IncomeRecord

#: Binance's default funding interval.
EIGHT_HOURS_MS = 8 * 3600 * 1000
#: At most this many missed funding times are settled per tick (a clock jump catches up over ticks).
MAX_CATCH_UP = 1000
HOUR_MS = 3600 * 1000


def funding_fee(amount: Decimal, mark: Decimal, rate: Decimal) -> Decimal:
    """What a position of signed ``amount`` receives (> 0) or pays (< 0) at one funding time, to 8 dp."""
    return settle(-amount * mark * rate)


@dataclass(frozen=True)
class Settlement:
    """One symbol's funding event: the time, the rate applied and the mark it was applied at."""

    symbol: str
    time: int
    rate: Decimal
    mark: Decimal


class FundingSchedule:
    """The funding times of one exchange and the settlements that happened (sorted by time)."""

    def __init__(self, interval_ms: int, started_at: int) -> None:
        if interval_ms < 1:
            raise ValueError("the funding interval must be at least 1 ms")
        self.interval_ms = interval_ms
        #: The first funding time after the exchange opened; the tick settles from here on.
        self.first_time = self.after(started_at)
        self.next_time = self.first_time
        self.settlements: list[Settlement] = []

    def after(self, t: int) -> int:
        """The first funding time strictly after ``t``."""
        return (t // self.interval_ms + 1) * self.interval_ms

    def due(self, now: int) -> list[int]:
        """The funding times reached by ``now`` and not yet settled (at most :data:`MAX_CATCH_UP`);
        the schedule moves past them."""
        times: list[int] = []
        while self.next_time <= now and len(times) < MAX_CATCH_UP:
            times.append(self.next_time)
            self.next_time += self.interval_ms
        return times

    def record(self, settlement: Settlement) -> None:
        bisect.insort(self.settlements, settlement, key=lambda s: s.time)

    def history(
        self, symbols: list[str], started_at: int, start: int | None, end: int, current: dict[str, Settlement]
    ) -> list[Settlement]:
        """Every funding event of ``symbols`` from ``start`` (or the opening) to ``end``, oldest first.

        The settlements that happened carry the rate they applied. A scheduled time the tick never
        reached (before the schedule began, e.g. when a test moves ``started_at`` back) is listed at
        ``current`` rate and mark, which is all the sandbox knows about it.
        """
        lo = start if start is not None else started_at
        rows: list[Settlement] = []
        t = self.after(started_at)
        while t < self.first_time and t <= end:
            if t >= lo:
                rows.extend(Settlement(s, t, current[s].rate, current[s].mark) for s in symbols)
            t += self.interval_ms
        keys = [s.time for s in self.settlements]
        first, last = bisect.bisect_left(keys, lo), bisect.bisect_right(keys, end)
        rows.extend(s for s in self.settlements[first:last] if s.symbol in symbols)
        return rows

    @property
    def interval_hours(self) -> int | float:
        """``fundingIntervalHours``: whole hours as Binance's integer; a sub-hour interval as a fraction."""
        if self.interval_ms % HOUR_MS == 0:
            return self.interval_ms // HOUR_MS
        return self.interval_ms / HOUR_MS


def settle_funding(core: ExchangeCore, time: int) -> list[IncomeRecord]:
    """Settle one funding time on ``core``: record each symbol's rate and mark, pay or charge every open
    position into the wallet with a ``FUNDING_FEE`` record; returns the records booked."""
    booked: list[IncomeRecord] = []
    for symbol in core.specs:
        rate, mark = core.funding_rate(symbol), core.mark_price(symbol)
        core.funding.record(Settlement(symbol, time, rate, mark))
        amount = core._futures.positions[symbol].amount
        if not amount:
            continue
        fee = funding_fee(amount, mark, rate)
        core._futures.wallet += fee
        record = core.income.book(symbol, "FUNDING_FEE", fee, time)
        if record is not None:
            booked.append(record)
    if booked:
        core._account_reason = "FUNDING_FEE"
    return booked


def settle_now(core: ExchangeCore, rate: Decimal | None = None) -> list[IncomeRecord]:
    """Settle funding now, off the schedule (:meth:`ExchangeCore.settle_funding`, the control API's
    ``POST /sandbox/funding``): every open position pays or receives at the current mark and rate (or
    ``rate`` for every symbol); the scheduled times carry on. Returns the FUNDING_FEE records booked."""
    if rate is not None and not rate.is_finite():
        raise SandboxError(-1100, "Illegal characters found in parameter 'rate'.")
    now = core.now()
    saved = {s: m.walk.funding for s, m in core._markets.items()}
    if rate is not None:
        for m in core._markets.values():
            m.walk.funding = rate
    try:
        booked = settle_funding(core, now)
    finally:
        for s, m in core._markets.items():
            m.walk.funding = saved[s]
    core._commit(now)
    return booked
