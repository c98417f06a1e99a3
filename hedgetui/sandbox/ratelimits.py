"""Binance's IP request-weight and order-count limits, with the headers that report them.

Spot (``/api/``): 6000 weight per minute; 100 orders per 10 s and 200 000 per day. USDⓈ-M (``/fapi/``):
2400 weight per minute; 300 orders per 10 s and 1200 per minute. Windows are fixed intervals (they reset at
the interval's start, as Binance's do). Past a limit the answer is 429 (-1003 for weight, -1015 for
orders) with ``Retry-After``; a client that keeps sending after ``BAN_AFTER_IGNORED`` 429s inside the same
window is banned for ``BAN_MS`` with 418, as Binance bans clients that do not back off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from hedgetui.sandbox.model import Market, SandboxError

MINUTE_MS, SECOND_MS, DAY_MS = 60_000, 1_000, 86_400_000
#: market -> ((interval name, interval ms, limit), ...) for weight and for orders
WEIGHT_LIMITS = {Market.SPOT: ("1M", MINUTE_MS, 6000), Market.FUTURES: ("1M", MINUTE_MS, 2400)}
ORDER_LIMITS = {
    Market.SPOT: (("10S", 10 * SECOND_MS, 100), ("1D", DAY_MS, 200_000)),
    Market.FUTURES: (("10S", 10 * SECOND_MS, 300), ("1M", MINUTE_MS, 1200)),
}
BAN_AFTER_IGNORED = 3
BAN_MS = 120_000

#: (method, path) -> weight where it is not 1 (depth and "all symbols" variants are computed below).
WEIGHTS = {
    ("GET", "/api/v3/exchangeInfo"): 20,
    ("GET", "/api/v3/account"): 20,
    ("GET", "/api/v3/order"): 4,
    ("GET", "/api/v3/myTrades"): 20,
    ("GET", "/fapi/v1/order"): 1,
    ("POST", "/fapi/v1/order"): 0,  # fapi orders count against the order limits, not the IP weight
    ("DELETE", "/fapi/v1/order"): 1,
    ("GET", "/fapi/v2/account"): 5,
    ("GET", "/fapi/v3/account"): 5,
    ("GET", "/fapi/v2/positionRisk"): 5,
    ("GET", "/fapi/v3/positionRisk"): 5,
    ("GET", "/fapi/v1/userTrades"): 5,
    ("GET", "/fapi/v2/balance"): 5,
    ("GET", "/fapi/v3/balance"): 5,
    ("GET", "/fapi/v1/income"): 30,
    ("GET", "/fapi/v1/fundingInfo"): 0,
}
ORDER_PATHS = frozenset({("POST", "/api/v3/order"), ("POST", "/fapi/v1/order")})


def _limit(raw: object, default: int) -> int:
    # An invalid limit is the handler's to refuse (-1100); it weighs as the default meanwhile.
    text = str(raw) if raw is not None else ""
    return int(text) if text.isdigit() else default


def weight_of(method: str, path: str, query: dict[str, str] | object) -> int:
    """The request weight Binance charges for one request (its documented values for these routes)."""
    get = getattr(query, "get", lambda _k, _d=None: None)
    if path == "/api/v3/depth":
        limit = _limit(get("limit"), 100)
        return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250
    if path == "/fapi/v1/depth":
        limit = _limit(get("limit"), 500)
        return 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20
    all_symbols = not get("symbol")
    if path == "/api/v3/ticker/24hr":
        return 80 if all_symbols else 2
    if path == "/fapi/v1/ticker/24hr":
        return 40 if all_symbols else 1
    if path == "/api/v3/openOrders":
        return 80 if all_symbols else 6
    if path == "/fapi/v1/openOrders":
        return 40 if all_symbols else 1
    if path in ("/api/v3/ticker/price", "/api/v3/ticker/bookTicker", "/fapi/v1/ticker/bookTicker"):
        return 4 if all_symbols else 2
    if path == "/api/v3/klines":
        return 2
    return WEIGHTS.get((method, path), 1)


@dataclass
class _Window:
    start: int = 0
    used: int = 0

    def count(self, now: int, length: int, amount: int) -> int:
        """Add ``amount`` in the fixed window containing ``now``; return the window's total."""
        start = now - now % length
        if start != self.start:
            self.start, self.used = start, 0
        self.used += amount
        return self.used


@dataclass
class _MarketLimits:
    weight: _Window = field(default_factory=_Window)
    orders: dict[str, _Window] = field(default_factory=dict)
    ignored: int = 0
    ignored_window: int = -1
    banned_until: int = 0


class RateLimiter:
    """Counts each market's weight and orders; answers the headers or the 429/418 refusal."""

    def __init__(self, clock: Callable[[], int]) -> None:
        self._clock = clock
        self._markets = {m: _MarketLimits() for m in Market}
        self.enabled = True

    def reset(self) -> None:
        """Forget every count and ban."""
        self._markets = {m: _MarketLimits() for m in Market}

    def admit(self, market: Market, method: str, path: str, query: object) -> dict[str, str]:
        """Count one request; return the headers to send, or raise the 429/418 refusal."""
        now = self._clock()
        state = self._markets[market]
        if state.banned_until > now:
            raise SandboxError(
                -1003,
                f"Way too many requests; IP(127.0.0.1) banned until {state.banned_until}. "
                "Please use the websocket for live updates to avoid bans.",
                418,
            )
        name, length, limit = WEIGHT_LIMITS[market]
        used = state.weight.count(now, length, weight_of(method, path, query))
        headers = {f"X-MBX-USED-WEIGHT-{name}": str(used)}
        if used > limit:
            self._refused(state, now, length)
            raise SandboxError(
                -1003,
                f"Too many requests; current limit of IP(127.0.0.1) is {limit} requests per minute. "
                "Please use the websocket for live updates to avoid polling the API.",
                429,
            )
        if (method, path) in ORDER_PATHS:
            for interval, span, cap in ORDER_LIMITS[market]:
                count = state.orders.setdefault(interval, _Window()).count(now, span, 1)
                headers[f"X-MBX-ORDER-COUNT-{interval}"] = str(count)
                if count > cap:
                    self._refused(state, now, span)
                    unit = {"10S": "10 SECOND", "1M": "1 MINUTE", "1D": "1 DAY"}[interval]
                    raise SandboxError(-1015, f"Too many new orders; current limit is {cap} orders per {unit}.", 429)
        return headers

    def _refused(self, state: _MarketLimits, now: int, length: int) -> None:
        """A 429: count it; the BAN_AFTER_IGNORED-th inside one window bans the client."""
        window = now - now % length
        if state.ignored_window != window:
            state.ignored_window, state.ignored = window, 0
        state.ignored += 1
        if state.ignored > BAN_AFTER_IGNORED:
            state.banned_until = now + BAN_MS

    def retry_after_s(self, market: Market) -> int:
        """Seconds until the current weight window ends (the ``Retry-After`` of a 429)."""
        now = self._clock()
        state = self._markets[market]
        if state.banned_until > now:
            return (state.banned_until - now + 999) // 1000
        return (MINUTE_MS - now % MINUTE_MS + 999) // 1000
