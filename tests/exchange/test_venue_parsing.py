"""ccxt dicts → hedgetui types, offline: the status vocabulary, Binance's own strings over ccxt's floats, the
spot-cancel client id, flat and hedge-mode positions, and market rules without Binance's filters."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hedgetui.domain.orders import OrderStatus, Side
from hedgetui.domain.venue import MarketKind
from hedgetui.exchange.parsing import (
    BINANCE_STATUS,
    HedgeModeError,
    dec,
    order_status,
    parse_book,
    parse_order,
    parse_position,
    parse_rules,
    parse_trade,
    plain,
    position_rows,
    to_bool,
)

PERP_SYMBOL = "BTC/USDT:USDT"


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("NEW", OrderStatus.OPEN),
        ("PARTIALLY_FILLED", OrderStatus.PARTIALLY_FILLED),
        ("FILLED", OrderStatus.FILLED),
        ("CANCELED", OrderStatus.CANCELED),
        ("REJECTED", OrderStatus.REJECTED),
        ("EXPIRED", OrderStatus.EXPIRED),
        ("EXPIRED_IN_MATCH", OrderStatus.EXPIRED),
        ("PENDING_CANCEL", OrderStatus.OPEN),
    ],
)
def test_binance_status_words(word: str, expected: OrderStatus) -> None:
    # ccxt's unified word is deliberately misleading here: Binance's own word decides.
    assert order_status(word, "open", D(0)) is expected


@given(word=st.text(min_size=1, max_size=20).filter(lambda w: w not in BINANCE_STATUS), filled=st.booleans())
def test_an_unknown_status_word_is_never_taken_as_final(word: str, filled: bool) -> None:
    status = order_status(word, "closed", D("0.5") if filled else D(0))
    assert not status.is_terminal
    assert status is (OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.OPEN)


def test_ccxt_unified_status_is_the_fallback() -> None:
    assert order_status(None, "closed", D(1)) is OrderStatus.FILLED
    assert order_status(None, "canceled", D(1)) is OrderStatus.CANCELED
    assert order_status(None, "expired", D(0)) is OrderStatus.EXPIRED
    assert order_status(None, "open", D("0.1")) is OrderStatus.PARTIALLY_FILLED
    assert order_status(None, "open", D(0)) is OrderStatus.OPEN
    assert order_status(None, None, D(0)) is OrderStatus.OPEN


def spot_cancel_answer() -> dict[str, Any]:
    """A live spot DELETE /api/v3/order answer as ccxt parses it: clientOrderId is the cancel's own id."""
    info = {
        "symbol": "BTCUSDT",
        "origClientOrderId": "hgOURS1",
        "orderId": 42,
        "clientOrderId": "cancelRequestId",
        "price": "50000.00000000",
        "origQty": "0.00200000",
        "executedQty": "0.00100000",
        "cummulativeQuoteQty": "50.00000000",
        "status": "CANCELED",
        "type": "LIMIT",
        "side": "BUY",
    }
    return {
        "info": info,
        "id": "42",
        "clientOrderId": "cancelRequestId",
        "side": "buy",
        "type": "limit",
        "status": "canceled",
        "amount": 0.002,
        "filled": 0.001,
        "cost": 50.0,
        "average": None,
        "timestamp": 1700000000000,
        "fees": [],
    }


def test_spot_cancel_keeps_the_orders_own_client_id_and_exact_quantities() -> None:
    order = parse_order("BTC/USDT", MarketKind.SPOT, spot_cancel_answer())
    assert order.client_order_id == "hgOURS1"
    assert order.status is OrderStatus.CANCELED and order.exchange_status == "CANCELED"
    assert (order.amount, order.filled, order.remaining) == (D("0.002"), D("0.001"), D("0.001"))
    assert str(order.amount) == "0.00200000"  # Binance's string, not a float's repr
    assert order.average == D(50000)  # cost / filled when the venue gives no average
    assert order.side is Side.BUY and order.type == "limit" and order.timestamp == 1700000000000


def test_order_without_binance_info_uses_ccxt_fields_through_str() -> None:
    raw = {
        "id": 7,
        "clientOrderId": "hg7",
        "side": "sell",
        "type": "market",
        "status": "closed",
        "amount": 0.1,
        "filled": 0.1,
        "cost": 6000.3,
        "average": 60003.0,
        "reduceOnly": "true",
        "fee": {"cost": 0.0001, "currency": "BNB"},
    }
    order = parse_order(PERP_SYMBOL, MarketKind.PERP, raw)
    assert order.amount == D("0.1") and order.cost == D("6000.3")  # not 0.1000000000000000055...
    assert order.status is OrderStatus.FILLED and order.exchange_status is None and order.reduce_only
    assert [(f.cost, f.currency) for f in order.fees] == [(D("0.0001"), "BNB")]


@pytest.mark.parametrize("missing", ["id", "amount"])
def test_an_order_answer_without_id_or_quantity_is_unreadable(missing: str) -> None:
    raw = {"id": "1", "side": "buy", "type": "market", "status": "open", "amount": 1.0}
    del raw[missing]
    with pytest.raises(ValueError):
        parse_order(PERP_SYMBOL, MarketKind.PERP, raw)


def test_trades_prefer_binance_commission() -> None:
    raw = {
        "id": "9",
        "order": "42",
        "price": 60000.1,
        "amount": 0.001,
        "takerOrMaker": "maker",
        "timestamp": 1,
        "fee": {"cost": 0.0, "currency": "USDT"},
        "info": {"price": "60000.1", "qty": "0.001", "commission": "0.01200002", "commissionAsset": "USDT"},
    }
    fill = parse_trade(raw, "42")
    assert fill.fee is not None and fill.fee.cost == D("0.01200002") and fill.maker is True
    assert (fill.price, fill.qty, fill.order_id) == (D("60000.1"), D("0.001"), "42")


def position(**info: Any) -> dict[str, Any]:
    return {"symbol": PERP_SYMBOL, "info": {"positionSide": "BOTH", **info}, "marginMode": "cross"}


def test_positions_flat_signed_and_hedge_mode() -> None:
    assert parse_position(PERP_SYMBOL, []).amount == 0
    assert parse_position(PERP_SYMBOL, [{"symbol": "ETH/USDT:USDT", "info": {}}]).is_flat
    held = position(positionAmt="-0.250", entryPrice="60000.5", notional="-15000")
    short = parse_position(PERP_SYMBOL, [held])
    assert short.amount == D("-0.250") and short.entry_price == D("60000.5") and short.notional == D(-15000)
    assert short.liquidation_price is None  # Binance's "0" means none
    unsigned = {"symbol": PERP_SYMBOL, "contracts": 0.25, "side": "short", "info": {}}
    assert parse_position(PERP_SYMBOL, [unsigned]).amount == D("-0.25")
    with pytest.raises(HedgeModeError, match="one-way"):
        parse_position(PERP_SYMBOL, [position(positionSide="LONG", positionAmt="0.1")])


def test_raw_position_risk_rows_read_as_ccxt_positions() -> None:
    """``GET /fapi/v3/positionRisk`` as Binance answers it (no leverage, no margin type): the row of our
    market is read, other markets' rows and non-rows are ignored, a flat row is flat."""
    row = {
        "symbol": "BTCUSDT",
        "positionSide": "BOTH",
        "positionAmt": "-0.033",
        "entryPrice": "60243.79393939",
        "markPrice": "60201.90000000",
        "unRealizedProfit": "1.38250000",
        "liquidationPrice": "3077980.86845980",
        "notional": "-1986.66270000",
        "isolatedWallet": "0",
        "updateTime": 1796684438557,
    }
    raw = [{**row, "symbol": "ETHUSDT", "positionAmt": "5"}, "junk", row]
    p = parse_position(PERP_SYMBOL, position_rows(PERP_SYMBOL, "BTCUSDT", raw))
    assert (p.amount, p.mark_price, p.liquidation_price) == (D("-0.033"), D("60201.9"), D("3077980.8684598"))
    assert (p.unrealized_pnl, p.margin_mode, p.timestamp, p.leverage) == (D("1.3825"), "cross", 1796684438557, None)
    assert parse_position(PERP_SYMBOL, position_rows(PERP_SYMBOL, "BTCUSDT", [{**row, "positionAmt": "0"}])).is_flat
    assert parse_position(PERP_SYMBOL, position_rows(PERP_SYMBOL, "BTCUSDT", {"code": -1})).is_flat
    isolated = position_rows(PERP_SYMBOL, "BTCUSDT", [{**row, "isolatedWallet": "12.5"}])
    assert parse_position(PERP_SYMBOL, isolated).margin_mode == "isolated"
    with pytest.raises(HedgeModeError):
        parse_position(PERP_SYMBOL, position_rows(PERP_SYMBOL, "BTCUSDT", [{**row, "positionSide": "SHORT"}]))


def test_rules_fall_back_to_ccxt_precision_and_limits() -> None:
    market = {
        "symbol": PERP_SYMBOL,
        "id": "BTCUSDT",
        "base": "BTC",
        "quote": "USDT",
        "precision": {"amount": 0.001, "price": 0.1},
        "limits": {"amount": {"min": 0.001, "max": 1000.0}, "cost": {"min": 100.0}},
        "info": {},
    }
    rules = parse_rules(MarketKind.PERP, market)
    assert (rules.step, rules.tick) == (D("0.001"), D("0.1"))
    assert (rules.min_qty, rules.max_qty) == (D("0.001"), D(1000))
    assert rules.min_notional == D(100) and str(rules.min_notional) == "100"
    assert rules.market_max_qty is None
    with pytest.raises(ValueError, match="no lot step"):
        parse_rules(MarketKind.PERP, {**market, "precision": {}})


def test_book_levels_are_copied_and_cut() -> None:
    bids: list[list[float]] = [[100.5, 1.0], [100.4, 2.5]]
    live = {"bids": bids, "asks": [[100.6, 0.1]], "nonce": 12, "timestamp": None}
    book = parse_book("BTC/USDT", MarketKind.SPOT, live, 1, received_at=3.0)
    bids[0][1] = 99.0  # ccxt.pro mutates its book in place later
    assert book.bids == ((D("100.5"), D("1.0")),) and book.asks == ((D("100.6"), D("0.1")),)
    assert (book.update_id, book.exchange_ts, book.received_at) == (12, None, 3.0)


def test_small_conversions() -> None:
    assert dec(None) is None and dec("") is None and dec(True) is None
    assert dec(1e-05) == D("0.00001") and dec("0.10") == D("0.10")
    plain_texts = [str(plain(D(x))) for x in ("1000.000", "1E+3", "0.00001000", "0")]
    assert plain_texts == ["1000", "1000", "0.00001", "0"]
    assert to_bool("true") and to_bool(True) and not to_bool("false") and not to_bool(None)
