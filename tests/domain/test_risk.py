"""Risk checks: every code fires on its condition, unknowns are never safe, exits stay possible."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from hedgetui.domain.risk import (
    ActionKind,
    RiskAction,
    RiskInputs,
    RiskLevel,
    RiskLimits,
    TradingState,
    evaluate_risk,
    funds_shortfall,
)
from hedgetui.domain.venue import MarketKind

LIMITS = RiskLimits()
HEALTHY = RiskInputs(
    action=ActionKind.ENTER,
    order_notional_usd=D("2000"),
    spot_quote_free=D("100000"),
    futures_available=D("100000"),
    leverage=D("2"),
    liquidation_distance_pct=D("90"),
    funding_rate=D("0.0001"),
    basis_bps=D("5"),
    data_age_s=0.2,
)


def codes(inputs: RiskInputs) -> set[str]:
    return {r.code for r in evaluate_risk(inputs, LIMITS).reasons}


def test_healthy_entry_is_safe() -> None:
    result = evaluate_risk(HEALTHY, LIMITS)
    assert (result.level, result.action, result.reasons) == (RiskLevel.SAFE, RiskAction.ALLOW, ())
    assert result.summary() == "SAFE: all checks passed"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"reconciled": False}, "RECONCILE_PENDING"),
        ({"trading_state": TradingState.HALTED}, "TRADING_HALTED"),
        ({"trading_state": TradingState.REDUCING}, "TRADING_REDUCING"),
        ({"breaker_open": True, "breaker_reopens_in_s": 12.0}, "BREAKER_OPEN"),
        ({"order_notional_usd": D("0")}, "NON_POSITIVE_SIZE"),
        ({"order_notional_usd": D("300000"), "spot_quote_free": D("1e9")}, "HARD_CAP"),
        ({"data_age_s": None}, "STALE_DATA"),
        ({"data_age_s": 9.0}, "STALE_DATA"),
        ({"position_notional_usd": D("49000")}, "MAX_POSITION"),
        ({"spot_quote_free": None}, "BALANCE_UNKNOWN"),
        ({"spot_quote_free": D("100")}, "INSUFFICIENT_SPOT"),
        ({"futures_available": None}, "MARGIN_UNKNOWN"),
        ({"futures_available": D("10")}, "INSUFFICIENT_MARGIN"),
        ({"leverage": D("10")}, "LEVERAGE"),
        ({"funding_rate": D("-0.0001")}, "FUNDING_NEGATIVE"),
        ({"basis_bps": D("-80")}, "BASIS_LIMIT"),
        ({"liquidation_distance_pct": D("10")}, "LIQUIDATION_NEAR"),
    ],
)
def test_each_blocking_condition_blocks_with_its_code(change: dict[str, object], code: str) -> None:
    result = evaluate_risk(HEALTHY.model_copy(update=change), LIMITS)
    assert result.action is RiskAction.BLOCK and result.level is RiskLevel.DANGER
    assert code in {r.code for r in result.blocking}


def test_warnings_do_not_block() -> None:
    result = evaluate_risk(
        HEALTHY.model_copy(update={"funding_rate": None, "liquidation_distance_pct": D("30")}), LIMITS
    )
    assert result.action is RiskAction.WARN and result.allowed
    assert {r.code for r in result.reasons} == {"FUNDING_UNKNOWN", "LIQUIDATION_WATCH"}
    relaxed = LIMITS.model_copy(update={"require_positive_funding_for_entry": False})
    assert evaluate_risk(HEALTHY.model_copy(update={"funding_rate": D("-0.001")}), relaxed).allowed


def test_exits_stay_possible_when_reducing_or_breaker_open_but_not_when_halted() -> None:
    exit_ = HEALTHY.model_copy(update={"action": ActionKind.EXIT, "liquidation_distance_pct": D("5")})
    reducing = exit_.model_copy(update={"trading_state": TradingState.REDUCING, "breaker_open": True})
    result = evaluate_risk(reducing, LIMITS)
    assert result.allowed and "LIQUIDATION_NEAR" in {r.code for r in result.reasons}
    assert not evaluate_risk(exit_.model_copy(update={"trading_state": TradingState.HALTED}), LIMITS).allowed
    increasing = HEALTHY.model_copy(
        update={"action": ActionKind.CORRECT_INCREASING, "trading_state": TradingState.REDUCING}
    )
    assert "TRADING_REDUCING" in codes(increasing)


@pytest.mark.parametrize(
    ("kind", "spot", "futures", "leverage", "code"),
    [
        (MarketKind.SPOT, D("2000"), None, D(1), None),  # exactly enough; the other wallet is not asked
        (MarketKind.SPOT, D("1999.99"), D("1e9"), D(1), "INSUFFICIENT_SPOT"),
        (MarketKind.SPOT, None, D("1e9"), D(1), "BALANCE_UNKNOWN"),
        (MarketKind.PERP, None, D("100"), D(20), None),  # 2000 / 20x = 100
        (MarketKind.PERP, D("1e9"), D("99.99"), D(20), "INSUFFICIENT_MARGIN"),
        (MarketKind.PERP, D("1e9"), D("1999"), D(0), "INSUFFICIENT_MARGIN"),  # unknown leverage counts as 1x
        (MarketKind.PERP, D("1e9"), None, D(20), "MARGIN_UNKNOWN"),
    ],
)
def test_funds_shortfall_asks_the_wallet_the_order_draws_on(
    kind: MarketKind, spot: D | None, futures: D | None, leverage: D, code: str | None
) -> None:
    short = funds_shortfall(kind, D("2000"), spot_quote_free=spot, futures_available=futures, margin_leverage=leverage)
    assert (short.code if short else None) == code
    if short is not None:
        assert short.severity is RiskAction.BLOCK
    if code == "INSUFFICIENT_MARGIN":
        assert short is not None and "needed at" in short.message
