"""The sandbox's control API (``/sandbox/...``): state, fault rules, market moves, positions, reset.

Unsigned and served on the exchange's own port, for demos, tests and benchmarks (README "Control API").
Every bad input is answered 400 with one JSON line ``{"error": "..."}`` and changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from hedgetui.sandbox.core import ExchangeCore
from hedgetui.sandbox.faults import FaultBook, FaultError
from hedgetui.sandbox.income import income_row
from hedgetui.sandbox.model import Market, SandboxError
from hedgetui.sandbox.requestlog import RequestLog
from hedgetui.sandbox.shapes import fmt

#: A market move beyond this would take prices to zero or below Binance's price filters.
MAX_MOVE_BPS = Decimal(5000)
MAX_DEPTH_FACTOR = Decimal(100)
#: Binance caps funding rates at a few percent per interval; beyond 10 % a forced rate is a typo.
MAX_FUNDING_RATE = Decimal("0.1")


class ControlError(ValueError):
    """A control request the sandbox refuses (400); the message is one line."""


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body, separators=(",", ":")), status=status, content_type="application/json")


def _decimal(body: dict[str, Any], name: str) -> Decimal:
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ControlError(f"{name} must be a number (or a decimal string)")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ControlError(f"{name} must be a number, got {value!r}") from None
    if not number.is_finite():
        raise ControlError(f"{name} must be finite")
    return number


def _only(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ControlError(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def state_view(core: ExchangeCore) -> dict[str, Any]:
    """The control API's view of everything (``GET /sandbox/state``)."""
    acc = core.futures_account()
    return {
        "spot_balances": {a: {"free": fmt(f), "locked": fmt(lk)} for a, (f, lk) in core.spot_balances().items()},
        "futures": {
            "wallet_balance": fmt(acc.wallet_balance),
            "unrealized_pnl": fmt(acc.unrealized_pnl),
            "margin_balance": fmt(acc.margin_balance),
            "initial_margin": fmt(acc.initial_margin),
            "maint_margin": fmt(acc.maint_margin),
            "available_balance": fmt(acc.available_balance),
        },
        "positions": [
            {
                "symbol": v.symbol,
                "positionAmt": fmt(v.amount),
                "entryPrice": fmt(v.entry_price),
                "markPrice": fmt(v.mark_price),
                "unRealizedProfit": fmt(v.unrealized_pnl),
                "liquidationPrice": fmt(v.liquidation_price),
                "leverage": v.leverage,
            }
            for v in core.positions()
        ],
        "orders": [
            {
                "market": o.market.value,
                "symbol": o.symbol,
                "orderId": o.order_id,
                "clientOrderId": o.client_order_id,
                "side": o.side.value,
                "type": o.type.value,
                "status": o.status.value,
                "origQty": fmt(o.orig_qty),
                "executedQty": fmt(o.executed_qty),
                "avgPrice": fmt(o.avg_price),
                "price": fmt(o.price),
                "reduceOnly": o.reduce_only,
                "time": o.time,
                "updateTime": o.update_time,
            }
            for o in core.orders()
        ],
        "trades": [
            {
                "market": t.market.value,
                "symbol": t.symbol,
                "id": t.trade_id,
                "orderId": t.order_id,
                "side": t.side.value,
                "price": fmt(t.price),
                "qty": fmt(t.qty),
                "commission": fmt(t.commission),
                "commissionAsset": t.commission_asset,
                "realizedPnl": fmt(t.realized_pnl),
                "time": t.time,
            }
            for t in core.trades()
        ],
        # The futures wallet's income history in /fapi/v1/income's shape, oldest first, none left out.
        "income": [income_row(r) for r in core.income.records()],
        "funding": {"interval_ms": core.funding.interval_ms, "next_funding_time": core.next_funding_time()},
    }


class ControlApi:
    """Handlers of the control routes over one core and one fault book."""

    def __init__(
        self,
        core: ExchangeCore,
        faults: FaultBook,
        *,
        default_symbol: str,
        on_reset: Callable[[], Awaitable[None]],
        requests: RequestLog | None = None,
    ) -> None:
        self.core = core
        self.faults = faults
        self.requests = requests if requests is not None else RequestLog()
        self.default_symbol = default_symbol
        self._on_reset = on_reset

    def register(self, router: web.UrlDispatcher) -> None:
        """Add the ``/sandbox/...`` routes."""
        router.add_get("/sandbox/state", self._guard(self.state))
        router.add_get("/sandbox/faults", self._guard(self.list_faults))
        router.add_post("/sandbox/faults", self._guard(self.add_fault))
        router.add_delete("/sandbox/faults", self._guard(self.clear_faults))
        router.add_post("/sandbox/position", self._guard(self.set_position))
        router.add_post("/sandbox/market", self._guard(self.market))
        router.add_post("/sandbox/transfer", self._guard(self.transfer))
        router.add_post("/sandbox/funding", self._guard(self.funding))
        router.add_post("/sandbox/reset", self._guard(self.reset))
        router.add_get("/sandbox/requests", self._guard(self.list_requests))
        router.add_delete("/sandbox/requests", self._guard(self.clear_requests))

    @staticmethod
    def _guard(
        handler: Callable[[web.Request], Awaitable[web.Response]],
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def guarded(request: web.Request) -> web.Response:
            try:
                return await handler(request)
            except (ControlError, FaultError) as exc:
                return _json({"error": str(exc)}, 400)
            except SandboxError as exc:  # the core refused it (e.g. an unknown symbol)
                return _json({"error": f"{exc.code}: {exc.msg}"}, 400)

        return guarded

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json(loads=json.loads)
        except ValueError:
            raise ControlError("the body must be a JSON object") from None
        if not isinstance(body, dict):
            raise ControlError("the body must be a JSON object")
        return body

    def _symbol(self, body: dict[str, Any]) -> str:
        symbol = body.get("symbol", self.default_symbol)
        if not isinstance(symbol, str) or symbol not in self.core.specs:
            raise ControlError(f"unknown symbol {symbol!r}; configured: {', '.join(self.core.specs)}")
        return symbol

    async def state(self, request: web.Request) -> web.Response:
        """``GET /sandbox/state``: balances, futures account, positions, every order, trade and income record."""
        return _json(state_view(self.core))

    async def list_faults(self, request: web.Request) -> web.Response:
        """``GET /sandbox/faults``: the rules still armed, oldest first."""
        return _json(self.faults.describe())

    async def add_fault(self, request: web.Request) -> web.Response:
        """``POST /sandbox/faults``: arm a rule (``WS *`` rules act at once); answers its id."""
        rule = self.faults.add(await self._body(request))
        return _json({"id": rule.id})

    async def clear_faults(self, request: web.Request) -> web.Response:
        """``DELETE /sandbox/faults``: disarm every rule."""
        count = len(self.faults.rules)
        self.faults.clear()
        return _json({"cleared": count})

    async def list_requests(self, request: web.Request) -> web.Response:
        """``GET /sandbox/requests``: every exchange REST request received (method, path, arrival and answer
        times in epoch ms, HTTP status), oldest first, and their count."""
        return _json(self.requests.describe())

    async def clear_requests(self, request: web.Request) -> web.Response:
        """``DELETE /sandbox/requests``: forget the request record (answers how many were cleared)."""
        return _json({"cleared": self.requests.clear()})

    async def set_position(self, request: web.Request) -> web.Response:
        """``POST /sandbox/position``: change the perp position from outside (liquidation, ADL, manual trade)."""
        body = await self._body(request)
        _only(body, {"symbol", "amount", "price"})
        symbol = self._symbol(body)
        if "amount" not in body:
            raise ControlError('amount is required (the signed position size, e.g. "-0.5")')
        amount = _decimal(body, "amount")
        spec = self.core.specs[symbol]
        if amount % spec.perp_step != 0:
            raise ControlError(f"amount must be a multiple of the perp step {fmt(spec.perp_step)}")
        if abs(amount) > spec.perp_max_qty:
            raise ControlError(f"|amount| must be at most {fmt(spec.perp_max_qty)}")
        price = None
        if body.get("price") is not None:
            price = _decimal(body, "price")
            if price <= 0:
                raise ControlError("price must be positive")
        view = self.core.set_position(symbol, amount, price)
        return _json({"symbol": symbol, "positionAmt": fmt(view.amount), "entryPrice": fmt(view.entry_price)})

    async def market(self, request: web.Request) -> web.Response:
        """``POST /sandbox/market``: ``move_bps`` jumps both books at once; ``depth_factor`` scales their depth."""
        body = await self._body(request)
        _only(body, {"symbol", "move_bps", "depth_factor"})
        symbol = self._symbol(body)
        if "move_bps" not in body and "depth_factor" not in body:
            raise ControlError("give move_bps and/or depth_factor")
        # Validate everything before changing anything: a half-applied control call would mislead a test.
        factor = _decimal(body, "depth_factor") if "depth_factor" in body else None
        move = _decimal(body, "move_bps") if "move_bps" in body else None
        if factor is not None and not 0 < factor <= MAX_DEPTH_FACTOR:
            raise ControlError(f"depth_factor must be above 0 and at most {MAX_DEPTH_FACTOR}")
        if move is not None and abs(move) > MAX_MOVE_BPS:
            raise ControlError(f"move_bps must be within ±{MAX_MOVE_BPS}")
        if factor is not None:
            self.core.set_depth_factor(symbol, factor)
        if move is not None:
            self.core.move_market(symbol, move)
        return _json(
            {
                "symbol": symbol,
                "spot_mid": fmt(self.core.mid_price(Market.SPOT, symbol)),
                "perp_mid": fmt(self.core.mid_price(Market.FUTURES, symbol)),
            }
        )

    async def transfer(self, request: web.Request) -> web.Response:
        """``POST /sandbox/transfer``: ``{"asset": "USDT", "delta": "100"}`` deposits into (or, negative,
        withdraws from) the spot wallet; the user data stream reports it as ``balanceUpdate``."""
        body = await self._body(request)
        _only(body, {"asset", "delta"})
        asset = body.get("asset")
        if not isinstance(asset, str) or asset not in self.core.spot_balances():
            raise ControlError(f"unknown asset {asset!r}; known: {', '.join(self.core.spot_balances())}")
        if "delta" not in body:
            raise ControlError('delta is required (e.g. "100" to deposit, "-100" to withdraw)')
        delta = _decimal(body, "delta")
        if delta == 0:
            raise ControlError("delta must not be 0")
        self.core.transfer(asset, delta)
        free, locked = self.core.spot_balances()[asset]
        return _json({"asset": asset, "free": fmt(free), "locked": fmt(locked)})

    async def funding(self, request: web.Request) -> web.Response:
        """``POST /sandbox/funding``: settle funding now (off the schedule) at the current rate, or at
        ``{"rate": "-0.0003"}`` for every symbol; answers the time and the FUNDING_FEE records booked."""
        body = await self._body(request) if request.can_read_body else {}
        _only(body, {"rate"})
        rate = _decimal(body, "rate") if body.get("rate") is not None else None
        if rate is not None and abs(rate) > MAX_FUNDING_RATE:
            raise ControlError(f"rate must be within ±{MAX_FUNDING_RATE}")
        booked = self.core.settle_funding(rate)
        # The settlement's own time (the latest one recorded), not a second reading of the clock a
        # millisecond later: the records and the funding-rate history carry that time.
        settled = self.core.funding.settlements[-1].time
        return _json({"time": settled, "income": [income_row(r) for r in booked]})

    async def reset(self, request: web.Request) -> web.Response:
        """``POST /sandbox/reset``: the start state (balances, positions, orders, books) and no faults."""
        await self._on_reset()
        return _json({"reset": True})
