"""Loading the configuration: defaults < TOML file < ``HEDGETUI_<SECTION>__<KEY>`` < command-line flags.

Any invalid value becomes one :class:`ConfigError` line naming the field, the problem and where the value
came from. ``render_toml`` prints the effective configuration (``hedgetui config show``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from hedgetui.config.model import AppConfig
from hedgetui.config.paths import data_dir, default_config_file

ENV_PREFIX = "HEDGETUI_"
#: Environment variables that are not settings (credentials are resolved separately, never stored here).
NOT_SETTINGS = {"HEDGETUI_API_KEY", "HEDGETUI_API_SECRET", "HEDGETUI_PROPERTY_EXAMPLES"}


class ConfigError(ValueError):
    """An invalid configuration. ``str()`` is one line: ``config: <field>: <problem> [from <source>]``."""


def _set(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = tree
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"config: {'.'.join(path)}: {part} is not a section")
        node = child
    node[path[-1]] = value


def _leaves(tree: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    out: list[tuple[tuple[str, ...], Any]] = []
    for key, value in tree.items():
        if isinstance(value, Mapping) and not (prefix == ("ui",) and key == "keys" and not value):
            out += _leaves(value, (*prefix, key))
        else:
            out.append(((*prefix, key), value))
    return out


def load_config(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, object] | None = None,
) -> AppConfig:
    """The one way the program reads its configuration. Raises :class:`ConfigError` (one line)."""
    env = dict(env or {})
    merged: dict[str, Any] = {}
    sources: dict[tuple[str, ...], str] = {}

    file = path if path is not None else default_config_file(env)
    if path is not None and not path.is_file():
        raise ConfigError(f"config: {path}: no such file")
    if file.is_file():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config: {file}: not valid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config: {file}: cannot read: {exc}") from None
        for leaf, value in _leaves(data):
            _set(merged, leaf, value)
            sources[leaf] = str(file)

    for name, value in sorted(env.items()):
        if not name.startswith(ENV_PREFIX) or name in NOT_SETTINGS:
            continue
        parts = tuple(p.lower() for p in name[len(ENV_PREFIX) :].split("__"))
        if len(parts) < 2 or not all(parts):
            raise ConfigError(f"config: {name}: expected HEDGETUI_<SECTION>__<KEY>")
        _set(merged, parts, value)
        sources[parts] = name

    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        leaf = tuple(dotted.split("."))
        _set(merged, leaf, value)
        sources[leaf] = "command line"

    try:
        config = AppConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc, sources)) from None
    if config.journal.path is None:
        config.journal.path = data_dir(env) / "journal.sqlite3"
    return config


def _one_line(exc: ValidationError, sources: Mapping[tuple[str, ...], str]) -> str:
    err = exc.errors()[0]
    loc = tuple(str(p) for p in err["loc"])
    field = ".".join(loc) or "config"
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown setting"
    got = err.get("input")
    shown = "" if isinstance(got, (dict, list)) or err["type"] == "extra_forbidden" else f" (got {got!r})"
    source = sources.get(loc)
    if source is None:
        # Model-level checks name no single field: name the first source inside the section.
        source = next((s for k, s in sources.items() if k[: len(loc)] == loc), None) if loc else None
    where = f" [from {source}]" if source else ""
    return f"config: {field}: {message}{shown}{where}"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, Decimal):
        return f'"{value}"'
    if isinstance(value, Enum):
        return f'"{value.value}"'
    if isinstance(value, dict):
        return "{ " + ", ".join(f'{k} = "{v}"' for k, v in value.items()) + " }" if value else "{}"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def render_toml(config: BaseModel, extra: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """The effective configuration as TOML (unset optional values shown as comments)."""
    lines: list[str] = []
    for section, model in config:
        lines.append(f"[{section}]")
        assert isinstance(model, BaseModel)
        for key, value in model:
            if value is None:
                lines.append(f"# {key} = (not set)")
            else:
                lines.append(f"{key} = {_toml_value(value)}")
        for key, value in (extra or {}).get(section, {}).items():
            lines.append(f"{key} = {value}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
