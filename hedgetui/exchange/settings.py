"""What the venue adapter needs to connect: mode, pair, keys (as SecretStr), URL override, timeouts."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pydantic import SecretStr

from hedgetui.domain.venue import VenueMode
from hedgetui.exchange.errors import VenueConfigError

#: Binance refuses a recvWindow over 60 s (-1131).
MAX_RECV_WINDOW_MS = 60_000


@dataclass(frozen=True)
class VenueSettings:
    """Connection settings of one venue. Keys are SecretStr so that repr/str never show them."""

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
    #: Keep the user data streams (``hedgetui.exchange.user_data``): fills confirmed by their events, the
    #: account read from the stream while it is fresh. False: everything over REST, as polling.
    user_stream: bool = True
    #: The sandbox's own fixed credentials: the only keys with which ``verbose`` may be switched on.
    #: Kept out of repr all the same: a repr is no place for anything key-shaped.
    sandbox_keys: tuple[str, ...] = field(default=(), repr=False)

    def secrets(self) -> tuple[str, ...]:
        """The credential strings, for scrubbing them out of any text that leaves the adapter."""
        return tuple(s.get_secret_value() for s in (self.api_key, self.api_secret) if s is not None)

    def has_real_keys(self) -> bool:
        """True when a key or secret is set that is not one of the sandbox's own fixed credentials."""
        return any(s not in self.sandbox_keys for s in self.secrets())

    def validate(self) -> VenueSettings:
        """Return ``self`` when usable, else raise :class:`VenueConfigError` with one clear line."""
        url = self.sandbox_url
        if self.mode is VenueMode.SANDBOX:
            if not url:
                raise VenueConfigError("venue: sandbox mode needs the sandbox URL (http://HOST:PORT)")
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise VenueConfigError(f"venue: sandbox URL {url!r} is not http(s)://HOST:PORT")
            if parts.path.strip("/") or parts.query or parts.fragment:
                raise VenueConfigError(f"venue: sandbox URL {url!r} must not carry a path or query")
        elif url:
            # A sandbox URL in demo/live would be silently ignored: say so rather than trade somewhere else.
            raise VenueConfigError(f"venue: a sandbox URL is only for sandbox mode, not {self.mode.value}")
        if (self.api_key is None) != (self.api_secret is None):
            raise VenueConfigError("venue: give both the API key and the secret, or neither")
        if self.timeout_ms <= 0:
            raise VenueConfigError(f"venue: timeout_ms must be positive, got {self.timeout_ms}")
        if not 0 < self.recv_window_ms <= MAX_RECV_WINDOW_MS:
            window = self.recv_window_ms
            raise VenueConfigError(f"venue: recv_window_ms must be 1..{MAX_RECV_WINDOW_MS}, got {window}")
        if self.rate_limit_ms is not None and self.rate_limit_ms < 0:
            raise VenueConfigError(f"venue: rate_limit_ms cannot be negative, got {self.rate_limit_ms}")
        if self.verbose and (self.mode is not VenueMode.SANDBOX or self.has_real_keys()):
            # ccxt's verbose output goes through print() with the request headers, X-MBX-APIKEY included:
            # no logging filter can catch it.
            raise VenueConfigError(
                "venue: ccxt verbose output prints request headers (the API key); it is refused in "
                f"{self.mode.value} mode and with any keys but the sandbox's own"
            )
        return self
