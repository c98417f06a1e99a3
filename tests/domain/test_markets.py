"""Market rules: positive increments, grid checks and the per-order maximum."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from hedgetui.domain.markets import MarketRules
from hedgetui.domain.venue import MarketKind


def rules(step: str = "0.001", tick: str = "0.1", **kw: object) -> MarketRules:
    base: dict[str, object] = {
        "symbol": "BTC/USDT:USDT",
        "market_id": "BTCUSDT",
        "kind": MarketKind.PERP,
        "base": "BTC",
        "quote": "USDT",
        "tick": D(tick),
        "step": D(step),
        "min_qty": D(step),
    }
    base.update(kw)
    return MarketRules.model_validate(base)


@pytest.mark.parametrize(("step", "tick"), [("0", "0.1"), ("0.001", "0"), ("-0.001", "0.1")])
def test_zero_or_negative_increments_are_refused(step: str, tick: str) -> None:
    with pytest.raises(ValidationError, match="must be positive"):
        rules(step, tick)


def test_negative_minimums_are_refused() -> None:
    with pytest.raises(ValidationError, match="negative"):
        rules(min_notional=D("-1"))


@given(
    units=st.integers(min_value=0, max_value=10**9),
    exponent=st.integers(min_value=-8, max_value=0),
    off=st.integers(min_value=1, max_value=9),
)
def test_step_multiples_are_exactly_the_whole_numbers_of_steps(units: int, exponent: int, off: int) -> None:
    step = D(1).scaleb(exponent)
    r = rules(step=str(step))
    assert r.is_step_multiple(step * units)
    # Anything a tenth of a step off the grid is not (ccxt would silently truncate it).
    assert not r.is_step_multiple(step * units + step * off / 10)


def test_tick_multiples() -> None:
    r = rules(tick="0.1")
    assert r.is_tick_multiple(D("50000.1")) and r.is_tick_multiple(D("50000.10000"))
    assert not r.is_tick_multiple(D("50000.15"))


@pytest.mark.parametrize(
    ("max_qty", "market_max", "market_order", "expected"),
    [
        ("1000", "120", True, "120"),
        ("1000", "120", False, "1000"),
        ("100", "120", True, "100"),
        (None, "120", True, "120"),
        ("1000", None, True, "1000"),
        (None, None, True, None),
    ],
)
def test_max_for_takes_the_market_lot_limit_for_market_orders(
    max_qty: str | None, market_max: str | None, market_order: bool, expected: str | None
) -> None:
    r = rules(
        max_qty=D(max_qty) if max_qty else None,
        market_max_qty=D(market_max) if market_max else None,
    )
    assert r.max_for(market_order=market_order) == (D(expected) if expected else None)
