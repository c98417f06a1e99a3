"""Binance's request-parameter grammar: decimals, integers and symbols, refused with its codes and messages."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from aiohttp import web

from hedgetui.sandbox.filters import mandatory
from hedgetui.sandbox.model import SandboxError

#: Binance's format for decimal parameters: no sign, no exponent.
DECIMAL_RE = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
INTEGER_RE = re.compile(r"^[0-9]{1,19}$")


def json_response(body: Any, status: int = 200) -> web.Response:
    """A compact JSON answer, as Binance sends them."""
    return web.Response(text=json.dumps(body, separators=(",", ":")), status=status, content_type="application/json")


def error_response(exc: SandboxError) -> web.Response:
    """Binance's error answer: HTTP status and ``{"code", "msg"}``."""
    return json_response(exc.body(), exc.http_status)


def decimal_param(params: Any, name: str, required: bool) -> Decimal | None:
    """A decimal parameter (-1102 when required and missing, -1100 when not plain fixed-point)."""
    raw = params.get(name)
    if raw is None or raw == "":
        if required:
            raise mandatory(name)
        return None
    if not DECIMAL_RE.match(raw):
        raise SandboxError(
            -1100,
            f"Illegal characters found in parameter '{name}'; legal range is '^([0-9]{{1,20}})(\\.[0-9]{{1,20}})?$'.",
        )
    return Decimal(raw)


def int_param(params: Any, name: str, default: int | None = None) -> int | None:
    """An integer parameter, ``default`` when absent (-1100 when not digits)."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not INTEGER_RE.match(str(raw)):
        raise SandboxError(-1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'.")
    return int(raw)


def symbol_param(known: dict[str, Any], params: Any, required: bool = True) -> str | None:
    """The ``symbol`` parameter: -1102 when required and missing, -1121 when not a known symbol."""
    symbol = params.get("symbol")
    if not symbol:
        if required:
            raise mandatory("symbol")
        return None
    if symbol not in known:
        raise SandboxError(-1121, "Invalid symbol.")
    return str(symbol)


def required_symbol(known: dict[str, Any], params: Any) -> str:
    """The ``symbol`` parameter, which must be sent."""
    symbol = symbol_param(known, params)
    assert symbol is not None
    return symbol
