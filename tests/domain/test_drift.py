"""Drift: bps against the hedge notional, nearest-step corrections (trim, else grow), dust, residuals."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from hedgetui.domain.drift import DriftCorrection, HedgeDrift, assess_drift
from hedgetui.domain.markets import MarketRules
from hedgetui.domain.orders import Side
from hedgetui.domain.quantity import floor_to, orderable
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
    assert c is not None and (c.kind, c.side, c.quantity, c.reduce_only, c.reduces) == (
        MarketKind.PERP,
        Side.BUY,
        D("0.003"),
        True,
        True,
    )


def test_net_long_is_trimmed_by_selling_spot() -> None:
    d = drift("0.036", "-0.033")
    c = d.correction
    assert c is not None and (c.kind, c.side, c.quantity, c.reduce_only, c.reduces) == (
        MarketKind.SPOT,
        Side.SELL,
        D("0.003"),
        False,
        True,
    )


def test_half_a_perp_step_short_is_trimmed_to_the_nearest_step() -> None:
    # Was "an uncorrectable residual" when corrections rounded down: 0.0005 now rounds half up to one perp
    # step, which leaves no more than it removes (0.0005 long afterwards).
    d = drift("0.0325", "-0.033", tol="10")
    c = d.correction
    assert d.needs_correction and c is not None and c.reduces
    assert (c.kind, c.side, c.quantity, c.reduce_only) == (MarketKind.PERP, Side.BUY, D("0.001"), True)


def test_below_one_perp_step_that_spot_cannot_buy_is_dust() -> None:
    # 0.00004 short (12 bps > 10): the perp buy rounds to nothing and a 2.40 USD spot buy is below spot's
    # 5 USD minimum: nothing can trade it away, so it is dust rather than a reason to halt.
    d = drift("0.03296", "-0.033", tol="10")
    assert d.dust and not d.needs_correction and d.correction is None and d.alternative is None
    assert "dust" in (d.residual_reason or "") and "0.00004" in (d.residual_reason or "")


def test_spot_dust_without_a_perp_is_flat_not_drift() -> None:
    d = drift("0.00006", "0", tol="10")
    assert d.dust and not d.needs_correction and d.correction is None and d.flat
    assert "dust" in (d.residual_reason or "")


def test_spot_excess_below_min_notional_next_to_a_perp_is_residual() -> None:
    d = drift("0.03308", "-0.033", tol="1")
    assert d.needs_correction and d.correction is None and not d.dust
    assert "minimum notional" in (d.residual_reason or "")


def test_naked_perp_is_covered_in_full() -> None:
    d = drift("0", "-0.010")
    assert d.drift_bps == D("-10000")
    assert d.correction is not None and d.correction.quantity == D("0.010") and d.correction.reduces


def test_floor_to_rounds_down() -> None:
    assert floor_to(D("0.0339"), D("0.001")) == D("0.033")
    assert floor_to(D("0.00099"), D("0.001")) == 0


def order(c: DriftCorrection | None) -> tuple[MarketKind, Side, D, bool, bool] | None:
    return None if c is None else (c.kind, c.side, c.quantity, c.reduce_only, c.reduces)


def test_spot_crumb_against_a_whole_perp_closes_the_whole_perp() -> None:
    # Net short 0.032996: the nearest perp step is 0.033 (the whole position), not 0.032 leaving 0.001.
    d = drift("0.000004", "-0.033")
    assert d.needs_correction and not d.dust
    assert order(d.correction) == (MarketKind.PERP, Side.BUY, D("0.033"), True, True)
    assert order(d.alternative) == (MarketKind.SPOT, Side.BUY, D("0.033"), False, False)
    # Afterwards only the crumb remains, and it is fee dust.
    after = drift("0.000004", "0")
    assert after.dust and after.flat and not after.needs_correction


def test_one_step_short_is_a_one_step_reduce_only_buy() -> None:
    d = drift("0.032", "-0.033")
    assert order(d.correction) == (MarketKind.PERP, Side.BUY, D("0.001"), True, True)
    assert order(d.alternative) == (MarketKind.SPOT, Side.BUY, D("0.001"), False, False)


def test_half_done_entry_with_spot_only_offers_unwind_or_complete() -> None:
    d = drift("0.033", "0")
    assert d.needs_correction and d.drift_bps == D("10000")
    assert order(d.correction) == (MarketKind.SPOT, Side.SELL, D("0.033"), False, True)
    assert order(d.alternative) == (MarketKind.PERP, Side.SELL, D("0.033"), False, False)
    assert d.describe().endswith("; correct: spot sell 0.033; or: perp sell 0.033")


def test_half_done_entry_with_perp_only_offers_unwind_or_complete() -> None:
    d = drift("0", "-0.033")
    assert order(d.correction) == (MarketKind.PERP, Side.BUY, D("0.033"), True, True)
    assert order(d.alternative) == (MarketKind.SPOT, Side.BUY, D("0.033"), False, False)


def test_fee_dust_after_an_unwind_is_dust() -> None:
    d = drift("0.000033", "0", tol="1")
    assert d.dust and d.flat and not d.needs_correction and d.correction is None and d.alternative is None
    assert d.hedge_notional == 0 and d.drift_bps == 0
    assert "dust" in d.describe() and "0.000033" in d.describe()


def test_residual_below_one_step_on_both_markets_is_dust() -> None:
    d = drift("0.033004", "-0.033", tol="1")  # 1.2 bps, above 1 bps, but 0.000004 < 0.00001
    assert d.dust and not d.needs_correction and d.correction is None
    assert "dust" in (d.residual_reason or "") and "0.000004" in (d.residual_reason or "")
    assert "\n" not in d.describe() and "dust" in d.describe()


def test_short_below_half_a_perp_step_falls_back_to_buying_spot() -> None:
    d = drift("0.0326", "-0.033")  # net short 0.0004 (121 bps): a perp buy rounds to nothing
    assert d.needs_correction
    assert order(d.correction) == (MarketKind.SPOT, Side.BUY, D("0.0004"), False, False)
    assert d.alternative is None


def test_long_that_spot_cannot_sell_falls_back_to_selling_perp() -> None:
    # 0.002 long, but spot's minimum quantity is 0.01: grow the perp short instead (0.002 × 60000 ≥ 100).
    spot = SPOT.model_copy(update={"min_qty": D("0.01")})
    d = assess_drift(
        spot_qty=D("0.035"),
        perp_qty=D("-0.033"),
        mark_price=D("60000"),
        tolerance_bps=D("50"),
        spot_rules=spot,
        perp_rules=PERP,
    )
    assert order(d.correction) == (MarketKind.PERP, Side.SELL, D("0.002"), False, False)
    assert d.alternative is None


def test_uncorrectable_drift_of_a_step_or_more_names_the_blocking_minimum() -> None:
    # 0.001 long: selling 0.001 spot is below an (unusual) spot minimum quantity of 0.01, and selling 0.001
    # perp is 60 USD, below the perp's 100 USD minimum notional.
    spot = SPOT.model_copy(update={"min_qty": D("0.01")})
    d = assess_drift(
        spot_qty=D("0.034"),
        perp_qty=D("-0.033"),
        mark_price=D("60000"),
        tolerance_bps=D("50"),
        spot_rules=spot,
        perp_rules=PERP,
    )
    assert d.needs_correction and d.correction is None and not d.dust
    reason = d.residual_reason or ""
    assert "minimum quantity" in reason and "minimum notional" in reason
    assert "residual:" in d.describe()


SPOT_LOTS = st.integers(min_value=0, max_value=500_000).map(lambda n: n * SPOT.step)
PERP_LOTS = st.integers(min_value=0, max_value=5_000).map(lambda n: n * PERP.step)
FEE_RATES = st.sampled_from([D(0), D("0.001"), D("0.00075"), D("0.0001")])


@st.composite
def legs(draw: st.DrawFn) -> tuple[D, D]:
    """A spot holding (a multiple of its step, minus a fee-like remainder) and a short perp position."""
    perp = -draw(PERP_LOTS)
    if draw(st.booleans()):
        # Near the hedge: the perp size give or take a few steps of either market.
        spot = max(D(0), -perp + draw(st.integers(-40, 40)) * SPOT.step + draw(st.integers(-3, 3)) * PERP.step)
    else:
        spot = draw(SPOT_LOTS)
    spot -= (spot * draw(FEE_RATES)).quantize(D("0.00000001"))
    return spot, perp


def residual_after(d: HedgeDrift, c: DriftCorrection) -> D:
    return d.drift_qty + (c.quantity if c.side is Side.BUY else -c.quantity)


def check_correction(d: HedgeDrift, c: DriftCorrection, spot: D, perp: D, price: D) -> None:
    rules = SPOT if c.kind is MarketKind.SPOT else PERP
    assert c.quantity > 0 and c.quantity % rules.step == 0
    assert orderable(c.quantity, rules, price, reduce_only=c.reduce_only) is None
    after = residual_after(d, c)
    assert abs(after) <= c.quantity and abs(after) <= abs(d.drift_qty)
    # Nearest step: at most half a step left, unless capped at the whole leg being trimmed.
    capped = c.reduces and c.quantity == floor_to(spot if c.kind is MarketKind.SPOT else -perp, rules.step)
    assert abs(after) <= rules.step / 2 or capped
    if c.reduces:
        if c.kind is MarketKind.SPOT:
            assert c.side is Side.SELL and not c.reduce_only and c.quantity <= spot
        else:
            assert c.side is Side.BUY and c.reduce_only and c.quantity <= -perp
    else:
        assert not c.reduce_only
        assert c.side is (Side.BUY if c.kind is MarketKind.SPOT else Side.SELL)


@settings(max_examples=300, deadline=None)
@given(legs(), st.sampled_from([D("60000"), D("20000"), D("3000")]), st.sampled_from([D("10"), D("50")]))
def test_corrections_are_orderable_steps_that_never_overshoot(pair: tuple[D, D], price: D, tol: D) -> None:
    spot, perp = pair
    d = assess_drift(
        spot_qty=spot, perp_qty=perp, mark_price=price, tolerance_bps=tol, spot_rules=SPOT, perp_rules=PERP
    )
    assert "\n" not in d.describe()
    if d.correction is not None:
        assert d.needs_correction and not d.dust
        check_correction(d, d.correction, spot, perp, price)
        if not d.correction.reduces:
            assert d.alternative is None  # growing is only the fallback
    if d.alternative is not None:
        assert d.correction is not None and d.correction.reduces and not d.alternative.reduces
        check_correction(d, d.alternative, spot, perp, price)
    if d.needs_correction and d.correction is None:
        assert not d.dust and d.residual_reason
    if d.dust:
        assert not d.needs_correction and d.correction is None and "dust" in (d.residual_reason or "")
    if not d.within_tolerance and not d.dust:
        assert d.needs_correction


@settings(max_examples=200, deadline=None)
@given(legs())
def test_applying_the_correction_never_widens_the_drift(pair: tuple[D, D]) -> None:
    spot, perp = pair
    d = drift(str(spot), str(perp))
    c = d.correction
    if c is None:
        return
    if c.kind is MarketKind.SPOT:
        spot += c.quantity if c.side is Side.BUY else -c.quantity
    else:
        perp += c.quantity if c.side is Side.BUY else -c.quantity
    after = drift(str(spot), str(perp))
    assert abs(after.drift_qty) <= abs(d.drift_qty)
