"""Income records and the funding interval: Binance's shapes read offline, and the income paging by time
through ccxt's real class (its implicit ``fapiPrivateGetIncome`` answering from a list of pages)."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from hedgetui.domain.pnl import IncomeKind
from hedgetui.exchange.parsing import interval_from_history, parse_funding_interval, parse_income
from hedgetui.exchange.venue import INCOME_PAGE, BinanceVenue

SYMBOLS = {"BTCUSDT": "BTC/USDT:USDT"}


def test_income_in_binances_shape() -> None:
    commission = parse_income(
        {
            "symbol": "BTCUSDT",
            "incomeType": "COMMISSION",
            "income": "-0.01000000",
            "asset": "USDT",
            "info": "COMMISSION",
            "time": 1570636800000,
            "tranId": 9689322392,
            "tradeId": "2059192",
        },
        SYMBOLS,
    )
    assert commission.kind is IncomeKind.COMMISSION and commission.amount == D("-0.01")
    assert (commission.tran_id, commission.trade_id, commission.symbol) == ("9689322392", "2059192", "BTC/USDT:USDT")
    transfer = parse_income(
        {"symbol": "", "incomeType": "TRANSFER", "income": "-0.375", "asset": "USDT", "info": "TRANSFER",
         "time": "1570608000000", "tranId": "1", "tradeId": ""},
        SYMBOLS,
    )  # fmt: skip
    assert transfer.kind is IncomeKind.TRANSFER and transfer.symbol == "" and transfer.trade_id == ""
    # Older answers name the trade in "info"; an unknown type is kept as OTHER.
    older = parse_income(
        {"symbol": "BTCUSDT", "incomeType": "REFERRAL_KICKBACK", "income": "0.1", "asset": "USDT",
         "info": "5001", "time": 1, "tranId": 2},
        SYMBOLS,
    )  # fmt: skip
    assert older.kind is IncomeKind.OTHER and older.trade_id == "5001"
    with pytest.raises(ValueError):
        parse_income({"incomeType": "FUNDING_FEE", "income": "1", "time": 1}, SYMBOLS)


def test_funding_interval_from_funding_info_or_history() -> None:
    info = [{"symbol": "ETHUSDT", "fundingIntervalHours": 4}, {"symbol": "BTCUSDT", "fundingIntervalHours": 1}]
    assert parse_funding_interval(info, "BTCUSDT") == 3_600_000
    assert parse_funding_interval(info[:1], "BTCUSDT") is None
    # The sandbox's seconds-long interval, as a fraction of an hour, rounds to the nearest ms.
    assert parse_funding_interval([{"symbol": "BTCUSDT", "fundingIntervalHours": "0.00111111"}], "BTCUSDT") == 4_000
    history = [{"fundingTime": t} for t in (1_000, 5_000, 9_000)]
    assert interval_from_history(history) == 4_000
    assert interval_from_history(history[:1]) is None


async def test_a_full_page_is_followed_from_its_last_time(venue: BinanceVenue, monkeypatch: Any) -> None:
    # 2,500 records, three to a millisecond: pages overlap at their boundary and nothing is counted twice.
    records = [
        {"symbol": "BTCUSDT", "incomeType": "FUNDING_FEE", "income": "0.5", "asset": "USDT", "info": "",
         "time": 10_000 + i // 3, "tranId": str(i), "tradeId": ""}
        for i in range(2_500)
    ]  # fmt: skip
    asked: list[dict[str, Any]] = []

    async def income(params: dict[str, Any]) -> list[dict[str, Any]]:
        asked.append(params)
        return [r for r in records if r["time"] >= params["startTime"]][: params["limit"]]

    monkeypatch.setattr(venue.exchange, "fapiPrivateGetIncome", income)
    got = await venue.fetch_income(10_000)
    assert len(got) == 2_500 and len({r.tran_id for r in got}) == 2_500
    assert sum((r.amount for r in got), D(0)) == D("1250")
    assert len(asked) == 3 and all(p["symbol"] == "BTCUSDT" and p["limit"] == INCOME_PAGE for p in asked)
    assert asked[1]["startTime"] == records[INCOME_PAGE - 1]["time"]
    only = await venue.fetch_income(10_000, kinds=[IncomeKind.COMMISSION])
    assert only == [] and asked[-1]["incomeType"] == "COMMISSION"
