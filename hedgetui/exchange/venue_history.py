"""The venue adapter's history reads, which the ledger values hedges with: the futures account's income
records (paged), the perp's funding settlements and interval, and the spot market's one-minute klines.

Kept apart from :mod:`hedgetui.exchange.venue` because they are reads of the past through Binance's own
endpoints (ccxt's implicit methods, which keep the fields the unified calls drop), with their paging and
fallbacks, while the adapter holds the live account, market data and orders. :class:`BinanceVenue` keeps
``fetch_income``, ``fetch_funding_interval``, ``fetch_funding_rates`` and ``fetch_spot_klines`` as its
calls (they are the engine's ``VenuePort``); each goes through the adapter's one call path
(:meth:`BinanceVenue._call`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from hedgetui.domain.ledger import DEFAULT_FUNDING_INTERVAL_MS
from hedgetui.domain.pnl import FundingRateRow, IncomeKind, IncomeRecord, SpotKline
from hedgetui.domain.venue import MarketKind
from hedgetui.exchange import parsing
from hedgetui.exchange.errors import READ, VenueError
from hedgetui.redaction import scrub

if TYPE_CHECKING:
    from hedgetui.exchange.venue import BinanceVenue, Request

#: The adapter's logger: these reads are part of it (and log configuration names it).
log = logging.getLogger("hedgetui.exchange.venue")
#: Binance's largest page of income records.
INCOME_PAGE = 1000


async def fetch_income(
    venue: BinanceVenue,
    since_ms: int,
    until_ms: int | None = None,
    kinds: Iterable[IncomeKind] | None = None,
    *,
    all_symbols: bool = False,
) -> list[IncomeRecord]:
    """The futures account's income records from ``since_ms`` (inclusive), oldest first.

    Read with Binance's ``/fapi/v1/income`` through ccxt's implicit method, which keeps every field
    (ccxt's unified ledger drops the trade id). Of the perp's symbol unless ``all_symbols`` (transfers
    carry no symbol); ``kinds`` filters by income type. A full page (1000 records) is followed by the
    next from its last record's time; a record seen twice on the page boundary is kept once.
    """
    wanted = set(kinds) if kinds is not None else None
    base: dict[str, Any] = {"limit": INCOME_PAGE}
    if not all_symbols:
        base["symbol"] = venue.rules(MarketKind.PERP).market_id
    if wanted is not None and len(wanted) == 1:
        base["incomeType"] = next(iter(wanted)).value
    if until_ms is not None:
        base["endTime"] = until_ms
    symbols = {venue.rules(MarketKind.PERP).market_id: venue.settings.perp_symbol}
    records: dict[tuple[IncomeKind, str], IncomeRecord] = {}
    start = since_ms
    while True:
        page = await venue._call(
            READ,
            functools.partial(venue.exchange.fapiPrivateGetIncome, {**base, "startTime": start}),
            lambda raw: [parsing.parse_income(r, symbols) for r in raw],
        )
        for r in page:
            records.setdefault((r.kind, r.tran_id), r)
        if len(page) < INCOME_PAGE:
            break
        last = max(r.time_ms for r in page)
        # More than a page within one millisecond cannot be paged by time: move on rather than loop.
        start = last if last > start else start + 1
    result = sorted(records.values(), key=lambda r: (r.time_ms, r.kind.value, r.tran_id))
    return [r for r in result if wanted is None or r.kind in wanted]


async def fetch_funding_interval(venue: BinanceVenue) -> int:
    """The perp's own funding interval in ms.

    Binance lists contracts whose interval differs from 8 h in ``/fapi/v1/fundingInfo``; otherwise the
    interval is read from the last two settlements of ``/fapi/v1/fundingRate``; 8 h when neither says
    (the interval only annualizes figures for the screen: nothing is traded on it).
    """
    market_id = venue.rules(MarketKind.PERP).market_id
    sources: tuple[tuple[Request, Callable[[Any], int | None]], ...] = (
        (
            lambda: venue.exchange.fapiPublicGetFundingInfo(),
            lambda raw: parsing.parse_funding_interval(raw if isinstance(raw, list) else [], market_id),
        ),
        (
            lambda: venue.exchange.fapiPublicGetFundingRate({"symbol": market_id, "limit": 3}),
            lambda raw: parsing.interval_from_history(raw if isinstance(raw, list) else []),
        ),
    )
    for request, parse in sources:
        try:
            interval = await venue._call(READ, request, parse)
        except VenueError as exc:
            log.debug("funding interval not read: %s", scrub(str(exc), venue._secrets))
            continue
        if interval is not None:
            return interval
    return DEFAULT_FUNDING_INTERVAL_MS


async def fetch_funding_rates(venue: BinanceVenue, since_ms: int, limit: int = 1000) -> list[FundingRateRow]:
    """The perp's funding settlements from ``since_ms``, oldest first: the rate each applied and the mark
    then (Binance's ``/fapi/v1/fundingRate`` through ccxt's implicit method, which keeps ``markPrice``)."""
    market_id = venue.rules(MarketKind.PERP).market_id
    params = {"symbol": market_id, "startTime": since_ms, "limit": limit}
    return await venue._call(
        READ,
        lambda: venue.exchange.fapiPublicGetFundingRate(params),
        lambda raw: parsing.parse_funding_rates(raw if isinstance(raw, list) else []),
    )


async def fetch_spot_klines(venue: BinanceVenue, since_ms: int, limit: int = 1000) -> list[SpotKline]:
    """The spot market's one-minute klines from ``since_ms``, oldest first (``/api/v3/klines``)."""
    market_id = venue.rules(MarketKind.SPOT).market_id
    params = {"symbol": market_id, "interval": "1m", "startTime": since_ms, "limit": limit}
    return await venue._call(
        READ,
        lambda: venue.exchange.publicGetKlines(params),
        lambda raw: parsing.parse_klines(raw if isinstance(raw, list) else []),
    )
