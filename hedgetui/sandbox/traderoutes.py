"""The signed trading and account routes: orders (create, query, cancel, open orders), trades, accounts,
positions and leverage, with the ``partial`` and visibility faults that change how an order is answered.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

from aiohttp import web

from hedgetui.sandbox import accountshapes, shapes
from hedgetui.sandbox.core import ExchangeCore
from hedgetui.sandbox.endpoints import futures_account_v2
from hedgetui.sandbox.filters import mandatory, not_required
from hedgetui.sandbox.model import Market, Order, OrderType, SandboxError, Side, TimeInForce
from hedgetui.sandbox.params import decimal_param, int_param, json_response, required_symbol, symbol_param

log = logging.getLogger(__name__)
E = TypeVar("E", Side, OrderType, TimeInForce)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SignedHandler = Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]

TRADES_LIMIT_MAX = 1000
#: USDⓈ-M GTD: goodTillDate must be this far ahead, and below GTD_MAX.
GTD_MIN_AHEAD_MS = 600_000
GTD_MAX = 253_402_300_799_000
#: Set by the ``partial`` fault: the order fills ``fill_ratio`` now and the rest later.
PARTIAL_KEY: web.RequestKey[dict[str, Any]] = web.RequestKey("partial", dict)
#: Set by the visibility faults: the order is invisible to lookups for that many ms.
VISIBILITY_KEY: web.RequestKey[float] = web.RequestKey("visibility_ms", float)


class TradeRoutes:
    """The handlers, over one core; ``now`` is the exchange clock, ``wall`` the unskewed one, ``spawn``
    runs a background task the server cancels on reset and stop."""

    def __init__(
        self,
        core: ExchangeCore,
        *,
        now: Callable[[], int],
        wall: Callable[[], int],
        spawn: Callable[[Awaitable[Any]], None],
    ) -> None:
        self.core = core
        self.now = now
        self._wall = wall
        self._spawn = spawn
        self._auto_ids = itertools.count(1)
        #: (market, order id) -> wall-clock ms until which the order is invisible to lookups
        self.hidden: dict[tuple[Market, int], int] = {}

    def register(self, r: web.UrlDispatcher, signed: Callable[[SignedHandler], Handler]) -> None:
        """Add the routes (``signed`` wraps a handler in the server's signature check)."""
        for market, prefix in ((Market.SPOT, "/api/v3"), (Market.FUTURES, "/fapi/v1")):
            r.add_post(f"{prefix}/order", signed(self._create(market)))
            r.add_get(f"{prefix}/order", signed(self._query(market)))
            r.add_delete(f"{prefix}/order", signed(self._cancel(market)))
            r.add_get(f"{prefix}/openOrders", signed(self._open_orders(market)))
        r.add_get("/api/v3/account", signed(self._spot_account))
        r.add_get("/api/v3/myTrades", signed(self._trades(Market.SPOT)))
        r.add_get("/fapi/v1/userTrades", signed(self._trades(Market.FUTURES)))
        r.add_get("/fapi/v1/leverageBracket", signed(self._leverage_bracket))
        r.add_post("/fapi/v1/leverage", signed(self._set_leverage))
        for version in (2, 3):
            r.add_get(f"/fapi/v{version}/account", signed(self._futures_account(v2=version == 2)))
            r.add_get(f"/fapi/v{version}/positionRisk", signed(self._position_risk(v2=version == 2)))

    # ---- lookups -----------------------------------------------------------------------------------

    def _visible(self, market: Market, order: Order) -> bool:
        until = self.hidden.get((market, order.order_id))
        if until is None:
            return True
        if self._wall() >= until:
            del self.hidden[(market, order.order_id)]
            return True
        return False

    def _find(self, market: Market, params: dict[str, str], missing: SandboxError) -> Order:
        symbol = required_symbol(self.core.specs, params)
        order_id = int_param(params, "orderId")
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

    # ---- orders ------------------------------------------------------------------------------------

    def _create(self, market: Market) -> SignedHandler:
        async def handler(request: web.Request, params: dict[str, str]) -> web.StreamResponse:
            symbol = required_symbol(self.core.specs, params)
            side = self._enum(params, "side", Side, -1117, "Invalid side.")
            otype = self._enum(params, "type", OrderType, -1116, "Invalid orderType.")
            if otype is OrderType.LIQUIDATION or (otype is OrderType.LIMIT_MAKER and market is Market.FUTURES):
                raise SandboxError(-1116, "Invalid orderType.")
            tif, good_till = self._time_in_force(market, otype, params)
            resp_types = ("ACK", "RESULT", "FULL") if market is Market.SPOT else ("ACK", "RESULT")
            # Binance's defaults: spot MARKET/LIMIT answer FULL (other types ACK), fapi answers ACK (ccxt
            # always asks RESULT there).
            spot_default = "FULL" if otype in (OrderType.MARKET, OrderType.LIMIT) else "ACK"
            resp_type = params.get("newOrderRespType") or (spot_default if market is Market.SPOT else "ACK")
            if resp_type not in resp_types:
                raise SandboxError(-1136, "Invalid newOrderRespType.")
            quantity = decimal_param(params, "quantity", required=False)
            quote_qty = decimal_param(params, "quoteOrderQty", required=False)
            price = decimal_param(params, "price", required=otype is not OrderType.MARKET)
            if quote_qty is not None and (market is Market.FUTURES or otype is not OrderType.MARKET):
                raise not_required("quoteOrderQty")
            if otype is OrderType.MARKET:
                if market is Market.SPOT and price is not None:
                    raise not_required("price")
                if quantity is not None and quote_qty is not None:
                    raise SandboxError(-1128, "Combination of optional parameters invalid.")
            if quantity is None and quote_qty is None:
                raise mandatory("quantity")
            reduce_only = self._bool(params, "reduceOnly")
            if "reduceOnly" in params and market is Market.SPOT:
                raise not_required("reduceOnly")
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
                self.hidden[(market, order.order_id)] = self._wall() + int(visibility)
            if market is Market.FUTURES:
                return json_response(shapes.futures_order(order, self.core.specs[symbol], ack=resp_type == "ACK"))
            if resp_type == "ACK":
                return json_response(shapes.spot_order_ack(order))
            if resp_type == "RESULT":
                return json_response(shapes.spot_order_result(order))
            return json_response(shapes.spot_order_full(order))

        return handler

    def _time_in_force(self, market: Market, otype: OrderType, params: dict[str, str]) -> tuple[TimeInForce, int]:
        """The order's timeInForce (LIMIT only; spot GTC/IOC/FOK, USDⓈ-M also GTX/GTD) and, for GTD, its
        goodTillDate (second precision, at least 600 s ahead)."""
        if otype is not OrderType.LIMIT:
            if params.get("timeInForce") and (market is Market.SPOT or otype is OrderType.LIMIT_MAKER):
                raise not_required("timeInForce")
            return TimeInForce.GTC, 0
        tif = self._enum(params, "timeInForce", TimeInForce, -1115, "Invalid timeInForce.")
        if market is Market.SPOT and tif in (TimeInForce.GTX, TimeInForce.GTD):
            raise SandboxError(-1115, "Invalid timeInForce.")
        if tif is not TimeInForce.GTD:
            return tif, 0
        raw = int_param(params, "goodTillDate")
        if raw is None:
            raise mandatory("goodTillDate")
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
            raise mandatory(name)
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
                return json_response(shapes.futures_order(order, self.core.specs[order.symbol], with_time=True))
            return json_response(shapes.spot_order_query(order))

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
                return json_response(shapes.futures_order(canceled, self.core.specs[order.symbol], with_time=True))
            return json_response(shapes.spot_cancel(canceled, cancel_id, self.now()))

        return handler

    def _open_orders(self, market: Market) -> SignedHandler:
        async def handler(request: web.Request, params: dict[str, str]) -> web.StreamResponse:
            symbol = symbol_param(self.core.specs, params, required=False)
            orders = [o for o in self.core.open_orders(market, symbol) if self._visible(market, o)]
            if market is Market.FUTURES:
                return json_response(
                    [shapes.futures_order(o, self.core.specs[o.symbol], with_time=True) for o in orders]
                )
            return json_response([shapes.spot_order_query(o) for o in orders])

        return handler

    def _trades(self, market: Market) -> SignedHandler:
        async def handler(request: web.Request, params: dict[str, str]) -> web.StreamResponse:
            symbol = required_symbol(self.core.specs, params)
            order_id = int_param(params, "orderId")
            limit = int_param(params, "limit", 500)
            assert limit is not None
            if not 1 <= limit <= TRADES_LIMIT_MAX:
                raise SandboxError(-1100, "Illegal characters found in parameter 'limit'; legal range is '1-1000'.")
            from_id, start, end = (
                int_param(params, "fromId"),
                int_param(params, "startTime"),
                int_param(params, "endTime"),
            )
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
                return json_response([shapes.futures_trade(t) for t in trades])
            return json_response([shapes.spot_trade(t) for t in trades])

        return handler

    # ---- accounts ----------------------------------------------------------------------------------

    async def _spot_account(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        return json_response(accountshapes.spot_account(self.core))

    def _futures_account(self, v2: bool) -> SignedHandler:
        async def handler(request: web.Request, params: dict[str, str]) -> web.StreamResponse:
            return json_response(futures_account_v2(self.core) if v2 else accountshapes.futures_account(self.core, v2))

        return handler

    def _position_risk(self, v2: bool) -> SignedHandler:
        async def handler(request: web.Request, params: dict[str, str]) -> web.StreamResponse:
            symbol = symbol_param(self.core.specs, params, required=False)
            rows = accountshapes.position_risk(self.core, v2)
            return json_response([r for r in rows if symbol is None or r["symbol"] == symbol])

        return handler

    async def _leverage_bracket(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        symbol = symbol_param(self.core.specs, params, required=False)
        brackets = accountshapes.leverage_brackets(self.core)
        if symbol is not None:  # Binance answers one object (not a list) when a symbol is given
            return json_response(next(b for b in brackets if b["symbol"] == symbol))
        return json_response(brackets)

    async def _set_leverage(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        symbol = required_symbol(self.core.specs, params)
        leverage = int_param(params, "leverage")
        if leverage is None:
            raise mandatory("leverage")
        self.core.set_leverage(symbol, leverage)
        return json_response({"leverage": leverage, "maxNotionalValue": "300000", "symbol": symbol})
