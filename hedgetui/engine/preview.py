"""What an action would do now, computed one way for the dashboard, the confirmations and the pipelines.

:func:`estimate_hedge` is pure: the quantity a size buys on both markets and the slippage and depth of both
legs for entry and exit. The dashboard feeds it the streamed books; the engine's :class:`Preview` feeds it
the books of a fresh snapshot and adds the risk check and the engine's own refusal. Because the figures on
screen, in the confirmation and in the pipeline's checks come from the same function on the same inputs,
what is shown and what is checked cannot differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hedgetui.domain.book import OrderBook
from hedgetui.domain.markets import MarketRules
from hedgetui.domain.quantity import hedge_quantity
from hedgetui.domain.risk import RiskAssessment
from hedgetui.domain.slippage import SlippageEstimate, TakerSide, estimate_slippage

#: The refusal of an entry while the legs are already apart beyond tolerance (correct first).
DRIFT_PENDING = "DRIFT_PENDING"


@dataclass(frozen=True)
class LegEstimates:
    """Both legs of one direction: the spot order and the perp order."""

    spot: SlippageEstimate
    perp: SlippageEstimate

    def blocking(self) -> SlippageEstimate | None:
        """The first leg whose estimate refuses the trade (depth, slippage, no book)."""
        for est in (self.spot, self.perp):
            if not est.ok:
                return est
        return None


@dataclass(frozen=True)
class HedgeEstimate:
    """The quantity for a size, and the slippage of entering and exiting it on both legs."""

    size_usd: Decimal
    quantity: Decimal | None
    quantity_reason: str | None
    quantity_message: str
    entry: LegEstimates | None
    exit: LegEstimates | None


def estimate_legs(
    spot_book: OrderBook | None,
    perp_book: OrderBook | None,
    spot_qty: Decimal,
    perp_qty: Decimal,
    *,
    entry: bool,
    max_bps: Decimal,
    liquidity_multiple: Decimal,
) -> LegEstimates:
    """Slippage of one direction: entry buys spot and sells perp, exit the reverse."""
    spot_side, perp_side = (TakerSide.BUY, TakerSide.SELL) if entry else (TakerSide.SELL, TakerSide.BUY)
    return LegEstimates(
        spot=estimate_slippage(spot_book, spot_side, spot_qty, max_bps=max_bps, liquidity_multiple=liquidity_multiple),
        perp=estimate_slippage(perp_book, perp_side, perp_qty, max_bps=max_bps, liquidity_multiple=liquidity_multiple),
    )


def estimate_hedge(
    size_usd: Decimal,
    spot_book: OrderBook | None,
    perp_book: OrderBook | None,
    spot_rules: MarketRules,
    perp_rules: MarketRules,
    *,
    max_bps: Decimal,
    liquidity_multiple: Decimal,
) -> HedgeEstimate:
    """The one quantity valid on both markets for ``size_usd``, and both legs' slippage at that quantity."""
    q = hedge_quantity(
        size_usd,
        spot_book.best_ask if spot_book is not None else None,
        perp_book.best_bid if perp_book is not None else None,
        spot_rules,
        perp_rules,
    )
    if q.quantity is None:
        return HedgeEstimate(size_usd, None, q.reason or "NO_QUANTITY", q.message, None, None)
    qty = q.quantity
    return HedgeEstimate(
        size_usd,
        qty,
        None,
        q.message,
        estimate_legs(
            spot_book, perp_book, qty, qty, entry=True, max_bps=max_bps, liquidity_multiple=liquidity_multiple
        ),
        estimate_legs(
            spot_book, perp_book, qty, qty, entry=False, max_bps=max_bps, liquidity_multiple=liquidity_multiple
        ),
    )


@dataclass(frozen=True)
class Preview:
    """What an entry of ``size_usd`` would do now: the estimate, the risk check and any refusal.

    ``denial``/``denial_code`` is the first reason the engine would refuse, in the order the pipeline
    checks: the engine's state, then risk, then the quantity, then slippage and depth.
    """

    estimate: HedgeEstimate
    risk: RiskAssessment
    denial: str | None
    denial_code: str | None

    @property
    def allowed(self) -> bool:
        return self.denial is None

    @property
    def size_usd(self) -> Decimal:
        return self.estimate.size_usd

    @property
    def quantity(self) -> Decimal | None:
        return self.estimate.quantity

    @property
    def spot(self) -> SlippageEstimate | None:
        return self.estimate.entry.spot if self.estimate.entry else None

    @property
    def perp(self) -> SlippageEstimate | None:
        return self.estimate.entry.perp if self.estimate.entry else None


def first_refusal(
    estimate: HedgeEstimate,
    risk: RiskAssessment,
    state_refusal: tuple[str, str] | None,
    drift_refusal: tuple[str, str] | None = None,
) -> tuple[str, str] | None:
    """(code, message) of the first check that refuses an entry, in the pipeline's order (guards, risk,
    drift already apart, slippage, quantity); None if allowed."""
    if state_refusal is not None:
        return state_refusal
    if not risk.allowed:
        return risk.blocking[0].code, risk.summary()
    if drift_refusal is not None:
        return drift_refusal
    if estimate.quantity is None:
        return estimate.quantity_reason or "NO_QUANTITY", estimate.quantity_message
    assert estimate.entry is not None
    blocked = estimate.entry.blocking()
    if blocked is not None:
        return blocked.verdict.value, f"{blocked.kind.value}: {blocked.reason}"
    return None
