"""What every headless command stands on: the configuration read into settings, the usage error, the
operator's confirmation and the session.

Kept apart from the commands themselves because the dashboard (:mod:`hedgetui.wiring`, :mod:`hedgetui.cli`)
builds its stack from the same settings, and every command module raises the same :class:`UsageError`
and asks with the same :func:`confirm`. The configuration becomes settings here, in one place
(:func:`engine_settings`, :func:`market_data_settings`, :func:`venue_settings`, :func:`dashboard_options`).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TextIO

from hedgetui.config.loader import ConfigError, load_config
from hedgetui.config.model import AppConfig
from hedgetui.config.secrets import resolve_credentials
from hedgetui.domain.margin import PerpThresholds
from hedgetui.domain.risk import RiskLimits
from hedgetui.domain.venue import VenueMode
from hedgetui.engine.engine import Engine
from hedgetui.engine.legs import ExecTimeouts
from hedgetui.engine.settings import EngineSettings, LegMode, OnLegFailure
from hedgetui.exchange.market_data import MarketDataSettings
from hedgetui.exchange.settings import VenueSettings
from hedgetui.sandbox.options import DEFAULT_API_KEY, DEFAULT_API_SECRET
from hedgetui.wiring import open_stack


class UsageError(Exception):
    """Bad input or configuration: one line, exit code 2."""


def engine_settings(config: AppConfig) -> EngineSettings:
    """The engine's settings from the configuration."""
    r, t = config.risk, config.timeouts
    return EngineSettings(
        leg_mode=LegMode(config.hedge.leg_mode),
        on_leg_failure=OnLegFailure(config.hedge.on_leg_failure),
        slippage_max_bps=config.slippage.max_bps,
        slippage_alert_bps=config.slippage.alert_difference_bps,
        spot_reserve=config.hedge.spot_reserve,
        spot_taker_fee=config.ui.spot_taker_fee_pct / 100,
        perp_taker_fee=config.ui.perp_taker_fee_pct / 100,
        liquidity_multiple=config.slippage.liquidity_multiple,
        drift_tolerance_bps=config.drift.tolerance_bps,
        risk=RiskLimits(
            max_position_usd=r.max_position_usd,
            max_leverage=r.max_leverage,
            min_liquidation_distance_pct=r.min_liquidation_distance_pct,
            max_basis_bps=r.max_basis_bps,
            max_data_age_s=r.max_data_age_s,
            require_positive_funding_for_entry=r.require_positive_funding_for_entry,
        ),
        perp_watch=PerpThresholds(
            margin_ratio_warn_pct=config.perp_watch.margin_ratio_warn_pct,
            margin_ratio_critical_pct=config.perp_watch.margin_ratio_critical_pct,
            liq_distance_warn_pct=config.perp_watch.liq_distance_warn_pct,
            liq_distance_critical_pct=config.perp_watch.liq_distance_critical_pct,
        ),
        timeouts=ExecTimeouts(
            order_ack_s=t.order_ack_s,
            fill_s=t.fill_s,
            partial_fill_retries=t.partial_fill_retries,
            lookup_grace_s=t.lookup_grace_s,
        ),
        book_depth=100,
    )


def market_data_settings(config: AppConfig) -> MarketDataSettings:
    """The market data service's settings (the dashboard's books keep at least 20 levels)."""
    md = config.market_data
    return MarketDataSettings(
        depth=max(md.book_depth, 20),
        stale_after_s=md.stale_after_s,
        funding_poll_s=md.funding_poll_s,
        account_poll_s=md.account_poll_s,
    )


def stack_options(config: AppConfig) -> dict[str, Any]:
    """Everything :func:`hedgetui.wiring.open_stack` takes from the configuration besides the venue."""
    assert config.journal.path is not None
    return {
        "journal_path": config.journal.path,
        "engine_settings": engine_settings(config),
        "market_data": market_data_settings(config),
        "fail_max": config.breaker.fail_max,
        "reset_timeout_s": config.breaker.reset_timeout_s,
    }


def dashboard_options(config: AppConfig) -> dict[str, object]:
    """The dashboard's settings from the configuration (the markets' places come from their rules)."""
    return {
        "size_usd": config.hedge.size_usd,
        "refresh_hz": config.ui.refresh_hz,
        "theme": config.ui.theme,
        "keys": dict(config.ui.keys),
        "venue_url": config.venue.url if config.venue.mode is VenueMode.SANDBOX else None,
    }


def venue_settings(config: AppConfig, env: dict[str, str]) -> VenueSettings:
    """Venue settings with credentials resolved (raises SecretsError / UsageError)."""
    v = config.venue
    if v.mode is VenueMode.SANDBOX and not v.url:
        raise UsageError("venue: sandbox mode needs the sandbox URL (--venue-url or venue.url)")
    creds = resolve_credentials(config, env)
    return VenueSettings(
        mode=v.mode,
        spot_symbol=config.pair.spot,
        perp_symbol=config.pair.perp,
        api_key=creds.api_key,
        api_secret=creds.api_secret,
        sandbox_url=v.url,
        timeout_ms=v.timeout_ms,
        recv_window_ms=v.recv_window_ms,
        verbose=v.verbose,
        user_stream=v.user_stream,
        sandbox_keys=(DEFAULT_API_KEY, DEFAULT_API_SECRET) if v.mode is VenueMode.SANDBOX else (),
    )


def confirm(mode: VenueMode, plan_text: str, stdin: TextIO, stdout: TextIO, action: str = "send these orders") -> bool:
    """Show the plan and ask to do ``action``. Live needs the word LIVE; anything else (or no terminal) is a no."""
    stdout.write(plan_text.rstrip() + "\n")
    prompt = f"Type LIVE to {action}: " if mode is VenueMode.LIVE else f"{action[:1].upper()}{action[1:]}? [y/N] "
    stdout.write(prompt)
    stdout.flush()
    answer = stdin.readline().strip()
    return answer == "LIVE" if mode is VenueMode.LIVE else answer.lower() in ("y", "yes")


@asynccontextmanager
async def session(config: AppConfig, vsettings: VenueSettings) -> AsyncIterator[Engine]:
    """A headless command's engine, on the dashboard's stack (reconciled on the way in, drained on the way
    out), without the streams a screen needs."""
    async with open_stack(vsettings, **stack_options(config), stream=False) as stack:
        yield stack.engine


def load(args: Any, overrides: dict[str, object]) -> tuple[AppConfig, dict[str, str]]:
    env = dict(os.environ)
    try:
        return load_config(getattr(args, "config", None), env, overrides), env
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
