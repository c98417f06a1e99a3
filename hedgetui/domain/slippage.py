"""Slippage estimates: walk a book for a base quantity and say what the fill would cost.

Entry buys spot on the asks and sells the perp on the bids; exit does the reverse. Slippage is measured
against the book's mid and signed so that a positive number is always a cost to us.
"""

from __future__ import annotations

import enum
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from hedgetui.domain.book import OrderBook
from hedgetui.domain.venue import MarketKind

BPS = Decimal(10_000)


class TakerSide(enum.StrEnum):
    """Which side of the book a market order takes: BUY walks the asks, SELL walks the bids."""

    BUY = "buy"
    SELL = "sell"


class SlippageVerdict(enum.StrEnum):
    OK = "OK"
    SLIPPAGE_LIMIT = "SLIPPAGE_LIMIT"
    INSUFFICIENT_DEPTH = "INSUFFICIENT_DEPTH"
    NO_BOOK = "NO_BOOK"


class SlippageEstimate(BaseModel):
    """The result of walking one book for ``quantity``.

    ``vwap`` is the average price of what the visible book can fill (None if nothing); ``slippage_bps`` is
    the cost against mid in bps (positive = worse than mid); ``depth_multiple`` is the visible depth on
    that side divided by the quantity.
    """

    model_config = ConfigDict(frozen=True)

    kind: MarketKind
    side: TakerSide
    quantity: Decimal
    fillable: Decimal
    vwap: Decimal | None
    mid: Decimal | None
    worst_price: Decimal | None
    slippage_bps: Decimal | None
    depth_available: Decimal
    depth_multiple: Decimal | None
    levels_used: int
    verdict: SlippageVerdict
    reason: str

    @property
    def ok(self) -> bool:
        return self.verdict is SlippageVerdict.OK

    @property
    def notional(self) -> Decimal | None:
        """Quote value of the fill at the estimated VWAP."""
        return None if self.vwap is None else self.vwap * self.fillable


def estimate_slippage(
    book: OrderBook | None,
    side: TakerSide,
    quantity: Decimal,
    *,
    max_bps: Decimal,
    liquidity_multiple: Decimal,
) -> SlippageEstimate:
    """Walk ``book`` for ``quantity`` (base units) and judge the result against the limits.

    Verdicts, in order of precedence: NO_BOOK (no book, one-sided, or quantity not positive),
    INSUFFICIENT_DEPTH (the visible side cannot fill it, or holds less than ``liquidity_multiple`` times
    it), SLIPPAGE_LIMIT (cost above ``max_bps``), else OK.
    """
    kind = book.market if book is not None else MarketKind.SPOT
    levels = (book.asks if side is TakerSide.BUY else book.bids) if book is not None else ()
    mid = book.mid if book is not None else None

    def result(verdict: SlippageVerdict, reason: str, **fields: object) -> SlippageEstimate:
        base: dict[str, object] = {
            "kind": kind,
            "side": side,
            "quantity": quantity,
            "fillable": Decimal(0),
            "vwap": None,
            "mid": mid,
            "worst_price": None,
            "slippage_bps": None,
            "depth_available": sum((q for _, q in levels), Decimal(0)),
            "depth_multiple": None,
            "levels_used": 0,
            "verdict": verdict,
            "reason": reason,
        }
        base.update(fields)
        return SlippageEstimate.model_validate(base)

    if book is None or mid is None or mid <= 0:
        return result(SlippageVerdict.NO_BOOK, "no two-sided book")
    if quantity <= 0:
        return result(SlippageVerdict.NO_BOOK, f"quantity must be positive (got {quantity})")

    remaining = quantity
    cost = Decimal(0)
    used = 0
    worst: Decimal | None = None
    for price, qty in levels:
        if remaining <= 0:
            break
        take = min(remaining, qty)
        cost += take * price
        remaining -= take
        used += 1
        worst = price
    fillable = quantity - remaining
    available = sum((q for _, q in levels), Decimal(0))
    multiple = available / quantity
    vwap = cost / fillable if fillable > 0 else None
    bps: Decimal | None = None
    if vwap is not None:
        raw = (vwap - mid) / mid * BPS
        bps = raw if side is TakerSide.BUY else -raw
    fields = {
        "fillable": fillable,
        "vwap": vwap,
        "worst_price": worst,
        "slippage_bps": bps,
        "depth_available": available,
        "depth_multiple": multiple,
        "levels_used": used,
    }
    if remaining > 0:
        return result(
            SlippageVerdict.INSUFFICIENT_DEPTH,
            f"visible {side.value} depth {available} is less than the quantity {quantity}",
            **fields,
        )
    if multiple < liquidity_multiple:
        return result(
            SlippageVerdict.INSUFFICIENT_DEPTH,
            f"visible depth is {multiple:.2f}× the quantity; at least {liquidity_multiple}× required",
            **fields,
        )
    assert bps is not None
    if bps > max_bps:
        return result(
            SlippageVerdict.SLIPPAGE_LIMIT,
            f"estimated slippage {bps:.2f} bps exceeds the limit of {max_bps} bps",
            **fields,
        )
    return result(SlippageVerdict.OK, f"estimated slippage {bps:.2f} bps within {max_bps} bps", **fields)
