"""Slippage estimates: walking the book, signs, depth and verdicts."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from hedgetui.domain.book import OrderBook
from hedgetui.domain.slippage import SlippageVerdict, TakerSide, estimate_slippage
from hedgetui.domain.venue import MarketKind

BOOK = OrderBook(
    symbol="BTC/USDT",
    market=MarketKind.SPOT,
    bids=((D("99.9"), D("1")), (D("99.8"), D("2")), (D("99.0"), D("10"))),
    asks=((D("100.1"), D("1")), (D("100.2"), D("2")), (D("101.0"), D("10"))),
)
LIMITS = {"max_bps": D("50"), "liquidity_multiple": D("1")}


def test_buy_walks_asks_level_by_level() -> None:
    est = estimate_slippage(BOOK, TakerSide.BUY, D("2"), **LIMITS)
    assert est.vwap == (D("100.1") + D("100.2")) / 2
    assert est.levels_used == 2 and est.worst_price == D("100.2")
    # mid 100.0: vwap 100.15 costs 15 bps
    assert est.slippage_bps == D("15")
    assert est.verdict is SlippageVerdict.OK
    assert est.depth_multiple == D("6.5")


def test_sell_walks_bids_and_cost_is_positive() -> None:
    est = estimate_slippage(BOOK, TakerSide.SELL, D("3"), **LIMITS)
    assert est.vwap == (D("99.9") + 2 * D("99.8")) / 3
    assert est.slippage_bps is not None and est.slippage_bps > 0


def test_limit_and_depth_verdicts() -> None:
    assert (
        estimate_slippage(BOOK, TakerSide.BUY, D("5"), max_bps=D("20"), liquidity_multiple=D("1")).verdict
        is SlippageVerdict.SLIPPAGE_LIMIT
    )
    assert estimate_slippage(BOOK, TakerSide.BUY, D("20"), **LIMITS).verdict is SlippageVerdict.INSUFFICIENT_DEPTH
    thin = estimate_slippage(BOOK, TakerSide.BUY, D("2"), max_bps=D("50"), liquidity_multiple=D("10"))
    assert thin.verdict is SlippageVerdict.INSUFFICIENT_DEPTH and "6.50×" in thin.reason
    assert estimate_slippage(None, TakerSide.BUY, D("1"), **LIMITS).verdict is SlippageVerdict.NO_BOOK
    assert estimate_slippage(BOOK, TakerSide.BUY, D("0"), **LIMITS).verdict is SlippageVerdict.NO_BOOK


@given(st.decimals(min_value=D("0.001"), max_value=D("13"), places=3), st.sampled_from(list(TakerSide)))
def test_vwap_lies_between_best_and_worst_price(qty: D, side: TakerSide) -> None:
    est = estimate_slippage(BOOK, side, qty, max_bps=D("10000"), liquidity_multiple=D("0"))
    assert est.vwap is not None and est.worst_price is not None
    best = BOOK.asks[0][0] if side is TakerSide.BUY else BOOK.bids[0][0]
    assert min(best, est.worst_price) <= est.vwap <= max(best, est.worst_price)
    assert est.slippage_bps is not None and est.slippage_bps > 0
    assert est.fillable == qty
