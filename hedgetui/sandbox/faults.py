"""Fault rules for the control API: ``{"match": "<METHOD> <path>", "action": A, "times": N, ...}``.

Rules are kept in creation order; a request takes the first armed rule that matches it and uses up one
of its ``times``. ``WS *`` rules act on the websocket streams instead of a request.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

ACTIONS = {
    "http_500",
    "http_503",
    "http_429",
    "http_418",
    "reject",
    "timeout_before_accept",
    "timeout_after_accept",
    "drop_after_accept",
    "accept_then",
    "partial",
    "latency",
    "visibility_delay_ms",
    "clock_skew_ms",
    "ws_drop_diff",
    "ws_close",
}


class FaultError(ValueError):
    """A control request describing an invalid rule."""


@dataclass
class FaultRule:
    id: int
    method: str
    path: str
    action: str
    times: int
    params: dict[str, Any] = field(default_factory=dict)

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method)) and (self.path in ("*", path))

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "match": f"{self.method} {self.path}",
            "action": self.action,
            "times": self.times,
            **self.params,
        }


class FaultBook:
    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self._ids = itertools.count(1)

    def add(self, spec: dict[str, Any]) -> FaultRule:
        match = spec.get("match")
        action = spec.get("action")
        if not isinstance(match, str) or " " not in match.strip():
            raise FaultError("match must be '<METHOD> <path>', e.g. 'POST /fapi/v1/order'")
        if action not in ACTIONS:
            raise FaultError(f"unknown action {action!r}; one of {', '.join(sorted(ACTIONS))}")
        times = spec.get("times", 1)
        if not isinstance(times, int) or times < 1:
            raise FaultError("times must be a positive integer")
        method, path = match.strip().split(None, 1)
        params = {k: v for k, v in spec.items() if k not in ("match", "action", "times")}
        self._validate(action, params)
        rule = FaultRule(next(self._ids), method.upper(), path.strip(), action, times, params)
        self.rules.append(rule)
        return rule

    @staticmethod
    def _validate(action: str, p: dict[str, Any]) -> None:
        def number(name: str, minimum: float = 0, required: bool = False) -> None:
            if name not in p:
                if required:
                    raise FaultError(f"{action} needs '{name}'")
                return
            value = p[name]
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < minimum:
                raise FaultError(f"{name} must be a number >= {minimum}")

        if action == "reject":
            if not isinstance(p.get("code"), int) and "body" not in p:
                raise FaultError("reject needs an integer 'code' (and a 'msg'), or a 'body'")
            number("status", 100)
        elif action == "partial":
            number("fill_ratio", 0, required=True)
            if p["fill_ratio"] > 1:
                raise FaultError("fill_ratio must be between 0 and 1")
            number("rest_after_ms", 0)
        elif action in ("latency", "visibility_delay_ms"):
            number("ms", 0, required=True)
        elif action == "clock_skew_ms":
            if not isinstance(p.get("ms"), int):
                raise FaultError("clock_skew_ms needs an integer 'ms' (may be negative)")
        elif action == "accept_then":
            number("status", 100, required=True)
        elif action in ("timeout_before_accept", "timeout_after_accept"):
            number("hold_ms", 0)
        elif action == "ws_drop_diff" and p.get("market") not in (None, "spot", "futures"):
            raise FaultError("market must be 'spot' or 'futures'")

    def take(self, method: str, path: str, actions: set[str] | None = None) -> FaultRule | None:
        """The first armed rule matching the request (one of its uses is consumed)."""
        for rule in self.rules:
            if rule.matches(method, path) and (actions is None or rule.action in actions):
                rule.times -= 1
                if rule.times <= 0:
                    self.rules.remove(rule)
                return rule
        return None

    def clear(self) -> None:
        self.rules.clear()

    def describe(self) -> list[dict[str, Any]]:
        return [r.describe() for r in self.rules]
