"""Credentials: source order, key file permissions, half-set pairs, and no secret ever shown."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from hedgetui.cli import main
from hedgetui.config.loader import load_config
from hedgetui.config.secrets import Credentials, RedactingFilter, SecretsError, resolve_credentials

KEY = "live-key-AKIAVERYSECRET-0123456789"
SECRET = "live-secret-SHOULD-NEVER-BE-SEEN-9876"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_DATA_HOME": str(tmp_path / "data")}
    for name in list(os.environ):
        if name.startswith("HEDGETUI_"):
            monkeypatch.delenv(name)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


def key_file(home: dict[str, str], mode: int, text: str | None = None) -> Path:
    path = Path(home["XDG_CONFIG_HOME"]) / "hedgetui" / "keys.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text is not None else f'api_key = "{KEY}"\napi_secret = "{SECRET}"\n')
    path.chmod(mode)
    return path


def live(home: dict[str, str]):
    return load_config(None, {**home, "HEDGETUI_VENUE__MODE": "live"})


def test_keyring_first_then_env_then_file(home: dict[str, str]) -> None:
    key_file(home, 0o600)
    ring = {("hedgetui", "api_key"): "ring-key-123456", ("hedgetui", "api_secret"): "ring-secret-123456"}
    creds = resolve_credentials(live(home), home, keyring_lookup=lambda s, u: ring.get((s, u)))
    assert creds.source == "keyring"
    env = {**home, "HEDGETUI_API_KEY": KEY, "HEDGETUI_API_SECRET": SECRET}
    assert resolve_credentials(live(home), env, system_keyring=False).source == "env"
    creds = resolve_credentials(live(home), home, system_keyring=False)
    assert creds.source.startswith("file ") and creds.api_key.get_secret_value() == KEY


def test_a_broken_keyring_is_not_set(home: dict[str, str]) -> None:
    def broken(service: str, user: str) -> str:
        raise RuntimeError(f"backend exploded near {SECRET}")

    with pytest.raises(SecretsError) as info:
        resolve_credentials(live(home), home, keyring_lookup=broken)
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_key_file_readable_by_others_is_refused(home: dict[str, str], mode: int) -> None:
    path = key_file(home, mode)
    with pytest.raises(SecretsError) as info:
        resolve_credentials(live(home), home, system_keyring=False)
    assert "chmod 600" in str(info.value) and str(path) in str(info.value) and KEY not in str(info.value)


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_owner_only_key_file_is_accepted(home: dict[str, str], mode: int) -> None:
    key_file(home, mode)
    assert resolve_credentials(live(home), home, system_keyring=False).api_secret.get_secret_value() == SECRET


def test_bad_key_file_content_is_not_echoed(home: dict[str, str]) -> None:
    key_file(home, 0o600, f'api_key = "{KEY}\n')  # unterminated string
    with pytest.raises(SecretsError) as info:
        resolve_credentials(live(home), home, system_keyring=False)
    assert KEY not in str(info.value)


def test_half_set_environment_pair_is_an_error(home: dict[str, str]) -> None:
    with pytest.raises(SecretsError, match="HEDGETUI_API_SECRET"):
        resolve_credentials(live(home), {**home, "HEDGETUI_API_KEY": KEY}, system_keyring=False)


def test_live_without_keys_names_every_source_tried(home: dict[str, str]) -> None:
    with pytest.raises(SecretsError) as info:
        resolve_credentials(live(home), home, system_keyring=False)
    message = str(info.value)
    assert "live mode needs API keys" in message and "HEDGETUI_API_KEY" in message and "key file" in message


def test_sandbox_falls_back_to_the_sandbox_keys(home: dict[str, str]) -> None:
    creds = resolve_credentials(load_config(None, home), home, system_keyring=False)
    assert creds.source == "sandbox default"


def test_secrets_never_appear_in_reprs_logs_or_config_show(
    home: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    creds = Credentials.__new__(Credentials)
    object.__setattr__(creds, "api_key", __import__("pydantic").SecretStr(KEY))
    object.__setattr__(creds, "api_secret", __import__("pydantic").SecretStr(SECRET))
    object.__setattr__(creds, "source", "env")
    for text in (repr(creds), str(creds), f"{creds}", repr(creds.api_key), str(creds.api_secret)):
        assert KEY not in text and SECRET not in text
    monkeypatch.setenv("HEDGETUI_API_KEY", KEY)
    monkeypatch.setenv("HEDGETUI_API_SECRET", SECRET)
    monkeypatch.setenv("HEDGETUI_VENUE__MODE", "live")
    caplog.set_level(logging.DEBUG)
    assert main(["config", "show"]) == 0
    out = capsys.readouterr().out
    assert KEY not in out and SECRET not in out and "****6789" in out
    assert all(KEY not in r.getMessage() and SECRET not in r.getMessage() for r in caplog.records)
    logger = logging.getLogger("hedgetui.test")
    logger.addFilter(RedactingFilter((KEY, SECRET)))
    logger.warning("leaked %s", SECRET)
    assert SECRET not in caplog.records[-1].getMessage()
