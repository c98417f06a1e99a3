"""Loading: defaults, file < environment < flags, paths, and every error as one line naming field and source."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hedgetui.config.loader import ConfigError, load, load_config, render_toml
from hedgetui.config.model import DEFAULT_KEYS, AppConfig
from hedgetui.domain.venue import VenueMode
from tests.config.home import write


def test_defaults(home: dict[str, str]) -> None:
    c = load_config(None, home, {})
    assert c.venue.exchange == "binance" and c.venue.mode is VenueMode.SANDBOX and c.venue.url is None
    assert (c.venue.timeout_ms, c.venue.recv_window_ms, c.venue.verbose) == (10_000, 10_000, False)
    assert (c.pair.spot, c.pair.perp) == ("BTC/USDT", "BTC/USDT:USDT")
    assert (c.hedge.size_usd, c.hedge.leg_mode, c.hedge.on_leg_failure) == (Decimal(2000), "concurrent", "unwind")
    assert (c.risk.max_position_usd, c.risk.max_leverage, c.risk.min_liquidation_distance_pct) == (50_000, 5, 20)
    assert (c.risk.max_basis_bps, c.risk.max_data_age_s, c.risk.require_positive_funding_for_entry) == (50, 5, True)
    assert (c.slippage.max_bps, c.slippage.liquidity_multiple, c.drift.tolerance_bps) == (15, 3, 50)
    assert (c.breaker.fail_max, c.breaker.reset_timeout_s) == (2, 30)
    t = c.timeouts
    assert (t.order_ack_s, t.fill_s, t.partial_fill_retries, t.lookup_grace_s) == (30, 60, 3, 3)
    m = c.market_data
    assert (m.book_depth, m.stale_after_s, m.funding_poll_s, m.account_poll_s) == (20, 2, 5, 2)
    assert (c.ui.theme, c.ui.refresh_hz, c.ui.keys) == ("desk-dark", 15, DEFAULT_KEYS)
    assert c.journal.path == Path(home["XDG_DATA_HOME"]) / "hedgetui" / "journal.sqlite3"
    assert isinstance(c.hedge.size_usd, Decimal) and isinstance(c.risk.max_basis_bps, Decimal)


def test_journal_and_config_fall_back_to_home_without_xdg(home: dict[str, str]) -> None:
    bare = {"HOME": home["HOME"], "XDG_DATA_HOME": "relative/is/ignored"}
    write(Path(home["HOME"]) / ".config" / "hedgetui" / "config.toml", '[ui]\ntheme = "desk-light"\n')
    c = load_config(None, bare, {})
    assert c.journal.path == Path(home["HOME"]) / ".local" / "share" / "hedgetui" / "journal.sqlite3"
    assert c.ui.theme == "desk-light"  # ~/.config/hedgetui/config.toml was read


# (setting, file value, env variable and value, flag override and value, how the loaded value reads)
PRECEDENCE = [
    ("hedge.size_usd", '"3000"', ("HEDGETUI_HEDGE__SIZE_USD", "4000"), "5000", lambda c: c.hedge.size_usd),
    ("venue.mode", '"demo"', ("HEDGETUI_VENUE__MODE", "live"), "sandbox", lambda c: c.venue.mode.value),
    ("ui.theme", '"a"', ("HEDGETUI_UI__THEME", "b"), "c", lambda c: c.ui.theme),
    ("journal.path", '"/j/file"', ("HEDGETUI_JOURNAL__PATH", "/j/env"), "/j/flag", lambda c: str(c.journal.path)),
    ("drift.tolerance_bps", "40", ("HEDGETUI_DRIFT__TOLERANCE_BPS", "30"), "20", lambda c: c.drift.tolerance_bps),
]


@pytest.mark.parametrize(("dotted", "in_file", "in_env", "flag", "read"), PRECEDENCE, ids=[p[0] for p in PRECEDENCE])
def test_precedence_defaults_file_env_flags(
    home: dict[str, str], tmp_path: Path, dotted: str, in_file: str, in_env: tuple[str, str], flag: str, read: object
) -> None:
    assert callable(read)
    section, key = dotted.split(".")
    file = write(tmp_path / "c.toml", f"[{section}]\n{key} = {in_file}\n")
    env = {**home, in_env[0]: in_env[1]}
    default = read(load_config(None, home, {}))
    from_file = read(load_config(file, home, {}))
    from_env = read(load_config(file, env, {}))
    from_flag = read(load_config(file, env, {dotted: flag}))
    assert str(from_file) == in_file.strip('"') != str(default)
    assert str(from_env) == in_env[1]
    assert str(from_flag) == flag
    # Each layer names itself as the source of the value it set.
    assert load(file, env, {dotted: flag}).sources[tuple(dotted.split("."))] == _flag_or_override(dotted)
    assert load(file, env, {}).sources[tuple(dotted.split("."))] == in_env[0]
    assert load(file, home, {}).sources[tuple(dotted.split("."))] == str(file)


def _flag_or_override(dotted: str) -> str:
    return {"hedge.size_usd": "--size-usd", "venue.mode": "--mode", "ui.theme": "--theme"}.get(
        dotted, {"journal.path": "--journal"}.get(dotted, f"override {dotted}")
    )


def test_layers_merge_per_setting_not_per_section(home: dict[str, str], tmp_path: Path) -> None:
    file = write(tmp_path / "c.toml", '[hedge]\nsize_usd = "3000"\nleg_mode = "perp_first"\n')
    c = load_config(file, {**home, "HEDGETUI_HEDGE__ON_LEG_FAILURE": "complete"}, {"hedge.size_usd": "7"})
    assert (c.hedge.size_usd, c.hedge.leg_mode, c.hedge.on_leg_failure) == (Decimal(7), "perp_first", "complete")


def test_default_file_is_read_and_its_absence_is_fine(home: dict[str, str]) -> None:
    assert load(None, home, {}).file is None
    default = write(Path(home["XDG_CONFIG_HOME"]) / "hedgetui" / "config.toml", '[venue]\nmode = "demo"\n')
    loaded = load(None, home, {})
    assert loaded.file == default and loaded.config.venue.mode is VenueMode.DEMO


def test_env_sets_nested_key_map_and_ignores_unrelated_variables(home: dict[str, str]) -> None:
    env = {
        **home,
        "HEDGETUI_UI__KEYS__ENTER": "E",
        "HEDGETUI_UPDATE_SNAPSHOTS": "1",  # a tool switch, not a setting
        "HEDGETUI_API_KEY": "k" * 20,  # credentials are not settings
        "HEDGETUI_API_SECRET": "s" * 20,
        "OTHER__THING": "x",
    }
    c = load_config(None, env, {})
    assert c.ui.keys["enter"] == "E" and c.ui.keys["exit"] == "x"


def test_paths_expand_home_and_resolve_relative_to_their_source(
    home: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc"
    file = write(folder / "c.toml", '[journal]\npath = "j.sqlite3"\n[venue]\nkey_file = "~/k.toml"\n')
    c = load_config(file, home, {})
    assert c.journal.path == folder / "j.sqlite3"  # relative to the config file's folder
    assert c.venue.key_file == Path(home["HOME"]) / "k.toml"
    monkeypatch.chdir(tmp_path)
    assert load_config(file, home, {"journal.path": Path("flag.sqlite3")}).journal.path == tmp_path / "flag.sqlite3"


# (file text, extra env, overrides, the exact error line)
ERRORS = [
    (
        "",
        {"HEDGETUI_HEDGE__SIZE_USD": "-5"},
        {},
        "config: hedge.size_usd: must be greater than 0 (got -5) [from HEDGETUI_HEDGE__SIZE_USD]",
    ),
    ("[hedge]\nsize_usd = 0\n", {}, {}, "config: hedge.size_usd: must be greater than 0 (got 0) [from {file}]"),
    ("", {}, {"hedge.size_usd": "abc"}, "config: hedge.size_usd: must be a number (got abc) [from --size-usd]"),
    ("", {}, {"hedge.size_usd": "NaN"}, "config: hedge.size_usd: must be a finite number (got NaN) [from --size-usd]"),
    (
        "",
        {},
        {"venue.mode": "paper"},
        "config: venue.mode: must be one of sandbox, demo or live (got paper) [from --mode]",
    ),
    (
        "[hedge]\nleg_mode = 'both'\n",
        {},
        {},
        "config: hedge.leg_mode: must be one of concurrent or perp_first (got both) [from {file}]",
    ),
    ("[venue]\nmodee = 'live'\n", {}, {}, "config: venue.modee: unknown setting; did you mean mode? [from {file}]"),
    (
        "[venue]\nzzz = 1\n",
        {},
        {},
        "config: venue.zzz: unknown setting (known: exchange, mode, url, timeout_ms, recv_window_ms, verbose, "
        "key_file, user_stream) [from {file}]",
    ),
    ("[hegde]\nsize_usd = 1\n", {}, {}, "config: hegde: unknown section; did you mean hedge? [from {file}]"),
    ("hedge = 5\n", {}, {}, "config: hedge: must be a table of settings (got 5) [from {file}]"),
    (
        "[breaker]\nfail_max = true\n",
        {},
        {},
        "config: breaker.fail_max: must be a number (got true) [from {file}]",
    ),
    ("", {"HEDGETUI_BREAKER__FAIL_MAX": "1.5"}, {}, "config: breaker.fail_max: must be a whole number (got 1.5) "),
    ("", {"HEDGETUI_VENUE__VERBOSE": "maybe"}, {}, "config: venue.verbose: must be true or false (got maybe) "),
    ("", {"HEDGETUI_TIMEOUTS__FILL_S": "inf"}, {}, "config: timeouts.fill_s: must be a finite number (got inf) "),
    ("[ui]\nrefresh_hz = 500\n", {}, {}, "config: ui.refresh_hz: must be at most 60 (got 500) [from {file}]"),
    ("[ui]\nrefresh_hz = 0.5\n", {}, {}, "config: ui.refresh_hz: must be at least 1 (got 0.5) [from {file}]"),
    ("[ui.keys]\nenter = 'x'\n", {}, {}, "config: ui.keys.exit: enter and exit both use the key 'x' [from {file}]"),
    ("[ui.keys]\nfly = 'z'\n", {}, {}, "config: ui.keys.fly: unknown action (actions: "),
    ("[ui.keys]\nenter = 'a,b'\n", {}, {}, "config: ui.keys.enter: must be one Textual key name such as e"),
    ("[ui]\ntheme = '../x'\n", {}, {}, "config: ui.theme: must be a theme name such as desk-dark"),
    (
        "[pair]\nperp = 'ETH/USDT:USDT'\n",
        {},
        {},
        "config: pair.perp: must be the perpetual of the spot pair BTC/USDT, i.e. BTC/USDT:USDT (got ETH/USDT:USDT) "
        "[from {file}]",
    ),
    ("[pair]\nperp = 'BTC/USD:BTC'\n", {}, {}, "config: pair.perp: must be a USDT-margined linear perpetual"),
    ("[pair]\nspot = 'btc-usdt'\n", {}, {}, "config: pair.spot: must be a ccxt spot symbol BASE/QUOTE"),
    (
        "[venue]\nmode = 'live'\nverbose = true\n",
        {},
        {},
        "config: venue.verbose: must be false in live mode: ccxt's verbose output prints signed requests",
    ),
    ("", {}, {"venue.url": "ftp://x:1"}, "config: venue.url: must be an http(s)://host:port URL"),
    ("", {}, {"venue.url": "http://h:1/api"}, "config: venue.url: must be an http(s)://host:port URL with no path"),
    ("", {}, {"venue.url": "http://h"}, "config: venue.url: must be an http(s)://host:port URL with no path (the port"),
    (
        "",
        {},
        {"venue.url": "http://h:99999"},
        "config: venue.url: must be an http(s)://host:port URL with no path (the",
    ),
    (
        "",
        {"HEDGETUI_VENUE__MODE": "demo"},
        {"venue.url": "http://127.0.0.1:1"},
        "config: venue.url: only allowed in sandbox mode (demo mode uses Binance's own URLs",
    ),
    (
        "",
        {"HEDGETUI_HEDGE__SIZE_USD": "90000"},
        {},
        "config: hedge.size_usd: 90000 is above risk.max_position_usd 50000 [from HEDGETUI_HEDGE__SIZE_USD]",
    ),
    ("", {}, {"journal.path": ""}, "config: journal.path: must be a file path, not empty [from --journal]"),
    ("[venue\nmode = 'live'\n", {}, {}, "config: {file}: not valid TOML: Expected ']' at the end of a table"),
    (
        "[venue]\nmode = 'live'\nmode = 'demo'\n",
        {},
        {},
        "config: {file}: not valid TOML: Cannot overwrite a value (at line 3",
    ),
    (
        "",
        {"HEDGETUI_HEDGE_SIZE_USD": "5"},
        {},
        "config: HEDGETUI_HEDGE_SIZE_USD: not a setting; settings are HEDGETUI_<SECTION>__<KEY> with two "
        "underscores, e.g. HEDGETUI_HEDGE__SIZE_USD",
    ),
    ("", {"HEDGETUI_HEDGE__": "5"}, {}, "config: HEDGETUI_HEDGE__: expected HEDGETUI_<SECTION>__<KEY>"),
    (
        "[ui]\nkeys = 'x'\n",
        {"HEDGETUI_UI__KEYS__ENTER": "e"},
        {},
        "config: ui.keys.enter: ui.keys is a value, not a section [from HEDGETUI_UI__KEYS__ENTER]",
    ),
    (
        "[hedge]\nsize_usd = -1\nleg_mode = 'x'\n[risk]\nmax_leverage = 0\n",
        {},
        {},
        "config: hedge.size_usd: must be greater than 0 (got -1) [from {file}] (and 2 more problems)",
    ),
]


@pytest.mark.parametrize(("toml", "env", "overrides", "expected"), ERRORS)
def test_every_error_is_one_line_naming_field_problem_and_source(
    home: dict[str, str], tmp_path: Path, toml: str, env: dict[str, str], overrides: dict[str, object], expected: str
) -> None:
    file = write(tmp_path / "c.toml", toml)
    with pytest.raises(ConfigError) as info:
        load_config(file, {**home, **env}, overrides)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(expected.replace("{file}", str(file))), message


def test_missing_explicit_file_and_a_folder_are_errors(home: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^config: .*absent\.toml: no such file$"):
        load_config(tmp_path / "absent.toml", home, {})
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config(tmp_path, home, {})
    (Path(home["XDG_CONFIG_HOME"]) / "hedgetui" / "config.toml").mkdir(parents=True)
    with pytest.raises(ConfigError, match=r"config\.toml: not a regular file"):
        load_config(None, home, {})


def test_unreadable_and_non_utf8_files_are_one_line(home: dict[str, str], tmp_path: Path) -> None:
    binary = tmp_path / "b.toml"
    binary.write_bytes(b"[ui]\ntheme = '\xff'\n")
    with pytest.raises(ConfigError, match=r"b\.toml: not UTF-8 text$"):
        load_config(binary, home, {})


def test_journal_path_that_is_a_folder_is_refused(home: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^config: journal.path: .* is a folder, not a file \[from --journal\]$"):
        load_config(None, home, {"journal.path": str(tmp_path)})


def test_show_renders_toml_that_loads_back_to_the_same_configuration(home: dict[str, str], tmp_path: Path) -> None:
    env = {**home, "HEDGETUI_HEDGE__SIZE_USD": "1234.50", "HEDGETUI_UI__KEYS__ENTER": "ctrl+e"}
    loaded = load(None, env, {"venue.url": "http://127.0.0.1:8765/", "venue.mode": "sandbox"})
    text = render_toml(loaded.config, loaded.sources)
    assert 'size_usd = "1234.50"  # from HEDGETUI_HEDGE__SIZE_USD' in text
    assert 'url = "http://127.0.0.1:8765"  # from --venue-url' in text
    assert "# key_file = (not set)" in text and 'enter = "ctrl+e"' in text
    again = load_config(write(tmp_path / "shown.toml", text), home, {})
    assert again == loaded.config


@st.composite
def configs(draw: st.DrawFn) -> dict[str, object]:
    """Valid settings as a TOML-shaped tree."""
    size = draw(st.decimals(min_value=Decimal("0.01"), max_value=Decimal(50_000), places=2))
    actions = list(DEFAULT_KEYS)
    keys = draw(st.permutations(list(DEFAULT_KEYS.values())))
    return {
        "venue": {
            "mode": draw(st.sampled_from(["sandbox", "demo", "live"])),
            "timeout_ms": draw(st.integers(1000, 120_000)),
        },
        "hedge": {"size_usd": str(size), "leg_mode": draw(st.sampled_from(["concurrent", "perp_first"]))},
        "drift": {
            "tolerance_bps": str(draw(st.decimals(min_value=Decimal("0.1"), max_value=Decimal(10_000), places=1)))
        },
        "timeouts": {"fill_s": draw(st.floats(min_value=0.001, max_value=3600, allow_nan=False))},
        "ui": {
            "theme": draw(st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True)),
            "keys": dict(zip(actions, keys, strict=True)),
        },
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=configs())
def test_any_valid_configuration_survives_show_and_reload(home: dict[str, str], tree: dict[str, object]) -> None:
    config = AppConfig.model_validate(tree)
    config.journal.path = Path("/j.sqlite3")
    text = render_toml(config)
    assert AppConfig.model_validate(tomllib.loads(text)) == config


SETTINGS = [
    f"{section}.{key}"
    for section, info in AppConfig.model_fields.items()
    for key in info.annotation.model_fields  # type: ignore[union-attr]
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dotted=st.sampled_from([*SETTINGS, "hedge.nope", "nope.x"]), value=st.text(max_size=30))
@example(dotted="hedge.size_usd", value="0\n")  # "$" once let a final newline into the one-line error
def test_any_environment_value_loads_or_fails_with_one_line_naming_it(
    home: dict[str, str], dotted: str, value: str
) -> None:
    section, key = dotted.split(".")
    name = f"HEDGETUI_{section.upper()}__{key.upper()}"
    try:
        load_config(None, {**home, name: value}, {})
    except ConfigError as exc:
        message = str(exc)
        assert "\n" not in message and "\r" not in message
        assert message.startswith((f"config: {dotted}", f"config: {section}", "config: journal.path")), message
        assert f"[from {name}]" in message or "unknown section" in message or "is a folder" in message
