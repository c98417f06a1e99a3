"""What the venue adapter needs to connect: mode, pair, keys (as SecretStr), URL override, timeouts."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from hedgetui.domain.venue import VenueMode


@dataclass(frozen=True)
class VenueSettings:
    mode: VenueMode
    spot_symbol: str = "BTC/USDT"
    perp_symbol: str = "BTC/USDT:USDT"
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    sandbox_url: str | None = None  # "http://127.0.0.1:PORT" — required in SANDBOX mode
    timeout_ms: int = 10_000
    recv_window_ms: int = 10_000
    verbose: bool = False
    #: ccxt's client-side request spacing in ms (None: ccxt's Binance default, 50 ms; 0: no throttle). The
    #: sandbox has no exchange rate limits, so the demo runs without the throttle.
    rate_limit_ms: int | None = None
    #: The sandbox's own fixed credentials: the only keys with which ``verbose`` may be switched on.
    sandbox_keys: tuple[str, ...] = ()

    def secrets(self) -> tuple[str, ...]:
        """The credential strings, for scrubbing them out of any text that leaves the adapter."""
        return tuple(s.get_secret_value() for s in (self.api_key, self.api_secret) if s is not None)
