"""The funding and P&L ledger: the exchange's income records kept in the journal, and each hedge's P&L.

Income records (funding, perp commission, realized P&L) are fetched from the venue and stored by their
exchange id, so fetching a period twice never counts an amount twice. Each fetch starts a little before the
newest stored record (:data:`OVERLAP_MS`: records booked late still arrive), which also fills the gap of a
restart: the first fetch after it covers everything booked while no engine ran. Before any record is
stored, the fetch starts at the journal's first fill.

The hedges and their P&L are derived from the journal's fills (hedgetui's own and the external ones the
drift monitor or reconciliation journaled: a liquidation, an ADL, a manual trade) and the stored income by
the pure maths of :mod:`hedgetui.domain.ledger`; nothing is recomputed from funding rates. :attr:`Ledger.current`
holds the open hedge's P&L as of the last :meth:`Ledger.refresh` (None when flat).

The open hedge's funding points carry the rate each settlement applied and the basis then, from the
exchange's funding-rate history (which gives the mark) and the spot market's one-minute klines. Both are
kept once read (settlements do not change), so a refresh asks at most once each, and only when a
settlement is new: one request for all new points, however many.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from decimal import Decimal
from typing import Any

from hedgetui.domain.ledger import (
    MINUTE_MS,
    HedgeFills,
    LedgerFill,
    Marks,
    hedge_pnl,
    merge_fills,
    settlement_at,
    split_hedges,
    with_settlements,
)
from hedgetui.domain.orders import Side
from hedgetui.domain.pnl import FundingRateRow, HedgePnl, IncomeRecord, SpotKline
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.clock import Clock
from hedgetui.engine.journal import Journal
from hedgetui.engine.ports import VenuePort
from hedgetui.exchange.errors import VenueError

log = logging.getLogger(__name__)

#: How far before the newest stored record each fetch starts (Binance may book a record late).
OVERLAP_MS = 10 * 60_000
#: Income is fetched at least this often while a hedge is open, besides right after each funding time.
SYNC_EVERY_MS = 60_000
#: How long after a funding time the exchange is given to book the settlement before it is fetched.
FUNDING_GRACE_MS = 1_500
#: How long a read funding interval is trusted (Binance changes a contract's interval now and then).
INTERVAL_TTL_MS = 3_600_000
#: Spot minutes read per request (Binance's maximum): settlements further apart wait for the next refresh.
KLINES_PAGE = 1000


def _fill(row: dict[str, Any]) -> LedgerFill:
    return LedgerFill(
        market=MarketKind(row["market"]),
        trade_id=str(row["trade_id"]),
        side=Side(row["side"]),
        qty=Decimal(row["quantity"]),
        price=Decimal(row["price"]),
        fee=Decimal(row["fee"]) if row["fee"] is not None else None,
        fee_asset=row["fee_asset"],
        time_ms=int(row["time_ms"]),
    )


class Ledger:
    """The ledger of one venue's hedges, stored in the journal. Reads the venue; never trades."""

    def __init__(
        self,
        venue: VenuePort,
        journal: Journal,
        clock: Clock,
        *,
        exit_fee_rates: tuple[Decimal, Decimal] = (Decimal(0), Decimal(0)),
    ) -> None:
        self.venue = venue
        self.journal = journal
        self.clock = clock
        self.exit_fee_rates = exit_fee_rates
        self.current: HedgePnl | None = None
        self.last_sync_ms: int | None = None
        self._interval: tuple[int, int] | None = None  # (interval ms, read at ms)
        self._next_funding_ms: int | None = None
        # The exchange's settlements and the spot minutes they fell in, as read (they never change).
        self._rates: dict[int, FundingRateRow] = {}
        self._klines: dict[int, SpotKline] = {}
        self._spot_done: set[int] = set()  # settlement times whose spot minute was looked up

    # ---- income ------------------------------------------------------------------------------------

    async def sync(self) -> int:
        """Fetch the income booked since the newest stored record (less the overlap); returns how many are new.

        Nothing is fetched while the journal holds no fill (no hedge has ever been entered).
        """
        fills = await self.journal.ledger_fills()
        if not fills:
            return 0
        now = self.clock.wall_ms()
        latest = await self.journal.latest_income_ms()
        start = latest if latest is not None else min(int(f["time_ms"]) for f in fills)
        records = await self.venue.fetch_income(max(0, start - OVERLAP_MS))
        added = await self.journal.record_income(records)
        self.last_sync_ms = now
        return added

    def sync_due(self, now_ms: int) -> bool:
        """Whether income should be fetched now: never fetched, a funding time passed, or a while since."""
        last = self.last_sync_ms
        if last is None or now_ms - last >= SYNC_EVERY_MS:
            return True
        due = self._next_funding_ms
        return due is not None and last < due + FUNDING_GRACE_MS <= now_ms

    # ---- marks -------------------------------------------------------------------------------------

    async def funding_interval_ms(self) -> int:
        """The contract's funding interval (read from the venue, kept for an hour)."""
        now = self.clock.wall_ms()
        if self._interval is None or now - self._interval[1] >= INTERVAL_TTL_MS:
            self._interval = (await self.venue.fetch_funding_interval(), now)
        return self._interval[0]

    async def read_marks(self) -> Marks:
        """Mid, mark, funding rate and times as the venue gives them now (one round trip: the funding, the
        spot book and, when not at hand, the funding interval are read together)."""
        funding, book, _ = await asyncio.gather(
            self.venue.fetch_funding(), self.venue.fetch_order_book(MarketKind.SPOT, 5), self.funding_interval_ms()
        )
        mid = book.mid or funding.index_price
        return await self.marks_from(mid, funding.mark_price, funding.rate, funding.next_funding_ms)

    async def marks_from(
        self, spot_mid: Decimal, perp_mark: Decimal, rate: Decimal | None, next_funding_ms: int | None
    ) -> Marks:
        """Marks from figures the caller already holds (the market data service's latest values)."""
        return Marks(
            spot_mid=spot_mid,
            perp_mark=perp_mark,
            now_ms=self.clock.wall_ms(),
            funding_rate=rate,
            next_funding_ms=next_funding_ms,
            funding_interval_ms=await self.funding_interval_ms(),
        )

    # ---- hedges ------------------------------------------------------------------------------------

    async def _hedges(self) -> list[HedgeFills]:
        fills = [_fill(r) for r in await self.journal.ledger_fills()]
        external = [f.ledger_fill() for f in await self.journal.external_fills()]
        return split_hedges(merge_fills(fills, external), self.venue.rules(MarketKind.SPOT))

    async def _pnl(self, hedges: list[HedgeFills], marks: Marks | None) -> list[HedgePnl]:
        if not hedges:
            return []
        perp_symbol = self.venue.symbol(MarketKind.PERP)
        income: list[IncomeRecord] = await self.journal.income(
            since_ms=hedges[0].opened_ms - OVERLAP_MS, symbol=perp_symbol
        )
        spot_rules = self.venue.rules(MarketKind.SPOT)
        return [
            hedge_pnl(
                h,
                income,
                spot_rules=spot_rules,
                perp_symbol=perp_symbol,
                marks=marks if not h.closed else None,
                exit_fee_rates=self.exit_fee_rates,
            )
            for h in hedges
        ]

    async def refresh(self, marks: Marks | None = None, *, sync: bool | None = None) -> HedgePnl | None:
        """Bring :attr:`current` up to date and return it (None when flat).

        ``sync``: fetch income first (None: when :meth:`sync_due`). ``marks``: the values to mark the open
        hedge at (read from the venue when not given and a hedge is open).
        """
        due = sync or (sync is None and self.sync_due(self.clock.wall_ms()))
        # The hedges come from the journal's fills alone (income only prices them): the income and the
        # marks an open hedge needs are then read together, in one round trip.
        hedges = await self._hedges()
        is_open = bool(hedges) and not hedges[-1].closed
        reads: list[Awaitable[Any]] = []
        if due:
            reads.append(self.sync())
        if is_open and marks is None:
            reads.append(self.read_marks())
        # Every read runs to its end before any failure is raised: none outlives the refresh.
        results = await asyncio.gather(*reads, return_exceptions=True)
        failed = next((r for r in results if isinstance(r, BaseException)), None)
        if failed is not None:
            raise failed
        if not is_open:
            self.current = None
            return None
        if marks is None:
            read = results[-1]
            assert isinstance(read, Marks)
            marks = read
        self._next_funding_ms = marks.next_funding_ms
        (pnl,) = await self._pnl(hedges[-1:], marks)
        self.current = await self.with_settlements(pnl)
        return self.current

    async def history(self, limit: int = 20, marks: Marks | None = None) -> list[HedgePnl]:
        """The latest ``limit`` hedges, newest first: closed ones realized, an open one marked at ``marks``
        (or at its last fills when none are given)."""
        hedges = (await self._hedges())[-limit:] if limit > 0 else []
        return list(reversed(await self._pnl(hedges, marks)))

    # ---- settlements -------------------------------------------------------------------------------

    async def with_settlements(self, pnl: HedgePnl) -> HedgePnl:
        """``pnl`` with each funding point's rate and basis, reading the settlements not yet at hand (an
        unreadable exchange leaves them None until the next refresh)."""
        if not pnl.fundings:
            return pnl
        interval = await self.funding_interval_ms()
        times = [p.time_ms for p in pnl.fundings]
        try:
            await self._read_rates(times, interval)
            await self._read_spot(times, interval)
        except VenueError as exc:
            log.warning("funding settlements not read: %s", exc)
        rates = sorted(self._rates.values(), key=lambda r: r.time_ms)
        return with_settlements(pnl, rates, list(self._klines.values()), interval)

    async def _read_rates(self, times: list[int], interval: int) -> None:
        rates = list(self._rates.values())
        newest = max((r.time_ms for r in rates), default=None)
        # A point the history already covers but does not list is a gap: asking again would not fill it.
        missing = [t for t in times if settlement_at(t, rates, interval) is None and (newest is None or t > newest)]
        if not missing:
            return
        for row in await self.venue.fetch_funding_rates(min(missing) - interval):
            self._rates[row.time_ms] = row

    async def _read_spot(self, times: list[int], interval: int) -> None:
        rates = list(self._rates.values())
        wanted = {row.time_ms for t in times if (row := settlement_at(t, rates, interval)) and row.mark}
        wanted -= self._spot_done
        if not wanted:
            return
        first = min(wanted)
        klines = await self.venue.fetch_spot_klines(first - first % MINUTE_MS, KLINES_PAGE)
        if not klines:
            return
        last = klines[-1]
        current = last if len(klines) < KLINES_PAGE else None  # a short answer ends with the open minute
        for t in sorted(wanted):
            held = next((k for k in klines if k.open_ms <= t < k.open_ms + MINUTE_MS), None)
            if held is None:
                if t < last.open_ms:
                    self._spot_done.add(t)  # the exchange has no such minute: asking again would not help
                continue  # else beyond this answer's last minute: the next refresh reads from there
            self._klines[held.open_ms] = held
            if held is not current or t - held.open_ms < MINUTE_MS // 2:
                self._spot_done.add(t)
            # else the minute is still open: its close so far is the price now (under 30 s after the
            # settlement, as a closed minute's is); the next refresh reads the minute again
