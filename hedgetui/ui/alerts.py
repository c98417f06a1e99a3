"""Alerts with a lifecycle, and exchange errors as one readable line.

An alert whose condition has cleared (breaker closed, book fresh again, proposal accepted, halt lifted,
margin ratio or liquidation distance back within its threshold)
leaves by itself and the log says so; only alerts that need a decision stay until acknowledged, and an
acknowledged one whose condition still holds is raised again by the next alert of its code. Pure: the app
shows :attr:`AlertBook.active` and logs what :meth:`AlertBook.sweep` returns.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from hedgetui.domain.margin import WatchLevel
from hedgetui.domain.risk import TradingState
from hedgetui.engine.breaker import BreakerState
from hedgetui.engine.perpwatch import LIQUIDATION_ALERT, MARGIN_ALERT
from hedgetui.engine.state import EngineStatus

#: Binance error codes seen by a desk, in words (the raw text stays in the journal).
CODE_MEANING: dict[str, str] = {
    "-1003": "rate limit: too many requests",
    "-1007": "timeout waiting for the exchange's backend",
    "-1021": "request timestamp outside the receive window (clock skew)",
    "-1022": "invalid signature",
    "-2010": "order rejected by the exchange",
    "-2011": "cancel rejected: order unknown or already final",
    "-2013": "order does not exist",
    "-2014": "API key format invalid",
    "-2015": "API key, IP or permission rejected",
    "-2019": "margin is insufficient",
    "-2022": "reduce-only order rejected (it would increase the position)",
    "-4164": "order notional below the minimum",
    "429": "rate limited (HTTP 429)",
    "418": "IP banned for exceeding rate limits (HTTP 418)",
    "500": "exchange internal error (HTTP 500)",
    "502": "exchange gateway error (HTTP 502)",
    "503": "exchange unavailable (HTTP 503)",
    "504": "exchange gateway timeout (HTTP 504)",
}

_HTML = re.compile(r"<[^>]*>")
_URL = re.compile(r"(?:GET|POST|PUT|DELETE)?\s*https?://\S+")
_JSON_CODE = re.compile(r'"code"\s*:\s*(-?\d+)')
_HTTP_STATUS = re.compile(r"\b(4\d\d|5\d\d)\b")
_CCXT_CLASS = re.compile(r"\b([A-Z][A-Za-z]+(?:Error|NotAvailable|Timeout|Insufficient\w*|Order\w*|Limit\w*))\b")


def readable(text: str, limit: int = 200) -> str:
    """One line a person reads: no HTML, no URL, the error class, the code and what it means.

    ``ExchangeNotAvailable None: POST http://…/fapi/v1/order 503 Service Unavailable <html>…`` becomes
    ``ExchangeNotAvailable 503: exchange unavailable (HTTP 503)``; text that is not an exchange error is
    only flattened to one line and shortened.
    """
    flat = " ".join(_HTML.sub(" ", text).split())
    looks_raw = bool(_URL.search(flat)) or "<" in text or '{"code"' in text
    if not looks_raw:
        return flat if len(flat) <= limit else flat[: limit - 1] + "…"
    code_match = _JSON_CODE.search(flat)
    without_url = _URL.sub(" ", flat)
    status = _HTTP_STATUS.search(without_url)
    code = code_match.group(1) if code_match else (status.group(1) if status else "")
    cls = _CCXT_CLASS.search(flat)
    prefix = flat.split(" None:")[0] if " None:" in flat else ""
    # What came before the raw part (the engine's own words) is kept.
    head = prefix[: -len(cls.group(1))].strip() if prefix and cls and prefix.endswith(cls.group(1)) else ""
    meaning = CODE_MEANING.get(code, "")
    parts = [p for p in (head, cls.group(1) if cls else "exchange error", code) if p]
    line = " ".join(parts) + (f": {meaning}" if meaning else "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


@dataclass
class Alert:
    code: str
    message: str
    level: str
    raised_ms: int
    needs_decision: bool


_CONDITIONS: dict[str, Callable[[EngineStatus, bool], str | None]] = {
    "BREAKER_OPEN": lambda s, _stale: "breaker closed" if s.breaker.state is not BreakerState.OPEN else None,
    "PROPOSAL": lambda s, _stale: "proposal resolved" if s.proposal is None else None,
    "EXTERNAL_DRIFT": lambda s, _stale: "proposal resolved" if s.proposal is None else None,
    "BOOK_STALE": lambda _s, stale: "books fresh again" if not stale else None,
    MARGIN_ALERT: lambda s, _stale: (
        "margin ratio back under its warning" if s.perp is None or s.perp.margin_level is WatchLevel.OK else None
    ),
    LIQUIDATION_ALERT: lambda s, _stale: (
        "liquidation distance back over its warning" if s.perp is None or s.perp.liq_level is WatchLevel.OK else None
    ),
}


def _halt_lifted(status: EngineStatus, _stale: bool) -> str | None:
    return "trading no longer HALTED" if status.trading_state is not TradingState.HALTED else None


class AlertBook:
    """The alerts on screen now, keyed by code (a repeat replaces the older one)."""

    def __init__(self) -> None:
        self.active: dict[str, Alert] = {}

    def raise_alert(self, code: str, message: str, level: str, ts_ms: int, status: EngineStatus) -> Alert:
        """Record an alert. It stays while its condition holds: its own (breaker, proposal, stale book) or,
        for any other code raised while trading is halted, the halt. Others are shown once and logged."""
        halted = status.trading_state is TradingState.HALTED
        decision = code in ("PROPOSAL", "EXTERNAL_DRIFT") or halted
        alert = Alert(code, readable(message, 300), level, ts_ms, decision)
        if code in _CONDITIONS or halted:
            self.active[code] = alert
        return alert

    def sweep(self, status: EngineStatus, stale: bool) -> list[tuple[Alert, str]]:
        """Remove the alerts whose condition cleared; returns them with what cleared them."""
        gone: list[tuple[Alert, str]] = []
        for code, alert in list(self.active.items()):
            why = _CONDITIONS.get(code, _halt_lifted)(status, stale)
            if why is not None:
                gone.append((alert, why))
                del self.active[code]
        return gone

    def acknowledge(self) -> list[Alert]:
        """The operator dismisses every alert on screen."""
        gone = list(self.active.values())
        self.active.clear()
        return gone
