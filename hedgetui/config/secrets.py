"""API credentials: from the keyring, the environment, or an owner-only key file — never anywhere else.

Keys are held as ``SecretStr`` (masked in repr, str and JSON), never written to disk, logs, the journal or
the screen. A key file readable by anyone but its owner is refused. Live and demo modes refuse to start
without keys and say which sources were tried; sandbox mode falls back to the sandbox's fixed keys.
"""

from __future__ import annotations

import logging
import os
import stat
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from hedgetui.config.model import AppConfig
from hedgetui.config.paths import default_key_file
from hedgetui.domain.venue import VenueMode
from hedgetui.redaction import RedactingFilter
from hedgetui.sandbox.options import DEFAULT_API_KEY, DEFAULT_API_SECRET

log = logging.getLogger(__name__)
KEYRING_SERVICE = "hedgetui"


class SecretsError(ValueError):
    """Credentials are missing or unsafe. The message names sources and files, never a secret."""


@dataclass(frozen=True)
class Credentials:
    api_key: SecretStr
    api_secret: SecretStr
    source: str  # keyring | env | file <path> | sandbox default

    def masked_key(self) -> str:
        """At most the last 4 characters of the key, for ``config show``."""
        key = self.api_key.get_secret_value()
        return "****" + key[-4:] if len(key) >= 12 else "****"

    def __repr__(self) -> str:
        return f"Credentials(api_key={self.masked_key()!r}, api_secret='****', source={self.source!r})"


def _keyring_lookup() -> Callable[[str, str], str | None] | None:
    try:
        import keyring
    except ImportError:
        return None
    getter: Callable[[str, str], str | None] = keyring.get_password
    return getter


def resolve_credentials(
    config: AppConfig,
    env: Mapping[str, str] | None = None,
    *,
    keyring_lookup: Callable[[str, str], str | None] | None = None,
    system_keyring: bool = True,
) -> Credentials:
    """Find the API key and secret (keyring → environment → key file; sandbox default in sandbox mode).

    ``keyring_lookup`` replaces the system keyring (tests); ``system_keyring=False`` skips it. Raises
    :class:`SecretsError` for half-set or unsafe sources, and for demo/live without keys.
    """
    env = os.environ if env is None else env
    tried: list[str] = []

    lookup = keyring_lookup or (_keyring_lookup() if system_keyring else None)
    if lookup is not None:
        tried.append("keyring")
        try:
            key = lookup(KEYRING_SERVICE, "api_key")
            secret = lookup(KEYRING_SERVICE, "api_secret")
        except Exception as exc:  # a broken keyring backend is "not set", said without any secret
            log.warning("keyring unavailable: %s", type(exc).__name__)
            key = secret = None
        if key and secret:
            return Credentials(SecretStr(key), SecretStr(secret), "keyring")
    else:
        tried.append("keyring (not installed)")

    tried.append("HEDGETUI_API_KEY/HEDGETUI_API_SECRET")
    env_key, env_secret = env.get("HEDGETUI_API_KEY"), env.get("HEDGETUI_API_SECRET")
    if bool(env_key) != bool(env_secret):
        missing = "HEDGETUI_API_SECRET" if env_key else "HEDGETUI_API_KEY"
        raise SecretsError(f"secrets: {missing} is not set while its pair is: set both or neither")
    if env_key and env_secret:
        return Credentials(SecretStr(env_key), SecretStr(env_secret), "env")

    key_file = config.venue.key_file or default_key_file(env)
    tried.append(f"key file {key_file}")
    if key_file.exists():
        return _from_file(key_file)

    if config.venue.mode is VenueMode.SANDBOX:
        return Credentials(SecretStr(DEFAULT_API_KEY), SecretStr(DEFAULT_API_SECRET), "sandbox default")
    raise SecretsError(f"secrets: {config.venue.mode.value} mode needs API keys; tried {', '.join(tried)}")


def _from_file(path: Path) -> Credentials:
    try:
        info = path.stat()
    except OSError as exc:
        raise SecretsError(f"secrets: {path}: cannot read ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise SecretsError(f"secrets: {path}: not a regular file")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise SecretsError(f"secrets: {path}: mode {mode:04o} lets others read it; run chmod 600 {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        # Never echo the parser's message: it may quote the file's content.
        raise SecretsError(f'secrets: {path}: not valid TOML (api_key = "...", api_secret = "...")') from None
    key, secret = data.get("api_key"), data.get("api_secret")
    if not isinstance(key, str) or not isinstance(secret, str) or not key or not secret:
        raise SecretsError(f"secrets: {path}: needs both api_key and api_secret")
    return Credentials(SecretStr(key), SecretStr(secret), f"file {path}")


__all__ = ["Credentials", "RedactingFilter", "SecretsError", "resolve_credentials"]
