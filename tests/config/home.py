"""An isolated user environment for configuration tests: the real user's files and keyring are never read."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest


def isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point HOME and the XDG folders into ``tmp_path``, drop every ``HEDGETUI_`` variable, hide keyring.

    Returns the environment as a dict (what ``load_config`` is given); ``os.environ`` is patched to match
    so that code reading it (the CLI) sees the same.
    """
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / "cfg"), "XDG_DATA_HOME": str(home / "data")}
    for name in list(os.environ):
        if name.startswith("HEDGETUI_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # None in sys.modules makes `import keyring` raise ImportError: a real backend is never asked.
    monkeypatch.setitem(sys.modules, "keyring", None)
    return env


def write(path: Path, text: str, mode: int | None = None) -> Path:
    """Write ``text`` to ``path`` (making its folder), optionally with a permission mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if mode is not None:
        path.chmod(mode)
    return path
