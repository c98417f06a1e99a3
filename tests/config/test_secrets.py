"""Credentials: source order, the keyring, key file permissions, half-set pairs, and no secret ever shown."""

from __future__ import annotations

import logging
import os
import sys
import types
from pathlib import Path

import pytest

from hedgetui.config.loader import load_config
from hedgetui.config.model import AppConfig
from hedgetui.config.secrets import (
    Credentials,
    MissingCredentials,
    SecretsError,
    resolve_credentials,
    system_keyring,
)
from hedgetui.sandbox.options import DEFAULT_API_KEY, DEFAULT_API_SECRET
from tests.config.home import write

KEY = "live-key-AKIAVERYSECRET-0123456789"
SECRET = "live-secret-SHOULD-NEVER-BE-SEEN-9876"
RING_KEY = "ring-key-ABCDEFGHIJ-4242"
RING_SECRET = "ring-secret-ZYXWVUTSRQ-1717"
ALL_SECRETS = (KEY, SECRET, RING_KEY, RING_SECRET)


def key_file(home: dict[str, str], mode: int, text: str | None = None) -> Path:
    """The default key file with ``text`` (default: KEY and SECRET) and permission ``mode``."""
    body = text if text is not None else f'api_key = "{KEY}"\napi_secret = "{SECRET}"\n'
    return write(Path(home["XDG_CONFIG_HOME"]) / "hedgetui" / "keys.toml", body, mode)


def config(home: dict[str, str], mode: str = "live", **env: str) -> AppConfig:
    return load_config(None, {**home, "HEDGETUI_VENUE__MODE": mode, **env}, {})


def fake_keyring(entries: dict[str, str], error: Exception | None = None) -> types.ModuleType:
    """A stand-in ``keyring`` module with ``get_password`` over ``entries`` (keyed by username)."""
    module = types.ModuleType("keyring")

    def get_password(service: str, username: str) -> str | None:
        if error is not None:
            raise error
        return entries.get(username) if service == "hedgetui" else None

    module.get_password = get_password  # type: ignore[attr-defined]
    return module


@pytest.fixture
def ring(monkeypatch: pytest.MonkeyPatch, home: dict[str, str]) -> dict[str, str]:
    """Install a fake ``keyring`` module holding both entries; returns the entries (editable)."""
    entries = {"api_key": RING_KEY, "api_secret": RING_SECRET}
    monkeypatch.setitem(sys.modules, "keyring", fake_keyring(entries))
    return entries


def test_order_is_keyring_then_env_then_file(home: dict[str, str], ring: dict[str, str]) -> None:
    key_file(home, 0o600)
    env = {**home, "HEDGETUI_API_KEY": "env-key-000000000000", "HEDGETUI_API_SECRET": "env-secret-000000"}
    creds = resolve_credentials(config(home), env)
    assert creds.source == "keyring" and creds.api_key.get_secret_value() == RING_KEY
    ring.clear()  # keyring empty: the environment is next
    creds = resolve_credentials(config(home), env)
    assert creds.source == "env" and creds.api_secret.get_secret_value() == "env-secret-000000"
    creds = resolve_credentials(config(home), home)  # neither: the key file
    assert creds.source == f"file {Path(home['XDG_CONFIG_HOME']) / 'hedgetui' / 'keys.toml'}"
    assert (creds.api_key.get_secret_value(), creds.api_secret.get_secret_value()) == (KEY, SECRET)


def test_without_the_keyring_package_it_is_skipped_and_said_so(home: dict[str, str]) -> None:
    assert system_keyring() is None  # the fixture hides any real keyring
    with pytest.raises(MissingCredentials) as info:
        resolve_credentials(config(home), home)
    assert "keyring (not installed)" in str(info.value)


def test_a_keyring_with_one_entry_is_not_set(
    home: dict[str, str], ring: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    del ring["api_secret"]
    caplog.set_level(logging.DEBUG)
    env = {**home, "HEDGETUI_API_KEY": KEY, "HEDGETUI_API_SECRET": SECRET}
    assert resolve_credentials(config(home), env).source == "env"
    assert any("no api_secret entry" in r.getMessage() for r in caplog.records)
    assert not any(s in r.getMessage() for r in caplog.records for s in ALL_SECRETS)


def test_a_broken_keyring_is_not_set_and_its_message_is_never_logged(
    home: dict[str, str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    broken = fake_keyring({}, error=RuntimeError(f"backend exploded near {RING_SECRET}"))
    monkeypatch.setitem(sys.modules, "keyring", broken)
    caplog.set_level(logging.DEBUG)
    creds = resolve_credentials(config(home, "sandbox"), home)
    assert creds.source == "sandbox default"
    assert any("keyring unavailable (RuntimeError)" in r.getMessage() for r in caplog.records)
    with pytest.raises(MissingCredentials) as info:
        resolve_credentials(config(home), home)
    assert RING_SECRET not in str(info.value)
    assert not any(RING_SECRET in r.getMessage() or RING_SECRET in str(r.args) for r in caplog.records)


def test_an_injected_lookup_replaces_the_system_keyring(home: dict[str, str], ring: dict[str, str]) -> None:
    table = {("hedgetui", "api_key"): "other-key-1234567890", ("hedgetui", "api_secret"): "other-secret-12345"}
    creds = resolve_credentials(config(home), home, keyring_lookup=lambda s, u: table.get((s, u)))
    assert creds.api_key.get_secret_value() == "other-key-1234567890"
    with pytest.raises(MissingCredentials, match=r"keyring \(skipped\)"):
        resolve_credentials(config(home), home, use_system_keyring=False)


@pytest.mark.parametrize(("given", "missing"), [("KEY", "HEDGETUI_API_SECRET"), ("SECRET", "HEDGETUI_API_KEY")])
def test_half_set_environment_pair_is_an_error_in_every_mode(home: dict[str, str], given: str, missing: str) -> None:
    env = {**home, f"HEDGETUI_API_{given}": KEY}
    for mode in ("sandbox", "demo", "live"):
        with pytest.raises(SecretsError) as info:
            resolve_credentials(config(home, mode), env)
        message = str(info.value)
        assert f"but {missing} is not: set both or neither" in message and KEY not in message
        assert "\n" not in message


def test_blank_environment_values_are_not_set(home: dict[str, str]) -> None:
    env = {**home, "HEDGETUI_API_KEY": "  ", "HEDGETUI_API_SECRET": ""}
    assert resolve_credentials(config(home, "sandbox"), env).source == "sandbox default"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o610, 0o666])
def test_key_file_readable_or_usable_by_others_is_refused(home: dict[str, str], mode: int) -> None:
    path = key_file(home, mode)
    with pytest.raises(SecretsError) as info:
        resolve_credentials(config(home), home)
    message = str(info.value)
    assert message == (
        f"secrets: key file {path} has mode {mode:04o}: group or others can read it; run chmod 600 {path}"
    )
    assert KEY not in message and SECRET not in message


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o700])
def test_owner_only_key_file_is_accepted(home: dict[str, str], mode: int) -> None:
    key_file(home, mode)
    creds = resolve_credentials(config(home), home)
    assert creds.api_key.get_secret_value() == KEY and creds.api_secret.get_secret_value() == SECRET


def test_the_configured_key_file_is_used_and_must_exist(home: dict[str, str], tmp_path: Path) -> None:
    path = write(tmp_path / "mine.toml", f'api_key = "{KEY}"\napi_secret = "{SECRET}"\n', 0o600)
    assert resolve_credentials(config(home, HEDGETUI_VENUE__KEY_FILE=str(path)), home).source == f"file {path}"
    absent = tmp_path / "absent.toml"
    with pytest.raises(SecretsError, match=f"^secrets: venue.key_file {absent}: no such file$"):
        resolve_credentials(config(home, "sandbox", HEDGETUI_VENUE__KEY_FILE=str(absent)), home)


def test_key_file_that_is_not_a_regular_file_is_refused(home: dict[str, str], tmp_path: Path) -> None:
    folder = Path(home["XDG_CONFIG_HOME"]) / "hedgetui" / "keys.toml"
    folder.mkdir(parents=True)
    with pytest.raises(SecretsError, match="not a regular file"):
        resolve_credentials(config(home), home)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)  # opening a FIFO for reading would block without O_NONBLOCK
    with pytest.raises(SecretsError, match="not a regular file"):
        resolve_credentials(config(home, HEDGETUI_VENUE__KEY_FILE=str(fifo)), home)


def test_a_symlink_is_judged_by_the_file_it_points_to(home: dict[str, str], tmp_path: Path) -> None:
    target = write(tmp_path / "real.toml", f'api_key = "{KEY}"\napi_secret = "{SECRET}"\n', 0o644)
    link = Path(home["XDG_CONFIG_HOME"]) / "hedgetui" / "keys.toml"
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    with pytest.raises(SecretsError, match="mode 0644"):
        resolve_credentials(config(home), home)
    target.chmod(0o600)
    assert resolve_credentials(config(home), home).api_key.get_secret_value() == KEY
    link.unlink()
    link.symlink_to(tmp_path / "dangling.toml")
    with pytest.raises(SecretsError, match="cannot open"):
        resolve_credentials(config(home), home)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (f'api_key = "{KEY}\n', "not valid TOML"),  # unterminated: the parser would quote the line
        (f'api_key = "{KEY}"\n', "api_secret is missing"),
        (f'api_key = "{KEY}"\napi_secret = 5\n', "api_secret is missing or not a non-empty string"),
        (f'api_key = "{KEY}"\napi_secret = "{SECRET}"\nsecret = "{SECRET}"\n', "unknown entry 'secret'"),
        (f'api_key = "{KEY} x"\napi_secret = "{SECRET}"\n', "api_key from file"),
    ],
)
def test_bad_key_file_content_is_refused_without_echoing_it(home: dict[str, str], text: str, fragment: str) -> None:
    key_file(home, 0o600, text)
    with pytest.raises(SecretsError) as info:
        resolve_credentials(config(home), home)
    assert fragment in str(info.value) and KEY not in str(info.value) and SECRET not in str(info.value)


@pytest.mark.parametrize("mode", ["demo", "live"])
def test_demo_and_live_without_keys_name_every_source_tried(home: dict[str, str], mode: str) -> None:
    with pytest.raises(MissingCredentials) as info:
        resolve_credentials(config(home, mode), home)
    path = Path(home["XDG_CONFIG_HOME"]) / "hedgetui" / "keys.toml"
    assert str(info.value) == (
        f"secrets: {mode} mode needs API keys and none were found; tried keyring (not installed), "
        f"HEDGETUI_API_KEY/HEDGETUI_API_SECRET, key file {path}"
    )
    assert info.value.tried == ("keyring (not installed)", "HEDGETUI_API_KEY/HEDGETUI_API_SECRET", f"key file {path}")


def test_sandbox_falls_back_to_the_sandbox_keys_but_prefers_given_ones(home: dict[str, str]) -> None:
    creds = resolve_credentials(config(home, "sandbox"), home)
    assert creds.source == "sandbox default" and creds.is_sandbox_default
    assert creds.api_key.get_secret_value() == DEFAULT_API_KEY
    assert creds.api_secret.get_secret_value() == DEFAULT_API_SECRET
    env = {**home, "HEDGETUI_API_KEY": KEY, "HEDGETUI_API_SECRET": SECRET}
    assert resolve_credentials(config(home, "sandbox"), env).source == "env"


def test_verbose_is_refused_with_keys_that_may_be_real(home: dict[str, str]) -> None:
    verbose = config(home, "sandbox", HEDGETUI_VENUE__VERBOSE="true")
    assert resolve_credentials(verbose, home).is_sandbox_default  # the sandbox's own keys: allowed
    env = {**home, "HEDGETUI_API_KEY": KEY, "HEDGETUI_API_SECRET": SECRET}
    with pytest.raises(SecretsError, match=r"venue\.verbose is refused with API keys from env") as info:
        resolve_credentials(verbose, env)
    assert KEY not in str(info.value)


def test_masked_key_shows_at_most_the_last_four() -> None:
    from pydantic import SecretStr

    def masked(key: str) -> str:
        return Credentials(SecretStr(key), SecretStr("s"), "env").masked_key()

    assert masked(KEY) == "****6789"
    assert masked("short-key") == "****"  # a short key would be too guessable from its tail
    assert masked("") == "****"


def test_secrets_never_appear_in_reprs_messages_or_logs(
    home: dict[str, str], ring: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ring.clear()
    key_file(home, 0o600)
    found = [
        resolve_credentials(config(home), {**home, "HEDGETUI_API_KEY": KEY, "HEDGETUI_API_SECRET": SECRET}),
        resolve_credentials(config(home), home),
    ]
    ring.update(api_key=RING_KEY, api_secret=RING_SECRET)
    found.append(resolve_credentials(config(home), home))
    assert [c.source.split()[0] for c in found] == ["env", "file", "keyring"]
    texts = [repr(c) for c in found] + [str(c) for c in found] + [f"{c}" for c in found]
    texts += [repr(c.api_key) + str(c.api_secret) + repr(c.__dict__) for c in found]
    texts += [repr(config(home)), str(config(home))]
    texts += [r.getMessage() + str(r.args) for r in caplog.records]
    assert any("API credentials from" in r.getMessage() for r in caplog.records)
    for text in texts:
        for secret in ALL_SECRETS:
            assert secret not in text


def test_key_file_owned_by_another_user_is_refused(home: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    path = key_file(home, 0o600)
    owner = path.stat().st_uid
    monkeypatch.setattr(os, "getuid", lambda: owner + 1)  # as if another account ran hedgetui
    with pytest.raises(SecretsError, match=f"key file {path} belongs to another user"):
        resolve_credentials(config(home), home)
