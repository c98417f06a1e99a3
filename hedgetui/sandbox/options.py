"""Start-up options of the embedded sandbox exchange, validated before anything binds or runs."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from hedgetui.sandbox.model import KNOWN_SYMBOLS

#: Fixed default credentials of the sandbox. They only ever open the embedded exchange.
DEFAULT_API_KEY = "hedgetui-sandbox-key"
DEFAULT_API_SECRET = "hedgetui-sandbox-secret"


class OptionsError(ValueError):
    """A start-up option is invalid; the message is one line naming the option and the problem."""


@dataclass(frozen=True)
class SandboxOptions:
    """Everything needed to start a sandbox exchange.

    ``port`` 0 asks the OS for a free port (tests and ``hedgetui demo`` use that).
    ``tick_ms`` is the interval of the price walk; every tick moves both books and emits depth diffs.
    """

    host: str = "127.0.0.1"
    port: int = 8765
    seed: int = 7
    latency_ms: int = 0
    jitter_ms: int = 0
    tick_ms: int = 100
    symbols: tuple[str, ...] = ("BTCUSDT",)
    api_key: str = DEFAULT_API_KEY
    api_secret: str = DEFAULT_API_SECRET
    spot_usdt: Decimal = Decimal("100000")
    futures_usdt: Decimal = Decimal("100000")
    spot_base: dict[str, Decimal] = field(default_factory=dict)
    allow_remote: bool = False
    strict_client_ids: bool = False
    #: Funding times are the multiples of this since the epoch; Binance's 8 h by default.
    funding_interval_s: int = 8 * 3600

    def validate(self) -> SandboxOptions:
        """Return ``self`` if every option is usable, else raise :class:`OptionsError` with one line."""
        if not 0 <= self.port <= 65535:
            raise OptionsError(f"--port: {self.port} is not a TCP port (0-65535)")
        if self.latency_ms < 0:
            raise OptionsError(f"--latency-ms: must be zero or more, got {self.latency_ms}")
        if self.jitter_ms < 0:
            raise OptionsError(f"--jitter-ms: must be zero or more, got {self.jitter_ms}")
        if self.tick_ms < 1:
            raise OptionsError(f"--tick-ms: must be at least 1, got {self.tick_ms}")
        if self.funding_interval_s < 1:
            raise OptionsError(f"--funding-interval-s: must be at least 1, got {self.funding_interval_s}")
        if not self.symbols:
            raise OptionsError("--symbols: at least one symbol is needed")
        unknown = [s for s in self.symbols if s not in KNOWN_SYMBOLS]
        if unknown:
            known = ", ".join(sorted(KNOWN_SYMBOLS))
            raise OptionsError(f"--symbols: unknown symbol {unknown[0]!r} (known: {known})")
        if len(set(self.symbols)) != len(self.symbols):
            raise OptionsError("--symbols: a symbol is listed twice")
        if self.spot_usdt < 0 or self.futures_usdt < 0:
            raise OptionsError("--spot-usdt/--futures-usdt: starting balances cannot be negative")
        if any(v < 0 for v in self.spot_base.values()):
            raise OptionsError("--spot-base: starting balances cannot be negative")
        if not self.api_key or not self.api_secret:
            raise OptionsError("--api-key/--api-secret: must not be empty")
        if not self.allow_remote and not _is_loopback(self.host):
            raise OptionsError(
                f"--host: {self.host} is not a loopback address; pass --allow-remote to expose the sandbox"
            )
        return self


def parse_decimal(text: str, option: str) -> Decimal:
    """Parse a decimal option value, raising :class:`OptionsError` naming ``option`` when it is not one."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise OptionsError(f"{option}: {text!r} is not a number") from None
    if not value.is_finite():
        raise OptionsError(f"{option}: {text!r} is not a finite number")
    return value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
