"""The sandbox's HTTP and websocket server: Binance's REST surface for ccxt, the control API, faults.

``SandboxServer`` binds loopback (port 0 picks a free port), runs the price walk every ``tick_ms`` and
serves every route of ``binance-sandbox-spec.md`` §A1. ``serve_forever`` is what ``hedgetui sandbox``
runs. The control API (``/sandbox/...``) is unsigned and documented in the README.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import signal
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from hedgetui.sandbox import shapes
from hedgetui.sandbox.auth import check_signed
from hedgetui.sandbox.core import CoreConfig, ExchangeCore
from hedgetui.sandbox.faults import ACTIONS, FaultBook, FaultError, FaultRule
from hedgetui.sandbox.model import Market, Order, OrderType, SandboxError, Side, TimeInForce
from hedgetui.sandbox.options import SandboxOptions
from hedgetui.sandbox.streams import DepthStreams

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
FAPI_DEPTH_LIMITS = {5, 10, 20, 50, 100, 500, 1000}
PARTIAL_KEY: web.RequestKey[dict[str, Any]] = web.RequestKey("partial", dict)
VISIBILITY_KEY: web.RequestKey[float] = web.RequestKey("visibility_ms", float)
REQUEST_ACTIONS = ACTIONS - {"ws_drop_diff", "ws_close"}  # the rest act on websocket streams


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body, separators=(",", ":")), status=status, content_type="application/json")


def _error(exc: SandboxError) -> web.Response:
    return _json(exc.body(), exc.http_status)


def _decimal(params: dict[str, str], name: str, required: bool = True) -> Decimal | None:
    raw = params.get(name)
    if raw is None or raw == "":
        if required:
            raise SandboxError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise SandboxError(
            -1100,
            f"Illegal characters found in parameter '{name}'; legal range is '^([0-9]{{1,20}})(\\.[0-9]{{1,20}})?$'.",
        ) from None
    if not value.is_finite():
        raise SandboxError(-1100, f"Illegal characters found in parameter '{name}'.")
    return value


class SandboxServer:
    """The embedded Binance-compatible exchange, served over HTTP and websockets."""

    def __init__(self, options: SandboxOptions, clock: Callable[[], int] | None = None) -> None:
        self.options = options.validate()
        self._wall = clock or (lambda: int(time.time() * 1000))
        self.skew_ms = 0
        balances = {"USDT": options.spot_usdt, **options.spot_base}
        self.core = ExchangeCore(
            CoreConfig(
                symbols=options.symbols,
                seed=options.seed,
                spot_balances=balances,
                futures_wallet=options.futures_usdt,
                strict_client_ids=options.strict_client_ids,
            ),
            clock=self.now,
        )
        self.faults = FaultBook()
        self.streams = DepthStreams(self.core)
        self.api_key = options.api_key
        self.api_secret = options.api_secret
        self._jitter = random.Random(options.seed)
        self._hidden: dict[tuple[Market, int], int] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._tick_task: asyncio.Task[None] | None = None
        self._cancel_ids = 0
        self.port = options.port
        self.app = self._build_app()

    # ---- lifecycle ---------------------------------------------------------------------------------

    def now(self) -> int:
        """The exchange's clock (wall clock plus any injected skew)."""
        return self._wall() + self.skew_ms

    @property
    def base_url(self) -> str:
        return f"http://{self._host_for_url()}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self._host_for_url()}:{self.port}"

    def _host_for_url(self) -> str:
        host = self.options.host
        return f"[{host}]" if ":" in host else host

    async def start(self) -> None:
        """Bind and start serving; raises OSError when the port cannot be bound."""
        self._runner = web.AppRunner(self.app, handle_signals=False, access_log=None)
        await self._runner.setup()
        # SO_REUSEADDR lets a restarted sandbox take its port back from TIME_WAIT; a live listener still blocks it.
        self._site = web.TCPSite(self._runner, self.options.host, self.options.port, reuse_address=True)
        try:
            await self._site.start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        sockets = getattr(self._site._server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        self._tick_task = asyncio.create_task(self._tick_loop(), name="sandbox-ticks")

    async def stop(self) -> None:
        if self._tick_task is not None:
            self._tick_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tick_task
            self._tick_task = None
        for task in list(self._tasks):
            task.cancel()
        await self.streams.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _tick_loop(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self.options.tick_ms / 1000
        next_at = loop.time() + interval
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            try:
                self.core.tick()
            except Exception:  # a bug in the walk must not silently stop the market
                log.exception("tick failed")
            next_at += interval
            now = loop.time()
            if next_at < now:  # fell behind: skip the missed ticks instead of bursting
                next_at = now + interval

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
        r.add_get("/api/v3/ticker/bookTicker", self._spot_book_ticker)
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
        r.add_get("/fapi/v1/ticker/bookTicker", self._futures_book_ticker)
        r.add_get("/fapi/v1/premiumIndex", self._premium_index)
        r.add_post("/fapi/v1/order", self._signed(self._create(Market.FUTURES)))
        r.add_get("/fapi/v1/order", self._signed(self._query(Market.FUTURES)))
        r.add_delete("/fapi/v1/order", self._signed(self._cancel(Market.FUTURES)))
        r.add_get("/fapi/v1/openOrders", self._signed(self._open_orders(Market.FUTURES)))
        r.add_get("/fapi/v1/userTrades", self._signed(self._trades(Market.FUTURES)))
        r.add_get("/fapi/v1/leverageBracket", self._signed(self._leverage_bracket))
        r.add_post("/fapi/v1/leverage", self._signed(self._set_leverage))
        r.add_get("/fapi/v2/account", self._signed(self._futures_account(v2=True)))
        r.add_get("/fapi/v3/account", self._signed(self._futures_account(v2=False)))
        r.add_get("/fapi/v2/positionRisk", self._signed(self._position_risk(v2=True)))
        r.add_get("/fapi/v3/positionRisk", self._signed(self._position_risk(v2=False)))
        # websockets
        for path in ("/stream/ws", "/stream/ws/{n}", "/ws", "/ws/{n}"):
            r.add_get(path, self._ws(Market.SPOT))
        for path in ("/fstream/ws", "/fstream/ws/{n}", "/fstream/{cat}/ws", "/fstream/{cat}/ws/{n}"):
            r.add_get(path, self._ws(Market.FUTURES))
        # control
        r.add_get("/sandbox/state", self._c_state)
        r.add_get("/sandbox/faults", self._c_faults_list)
        r.add_post("/sandbox/faults", self._c_faults_add)
        r.add_delete("/sandbox/faults", self._c_faults_clear)
        r.add_post("/sandbox/position", self._c_position)
        r.add_post("/sandbox/market", self._c_market)
        r.add_post("/sandbox/reset", self._c_reset)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path.startswith("/sandbox/"):
            return await handler(request)
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await handler(request)
        # One-way latency: the request travels to the exchange, then the answer travels back.
        await self._one_way_delay()
        rule = self.faults.take(request.method, path, REQUEST_ACTIONS)
        if rule is None:
            response = await self._run(handler, request)
        else:
            response = await self._apply_fault(rule, handler, request)
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

    async def _hold(self, request: web.Request, hold_ms: float) -> None:
        """Wait until the client gives up (closes the connection) or ``hold_ms`` passes."""
        deadline = time.monotonic() + hold_ms / 1000
        while time.monotonic() < deadline:
            transport = request.transport
            if transport is None or transport.is_closing():
                return
            await asyncio.sleep(0.02)

    async def _apply_fault(self, rule: FaultRule, handler: Handler, request: web.Request) -> web.StreamResponse:
        a, p = rule.action, rule.params
        if a == "latency":
            await asyncio.sleep(float(p["ms"]) / 1000)
            return await self._run(handler, request)
        if a in ("http_500", "http_503"):
            status = 500 if a == "http_500" else 503
            if "body" in p:
                return _json(p["body"], status)
            return web.Response(
                text="<html><body><h1>Service Unavailable</h1></body></html>", status=status, content_type="text/html"
            )
        if a == "http_429":
            return _json(
                p.get("body", {"code": -1003, "msg": "Too many requests; current limit is 1200 requests per minute."}),
                429,
            )
        if a == "http_418":
            return _json(
                p.get("body", {"code": -1003, "msg": "Way too many requests; IP banned until 9999999999999."}), 418
            )
        if a == "reject":
            status = int(p.get("status", 400))
            if "body" in p:  # an arbitrary answer: HTML from a proxy, text from a gateway, JSON with HTTP 200...
                body = p["body"]
                if isinstance(body, str):
                    return web.Response(text=body, status=status, content_type="text/html")
                return _json(body, status)
            return _json({"code": p["code"], "msg": p.get("msg", "Rejected by fault rule.")}, status)
        if a == "timeout_before_accept":
            await self._hold(request, float(p.get("hold_ms", 60000)))
            return web.Response(text="Gateway Timeout", status=504)
        if a == "clock_skew_ms":
            self.skew_ms = int(p["ms"])
            try:
                return await self._run(handler, request)
            finally:
                self.skew_ms = 0
        if a == "visibility_delay_ms":
            request[VISIBILITY_KEY] = float(p["ms"])
        elif "visibility_ms" in p:  # an ambiguous answer AND late visibility (fault-matrix row 6)
            request[VISIBILITY_KEY] = float(p["visibility_ms"])
        if a == "partial":
            request[PARTIAL_KEY] = p
        response = await self._run(handler, request)
        if a == "timeout_after_accept":
            await self._hold(request, float(p.get("hold_ms", 60000)))
            return response
        if a == "drop_after_accept":
            if request.transport is not None:
                request.transport.close()
            return response
        if a == "accept_then":
            body = p.get(
                "body",
                {
                    "code": -1007,
                    "msg": "Timeout waiting for response from backend server."
                    " Send status unknown; execution status unknown.",
                },
            )
            if isinstance(body, str):
                return web.Response(text=body, status=int(p["status"]))
            return _json(body, int(p["status"]))
        return response

    # ---- helpers -----------------------------------------------------------------------------------

    def _signed(self, handler: Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            raw = await request.text() if request.method == "POST" else request.rel_url.raw_query_string
            if request.method == "POST" and request.rel_url.raw_query_string:
                raw = request.rel_url.raw_query_string + ("&" + raw if raw else "")
            params = check_signed(
                api_key_header=request.headers.get("X-MBX-APIKEY"),
                raw=raw,
                api_key=self.api_key,
                api_secret=self.api_secret,
                server_time=self.now(),
            )
            return await handler(request, params)

        return wrapped

    def _symbol(self, params: dict[str, str] | Any, required: bool = True) -> str | None:
        symbol = params.get("symbol")
        if not symbol:
            if required:
                raise SandboxError(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
            return None
        if symbol not in self.core.specs:
            raise SandboxError(-1121, "Invalid symbol.")
        return str(symbol)

    def _visible(self, market: Market, order: Order) -> bool:
        until = self._hidden.get((market, order.order_id))
        if until is None:
            return True
        if self.now() >= until:
            del self._hidden[(market, order.order_id)]
            return True
        return False

    def _find(self, market: Market, params: dict[str, str], missing: SandboxError) -> Order:
        symbol = self._symbol(params)
        assert symbol is not None
        order_id = params.get("orderId")
        cid = params.get("origClientOrderId")
        if not order_id and not cid:
            raise SandboxError(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
        try:
            order = self.core.get_order(
                market,
                symbol,
                order_id=int(order_id) if order_id else None,
                client_order_id=cid if not order_id else None,
            )
        except (SandboxError, ValueError):
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
            symbol = self._symbol(request.query)
            assert symbol is not None
            raw = request.query.get("limit", "100")
            try:
                limit = int(raw)
            except ValueError:
                raise SandboxError(-1100, "Illegal characters found in parameter 'limit'.") from None
            if market is Market.FUTURES and limit not in FAPI_DEPTH_LIMITS:
                raise SandboxError(-4021, "Invalid depth limit.")
            if market is Market.SPOT and not 1 <= limit <= 5000:
                raise SandboxError(-1100, "Illegal characters found in parameter 'limit'.")
            return _json(shapes.depth(self.core, market, symbol, limit))

        return handler

    def _ticker(self, market: Market) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            symbol = self._symbol(request.query, required=False)
            if symbol is None:
                return _json([shapes.ticker_24h(self.core, market, s) for s in self.core.specs])
            return _json(shapes.ticker_24h(self.core, market, symbol))

        return handler

    async def _spot_book_ticker(self, request: web.Request) -> web.StreamResponse:
        symbol = self._symbol(request.query)
        assert symbol is not None
        bid, bq, ask, aq = self.core.best_bid_ask(Market.SPOT, symbol)
        return _json(
            {
                "symbol": symbol,
                "bidPrice": shapes.fmt(bid, 8),
                "bidQty": shapes.fmt(bq, 8),
                "askPrice": shapes.fmt(ask, 8),
                "askQty": shapes.fmt(aq, 8),
            }
        )

    async def _futures_book_ticker(self, request: web.Request) -> web.StreamResponse:
        symbol = self._symbol(request.query, required=False)
        if symbol is None:
            return _json([shapes.book_ticker(self.core, s) for s in self.core.specs])
        return _json(shapes.book_ticker(self.core, symbol))

    async def _premium_index(self, request: web.Request) -> web.StreamResponse:
        symbol = self._symbol(request.query, required=False)
        if symbol is None:
            return _json([shapes.premium_index(self.core, s) for s in self.core.specs])
        return _json(shapes.premium_index(self.core, symbol))

    # ---- orders ------------------------------------------------------------------------------------

    def _create(self, market: Market) -> Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request, params: dict[str, str]) -> web.StreamResponse:
            symbol = self._symbol(params)
            assert symbol is not None
            try:
                side = Side(params.get("side", ""))
            except ValueError:
                raise SandboxError(-1117 if params.get("side") else -1102, "Invalid side.") from None
            try:
                otype = OrderType(params.get("type", ""))
            except ValueError:
                raise SandboxError(-1116 if params.get("type") else -1102, "Invalid orderType.") from None
            tif = TimeInForce.GTC
            if otype is OrderType.LIMIT:
                try:
                    tif = TimeInForce(params.get("timeInForce", ""))
                except ValueError:
                    raise SandboxError(
                        -1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed."
                    ) from None
            quote_qty = _decimal(params, "quoteOrderQty", required=False) if market is Market.SPOT else None
            quantity = _decimal(params, "quantity", required=quote_qty is None)
            price = _decimal(params, "price", required=otype is OrderType.LIMIT) if otype is OrderType.LIMIT else None
            reduce_only = params.get("reduceOnly", "false").lower() == "true"
            if reduce_only and market is Market.SPOT:
                raise SandboxError(-1104, "Not all sent parameters were read; read '8' parameter(s) but was sent '9'.")
            cid = params.get("newClientOrderId") or f"sb{self.core._order_ids}"
            partial = request.get(PARTIAL_KEY)
            fill_limit = None
            if partial is not None and otype is OrderType.MARKET and quantity is not None:
                fill_limit = quantity * Decimal(str(partial.get("fill_ratio", 0.5)))
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
            )
            if partial is not None and fill_limit is not None:
                self._spawn(self._finish_partial(market, order.order_id, partial))
            visibility = request.get(VISIBILITY_KEY)
            if visibility:
                self._hidden[(market, order.order_id)] = self.now() + int(visibility)
            if market is Market.FUTURES:
                return _json(shapes.futures_order(order, self.core.specs[symbol]))
            resp_type = params.get("newOrderRespType") or (
                "FULL" if otype in (OrderType.MARKET, OrderType.LIMIT) else "ACK"
            )
            if resp_type == "ACK":
                return _json(shapes.spot_order_ack(order))
            if resp_type == "RESULT":
                return _json(shapes.spot_order_result(order))
            return _json(shapes.spot_order_full(order))

        return handler

    async def _finish_partial(self, market: Market, order_id: int, params: dict[str, Any]) -> None:
        await asyncio.sleep(float(params.get("rest_after_ms", 0)) / 1000)
        if params.get("expire"):
            self.core.expire_order(market, order_id)
        else:
            self.core.fill_rest(market, order_id)

    def _query(self, market: Market) -> Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request, params: dict[str, str]) -> web.StreamResponse:
            order = self._find(market, params, SandboxError(-2013, "Order does not exist."))
            if market is Market.FUTURES:
                return _json(shapes.futures_order(order, self.core.specs[order.symbol], with_time=True))
            return _json(shapes.spot_order_query(order))

        return handler

    def _cancel(self, market: Market) -> Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request, params: dict[str, str]) -> web.StreamResponse:
            order = self._find(market, params, SandboxError(-2011, "Unknown order sent."))
            canceled = self.core.cancel_order(market, order.symbol, order_id=order.order_id)
            if market is Market.FUTURES:
                return _json(shapes.futures_order(canceled, self.core.specs[order.symbol], with_time=True))
            self._cancel_ids += 1
            cancel_id = params.get("newClientOrderId") or f"sbcancel{self._cancel_ids:010d}"
            return _json(shapes.spot_cancel(canceled, cancel_id, self.now()))

        return handler

    def _open_orders(self, market: Market) -> Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request, params: dict[str, str]) -> web.StreamResponse:
            symbol = self._symbol(params, required=False)
            orders = [o for o in self.core.open_orders(market, symbol) if self._visible(market, o)]
            if market is Market.FUTURES:
                return _json([shapes.futures_order(o, self.core.specs[o.symbol], with_time=True) for o in orders])
            return _json([shapes.spot_order_query(o) for o in orders])

        return handler

    def _trades(self, market: Market) -> Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request, params: dict[str, str]) -> web.StreamResponse:
            symbol = self._symbol(params)
            order_id = params.get("orderId")
            trades = self.core.trades(market, symbol, int(order_id) if order_id else None)
            trades = [t for t in trades if t.order_id > 0]
            limit = int(params.get("limit", "500"))
            trades = trades[-limit:]
            if market is Market.FUTURES:
                return _json([shapes.futures_trade(t) for t in trades])
            return _json([shapes.spot_trade(t) for t in trades])

        return handler

    async def _spot_account(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        return _json(shapes.spot_account(self.core))

    def _futures_account(self, v2: bool) -> Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request, params: dict[str, str]) -> web.StreamResponse:
            return _json(shapes.futures_account(self.core, v2))

        return handler

    def _position_risk(self, v2: bool) -> Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request, params: dict[str, str]) -> web.StreamResponse:
            rows = shapes.position_risk(self.core, v2)
            symbol = params.get("symbol")
            if symbol:
                rows = [r for r in rows if r["symbol"] == symbol]
            return _json(rows)

        return handler

    async def _leverage_bracket(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        return _json(shapes.leverage_brackets(self.core))

    async def _set_leverage(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        symbol = self._symbol(params)
        assert symbol is not None
        try:
            leverage = int(params.get("leverage", ""))
        except ValueError:
            raise SandboxError(
                -1102, "Mandatory parameter 'leverage' was not sent, was empty/null, or malformed."
            ) from None
        self.core.set_leverage(symbol, leverage)
        return _json({"leverage": leverage, "maxNotionalValue": "300000", "symbol": symbol})

    # ---- websockets --------------------------------------------------------------------------------

    def _ws(self, market: Market) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            return await self.streams.handle(request, market)

        return handler

    async def _ws_faults(self) -> None:
        """Apply armed websocket rules now (called when such a rule is added)."""
        while (rule := self.faults.take("WS", "*", {"ws_drop_diff", "ws_close"})) is not None:
            if rule.action == "ws_drop_diff":
                market = rule.params.get("market")
                targets = [Market(market)] if market else [Market.SPOT, Market.FUTURES]
                for m in targets:
                    self.streams.drop_next[m] += 1
            else:
                await self.streams.close_all()

    # ---- control API -------------------------------------------------------------------------------

    async def _body(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(
                text=json.dumps({"error": "body must be a JSON object"}), content_type="application/json"
            ) from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(
                text=json.dumps({"error": "body must be a JSON object"}), content_type="application/json"
            )
        return body

    @staticmethod
    def _bad(message: str) -> web.Response:
        return _json({"error": message}, 400)

    async def _c_state(self, request: web.Request) -> web.Response:
        return _json(shapes.state(self.core))

    async def _c_faults_list(self, request: web.Request) -> web.Response:
        return _json(self.faults.describe())

    async def _c_faults_add(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            rule = self.faults.add(body)
        except FaultError as exc:
            return self._bad(str(exc))
        if rule.action in ("ws_drop_diff", "ws_close"):
            if rule.method != "WS":
                self.faults.rules.remove(rule)
                return self._bad("websocket actions match 'WS *'")
            await self._ws_faults()
        return _json({"id": rule.id})

    async def _c_faults_clear(self, request: web.Request) -> web.Response:
        self.faults.clear()
        return _json({"cleared": True})

    async def _c_position(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        symbol = body.get("symbol", self.options.symbols[0])
        if symbol not in self.core.specs:
            return self._bad(f"unknown symbol {symbol!r}")
        try:
            amount = Decimal(str(body["amount"]))
            price = Decimal(str(body["price"])) if body.get("price") is not None else None
        except (KeyError, InvalidOperation):
            return self._bad("amount (and optional price) must be numbers")
        view = self.core.set_position(symbol, amount, price)
        return _json(
            {"symbol": symbol, "positionAmt": shapes.fmt(view.amount), "entryPrice": shapes.fmt(view.entry_price)}
        )

    async def _c_market(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        symbol = body.get("symbol", self.options.symbols[0])
        if symbol not in self.core.specs:
            return self._bad(f"unknown symbol {symbol!r}")
        if "move_bps" not in body and "depth_factor" not in body:
            return self._bad("give move_bps and/or depth_factor")
        try:
            if "depth_factor" in body:
                factor = Decimal(str(body["depth_factor"]))
                if factor <= 0:
                    return self._bad("depth_factor must be positive")
                self.core.set_depth_factor(symbol, factor)
            if "move_bps" in body:
                self.core.move_market(symbol, Decimal(str(body["move_bps"])))
        except InvalidOperation:
            return self._bad("move_bps and depth_factor must be numbers")
        return _json({"symbol": symbol, "mid": shapes.fmt(self.core.mid_price(Market.SPOT, symbol))})

    async def _c_reset(self, request: web.Request) -> web.Response:
        self.faults.clear()
        self._hidden.clear()
        for task in list(self._tasks):
            task.cancel()
        self.core.reset()
        return _json({"reset": True})


async def serve_forever(options: SandboxOptions, on_ready: Callable[[SandboxServer], None]) -> None:
    """Run a sandbox until cancelled, SIGINT or SIGTERM; then stop cleanly."""
    server = SandboxServer(options)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        on_ready(server)
        await stop.wait()
    finally:
        await server.stop()
