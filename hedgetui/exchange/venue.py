"""The venue adapter: one async class over ccxt's real ``binance`` (REST and websockets on one instance).

Live trading, Binance demo trading and the embedded sandbox share this code; only URLs, options and keys
differ (``binance-sandbox-spec.md`` Part B). Everything leaving this class is hedgetui's own types with
Decimal fields; every error is a :class:`~hedgetui.exchange.errors.VenueError`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

import ccxt.pro as ccxtpro

from hedgetui.domain.account import Balance, FundingInfo, FuturesBalance, PerpPosition, Ticker
from hedgetui.domain.book import OrderBook
from hedgetui.domain.markets import MarketRules
from hedgetui.domain.orders import Fee, OrderResult, OrderStatus, Side, TradeFill
from hedgetui.domain.venue import MarketKind, VenueMode
from hedgetui.exchange.errors import Rejected, VenueError, translate
from hedgetui.exchange.settings import VenueSettings
from hedgetui.redaction import RedactingFilter, scrub

log = logging.getLogger(__name__)
T = TypeVar("T")

#: load_markets restricted to spot + linear, without the signed sapi calls (spec §B2).
BASE_OPTIONS: dict[str, Any] = {
    "fetchMarkets": {"types": ["spot", "linear"]},
    "fetchCurrencies": False,
    "fetchMargins": False,
    "fetchOpenOrders": {"warnWithoutSymbol": False},
}

_STATUS = {
    "NEW": OrderStatus.OPEN,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "PENDING_CANCEL": OrderStatus.OPEN,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
}
_UNIFIED_STATUS = {
    "open": OrderStatus.OPEN,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "rejected": OrderStatus.REJECTED,
    "expired": OrderStatus.EXPIRED,
}


def dec(value: Any) -> Decimal | None:
    """ccxt number (float, str or None) → Decimal via ``str`` (never through binary float maths)."""
    if value is None or value == "":
        return None
    return Decimal(str(value))


def sandbox_urls(base_url: str) -> dict[str, Any]:
    """The complete ``urls['api']`` replacement for the sandbox (spec §B1): every section we call."""
    http = base_url.rstrip("/")
    ws = "ws" + http[len("http") :] if http.startswith("http") else http
    return {
        "public": f"{http}/api/v3",
        "private": f"{http}/api/v3",
        "v1": f"{http}/api/v1",
        "fapiPublic": f"{http}/fapi/v1",
        "fapiPublicV2": f"{http}/fapi/v2",
        "fapiPublicV3": f"{http}/fapi/v3",
        "fapiPrivate": f"{http}/fapi/v1",
        "fapiPrivateV2": f"{http}/fapi/v2",
        "fapiPrivateV3": f"{http}/fapi/v3",
        "fapiData": f"{http}/futures/data",
        "ws": {"spot": f"{ws}/stream/ws", "margin": f"{ws}/stream/ws", "linear": f"{ws}/fstream/ws"},
    }


def _exceptions_by_path(exchange: Any) -> Callable[[str, str], dict[str, Any]]:
    """Pick ccxt's per-market error tables by URL *path* (spec §B7), so loopback maps codes like live."""

    def by_path(url: str, kind: str) -> dict[str, Any]:
        path = url.split("://", 1)[-1].split("/", 1)[-1]
        market_type = "linear" if path.startswith("fapi/") else "spot" if path.startswith(("api/", "sapi/")) else None
        if market_type is None:
            return {}
        tables = exchange.safe_dict(exchange.exceptions, market_type, {})
        result: dict[str, Any] = exchange.safe_dict(tables, kind, {})
        return result

    return by_path


def _keep_body(handle_errors: Callable[..., Any]) -> Callable[..., Any]:
    """Attach the raw HTTP body to ccxt's exception: for message-matched errors ccxt drops the code."""

    def wrapped(code: Any, reason: Any, url: Any, method: Any, headers: Any, body: Any, *rest: Any) -> Any:
        try:
            return handle_errors(code, reason, url, method, headers, body, *rest)
        except Exception as exc:
            exc.http_body = body  # type: ignore[attr-defined]
            raise

    return wrapped


def _guard_ccxt_logs(secrets: tuple[str, ...]) -> None:
    """ccxt logs request headers (the API key) at DEBUG: scrub them out of every ccxt log record."""
    logger = logging.getLogger("ccxt")
    if secrets and not any(isinstance(f, RedactingFilter) and set(secrets) <= set(f.secrets) for f in logger.filters):
        redactor = RedactingFilter(secrets)
        logger.addFilter(redactor)
        for name in ("ccxt.base.exchange", "ccxt.async_support.base.exchange"):
            logging.getLogger(name).addFilter(redactor)


def build_exchange(settings: VenueSettings) -> Any:
    """Construct and configure the ccxt instance for a mode, without any network request."""
    keys = settings.secrets()
    _guard_ccxt_logs(keys)
    if settings.verbose:
        real_keys = [k for k in keys if k not in settings.sandbox_keys]
        if settings.mode is not VenueMode.SANDBOX or real_keys:
            raise VenueError(
                "ccxt verbose output prints request headers (the API key): refused with real keys",
                source="ConfigError",
            )
    config: dict[str, Any] = {
        # 0 switches ccxt's client-side throttle off (the sandbox has no rate limits to respect).
        "enableRateLimit": settings.rate_limit_ms != 0,
        **({"rateLimit": settings.rate_limit_ms} if settings.rate_limit_ms else {}),
        "timeout": settings.timeout_ms,
        "options": {**BASE_OPTIONS, "recvWindow": settings.recv_window_ms},
        "verbose": settings.verbose,
    }
    if settings.api_key is not None and settings.api_secret is not None:
        config["apiKey"] = settings.api_key.get_secret_value()
        config["secret"] = settings.api_secret.get_secret_value()
    exchange = ccxtpro.binance(config)
    if settings.mode is VenueMode.SANDBOX:
        if not settings.sandbox_url:
            raise VenueError("sandbox mode needs the sandbox URL", source="ConfigError")
        exchange.urls["api"] = sandbox_urls(settings.sandbox_url)  # wholesale: a missing section can't go live
    elif settings.mode is VenueMode.DEMO:
        exchange.enable_demo_trading(True)
    exchange.get_exceptions_by_url = _exceptions_by_path(exchange)
    exchange.handle_errors = _keep_body(exchange.handle_errors)
    # A resend of a POST after a timeout is a duplicate order: ccxt must never retry by itself.
    retries = exchange.safe_integer(exchange.options, "maxRetriesOnFailure", 0)
    if retries != 0:
        raise VenueError(f"ccxt maxRetriesOnFailure is {retries}; it must be 0", source="ConfigError")
    return exchange


class BinanceVenue:
    """hedgetui's door to Binance (live, demo) or the sandbox, through ccxt's binance class."""

    def __init__(self, settings: VenueSettings, exchange: Any | None = None) -> None:
        self.settings = settings
        self.exchange = exchange if exchange is not None else build_exchange(settings)
        self._secrets = settings.secrets()
        self._rules: dict[MarketKind, MarketRules] = {}

    @classmethod
    async def connect(cls, settings: VenueSettings) -> BinanceVenue:
        """Build the ccxt instance and load both markets (raises VenueError; closes on failure)."""
        venue = cls(settings)
        try:
            await venue.load_markets()
        except BaseException:
            await venue.close()
            raise
        return venue

    async def close(self) -> None:
        try:
            await self.exchange.close()
        except Exception:  # closing is best effort
            log.debug("closing the ccxt instance failed", exc_info=True)

    async def _call(self, operation: str, fn: Callable[[], Awaitable[T]]) -> T:
        try:
            return await fn()
        except VenueError:
            raise
        except Exception as exc:  # ccxt, aiohttp and asyncio timeouts alike
            raise translate(exc, operation=operation, secrets=self._secrets) from None

    # ---- markets -----------------------------------------------------------------------------------

    async def load_markets(self) -> None:
        markets = await self._call("read", lambda: self.exchange.load_markets())
        for kind, symbol in (
            (MarketKind.SPOT, self.settings.spot_symbol),
            (MarketKind.PERP, self.settings.perp_symbol),
        ):
            market = markets.get(symbol)
            if market is None:
                raise VenueError(f"unknown symbol {symbol}", source="BadSymbol")
            self._rules[kind] = self._parse_rules(kind, market)

    @staticmethod
    def _parse_rules(kind: MarketKind, m: dict[str, Any]) -> MarketRules:
        filters = {f.get("filterType"): f for f in m.get("info", {}).get("filters", [])}
        step = dec(m["precision"]["amount"]) or Decimal(0)
        tick = dec(m["precision"]["price"]) or Decimal(0)
        lot = filters.get("LOT_SIZE", {})
        market_lot = filters.get("MARKET_LOT_SIZE", {})
        min_qty = dec(lot.get("minQty")) or dec(m["limits"]["amount"].get("min")) or step
        max_qty = dec(lot.get("maxQty")) or dec(m["limits"]["amount"].get("max"))
        market_max = dec(market_lot.get("maxQty"))
        if market_max is not None and market_max <= 0:
            market_max = None
        min_notional = dec(m["limits"].get("cost", {}).get("min")) or Decimal(0)
        return MarketRules(
            symbol=m["symbol"],
            market_id=m["id"],
            kind=kind,
            base=m["base"],
            quote=m["quote"],
            tick=tick.normalize(),
            step=step.normalize(),
            min_qty=min_qty.normalize(),
            max_qty=max_qty,
            market_max_qty=market_max,
            min_notional=min_notional,
        )

    def rules(self, kind: MarketKind) -> MarketRules:
        return self._rules[kind]

    def symbol(self, kind: MarketKind) -> str:
        return self.settings.spot_symbol if kind is MarketKind.SPOT else self.settings.perp_symbol

    # ---- market data -------------------------------------------------------------------------------

    def _book(self, kind: MarketKind, raw: dict[str, Any], limit: int) -> OrderBook:
        return OrderBook(
            symbol=self.symbol(kind),
            market=kind,
            bids=tuple((Decimal(str(p)), Decimal(str(q))) for p, q, *_ in raw["bids"][:limit]),
            asks=tuple((Decimal(str(p)), Decimal(str(q))) for p, q, *_ in raw["asks"][:limit]),
            update_id=raw.get("nonce"),
            exchange_ts=raw.get("timestamp"),
            received_at=time.monotonic(),
        )

    async def fetch_order_book(self, kind: MarketKind, limit: int = 100) -> OrderBook:
        raw = await self._call("read", lambda: self.exchange.fetch_order_book(self.symbol(kind), limit))
        return self._book(kind, raw, limit)

    async def watch_order_book(self, kind: MarketKind, limit: int = 100) -> OrderBook:
        raw = await self._call("stream", lambda: self.exchange.watch_order_book(self.symbol(kind)))
        return self._book(kind, raw, limit)

    async def unwatch_order_book(self, kind: MarketKind) -> None:
        try:
            await self.exchange.un_watch_order_book(self.symbol(kind))
        except Exception:  # unsubscribing a dead stream is not worth an error
            log.debug("unwatch failed", exc_info=True)

    async def fetch_ticker(self, kind: MarketKind) -> Ticker:
        raw = await self._call("read", lambda: self.exchange.fetch_ticker(self.symbol(kind)))
        return Ticker(
            symbol=self.symbol(kind),
            kind=kind,
            last=dec(raw.get("last")),
            bid=dec(raw.get("bid")),
            ask=dec(raw.get("ask")),
            timestamp=raw.get("timestamp"),
        )

    async def fetch_funding(self) -> FundingInfo:
        raw = await self._call("read", lambda: self.exchange.fetch_funding_rate(self.settings.perp_symbol))
        return FundingInfo(
            symbol=self.settings.perp_symbol,
            rate=dec(raw.get("fundingRate")) or Decimal(0),
            mark_price=dec(raw.get("markPrice")) or Decimal(0),
            index_price=dec(raw.get("indexPrice")) or Decimal(0),
            next_funding_ms=raw.get("fundingTimestamp"),
            timestamp=raw.get("timestamp"),
        )

    # ---- accounts ----------------------------------------------------------------------------------

    async def fetch_spot_balances(self) -> dict[str, Balance]:
        raw = await self._call("read", lambda: self.exchange.fetch_balance())
        out: dict[str, Balance] = {}
        for asset, entry in raw.items():
            if not isinstance(entry, dict) or "free" not in entry or asset in ("info", "free", "used", "total"):
                continue
            out[asset] = Balance(
                asset=asset,
                free=dec(entry.get("free")) or Decimal(0),
                used=dec(entry.get("used")) or Decimal(0),
                total=dec(entry.get("total")) or Decimal(0),
            )
        return out

    async def fetch_futures_balance(self) -> FuturesBalance:
        raw = await self._call("read", lambda: self.exchange.fetch_balance({"type": "swap"}))
        info = raw.get("info", {})
        quote = self.rules(MarketKind.PERP).quote
        asset: dict[str, Any] = next((a for a in info.get("assets", []) if a.get("asset") == quote), {})
        return FuturesBalance(
            asset=quote,
            wallet=dec(asset.get("walletBalance")) or Decimal(0),
            margin_balance=dec(asset.get("marginBalance")) or Decimal(0),
            available=dec(asset.get("availableBalance")) or Decimal(0),
            initial_margin=dec(asset.get("initialMargin")) or Decimal(0),
            maint_margin=dec(asset.get("maintMargin")) or Decimal(0),
            unrealized_pnl=dec(asset.get("unrealizedProfit")) or Decimal(0),
        )

    async def fetch_perp_position(self) -> PerpPosition:
        symbol = self.settings.perp_symbol
        raw = await self._call("read", lambda: self.exchange.fetch_positions([symbol]))
        for p in raw:
            if p.get("symbol") != symbol:
                continue
            info = p.get("info", {})
            # The signed amount comes from Binance's own field: ccxt's contracts is unsigned.
            amount = dec(info.get("positionAmt")) or Decimal(0)
            leverage = p.get("leverage")
            return PerpPosition(
                symbol=symbol,
                amount=amount,
                entry_price=dec(p.get("entryPrice")),
                mark_price=dec(p.get("markPrice")),
                notional=dec(info.get("notional")) or Decimal(0),
                unrealized_pnl=dec(p.get("unrealizedPnl")) or Decimal(0),
                leverage=int(leverage) if leverage else None,
                liquidation_price=dec(p.get("liquidationPrice")),
                margin_mode=p.get("marginMode"),
                timestamp=p.get("timestamp"),
            )
        # ccxt drops flat positions (entryPrice 0): absent means flat.
        return PerpPosition(symbol=symbol, amount=Decimal(0))

    # ---- orders ------------------------------------------------------------------------------------

    def _check_amount(self, kind: MarketKind, amount: Decimal) -> str:
        step = self.rules(kind).step
        if amount <= 0 or amount % step != 0:
            # ccxt would silently truncate to the step: refuse instead, nothing is sent.
            raise Rejected(f"amount {amount} is not a positive multiple of the step {step}", source="LocalCheck")
        return format(amount, "f")

    def _order(self, kind: MarketKind, raw: dict[str, Any]) -> OrderResult:
        info = raw.get("info") or {}
        exchange_status = info.get("status")
        status = _STATUS.get(str(exchange_status)) if exchange_status else None
        if status is None:
            status = _UNIFIED_STATUS.get(str(raw.get("status")), OrderStatus.OPEN)
        amount = dec(raw.get("amount")) or dec(info.get("origQty")) or Decimal(0)
        filled = dec(raw.get("filled")) or dec(info.get("executedQty")) or Decimal(0)
        cost = dec(raw.get("cost")) or Decimal(0)
        average = dec(raw.get("average"))
        if average is None and filled > 0 and cost > 0:
            average = cost / filled
        fees: list[Fee] = []
        for f in raw.get("fees") or ([raw["fee"]] if raw.get("fee") else []):
            if f and f.get("cost") is not None and f.get("currency"):
                fees.append(Fee(cost=Decimal(str(f["cost"])), currency=str(f["currency"])))
        client_id = info.get("origClientOrderId") or raw.get("clientOrderId")  # spot cancel: the order's own id
        side = raw.get("side") or str(info.get("side", "")).lower()
        return OrderResult(
            order_id=str(raw.get("id") or info.get("orderId")),
            client_order_id=client_id,
            symbol=self.symbol(kind),
            kind=kind,
            side=Side(side),
            type=str(raw.get("type") or info.get("type", "")).lower(),
            amount=amount,
            filled=filled,
            remaining=max(Decimal(0), amount - filled),
            average=average,
            cost=cost,
            status=status,
            reduce_only=bool(raw.get("reduceOnly") or info.get("reduceOnly")),
            fees=tuple(fees),
            timestamp=raw.get("timestamp"),
            exchange_status=str(exchange_status) if exchange_status else None,
        )

    async def create_market_order(
        self, kind: MarketKind, side: Side, amount: Decimal, client_order_id: str, *, reduce_only: bool = False
    ) -> OrderResult:
        qty = self._check_amount(kind, amount)
        params: dict[str, Any] = {"clientOrderId": client_order_id}
        if reduce_only:
            if kind is not MarketKind.PERP:
                raise Rejected("reduce-only exists only on the perp", source="LocalCheck")
            params["reduceOnly"] = True
        symbol = self.symbol(kind)
        # price=None: a spot market order with a price would be sent as quoteOrderQty (spec §B5).
        raw = await self._call(
            "create", lambda: self.exchange.create_order(symbol, "market", side.value, qty, None, params)
        )
        return self._order(kind, raw)

    async def create_limit_order(
        self,
        kind: MarketKind,
        side: Side,
        amount: Decimal,
        price: Decimal,
        client_order_id: str,
        *,
        reduce_only: bool = False,
        time_in_force: str = "GTC",
    ) -> OrderResult:
        qty = self._check_amount(kind, amount)
        tick = self.rules(kind).tick
        if price <= 0 or price % tick != 0:
            raise Rejected(f"price {price} is not a positive multiple of the tick {tick}", source="LocalCheck")
        params: dict[str, Any] = {"clientOrderId": client_order_id, "timeInForce": time_in_force}
        if reduce_only:
            params["reduceOnly"] = True
        symbol = self.symbol(kind)
        raw = await self._call(
            "create", lambda: self.exchange.create_order(symbol, "limit", side.value, qty, format(price, "f"), params)
        )
        return self._order(kind, raw)

    async def fetch_order(
        self, kind: MarketKind, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderResult:
        if order_id is None and client_order_id is None:
            raise ValueError("give order_id or client_order_id")
        params = {"clientOrderId": client_order_id} if order_id is None else {}
        symbol = self.symbol(kind)
        raw = await self._call("fetch", lambda: self.exchange.fetch_order(order_id, symbol, params))
        return self._order(kind, raw)

    async def fetch_open_orders(self, kind: MarketKind) -> list[OrderResult]:
        symbol = self.symbol(kind)
        raw = await self._call("read", lambda: self.exchange.fetch_open_orders(symbol))
        return [self._order(kind, o) for o in raw]

    async def cancel_order(
        self, kind: MarketKind, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderResult:
        if order_id is None and client_order_id is None:
            raise ValueError("give order_id or client_order_id")
        params = {"clientOrderId": client_order_id} if order_id is None else {}
        symbol = self.symbol(kind)
        raw = await self._call("cancel", lambda: self.exchange.cancel_order(order_id, symbol, params))
        return self._order(kind, raw)

    async def fetch_order_trades(self, kind: MarketKind, order_id: str) -> list[TradeFill]:
        symbol = self.symbol(kind)
        if kind is MarketKind.PERP:
            raw = await self._call(
                "read", lambda: self.exchange.fetch_my_trades(symbol, None, None, {"orderId": order_id})
            )
        else:
            raw = await self._call("read", lambda: self.exchange.fetch_order_trades(order_id, symbol))
        fills = []
        for t in raw:
            fee = t.get("fee")
            fills.append(
                TradeFill(
                    trade_id=str(t.get("id")),
                    order_id=str(t.get("order") or order_id),
                    price=Decimal(str(t["price"])),
                    qty=Decimal(str(t["amount"])),
                    fee=Fee(cost=Decimal(str(fee["cost"])), currency=str(fee["currency"]))
                    if fee and fee.get("cost") is not None
                    else None,
                    timestamp=t.get("timestamp"),
                    maker=t.get("takerOrMaker") == "maker" if t.get("takerOrMaker") else None,
                )
            )
        return fills

    async def resync_clock(self) -> int:
        """Measure the exchange clock and set ccxt's timeDifference; returns the offset in ms."""
        before = int(time.time() * 1000)
        server = await self._call("read", lambda: self.exchange.fetch_time())
        after = int(time.time() * 1000)
        offset = (before + after) // 2 - int(server)
        self.exchange.options["timeDifference"] = offset
        return offset

    def describe_error(self, exc: BaseException) -> str:
        """One line for an operator, with credentials scrubbed."""
        return scrub(str(exc), self._secrets)
