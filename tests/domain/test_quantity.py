"""One quantity valid on both markets: multiples of both steps, within the notional, minimums respected."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgetui.domain.markets import MarketRules
from hedgetui.domain.quantity import QuantityReason, common_step, hedge_quantity, orderable
from hedgetui.domain.venue import MarketKind


def rules(kind: MarketKind, step: str, min_notional: str, min_qty: str | None = None, max_qty: str | None = None):
    return MarketRules(
        symbol="X",
        market_id="X",
        kind=kind,
        base="BTC",
        quote="USDT",
        tick=D("0.01"),
        step=D(step),
        min_qty=D(min_qty or step),
        min_notional=D(min_notional),
        market_max_qty=D(max_qty) if max_qty else None,
    )


SPOT = rules(MarketKind.SPOT, "0.00001", "5", max_qty="100")
PERP = rules(MarketKind.PERP, "0.001", "100", max_qty="120")


def test_btc_hedge_of_2000_usd() -> None:
    q = hedge_quantity(D("2000"), D("60000.01"), D("60030.0"), SPOT, PERP)
    assert q.quantity == D("0.033") and q.reason is None
    assert q.perp_notional == D("0.033") * D("60030.0")


@pytest.mark.parametrize(
    ("size", "reason"),
    [
        ("0", QuantityReason.NON_POSITIVE_NOTIONAL),
        ("-5", QuantityReason.NON_POSITIVE_NOTIONAL),
        ("50", QuantityReason.BELOW_ONE_STEP),
        ("90", QuantityReason.BELOW_MIN_NOTIONAL),
        ("10000000", QuantityReason.ABOVE_MAX_QTY),
    ],
)
def test_reasons(size: str, reason: QuantityReason) -> None:
    q = hedge_quantity(D(size), D("60000"), D("60000"), SPOT, PERP)
    assert q.quantity is None and q.reason is reason and q.message


def test_no_price_is_refused() -> None:
    assert hedge_quantity(D("2000"), None, D("1"), SPOT, PERP).reason is QuantityReason.NON_POSITIVE_PRICE


def test_common_step_is_the_lcm() -> None:
    assert common_step(D("0.00001"), D("0.001")) == D("0.001")
    assert common_step(D("0.004"), D("0.006")) == D("0.012")
    assert common_step(D("0.1"), D("0.25")) == D("0.50")


def test_orderable_rules() -> None:
    assert orderable(D("0.001"), PERP, D("60000"), reduce_only=True) is None
    assert "minimum notional" in (orderable(D("0.001"), PERP, D("60000")) or "")
    assert "step" in (orderable(D("0.0015"), PERP, D("60000")) or "")
    assert orderable(D("0.0001"), SPOT, D("60000")) is None


steps = st.sampled_from(["0.00001", "0.0001", "0.001", "0.004", "0.01", "0.1", "1"])


@settings(max_examples=300)
@given(
    notional=st.decimals(min_value=D("1"), max_value=D("5000000"), places=2),
    spot_price=st.decimals(min_value=D("0.5"), max_value=D("200000"), places=2),
    basis=st.decimals(min_value=D("-0.01"), max_value=D("0.01"), places=4),
    spot_step=steps,
    perp_step=steps,
    spot_min=st.sampled_from(["1", "5", "10"]),
    perp_min=st.sampled_from(["5", "20", "100"]),
)
def test_quantity_properties(
    notional: D, spot_price: D, basis: D, spot_step: str, perp_step: str, spot_min: str, perp_min: str
) -> None:
    spot = rules(MarketKind.SPOT, spot_step, spot_min)
    perp = rules(MarketKind.PERP, perp_step, perp_min)
    perp_price = spot_price * (1 + basis)
    q = hedge_quantity(notional, spot_price, perp_price, spot, perp)
    top = max(spot_price, perp_price)
    if q.quantity is not None:
        assert q.quantity % spot.step == 0 and q.quantity % perp.step == 0
        assert q.quantity * top <= notional  # round-down never exceeds the notional...
        assert q.quantity * top <= notional + max(spot.step, perp.step) * top  # ...let alone by a step
        assert q.quantity * spot_price >= spot.min_notional and q.quantity * perp_price >= perp.min_notional
        # Maximal: one more common step would exceed the notional.
        assert (q.quantity + common_step(spot.step, perp.step)) * top > notional
    else:
        assert q.reason is not None
        if q.reason is QuantityReason.BELOW_MIN_NOTIONAL:
            step = common_step(spot.step, perp.step)
            largest = (notional / top // step) * step
            assert largest * spot_price < spot.min_notional or largest * perp_price < perp.min_notional
        if q.reason is QuantityReason.BELOW_ONE_STEP:
            assert notional / top < common_step(spot.step, perp.step)
