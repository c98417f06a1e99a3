"""REST routes of funding and the futures wallet's history: funding-rate history, funding info, income
history, and the spot ⇄ futures transfer.

``GET /fapi/v1/fundingRate`` and ``GET /fapi/v1/fundingInfo`` are public; ``GET /fapi/v1/income`` and
``POST /sapi/v1/asset/transfer`` are signed (the server's ``signed`` wrapper checks them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from hedgetui.sandbox.core import ExchangeCore
from hedgetui.sandbox.funding import Settlement
from hedgetui.sandbox.income import INCOME_LIMIT_DEFAULT, income_row
from hedgetui.sandbox.model import SandboxError
from hedgetui.sandbox.params import decimal_param, int_param, json_response, symbol_param
from hedgetui.sandbox.shapes import fmt

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SignedHandler = Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]
FUNDING_LIMIT_DEFAULT = 100
FUNDING_LIMIT_MAX = 1000
#: Binance's default cap and floor of the funding rate for BTCUSDT-like contracts.
FUNDING_CAP = "0.03000000"


class WalletRoutes:
    """The handlers, over one core."""

    def __init__(self, core: ExchangeCore) -> None:
        self.core = core

    def register(self, router: web.UrlDispatcher, signed: Callable[[SignedHandler], Handler]) -> None:
        """Add the routes (``signed`` wraps a handler in the server's signature check)."""
        router.add_get("/fapi/v1/fundingRate", self.funding_rate_history)
        router.add_get("/fapi/v1/fundingInfo", self.funding_info)
        router.add_get("/fapi/v1/income", signed(self.income))
        router.add_post("/sapi/v1/asset/transfer", signed(self.transfer))

    async def funding_rate_history(self, request: web.Request) -> web.StreamResponse:
        """``GET /fapi/v1/fundingRate``: the funding events since the sandbox started, oldest first, with
        the rate each applied; ``startTime`` gives the first ``limit`` from there, else the last ``limit``."""
        q = request.query
        symbol = symbol_param(self.core.specs, q, required=False)
        limit = int_param(q, "limit", FUNDING_LIMIT_DEFAULT)
        assert limit is not None
        if not 1 <= limit <= FUNDING_LIMIT_MAX:
            raise SandboxError(-1100, "Illegal characters found in parameter 'limit'; legal range is '1-1000'.")
        start, end = int_param(q, "startTime"), int_param(q, "endTime", self.core.now())
        assert end is not None
        symbols = [symbol] if symbol else list(self.core.specs)
        current = {s: Settlement(s, 0, self.core.funding_rate(s), self.core.mark_price(s)) for s in symbols}
        rows = self.core.funding.history(symbols, self.core.started_at, start, end, current)
        rows = rows[:limit] if start is not None else rows[-limit:]
        return json_response(
            [
                {"symbol": r.symbol, "fundingRate": fmt(r.rate, 8), "fundingTime": r.time, "markPrice": fmt(r.mark, 8)}
                for r in rows
            ]
        )

    async def funding_info(self, request: web.Request) -> web.StreamResponse:
        """``GET /fapi/v1/fundingInfo``: every configured symbol with its interval (docs/sandbox-contract.md
        §8: whole hours as Binance's integer, a sub-hour interval as a fraction, and ``fundingIntervalMs``)."""
        hours = self.core.funding.interval_hours
        return json_response(
            [
                {
                    "symbol": s,
                    "adjustedFundingRateCap": FUNDING_CAP,
                    "adjustedFundingRateFloor": f"-{FUNDING_CAP}",
                    "fundingIntervalHours": hours,
                    "fundingIntervalMs": self.core.funding.interval_ms,
                    "disclaimer": False,
                }
                for s in self.core.specs
            ]
        )

    async def income(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        """``GET /fapi/v1/income``: the futures wallet's income history in Binance's shape."""
        symbol = symbol_param(self.core.specs, params, required=False)
        limit = int_param(params, "limit", INCOME_LIMIT_DEFAULT)
        page = int_param(params, "page", 1)
        assert limit is not None and page is not None
        records = self.core.income.query(
            now=self.core.now(),
            symbol=symbol,
            income_type=params.get("incomeType") or None,
            start=int_param(params, "startTime"),
            end=int_param(params, "endTime"),
            limit=limit,
            page=page,
        )
        return json_response([income_row(r) for r in records])

    async def transfer(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        """``POST /sapi/v1/asset/transfer``: ``{"tranId": n}``."""
        kind = params.get("type")
        if not kind:
            raise SandboxError(-1102, "Mandatory parameter 'type' was not sent, was empty/null, or malformed.")
        asset = params.get("asset")
        if not asset:
            raise SandboxError(-1102, "Mandatory parameter 'asset' was not sent, was empty/null, or malformed.")
        amount = decimal_param(params, "amount", required=True)
        assert amount is not None
        return json_response({"tranId": self.core.transfer_futures(kind, asset, amount)})
