"""The engine's own state as the pipelines and the risk check see it (:class:`EngineState`), and as the
screen sees it (:class:`EngineStatus`, ``Engine.status()``): typed values, each read at once."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from hedgetui.domain.risk import TradingState

if TYPE_CHECKING:
    from hedgetui.domain.margin import PerpHealth
    from hedgetui.domain.stages import PipelineKind
    from hedgetui.engine.breaker import BreakerSnapshot
    from hedgetui.engine.hedge import ExchangeLegs, JournalAccount
    from hedgetui.engine.proposal import Proposal


@dataclass(frozen=True)
class EngineState:
    """Trading state, breaker and reconciliation at one moment (what risk phase 2 decides with)."""

    trading_state: TradingState
    breaker_open: bool
    breaker_reopens_in_s: float | None
    reconciled: bool


@dataclass(frozen=True)
class EngineStatus:
    """What the screen shows of the engine at one moment (``Engine.status()``)."""

    trading_state: TradingState
    breaker: BreakerSnapshot
    busy: PipelineKind | None
    reconciled: bool
    halt_reason: str | None
    legs: ExchangeLegs | None
    spot_reserve: Decimal
    account: JournalAccount | None
    proposal: Proposal | None
    perp: PerpHealth | None = None
