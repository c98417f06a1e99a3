"""Pre-trade risk: one pure function over a snapshot of the state and the configured limits.

It runs twice for every action: when the operator asks (phase 1, shown in the confirmation) and again
inside the pipeline on fresh data (phase 2). Every finding carries a machine-readable code, so the journal,
the log and the tests name the same reason the same way (as NautilusTrader's reason codes do).
"""

from __future__ import annotations

import enum
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from hedgetui.domain.venue import MarketKind


class RiskLevel(enum.StrEnum):
    SAFE = "SAFE"
    WARNING = "WARNING"
    DANGER = "DANGER"


class RiskAction(enum.StrEnum):
    ALLOW = "ALLOW"
    WARN = "WARN"
    BLOCK = "BLOCK"


class ActionKind(enum.StrEnum):
    """What the operator wants to do. Exits and reducing corrections reduce exposure."""

    ENTER = "enter"
    EXIT = "exit"
    CORRECT_REDUCING = "correct_reducing"
    CORRECT_INCREASING = "correct_increasing"

    @property
    def reduces_exposure(self) -> bool:
        return self in (ActionKind.EXIT, ActionKind.CORRECT_REDUCING)


class TradingState(enum.StrEnum):
    """ACTIVE trades; REDUCING allows only exits and reducing corrections; HALTED only reconciles."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


class RiskReason(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    severity: RiskAction
    message: str


class RiskLimits(BaseModel):
    """The configured limits (from the ``risk`` section of the configuration)."""

    model_config = ConfigDict(frozen=True)

    max_position_usd: Decimal = Decimal("50000")
    max_leverage: Decimal = Decimal("5")
    min_liquidation_distance_pct: Decimal = Decimal("20")
    max_basis_bps: Decimal = Decimal("50")
    max_data_age_s: float = 5.0
    require_positive_funding_for_entry: bool = True
    #: Hard cap per intent, independent of anything the UI can change (execution-safety.md §8).
    hard_cap_usd: Decimal = Decimal("250000")


class RiskInputs(BaseModel):
    """A snapshot of everything the check needs. ``None`` means "unknown", which is never assumed safe."""

    model_config = ConfigDict(frozen=True)

    action: ActionKind
    order_notional_usd: Decimal
    position_notional_usd: Decimal = Decimal(0)
    spot_quote_free: Decimal | None = None
    spot_base_free: Decimal | None = None
    spot_base_needed: Decimal = Decimal(0)
    futures_available: Decimal | None = None
    leverage: Decimal | None = None  # effective leverage after the order: futures notional / margin balance
    margin_leverage: Decimal = Decimal(1)  # the exchange's leverage setting (initial margin = notional / it)
    liquidation_distance_pct: Decimal | None = None
    funding_rate: Decimal | None = None
    basis_bps: Decimal | None = None
    data_age_s: float | None = None
    breaker_open: bool = False
    breaker_reopens_in_s: float | None = None
    trading_state: TradingState = TradingState.ACTIVE
    reconciled: bool = True


class RiskAssessment(BaseModel):
    model_config = ConfigDict(frozen=True)

    level: RiskLevel
    action: RiskAction
    reasons: tuple[RiskReason, ...]

    @property
    def allowed(self) -> bool:
        return self.action is not RiskAction.BLOCK

    @property
    def blocking(self) -> tuple[RiskReason, ...]:
        return tuple(r for r in self.reasons if r.severity is RiskAction.BLOCK)

    def summary(self) -> str:
        """One line: the level and the most severe reason, for logs and the confirmation header."""
        if not self.reasons:
            return f"{self.level.value}: all checks passed"
        worst = self.blocking[0] if self.blocking else self.reasons[0]
        return f"{self.level.value}: {worst.code} {worst.message}"


def funds_shortfall(
    kind: MarketKind,
    notional: Decimal,
    *,
    spot_quote_free: Decimal | None,
    futures_available: Decimal | None,
    margin_leverage: Decimal = Decimal(1),
) -> RiskReason | None:
    """Whether the wallet an order that adds exposure draws on can pay for it: a spot buy needs its notional
    free in the spot wallet's quote; a perp order that grows the position needs its initial margin
    (notional ÷ the exchange's leverage, 1x when unknown) available in the futures wallet. A BLOCK reason
    when it cannot, or when that wallet is unknown (never assumed to be enough); None when it can."""
    block = RiskAction.BLOCK
    if kind is MarketKind.SPOT:
        if spot_quote_free is None:
            return RiskReason(code="BALANCE_UNKNOWN", severity=block, message="spot balance unknown")
        if spot_quote_free < notional:
            message = f"spot has {spot_quote_free:.2f} free, {notional:.2f} needed"
            return RiskReason(code="INSUFFICIENT_SPOT", severity=block, message=message)
        return None
    if futures_available is None:
        return RiskReason(code="MARGIN_UNKNOWN", severity=block, message="futures margin unknown")
    leverage = max(margin_leverage, Decimal(1))
    needed = notional / leverage
    if futures_available < needed:
        message = f"futures has {futures_available:.2f} available, about {needed:.2f} needed at {leverage:f}x"
        return RiskReason(code="INSUFFICIENT_MARGIN", severity=block, message=message)
    return None


def evaluate_risk(inputs: RiskInputs, limits: RiskLimits) -> RiskAssessment:
    """Check an action against the limits. Any BLOCK reason blocks; WARN reasons only warn."""
    reasons: list[RiskReason] = []

    def add(code: str, severity: RiskAction, message: str) -> None:
        reasons.append(RiskReason(code=code, severity=severity, message=message))

    a = inputs.action
    block, warn = RiskAction.BLOCK, RiskAction.WARN

    # Gates that no market condition can override.
    if not inputs.reconciled:
        add("RECONCILE_PENDING", block, "startup reconciliation has not finished")
    if inputs.trading_state is TradingState.HALTED:
        add("TRADING_HALTED", block, "trading is HALTED: only reconciliation may run")
    elif inputs.trading_state is TradingState.REDUCING and not a.reduces_exposure:
        add("TRADING_REDUCING", block, "trading is REDUCING: only exits and reducing corrections")
    if inputs.breaker_open and not a.reduces_exposure:
        wait = f" (half-open in {inputs.breaker_reopens_in_s:.0f} s)" if inputs.breaker_reopens_in_s else ""
        add("BREAKER_OPEN", block, f"circuit breaker is open{wait}")

    if inputs.order_notional_usd <= 0:
        add("NON_POSITIVE_SIZE", block, "order size must be positive")
    if inputs.order_notional_usd > limits.hard_cap_usd:
        add("HARD_CAP", block, f"order notional {inputs.order_notional_usd:.2f} exceeds the hard cap")

    if inputs.data_age_s is None:
        add("STALE_DATA", block, "no market data yet")
    elif inputs.data_age_s > limits.max_data_age_s:
        add(
            "STALE_DATA",
            block,
            f"market data is {inputs.data_age_s:.1f} s old (max {limits.max_data_age_s} s)",
        )

    if a is ActionKind.ENTER or a is ActionKind.CORRECT_INCREASING:
        after = inputs.position_notional_usd + inputs.order_notional_usd
        if after > limits.max_position_usd:
            add(
                "MAX_POSITION",
                block,
                f"position would be {after:.2f} USD, above the limit of {limits.max_position_usd} USD",
            )
        for kind in MarketKind:
            short = funds_shortfall(
                kind,
                inputs.order_notional_usd,
                spot_quote_free=inputs.spot_quote_free,
                futures_available=inputs.futures_available,
                margin_leverage=inputs.margin_leverage,
            )
            if short is not None:
                reasons.append(short)
        if inputs.leverage is not None and inputs.leverage > limits.max_leverage:
            add("LEVERAGE", block, f"leverage {inputs.leverage}x above the limit of {limits.max_leverage}x")
        if a is ActionKind.ENTER:
            if inputs.funding_rate is None:
                add("FUNDING_UNKNOWN", warn, "funding rate unknown")
            elif inputs.funding_rate < 0:
                severity = block if limits.require_positive_funding_for_entry else warn
                add("FUNDING_NEGATIVE", severity, f"funding {inputs.funding_rate:.6f} < 0: the short pays")
            if inputs.basis_bps is None:
                add("BASIS_UNKNOWN", warn, "basis unknown")
            elif abs(inputs.basis_bps) > limits.max_basis_bps:
                add(
                    "BASIS_LIMIT",
                    block,
                    f"basis {inputs.basis_bps:.1f} bps beyond ±{limits.max_basis_bps} bps",
                )
    if a is ActionKind.EXIT and inputs.spot_base_free is not None and (inputs.spot_base_free < inputs.spot_base_needed):
        add(
            "INSUFFICIENT_SPOT_BASE",
            warn,
            f"spot holds {inputs.spot_base_free} free, the exit sells {inputs.spot_base_needed}",
        )

    if inputs.liquidation_distance_pct is not None:
        if inputs.liquidation_distance_pct < limits.min_liquidation_distance_pct:
            severity = warn if a.reduces_exposure else block
            add(
                "LIQUIDATION_NEAR",
                severity,
                f"liquidation {inputs.liquidation_distance_pct:.1f}% away (min {limits.min_liquidation_distance_pct}%)",
            )
        elif inputs.liquidation_distance_pct < limits.min_liquidation_distance_pct * 2:
            add("LIQUIDATION_WATCH", warn, f"liquidation {inputs.liquidation_distance_pct:.1f}% away")

    if any(r.severity is block for r in reasons):
        return RiskAssessment(level=RiskLevel.DANGER, action=RiskAction.BLOCK, reasons=tuple(reasons))
    if reasons:
        return RiskAssessment(level=RiskLevel.WARNING, action=RiskAction.WARN, reasons=tuple(reasons))
    return RiskAssessment(level=RiskLevel.SAFE, action=RiskAction.ALLOW, reasons=())
