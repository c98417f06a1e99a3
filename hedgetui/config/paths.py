"""Where hedgetui keeps the user's files (XDG base directories).

Every function takes the environment as a mapping so that tests (and a caller with a prepared
environment) never touch the real user's folders; ``None`` means ``os.environ``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def home_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$HOME``, or the account's home folder when it is not set."""
    env = os.environ if env is None else env
    return Path(env.get("HOME") or str(Path.home()))


def _xdg(env: Mapping[str, str] | None, name: str, fallback: tuple[str, ...]) -> Path:
    env = os.environ if env is None else env
    value = env.get(name, "")
    # The XDG spec says a relative path in these variables is invalid and must be ignored.
    base = Path(value) if value and Path(value).is_absolute() else home_dir(env).joinpath(*fallback)
    return base / "hedgetui"


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/hedgetui`` or ``~/.config/hedgetui``."""
    return _xdg(env, "XDG_CONFIG_HOME", (".config",))


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/hedgetui`` or ``~/.local/share/hedgetui``."""
    return _xdg(env, "XDG_DATA_HOME", (".local", "share"))


def default_config_file(env: Mapping[str, str] | None = None) -> Path:
    """The configuration file read when no ``--config`` is given: ``<config folder>/config.toml``."""
    return config_dir(env) / "config.toml"


def default_key_file(env: Mapping[str, str] | None = None) -> Path:
    """The key file read when ``venue.key_file`` is not set: ``<config folder>/keys.toml``."""
    return config_dir(env) / "keys.toml"
