"""Order, fill and account types: the status vocabulary, frozen models, and Decimal-only money."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from pydantic import ValidationError

from hedgetui.domain.account import PerpPosition
from hedgetui.domain.orders import Fee, OrderResult, OrderStatus, Side, TradeFill
from hedgetui.domain.venue import MarketKind


def order(**kw: object) -> OrderResult:
    base: dict[str, object] = {
        "order_id": "1",
        "client_order_id": "hg1",
        "symbol": "BTC/USDT:USDT",
        "kind": MarketKind.PERP,
        "side": Side.SELL,
        "type": "market",
        "amount": D("0.010"),
        "filled": D("0.010"),
        "remaining": D("0"),
        "average": D("50000.1"),
        "cost": D("500.001"),
        "status": OrderStatus.FILLED,
    }
    base.update(kw)
    return OrderResult.model_validate(base)


def test_exactly_the_final_statuses_are_terminal() -> None:
    terminal = {s for s in OrderStatus if s.is_terminal}
    assert terminal == {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
    # The words are the contract with the journal and the UI.
    assert [s.value for s in OrderStatus] == [
        "open",
        "partially_filled",
        "filled",
        "canceled",
        "rejected",
        "expired",
    ]


def test_side_opposite_and_words() -> None:
    assert Side.BUY.opposite is Side.SELL and Side.SELL.opposite is Side.BUY
    assert Side("buy") is Side.BUY and Side("sell") is Side.SELL


def test_models_are_frozen_and_keep_decimals_exact() -> None:
    o = order(fees=(Fee(cost=D("0.00000001"), currency="BTC"),))
    with pytest.raises(ValidationError):
        o.filled = D(0)
    assert o.amount == D("0.010") and str(o.amount) == "0.010"
    assert o.fees[0].cost == D("1E-8")
    assert o.reduce_only is False and o.timestamp is None and o.exchange_status is None


@pytest.mark.parametrize("bad", [D("NaN"), D("Infinity"), D("-Infinity")])
def test_non_finite_money_is_refused(bad: D) -> None:
    with pytest.raises(ValidationError):
        order(cost=bad)
    with pytest.raises(ValidationError):
        TradeFill(trade_id="1", order_id="1", price=bad, qty=D(1))
    with pytest.raises(ValidationError):
        Fee(cost=bad, currency="USDT")


def test_unknown_status_or_side_words_are_refused() -> None:
    with pytest.raises(ValidationError):
        order(status="closed")  # ccxt's word, never ours
    with pytest.raises(ValidationError):
        order(side="short")


def test_perp_position_is_flat_only_at_zero() -> None:
    assert PerpPosition(symbol="BTC/USDT:USDT", amount=D("0.000")).is_flat
    assert not PerpPosition(symbol="BTC/USDT:USDT", amount=D("-0.001")).is_flat
    assert not PerpPosition(symbol="BTC/USDT:USDT", amount=D("0.001")).is_flat
