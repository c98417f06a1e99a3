"""Where hedgetui keeps the user's files (XDG base directories)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def _home(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or str(Path.home()))


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/hedgetui`` or ``~/.config/hedgetui``."""
    env = os.environ if env is None else env
    return Path(env.get("XDG_CONFIG_HOME") or _home(env) / ".config") / "hedgetui"


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/hedgetui`` or ``~/.local/share/hedgetui``."""
    env = os.environ if env is None else env
    return Path(env.get("XDG_DATA_HOME") or _home(env) / ".local" / "share") / "hedgetui"


def default_config_file(env: Mapping[str, str] | None = None) -> Path:
    return config_dir(env) / "config.toml"


def default_key_file(env: Mapping[str, str] | None = None) -> Path:
    return config_dir(env) / "keys.toml"
