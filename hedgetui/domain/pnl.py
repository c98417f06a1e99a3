"""What a hedge earns, as the exchange booked it: income records, and the P&L of one hedge.

Every amount here comes from the exchange's own records (Binance's ``/fapi/v1/income`` for funding,
perp commission and realized P&L; the spot fills' commissions for spot fees), never recomputed from
rates. Signs follow the account: a positive amount raised the account's value, a negative one lowered it.
So ``fees`` is negative when fees were paid, and ``net = funding + fees + price``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class IncomeKind(StrEnum):
    """Binance's ``incomeType`` values the ledger reads (others are kept as ``OTHER``)."""

    FUNDING_FEE = "FUNDING_FEE"
    COMMISSION = "COMMISSION"
    REALIZED_PNL = "REALIZED_PNL"
    TRANSFER = "TRANSFER"
    INSURANCE_CLEAR = "INSURANCE_CLEAR"
    OTHER = "OTHER"


@dataclass(frozen=True)
class IncomeRecord:
    """One record of the futures account's income history, as the exchange booked it.

    ``tran_id`` is the exchange's id and unique per record: the ledger stores records by it, so a
    fetch that overlaps an earlier one never counts an amount twice. ``trade_id`` is Binance's ``info``
    field (the trade a COMMISSION or REALIZED_PNL belongs to; empty for funding).
    """

    tran_id: str
    kind: IncomeKind
    symbol: str
    asset: str
    amount: Decimal
    time_ms: int
    trade_id: str = ""


@dataclass(frozen=True)
class FundingPoint:
    """One funding settlement of the open hedge, for the history chart.

    ``amount`` is what the account received (negative: paid); ``rate`` the funding rate applied when
    known; ``basis_bps`` the perp's premium over spot at that time when known.
    """

    time_ms: int
    amount: Decimal
    rate: Decimal | None = None
    basis_bps: Decimal | None = None


@dataclass(frozen=True)
class FundingRateRow:
    """One settlement of the contract's funding-rate history (Binance's ``/fapi/v1/fundingRate``): when,
    the rate it applied, and the mark price at that time when the exchange says it."""

    time_ms: int
    rate: Decimal
    mark: Decimal | None = None


@dataclass(frozen=True)
class SpotKline:
    """One minute of the spot market (a 1m kline): its open time, open and close price."""

    open_ms: int
    open: Decimal
    close: Decimal


@dataclass(frozen=True)
class HedgePnl:
    """The P&L of one hedge (open or closed), in the quote asset, from the exchange's records.

    - ``funding``: funding received minus funding paid (FUNDING_FEE income since the hedge opened).
    - ``fees``: commissions of both legs, negative when paid; the spot fee paid in the base asset is
      valued at its fill price.
    - ``price``: the price P&L of both legs together: realized where legs were closed, and marked to
      ``mark`` (spot at mid, perp at the mark price) while open.
    - ``net``: ``funding + fees + price``.
    - ``opened_ms`` / ``closed_ms``: when the hedge's first entry order filled and when its last exit
      order filled (``None`` while open).
    - ``entry_spot`` / ``entry_perp``: the average fill prices of the legs' entry orders;
      ``entry_basis_bps`` the perp's premium over spot at entry, ``(perp - spot) / spot`` in bps, and
      ``basis_now_bps`` the same now (``None`` when closed or unknown).
    - ``apr``: the carry annualized from the contract's own funding interval at the current rate, as a
      fraction (0.1095 = 10.95 % a year), ``None`` when unknown.
    - ``break_even_ms``: how long, at the current funding rate, funding takes to pay back the entry and
      exit costs (``None`` when the rate does not pay the hedge).
    - ``next_funding_ms`` / ``next_funding_estimate``: the next settlement and what it would pay the
      hedge at the current rate and mark.
    """

    quote: str
    funding: Decimal
    fees: Decimal
    price: Decimal
    opened_ms: int
    closed_ms: int | None = None
    entry_spot: Decimal | None = None
    entry_perp: Decimal | None = None
    entry_basis_bps: Decimal | None = None
    basis_now_bps: Decimal | None = None
    apr: Decimal | None = None
    break_even_ms: int | None = None
    funding_interval_ms: int | None = None
    next_funding_ms: int | None = None
    next_funding_estimate: Decimal | None = None
    fundings: tuple[FundingPoint, ...] = ()

    @property
    def net(self) -> Decimal:
        """What the hedge earned in total: funding, fees and price together."""
        return self.funding + self.fees + self.price

    @property
    def is_open(self) -> bool:
        return self.closed_ms is None


def _text(value: Decimal | None, places: str | None = None) -> str | None:
    if value is None:
        return None
    return format(value.quantize(Decimal(places)) if places else value, "f")


def pnl_json(pnl: HedgePnl) -> dict[str, object]:
    """The P&L as ``status --json`` and ``history --json`` print it: amounts as decimal strings, times in ms.

    ``apr`` is a fraction (0.1095 = 10.95 % a year); ``fundings`` counts the settlements booked.
    """
    return {
        "quote": pnl.quote,
        "funding": _text(pnl.funding),
        "fees": _text(pnl.fees),
        "price": _text(pnl.price),
        "net": _text(pnl.net),
        "opened_ms": pnl.opened_ms,
        "closed_ms": pnl.closed_ms,
        "entry_spot": _text(pnl.entry_spot),
        "entry_perp": _text(pnl.entry_perp),
        "entry_basis_bps": _text(pnl.entry_basis_bps, "0.01"),
        "basis_now_bps": _text(pnl.basis_now_bps, "0.01"),
        "apr": _text(pnl.apr, "0.000001"),
        "break_even_ms": pnl.break_even_ms,
        "funding_interval_ms": pnl.funding_interval_ms,
        "next_funding_ms": pnl.next_funding_ms,
        "next_funding_estimate": _text(pnl.next_funding_estimate),
        "fundings": len(pnl.fundings),
    }
