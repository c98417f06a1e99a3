"""Configuration: precedence, every error path as one line, defaults, and the CLI commands."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from hedgetui.cli import main
from hedgetui.config.loader import ConfigError, load_config
from hedgetui.domain.venue import VenueMode

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An isolated HOME/XDG so the real user's files are never read."""
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_DATA_HOME": str(tmp_path / "data")}
    for name in list(__import__("os").environ):
        if name.startswith("HEDGETUI_"):
            monkeypatch.delenv(name)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults(home: dict[str, str]) -> None:
    c = load_config(None, home)
    assert c.venue.mode is VenueMode.SANDBOX and c.hedge.size_usd == Decimal("2000")
    assert c.timeouts.order_ack_s == 30 and c.timeouts.fill_s == 60 and c.timeouts.partial_fill_retries == 3
    assert c.drift.tolerance_bps == 50 and c.breaker.fail_max == 2 and c.breaker.reset_timeout_s == 30
    assert c.journal.path == Path(home["XDG_DATA_HOME"]) / "hedgetui" / "journal.sqlite3"


def test_precedence_file_then_env_then_flags(home: dict[str, str], tmp_path: Path) -> None:
    f = write(
        tmp_path / "c.toml", '[hedge]\nsize_usd = "3000"\n[drift]\ntolerance_bps = 40\n[ui]\ntheme = "desk-light"\n'
    )
    env = {**home, "HEDGETUI_HEDGE__SIZE_USD": "4000", "HEDGETUI_DRIFT__TOLERANCE_BPS": "30"}
    c = load_config(f, env, {"hedge.size_usd": "5000"})
    assert c.hedge.size_usd == Decimal("5000")  # flag beats env beats file
    assert c.drift.tolerance_bps == Decimal("30")  # env beats file
    assert c.ui.theme == "desk-light"  # file beats defaults
    default_file = write(Path(home["XDG_CONFIG_HOME"]) / "hedgetui" / "config.toml", '[venue]\nmode = "demo"\n')
    assert load_config(None, home).venue.mode is VenueMode.DEMO
    default_file.unlink()


@pytest.mark.parametrize(
    ("toml", "env", "fragment"),
    [
        ("[hedge]\nsize_usd = -5\n", {}, "hedge.size_usd: Input should be greater than 0"),
        ("[hedge]\nsize_usd = 'abc'\n", {}, "hedge.size_usd"),
        ("[venue]\nmode = 'paper'\n", {}, "venue.mode"),
        ("[venue]\nmodee = 'live'\n", {}, "venue.modee: unknown setting"),
        ("[nonsense]\nx = 1\n", {}, "nonsense: unknown setting"),
        ("[venue\nmode = 'live'\n", {}, "not valid TOML"),
        ("[ui]\nrefresh_hz = 500\n", {}, "ui.refresh_hz"),
        ("[ui.keys]\nenter = 'x'\n", {}, "both use the key 'x'"),
        ("[ui.keys]\nfly = 'z'\n", {}, "unknown action 'fly'"),
        ("[pair]\nperp = 'ETH/USDT:USDT'\n", {}, "perp must be the BTC/USDT linear perpetual"),
        ("[venue]\nmode = 'live'\nverbose = true\n", {}, "verbose"),
        ("[venue]\nurl = 'ftp://x'\n", {}, "venue.url"),
        ("", {"HEDGETUI_BREAKER__FAIL_MAX": "0"}, "[from HEDGETUI_BREAKER__FAIL_MAX]"),
        ("", {"HEDGETUI_HEDGE__SIZE_USD": "90000"}, "above risk.max_position_usd"),
    ],
)
def test_every_error_is_one_line_naming_the_field(
    home: dict[str, str], tmp_path: Path, toml: str, env: dict[str, str], fragment: str
) -> None:
    f = write(tmp_path / "c.toml", toml)
    with pytest.raises(ConfigError) as info:
        load_config(f, {**home, **env})
    message = str(info.value)
    assert fragment in message and "\n" not in message and message.startswith("config: ")


def test_missing_explicit_file_is_an_error(home: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.toml", home)


def test_config_check_and_show_via_the_cli(
    home: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "check"]) == 0
    assert "config OK" in capsys.readouterr().out
    bad = write(tmp_path / "bad.toml", "[hedge]\nsize_usd = 0\n")
    assert main(["config", "check", "--config", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "hedge.size_usd" in err[0]
    assert main(["--config", str(bad), "config", "show"]) == 2  # --config before the subcommand works too
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert main(["config", "show", "--size-usd", "1234"]) == 0
    out = capsys.readouterr().out
    assert 'size_usd = "1234"' in out and "credentials_source" in out


def test_python_dash_m_config_check_in_a_subprocess(home: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hedgetui", "config", "check", "--mode", "paper"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**home, "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "venue.mode" in done.stderr
