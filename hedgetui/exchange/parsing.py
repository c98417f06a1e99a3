"""ccxt's dicts → hedgetui's types. Decimal from strings, never through float arithmetic.

Where Binance's own answer (ccxt's ``info``) carries a field as a decimal string, that string is used;
ccxt's unified fields (floats) are the fallback, converted with ``Decimal(str(x))``. Any malformed answer
raises (KeyError, ValueError, pydantic's ValidationError): the adapter turns that into a VenueError.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from hedgetui.domain.account import Balance, FundingInfo, FuturesBalance, PerpPosition, Ticker
from hedgetui.domain.book import OrderBook
from hedgetui.domain.markets import MarketRules
from hedgetui.domain.orders import Fee, OrderResult, OrderStatus, Side, TradeFill
from hedgetui.domain.pnl import FundingRateRow, IncomeKind, IncomeRecord, SpotKline
from hedgetui.domain.venue import MarketKind

Raw = Mapping[str, Any]
"""A dict as ccxt returns it."""

#: Binance's order statuses (``info['status']``) in hedgetui's vocabulary.
BINANCE_STATUS: dict[str, OrderStatus] = {
    "NEW": OrderStatus.OPEN,
    "PENDING_NEW": OrderStatus.OPEN,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "PENDING_CANCEL": OrderStatus.OPEN,  # still live until the exchange confirms the cancel
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,  # self-trade prevention expired it
}
#: ccxt's unified statuses, used only when Binance's own is missing.
UNIFIED_STATUS: dict[str, OrderStatus] = {
    "open": OrderStatus.OPEN,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "rejected": OrderStatus.REJECTED,
    "expired": OrderStatus.EXPIRED,
}


def dec(value: Any) -> Decimal | None:
    """A ccxt number (float, int, str or None) as Decimal, via ``str`` (never binary float maths)."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    return Decimal(str(value))


def first_dec(*values: Any) -> Decimal | None:
    """The first value that is present, as Decimal."""
    for value in values:
        result = dec(value)
        if result is not None:
            return result
    return None


def positive(value: Decimal | None) -> Decimal | None:
    """``value`` when it is above zero, else None (Binance writes "0" for "no value")."""
    return value if value is not None and value > 0 else None


def to_int(value: Any) -> int | None:
    """An integer timestamp/id/leverage from whatever ccxt holds (int, float, str) or None."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    return int(Decimal(str(value)))


def to_bool(value: Any) -> bool:
    """Binance's booleans come as JSON booleans, or as "true"/"false" in some answers."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _info(raw: Raw) -> Raw:
    info = raw.get("info")
    return info if isinstance(info, Mapping) else {}


# ---- markets --------------------------------------------------------------------------------------------


def parse_rules(kind: MarketKind, market: Mapping[str, Any]) -> MarketRules:
    """A ccxt market → MarketRules, from Binance's filters (exact strings), ccxt's precision as fallback."""
    filters = {f.get("filterType"): f for f in _info(market).get("filters", []) if isinstance(f, Mapping)}
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}
    lot = filters.get("LOT_SIZE", {})
    market_lot = filters.get("MARKET_LOT_SIZE", {})
    price_filter = filters.get("PRICE_FILTER", {})
    # Spot says NOTIONAL (minNotional), USDⓈ-M says MIN_NOTIONAL (notional); older spot MIN_NOTIONAL too.
    notional_filter = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {}
    step = positive(first_dec(lot.get("stepSize"), precision.get("amount")))
    tick = positive(first_dec(price_filter.get("tickSize"), precision.get("price")))
    if step is None or tick is None:
        raise ValueError(f"market {market.get('symbol')} has no lot step or price tick")
    amount_limits = limits.get("amount") or {}
    min_qty = positive(first_dec(lot.get("minQty"), amount_limits.get("min"))) or step
    max_qty = positive(first_dec(lot.get("maxQty"), amount_limits.get("max")))
    market_max = positive(dec(market_lot.get("maxQty")))
    cost_limits = limits.get("cost") or {}
    min_notional = first_dec(
        notional_filter.get("minNotional"), notional_filter.get("notional"), cost_limits.get("min")
    ) or Decimal(0)
    return MarketRules(
        symbol=str(market["symbol"]),
        market_id=str(market["id"]),
        kind=kind,
        base=str(market["base"]),
        quote=str(market["quote"]),
        tick=plain(tick),
        step=plain(step),
        min_qty=plain(min_qty),
        max_qty=plain(max_qty) if max_qty is not None else None,
        market_max_qty=plain(market_max) if market_max is not None else None,
        min_notional=plain(min_notional),
    )


def plain(value: Decimal) -> Decimal:
    """``value`` without trailing zeros and without an exponent (``1000.000`` → ``1000``, not ``1E+3``)."""
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal.as_tuple().exponent > 0 else normal  # type: ignore[operator]


# ---- market data ----------------------------------------------------------------------------------------


def _levels(side: Iterable[Sequence[Any]], limit: int) -> tuple[tuple[Decimal, Decimal], ...]:
    out: list[tuple[Decimal, Decimal]] = []
    for level in side:
        if len(out) >= limit:
            break
        price, qty = Decimal(str(level[0])), Decimal(str(level[1]))
        out.append((price, qty))
    return tuple(out)


def parse_book(symbol: str, kind: MarketKind, raw: Raw, limit: int, received_at: float) -> OrderBook:
    """A ccxt order book (REST or the live ccxt.pro book) → an immutable OrderBook of the top ``limit``.

    The ccxt.pro book is mutated in place by later diffs: the levels are copied here, synchronously.
    """
    return OrderBook(
        symbol=symbol,
        market=kind,
        bids=_levels(raw["bids"], limit),
        asks=_levels(raw["asks"], limit),
        update_id=to_int(raw.get("nonce")),
        exchange_ts=to_int(raw.get("timestamp")),
        received_at=received_at,
    )


def parse_ticker(
    symbol: str, kind: MarketKind, raw: Mapping[str, Any], book_ticker: Mapping[str, Any] | None = None
) -> Ticker:
    """A ccxt ticker → Ticker. ``book_ticker`` supplies bid/ask where the ticker has none (the perp's)."""
    bid = dec(raw.get("bid"))
    ask = dec(raw.get("ask"))
    if book_ticker is not None:
        bid = bid if bid is not None else dec(book_ticker.get("bid"))
        ask = ask if ask is not None else dec(book_ticker.get("ask"))
    return Ticker(
        symbol=symbol,
        kind=kind,
        last=first_dec(_info(raw).get("lastPrice"), raw.get("last")),
        bid=bid,
        ask=ask,
        timestamp=to_int(raw.get("timestamp")),
    )


def parse_funding(symbol: str, raw: Mapping[str, Any]) -> FundingInfo:
    """ccxt's funding rate (``premiumIndex``) → FundingInfo."""
    info = _info(raw)
    rate = first_dec(info.get("lastFundingRate"), raw.get("fundingRate"))
    mark = first_dec(info.get("markPrice"), raw.get("markPrice"))
    index = first_dec(info.get("indexPrice"), raw.get("indexPrice"))
    if rate is None or mark is None or index is None:
        raise ValueError("the funding answer lacks the rate, mark or index price")
    return FundingInfo(
        symbol=symbol,
        rate=rate,
        mark_price=mark,
        index_price=index,
        next_funding_ms=to_int(first_dec(info.get("nextFundingTime"), raw.get("fundingTimestamp"))) or None,
        timestamp=to_int(first_dec(info.get("time"), raw.get("timestamp"))),
    )


# ---- accounts -------------------------------------------------------------------------------------------


def parse_spot_balances(raw: Mapping[str, Any]) -> dict[str, Balance]:
    """ccxt's spot balance → one Balance per asset, from Binance's ``balances`` (free + locked)."""
    out: dict[str, Balance] = {}
    entries = _info(raw).get("balances")
    if isinstance(entries, list):
        for entry in entries:
            free = dec(entry.get("free")) or Decimal(0)
            used = dec(entry.get("locked")) or Decimal(0)
            asset = str(entry["asset"])
            out[asset] = Balance(asset=asset, free=free, used=used, total=free + used)
        return out
    for asset, entry in raw.items():
        totals = asset in ("info", "free", "used", "total")  # ccxt's per-column views, not assets
        if totals or not isinstance(entry, Mapping) or "free" not in entry:
            continue
        out[asset] = Balance(
            asset=asset,
            free=dec(entry.get("free")) or Decimal(0),
            used=dec(entry.get("used")) or Decimal(0),
            total=dec(entry.get("total")) or Decimal(0),
        )
    return out


def parse_futures_balance(raw: Mapping[str, Any], asset: str) -> FuturesBalance:
    """ccxt's USDⓈ-M balance → the wallet of ``asset`` (the margin asset), from Binance's ``assets``."""
    entries = _info(raw).get("assets")
    if not isinstance(entries, list):
        raise ValueError("the futures account answer has no assets")
    entry: Mapping[str, Any] = next((a for a in entries if a.get("asset") == asset), {})

    def field(name: str) -> Decimal:
        return dec(entry.get(name)) or Decimal(0)

    return FuturesBalance(
        asset=asset,
        wallet=field("walletBalance"),
        margin_balance=field("marginBalance"),
        available=field("availableBalance"),
        initial_margin=field("initialMargin"),
        maint_margin=field("maintMargin"),
        unrealized_pnl=field("unrealizedProfit"),
    )


class HedgeModeError(ValueError):
    """The futures account holds LONG/SHORT positions: hedge (dual-side) mode, which hedgetui cannot run."""


def position_rows(symbol: str, market_id: str, raw: Any) -> list[Mapping[str, Any]]:
    """Binance's own ``positionRisk`` rows of ``market_id``, shaped as ccxt's positions (``symbol`` unified,
    the row as ``info``) so that :func:`parse_position` reads both the same way."""
    rows = raw if isinstance(raw, list) else []
    return [
        {"symbol": symbol, "info": row} for row in rows if isinstance(row, Mapping) and row.get("symbol") == market_id
    ]


def parse_position(symbol: str, raw: Iterable[Mapping[str, Any]]) -> PerpPosition:
    """ccxt's positions → the one-way position of ``symbol``; flat (amount 0) when ccxt dropped it."""
    mine = [p for p in raw if p.get("symbol") == symbol]
    if not mine:
        # ccxt drops flat positions (entryPrice 0): absent means flat.
        return PerpPosition(symbol=symbol, amount=Decimal(0))
    for p in mine:
        side = str(_info(p).get("positionSide", "BOTH")).upper()
        if side != "BOTH":
            message = f"{symbol}: the account is in hedge (dual-side) position mode ({side})"
            raise HedgeModeError(message + "; hedgetui needs one-way mode")
    if len(mine) > 1:
        raise ValueError(f"{symbol}: {len(mine)} one-way positions reported")
    p = mine[0]
    info = _info(p)
    # The signed amount comes from Binance's own field: ccxt's ``contracts`` is unsigned.
    amount = dec(info.get("positionAmt"))
    if amount is None:
        contracts = dec(p.get("contracts")) or Decimal(0)
        amount = -contracts if p.get("side") == "short" else contracts
    leverage = to_int(p.get("leverage") or info.get("leverage"))
    return PerpPosition(
        symbol=symbol,
        amount=amount,
        entry_price=positive(first_dec(info.get("entryPrice"), p.get("entryPrice"))),
        mark_price=positive(first_dec(info.get("markPrice"), p.get("markPrice"))),
        notional=first_dec(info.get("notional"), p.get("notional")) or Decimal(0),
        unrealized_pnl=first_dec(info.get("unRealizedProfit"), p.get("unrealizedPnl")) or Decimal(0),
        leverage=leverage or None,
        liquidation_price=positive(first_dec(info.get("liquidationPrice"), p.get("liquidationPrice"))),
        margin_mode=p.get("marginMode") or _margin_mode(info),
        timestamp=to_int(p.get("timestamp") or info.get("updateTime")),
    )


def _margin_mode(info: Mapping[str, Any]) -> str | None:
    """Binance's margin type of a raw position row (v2 names it; v3 shows an isolated wallet instead)."""
    named = info.get("marginType")
    if named:
        return str(named).lower()
    wallet = dec(info.get("isolatedWallet"))
    return None if wallet is None else ("isolated" if wallet > 0 else "cross")


# ---- orders and trades ----------------------------------------------------------------------------------


def order_status(exchange_status: str | None, unified: str | None, filled: Decimal) -> OrderStatus:
    """hedgetui's status from Binance's own word, else ccxt's unified one.

    An unknown word is never taken as final: the order is treated as live (open, or partially filled when
    something has filled) until the exchange says otherwise.
    """
    if exchange_status is not None and exchange_status in BINANCE_STATUS:
        return BINANCE_STATUS[exchange_status]
    status = UNIFIED_STATUS.get(unified or "") if exchange_status is None else None
    if status is None or status is OrderStatus.OPEN:
        return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.OPEN
    return status


def parse_fee(raw: Any) -> Fee | None:
    """A ccxt fee dict → Fee (None when it carries no cost or currency)."""
    if not isinstance(raw, Mapping):
        return None
    cost = dec(raw.get("cost"))
    currency = raw.get("currency")
    if cost is None or not currency:
        return None
    return Fee(cost=cost, currency=str(currency))


def parse_order(symbol: str, kind: MarketKind, raw: Mapping[str, Any]) -> OrderResult:
    """A ccxt order → OrderResult, with Binance's own status word and quantities where present."""
    info = _info(raw)
    amount = first_dec(info.get("origQty"), raw.get("amount"))
    if amount is None:
        raise ValueError("the order answer has no quantity")
    filled = first_dec(info.get("executedQty"), raw.get("filled")) or Decimal(0)
    # Spot reports cummulativeQuoteQty (sic), USDⓈ-M cumQuote.
    cost = first_dec(info.get("cummulativeQuoteQty"), info.get("cumQuote"), raw.get("cost")) or Decimal(0)
    average = positive(first_dec(info.get("avgPrice"), raw.get("average")))
    if average is None and filled > 0 and cost > 0:
        average = cost / filled
    fees = [f for f in (parse_fee(x) for x in raw.get("fees") or ()) if f is not None]
    if not fees:
        single = parse_fee(raw.get("fee"))
        fees = [single] if single is not None else []
    exchange_status = info.get("status")
    exchange_status = str(exchange_status) if exchange_status else None
    # On a spot cancel, clientOrderId is the cancel request's own id; origClientOrderId is the order's.
    client_id = info.get("origClientOrderId") or raw.get("clientOrderId") or info.get("clientOrderId")
    order_id = raw.get("id") or info.get("orderId")
    if order_id is None:
        raise ValueError("the order answer has no order id")
    # A spot FULL answer carries its fills (with commissions): kept only when they account for every
    # filled unit, so a partial list is never taken for the order's executions.
    trades = _order_trades(raw.get("trades"), str(order_id))
    if sum((t.qty for t in trades), Decimal(0)) != filled or any(t.fee is None for t in trades):
        trades = ()
    return OrderResult(
        order_id=str(order_id),
        client_order_id=str(client_id) if client_id else None,
        symbol=symbol,
        kind=kind,
        side=Side(str(raw.get("side") or info.get("side", "")).lower()),
        type=str(raw.get("type") or info.get("type", "")).lower(),
        amount=amount,
        filled=filled,
        remaining=max(Decimal(0), amount - filled),
        average=average,
        cost=cost,
        status=order_status(exchange_status, raw.get("status"), filled),
        reduce_only=to_bool(raw.get("reduceOnly")) or to_bool(info.get("reduceOnly")),
        fees=tuple(fees),
        timestamp=to_int(raw.get("timestamp")),
        exchange_status=exchange_status,
        trades=trades,
    )


def _order_trades(raw: Any, order_id: str) -> tuple[TradeFill, ...]:
    """The executions an order answer carries; none when any of them cannot be read (the order itself
    must still be read: its fills are then fetched separately)."""
    try:
        return tuple(parse_trade(t, order_id) for t in raw or () if isinstance(t, Mapping))
    except (ValueError, TypeError, ArithmeticError):
        return ()


def parse_trade(raw: Mapping[str, Any], order_id: str) -> TradeFill:
    """A ccxt trade (spot myTrades / USDⓈ-M userTrades) → TradeFill, with its commission."""
    info = _info(raw)
    price = first_dec(info.get("price"), raw.get("price"))
    qty = first_dec(info.get("qty"), raw.get("amount"))
    if price is None or qty is None:
        raise ValueError("a trade without price or quantity")
    fee: Fee | None = None
    commission = dec(info.get("commission"))
    if commission is not None and info.get("commissionAsset"):
        fee = Fee(cost=commission, currency=str(info["commissionAsset"]))
    else:
        fee = parse_fee(raw.get("fee"))
    role = raw.get("takerOrMaker")
    side = str(raw.get("side") or info.get("side") or "").lower()
    return TradeFill(
        trade_id=str(raw.get("id") or info.get("id")),
        order_id=str(raw.get("order") or info.get("orderId") or order_id),
        price=price,
        qty=qty,
        fee=fee,
        timestamp=to_int(raw.get("timestamp")),
        maker=(role == "maker") if role else None,
        side=Side(side) if side in ("buy", "sell") else None,
    )


def parse_income(raw: Mapping[str, Any], symbols: Mapping[str, str]) -> IncomeRecord:
    """One record of Binance's ``/fapi/v1/income`` → IncomeRecord (``symbols``: market id → unified symbol).

    The trade a COMMISSION or REALIZED_PNL belongs to is Binance's ``tradeId`` (older answers put it in
    ``info``); funding and transfers have none.
    """
    kind_text = str(raw.get("incomeType") or "")
    kind = IncomeKind(kind_text) if kind_text in IncomeKind.__members__ else IncomeKind.OTHER
    amount = dec(raw.get("income"))
    time_ms = to_int(raw.get("time"))
    tran_id = raw.get("tranId")
    if amount is None or time_ms is None or tran_id in (None, ""):
        raise ValueError("an income record without income, time or tranId")
    trade_id = str(raw.get("tradeId") or "")
    info = str(raw.get("info") or "")
    if not trade_id and info.isdigit():
        trade_id = info
    market_id = str(raw.get("symbol") or "")
    return IncomeRecord(
        tran_id=str(tran_id),
        kind=kind,
        symbol=symbols.get(market_id, market_id),
        asset=str(raw.get("asset") or ""),
        amount=amount,
        time_ms=time_ms,
        trade_id=trade_id,
    )


def parse_funding_interval(raw: Iterable[Mapping[str, Any]], market_id: str) -> int | None:
    """The contract's funding interval from ``/fapi/v1/fundingInfo`` in ms (None when it is not listed)."""
    for entry in raw:
        if entry.get("symbol") == market_id:
            hours = dec(entry.get("fundingIntervalHours"))
            # Binance lists whole hours; a fraction (the sandbox's seconds-long intervals) is rounded to the
            # nearest ms, not truncated (4 s is 0.00111… h, and truncating would give 3,999 ms).
            return int((hours * 3_600_000).to_integral_value()) if hours is not None and hours > 0 else None
    return None


def interval_from_history(raw: Iterable[Mapping[str, Any]]) -> int | None:
    """The funding interval in ms from ``/fapi/v1/fundingRate`` history: the latest two settlements apart."""
    times = sorted({t for t in (to_int(r.get("fundingTime")) for r in raw) if t is not None})
    if len(times) < 2:
        return None
    gap = times[-1] - times[-2]
    return gap if gap > 0 else None


def parse_funding_rates(raw: Iterable[Mapping[str, Any]]) -> list[FundingRateRow]:
    """``/fapi/v1/fundingRate`` rows → FundingRateRow, oldest first (``markPrice`` is empty on Binance's
    older rows: then None)."""
    rows: list[FundingRateRow] = []
    for r in raw:
        time_ms, rate = to_int(r.get("fundingTime")), dec(r.get("fundingRate"))
        if time_ms is None or rate is None:
            continue
        mark = dec(r.get("markPrice")) if r.get("markPrice") not in (None, "") else None
        rows.append(FundingRateRow(time_ms=time_ms, rate=rate, mark=mark or None))
    return sorted(rows, key=lambda row: row.time_ms)


def parse_klines(raw: Iterable[Sequence[Any]]) -> list[SpotKline]:
    """Binance's kline rows (open time, open, high, low, close, …) → SpotKline, oldest first."""
    out: list[SpotKline] = []
    for row in raw:
        open_ms, first, last = to_int(row[0]), dec(row[1]), dec(row[4])
        if open_ms is not None and first is not None and last is not None:
            out.append(SpotKline(open_ms=open_ms, open=first, close=last))
    return sorted(out, key=lambda k: k.open_ms)
