"""What recovery proposes when the legs on the exchange do not match: orders, why, and what they cost.

Recovery never trades on its own (safety rule 6). When reconciliation, or a halted pipeline, leaves the
legs apart, the engine builds a :class:`Proposal` from the exchange's figures and stops; the operator
accepts one option (``hedgetui reconcile --yes``, ``hedgetui correct --yes``, or the dashboard's
confirmation) and the correction pipeline sends it after re-reading the legs. For a half-done entry both
ways are offered: unwinding the leg that filled and completing the one that did not.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal

from hedgetui.domain.account import FuturesBalance
from hedgetui.domain.book import OrderBook
from hedgetui.domain.drift import DriftCorrection, HedgeDrift
from hedgetui.domain.orders import Side
from hedgetui.domain.risk import funds_shortfall
from hedgetui.domain.slippage import TakerSide, estimate_slippage
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.hedge import ExchangeLegs
from hedgetui.engine.ports import VenuePort
from hedgetui.exchange.errors import VenueError


@dataclass(frozen=True)
class ProposalOption:
    """One way to close the gap: the order, what it does to the hedge, and its estimated cost (the book's
    price impact plus the taker fee the venue advertises)."""

    correction: DriftCorrection
    label: str
    cost_usd: Decimal | None
    slippage_bps: Decimal | None
    fee_usd: Decimal | None = None
    #: Why the wallet it draws on cannot pay for it now (an option that adds exposure: a spot buy, a perp
    #: order that grows the short), from the wallets read with the proposal; the pipeline checks again.
    unfunded: str | None = None

    def describe(self) -> str:
        c = self.correction
        if self.cost_usd is None:
            cost = "cost unknown"
        elif self.fee_usd is None:
            cost = f"≈{self.cost_usd:,.2f} USD slippage, fee unknown"
        else:
            cost = f"≈{self.cost_usd + self.fee_usd:,.2f} USD: {self.cost_usd:,.2f} slippage + {self.fee_usd:,.2f} fee"
        return (
            f"{self.label}: {c.kind.value} {c.side.value} {c.quantity}"
            + (" reduce-only" if c.reduce_only else "")
            + f" ({cost})"
            + (f" — NOT FUNDED: {self.unfunded}" if self.unfunded else "")
        )


@dataclass(frozen=True)
class Proposal:
    """The exchange's legs, their drift, and the orders that would bring them together (first: preferred)."""

    legs: ExchangeLegs
    drift: HedgeDrift
    options: tuple[ProposalOption, ...]
    reason: str

    def describe(self) -> str:
        head = f"{self.reason}. {self.legs.describe()}; {self.drift.describe()}"
        if not self.options:
            return head + ". No order can close it: the operator must act on the exchange."
        lines = [f"  [{i + 1}] {o.describe()}" for i, o in enumerate(self.options)]
        return head + ". Proposed (nothing is sent until accepted):\n" + "\n".join(lines)

    def summary(self) -> str:
        first = self.options[0].describe() if self.options else "no orderable correction"
        return f"{self.reason}: {self.legs.describe()}; proposed {first}"


def label(c: DriftCorrection, legs: ExchangeLegs, step: Decimal) -> str:
    """Name an option by what it does to the hedge: unwind (close a leg, leaving less than one ``step`` of
    its market), complete (build the missing leg, more than doubling it), or trim / add."""
    spot, perp = max(legs.spot_qty, Decimal(0)), abs(legs.perp_qty)
    if c.kind is MarketKind.SPOT:
        if c.side is Side.SELL:
            return "unwind spot" if spot - c.quantity < step else "trim spot"
        return "complete spot" if c.quantity > spot else "add spot"
    if c.side is Side.BUY:
        return "unwind perp" if perp - c.quantity < step else "trim perp"
    return "complete perp" if c.quantity > perp else "add perp short"


@dataclass(frozen=True)
class Wallets:
    """What the options that add exposure would draw on, as read with the proposal (None: unreadable)."""

    spot_quote_free: Decimal | None
    futures_available: Decimal | None

    def shortfall(self, c: DriftCorrection, mark: Decimal) -> str | None:
        """Why ``c`` cannot be paid for now (None when it can, or when it reduces exposure)."""
        if c.reduces:
            return None
        short = funds_shortfall(
            c.kind,
            c.quantity * mark,
            spot_quote_free=self.spot_quote_free,
            futures_available=self.futures_available,
        )
        if short is None:
            return None
        where = "spot" if c.kind is MarketKind.SPOT else "futures"
        return f"{short.code} {short.message} (move USDT to {where} first: hedgetui transfer, or m)"


def option(
    c: DriftCorrection,
    legs: ExchangeLegs,
    book: OrderBook | None,
    step: Decimal,
    fee_rate: Decimal,
    wallets: Wallets | None = None,
) -> ProposalOption:
    side = TakerSide.BUY if c.side is Side.BUY else TakerSide.SELL
    est = estimate_slippage(book, side, c.quantity, max_bps=Decimal(10_000), liquidity_multiple=Decimal(1))
    cost = fee = None
    if est.vwap is not None and est.mid is not None:
        cost = abs(est.vwap - est.mid) * c.quantity
        fee = est.vwap * c.quantity * fee_rate
    unfunded = wallets.shortfall(c, legs.mark) if wallets is not None else None
    return ProposalOption(c, label(c, legs, step), cost, est.slippage_bps, fee, unfunded)


async def build_proposal(
    venue: VenuePort, legs: ExchangeLegs, drift: HedgeDrift, reason: str, fee_rates: tuple[Decimal, Decimal]
) -> Proposal:
    """A proposal for ``drift``, each option with its price impact from the current books and its fee at
    ``fee_rates`` (spot, perp taker rates), and an option that adds exposure with whether its wallet can pay
    for it (after a liquidation the futures wallet is often empty). Books and wallets are read together,
    each best effort: what could not be read leaves "cost unknown" or an unknown wallet."""
    spot_book, perp_book, balances, futures = await asyncio.gather(
        venue.fetch_order_book(MarketKind.SPOT, 100),
        venue.fetch_order_book(MarketKind.PERP, 100),
        venue.fetch_spot_balances(),
        venue.fetch_futures_balance(),
        return_exceptions=True,
    )
    for read in (spot_book, perp_book, balances, futures):
        if isinstance(read, BaseException) and not isinstance(read, VenueError):
            raise read  # a bug or a cancellation, not an unreadable exchange
    books = {
        MarketKind.SPOT: spot_book if isinstance(spot_book, OrderBook) else None,
        MarketKind.PERP: perp_book if isinstance(perp_book, OrderBook) else None,
    }
    quote_free: Decimal | None = None
    if isinstance(balances, dict):
        held = balances.get(venue.rules(MarketKind.SPOT).quote)
        quote_free = held.free if held is not None else Decimal(0)
    wallets = Wallets(quote_free, futures.available if isinstance(futures, FuturesBalance) else None)
    options = tuple(
        option(
            c,
            legs,
            books[c.kind],
            venue.rules(c.kind).step,
            fee_rates[0] if c.kind is MarketKind.SPOT else fee_rates[1],
            wallets,
        )
        for c in (drift.correction, drift.alternative)
        if c is not None
    )
    return Proposal(legs, drift, options, reason)
