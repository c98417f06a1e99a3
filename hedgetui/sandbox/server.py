"""The sandbox's HTTP and websocket server: Binance's REST surface for ccxt, the control API, faults.

``SandboxServer`` binds loopback (port 0 picks a free port), runs the price walk every ``tick_ms`` and
serves every route of ``binance-sandbox-spec.md`` §A1 with the shapes of §A2-A5 and the errors of Part C.
``serve_forever`` is what ``hedgetui sandbox`` runs. The control API (``/sandbox/...``, ``control.py``) is
unsigned and documented in the README; fault rules (``faults.py``) are applied per request by the
middleware here, with the answers they change in ``faultanswers.py``. The public market routes are in
``marketroutes.py``, like the wallet (``walletroutes.py``) and trade (``traderoutes.py``) routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from hedgetui.sandbox.auth import check_signed
from hedgetui.sandbox.candles import Candles
from hedgetui.sandbox.control import ControlApi
from hedgetui.sandbox.core import CoreConfig, ExchangeCore
from hedgetui.sandbox.endpoints import Endpoints
from hedgetui.sandbox.faultanswers import SKEW_MS, FaultAnswers
from hedgetui.sandbox.faults import REQUEST_ACTIONS, FaultBook, FaultRule
from hedgetui.sandbox.marketroutes import MarketRoutes
from hedgetui.sandbox.marketstreams import MarketStreams
from hedgetui.sandbox.model import Market, SandboxError
from hedgetui.sandbox.options import SandboxOptions
from hedgetui.sandbox.params import error_response, json_response
from hedgetui.sandbox.ratelimits import RateLimiter
from hedgetui.sandbox.requestlog import RequestLog
from hedgetui.sandbox.streams import StreamHub
from hedgetui.sandbox.traderoutes import TradeRoutes
from hedgetui.sandbox.userstream import UserStreams
from hedgetui.sandbox.walletroutes import WalletRoutes
from hedgetui.sandbox.wsroutes import register_ws

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SignedHandler = Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]

#: Methods whose form body carries parameters (GET has none on Binance).
BODY_METHODS = frozenset({"POST", "PUT", "DELETE"})
INTERNAL_ERROR = {"code": -1001, "msg": "Internal error; unable to process your request. Please try again."}


_json = json_response
_error = error_response


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
                funding_interval_ms=options.funding_interval_s * 1000,
            ),
            clock=self.now,
        )
        self.faults = FaultBook()
        self.faults.on_ws_rule = self._apply_ws_rule
        self.fault_answers = FaultAnswers(self)
        self.streams = StreamHub(self.core, batch_diffs=True)
        self.market_streams = MarketStreams(self.core, self.streams)
        self.limits = RateLimiter(self.now)
        self.requests = RequestLog()
        self.candles = Candles()
        self.core.add_user_listener(self.candles.on_user_events)
        self.market = MarketRoutes(self.core, now=self.now)
        self.endpoints = Endpoints(self.core, self.candles)
        self.wallet = WalletRoutes(self.core)
        self.trading = TradeRoutes(self.core, now=self.now, wall=lambda: self._wall(), spawn=self._spawn)
        self.users = UserStreams(
            self.core, self.streams, api_key=options.api_key, api_secret=options.api_secret, clock=self.now
        )
        self.control = ControlApi(
            self.core, self.faults, default_symbol=options.symbols[0], on_reset=self.reset, requests=self.requests
        )
        self.api_key = options.api_key
        self.api_secret = options.api_secret
        self.port = options.port
        self._jitter = random.Random(options.seed)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._tick_task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.app = self._build_app()

    # ---- clock and lifecycle -----------------------------------------------------------------------

    def now(self) -> int:
        """The exchange's clock in epoch ms: the wall clock plus the skew of the request being handled."""
        return self._wall() + SKEW_MS.get()

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
        self.trading.hidden.clear()
        self.streams.drop_next = dict.fromkeys(self.streams.drop_next, 0)
        self.streams.close_next_connections = 0
        self.users.reset()
        self.candles.clear()
        self.limits.reset()
        self.requests.clear()
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
        self.market.register(r)
        self.endpoints.register(r, self._signed)
        self.wallet.register(r, self._signed)
        self.trading.register(r, self._signed)
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
        # Recorded as it reaches the exchange (the request log: what a client really cost).
        record = self.requests.arrived(request.method, request.path, time.time() * 1000)
        market = Market.SPOT if request.path.startswith(("/api/", "/sapi/")) else Market.FUTURES
        limit_headers: dict[str, str] = {}
        if self.limits.enabled and request.path.startswith(("/api/", "/fapi/")):
            try:
                limit_headers = self.limits.admit(market, request.method, request.path, request.query)
            except SandboxError as exc:
                refused = _error(exc)
                refused.headers["Retry-After"] = str(self.limits.retry_after_s(market))
                self.requests.answered(record, refused.status, time.time() * 1000)
                await self._one_way_delay()
                return refused
        rule = self.faults.take(request.method, request.path, REQUEST_ACTIONS)
        if rule is None:
            response = await self._run(handler, request)
        else:
            response = await self.fault_answers.apply(rule, handler, request)
        if not response.prepared:
            response.headers.update(limit_headers)
        self.requests.answered(record, response.status, time.time() * 1000)
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
                fractional_recv_window=request.path.startswith(("/api/", "/sapi/")),
            )
            return await handler(request, params)

        return wrapped

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
