"""Loading the configuration: defaults < TOML file < ``HEDGETUI_<SECTION>__<KEY>`` < command-line flags.

:func:`load_config` is the one way the program reads its configuration. Any invalid value becomes a
:class:`ConfigError` whose message is one line naming the field, the problem and where the value came
from, e.g. ``config: hedge.size_usd: must be greater than 0 (got -5) [from HEDGETUI_HEDGE__SIZE_USD]``.
:func:`render_toml` prints the effective configuration for ``hedgetui config show``.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from hedgetui.config.model import AppConfig, FieldProblem
from hedgetui.config.paths import data_dir, default_config_file, home_dir

ENV_PREFIX = "HEDGETUI_"
#: ``HEDGETUI_`` variables that are not settings: credentials are resolved separately, never stored here.
NOT_SETTINGS = frozenset({"HEDGETUI_API_KEY", "HEDGETUI_API_SECRET"})

#: Command-line flags that override a setting: argparse ``dest`` -> (flag, dotted setting).
FLAG_SETTINGS: dict[str, tuple[str, str]] = {
    "mode": ("--mode", "venue.mode"),
    "venue_url": ("--venue-url", "venue.url"),
    "size_usd": ("--size-usd", "hedge.size_usd"),
    "journal": ("--journal", "journal.path"),
    "theme": ("--theme", "ui.theme"),
}
_FLAG_FOR = {dotted: flag for flag, dotted in FLAG_SETTINGS.values()}
# Settings holding a file path: "~" is expanded, and a relative path in the config file is taken relative
# to that file's folder (where the operator wrote it), one from the environment or a flag to the cwd.
_PATH_SETTINGS = {("venue", "key_file"), ("journal", "path")}
_PLAIN = re.compile(r"[\w.:/+\-@~]+")


class ConfigError(ValueError):
    """An invalid configuration. ``str()`` is one line: ``config: <field>: <problem> [from <source>]``."""


@dataclass(frozen=True)
class LoadedConfig:
    """A validated configuration with where it came from.

    ``file`` is the TOML file read (``None``: no file, defaults); ``sources`` maps each setting given
    explicitly (``("hedge", "size_usd")``) to its source: the file's path, the environment variable's
    name or the flag.
    """

    config: AppConfig
    file: Path | None
    sources: Mapping[tuple[str, ...], str] = field(default_factory=dict)


def config_file(path: Path | None, env: Mapping[str, str] | None = None) -> Path | None:
    """The TOML file to read: ``path`` (which must exist), else the default file if it exists, else None."""
    if path is not None:
        if not path.exists():
            raise ConfigError(f"config: {path}: no such file")
        if not path.is_file():
            raise ConfigError(f"config: {path}: not a regular file")
        return path
    default = default_config_file(env)
    if default.exists() and not default.is_file():
        raise ConfigError(f"config: {default}: not a regular file")
    return default if default.is_file() else None


def load_config(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, object] | None = None,
) -> AppConfig:
    """The one way the program reads its configuration. Raises :class:`ConfigError` (one line).

    ``path`` is ``--config`` (None: the default file, if any); ``env`` the environment (None:
    ``os.environ``); ``overrides`` maps dotted settings (``"hedge.size_usd"``) to flag values, None meaning
    "flag not given".
    """
    return load(path, env, overrides).config


def load(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, object] | None = None,
) -> LoadedConfig:
    """Like :func:`load_config`, and also say which file was read and where each value came from."""
    env = os.environ if env is None else env
    merged: dict[str, Any] = {}
    sources: dict[tuple[str, ...], str] = {}

    file = config_file(path, env)
    if file is not None:
        for leaf, value in _leaves(_read_toml(file)):
            value = _path_value(leaf, value, env, file.parent, str(file))
            _set(merged, sources, leaf, value, str(file))

    for name, text in sorted(env.items()):
        setting = _env_setting(name)
        if setting is not None:
            _set(merged, sources, setting, _path_value(setting, text, env, None, name), name)

    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        leaf = tuple(dotted.split("."))
        source = _FLAG_FOR.get(dotted, f"override {dotted}")
        if isinstance(value, Path):
            value = str(value)
        _set(merged, sources, leaf, _path_value(leaf, value, env, None, source), source)

    try:
        config = AppConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc, sources)) from None

    if config.journal.path is None:
        config.journal.path = data_dir(env) / "journal.sqlite3"
    elif config.journal.path.is_dir():
        where = _where(sources.get(("journal", "path")))
        raise ConfigError(f"config: journal.path: {config.journal.path} is a folder, not a file{where}")
    return LoadedConfig(config, file, sources)


def _read_toml(file: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message carries the line and column: "... (at line 3, column 7)".
        raise ConfigError(f"config: {file}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config: {file}: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"config: {file}: cannot read: {exc.strerror or exc}") from None


def _env_setting(name: str) -> tuple[str, ...] | None:
    """The setting a ``HEDGETUI_`` variable sets, None for variables that are not settings."""
    if not name.startswith(ENV_PREFIX) or name in NOT_SETTINGS:
        return None
    rest = name[len(ENV_PREFIX) :]
    if "__" not in rest:
        # Other HEDGETUI_ variables (test and tool switches) are not ours to judge, but one that starts
        # with a section name is a setting with a single underscore: silently ignoring it would trade
        # with a value the operator believes they changed.
        section = next((s for s in AppConfig.model_fields if rest.lower().startswith(s + "_")), None)
        if section is None:
            return None
        key = rest[len(section) + 1 :]
        raise ConfigError(
            f"config: {name}: not a setting; settings are HEDGETUI_<SECTION>__<KEY> with two underscores, "
            f"e.g. HEDGETUI_{section.upper()}__{key.upper()}"
        )
    parts = tuple(p.lower() for p in rest.split("__"))
    if not all(parts):
        raise ConfigError(f"config: {name}: expected HEDGETUI_<SECTION>__<KEY>")
    return parts


def _path_value(leaf: tuple[str, ...], value: Any, env: Mapping[str, str], base: Path | None, source: str) -> Any:
    if leaf not in _PATH_SETTINGS or not isinstance(value, str):
        return value  # not a path setting, or a wrong type that validation will name
    if not value.strip():
        raise ConfigError(f"config: {'.'.join(leaf)}: must be a file path, not empty{_where(source)}")
    if "\x00" in value:
        raise ConfigError(f"config: {'.'.join(leaf)}: must be a file path (got {_shown(value)}){_where(source)}")
    path = Path(value)
    if value == "~" or value.startswith("~/"):
        path = home_dir(env) / value[2:]
    if not path.is_absolute():
        path = (base if base is not None else Path.cwd()) / path
    return str(path)


def _leaves(tree: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    out: list[tuple[tuple[str, ...], Any]] = []
    for key, value in tree.items():
        if isinstance(value, Mapping) and value:
            out += _leaves(value, (*prefix, key))
        else:
            out.append(((*prefix, key), value))
    return out


def _set(
    tree: dict[str, Any],
    sources: dict[tuple[str, ...], str],
    path: tuple[str, ...],
    value: Any,
    source: str,
) -> None:
    node = tree
    for depth, part in enumerate(path[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            above = ".".join(path[: depth + 1])
            raise ConfigError(f"config: {'.'.join(path)}: {above} is a value, not a section{_where(source)}")
        node = child
    node[path[-1]] = value
    # A value that replaces a whole table (or a table replacing a value) takes over the sources beneath it.
    for old in [k for k in sources if k[: len(path)] == path]:
        del sources[old]
    sources[path] = source


def _where(source: str | None) -> str:
    return f" [from {source}]" if source else ""


def _one_line(exc: ValidationError, sources: Mapping[tuple[str, ...], str]) -> str:
    errors = exc.errors(include_url=False)
    err = errors[0]
    loc = tuple(str(p) for p in err["loc"])
    blamed = [loc]
    problem = (err.get("ctx") or {}).get("error")
    if isinstance(problem, FieldProblem):
        blamed = [(*loc, *name.split(".")) for name in (problem.field, *problem.related)]
        message, shown = str(problem), ""
    else:
        message = _describe(err, loc)
        got = err.get("input")
        hide = err["type"] == "extra_forbidden" or isinstance(got, (dict, list))
        shown = "" if hide else f" (got {_shown(got)})"
    found = [s for s in (_source_of(b, sources) for b in blamed) if s is not None]
    where = f" [from {'; '.join(dict.fromkeys(found))}]" if found else ""
    more = len(errors) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"config: {'.'.join(blamed[0]) or 'config'}: {message}{shown}{where}{tail}"


def _source_of(loc: tuple[str, ...], sources: Mapping[tuple[str, ...], str]) -> str | None:
    # The exact setting, or the table it was given as; else, for a check across a section (or a value
    # given as a table), the first value given explicitly beneath it.
    for n in range(len(loc), 0, -1):
        if loc[:n] in sources:
            return sources[loc[:n]]
    return next((s for k, s in sources.items() if k[: len(loc)] == loc), None)


_MESSAGES = {
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "finite_number": "must be a finite number",
    "decimal_parsing": "must be a number",
    "decimal_type": "must be a number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "path_type": "must be a file path",
    "dict_type": "must be a table of key = value",
    "model_type": "must be a table of settings",
    "model_attributes_type": "must be a table of settings",
}


def _describe(err: ErrorDetails, loc: tuple[str, ...]) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "extra_forbidden":
        return _unknown(loc)
    if kind in ("enum", "literal_error"):
        expected = str(ctx.get("expected", "")).replace("'", "")
        return f"must be one of {expected}"
    if kind in _MESSAGES:
        return _MESSAGES[kind].format(**{k: _number(v) for k, v in ctx.items()})
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    return err["msg"][:1].lower() + err["msg"][1:]


def _unknown(loc: tuple[str, ...]) -> str:
    model: type[BaseModel] = AppConfig
    for part in loc[:-1]:
        info = model.model_fields.get(part)
        annotation = info.annotation if info is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return "unknown setting"
        model = annotation
    known = list(model.model_fields)
    what = "section" if len(loc) == 1 else "setting"
    close = difflib.get_close_matches(loc[-1], known, n=1, cutoff=0.6)
    if close:
        return f"unknown {what}; did you mean {close[0]}?"
    return f"unknown {what} (known: {', '.join(known)})"


def _number(value: object) -> str:
    # Bounds of float fields arrive as floats: say "at most 60", not "at most 60.0".
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _shown(value: object) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = value if _PLAIN.fullmatch(value) else repr(value)  # fullmatch: "$" would let a final newline through
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return json.dumps(str(value.value))
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, Decimal):
        # A string keeps the exact decimal; the loader reads it back as the same Decimal.
        return json.dumps(format(value, "f"))
    # JSON's string escapes are valid in TOML basic strings.
    return json.dumps(str(value), ensure_ascii=False)


def render_toml(config: AppConfig, sources: Mapping[tuple[str, ...], str] | None = None) -> str:
    """The effective configuration as TOML that :func:`load_config` reads back to the same configuration.

    Unset optional values are shown as comments; with ``sources``, every value that is not a default is
    followed by a comment naming where it came from.
    """
    sources = sources or {}
    lines: list[str] = []

    def table(name: tuple[str, ...], model: Mapping[str, object]) -> None:
        lines.append(f"[{'.'.join(name)}]")
        nested: list[tuple[str, Mapping[str, object]]] = []
        for key, value in model.items():
            if value is None:
                lines.append(f"# {key} = (not set)")
            elif isinstance(value, Mapping):
                nested.append((key, value))
            else:
                origin = sources.get((*name, key))
                note = f"  # from {origin}" if origin else ""
                lines.append(f"{key} = {_toml_value(value)}{note}")
        lines.append("")
        for key, value in nested:
            table((*name, key), value)

    for section, model in config:
        assert isinstance(model, BaseModel)
        table((section,), {key: value for key, value in model})  # not dict(): UIConfig has a .keys field
    return "\n".join(lines).rstrip() + "\n"
