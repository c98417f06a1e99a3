"""Theme files: loaded from TOML, validated, registered; the operator's choice is remembered.

Textual's ``Theme`` constructor accepts invalid colours and the app then dies when the theme is
activated, so every file is validated here first (pydantic for the shape, Textual's own colour parser
for every colour, ``to_color_system()`` for the whole theme). A broken file is reported once and skipped;
it never crashes the app.

Search order: the themes shipped with hedgetui, then the user's folder (``$XDG_CONFIG_HOME/hedgetui/themes``
or ``~/.config/hedgetui/themes``). A user theme with the name of a shipped one replaces it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from textual.color import Color, ColorParseError
from textual.theme import Theme

import hedgetui
from hedgetui.config.paths import config_dir

#: Variables every hedgetui theme must define: the colours that carry meaning on the desk.
REQUIRED_VARIABLES: tuple[str, ...] = (
    "bid",
    "ask",
    "bid-bar",
    "ask-bar",
    "ok",
    "warn",
    "danger",
    "stale",
    "breaker-closed",
    "breaker-open",
    "breaker-half-open",
    "badge-sandbox",
    "badge-demo",
    "badge-live",
    "badge-text",
)

DEFAULT_THEME = "desk-dark"

#: Defaults for the variables, used by the app before a theme is active (stylesheets need them to parse).
VARIABLE_DEFAULTS: dict[str, str] = {
    "bid": "#3FBF7F",
    "ask": "#F0524F",
    "bid-bar": "#1D5A3D",
    "ask-bar": "#6B2A2A",
    "ok": "#3FBF7F",
    "warn": "#E5B93B",
    "danger": "#FF3B3B",
    "stale": "#6C7686",
    "breaker-closed": "#3FBF7F",
    "breaker-open": "#FF3B3B",
    "breaker-half-open": "#E5B93B",
    "badge-sandbox": "#2F6FB8",
    "badge-demo": "#8A5CC8",
    "badge-live": "#D81E1E",
    "badge-text": "#FFFFFF",
}


def _check_colour(value: str) -> str:
    try:
        Color.parse(value)
    except ColorParseError as exc:
        raise ValueError(f"{value!r} is not a colour ({exc})") from None
    return value


class ThemeFile(BaseModel):
    """The shape of a theme file. Unknown keys are errors so a typo cannot silently drop a colour."""

    model_config = ConfigDict(extra="forbid")

    name: str
    dark: bool = True
    primary: str
    secondary: str | None = None
    accent: str | None = None
    warning: str | None = None
    error: str | None = None
    success: str | None = None
    foreground: str | None = None
    background: str | None = None
    surface: str | None = None
    panel: str | None = None
    boost: str | None = None
    variables: dict[str, str] = {}

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value or not all(c.isalnum() or c in "-_" for c in value):
            raise ValueError("must be letters, digits, '-' or '_'")
        return value

    @field_validator(
        "primary",
        "secondary",
        "accent",
        "warning",
        "error",
        "success",
        "foreground",
        "background",
        "surface",
        "panel",
        "boost",
    )
    @classmethod
    def _colour(cls, value: str | None) -> str | None:
        return None if value is None else _check_colour(value)

    @field_validator("variables")
    @classmethod
    def _variables(cls, value: dict[str, str]) -> dict[str, str]:
        missing = [v for v in REQUIRED_VARIABLES if v not in value]
        if missing:
            raise ValueError(f"missing variables: {', '.join(missing)}")
        for key, colour in value.items():
            try:
                _check_colour(colour)
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None
        return value

    def to_theme(self) -> Theme:
        """Build the Textual theme and prove it resolves to a colour system."""
        theme = Theme(**self.model_dump())
        theme.to_color_system()
        return theme


@dataclass
class ThemeLoad:
    """What loading found: the valid themes by name and one message per rejected file."""

    themes: dict[str, Theme] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    sources: dict[str, Path] = field(default_factory=dict)


def shipped_theme_dirs() -> list[Path]:
    """Folders holding the themes that ship with hedgetui (installed package, then a source checkout)."""
    package = Path(hedgetui.__file__).resolve().parent
    candidates = [package / "_themes", package.parent / "themes"]
    return [p for p in candidates if p.is_dir()][:1]


def user_theme_dir(env: dict[str, str] | None = None) -> Path:
    return config_dir(env) / "themes"


def load_theme_file(path: Path) -> Theme:
    """Load and validate one theme file; raises ``ValueError`` with one line saying what is wrong."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"theme {path.name}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"theme {path.name}: not valid TOML: {exc}") from None
    try:
        return ThemeFile.model_validate(data).to_theme()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "file"
        raise ValueError(f"theme {path.name}: {where}: {first['msg']}") from None
    except (ColorParseError, ValueError, TypeError) as exc:
        raise ValueError(f"theme {path.name}: {exc}") from None


def load_themes(dirs: Iterable[Path]) -> ThemeLoad:
    """Load every ``*.toml`` theme in ``dirs`` (later folders override earlier ones by name)."""
    result = ThemeLoad()
    for folder in dirs:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                theme = load_theme_file(path)
            except ValueError as exc:
                result.errors.append(str(exc))
                continue
            result.themes[theme.name] = theme
            result.sources[theme.name] = path
    return result


def remembered_theme_path(env: dict[str, str] | None = None) -> Path:
    return config_dir(env) / "theme"


def remember_theme(name: str, env: dict[str, str] | None = None) -> None:
    """Persist the operator's theme choice (one line, in the user's config folder). Best effort."""
    path = remembered_theme_path(env)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name + "\n", encoding="utf-8")
    except OSError:
        # Remembering a colour choice must never disturb a trading session.
        pass


def remembered_theme(env: dict[str, str] | None = None) -> str | None:
    try:
        text = remembered_theme_path(env).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text or None
