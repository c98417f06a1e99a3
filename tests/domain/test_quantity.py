"""One quantity valid on both markets: multiples of both steps, within the notional, limits respected, and
a correct reason whenever no quantity exists. Plus rounding one quantity for one market."""

from __future__ import annotations

import math
from decimal import Decimal as D
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgetui.domain.markets import MarketRules
from hedgetui.domain.quantity import (
    QuantityReason,
    ceil_to,
    common_step,
    floor_to,
    hedge_quantity,
    orderable,
    round_to_market,
)
from hedgetui.domain.venue import MarketKind

Kind = MarketKind | None


def rules(
    kind: MarketKind,
    step: str,
    min_notional: str,
    *,
    min_qty: str | None = None,
    market_max: str | None = None,
    max_qty: str | None = None,
    symbol: str | None = None,
) -> MarketRules:
    return MarketRules(
        symbol=symbol or ("BTC/USDT" if kind is MarketKind.SPOT else "BTC/USDT:USDT"),
        market_id="BTCUSDT",
        kind=kind,
        base="BTC",
        quote="USDT",
        tick=D("0.01"),
        step=D(step),
        min_qty=D(min_qty or step),
        min_notional=D(min_notional),
        max_qty=D(max_qty) if max_qty else None,
        market_max_qty=D(market_max) if market_max else None,
    )


# Binance's BTCUSDT filters: spot LOT_SIZE, MARKET_LOT_SIZE, NOTIONAL; USDⓈ-M the same with MIN_NOTIONAL.
BTC_SPOT = rules(MarketKind.SPOT, "0.00001", "5", max_qty="9000", market_max="100")
BTC_PERP = rules(MarketKind.PERP, "0.001", "100", max_qty="1000", market_max="120")
# ETHUSDT-like: a finer spot step than BTC's perp, a lower perp minimum notional.
ETH_SPOT = rules(MarketKind.SPOT, "0.0001", "5", max_qty="100000", market_max="2000", symbol="ETH/USDT")
ETH_PERP = rules(MarketKind.PERP, "0.001", "20", max_qty="10000", market_max="2000", symbol="ETH/USDT:USDT")


# ---- hedge_quantity: examples ------------------------------------------------------------------------


def test_btc_hedge_of_2000_usd_rounds_down_to_the_perp_step() -> None:
    q = hedge_quantity(D("2000"), D("60000.01"), D("60030.0"), BTC_SPOT, BTC_PERP)
    assert q.ok and q.quantity == D("0.033") and q.reason is None
    assert q.step == D("0.001")
    assert q.spot_notional == D("0.033") * D("60000.01")
    assert q.perp_notional == D("0.033") * D("60030.0")
    assert q.perp_notional <= D("2000")


def test_btc_below_the_perp_minimum_notional_names_the_perp_and_its_minimum() -> None:
    q = hedge_quantity(D("100"), D("60000"), D("60000"), BTC_SPOT, BTC_PERP)
    assert q.quantity is None and q.reason is QuantityReason.BELOW_MIN_NOTIONAL
    assert q.market is MarketKind.PERP and q.limit == D("100")
    assert "perp" in q.message and "100 USD" in q.message
    # 0.002 BTC is the smallest common-step quantity worth 100 USD on the perp: 120 USD at 60000.
    assert q.minimum_usd == D("120")
    assert hedge_quantity(q.minimum_usd, D("60000"), D("60000"), BTC_SPOT, BTC_PERP).quantity == D("0.002")


def test_btc_below_one_common_step() -> None:
    q = hedge_quantity(D("59.99"), D("60000"), D("60000"), BTC_SPOT, BTC_PERP)
    assert q.reason is QuantityReason.BELOW_ONE_STEP and q.quantity is None
    assert q.limit == D("0.001") and "0.001" in q.message
    assert q.minimum_usd == D("120")


def test_each_leg_is_checked_at_its_own_price() -> None:
    # 0.002 BTC: 100.00 USD on spot at 50000, but 99.998 USD on the perp at 49999, below its 100 minimum.
    spot = rules(MarketKind.SPOT, "0.00001", "100")
    q = hedge_quantity(D("100.1"), D("50000"), D("49999"), spot, BTC_PERP)
    assert q.reason is QuantityReason.BELOW_MIN_NOTIONAL and q.market is MarketKind.PERP
    # The same with the prices swapped: now the spot leg is the one below.
    q = hedge_quantity(D("100.1"), D("49999"), D("50000"), spot, BTC_PERP)
    assert q.reason is QuantityReason.BELOW_MIN_NOTIONAL and q.market is MarketKind.SPOT


def test_sized_against_the_dearer_leg() -> None:
    # At 60100 on the perp, 0.1 BTC is 6010 USD: exactly the notional. At 60000 on spot it would buy 0.100166.
    q = hedge_quantity(D("6010"), D("60000"), D("60100"), BTC_SPOT, BTC_PERP)
    assert q.quantity == D("0.1") and q.perp_notional == D("6010")
    q = hedge_quantity(D("6009.99"), D("60000"), D("60100"), BTC_SPOT, BTC_PERP)
    assert q.quantity == D("0.099")


def test_btc_above_the_spot_market_order_maximum() -> None:
    q = hedge_quantity(D("10000000"), D("60000"), D("60000"), BTC_SPOT, BTC_PERP)
    assert q.reason is QuantityReason.ABOVE_MAX_QTY and q.market is MarketKind.SPOT and q.limit == D("100")
    assert q.maximum_usd == D("6000000") and "100" in q.message
    assert hedge_quantity(q.maximum_usd, D("60000"), D("60000"), BTC_SPOT, BTC_PERP).quantity == D("100")


def test_the_tighter_of_lot_size_and_market_lot_size_applies() -> None:
    perp = rules(MarketKind.PERP, "0.001", "100", max_qty="50", market_max="120")
    q = hedge_quantity(D("3060000"), D("60000"), D("60000"), BTC_SPOT, perp)
    assert q.reason is QuantityReason.ABOVE_MAX_QTY and q.market is MarketKind.PERP and q.limit == D("50")


def test_minimum_quantity_above_the_common_step() -> None:
    perp = rules(MarketKind.PERP, "0.001", "5", min_qty="0.01")
    q = hedge_quantity(D("500"), D("60000"), D("60000"), BTC_SPOT, perp)
    assert q.reason is QuantityReason.BELOW_MIN_QTY and q.market is MarketKind.PERP and q.limit == D("0.01")
    assert q.minimum_usd == D("600")
    assert hedge_quantity(D("600"), D("60000"), D("60000"), BTC_SPOT, perp).quantity == D("0.01")


def test_eth_like_markets() -> None:
    q = hedge_quantity(D("500"), D("3000"), D("3001.5"), ETH_SPOT, ETH_PERP)
    assert q.quantity == D("0.166") and q.step == D("0.001")
    q = hedge_quantity(D("15"), D("3000"), D("3000"), ETH_SPOT, ETH_PERP)
    assert q.reason is QuantityReason.BELOW_MIN_NOTIONAL and q.market is MarketKind.PERP
    assert q.limit == D("20")
    assert q.minimum_usd == D("21")  # 0.007 ETH


def test_steps_where_neither_divides_the_other() -> None:
    spot = rules(MarketKind.SPOT, "0.004", "1")
    perp = rules(MarketKind.PERP, "0.006", "1")
    # 0.107 rounded to the larger step alone is 0.102: not a multiple of 0.004. The LCM 0.012 gives 0.096.
    q = hedge_quantity(D("107"), D("1000"), D("1000"), spot, perp)
    assert q.step == D("0.012") and q.quantity == D("0.096")
    q = hedge_quantity(D("108"), D("1000"), D("1000"), spot, perp)
    assert q.quantity == D("0.108")


@pytest.mark.parametrize(
    ("size", "spot", "perp", "reason", "market"),
    [
        ("0", "60000", "60000", QuantityReason.NON_POSITIVE_NOTIONAL, None),
        ("-5", "60000", "60000", QuantityReason.NON_POSITIVE_NOTIONAL, None),
        ("NaN", "60000", "60000", QuantityReason.NON_POSITIVE_NOTIONAL, None),
        ("Infinity", "60000", "60000", QuantityReason.NON_POSITIVE_NOTIONAL, None),
        ("2000", "0", "60000", QuantityReason.NON_POSITIVE_PRICE, MarketKind.SPOT),
        ("2000", "60000", "-1", QuantityReason.NON_POSITIVE_PRICE, MarketKind.PERP),
        ("2000", "60000", "NaN", QuantityReason.NON_POSITIVE_PRICE, MarketKind.PERP),
    ],
)
def test_invalid_inputs(size: str, spot: str, perp: str, reason: QuantityReason, market: Kind) -> None:
    q = hedge_quantity(D(size), D(spot), D(perp), BTC_SPOT, BTC_PERP)
    assert q.quantity is None and q.reason is reason and q.market is market and q.message


def test_a_missing_price_is_refused() -> None:
    q = hedge_quantity(D("2000"), None, D("60000"), BTC_SPOT, BTC_PERP)
    assert q.reason is QuantityReason.NON_POSITIVE_PRICE and q.market is MarketKind.SPOT


# ---- steps and rounding ------------------------------------------------------------------------------


def test_common_step_is_the_lcm() -> None:
    assert common_step(D("0.00001"), D("0.001")) == D("0.001")
    assert common_step(D("0.004"), D("0.006")) == D("0.012")
    assert common_step(D("0.1"), D("0.25")) == D("0.5")
    assert common_step(D("1"), D("0.001")) == D("1")
    with pytest.raises(ValueError):
        common_step(D("0"), D("0.001"))


def test_floor_and_ceil() -> None:
    assert floor_to(D("0.0339"), D("0.001")) == D("0.033")
    assert floor_to(D("0.00099"), D("0.001")) == 0
    assert floor_to(D("-1"), D("0.001")) == 0
    assert ceil_to(D("0.0331"), D("0.001")) == D("0.034")
    assert ceil_to(D("0.034"), D("0.001")) == D("0.034")


decimal_steps = st.builds(
    lambda mantissa, exponent: D(mantissa).scaleb(-exponent),
    st.integers(min_value=1, max_value=60),
    st.integers(min_value=0, max_value=8),
)


@given(a=decimal_steps, b=decimal_steps)
def test_common_step_is_the_least_common_multiple(a: D, b: D) -> None:
    step = common_step(a, b)
    ka, kb = Fraction(step) / Fraction(a), Fraction(step) / Fraction(b)
    assert ka.denominator == 1 and kb.denominator == 1  # a multiple of both
    # Least: the two multipliers share no factor (a smaller common multiple would divide them both).
    assert math.gcd(ka.numerator, kb.numerator) == 1


# ---- hedge_quantity: properties ----------------------------------------------------------------------

step_choices = st.sampled_from(["0.00001", "0.0001", "0.001", "0.004", "0.006", "0.01", "0.1", "0.25", "1"])
prices = st.decimals(min_value=D("0.5"), max_value=D("200000"), places=2)


def oracle_largest(notional: D, top: D, step: D) -> Fraction:
    """The largest multiple of ``step`` worth at most ``notional`` at ``top``, in exact rational maths."""
    n = (Fraction(notional) / Fraction(top)) // Fraction(step)
    return n * Fraction(step)


@settings(max_examples=400, deadline=None)
@given(
    notional=st.decimals(min_value=D("0.01"), max_value=D("20000000"), places=2),
    spot_price=prices,
    basis=st.decimals(min_value=D("-0.02"), max_value=D("0.02"), places=4),
    spot_step=step_choices,
    perp_step=step_choices,
    spot_min=st.sampled_from(["0", "1", "5", "10"]),
    perp_min=st.sampled_from(["5", "20", "100"]),
    perp_min_qty=st.sampled_from([None, "0.01", "0.5"]),
    spot_max=st.sampled_from([None, "50", "100"]),
    perp_max=st.sampled_from([None, "20", "120"]),
)
def test_quantity_properties(
    notional: D,
    spot_price: D,
    basis: D,
    spot_step: str,
    perp_step: str,
    spot_min: str,
    perp_min: str,
    perp_min_qty: str | None,
    spot_max: str | None,
    perp_max: str | None,
) -> None:
    spot = rules(MarketKind.SPOT, spot_step, spot_min, market_max=spot_max)
    perp_min_qty = str(max(D(perp_min_qty or "0"), D(perp_step)))
    perp = rules(MarketKind.PERP, perp_step, perp_min, min_qty=perp_min_qty, market_max=perp_max)
    perp_price = (spot_price * (1 + basis)).quantize(D("0.01"))
    q = hedge_quantity(notional, spot_price, perp_price, spot, perp)
    top = max(spot_price, perp_price)
    largest = oracle_largest(notional, top, common_step(spot.step, perp.step))
    legs = {MarketKind.SPOT: (spot, spot_price), MarketKind.PERP: (perp, perp_price)}
    if q.quantity is not None:
        qty = q.quantity
        assert qty > 0
        assert qty % spot.step == 0 and qty % perp.step == 0  # a multiple of BOTH steps
        for r, price in legs.values():
            assert qty * price <= notional  # round-down never exceeds the notional on either leg...
            assert qty * price <= notional + max(spot.step, perp.step) * price  # ...let alone by a step
            assert qty >= r.min_qty and qty * price >= r.min_notional
            assert r.market_max_qty is None or qty <= r.market_max_qty
        assert Fraction(qty) == largest  # and it is the largest such quantity
        assert q.spot_notional == qty * spot_price and q.perp_notional == qty * perp_price
        return
    assert q.reason is not None and q.message
    if q.reason is QuantityReason.BELOW_ONE_STEP:
        assert largest == 0
        return
    assert largest > 0 and q.market is not None
    r, price = legs[q.market]
    if q.reason is QuantityReason.BELOW_MIN_QTY:
        assert largest < Fraction(r.min_qty) and q.limit == r.min_qty
    elif q.reason is QuantityReason.BELOW_MIN_NOTIONAL:
        assert largest * Fraction(price) < Fraction(r.min_notional) and q.limit == r.min_notional
    elif q.reason is QuantityReason.ABOVE_MAX_QTY:
        assert r.market_max_qty is not None and largest > Fraction(r.market_max_qty)
    else:
        pytest.fail(f"unexpected reason {q.reason}")
    if q.minimum_usd is not None:  # following the advice works (unless a maximum is in the way)
        again = hedge_quantity(q.minimum_usd, spot_price, perp_price, spot, perp)
        assert again.ok or again.reason is QuantityReason.ABOVE_MAX_QTY


# ---- one market: round_to_market and orderable -------------------------------------------------------


def test_round_to_market_examples() -> None:
    r = round_to_market(D("0.0339"), BTC_PERP, D("60000"))
    assert r.orderable and r.quantity == D("0.033") and r.remainder == D("0.0009")
    r = round_to_market(D("0.0015"), BTC_PERP, D("60000"))
    assert not r.orderable and r.quantity == D("0.001") and r.reason is QuantityReason.BELOW_MIN_NOTIONAL
    assert r.limit == D("100") and "perp" in r.message
    # Reduce-only perp orders are exempt from the notional minimum (and need no price).
    r = round_to_market(D("0.0015"), BTC_PERP, None, reduce_only=True)
    assert r.orderable and r.quantity == D("0.001")
    r = round_to_market(D("0.0009"), BTC_PERP, D("60000"), reduce_only=True)
    assert r.reason is QuantityReason.BELOW_ONE_STEP and r.quantity == 0 and r.remainder == D("0.0009")
    assert round_to_market(D("0.00009"), BTC_SPOT, D("60000")).orderable  # 5.40 USD
    r = round_to_market(D("0.000089"), BTC_SPOT, D("60000"))  # 0.00008 → 4.80 USD
    assert r.reason is QuantityReason.BELOW_MIN_NOTIONAL and r.quantity == D("0.00008")
    assert round_to_market(D("0"), BTC_SPOT, D("1")).reason is QuantityReason.NON_POSITIVE_QUANTITY
    assert round_to_market(D("1"), BTC_SPOT, None).reason is QuantityReason.NON_POSITIVE_PRICE


def test_round_to_market_maximums_depend_on_the_order_type() -> None:
    r = round_to_market(D("150"), BTC_SPOT, D("60000"))
    assert r.reason is QuantityReason.ABOVE_MAX_QTY and r.limit == D("100")
    assert round_to_market(D("150"), BTC_SPOT, D("60000"), market_order=False).orderable  # LOT_SIZE 9000


def test_orderable_refuses_off_grid_quantities() -> None:
    assert orderable(D("0.001"), BTC_PERP, D("60000"), reduce_only=True) is None
    assert "minimum notional" in (orderable(D("0.001"), BTC_PERP, D("60000")) or "")
    assert "step" in (orderable(D("0.0015"), BTC_PERP, D("60000")) or "")
    assert "step" in (orderable(D("-0.001"), BTC_PERP, D("60000")) or "")
    assert orderable(D("0.0001"), BTC_SPOT, D("60000")) is None
    assert "maximum" in (orderable(D("121"), BTC_PERP, D("60000")) or "")


@settings(max_examples=300, deadline=None)
@given(
    qty=st.decimals(min_value=D("0.000001"), max_value=D("500"), places=6),
    price=prices,
    step=step_choices,
    min_usd=st.sampled_from(["0", "5", "100"]),
    reduce_only=st.booleans(),
)
def test_round_to_market_properties(qty: D, price: D, step: str, min_usd: str, reduce_only: bool) -> None:
    r_rules = rules(MarketKind.PERP, step, min_usd, market_max="120")
    r = round_to_market(qty, r_rules, price, reduce_only=reduce_only)
    assert 0 <= r.quantity <= qty and r.quantity % r_rules.step == 0
    assert r.remainder < r_rules.step and r.quantity + r.remainder == qty
    # Orderable exactly when orderable() accepts the rounded quantity as it stands.
    if r.quantity > 0:
        assert r.orderable == (orderable(r.quantity, r_rules, price, reduce_only=reduce_only) is None)
    else:
        assert r.reason is QuantityReason.BELOW_ONE_STEP
    if r.orderable:
        assert r.quantity <= 120 and (reduce_only or r.quantity * price >= r_rules.min_notional)
