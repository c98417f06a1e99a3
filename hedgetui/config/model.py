"""The configuration's shape: one pydantic model per section, unknown keys refused, limits checked."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hedgetui.domain.venue import VenueMode

#: Actions the dashboard binds to keys, with their default keys.
DEFAULT_KEYS: dict[str, str] = {
    "enter": "e",
    "exit": "x",
    "correct": "d",
    "reset_breaker": "b",
    "size": "s",
    "trading_state": "t",
    "theme": "T",
    "log_filter": "f",
    "acknowledge": "a",
    "help": "question_mark",
    "quit": "q",
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class VenueConfig(_Section):
    exchange: Literal["binance"] = "binance"
    mode: VenueMode = VenueMode.SANDBOX
    url: str | None = None
    timeout_ms: int = Field(default=10_000, ge=1000, le=120_000)
    recv_window_ms: int = Field(default=10_000, ge=1000, le=60_000)
    verbose: bool = False
    key_file: Path | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")) or "://" not in value or not value.split("://", 1)[1]:
            raise ValueError("must be an http(s)://host:port URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _verbose_only_in_sandbox(self) -> VenueConfig:
        if self.verbose and self.mode is not VenueMode.SANDBOX:
            raise ValueError("verbose prints the API key in request headers: only allowed in sandbox mode")
        return self


class PairConfig(_Section):
    spot: str = "BTC/USDT"
    perp: str = "BTC/USDT:USDT"

    @model_validator(mode="after")
    def _same_pair(self) -> PairConfig:
        if "/" not in self.spot or ":" in self.spot:
            raise ValueError(f"spot must look like BASE/QUOTE (got {self.spot!r})")
        base_quote, _, settle = self.perp.partition(":")
        if base_quote != self.spot or settle != self.spot.split("/")[1]:
            raise ValueError(f"perp must be the {self.spot} linear perpetual, {self.spot}:{self.spot.split('/')[1]}")
        return self


class HedgeConfig(_Section):
    size_usd: Decimal = Field(default=Decimal("2000"), gt=0)
    leg_mode: Literal["concurrent", "perp_first"] = "concurrent"
    on_leg_failure: Literal["unwind", "complete"] = "unwind"


class RiskConfig(_Section):
    max_position_usd: Decimal = Field(default=Decimal("50000"), gt=0)
    max_leverage: Decimal = Field(default=Decimal("5"), gt=0, le=125)
    min_liquidation_distance_pct: Decimal = Field(default=Decimal("20"), ge=0, le=100)
    max_basis_bps: Decimal = Field(default=Decimal("50"), ge=0)
    max_data_age_s: float = Field(default=5.0, gt=0)
    require_positive_funding_for_entry: bool = True


class SlippageConfig(_Section):
    max_bps: Decimal = Field(default=Decimal("15"), gt=0)
    liquidity_multiple: Decimal = Field(default=Decimal("3"), ge=1)


class DriftConfig(_Section):
    tolerance_bps: Decimal = Field(default=Decimal("50"), gt=0)


class BreakerConfig(_Section):
    fail_max: int = Field(default=2, ge=1)
    reset_timeout_s: float = Field(default=30.0, gt=0)


class TimeoutsConfig(_Section):
    order_ack_s: float = Field(default=30.0, gt=0)
    fill_s: float = Field(default=60.0, gt=0)
    partial_fill_retries: int = Field(default=3, ge=0, le=10)
    lookup_grace_s: float = Field(default=3.0, gt=0)


class MarketDataConfig(_Section):
    book_depth: int = Field(default=20, ge=5, le=1000)
    stale_after_s: float = Field(default=2.0, gt=0)
    funding_poll_s: float = Field(default=5.0, gt=0)
    account_poll_s: float = Field(default=2.0, gt=0)


class JournalConfig(_Section):
    path: Path | None = None  # default: the user's data folder


class UIConfig(_Section):
    theme: str = "desk-dark"
    refresh_hz: float = Field(default=15.0, ge=1, le=60)
    keys: dict[str, str] = Field(default_factory=dict)

    @field_validator("keys")
    @classmethod
    def _keys(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(DEFAULT_KEYS))
        if unknown:
            raise ValueError(f"unknown action {unknown[0]!r} (actions: {', '.join(DEFAULT_KEYS)})")
        merged = {**DEFAULT_KEYS, **value}
        seen: dict[str, str] = {}
        for action, key in merged.items():
            if not key:
                raise ValueError(f"{action}: empty key")
            if key in seen:
                raise ValueError(f"{action} and {seen[key]} both use the key {key!r}")
            seen[key] = action
        return value


class AppConfig(_Section):
    venue: VenueConfig = Field(default_factory=VenueConfig)
    pair: PairConfig = Field(default_factory=PairConfig)
    hedge: HedgeConfig = Field(default_factory=HedgeConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    slippage: SlippageConfig = Field(default_factory=SlippageConfig)
    drift: DriftConfig = Field(default_factory=DriftConfig)
    breaker: BreakerConfig = Field(default_factory=BreakerConfig)
    timeouts: TimeoutsConfig = Field(default_factory=TimeoutsConfig)
    market_data: MarketDataConfig = Field(default_factory=MarketDataConfig)
    journal: JournalConfig = Field(default_factory=JournalConfig)
    ui: UIConfig = Field(default_factory=UIConfig)

    @model_validator(mode="after")
    def _size_within_limit(self) -> AppConfig:
        if self.hedge.size_usd > self.risk.max_position_usd:
            raise ValueError(
                f"hedge.size_usd {self.hedge.size_usd} is above risk.max_position_usd {self.risk.max_position_usd}"
            )
        return self
