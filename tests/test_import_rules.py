"""The house's layering, enforced: each package may import only what DEVELOPERS.md allows.

Every ``import`` and ``from ... import`` in every module is read with ``ast`` (including imports nested in
functions), so a lazy import cannot slip past.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "hedgetui"

OUR_LAYERS = ("domain", "exchange", "engine", "sandbox", "ui")

# layer -> (forbidden module prefixes, why)
RULES: dict[str, tuple[tuple[str, ...], str]] = {
    "domain": (
        ("ccxt", "textual", "aiohttp", "aiosqlite", "sqlite3", "asyncio", "socket", "requests"),
        "domain is pure: it imports nothing of ours and does no I/O",
    ),
    "engine": (("textual", "hedgetui.ui", "hedgetui.sandbox"), "engine never imports Textual or the UI"),
    "ui": (("ccxt", "hedgetui.sandbox"), "ui never imports ccxt; it talks to the engine"),
    "sandbox": (
        (
            "hedgetui.domain",
            "hedgetui.exchange",
            "hedgetui.engine",
            "hedgetui.ui",
            "hedgetui.config",
            "ccxt",
            "textual",
        ),
        "an exchange that shares our maths cannot catch our mistakes",
    ),
    "exchange": (
        ("textual", "hedgetui.ui", "hedgetui.engine", "hedgetui.sandbox"),
        "the venue layer sits below the engine and knows no UI",
    ),
}


def _imports(path: Path, root: Path = PACKAGE.parent) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    module_parts = path.relative_to(root).with_suffix("").parts
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against the module's package
                base = list(module_parts[: len(module_parts) - node.level])
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((node.lineno, name))
    return found


def _forbidden(layer: str, name: str) -> bool:
    forbidden, _why = RULES[layer]
    if layer == "domain" and (name == "hedgetui" or name.startswith("hedgetui.")):
        # domain may import only itself.
        return not name.startswith("hedgetui.domain")
    return any(name == f or name.startswith(f + ".") for f in forbidden)


def _violations(layer: str) -> list[str]:
    bad = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for lineno, name in _imports(path):
            if _forbidden(layer, name):
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{lineno} imports {name}")
    return bad


@pytest.mark.parametrize("layer", sorted(RULES))
def test_layer_imports_only_what_it_may(layer: str) -> None:
    assert (PACKAGE / layer).is_dir()
    assert _violations(layer) == [], RULES[layer][1]


def test_only_exchange_imports_ccxt_in_the_product() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "exchange":
            continue
        offenders += [f"{rel}:{n}" for n, name in _imports(path) if name.split(".")[0] == "ccxt"]
    assert offenders == []


def test_only_ui_imports_textual() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "ui":
            continue
        offenders += [f"{rel}:{n}" for n, name in _imports(path) if name.split(".")[0] == "textual"]
    assert offenders == []


def test_the_checker_catches_a_forbidden_import(tmp_path: Path) -> None:
    """The rule engine itself must flag a violation, or every test above passes vacuously."""
    bad = tmp_path / "m.py"
    bad.write_text("def f():\n    import ccxt.async_support\n    from textual.app import App\n")
    names = [n for _, n in _imports(bad, root=tmp_path)]
    assert "ccxt.async_support" in names and "textual.app" in names
    assert _forbidden("ui", "ccxt.async_support") and _forbidden("engine", "textual.app")
    assert _forbidden("domain", "hedgetui.config") and not _forbidden("domain", "hedgetui.domain.book")
    assert _forbidden("sandbox", "hedgetui.domain.book") and not _forbidden("sandbox", "hedgetui.sandbox.model")
