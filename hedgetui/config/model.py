"""The configuration's shape: one pydantic model per section, unknown keys refused, limits checked.

Money, prices and basis points are ``Decimal``; durations are seconds as ``float``. Every bound below is
there to catch a typo before it reaches an order (a size of ``20000000`` instead of ``2000``, a timeout of
``0``), not to second-guess a desk's risk appetite.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AllowInfNan, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from hedgetui.domain.venue import VenueMode

#: Actions the dashboard binds to keys, with their default keys (Textual key names).
DEFAULT_KEYS: dict[str, str] = {
    "enter": "e",
    "exit": "x",
    "correct": "d",
    "reset_breaker": "b",
    "size": "s",
    "trading_state": "t",
    "reconcile": "r",
    "theme": "T",
    "log_filter": "f",
    "acknowledge": "a",
    "detail": "i",
    "margin": "m",
    "pnl": "p",
    "help": "question_mark",
    "quit": "q",
}

# A Textual key name: "e", "T", "f5", "ctrl+e", "question_mark". A comma would bind several keys at once.
_KEY_NAME = re.compile(r"^[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*$")
_SYMBOL = re.compile(r"^([A-Z0-9]+)/([A-Z0-9]+)$")
_PERP_SYMBOL = re.compile(r"^([A-Z0-9]+)/([A-Z0-9]+):([A-Z0-9]+)$")
_THEME_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class FieldProblem(ValueError):
    """A check made across fields that blames one of them, so the error line can name it.

    ``field`` is a dotted path appended to where pydantic reports the error: relative to the model for a
    model validator (``"verbose"``, ``"hedge.size_usd"``), to the field for a field validator (``"enter"``
    under ``ui.keys``). ``related`` are the other fields the check involved, on the same footing: the error
    line names the sources of all of them.
    """

    def __init__(self, field: str, message: str, related: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.field = field
        self.related = related


def _plain_number(value: object) -> object:
    # pydantic would read ``fail_max = true`` as 1: a boolean where a number belongs is a mistake.
    if isinstance(value, bool):
        raise ValueError("must be a number")
    # Said before any bound is checked, so "inf" is called what it is rather than "too large".
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    if isinstance(value, str) and value.strip().lower().lstrip("+-") in ("inf", "infinity", "nan"):
        raise ValueError("must be a finite number")
    return value


#: A finite real number, never a boolean. Bounds are given per field.
Finite = Annotated[float, BeforeValidator(_plain_number), AllowInfNan(False)]
#: A duration in seconds.
Seconds = Finite
#: A whole number, never a boolean.
Count = Annotated[int, BeforeValidator(_plain_number)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class VenueConfig(_Section):
    """Which exchange, in which mode, and how the connection behaves."""

    exchange: Literal["binance"] = "binance"
    mode: VenueMode = VenueMode.SANDBOX
    #: Base URL of a running sandbox (``http://127.0.0.1:8765``); sandbox mode only.
    url: str | None = None
    timeout_ms: Count = Field(default=10_000, ge=1_000, le=120_000)
    # Binance refuses a recvWindow above 60 s.
    recv_window_ms: Count = Field(default=10_000, ge=1_000, le=60_000)
    verbose: bool = False
    key_file: Path | None = None
    #: Keep the account's user data streams (orders, trades, balances, position) and confirm fills by their
    #: events; false: poll everything over REST.
    user_stream: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        wanted = "must be an http(s)://host:port URL with no path"
        try:
            parts = urlsplit(value.strip())
            port = parts.port
        except ValueError:
            raise ValueError(f"{wanted} (the port is not a number from 0 to 65535)") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(wanted)
        if port is None:
            raise ValueError(f"{wanted} (the port is missing)")
        if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
            # The adapter appends /api/v3, /fapi/v1 ... itself.
            raise ValueError(wanted)
        return f"{parts.scheme}://{parts.netloc}"

    @model_validator(mode="after")
    def _sandbox_only_options(self) -> VenueConfig:
        if self.mode is not VenueMode.SANDBOX:
            if self.verbose:
                raise FieldProblem(
                    "verbose",
                    f"must be false in {self.mode.value} mode: ccxt's verbose output prints signed requests "
                    "with the API key",
                    related=("mode",),
                )
            if self.url is not None:
                raise FieldProblem(
                    "url",
                    f"only allowed in sandbox mode ({self.mode.value} mode uses Binance's own URLs; "
                    'unset it or set venue.mode = "sandbox")',
                    related=("mode",),
                )
        return self


class PairConfig(_Section):
    """The hedge pair: a spot market and the USDT-margined perpetual on the same base and quote."""

    spot: str = "BTC/USDT"
    perp: str = "BTC/USDT:USDT"

    @field_validator("spot")
    @classmethod
    def _spot(cls, value: str) -> str:
        if not _SYMBOL.match(value):
            raise ValueError("must be a ccxt spot symbol BASE/QUOTE in capitals, e.g. BTC/USDT")
        return value

    @field_validator("perp")
    @classmethod
    def _perp(cls, value: str) -> str:
        found = _PERP_SYMBOL.match(value)
        if not found:
            raise ValueError("must be a ccxt perpetual symbol BASE/QUOTE:SETTLE in capitals, e.g. BTC/USDT:USDT")
        _, quote, settle = found.groups()
        if settle != quote or quote != "USDT":
            raise ValueError("must be a USDT-margined linear perpetual, BASE/USDT:USDT")
        return value

    @model_validator(mode="after")
    def _same_pair(self) -> PairConfig:
        spot_pair = self.spot
        perp_pair = self.perp.partition(":")[0]
        if perp_pair != spot_pair:
            raise FieldProblem(
                "perp",
                f"must be the perpetual of the spot pair {spot_pair}, i.e. {spot_pair}:{spot_pair.split('/')[1]}"
                f" (got {self.perp})",
                related=("spot",),
            )
        return self


class HedgeConfig(_Section):
    """The default hedge and how its two legs are sent."""

    size_usd: Decimal = Field(default=Decimal("2000"), gt=0)
    leg_mode: Literal["concurrent", "perp_first"] = "concurrent"
    on_leg_failure: Literal["unwind", "complete"] = "unwind"
    # Base-asset inventory the desk holds outside the hedge: the spot leg is the balance less this.
    spot_reserve: Decimal = Field(default=Decimal("0"), ge=0)


class RiskConfig(_Section):
    """Limits the engine checks before every order."""

    max_position_usd: Decimal = Field(default=Decimal("50000"), gt=0)
    # Binance's highest leverage on any USDT-M perpetual.
    max_leverage: Decimal = Field(default=Decimal("5"), gt=0, le=125)
    min_liquidation_distance_pct: Decimal = Field(default=Decimal("20"), ge=0, le=100)
    max_basis_bps: Decimal = Field(default=Decimal("50"), ge=0, le=10_000)
    max_data_age_s: Seconds = Field(default=5.0, gt=0, le=3_600)
    require_positive_funding_for_entry: bool = True


class SlippageConfig(_Section):
    """How much the book may cost an order, and how much deeper than the order it must be."""

    max_bps: Decimal = Field(default=Decimal("15"), gt=0, le=10_000)
    liquidity_multiple: Decimal = Field(default=Decimal("3"), ge=1, le=1_000)
    # Realised slippage this far above the pre-trade estimate raises an alert.
    alert_difference_bps: Decimal = Field(default=Decimal("5"), ge=0, le=10_000)


class DriftConfig(_Section):
    """How far the legs may drift apart before a correction is offered."""

    tolerance_bps: Decimal = Field(default=Decimal("50"), gt=0, le=10_000)


class PerpWatchConfig(_Section):
    """Warning and critical thresholds of the perp leg's margin ratio and distance to liquidation (percent).

    The margin ratio (maintenance margin ÷ margin balance) is worse when higher; the distance to liquidation
    (|mark − liquidation price| ÷ mark) is worse when smaller.
    """

    margin_ratio_warn_pct: Decimal = Field(default=Decimal("50"), gt=0, lt=100)
    margin_ratio_critical_pct: Decimal = Field(default=Decimal("80"), gt=0, le=100)
    liq_distance_warn_pct: Decimal = Field(default=Decimal("15"), gt=0, le=100)
    liq_distance_critical_pct: Decimal = Field(default=Decimal("7"), ge=0, lt=100)

    @model_validator(mode="after")
    def _ordered(self) -> PerpWatchConfig:
        if self.margin_ratio_critical_pct <= self.margin_ratio_warn_pct:
            raise FieldProblem(
                "margin_ratio_critical_pct",
                f"must be above margin_ratio_warn_pct {self.margin_ratio_warn_pct} (a higher ratio is worse)",
                related=("margin_ratio_warn_pct",),
            )
        if self.liq_distance_critical_pct >= self.liq_distance_warn_pct:
            raise FieldProblem(
                "liq_distance_critical_pct",
                f"must be below liq_distance_warn_pct {self.liq_distance_warn_pct} (a smaller distance is worse)",
                related=("liq_distance_warn_pct",),
            )
        return self


class BreakerConfig(_Section):
    """The circuit breaker in front of the exchange."""

    fail_max: Count = Field(default=2, ge=1, le=100)
    reset_timeout_s: Seconds = Field(default=30.0, gt=0, le=86_400)


class TimeoutsConfig(_Section):
    """How long the engine waits for acknowledgements and fills."""

    order_ack_s: Seconds = Field(default=30.0, gt=0, le=3_600)
    fill_s: Seconds = Field(default=60.0, gt=0, le=3_600)
    partial_fill_retries: Count = Field(default=3, ge=0, le=10)
    lookup_grace_s: Seconds = Field(default=3.0, gt=0, le=600)


class MarketDataConfig(_Section):
    """Book depth, staleness and polling periods of the market data service."""

    book_depth: Count = Field(default=20, ge=5, le=1_000)
    stale_after_s: Seconds = Field(default=2.0, gt=0, le=3_600)
    funding_poll_s: Seconds = Field(default=5.0, gt=0, le=3_600)
    account_poll_s: Seconds = Field(default=2.0, gt=0, le=3_600)


class JournalConfig(_Section):
    """Where the journal lives. ``None`` only before loading: the loader fills in the data folder's file."""

    path: Path | None = None


class UIConfig(_Section):
    """The dashboard: theme, repaint rate, key map (always the full effective map after validation), and the
    taker fee rates (in %) its confirmations estimate fees with, since the exchange's are not read."""

    theme: str = "desk-dark"
    refresh_hz: Finite = Field(default=15.0, ge=1, le=60)
    spot_taker_fee_pct: Decimal = Field(default=Decimal("0.1"), ge=0, le=1)
    perp_taker_fee_pct: Decimal = Field(default=Decimal("0.05"), ge=0, le=1)
    keys: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_KEYS))

    @field_validator("theme")
    @classmethod
    def _theme(cls, value: str) -> str:
        if not _THEME_NAME.match(value):
            raise ValueError("must be a theme name such as desk-dark (letters, digits, '-', '_', '.')")
        return value

    @field_validator("keys")
    @classmethod
    def _keys(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(DEFAULT_KEYS))
        if unknown:
            raise FieldProblem(unknown[0], f"unknown action (actions: {', '.join(sorted(DEFAULT_KEYS))})")
        merged = {**DEFAULT_KEYS, **value}
        owner: dict[str, str] = {}
        for action, key in merged.items():
            if not _KEY_NAME.match(key):
                raise FieldProblem(
                    action,
                    f"must be one Textual key name such as e, T, f5, ctrl+e or question_mark (got {key!r})",
                )
            if key in owner:
                first, second = sorted((owner[key], action))
                raise FieldProblem(action, f"{first} and {second} both use the key {key!r}", related=(owner[key],))
            owner[key] = action
        return merged


class AppConfig(_Section):
    """The whole configuration. Load it with :func:`hedgetui.config.loader.load_config`."""

    venue: VenueConfig = Field(default_factory=VenueConfig)
    pair: PairConfig = Field(default_factory=PairConfig)
    hedge: HedgeConfig = Field(default_factory=HedgeConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    slippage: SlippageConfig = Field(default_factory=SlippageConfig)
    drift: DriftConfig = Field(default_factory=DriftConfig)
    perp_watch: PerpWatchConfig = Field(default_factory=PerpWatchConfig)
    breaker: BreakerConfig = Field(default_factory=BreakerConfig)
    timeouts: TimeoutsConfig = Field(default_factory=TimeoutsConfig)
    market_data: MarketDataConfig = Field(default_factory=MarketDataConfig)
    journal: JournalConfig = Field(default_factory=JournalConfig)
    ui: UIConfig = Field(default_factory=UIConfig)

    @model_validator(mode="after")
    def _size_within_limit(self) -> AppConfig:
        if self.hedge.size_usd > self.risk.max_position_usd:
            raise FieldProblem(
                "hedge.size_usd",
                f"{self.hedge.size_usd} is above risk.max_position_usd {self.risk.max_position_usd}",
                related=("risk.max_position_usd",),
            )
        return self
