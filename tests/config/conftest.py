"""Fixtures shared by the configuration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config.home import isolate


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An isolated HOME/XDG environment (see :func:`tests.config.home.isolate`)."""
    return isolate(tmp_path, monkeypatch)
