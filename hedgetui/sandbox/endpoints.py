"""REST endpoints beyond the set ccxt's hedge calls use: price tickers, klines, futures
balances, the position mode, and the v2 futures account shape.

The routes are registered by the server; signed ones go through its signature check (``signed``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from hedgetui.sandbox.accountshapes import futures_account, position_risk
from hedgetui.sandbox.candles import INTERVALS_MS, Candle, Candles
from hedgetui.sandbox.core import ExchangeCore
from hedgetui.sandbox.model import Market, SandboxError
from hedgetui.sandbox.params import int_param, json_response, symbol_param
from hedgetui.sandbox.shapes import decimal_places, fmt

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SignedHandler = Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]
KLINES_MAX = {Market.SPOT: 1000, Market.FUTURES: 1500}


_json = json_response
_int = int_param


class Endpoints:
    """The handlers, over one core and its candles."""

    def __init__(self, core: ExchangeCore, candles: Candles) -> None:
        self.core = core
        self.candles = candles

    def register(self, router: web.UrlDispatcher, signed: Callable[[SignedHandler], Handler]) -> None:
        """Add the routes (``signed`` wraps a handler in the server's signature check)."""
        router.add_get("/api/v3/ticker/price", self.price_ticker(Market.SPOT))
        router.add_get("/fapi/v1/ticker/price", self.price_ticker(Market.FUTURES))
        router.add_get("/fapi/v2/ticker/price", self.price_ticker(Market.FUTURES))
        router.add_get("/api/v3/klines", self.klines(Market.SPOT))
        router.add_get("/fapi/v1/klines", self.klines(Market.FUTURES))
        for version in (2, 3):
            router.add_get(f"/fapi/v{version}/balance", signed(self.balance))
        router.add_get("/fapi/v1/positionSide/dual", signed(self.position_mode))
        router.add_post("/fapi/v1/positionSide/dual", signed(self.change_position_mode))

    def _symbol(self, params: Any, required: bool) -> str | None:
        return symbol_param(self.core.specs, params, required)

    # ---- market data -------------------------------------------------------------------------------

    def price_ticker(self, market: Market) -> Handler:
        """``ticker/price``: the last price of one symbol (an object) or of all (a list)."""

        def row(symbol: str) -> dict[str, Any]:
            spec = self.core.specs[symbol]
            places = 8 if market is Market.SPOT else decimal_places(spec.perp_tick)
            body: dict[str, Any] = {
                "symbol": symbol,
                "price": fmt(self.core.ticker_24h(market, symbol)["last"], places),
            }
            if market is Market.FUTURES:
                body["time"] = self.core.now()
            return body

        async def handler(request: web.Request) -> web.StreamResponse:
            symbol = self._symbol(request.query, required=False)
            return _json(row(symbol) if symbol else [row(s) for s in self.core.specs])

        return handler

    def klines(self, market: Market) -> Handler:
        """``klines``: Binance's 12-column rows, oldest first."""

        async def handler(request: web.Request) -> web.StreamResponse:
            q = request.query
            symbol = self._symbol(q, required=True)
            assert symbol is not None
            interval = q.get("interval")
            if not interval:
                raise SandboxError(-1102, "Mandatory parameter 'interval' was not sent, was empty/null, or malformed.")
            limit = _int(q, "limit", 500)
            assert limit is not None
            if not 1 <= limit <= KLINES_MAX[market]:
                raise SandboxError(
                    -1100, f"Illegal characters found in parameter 'limit'; legal range is '1-{KLINES_MAX[market]}'."
                )
            start, end = _int(q, "startTime"), _int(q, "endTime")
            if start is not None and end is not None and start > end:
                raise SandboxError(-1023, "Start time is greater than end time.")
            spec = self.core.specs[symbol]
            pp = 8 if market is Market.SPOT else decimal_places(spec.perp_tick)
            qp = 8 if market is Market.SPOT else decimal_places(spec.perp_step)
            step = INTERVALS_MS.get(interval, 0)
            rows = self.candles.klines(market, symbol, interval, start, end, limit)
            return _json([self._row(c, step, pp, qp) for c in rows])

        return handler

    @staticmethod
    def _row(c: Candle, step: int, pp: int, qp: int) -> list[Any]:
        return [
            c.open_time,
            fmt(c.open, pp),
            fmt(c.high, pp),
            fmt(c.low, pp),
            fmt(c.close, pp),
            fmt(c.volume, qp),
            c.open_time + step - 1,
            fmt(c.quote_volume, 8),
            c.trades,
            fmt(c.taker_buy_volume, qp),
            fmt(c.taker_buy_quote, 8),
            "0",
        ]

    # ---- futures account ---------------------------------------------------------------------------

    async def balance(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        """``GET /fapi/v2|v3/balance``: the USDT asset of the futures wallet."""
        acc = self.core.futures_account()
        return _json(
            [
                {
                    "accountAlias": "SgsR",
                    "asset": "USDT",
                    "balance": fmt(acc.wallet_balance, 8),
                    "crossWalletBalance": fmt(acc.wallet_balance, 8),
                    "crossUnPnl": fmt(acc.unrealized_pnl, 8),
                    "availableBalance": fmt(acc.available_balance, 8),
                    "maxWithdrawAmount": fmt(acc.available_balance, 8),
                    "marginAvailable": True,
                    "updateTime": self.core.now(),
                }
            ]
        )

    async def position_mode(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        """``GET /fapi/v1/positionSide/dual``: always one-way mode."""
        return _json({"dualSidePosition": False})

    async def change_position_mode(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        """``POST /fapi/v1/positionSide/dual``: one-way is kept; hedge mode is refused (not simulated)."""
        raw = params.get("dualSidePosition")
        if raw is None:
            raise SandboxError(
                -1102, "Mandatory parameter 'dualSidePosition' was not sent, was empty/null, or malformed."
            )
        if raw.lower() == "false":
            raise SandboxError(-4059, "No need to change position side.")
        if raw.lower() != "true":
            raise SandboxError(
                -1100, "Illegal characters found in parameter 'dualSidePosition'; legal range is 'true|false'."
            )
        # Not a Binance answer: Binance would switch; the sandbox simulates one-way mode only.
        raise SandboxError(-1000, "The sandbox simulates one-way mode only (dualSidePosition=false).")


def futures_account_v2(core: ExchangeCore) -> dict[str, Any]:
    """``GET /fapi/v2/account``: the v3 fields plus v2's account flags, and full position rows."""
    body = futures_account(core, v2=True)
    risk = {p["symbol"]: p for p in position_risk(core, v2=True)}
    body.update(
        {
            "feeTier": 0,
            "feeBurn": False,
            "canTrade": True,
            "canDeposit": True,
            "canWithdraw": True,
            "updateTime": 0,
            "multiAssetsMargin": False,
            "tradeGroupId": -1,
        }
    )
    body["positions"] = [
        {
            "symbol": p["symbol"],
            "initialMargin": p["initialMargin"],
            "maintMargin": p["maintMargin"],
            "unrealizedProfit": p["unrealizedProfit"],
            "positionInitialMargin": p["initialMargin"],
            "openOrderInitialMargin": "0",
            "leverage": risk[p["symbol"]]["leverage"],
            "isolated": False,
            "entryPrice": risk[p["symbol"]]["entryPrice"],
            "breakEvenPrice": risk[p["symbol"]]["breakEvenPrice"],
            "maxNotional": risk[p["symbol"]]["maxNotionalValue"],
            "bidNotional": "0",
            "askNotional": "0",
            "positionSide": "BOTH",
            "positionAmt": p["positionAmt"],
            "updateTime": p["updateTime"],
        }
        for p in body["positions"]
    ]
    return body
