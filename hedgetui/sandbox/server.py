"""The sandbox's HTTP and websocket server: Binance's REST surface for ccxt, the control API, faults.

``SandboxServer`` binds loopback (port 0 picks a free port), runs the price walk every ``tick_ms`` and
serves every route of ``binance-sandbox-spec.md`` §A1 with the shapes of §A2-A5 and the errors of Part C.
``serve_forever`` is what ``hedgetui sandbox`` runs. The control API (``/sandbox/...``, ``control.py``) is
unsigned and documented in the README; fault rules (``faults.py``) are applied here, per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import json
import logging
import random
import re
import signal
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

from aiohttp import web

from hedgetui.sandbox import shapes
from hedgetui.sandbox.auth import check_signed
from hedgetui.sandbox.candles import Candles
from hedgetui.sandbox.control import ControlApi
from hedgetui.sandbox.core import CoreConfig, ExchangeCore
from hedgetui.sandbox.endpoints import Endpoints, futures_account_v2
from hedgetui.sandbox.faults import REQUEST_ACTIONS, FaultBook, FaultRule
from hedgetui.sandbox.marketstreams import MarketStreams
from hedgetui.sandbox.model import Market, Order, OrderType, SandboxError, Side, TimeInForce
from hedgetui.sandbox.options import SandboxOptions
from hedgetui.sandbox.ratelimits import RateLimiter
from hedgetui.sandbox.streams import StreamHub
from hedgetui.sandbox.userstream import UserStreams
from hedgetui.sandbox.wsroutes import register_ws

log = logging.getLogger(__name__)
E = TypeVar("E", Side, OrderType, TimeInForce)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SignedHandler = Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]

FAPI_DEPTH_LIMITS = frozenset({5, 10, 20, 50, 100, 500, 1000})
SPOT_DEPTH_MAX = 5000
TRADES_LIMIT_MAX = 1000
#: Binance's format for decimal parameters: no sign, no exponent.
DECIMAL_RE = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
#: USDⓈ-M GTD: goodTillDate must be this far ahead, and below GTD_MAX.
GTD_MIN_AHEAD_MS = 600_000
GTD_MAX = 253_402_300_799_000
#: Methods whose form body carries parameters (GET has none on Binance).
BODY_METHODS = frozenset({"POST", "PUT", "DELETE"})
INTEGER_RE = re.compile(r"^[0-9]{1,19}$")
#: How often a held request (timeout faults) checks whether its client gave up.
HOLD_POLL_S = 0.02
DEFAULT_HOLD_MS = 60_000
INTERNAL_ERROR = {"code": -1001, "msg": "Internal error; unable to process your request. Please try again."}
BACKEND_TIMEOUT = {
    "code": -1007,
    "msg": "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
}

PARTIAL_KEY: web.RequestKey[dict[str, Any]] = web.RequestKey("partial", dict)
VISIBILITY_KEY: web.RequestKey[float] = web.RequestKey("visibility_ms", float)

#: The clock skew of the request being handled (``clock_skew_ms`` fault). A context variable, because
#: aiohttp handles concurrent requests in separate tasks: a skewed request must not skew its neighbours.
_SKEW_MS: contextvars.ContextVar[int] = contextvars.ContextVar("sandbox_skew_ms", default=0)


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body, separators=(",", ":")), status=status, content_type="application/json")


def _error(exc: SandboxError) -> web.Response:
    return _json(exc.body(), exc.http_status)


def _body_response(body: Any, status: int) -> web.Response:
    """A fault's answer body: a string goes out as text (an HTML error page, a gateway's text), else JSON."""
    if isinstance(body, str):
        return web.Response(text=body, status=status, content_type="text/html")
    return _json(body, status)


def _mandatory(name: str) -> SandboxError:
    return SandboxError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def _decimal(params: dict[str, str], name: str, required: bool) -> Decimal | None:
    raw = params.get(name)
    if raw is None or raw == "":
        if required:
            raise _mandatory(name)
        return None
    if not DECIMAL_RE.match(raw):
        raise SandboxError(
            -1100,
            f"Illegal characters found in parameter '{name}'; legal range is '^([0-9]{{1,20}})(\\.[0-9]{{1,20}})?$'.",
        )
    return Decimal(raw)


def _int(params: dict[str, str] | Any, name: str, default: int | None = None) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not INTEGER_RE.match(str(raw)):
        raise SandboxError(-1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'.")
    return int(raw)


def _not_required(name: str) -> SandboxError:
    return SandboxError(-1106, f"Parameter '{name}' sent when not required.")


class SandboxServer:
    """The embedded Binance-compatible exchange, served over HTTP and websockets on one port."""

    def __init__(self, options: SandboxOptions, clock: Callable[[], int] | None = None) -> None:
        self.options = options.validate()
        self._wall = clock or (lambda: int(time.time() * 1000))
        self.core = ExchangeCore(
            CoreConfig(
                symbols=options.symbols,
                seed=options.seed,
                spot_balances={"USDT": options.spot_usdt, **options.spot_base},
                futures_wallet=options.futures_usdt,
                strict_client_ids=options.strict_client_ids,
            ),
            clock=self.now,
        )
        self.faults = FaultBook()
        self.faults.on_ws_rule = self._apply_ws_rule
        self.streams = StreamHub(self.core, batch_diffs=True)
        self.market_streams = MarketStreams(self.core, self.streams)
        self.limits = RateLimiter(self.now)
        self.candles = Candles()
        self.core.add_user_listener(self.candles.on_user_events)
        self.endpoints = Endpoints(self.core, self.candles)
        self.users = UserStreams(
            self.core, self.streams, api_key=options.api_key, api_secret=options.api_secret, clock=self.now
        )
        self.control = ControlApi(self.core, self.faults, default_symbol=options.symbols[0], on_reset=self.reset)
        self.api_key = options.api_key
        self.api_secret = options.api_secret
        self.port = options.port
        self._jitter = random.Random(options.seed)
        self._hidden: dict[tuple[Market, int], int] = {}  # order -> wall-clock ms until which it is invisible
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._tick_task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._auto_ids = itertools.count(1)
        self.app = self._build_app()

    # ---- clock and lifecycle -----------------------------------------------------------------------

    def now(self) -> int:
        """The exchange's clock in epoch ms: the wall clock plus the skew of the request being handled."""
        return self._wall() + _SKEW_MS.get()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (valid once started)."""
        return f"http://{self._host_for_url()}:{self.port}"

    @property
    def ws_url(self) -> str:
        """``ws://127.0.0.1:PORT`` (valid once started)."""
        return f"ws://{self._host_for_url()}:{self.port}"

    def _host_for_url(self) -> str:
        host = self.options.host
        return f"[{host}]" if ":" in host else host

    async def start(self) -> None:
        """Bind and start serving and ticking; raise OSError when the port cannot be bound."""
        self._stopping.clear()
        # A short shutdown timeout: held requests end on stop(), so nothing legitimate needs longer.
        runner = web.AppRunner(self.app, handle_signals=False, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        # SO_REUSEADDR lets a restarted sandbox take its port back from TIME_WAIT; a live listener still blocks it.
        site = web.TCPSite(runner, self.options.host, self.options.port, reuse_address=True)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        self._tick_task = asyncio.create_task(self._tick_loop(), name="sandbox-ticks")
        self.market_streams.start()

    async def stop(self) -> None:
        """Stop ticking, end held requests and pending partial fills, close websockets, release the port."""
        self._stopping.set()
        if self._tick_task is not None:
            self._tick_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tick_task
            self._tick_task = None
        await self._cancel_tasks()
        await self.market_streams.stop()
        await self.streams.close_all()
        await self.streams.wait_kicks()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def reset(self) -> None:
        """The start state: no faults, no pending partial fills or hidden orders, the core's start state."""
        self.faults.clear()
        self._hidden.clear()
        self.streams.drop_next = dict.fromkeys(self.streams.drop_next, 0)
        self.streams.close_next_connections = 0
        self.users.reset()
        self.candles.clear()
        self.limits.reset()
        await self._cancel_tasks()
        self.core.reset()

    async def _cancel_tasks(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _tick_loop(self) -> None:
        # Scheduled against absolute deadlines so rounding never accumulates into drift; after a stall the
        # missed ticks are skipped, because a burst of walks would jump the market in one instant.
        loop = asyncio.get_running_loop()
        interval = self.options.tick_ms / 1000
        next_at = loop.time() + interval
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            try:
                self.core.tick()
                self.users.expire()
                self._sample_prices()
            except Exception:  # a bug in the walk must not silently stop the market
                log.exception("tick failed")
            next_at += interval
            now = loop.time()
            if next_at <= now:
                next_at += ((now - next_at) // interval + 1) * interval

    def _sample_prices(self) -> None:
        now = self.now()
        for symbol in self.core.specs:
            for market in Market:
                self.candles.see_price(market, symbol, now, self.core.mid_price(market, symbol))

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- app and middleware ------------------------------------------------------------------------

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        r = app.router
        # spot
        r.add_get("/api/v3/ping", self._ping)
        r.add_get("/api/v3/time", self._time)
        r.add_get("/api/v3/exchangeInfo", self._spot_info)
        r.add_get("/api/v3/depth", self._depth(Market.SPOT))
        r.add_get("/api/v3/ticker/24hr", self._ticker(Market.SPOT))
        r.add_get("/api/v3/ticker/bookTicker", self._book_ticker(Market.SPOT))
        r.add_post("/api/v3/order", self._signed(self._create(Market.SPOT)))
        r.add_get("/api/v3/order", self._signed(self._query(Market.SPOT)))
        r.add_delete("/api/v3/order", self._signed(self._cancel(Market.SPOT)))
        r.add_get("/api/v3/openOrders", self._signed(self._open_orders(Market.SPOT)))
        r.add_get("/api/v3/account", self._signed(self._spot_account))
        r.add_get("/api/v3/myTrades", self._signed(self._trades(Market.SPOT)))
        # USDⓈ-M futures
        r.add_get("/fapi/v1/ping", self._ping)
        r.add_get("/fapi/v1/time", self._time)
        r.add_get("/fapi/v1/exchangeInfo", self._futures_info)
        r.add_get("/fapi/v1/depth", self._depth(Market.FUTURES))
        r.add_get("/fapi/v1/ticker/24hr", self._ticker(Market.FUTURES))
        r.add_get("/fapi/v1/ticker/bookTicker", self._book_ticker(Market.FUTURES))
        r.add_get("/fapi/v1/premiumIndex", self._premium_index)
        r.add_post("/fapi/v1/order", self._signed(self._create(Market.FUTURES)))
        r.add_get("/fapi/v1/order", self._signed(self._query(Market.FUTURES)))
        r.add_delete("/fapi/v1/order", self._signed(self._cancel(Market.FUTURES)))
        r.add_get("/fapi/v1/openOrders", self._signed(self._open_orders(Market.FUTURES)))
        r.add_get("/fapi/v1/userTrades", self._signed(self._trades(Market.FUTURES)))
        r.add_get("/fapi/v1/leverageBracket", self._signed(self._leverage_bracket))
        r.add_post("/fapi/v1/leverage", self._signed(self._set_leverage))
        for version in (2, 3):
            r.add_get(f"/fapi/v{version}/account", self._signed(self._futures_account(v2=version == 2)))
            r.add_get(f"/fapi/v{version}/positionRisk", self._signed(self._position_risk(v2=version == 2)))
        self.endpoints.register(r, self._signed)
        # user data streams and websockets
        self.users.register(r)
        register_ws(r, self.streams, self.users)
        self.control.register(r)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/sandbox/") or request.headers.get("Upgrade", "").lower() == "websocket":
            return await handler(request)
        # One-way latency: the request travels to the exchange, then the answer travels back.
        await self._one_way_delay()
        market = Market.SPOT if request.path.startswith("/api/") else Market.FUTURES
        limit_headers: dict[str, str] = {}
        if self.limits.enabled and request.path.startswith(("/api/", "/fapi/")):
            try:
                limit_headers = self.limits.admit(market, request.method, request.path, request.query)
            except SandboxError as exc:
                refused = _error(exc)
                refused.headers["Retry-After"] = str(self.limits.retry_after_s(market))
                await self._one_way_delay()
                return refused
        rule = self.faults.take(request.method, request.path, REQUEST_ACTIONS)
        if rule is None:
            response = await self._run(handler, request)
        else:
            response = await self._apply_fault(rule, handler, request)
        if not response.prepared:
            response.headers.update(limit_headers)
        await self._one_way_delay()
        return response

    async def _one_way_delay(self) -> None:
        if self.options.latency_ms or self.options.jitter_ms:
            jitter = self._jitter.uniform(0, self.options.jitter_ms) if self.options.jitter_ms else 0.0
            await asyncio.sleep((self.options.latency_ms + jitter) / 1000)

    async def _run(self, handler: Handler, request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except SandboxError as exc:
            return _error(exc)
        except web.HTTPException:
            raise  # aiohttp's own answers (404, 405) stay as they are
        except Exception:
            # Binance answers its internal errors with -1001; the traceback is logged for whoever debugs it.
            log.exception("sandbox handler failed: %s %s", request.method, request.path_qs)
            return _json(INTERNAL_ERROR, 500)

    async def _hold(self, request: web.Request, hold_ms: float) -> None:
        """Wait until the client gives up (closes the connection), ``hold_ms`` passes or the server stops."""
        deadline = time.monotonic() + hold_ms / 1000
        while time.monotonic() < deadline and not self._stopping.is_set():
            transport = request.transport
            if transport is None or transport.is_closing():
                return
            await asyncio.sleep(HOLD_POLL_S)

    async def _apply_fault(self, rule: FaultRule, handler: Handler, request: web.Request) -> web.StreamResponse:
        a, p = rule.action, rule.params
        # Answers that never reach the exchange: nothing is processed.
        if a in ("http_500", "http_503"):
            status = 500 if a == "http_500" else 503
            title = "500 Internal Server Error" if status == 500 else "503 Service Temporarily Unavailable"
            return _body_response(p.get("body", f"<html><body><h1>{title}</h1></body></html>"), status)
        if a == "http_429":
            body = p.get(
                "body", {"code": -1003, "msg": "Too many requests; current limit is 6000 request weight per 1 MINUTE."}
            )
            return _body_response(body, 429)
        if a == "http_418":
            until = self._wall() + 120_000
            return _body_response(
                p.get("body", {"code": -1003, "msg": f"Way too many requests; IP banned until {until}."}), 418
            )
        if a == "reject":
            status = int(p.get("status", 400))
            if "body" in p:  # an arbitrary answer: HTML from a proxy, text from a gateway, JSON with HTTP 200...
                return _body_response(p["body"], status)
            return _json({"code": p["code"], "msg": p.get("msg", "Rejected by a sandbox fault rule.")}, status)
        if a == "timeout_before_accept":
            await self._hold(request, float(p.get("hold_ms", DEFAULT_HOLD_MS)))
            return web.Response(text="504 Gateway Time-out", status=504)
        # Faults that change how the request is processed.
        if a == "latency":
            await asyncio.sleep(float(p["ms"]) / 1000)
            return await self._run(handler, request)
        if a == "clock_skew_ms":
            token = _SKEW_MS.set(int(p["ms"]))
            try:
                return await self._run(handler, request)
            finally:
                _SKEW_MS.reset(token)
        if a == "visibility_delay_ms":
            request[VISIBILITY_KEY] = float(p["ms"])
        elif "visibility_ms" in p:  # an ambiguous answer AND late visibility (fault-matrix row 6)
            request[VISIBILITY_KEY] = float(p["visibility_ms"])
        if a == "partial":
            request[PARTIAL_KEY] = p
        response = await self._run(handler, request)
        # Faults on the way back: the request was processed.
        if a == "timeout_after_accept":
            await self._hold(request, float(p.get("hold_ms", DEFAULT_HOLD_MS)))
            return response
        if a == "drop_after_accept":
            if request.transport is not None:
                request.transport.abort()
            return response
        if a == "accept_then":
            return _body_response(p.get("body", BACKEND_TIMEOUT), int(p["status"]))
        return response

    # ---- request helpers ---------------------------------------------------------------------------

    def _signed(self, handler: SignedHandler) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            # Binance reads parameters from the query string and the form body for POST, PUT and DELETE.
            body = await request.text() if request.method in BODY_METHODS else ""
            params = check_signed(
                api_key_header=request.headers.get("X-MBX-APIKEY"),
                query=request.rel_url.raw_query_string,
                body=body,
                api_key=self.api_key,
                api_secret=self.api_secret,
                server_time=self.now(),
                fractional_recv_window=request.path.startswith("/api/"),
            )
            return await handler(request, params)

        return wrapped

    def _symbol(self, params: dict[str, str] | Any, required: bool = True) -> str | None:
        symbol = params.get("symbol")
        if not symbol:
            if required:
                raise _mandatory("symbol")
            return None
        if symbol not in self.core.specs:
            raise SandboxError(-1121, "Invalid symbol.")
        return str(symbol)

    def _required_symbol(self, params: dict[str, str] | Any) -> str:
        symbol = self._symbol(params)
        assert symbol is not None
        return symbol

    def _visible(self, market: Market, order: Order) -> bool:
        until = self._hidden.get((market, order.order_id))
        if until is None:
            return True
        if self._wall() >= until:
            del self._hidden[(market, order.order_id)]
            return True
        return False

    def _find(self, market: Market, params: dict[str, str], missing: SandboxError) -> Order:
        symbol = self._required_symbol(params)
        order_id = _int(params, "orderId")
        cid = params.get("origClientOrderId") or None
        if order_id is None and cid is None:
            raise SandboxError(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
        try:
            # Binance looks up by orderId when both are sent.
            order = self.core.get_order(market, symbol, order_id=order_id, client_order_id=None if order_id else cid)
        except SandboxError:
            raise missing from None
        if not self._visible(market, order):
            raise missing
        return order

    # ---- public routes -----------------------------------------------------------------------------

    async def _ping(self, request: web.Request) -> web.Response:
        return _json({})

    async def _time(self, request: web.Request) -> web.Response:
        return _json({"serverTime": self.now()})

    async def _spot_info(self, request: web.Request) -> web.Response:
        return _json(shapes.spot_exchange_info(list(self.core.specs.values()), self.now()))

    async def _futures_info(self, request: web.Request) -> web.Response:
        return _json(shapes.futures_exchange_info(list(self.core.specs.values()), self.now()))

    def _depth(self, market: Market) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            symbol = self._required_symbol(request.query)
            limit = _int(request.query, "limit", 100 if market is Market.SPOT else 500)
            assert limit is not None
            if market is Market.FUTURES and limit not in FAPI_DEPTH_LIMITS:
                raise SandboxError(-4021, "Invalid depth limit.")
            if market is Market.SPOT and not 1 <= limit <= SPOT_DEPTH_MAX:
                raise SandboxError(-1100, "Illegal characters found in parameter 'limit'; legal range is '1-5000'.")
            return _json(shapes.depth(self.core, market, symbol, limit))

        return handler

    def _ticker(self, market: Market) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            symbol = self._symbol(request.query, required=False)
            if symbol is None:
                return _json([shapes.ticker_24h(self.core, market, s) for s in self.core.specs])
            return _json(shapes.ticker_24h(self.core, market, symbol))

        return handler

    def _book_ticker(self, market: Market) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            symbol = self._symbol(request.query, required=False)
            if symbol is None:
                return _json([shapes.book_ticker(self.core, s, market) for s in self.core.specs])
            return _json(shapes.book_ticker(self.core, symbol, market))

        return handler

    async def _premium_index(self, request: web.Request) -> web.StreamResponse:
        symbol = self._symbol(request.query, required=False)
        if symbol is None:
            return _json([shapes.premium_index(self.core, s) for s in self.core.specs])
        return _json(shapes.premium_index(self.core, symbol))

    # ---- orders ------------------------------------------------------------------------------------

    def _create(self, market: Market) -> SignedHandler:
        async def handler(request: web.Request, params: dict[str, str]) -> web.StreamResponse:
            symbol = self._required_symbol(params)
            side = self._enum(params, "side", Side, -1117, "Invalid side.")
            otype = self._enum(params, "type", OrderType, -1116, "Invalid orderType.")
            if otype is OrderType.LIMIT_MAKER and market is Market.FUTURES:
                raise SandboxError(-1116, "Invalid orderType.")
            tif, good_till = self._time_in_force(market, otype, params)
            resp_types = ("ACK", "RESULT", "FULL") if market is Market.SPOT else ("ACK", "RESULT")
            # Binance's defaults: spot MARKET/LIMIT answer FULL (other types ACK), fapi answers ACK (ccxt
            # always asks RESULT there).
            spot_default = "FULL" if otype in (OrderType.MARKET, OrderType.LIMIT) else "ACK"
            resp_type = params.get("newOrderRespType") or (spot_default if market is Market.SPOT else "ACK")
            if resp_type not in resp_types:
                raise SandboxError(-1136, "Invalid newOrderRespType.")
            quantity = _decimal(params, "quantity", required=False)
            quote_qty = _decimal(params, "quoteOrderQty", required=False)
            price = _decimal(params, "price", required=otype is not OrderType.MARKET)
            if quote_qty is not None and (market is Market.FUTURES or otype is not OrderType.MARKET):
                raise _not_required("quoteOrderQty")
            if otype is OrderType.MARKET:
                if market is Market.SPOT and price is not None:
                    raise _not_required("price")
                if quantity is not None and quote_qty is not None:
                    raise SandboxError(-1128, "Combination of optional parameters invalid.")
            if quantity is None and quote_qty is None:
                raise _mandatory("quantity")
            reduce_only = self._bool(params, "reduceOnly")
            if "reduceOnly" in params and market is Market.SPOT:
                raise _not_required("reduceOnly")
            cid = params.get("newClientOrderId") or f"sandbox-auto-{next(self._auto_ids)}"
            partial = request.get(PARTIAL_KEY)
            fill_limit = None
            if partial is not None and otype is OrderType.MARKET and quantity is not None:
                # The core rounds this down to the step.
                fill_limit = quantity * Decimal(str(partial["fill_ratio"]))
            order = self.core.place_order(
                market,
                symbol,
                side,
                otype,
                quantity=quantity,
                client_order_id=cid,
                quote_order_qty=quote_qty,
                price=price,
                time_in_force=tif,
                reduce_only=reduce_only,
                fill_limit=fill_limit,
                good_till=good_till,
            )
            if fill_limit is not None and order.status.is_open:
                self._spawn(self._finish_partial(market, order.order_id, partial or {}))
            visibility = request.get(VISIBILITY_KEY)
            if visibility:
                self._hidden[(market, order.order_id)] = self._wall() + int(visibility)
            if market is Market.FUTURES:
                return _json(shapes.futures_order(order, self.core.specs[symbol], ack=resp_type == "ACK"))
            if resp_type == "ACK":
                return _json(shapes.spot_order_ack(order))
            if resp_type == "RESULT":
                return _json(shapes.spot_order_result(order))
            return _json(shapes.spot_order_full(order))

        return handler

    def _time_in_force(self, market: Market, otype: OrderType, params: dict[str, str]) -> tuple[TimeInForce, int]:
        """The order's timeInForce (LIMIT only; spot GTC/IOC/FOK, USDⓈ-M also GTX/GTD) and, for GTD, its
        goodTillDate (second precision, at least 600 s ahead)."""
        if otype is not OrderType.LIMIT:
            if params.get("timeInForce") and (market is Market.SPOT or otype is OrderType.LIMIT_MAKER):
                raise _not_required("timeInForce")
            return TimeInForce.GTC, 0
        tif = self._enum(params, "timeInForce", TimeInForce, -1115, "Invalid timeInForce.")
        if market is Market.SPOT and tif in (TimeInForce.GTX, TimeInForce.GTD):
            raise SandboxError(-1115, "Invalid timeInForce.")
        if tif is not TimeInForce.GTD:
            return tif, 0
        raw = _int(params, "goodTillDate")
        if raw is None:
            raise _mandatory("goodTillDate")
        good_till = raw - raw % 1000  # Binance keeps seconds and ignores the milliseconds
        if not self.now() + GTD_MIN_AHEAD_MS < good_till < GTD_MAX:
            raise SandboxError(
                -1130,
                "The goodTillDate timestamp must be greater than the current time plus 600 seconds and "
                "smaller than 253402300799000.",
            )
        return tif, good_till

    @staticmethod
    def _enum(params: dict[str, str], name: str, kind: type[E], code: int, msg: str) -> E:
        raw = params.get(name)
        if not raw:
            raise _mandatory(name)
        try:
            return kind(raw)
        except ValueError:
            raise SandboxError(code, msg) from None

    @staticmethod
    def _bool(params: dict[str, str], name: str) -> bool:
        raw = params.get(name, "false")
        if raw not in ("true", "false", "TRUE", "FALSE", "True", "False"):
            raise SandboxError(-1100, f"Illegal characters found in parameter '{name}'; legal range is 'true|false'.")
        return raw.lower() == "true"

    async def _finish_partial(self, market: Market, order_id: int, params: dict[str, Any]) -> None:
        await asyncio.sleep(float(params.get("rest_after_ms", 0)) / 1000)
        try:
            if params.get("expire"):
                self.core.expire_order(market, order_id)
            else:
                self.core.fill_rest(market, order_id)
        except SandboxError as exc:  # e.g. the sandbox was reset meanwhile: nothing left to finish
            log.info("partial fault: order %s not finished: %s", order_id, exc.msg)

    def _query(self, market: Market) -> SignedHandler:
        async def handler(request: web.Request, params: dict[str, str]) -> web.StreamResponse:
            order = self._find(market, params, SandboxError(-2013, "Order does not exist."))
            if market is Market.FUTURES:
                return _json(shapes.futures_order(order, self.core.specs[order.symbol], with_time=True))
            return _json(shapes.spot_order_query(order))

        return handler

    def _cancel(self, market: Market) -> SignedHandler:
        async def handler(request: web.Request, params: dict[str, str]) -> web.StreamResponse:
            order = self._find(market, params, SandboxError(-2011, "Unknown order sent."))
            # Live spot: the answer's clientOrderId names the CANCEL request (generated unless sent).
            cancel_id = None
            if market is Market.SPOT:
                cancel_id = params.get("newClientOrderId") or f"sandbox-cancel-{next(self._auto_ids)}"
            canceled = self.core.cancel_order(market, order.symbol, order_id=order.order_id, cancel_client_id=cancel_id)
            if market is Market.FUTURES or cancel_id is None:
                return _json(shapes.futures_order(canceled, self.core.specs[order.symbol], with_time=True))
            return _json(shapes.spot_cancel(canceled, cancel_id, self.now()))

        return handler

    def _open_orders(self, market: Market) -> SignedHandler:
        async def handler(request: web.Request, params: dict[str, str]) -> web.StreamResponse:
            symbol = self._symbol(params, required=False)
            orders = [o for o in self.core.open_orders(market, symbol) if self._visible(market, o)]
            if market is Market.FUTURES:
                return _json([shapes.futures_order(o, self.core.specs[o.symbol], with_time=True) for o in orders])
            return _json([shapes.spot_order_query(o) for o in orders])

        return handler

    def _trades(self, market: Market) -> SignedHandler:
        async def handler(request: web.Request, params: dict[str, str]) -> web.StreamResponse:
            symbol = self._required_symbol(params)
            order_id = _int(params, "orderId")
            limit = _int(params, "limit", 500)
            assert limit is not None
            if not 1 <= limit <= TRADES_LIMIT_MAX:
                raise SandboxError(-1100, "Illegal characters found in parameter 'limit'; legal range is '1-1000'.")
            from_id, start, end = _int(params, "fromId"), _int(params, "startTime"), _int(params, "endTime")
            # External position changes (order id -1) are the control API's, not an order's trades.
            trades = [
                t
                for t in self.core.trades(market, symbol, order_id)
                if t.order_id > 0
                and (from_id is None or t.trade_id >= from_id)
                and (start is None or t.time >= start)
                and (end is None or t.time <= end)
            ]
            # Binance returns the oldest `limit` trades from fromId/startTime, else the most recent ones.
            trades = trades[:limit] if from_id is not None or start is not None else trades[-limit:]
            if market is Market.FUTURES:
                return _json([shapes.futures_trade(t) for t in trades])
            return _json([shapes.spot_trade(t) for t in trades])

        return handler

    # ---- accounts ----------------------------------------------------------------------------------

    async def _spot_account(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        return _json(shapes.spot_account(self.core))

    def _futures_account(self, v2: bool) -> SignedHandler:
        async def handler(request: web.Request, params: dict[str, str]) -> web.StreamResponse:
            return _json(futures_account_v2(self.core) if v2 else shapes.futures_account(self.core, v2))

        return handler

    def _position_risk(self, v2: bool) -> SignedHandler:
        async def handler(request: web.Request, params: dict[str, str]) -> web.StreamResponse:
            symbol = self._symbol(params, required=False)
            rows = shapes.position_risk(self.core, v2)
            return _json([r for r in rows if symbol is None or r["symbol"] == symbol])

        return handler

    async def _leverage_bracket(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        symbol = self._symbol(params, required=False)
        brackets = shapes.leverage_brackets(self.core)
        if symbol is not None:  # Binance answers one object (not a list) when a symbol is given
            return _json(next(b for b in brackets if b["symbol"] == symbol))
        return _json(brackets)

    async def _set_leverage(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        symbol = self._required_symbol(params)
        leverage = _int(params, "leverage")
        if leverage is None:
            raise _mandatory("leverage")
        self.core.set_leverage(symbol, leverage)
        return _json({"leverage": leverage, "maxNotionalValue": "300000", "symbol": symbol})

    # ---- websockets --------------------------------------------------------------------------------

    def _apply_ws_rule(self, rule: FaultRule) -> None:
        """A ``WS *`` rule acts as soon as it is added (however it was added)."""
        self.faults.rules.remove(rule)
        market = rule.params.get("market")
        markets = [Market(market)] if market else list(Market)
        if rule.action == "ws_drop_diff":
            for m in markets:
                self.streams.drop_next[m] += rule.times
        elif rule.action == "ws_drop_user_event":
            for m in markets:
                self.users.drop_next[m] += rule.times
        elif rule.action == "listen_key_expire":
            for m in markets:
                self.users.expire(due_only=False, market=m)
        else:
            # One closure now; the later uses close the next connections as soon as they open.
            self.streams.close_next_connections += rule.times - 1
            self._spawn(self.streams.close_all())

    async def _ws_faults(self) -> None:
        """Let pending websocket closures run (WS rules themselves act as soon as they are added)."""
        await asyncio.sleep(0)


async def serve_forever(options: SandboxOptions, on_ready: Callable[[SandboxServer], None]) -> None:
    """Run a sandbox until cancelled, SIGINT or SIGTERM; then stop it cleanly."""
    server = SandboxServer(options)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        on_ready(server)
        await stop.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        await server.stop()
