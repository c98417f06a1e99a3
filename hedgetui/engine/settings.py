"""Everything the pipelines decide with, from the configuration."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal

from hedgetui.domain.margin import PerpThresholds
from hedgetui.domain.risk import RiskAssessment, RiskLimits
from hedgetui.engine.legs import ExecTimeouts


class LegMode(enum.StrEnum):
    CONCURRENT = "concurrent"
    PERP_FIRST = "perp_first"


class OnLegFailure(enum.StrEnum):
    UNWIND = "unwind"
    COMPLETE = "complete"


@dataclass(frozen=True)
class EngineSettings:
    """Everything the pipelines decide with (from the configuration).

    ``spot_reserve`` is base-asset inventory the desk holds outside the hedge: the hedge's spot leg is the
    exchange's spot balance less this. ``slippage_alert_bps`` is how far realised slippage may exceed the
    pre-trade estimate before the operator is alerted.
    """

    leg_mode: LegMode = LegMode.CONCURRENT
    on_leg_failure: OnLegFailure = OnLegFailure.UNWIND
    slippage_max_bps: Decimal = Decimal("15")
    slippage_alert_bps: Decimal = Decimal("5")
    liquidity_multiple: Decimal = Decimal("3")
    drift_tolerance_bps: Decimal = Decimal("50")
    spot_reserve: Decimal = Decimal(0)
    #: Taker fee rates (fractions) that plans, confirmations and proposals estimate fees with
    #: (``ui.spot_taker_fee_pct`` / ``ui.perp_taker_fee_pct``): the desk's own fee tier, not a venue default.
    spot_taker_fee: Decimal = Decimal("0.001")
    perp_taker_fee: Decimal = Decimal("0.0005")
    risk: RiskLimits = field(default_factory=RiskLimits)
    #: The perp leg's margin ratio and liquidation distance thresholds (``[perp_watch]``).
    perp_watch: PerpThresholds = field(default_factory=PerpThresholds)
    timeouts: ExecTimeouts = field(default_factory=ExecTimeouts)
    book_depth: int = 100


class Denied(Exception):
    """A pre-trade check refused the action; nothing was sent."""

    def __init__(self, code: str, message: str, risk: RiskAssessment | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.risk = risk
