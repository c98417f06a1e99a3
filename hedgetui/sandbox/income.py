"""The futures wallet's income history: every change of the USDⓈ-M wallet balance as one record.

Binance's ``GET /fapi/v1/income`` lists what moved the futures wallet: ``COMMISSION`` (one per perp fill),
``REALIZED_PNL`` (one per fill that reduced a position), ``FUNDING_FEE`` (one per position per funding
time), ``TRANSFER`` (spot ⇄ futures) and ``INSURANCE_CLEAR`` (the liquidation clearance fee). The sandbox
books a record in the same operation that changes the wallet, so the sum of all records always equals
the wallet's change since the start (``tests/sandbox/test_income_properties.py`` holds it to that).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hedgetui.sandbox.model import SandboxError

#: Binance's incomeType values the sandbox books (the others exist on Binance but never happen here).
INCOME_TYPES = ("TRANSFER", "REALIZED_PNL", "FUNDING_FEE", "COMMISSION", "INSURANCE_CLEAR")
#: Every incomeType Binance accepts as a filter (an unknown one is -1100).
KNOWN_INCOME_TYPES = frozenset(
    {
        *INCOME_TYPES,
        "WELCOME_BONUS",
        "REFERRAL_KICKBACK",
        "COMMISSION_REBATE",
        "API_REBATE",
        "CONTEST_REWARD",
        "CROSS_COLLATERAL_TRANSFER",
        "OPTIONS_PREMIUM_FEE",
        "OPTIONS_SETTLE_PROFIT",
        "INTERNAL_TRANSFER",
        "AUTO_EXCHANGE",
        "DELIVERED_SETTELMENT",
        "COIN_SWAP_DEPOSIT",
        "COIN_SWAP_WITHDRAW",
        "POSITION_LIMIT_INCREASE_FEE",
    }
)
#: Binance's tranIds are large integers; the sandbox's start here and only grow.
FIRST_TRAN_ID = 7_000_000_001
#: Without startTime and endTime Binance answers the last 7 days.
DEFAULT_WINDOW_MS = 7 * 24 * 3600 * 1000
INCOME_LIMIT_DEFAULT = 100
INCOME_LIMIT_MAX = 1000


@dataclass(frozen=True)
class IncomeRecord:
    """One change of the futures wallet. ``symbol`` is "" for transfers; ``trade_id`` "" when no trade."""

    symbol: str
    income_type: str
    income: Decimal
    asset: str
    info: str
    time: int
    tran_id: int
    trade_id: str


class IncomeLedger:
    """The records in booking order (ascending time and tranId)."""

    def __init__(self) -> None:
        self._records: list[IncomeRecord] = []
        self._next_id = FIRST_TRAN_ID

    def book(
        self, symbol: str, income_type: str, income: Decimal, time: int, *, info: str = "", trade_id: str = ""
    ) -> IncomeRecord | None:
        """Append one record (nothing for a zero amount: nothing moved); ``info`` defaults to the type.

        A record is never dated before the one booked ahead of it (a funding booked by the tick just after
        its funding time, after a fill in between, takes the fill's time), so time and tranId ascend
        together and a client paging by ``startTime`` never skips one.
        """
        if income == 0:
            return None
        if self._records:
            time = max(time, self._records[-1].time)
        record = IncomeRecord(symbol, income_type, income, "USDT", info or income_type, time, self._next_id, trade_id)
        self._next_id += 1
        self._records.append(record)
        return record

    def records(self) -> list[IncomeRecord]:
        """Every record, oldest first."""
        return list(self._records)

    def total(self) -> Decimal:
        """The sum of every record: the futures wallet's change since the start."""
        return sum((r.income for r in self._records), Decimal(0))

    def query(
        self,
        *,
        now: int,
        symbol: str | None = None,
        income_type: str | None = None,
        start: int | None = None,
        end: int | None = None,
        limit: int = INCOME_LIMIT_DEFAULT,
        page: int = 1,
    ) -> list[IncomeRecord]:
        """Binance's selection: ``startTime``/``endTime`` inclusive (neither: the last 7 days; only
        ``endTime``: the 7 days before it; only ``startTime``: up to now), oldest first, ``limit`` per
        ``page`` (1-based) counted from the start of the window."""
        if income_type is not None and income_type not in KNOWN_INCOME_TYPES:
            raise SandboxError(-1100, "Illegal characters found in parameter 'incomeType'.")
        if not 1 <= limit <= INCOME_LIMIT_MAX:
            raise SandboxError(-1100, "Illegal characters found in parameter 'limit'; legal range is '1-1000'.")
        if page < 1:
            raise SandboxError(-1100, "Illegal characters found in parameter 'page'; legal range is '> 0'.")
        if start is None and end is None:
            start, end = now - DEFAULT_WINDOW_MS, now
        elif start is None:
            assert end is not None
            start = end - DEFAULT_WINDOW_MS
        elif end is None:
            end = now
        if start > end:
            raise SandboxError(-1023, "Start time is greater than end time.")
        chosen = [
            r
            for r in self._records
            if start <= r.time <= end
            and (symbol is None or r.symbol == symbol)
            and (income_type is None or r.income_type == income_type)
        ]
        first = (page - 1) * limit
        return chosen[first : first + limit]


def income_row(r: IncomeRecord) -> dict[str, Any]:
    """One ``/fapi/v1/income`` item in Binance's shape (amounts as 8-decimal strings)."""
    return {
        "symbol": r.symbol,
        "incomeType": r.income_type,
        "income": f"{r.income:.8f}",
        "asset": r.asset,
        "info": r.info,
        "time": r.time,
        "tranId": r.tran_id,
        "tradeId": r.trade_id,
    }
