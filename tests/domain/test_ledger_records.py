"""The ledger's pure rules for records hedgetui did not make: where external fills fall among the journal's,
what the insurance fund took off a liquidation's loss, and which settlement and spot minute a funding
point belongs to."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from hedgetui.domain.ledger import LedgerFill, booked_gap, merge_fills, settlement_at, spot_price_at
from hedgetui.domain.orders import Side
from hedgetui.domain.pnl import FundingRateRow, SpotKline
from hedgetui.domain.venue import MarketKind


def fill(
    trade_id: str, t: int, side: Side = Side.SELL, qty: str = "1", price: str = "100", *, ext: bool = False
) -> LedgerFill:
    return LedgerFill(MarketKind.PERP, trade_id, side, D(qty), D(price), None, None, t, external=ext)


@given(
    journal=st.lists(st.integers(0, 100), max_size=8).map(sorted),
    external=st.lists(st.integers(0, 100), max_size=4),
)
def test_merge_keeps_the_journal_order_and_places_each_external_fill_by_time(
    journal: list[int], external: list[int]
) -> None:
    own = [fill(f"j{i}", t) for i, t in enumerate(journal)]
    ext = [fill(f"x{i}", t, ext=True) for i, t in enumerate(external)]
    merged = merge_fills(own, ext)
    assert [f for f in merged if not f.external] == own
    assert sorted(f.trade_id for f in merged if f.external) == sorted(f.trade_id for f in ext)
    assert [f.time_ms for f in merged] == sorted(f.time_ms for f in merged)


def test_booked_gap_is_what_the_insurance_fund_took_and_zero_for_our_own_fills() -> None:
    entry = [fill("1", 1, Side.SELL, "0.5", "100"), fill("2", 2, Side.SELL, "0.5", "110")]  # short 1 @ 105
    liquidation = fill("3", 3, Side.BUY, "1", "140", ext=True)  # implied loss 35
    assert booked_gap([*entry, liquidation], {"3": D("-35")}) == 0
    assert booked_gap([*entry, liquidation], {"3": D("-20")}) == D("15")  # the wallet only lost 20
    own_close = fill("3", 3, Side.BUY, "1", "140")
    assert booked_gap([*entry, own_close], {"3": D("-20")}) == 0
    assert booked_gap([*entry, liquidation], {}) == 0


def test_a_funding_point_meets_its_settlement_and_the_spot_minute_then() -> None:
    rates = [FundingRateRow(8_000, D("0.0001"), D("101")), FundingRateRow(12_000, D("-0.0002"), None)]
    assert settlement_at(8_050, rates, 4_000) == rates[0]
    assert settlement_at(11_990, rates, 4_000) == rates[1]
    assert settlement_at(20_000, rates, 4_000) is None  # no settlement within half an interval
    minutes = [SpotKline(0, D("100"), D("100.5")), SpotKline(60_000, D("100.5"), D("99"))]
    assert spot_price_at(8_000, minutes) == D("100")  # first half: the minute's open
    assert spot_price_at(45_000, minutes) == D("100.5")  # second half: its close
    assert spot_price_at(130_000, minutes) is None
