"""``hedgetui config show|check``: exit codes, one-line errors, --config anywhere, flags, masking, no leaks."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from hedgetui.cli import main
from hedgetui.config.loader import load_config
from tests.config.home import isolate, write

ROOT = Path(__file__).resolve().parents[1]
KEY = "cli-key-QWERTYUIOPASDF-a1b2"
SECRET = "cli-secret-MNBVCXZLKJH-GF99"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return isolate(tmp_path, monkeypatch)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_check_says_ok_with_the_file_or_defaults(
    home: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["config", "check"], capsys) == (0, "config OK (defaults)\n", "")
    default = write(Path(home["XDG_CONFIG_HOME"]) / "hedgetui" / "config.toml", "[hedge]\nsize_usd = 100\n")
    assert run(["config", "check"], capsys) == (0, f"config OK ({default})\n", "")
    chosen = write(tmp_path / "chosen.toml", "[drift]\ntolerance_bps = 25\n")
    assert run(["config", "check", "--config", str(chosen)], capsys) == (0, f"config OK ({chosen})\n", "")


@pytest.mark.parametrize("action", ["check", "show"])
@pytest.mark.parametrize(
    ("toml", "env", "flags", "expected"),
    [
        ("[hedge]\nsize_usd = 0\n", {}, [], "hedgetui: config: hedge.size_usd: must be greater than 0 (got 0) [from"),
        ("[venue]\nmodee = 'live'\n", {}, [], "hedgetui: config: venue.modee: unknown setting; did you mean mode?"),
        ("[venue\n", {}, [], "hedgetui: config: {file}: not valid TOML: Expected ']' at the end of a table"),
        ("", {"HEDGETUI_UI__REFRESH_HZ": "0"}, [], "hedgetui: config: ui.refresh_hz: must be at least 1 (got 0)"),
        ("", {}, ["--mode", "paper"], "hedgetui: config: venue.mode: must be one of sandbox, demo or live (got paper)"),
        (
            "",
            {},
            ["--size-usd", "-5"],
            "hedgetui: config: hedge.size_usd: must be greater than 0 (got -5) [from --size",
        ),
        ("", {}, ["--venue-url", "localhost"], "hedgetui: config: venue.url: must be an http(s)://host:port URL"),
        ("", {}, ["--theme", "a b"], "hedgetui: config: ui.theme: must be a theme name"),
        (
            "",
            {"HEDGETUI_API_KEY": KEY},
            [],
            "hedgetui: secrets: HEDGETUI_API_KEY is set but HEDGETUI_API_SECRET is not",
        ),
        (
            "[venue]\nkey_file = 'keys.toml'\n",
            {},
            [],
            "hedgetui: secrets: key file {dir}/keys.toml has mode 0644: group or others can read it; run chmod 600",
        ),
    ],
)
def test_every_bad_configuration_is_one_line_on_stderr_and_exit_2(
    home: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    action: str,
    toml: str,
    env: dict[str, str],
    flags: list[str],
    expected: str,
) -> None:
    file = write(tmp_path / "c.toml", toml)
    write(tmp_path / "keys.toml", f'api_key = "{KEY}"\napi_secret = "{SECRET}"\n', 0o644)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, out, err = run(["config", action, "--config", str(file), *flags], capsys)
    assert code == 2 and out == ""
    line = one_line(err)
    assert line.startswith(expected.replace("{file}", str(file)).replace("{dir}", str(tmp_path))), line
    assert KEY not in line and SECRET not in line


@pytest.mark.parametrize("where", ["before", "after", "between"])
def test_config_option_works_before_or_after_the_subcommand(
    home: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    bad = write(tmp_path / "bad.toml", "[hedge]\nsize_usd = -1\n")
    argv = {
        "before": ["--config", str(bad), "config", "check"],
        "after": ["config", "check", "--config", str(bad)],
        "between": ["config", "--config", str(bad), "check"],
    }[where]
    code, _, err = run(argv, capsys)
    assert code == 2 and "hedge.size_usd" in one_line(err)


def test_missing_config_file_is_an_error_but_a_missing_default_is_not(
    home: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["config", "show", "--config", str(tmp_path / "nope.toml")], capsys)
    assert code == 2 and one_line(err) == f"hedgetui: config: {tmp_path / 'nope.toml'}: no such file"
    assert run(["config", "show"], capsys)[0] == 0


def test_flags_override_env_and_file_in_show(
    home: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path / "c.toml", '[hedge]\nsize_usd = "3000"\n[ui]\ntheme = "from-file"\n')
    monkeypatch.setenv("HEDGETUI_HEDGE__SIZE_USD", "4000")
    monkeypatch.setenv("HEDGETUI_UI__THEME", "from-env")
    code, out, _ = run(
        ["--config", str(file), "config", "show", "--size-usd", "1234", "--journal", str(tmp_path / "j.db")], capsys
    )
    shown = tomllib.loads(out)
    assert code == 0
    assert shown["hedge"]["size_usd"] == "1234" and shown["ui"]["theme"] == "from-env"
    assert shown["journal"]["path"] == str(tmp_path / "j.db")
    assert 'size_usd = "1234"  # from --size-usd' in out and 'theme = "from-env"  # from HEDGETUI_UI__THEME' in out


def test_venue_url_flag_selects_a_running_sandbox(
    home: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HEDGETUI_VENUE__MODE", "live")
    code, out, _ = run(["config", "show", "--venue-url", "http://127.0.0.1:8765"], capsys)
    shown = tomllib.loads(out)
    assert code == 0 and shown["venue"]["mode"] == "sandbox" and shown["venue"]["url"] == "http://127.0.0.1:8765"
    assert shown["credentials"]["source"] == "sandbox default"


def test_show_masks_the_key_and_the_whole_secret_and_never_logs_them(
    home: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("HEDGETUI_API_KEY", KEY)
    monkeypatch.setenv("HEDGETUI_API_SECRET", SECRET)
    code, out, err = run(["config", "show", "--mode", "live"], capsys)
    assert code == 0 and err == ""
    credentials = tomllib.loads(out)["credentials"]
    assert credentials == {"source": "env", "api_key": "****a1b2", "api_secret": "****"}
    assert run(["config", "check", "--mode", "live"], capsys)[:2] == (0, "config OK (defaults)\n")
    for text in (out, *(r.getMessage() + str(r.args) for r in caplog.records)):
        assert KEY not in text and SECRET not in text
        assert KEY[:-4] not in text and SECRET[-4:] not in text  # nothing but the key's last four


def test_show_output_loads_back_to_the_same_configuration(
    home: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(
        tmp_path / "c.toml", '[venue]\nmode = "demo"\n[ui.keys]\nenter = "E"\n[risk]\nmax_basis_bps = "12.5"\n'
    )
    code, out, _ = run(["config", "show", "--config", str(file)], capsys)
    assert code == 0
    shown = tomllib.loads(out)
    del shown["credentials"]
    again = write(tmp_path / "again.toml", out.split("# Credentials")[0])
    assert load_config(again, home, {}) == load_config(file, home, {})
    assert shown["ui"]["keys"]["enter"] == "E"


def test_live_without_keys_check_fails_and_show_says_none(
    home: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["config", "check", "--mode", "live"], capsys)
    assert code == 2 and out == ""
    line = one_line(err)
    assert line.startswith("hedgetui: secrets: live mode needs API keys and none were found; tried keyring")
    assert "HEDGETUI_API_KEY/HEDGETUI_API_SECRET" in line and "key file" in line
    code, out, err = run(["config", "show", "--mode", "live"], capsys)
    assert code == 0 and err == ""
    assert tomllib.loads(out)["credentials"] == {"source": "none"}
    assert "# live mode will refuse to start; tried keyring (not installed)" in out


def test_show_names_the_key_file_as_the_source(
    home: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = write(
        Path(home["XDG_CONFIG_HOME"]) / "hedgetui" / "keys.toml", f'api_key = "{KEY}"\napi_secret = "{SECRET}"\n'
    )
    keys.chmod(0o600)
    code, out, _ = run(["config", "show", "--mode", "demo"], capsys)
    assert code == 0 and tomllib.loads(out)["credentials"]["source"] == f"file {keys}"
    assert KEY not in out and SECRET not in out


def test_sandbox_subcommand_still_validates_its_own_flags(
    home: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["sandbox", "--latency-ms", "-1"], capsys)
    assert code == 2 and out == "" and one_line(err) == "hedgetui: error: --latency-ms: must be zero or more, got -1"


def test_python_dash_m_hedgetui_in_a_subprocess(home: dict[str, str], tmp_path: Path) -> None:
    env = {
        **home,
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HEDGETUI_API_KEY": KEY,
        "HEDGETUI_API_SECRET": SECRET,
    }
    bad = write(tmp_path / "bad.toml", "[hedge]\nsize_usd = -5\n")
    done = subprocess.run(
        [sys.executable, "-m", "hedgetui", "--config", str(bad), "config", "check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert one_line(done.stderr) == f"hedgetui: config: hedge.size_usd: must be greater than 0 (got -5) [from {bad}]"
    done = subprocess.run(
        [sys.executable, "-m", "hedgetui", "config", "show", "--mode", "live"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and done.stderr == ""
    assert tomllib.loads(done.stdout)["credentials"] == {"source": "env", "api_key": "****a1b2", "api_secret": "****"}
    assert KEY not in done.stdout and SECRET not in done.stdout


@pytest.mark.parametrize("argv", [["tui", "--theme", "nope"], ["demo", "--theme", "nope"]])
def test_an_unknown_theme_is_one_line_and_exit_2_before_connecting(
    home: dict[str, str], capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, _, err = run([*argv, "--venue-url", "http://127.0.0.1:1"] if argv[0] == "tui" else argv, capsys)
    assert code == 2
    assert one_line(err).startswith("hedgetui: error: --theme: unknown theme 'nope' (themes: desk-dark")


def test_a_configuration_error_names_its_source_once(home: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["status", "--config", "/nonexistent/hedgetui.toml"], capsys)
    line = one_line(err)
    assert code == 2 and line == "hedgetui: config: /nonexistent/hedgetui.toml: no such file"
    assert line.count("config:") == 1


def test_the_outcome_of_a_quit_mid_pipeline_is_printed_and_sets_the_exit_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from hedgetui.cli import _print_outcome
    from hedgetui.ui.engine_view import Outcome

    assert _print_outcome(None) == 0 and capsys.readouterr().out == ""
    assert _print_outcome(Outcome("enter abc ended HEDGED: hedged 0.033 BTC", "HEDGED")) == 0
    assert capsys.readouterr().out == "hedgetui: enter abc ended HEDGED: hedged 0.033 BTC\n"
    assert _print_outcome(Outcome("exit abc ended HALTED: perp close unresolved", "HALTED")) == 3
