"""The engine's own state as the pipelines and the risk check see it: one typed value, read at once."""

from __future__ import annotations

from dataclasses import dataclass

from hedgetui.domain.risk import TradingState


@dataclass(frozen=True)
class EngineState:
    """Trading state, breaker and reconciliation at one moment (what risk phase 2 decides with)."""

    trading_state: TradingState
    breaker_open: bool
    breaker_reopens_in_s: float | None
    reconciled: bool
