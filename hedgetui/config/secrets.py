"""API credentials: from the keyring, the environment, or an owner-only key file — never anywhere else.

Order: the keyring (service ``hedgetui``, users ``api_key`` and ``api_secret``; only if the ``keyring``
package is installed), then ``HEDGETUI_API_KEY``/``HEDGETUI_API_SECRET``, then the key file
(``venue.key_file`` or ``<config folder>/keys.toml``). Sandbox mode falls back to the sandbox's fixed keys;
demo and live refuse to start without keys and say which sources were tried.

Keys are held as ``SecretStr`` (masked in repr, str and JSON) and are never written to disk, logs, the
journal or the screen; no message of this module quotes one. A key file anyone but its owner could read
is refused.
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
ENV_KEY = "HEDGETUI_API_KEY"
ENV_SECRET = "HEDGETUI_API_SECRET"
SANDBOX_DEFAULT = "sandbox default"
#: Looks up one keyring entry: ``(service, username) -> password or None`` (``keyring.get_password``).
KeyringLookup = Callable[[str, str], "str | None"]


class SecretsError(ValueError):
    """Credentials are missing or unsafe. The one-line message names sources and files, never a secret."""


class MissingCredentials(SecretsError):
    """Demo or live mode and no source had keys. ``tried`` lists the sources, in the order tried."""

    def __init__(self, message: str, tried: tuple[str, ...]) -> None:
        super().__init__(message)
        self.tried = tried


@dataclass(frozen=True, repr=False)
class Credentials:
    """An API key and secret, and where they came from.

    ``source`` is ``keyring``, ``env``, ``file <path>`` or ``sandbox default``.
    """

    api_key: SecretStr
    api_secret: SecretStr
    source: str

    def masked_key(self) -> str:
        """The key as ``****`` plus at most its last 4 characters (none of a short key), for display."""
        key = self.api_key.get_secret_value()
        return "****" + key[-4:] if len(key) >= 12 else "****"

    @property
    def is_sandbox_default(self) -> bool:
        """True for the sandbox's own fixed keys, which open nothing but the embedded exchange."""
        return (
            self.api_key.get_secret_value() == DEFAULT_API_KEY
            and self.api_secret.get_secret_value() == DEFAULT_API_SECRET
        )

    def __repr__(self) -> str:
        return f"Credentials(api_key='****', api_secret='****', source={self.source!r})"

    __str__ = __repr__


def _make(key: str, secret: str, source: str) -> Credentials:
    for name, value in (("api_key", key), ("api_secret", secret)):
        # A stray space or newline (from copying, or `echo` into a file) would break request signing
        # in a way that looks like a wrong key.
        if any(c.isspace() or not c.isprintable() for c in value):
            raise SecretsError(f"secrets: {name} from {source} contains spaces or control characters")
    log.debug("API credentials from %s", source)
    return Credentials(SecretStr(key), SecretStr(secret), source)


def system_keyring() -> KeyringLookup | None:
    """``keyring.get_password`` if the ``keyring`` package is installed and importable, else None."""
    try:
        import keyring
    except ImportError:
        return None
    except Exception as exc:  # a backend that fails while importing: the same as no keyring
        log.warning("keyring cannot be imported (%s); skipping it", type(exc).__name__)
        return None
    lookup: KeyringLookup = keyring.get_password
    return lookup


def _from_keyring(lookup: KeyringLookup) -> Credentials | None:
    try:
        key = lookup(KEYRING_SERVICE, "api_key")
        secret = lookup(KEYRING_SERVICE, "api_secret")
    except Exception as exc:  # a locked or broken backend is "not set"
        # Only the class name: a backend's message might quote what it was handling.
        log.warning("keyring unavailable (%s); trying the next source", type(exc).__name__)
        return None
    if key and secret:
        return _make(key, secret, "keyring")
    if key or secret:
        missing = "api_secret" if key else "api_key"
        log.warning("keyring service %r has no %s entry; ignoring the keyring", KEYRING_SERVICE, missing)
    return None


def _from_env(env: Mapping[str, str]) -> Credentials | None:
    key, secret = env.get(ENV_KEY, "").strip(), env.get(ENV_SECRET, "").strip()
    if bool(key) != bool(secret):
        given, missing = (ENV_KEY, ENV_SECRET) if key else (ENV_SECRET, ENV_KEY)
        raise SecretsError(f"secrets: {given} is set but {missing} is not: set both or neither")
    return _make(key, secret, "env") if key else None


def read_key_file(path: Path) -> Credentials:
    """Credentials from a TOML key file (``api_key = "..."``, ``api_secret = "..."``).

    The file must be a regular file owned by the current user with no permission for group or others
    (0600 or 0400). Raises :class:`SecretsError` naming the file, never its content.
    """
    try:
        # O_NONBLOCK: a FIFO planted at the path must not hang the program; fstat then refuses it.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise SecretsError(f"secrets: key file {path}: cannot open ({exc.strerror or exc})") from None
    try:
        # Checked on the open file itself, so the file judged is the file read.
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SecretsError(f"secrets: key file {path}: not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise SecretsError(
                f"secrets: key file {path} has mode {mode:04o}: group or others can read it; run chmod 600 {path}"
            )
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise SecretsError(f"secrets: key file {path} belongs to another user (uid {info.st_uid})")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read()
    finally:
        os.close(fd)
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        # Never pass the parser's message on: it can quote the file's content.
        raise SecretsError(
            f'secrets: key file {path}: not valid TOML (expected api_key = "..." and api_secret = "...")'
        ) from None
    unknown = sorted(set(data) - {"api_key", "api_secret"})
    if unknown:
        raise SecretsError(f"secrets: key file {path}: unknown entry {unknown[0]!r} (expected api_key, api_secret)")
    key, secret = data.get("api_key"), data.get("api_secret")
    for name, value in (("api_key", key), ("api_secret", secret)):
        if not isinstance(value, str) or not value.strip():
            raise SecretsError(f"secrets: key file {path}: {name} is missing or not a non-empty string")
    assert isinstance(key, str) and isinstance(secret, str)
    return _make(key.strip(), secret.strip(), f"file {path}")


def resolve_credentials(
    config: AppConfig,
    env: Mapping[str, str] | None = None,
    *,
    keyring_lookup: KeyringLookup | None = None,
    use_system_keyring: bool = True,
) -> Credentials:
    """The API key and secret: keyring, then environment, then key file; sandbox default in sandbox mode.

    ``keyring_lookup`` replaces the system keyring (tests, other stores); ``use_system_keyring=False``
    skips it. Raises :class:`SecretsError` for a half-set environment pair, an unsafe or unreadable key
    file, an explicitly configured key file that does not exist, ``venue.verbose`` with keys other than
    the sandbox's, and (as :class:`MissingCredentials`) demo or live mode without keys.
    """
    env = os.environ if env is None else env
    tried: list[str] = []
    found: Credentials | None = None

    lookup = keyring_lookup if keyring_lookup is not None else (system_keyring() if use_system_keyring else None)
    if lookup is None:
        tried.append("keyring (not installed)" if use_system_keyring else "keyring (skipped)")
    else:
        tried.append(f"keyring (service {KEYRING_SERVICE!r})")
        found = _from_keyring(lookup)

    if found is None:
        tried.append(f"{ENV_KEY}/{ENV_SECRET}")
        found = _from_env(env)

    if found is None:
        key_file = config.venue.key_file or default_key_file(env)
        tried.append(f"key file {key_file}")
        if os.path.lexists(key_file):
            found = read_key_file(key_file)
        elif config.venue.key_file is not None:
            # Named explicitly by the operator: its absence is a mistake, not a reason to look elsewhere.
            raise SecretsError(f"secrets: venue.key_file {key_file}: no such file")

    if found is None:
        if config.venue.mode is VenueMode.SANDBOX:
            found = _make(DEFAULT_API_KEY, DEFAULT_API_SECRET, SANDBOX_DEFAULT)
        else:
            raise MissingCredentials(
                f"secrets: {config.venue.mode.value} mode needs API keys and none were found; tried {', '.join(tried)}",
                tuple(tried),
            )

    if config.venue.verbose and not found.is_sandbox_default:
        # verbose is only valid in sandbox mode (the model checks), but keys given there may be real.
        raise SecretsError(
            f"secrets: venue.verbose is refused with API keys from {found.source}: ccxt's verbose output "
            "would print them; set verbose = false or use the sandbox's own keys"
        )
    return found


__all__ = [
    "Credentials",
    "KeyringLookup",
    "MissingCredentials",
    "RedactingFilter",
    "SecretsError",
    "read_key_file",
    "resolve_credentials",
    "system_keyring",
]
