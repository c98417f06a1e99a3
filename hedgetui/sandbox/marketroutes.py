"""The public market-data REST routes of both markets: ping, server time, exchange info, depth, the 24h and
book tickers, and the perp's premium index.

Kept apart from :mod:`hedgetui.sandbox.server` (the app, its middleware and the faults) like the wallet and
trade routes: unsigned reads of the core, one handler per route. ``now`` is the server's clock, so a
``clock_skew_ms`` fault shows in ``/time`` as it does in signed requests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from hedgetui.sandbox import exchangeinfo, shapes
from hedgetui.sandbox.core import ExchangeCore
from hedgetui.sandbox.model import Market, SandboxError
from hedgetui.sandbox.params import int_param, json_response, required_symbol, symbol_param

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

FAPI_DEPTH_LIMITS = frozenset({5, 10, 20, 50, 100, 500, 1000})
SPOT_DEPTH_MAX = 5000


class MarketRoutes:
    """The handlers, over one core and the server's clock."""

    def __init__(self, core: ExchangeCore, *, now: Callable[[], int]) -> None:
        self.core = core
        self.now = now

    def register(self, r: web.UrlDispatcher) -> None:
        """Add the routes of both markets."""
        # spot
        r.add_get("/api/v3/ping", self.ping)
        r.add_get("/api/v3/time", self.time)
        r.add_get("/api/v3/exchangeInfo", self.spot_info)
        r.add_get("/api/v3/depth", self.depth(Market.SPOT))
        r.add_get("/api/v3/ticker/24hr", self.ticker(Market.SPOT))
        r.add_get("/api/v3/ticker/bookTicker", self.book_ticker(Market.SPOT))
        # USDⓈ-M futures
        r.add_get("/fapi/v1/ping", self.ping)
        r.add_get("/fapi/v1/time", self.time)
        r.add_get("/fapi/v1/exchangeInfo", self.futures_info)
        r.add_get("/fapi/v1/depth", self.depth(Market.FUTURES))
        r.add_get("/fapi/v1/ticker/24hr", self.ticker(Market.FUTURES))
        r.add_get("/fapi/v1/ticker/bookTicker", self.book_ticker(Market.FUTURES))
        r.add_get("/fapi/v1/premiumIndex", self.premium_index)

    def _symbol(self, params: Any, required: bool = True) -> str | None:
        return symbol_param(self.core.specs, params, required)

    def _required_symbol(self, params: Any) -> str:
        return required_symbol(self.core.specs, params)

    async def ping(self, request: web.Request) -> web.Response:
        return json_response({})

    async def time(self, request: web.Request) -> web.Response:
        return json_response({"serverTime": self.now()})

    async def spot_info(self, request: web.Request) -> web.Response:
        return json_response(exchangeinfo.spot_exchange_info(list(self.core.specs.values()), self.now()))

    async def futures_info(self, request: web.Request) -> web.Response:
        return json_response(exchangeinfo.futures_exchange_info(list(self.core.specs.values()), self.now()))

    def depth(self, market: Market) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            symbol = self._required_symbol(request.query)
            limit = int_param(request.query, "limit", 100 if market is Market.SPOT else 500)
            assert limit is not None
            if market is Market.FUTURES and limit not in FAPI_DEPTH_LIMITS:
                raise SandboxError(-4021, "Invalid depth limit.")
            if market is Market.SPOT and not 1 <= limit <= SPOT_DEPTH_MAX:
                raise SandboxError(-1100, "Illegal characters found in parameter 'limit'; legal range is '1-5000'.")
            return json_response(shapes.depth(self.core, market, symbol, limit))

        return handler

    def ticker(self, market: Market) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            symbol = self._symbol(request.query, required=False)
            if symbol is None:
                return json_response([shapes.ticker_24h(self.core, market, s) for s in self.core.specs])
            return json_response(shapes.ticker_24h(self.core, market, symbol))

        return handler

    def book_ticker(self, market: Market) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            symbol = self._symbol(request.query, required=False)
            if symbol is None:
                return json_response([shapes.book_ticker(self.core, s, market) for s in self.core.specs])
            return json_response(shapes.book_ticker(self.core, symbol, market))

        return handler

    async def premium_index(self, request: web.Request) -> web.StreamResponse:
        symbol = self._symbol(request.query, required=False)
        if symbol is None:
            return json_response([shapes.premium_index(self.core, s) for s in self.core.specs])
        return json_response(shapes.premium_index(self.core, symbol))
