"""Theme files: shipped themes are valid; broken files are reported once and skipped; choices persist."""

from __future__ import annotations

from pathlib import Path

import pytest

from hedgetui.ui.themes import (
    REQUIRED_VARIABLES,
    load_theme_file,
    load_themes,
    remember_theme,
    remembered_theme,
    shipped_theme_dirs,
)

GOOD = Path(__file__).resolve().parents[2] / "themes" / "desk-dark.toml"


def test_shipped_themes_load_and_define_every_variable() -> None:
    load = load_themes(shipped_theme_dirs())
    assert load.errors == []
    assert {"desk-dark", "desk-light", "desk-high-contrast"} <= set(load.themes)
    for theme in load.themes.values():
        assert set(REQUIRED_VARIABLES) <= set(theme.variables)
        theme.to_color_system()


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        (lambda t: t.replace('primary = "#4C8DDE"', 'primary = "not-a-colour"'), "primary"),
        (lambda t: t.replace('bid = "#3FBF7F"', 'bid = "#12"'), "bid"),
        (lambda t: t.replace('ask = "#F0524F"\n', ""), "missing variables: ask"),
        (lambda t: t + "\nunknown_key = 1\n", "unknown_key"),
        (lambda t: t.replace("[variables]", "[variables"), "not valid TOML"),
    ],
)
def test_broken_theme_is_reported_in_one_line_and_skipped(tmp_path: Path, mutation, expected: str) -> None:
    (tmp_path / "good.toml").write_text(GOOD.read_text().replace("desk-dark", "mine"))
    (tmp_path / "broken.toml").write_text(mutation(GOOD.read_text()))
    load = load_themes([tmp_path])
    assert list(load.themes) == ["mine"]
    assert len(load.errors) == 1
    assert "broken.toml" in load.errors[0] and expected in load.errors[0]
    assert "\n" not in load.errors[0]


def test_user_theme_overrides_shipped_theme_of_the_same_name(tmp_path: Path) -> None:
    (tmp_path / "x.toml").write_text(GOOD.read_text().replace('primary = "#4C8DDE"', 'primary = "#010203"'))
    load = load_themes([*shipped_theme_dirs(), tmp_path])
    assert load.themes["desk-dark"].primary == "#010203"
    assert load.sources["desk-dark"] == tmp_path / "x.toml"


def test_single_file_error_names_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.read_text().replace('name = "desk-dark"', 'name = "has space"'))
    with pytest.raises(ValueError, match=r"bad.toml: name"):
        load_theme_file(bad)


def test_theme_choice_is_remembered(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    assert remembered_theme(env) is None
    remember_theme("desk-light", env)
    assert remembered_theme(env) == "desk-light"
