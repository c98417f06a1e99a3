"""A fresh, consistent view of everything a pipeline decides on: streamed where the stream vouches for it,
the rest read over REST in one concurrent round trip (none at all when everything is streamed)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from hedgetui.domain.account import Balance, FundingInfo, FuturesBalance, PerpPosition
from hedgetui.domain.book import OrderBook
from hedgetui.domain.risk import ActionKind, RiskInputs, TradingState
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.clock import Clock
from hedgetui.engine.hedge import ExchangeLegs, legs_from
from hedgetui.engine.ports import MarketFeed, VenuePort
from hedgetui.engine.reads import ACCOUNT_SETTLE_S, gather_missing

BPS = Decimal(10_000)
#: The depth a pipeline first reads the books at over REST: enough for any size the visible depth check
#: passes at, and far cheaper to serve and parse than 100 levels. A decision the shallow books refuse for
#: depth is taken again on full books (:func:`deepen`), so a refusal never comes from a truncated read.
SHALLOW_DEPTH = 20


@dataclass(frozen=True)
class MarketSnapshot:
    """Books, balances, position and funding read together; ``taken_at`` (monotonic seconds) is when the
    reads were sent, so the data's age at a decision includes however long the exchange took to answer."""

    spot_book: OrderBook
    perp_book: OrderBook
    spot_balances: dict[str, Balance]
    futures: FuturesBalance
    position: PerpPosition
    funding: FundingInfo
    taken_at: float
    #: The level limit the books were read with over REST when shallower than the pipeline's depth (None:
    #: full depth, or streamed books): a depth refusal on them is checked again on full books.
    shallow: int | None = None

    @property
    def basis_bps(self) -> Decimal | None:
        s, p = self.spot_book.mid, self.perp_book.mid
        if s is None or p is None or s <= 0:
            return None
        return (p - s) / s * BPS

    @property
    def mark(self) -> Decimal:
        if self.funding.mark_price > 0:
            return self.funding.mark_price
        return self.perp_book.mid or Decimal(0)

    def free(self, asset: str) -> Decimal:
        bal = self.spot_balances.get(asset)
        return bal.free if bal is not None else Decimal(0)

    def legs(self, base: str, reserve: Decimal, read_ms: int) -> ExchangeLegs:
        """Both hedge legs as this snapshot read them from the exchange."""
        return legs_from(base, reserve, self.spot_balances, self.position, self.funding, read_ms)

    def liquidation_distance_pct(self) -> Decimal | None:
        liq = self.position.liquidation_price
        if not liq or self.mark <= 0 or self.position.amount == 0:
            return None
        return abs(liq - self.mark) / self.mark * 100

    def risk_inputs(
        self,
        action: ActionKind,
        order_notional: Decimal,
        *,
        trading_state: TradingState,
        breaker_open: bool,
        breaker_reopens_in_s: float | None,
        reconciled: bool,
        quote_asset: str,
        base_asset: str,
        spot_base_needed: Decimal,
        now: float,
    ) -> RiskInputs:
        position_notional = abs(self.position.amount) * self.mark
        # Leverage after the order: futures notional over the margin balance.
        margin = self.futures.margin_balance
        leverage = (position_notional + order_notional) / margin if margin > 0 else None
        return RiskInputs(
            action=action,
            order_notional_usd=order_notional,
            position_notional_usd=position_notional,
            spot_quote_free=self.free(quote_asset),
            spot_base_free=self.free(base_asset),
            spot_base_needed=spot_base_needed,
            futures_available=self.futures.available,
            leverage=leverage,
            # Unknown exchange leverage (Binance's v3 positionRisk omits it) counts as 1x: the most margin.
            margin_leverage=Decimal(self.position.leverage or 1),
            liquidation_distance_pct=self.liquidation_distance_pct(),
            funding_rate=self.funding.rate,
            basis_bps=self.basis_bps,
            data_age_s=max(0.0, now - self.taken_at),
            breaker_open=breaker_open,
            breaker_reopens_in_s=breaker_reopens_in_s,
            trading_state=trading_state,
            reconciled=reconciled,
        )


async def read_snapshot(
    venue: VenuePort,
    clock: Clock,
    depth: int = 100,
    market: MarketFeed | None = None,
    *,
    shallow_first: bool = False,
) -> MarketSnapshot:
    """Books, balances, position and funding: from the streams while they are fresh (the market feed's
    books and funding, the account stream), the rest read concurrently over REST (one round trip). With
    ``shallow_first`` (a pipeline, which re-reads on a depth refusal) books read over REST are read
    :data:`SHALLOW_DEPTH` levels deep first (see :func:`deepen`)."""
    sent_at = clock.monotonic()
    view = await venue.account_view(ACCOUNT_SETTLE_S, full=True)
    spot_book, perp_book, funding = (
        (market.fresh_book(MarketKind.SPOT), market.fresh_book(MarketKind.PERP), market.fresh_funding())
        if market is not None
        else (None, None, None)
    )
    first = min(depth, SHALLOW_DEPTH) if shallow_first else depth
    shallow = first if first < depth and (spot_book is None or perp_book is None) else None
    values: list[Any] = await gather_missing(
        (spot_book, lambda: venue.fetch_order_book(MarketKind.SPOT, first)),
        (perp_book, lambda: venue.fetch_order_book(MarketKind.PERP, first)),
        (view.spot_balances if view else None, venue.fetch_spot_balances),
        (view.futures if view else None, venue.fetch_futures_balance),
        (view.position if view else None, venue.fetch_perp_position),
        (funding, venue.fetch_funding),
    )
    spot_book, perp_book, balances, futures, position, funding = values
    return MarketSnapshot(spot_book, perp_book, balances, futures, position, funding, sent_at, shallow)


#: How long the reading a reconciliation made stays the next pipeline's decision data (seconds), when no
#: stream answers without a round trip: a cold headless command reconciles right before its pipeline, and
#: reading the same account again one round trip later would only repeat it (the decision's data age
#: counts from when the reconciliation sent its reads, so the risk check judges the reading's true age).
HANDOFF_S = 1.0


async def read_legs_snapshot(
    venue: VenuePort, clock: Clock, depth: int
) -> tuple[tuple[dict[str, Balance], PerpPosition, FundingInfo], MarketSnapshot | None]:
    """What a reconciliation reads: the spot balances, the perp position and the funding (the legs; a failure
    of any raises), and beside them, in the same round trip, both books (:data:`SHALLOW_DEPTH` levels) and
    the futures wallet, best effort: with them the reading is a whole :class:`MarketSnapshot` that a
    pipeline started within :data:`HANDOFF_S` decides on; without them (one failed) it is None."""
    sent_at = clock.monotonic()
    first = min(depth, SHALLOW_DEPTH)
    legs, extras = await asyncio.gather(
        asyncio.gather(venue.fetch_spot_balances(), venue.fetch_perp_position(), venue.fetch_funding()),
        asyncio.gather(
            venue.fetch_order_book(MarketKind.SPOT, first),
            venue.fetch_order_book(MarketKind.PERP, first),
            venue.fetch_futures_balance(),
            return_exceptions=True,
        ),
    )
    balances, position, funding = legs
    spot_book, perp_book, futures = extras
    if not (isinstance(spot_book, OrderBook) and isinstance(perp_book, OrderBook)):
        return (balances, position, funding), None
    if not isinstance(futures, FuturesBalance):
        return (balances, position, funding), None
    shallow = first if first < depth else None
    return (balances, position, funding), MarketSnapshot(
        spot_book, perp_book, balances, futures, position, funding, sent_at, shallow
    )


async def deepen(snap: MarketSnapshot, venue: VenuePort, depth: int) -> MarketSnapshot | None:
    """The same snapshot with both books read again ``depth`` levels deep, when they were read shallow and
    a shallow book may have cut the depth short (its side held every level asked for); else None.

    A shallow book that holds the whole quantity times the liquidity multiple gives the exact slippage of
    that quantity (the walk never reaches past it) and passes the same depth check a deeper book would;
    only a depth refusal can differ, and that is what this re-read settles.
    """
    limit = snap.shallow
    if limit is None or not any(
        len(side) >= limit for b in (snap.spot_book, snap.perp_book) for side in (b.bids, b.asks)
    ):
        return None
    spot_book, perp_book = await asyncio.gather(
        venue.fetch_order_book(MarketKind.SPOT, depth), venue.fetch_order_book(MarketKind.PERP, depth)
    )
    return replace(snap, spot_book=spot_book, perp_book=perp_book, shallow=None)
