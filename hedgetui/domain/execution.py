"""What a pipeline run produced: its end state, both legs, slippage, drift and stage timings."""

from __future__ import annotations

import enum
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from hedgetui.domain.drift import HedgeDrift
from hedgetui.domain.risk import RiskAssessment
from hedgetui.domain.stages import PipelineKind, Stage, StageState


class EndState(enum.StrEnum):
    """The only acceptable ends of a pipeline (fault-matrix.md)."""

    HEDGED = "HEDGED"
    FLAT = "FLAT"
    HALTED = "HALTED"


class SlippageAnalysis(BaseModel):
    """Expected (pre-trade estimate) against realised (actual VWAP) slippage for one leg, in bps vs mid."""

    model_config = ConfigDict(frozen=True)

    leg: str
    expected_bps: Decimal | None
    realized_bps: Decimal | None
    difference_bps: Decimal | None
    limit_bps: Decimal
    within_limits: bool


class LegSummary(BaseModel):
    """One leg as the exchange confirmed it."""

    model_config = ConfigDict(frozen=True)

    leg: str
    market: str
    side: str
    target: Decimal
    filled: Decimal
    average: Decimal | None
    fees: tuple[tuple[str, Decimal], ...] = ()
    client_order_ids: tuple[str, ...] = ()
    order_ids: tuple[str, ...] = ()
    status: str


class StageTiming(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: Stage
    state: StageState
    elapsed_ms: float | None = None
    detail: str = ""


class ExecutionResult(BaseModel):
    """The outcome of one pipeline run, as journaled, shown and printed with ``--json``.

    ``success`` means the pipeline reached the end state it was asked for (HEDGED for enter, FLAT for
    exit, within tolerance for correct). ``aborted`` means it stopped before sending any order (denied by
    a guard, risk, slippage or quantity check).
    """

    model_config = ConfigDict(frozen=True)

    pipeline: PipelineKind
    intent_id: str | None
    success: bool
    aborted: bool
    end_state: EndState
    reason: str
    reason_code: str
    quantity: Decimal | None = None
    perp: LegSummary | None = None
    spot: LegSummary | None = None
    corrections: tuple[LegSummary, ...] = ()
    drift: HedgeDrift | None = None
    risk: RiskAssessment | None = None
    slippage: tuple[SlippageAnalysis, ...] = ()
    stages: tuple[StageTiming, ...] = ()
    alerts: tuple[str, ...] = ()
    timestamp_ms: int = Field(default=0)
