"""Drift: bps against the hedge notional, which leg to trim, residuals below the minimums."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from hedgetui.domain.drift import assess_drift
from hedgetui.domain.markets import MarketRules
from hedgetui.domain.orders import Side
from hedgetui.domain.quantity import floor_to
from hedgetui.domain.venue import MarketKind

SPOT = MarketRules(
    symbol="BTC/USDT",
    market_id="BTCUSDT",
    kind=MarketKind.SPOT,
    base="BTC",
    quote="USDT",
    tick=D("0.01"),
    step=D("0.00001"),
    min_qty=D("0.00001"),
    min_notional=D("5"),
)
PERP = MarketRules(
    symbol="BTC/USDT:USDT",
    market_id="BTCUSDT",
    kind=MarketKind.PERP,
    base="BTC",
    quote="USDT",
    tick=D("0.1"),
    step=D("0.001"),
    min_qty=D("0.001"),
    min_notional=D("100"),
)


def drift(spot: str, perp: str, tol: str = "50"):
    return assess_drift(
        spot_qty=D(spot),
        perp_qty=D(perp),
        mark_price=D("60000"),
        tolerance_bps=D(tol),
        spot_rules=SPOT,
        perp_rules=PERP,
    )


def test_balanced_hedge_has_no_drift() -> None:
    d = drift("0.033", "-0.033")
    assert d.drift_bps == 0 and not d.needs_correction and d.correction is None


def test_spot_fee_in_base_is_small_drift_within_tolerance() -> None:
    # 0.033 bought, 0.1 % fee taken in BTC: 10 bps short, inside 50 bps.
    d = drift("0.032967", "-0.033")
    assert d.drift_bps == D("-10") and d.within_tolerance and not d.needs_correction


def test_net_short_is_trimmed_with_a_reduce_only_perp_buy() -> None:
    d = drift("0.030", "-0.033")
    assert d.needs_correction
    c = d.correction
    assert c is not None and (c.kind, c.side, c.quantity, c.reduce_only) == (
        MarketKind.PERP,
        Side.BUY,
        D("0.003"),
        True,
    )


def test_net_long_is_trimmed_by_selling_spot() -> None:
    d = drift("0.036", "-0.033")
    c = d.correction
    assert c is not None and (c.kind, c.side, c.quantity, c.reduce_only) == (
        MarketKind.SPOT,
        Side.SELL,
        D("0.003"),
        False,
    )


def test_difference_below_one_perp_step_is_an_uncorrectable_residual() -> None:
    d = drift("0.0325", "-0.033", tol="10")
    assert d.needs_correction and d.correction is None
    assert d.residual_reason is not None and "step" in d.residual_reason


def test_spot_dust_without_a_perp_is_flat_not_drift() -> None:
    d = drift("0.00006", "0", tol="10")
    assert not d.needs_correction and d.correction is None and d.flat
    assert "dust" in (d.residual_reason or "")


def test_spot_excess_below_min_notional_next_to_a_perp_is_residual() -> None:
    d = drift("0.03308", "-0.033", tol="1")
    assert d.needs_correction and d.correction is None and "minimum notional" in (d.residual_reason or "")


def test_naked_perp_is_covered_in_full() -> None:
    d = drift("0", "-0.010")
    assert d.drift_bps == D("-10000")
    assert d.correction is not None and d.correction.quantity == D("0.010")


@given(
    st.decimals(min_value=D("0"), max_value=D("5"), places=5),
    st.decimals(min_value=D("-5"), max_value=D("0"), places=3),
)
def test_a_correction_never_overshoots_and_never_grows_a_leg(spot: D, perp: D) -> None:
    d = drift(str(spot), str(perp))
    c = d.correction
    if c is None:
        return
    assert c.quantity <= abs(d.drift_qty)
    if c.kind is MarketKind.SPOT:
        assert c.side is Side.SELL and c.quantity <= spot and c.quantity % SPOT.step == 0
    else:
        assert c.side is Side.BUY and c.reduce_only and c.quantity <= -perp and c.quantity % PERP.step == 0


def test_floor_to_rounds_down() -> None:
    assert floor_to(D("0.0339"), D("0.001")) == D("0.033")
    assert floor_to(D("0.00099"), D("0.001")) == 0
