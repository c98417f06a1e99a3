"""Fault rules for the control API: ``{"match": "<METHOD> <path>", "action": A, "times": N, ...}``.

Rules are kept in creation order; a request takes the first armed rule that matches it and uses up one
of its ``times``. ``WS *`` rules act on the websocket streams instead of a request: the server applies
them as soon as they are added (see :attr:`FaultBook.on_ws_rule`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Every action, with the extra fields it accepts. An unknown field is refused: a typo such as
#: ``hold_msec`` would otherwise silently give the default and a test that means something else.
ACTION_FIELDS: dict[str, frozenset[str]] = {
    "http_500": frozenset({"body"}),
    "http_503": frozenset({"body"}),
    "http_429": frozenset({"body"}),
    "http_418": frozenset({"body"}),
    "reject": frozenset({"code", "msg", "status", "body"}),
    "timeout_before_accept": frozenset({"hold_ms"}),
    "timeout_after_accept": frozenset({"hold_ms", "visibility_ms"}),
    "drop_after_accept": frozenset({"visibility_ms"}),
    "accept_then": frozenset({"status", "body", "visibility_ms"}),
    "partial": frozenset({"fill_ratio", "rest_after_ms", "expire"}),
    "latency": frozenset({"ms"}),
    "visibility_delay_ms": frozenset({"ms"}),
    "clock_skew_ms": frozenset({"ms"}),
    "ws_drop_diff": frozenset({"market"}),
    "ws_close": frozenset(),
    "ws_drop_user_event": frozenset({"market"}),
    "listen_key_expire": frozenset({"market"}),
}
ACTIONS = frozenset(ACTION_FIELDS)
WS_ACTIONS = frozenset({"ws_drop_diff", "ws_close", "ws_drop_user_event", "listen_key_expire"})
#: Actions applied to HTTP requests (the websocket ones act on the streams).
REQUEST_ACTIONS = ACTIONS - WS_ACTIONS
METHODS = frozenset({"*", "GET", "POST", "PUT", "DELETE"})


class FaultError(ValueError):
    """A control request describing an invalid rule (the message is one line)."""


@dataclass
class FaultRule:
    """One armed rule; ``times`` is how many more requests (or diffs, or closures) it applies to."""

    id: int
    method: str
    path: str
    action: str
    times: int
    params: dict[str, Any] = field(default_factory=dict)

    def matches(self, method: str, path: str) -> bool:
        """Whether a request with this method and path is one this rule applies to."""
        return (self.method in ("*", method)) and (self.path in ("*", path))

    def describe(self) -> dict[str, Any]:
        """The rule as the control API lists it (the same fields it was created with, plus its id)."""
        return {
            "id": self.id,
            "match": f"{self.method} {self.path}",
            "action": self.action,
            "times": self.times,
            **self.params,
        }


class FaultBook:
    """The armed rules, in creation order."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        #: Called with each new ``WS *`` rule, so it acts at once however it was added.
        self.on_ws_rule: Callable[[FaultRule], None] | None = None

    def add(self, spec: dict[str, Any]) -> FaultRule:
        """Validate ``spec`` and arm it; raise :class:`FaultError` (nothing armed) when it is invalid."""
        match = spec.get("match")
        action = spec.get("action")
        if not isinstance(match, str) or len(match.split()) != 2:
            raise FaultError("match must be '<METHOD> <path>', e.g. 'POST /fapi/v1/order'")
        if not isinstance(action, str) or action not in ACTIONS:
            raise FaultError(f"unknown action {action!r}; one of {', '.join(sorted(ACTIONS))}")
        times = spec.get("times", 1)
        if not isinstance(times, int) or isinstance(times, bool) or times < 1:
            raise FaultError("times must be a positive integer")
        method, path = match.split()
        method = method.upper()
        if action in WS_ACTIONS:
            if (method, path) != ("WS", "*"):
                raise FaultError(f"{action} acts on the websocket streams: match must be 'WS *'")
        elif method not in METHODS:
            raise FaultError(f"method must be one of {', '.join(sorted(METHODS))} (or 'WS *' for ws_ actions)")
        elif path != "*" and not path.startswith("/"):
            raise FaultError("the path must start with '/' (or be '*')")
        params = {k: v for k, v in spec.items() if k not in ("match", "action", "times")}
        unknown = sorted(set(params) - ACTION_FIELDS[action])
        if unknown:
            allowed = ", ".join(sorted(ACTION_FIELDS[action])) or "none"
            raise FaultError(f"{action} does not take {', '.join(unknown)} (it takes: {allowed})")
        _validate(action, params)
        rule = FaultRule(next(self._ids), method, path, action, times, params)
        self.rules.append(rule)
        if action in WS_ACTIONS and self.on_ws_rule is not None:
            self.on_ws_rule(rule)
        return rule

    def take(self, method: str, path: str, actions: frozenset[str] | set[str] | None = None) -> FaultRule | None:
        """The first armed rule matching the request, with one of its uses consumed (None if none)."""
        for rule in self.rules:
            if rule.matches(method, path) and (actions is None or rule.action in actions):
                rule.times -= 1
                if rule.times <= 0:
                    self.rules.remove(rule)
                return rule
        return None

    def clear(self) -> None:
        """Disarm every rule."""
        self.rules.clear()

    def describe(self) -> list[dict[str, Any]]:
        """The armed rules, oldest first."""
        return [r.describe() for r in self.rules]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _validate(action: str, p: dict[str, Any]) -> None:
    def number(name: str, low: float, high: float = math.inf, required: bool = False) -> None:
        if name not in p:
            if required:
                raise FaultError(f"{action} needs '{name}'")
            return
        if not _number(p[name]) or not low <= p[name] <= high:
            raise FaultError(f"{name} must be a number between {low:g} and {high:g}")

    def status(required: bool) -> None:
        if "status" not in p:
            if required:
                raise FaultError(f"{action} needs 'status'")
            return
        if not isinstance(p["status"], int) or isinstance(p["status"], bool) or not 100 <= p["status"] <= 599:
            raise FaultError("status must be an integer HTTP status (100-599)")

    def body() -> None:
        if "body" in p and not isinstance(p["body"], (str, dict, list)):
            raise FaultError("body must be a string (sent as text) or a JSON object/list")

    if action == "reject":
        if "body" in p:
            body()
        elif not isinstance(p.get("code"), int) or isinstance(p.get("code"), bool):
            raise FaultError("reject needs an integer 'code' (and a 'msg'), or a 'body'")
        if "msg" in p and not isinstance(p["msg"], str):
            raise FaultError("msg must be a string")
        status(required=False)
    elif action.startswith("http_"):
        body()
    elif action == "partial":
        number("fill_ratio", 0, 1, required=True)
        number("rest_after_ms", 0)
        if "expire" in p and not isinstance(p["expire"], bool):
            raise FaultError("expire must be true or false")
    elif action in ("latency", "visibility_delay_ms"):
        number("ms", 0, required=True)
    elif action == "clock_skew_ms":
        if not isinstance(p.get("ms"), int) or isinstance(p.get("ms"), bool):
            raise FaultError("clock_skew_ms needs an integer 'ms' (may be negative)")
    elif action == "accept_then":
        status(required=True)
        body()
    elif action in ("ws_drop_diff", "ws_drop_user_event", "listen_key_expire") and p.get("market") not in (
        None,
        "spot",
        "futures",
    ):
        raise FaultError("market must be 'spot' or 'futures'")
    number("hold_ms", 0)
    number("visibility_ms", 0)
