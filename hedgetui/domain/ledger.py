"""The hedge ledger's maths: fills into hedges, and a hedge's P&L from the exchange's records.

A *hedge* runs from the first fill taken while both legs were flat until the fill that makes them flat
again: the perp position back to exactly zero and the spot leg down to unsellable dust (under the spot
market's minimum quantity or minimum notional). Fills are taken in the order the journal recorded them.

The P&L of a hedge is assembled from records only (:mod:`hedgetui.domain.pnl` for the sign rules):

- funding: the FUNDING_FEE income of the perp's symbol booked between the hedge's first and last fill
  (until now while open). Never recomputed from rates.
- fees: the perp COMMISSION income of the hedge's own trades (by trade id; the fill's own commission when
  the exchange has not booked the income record yet), the INSURANCE_CLEAR income booked while the hedge
  was open (a liquidation's clearance fee), and the spot fills' commissions; a spot fee taken in the base
  asset is valued at its fill's price.
- price: the cash flows of both legs' fills plus what the legs still hold, valued at ``marks`` (spot at
  mid, perp at the mark price) while open, or at the last fill price once closed. The base asset a spot
  fee took is counted as spent at its fill price (it is in ``fees``), so ``funding + fees + price`` is the
  change of the account's value. A fill hedgetui did not make (``external``: a liquidation, an ADL, a
  manual trade, journaled when the drift monitor or reconciliation explained the change) counts at the
  realized P&L the exchange booked for it: beyond the wallet, the insurance fund takes a liquidation's
  loss, and the account lost only what was booked.

Each funding point carries the rate the exchange applied at that settlement and the basis then (the mark
of the funding-rate history against the spot minute's price) when those records are at hand
(:func:`with_settlements`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from hedgetui.domain.markets import MarketRules
from hedgetui.domain.orders import Side
from hedgetui.domain.pnl import FundingPoint, FundingRateRow, HedgePnl, IncomeKind, IncomeRecord, SpotKline
from hedgetui.domain.venue import MarketKind

DAY_MS = 86_400_000
YEAR_MS = 365 * DAY_MS
#: Binance's historical funding interval, used when the exchange does not say the contract's own.
DEFAULT_FUNDING_INTERVAL_MS = 8 * 3_600_000
_BPS = Decimal(10_000)
MINUTE_MS = 60_000
_BOOKED_PLACES = Decimal("0.00000001")


@dataclass(frozen=True)
class LedgerFill:
    """One journaled fill as the ledger reads it (``time_ms``: the exchange's trade time when known).

    ``external``: a fill of an order hedgetui did not send (journaled from the exchange's trades)."""

    market: MarketKind
    trade_id: str
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal | None
    fee_asset: str | None
    time_ms: int
    external: bool = False

    @property
    def signed_qty(self) -> Decimal:
        return self.qty if self.side is Side.BUY else -self.qty


@dataclass(frozen=True)
class ExternalFill:
    """A trade of the account that no order of hedgetui's made, as the exchange reports it, and what made
    it (``cause``: LIQUIDATION, ADL, MANUAL TRADE; ``client_order_id``: the exchange's order's, such as
    ``autoclose-…``, when it showed the order)."""

    market: MarketKind
    trade_id: str
    order_id: str
    client_order_id: str | None
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal | None
    fee_asset: str | None
    time_ms: int
    cause: str

    def ledger_fill(self) -> LedgerFill:
        return LedgerFill(
            market=self.market,
            trade_id=self.trade_id,
            side=self.side,
            qty=self.qty,
            price=self.price,
            fee=self.fee,
            fee_asset=self.fee_asset,
            time_ms=self.time_ms,
            external=True,
        )

    def describe(self) -> str:
        return (
            f"{self.cause} {self.market.value} {self.side.value.upper()} {self.qty:f} @ {self.price:f} "
            f"(trade {self.trade_id}, order {self.client_order_id or self.order_id})"
        )


def merge_fills(journaled: Sequence[LedgerFill], external: Sequence[LedgerFill]) -> list[LedgerFill]:
    """The journal's fills in their recorded order, each external fill placed before the first journaled
    fill that came after it in the exchange's time (the journal's own order is never changed)."""
    pending = sorted(external, key=lambda f: (f.time_ms, f.trade_id))
    merged: list[LedgerFill] = []
    i = 0
    for fill in journaled:
        while i < len(pending) and pending[i].time_ms < fill.time_ms:
            merged.append(pending[i])
            i += 1
        merged.append(fill)
    merged.extend(pending[i:])
    return merged


@dataclass(frozen=True)
class HedgeFills:
    """The fills of one hedge, in journal order; ``closed`` once they leave both legs flat."""

    fills: tuple[LedgerFill, ...]
    closed: bool

    @property
    def opened_ms(self) -> int:
        return min(f.time_ms for f in self.fills)

    @property
    def closed_ms(self) -> int | None:
        return max(f.time_ms for f in self.fills) if self.closed else None

    def leg(self, market: MarketKind) -> list[LedgerFill]:
        return [f for f in self.fills if f.market is market]


@dataclass(frozen=True)
class Marks:
    """What an open hedge is valued at now, and the contract's funding terms."""

    spot_mid: Decimal
    perp_mark: Decimal
    now_ms: int
    funding_rate: Decimal | None = None
    next_funding_ms: int | None = None
    funding_interval_ms: int | None = None


def spot_held(fills: Iterable[LedgerFill], base: str) -> Decimal:
    """The base quantity spot fills left in the account: buys less a fee taken in the base asset, less sells."""
    total = Decimal(0)
    for f in fills:
        if f.market is not MarketKind.SPOT:
            continue
        total += f.signed_qty
        if f.fee is not None and f.fee_asset == base:
            total -= f.fee
    return total


def is_spot_dust(qty: Decimal, price: Decimal, rules: MarketRules) -> bool:
    """A spot remainder too small to sell: under the minimum quantity, or under the minimum notional."""
    q = abs(qty)
    return q < rules.min_qty or q * price < rules.min_notional


def split_hedges(fills: Sequence[LedgerFill], spot_rules: MarketRules) -> list[HedgeFills]:
    """Cut the journal's fills into hedges (the last one open unless its fills left both legs flat)."""
    base = spot_rules.base
    hedges: list[HedgeFills] = []
    current: list[LedgerFill] = []
    perp = Decimal(0)
    for fill in fills:
        current.append(fill)
        if fill.market is MarketKind.PERP:
            perp += fill.signed_qty
        spot_fills = [f for f in current if f.market is MarketKind.SPOT]
        price = spot_fills[-1].price if spot_fills else fill.price
        if perp == 0 and is_spot_dust(spot_held(current, base), price, spot_rules):
            hedges.append(HedgeFills(tuple(current), closed=True))
            current = []
    if current:
        hedges.append(HedgeFills(tuple(current), closed=False))
    return hedges


def booked_gap(perp: Sequence[LedgerFill], realized: Mapping[str, Decimal]) -> Decimal:
    """What the exchange booked as realized P&L for the external fills, less what their prices imply
    against the position's average entry (Binance's rule): the part of a liquidation's loss the insurance
    fund took. Zero for hedgetui's own fills and for a trade with no REALIZED_PNL record."""
    position, entry, gap = Decimal(0), Decimal(0), Decimal(0)
    for f in perp:
        signed = f.signed_qty
        implied = Decimal(0)
        if position == 0 or (position > 0) == (signed > 0):
            entry = (entry * abs(position) + f.price * f.qty) / abs(position + signed)
        else:
            closed = min(f.qty, abs(position))
            implied = closed * (f.price - entry) * (1 if position > 0 else -1)
            if f.qty > abs(position):
                entry = f.price
        position += signed
        if position == 0:
            entry = Decimal(0)
        if f.external and f.trade_id in realized:
            gap += realized[f.trade_id] - implied
    # The exchange books to 8 places; the average entry's division must not leave 28-digit noise behind.
    return gap.quantize(_BOOKED_PLACES)


def basis_bps(spot: Decimal, perp: Decimal) -> Decimal:
    """The perp's premium over spot, ``(perp - spot) / spot`` in basis points."""
    return (perp - spot) / spot * _BPS


def carry_apr(rate: Decimal, interval_ms: int) -> Decimal:
    """The funding rate annualized over the contract's own interval: positive when the short receives."""
    return rate * Decimal(YEAR_MS) / Decimal(interval_ms)


def break_even_ms(costs: Decimal, funding_per_day: Decimal) -> int | None:
    """How long funding at ``funding_per_day`` takes to pay ``costs`` (None when funding does not pay)."""
    if funding_per_day <= 0:
        return None
    return int(max(costs, Decimal(0)) / funding_per_day * DAY_MS)


def _average(fills: Sequence[LedgerFill]) -> Decimal | None:
    qty = sum((f.qty for f in fills), Decimal(0))
    return sum((f.qty * f.price for f in fills), Decimal(0)) / qty if qty else None


def hedge_pnl(
    hedge: HedgeFills,
    income: Sequence[IncomeRecord],
    *,
    spot_rules: MarketRules,
    perp_symbol: str,
    marks: Marks | None = None,
    exit_fee_rates: tuple[Decimal, Decimal] = (Decimal(0), Decimal(0)),
) -> HedgePnl:
    """The P&L of one hedge from its fills and the futures account's income records.

    ``marks`` values an open hedge (without them, an open hedge is valued at its last fill prices and
    carries no funding estimate); ``exit_fee_rates`` (spot, perp taker fractions) estimate the exit's
    costs for the break-even time.
    """
    base, quote = spot_rules.base, spot_rules.quote
    spot, perp = hedge.leg(MarketKind.SPOT), hedge.leg(MarketKind.PERP)
    opened = hedge.opened_ms
    until = hedge.closed_ms if hedge.closed else None

    fundings = tuple(
        FundingPoint(time_ms=r.time_ms, amount=r.amount)
        for r in sorted(income, key=lambda r: (r.time_ms, r.tran_id))
        if r.kind is IncomeKind.FUNDING_FEE
        and r.symbol == perp_symbol
        and r.time_ms >= opened
        and (until is None or r.time_ms <= until)
    )
    funding = sum((p.amount for p in fundings), Decimal(0))

    commissions: dict[str, Decimal] = {}
    realized: dict[str, Decimal] = {}
    fees = Decimal(0)
    for r in income:
        if r.symbol != perp_symbol:
            continue
        if r.kind is IncomeKind.COMMISSION and r.trade_id:
            commissions[r.trade_id] = commissions.get(r.trade_id, Decimal(0)) + r.amount
        elif r.kind is IncomeKind.REALIZED_PNL and r.trade_id:
            realized[r.trade_id] = realized.get(r.trade_id, Decimal(0)) + r.amount
        elif r.kind is IncomeKind.INSURANCE_CLEAR and r.time_ms >= opened and (until is None or r.time_ms <= until):
            fees += r.amount  # a liquidation's clearance fee, paid by the account
    for f in perp:
        if f.trade_id in commissions:
            fees += commissions[f.trade_id]
        elif f.fee is not None and f.fee_asset in (quote, None):
            fees -= f.fee
    for f in spot:
        if f.fee is None:
            continue
        if f.fee_asset == base:
            fees -= f.fee * f.price
        elif f.fee_asset in (quote, None):
            fees -= f.fee

    held_spot = spot_held(spot, base)
    held_perp = sum((f.signed_qty for f in perp), Decimal(0))
    spot_px = marks.spot_mid if marks is not None and not hedge.closed else (spot[-1].price if spot else Decimal(0))
    perp_px = marks.perp_mark if marks is not None and not hedge.closed else (perp[-1].price if perp else Decimal(0))
    cash = -sum((f.signed_qty * f.price for f in hedge.fills), Decimal(0))
    base_fees = sum((f.fee * f.price for f in spot if f.fee is not None and f.fee_asset == base), Decimal(0))
    price = cash + base_fees + held_spot * spot_px + held_perp * perp_px + booked_gap(perp, realized)

    entry_spot = _average([f for f in spot if f.side is Side.BUY])
    entry_perp = _average([f for f in perp if f.side is Side.SELL])
    entry_basis = basis_bps(entry_spot, entry_perp) if entry_spot and entry_perp else None
    result = HedgePnl(
        quote=quote,
        funding=funding,
        fees=fees,
        price=price,
        opened_ms=opened,
        closed_ms=hedge.closed_ms,
        entry_spot=entry_spot,
        entry_perp=entry_perp,
        entry_basis_bps=entry_basis,
        fundings=fundings,
    )
    if hedge.closed or marks is None:
        return result
    return _with_carry(result, marks, held_perp, held_spot, exit_fee_rates)


def _with_carry(
    pnl: HedgePnl, marks: Marks, held_perp: Decimal, held_spot: Decimal, exit_fee_rates: tuple[Decimal, Decimal]
) -> HedgePnl:
    """Add what an open hedge earns from now: basis, APR, next funding and the break-even time."""
    interval = marks.funding_interval_ms or DEFAULT_FUNDING_INTERVAL_MS
    rate = marks.funding_rate
    apr = carry_apr(rate, interval) if rate is not None else None
    estimate = -held_perp * marks.perp_mark * rate if rate is not None else None
    break_even: int | None = None
    if estimate is not None:
        per_day = estimate * Decimal(DAY_MS) / Decimal(interval)
        spot_rate, perp_rate = exit_fee_rates
        exit_costs = abs(held_spot) * marks.spot_mid * spot_rate + abs(held_perp) * marks.perp_mark * perp_rate
        break_even = break_even_ms(-pnl.fees + exit_costs, per_day)
    return HedgePnl(
        quote=pnl.quote,
        funding=pnl.funding,
        fees=pnl.fees,
        price=pnl.price,
        opened_ms=pnl.opened_ms,
        entry_spot=pnl.entry_spot,
        entry_perp=pnl.entry_perp,
        entry_basis_bps=pnl.entry_basis_bps,
        basis_now_bps=basis_bps(marks.spot_mid, marks.perp_mark) if marks.spot_mid else None,
        apr=apr,
        break_even_ms=break_even,
        funding_interval_ms=interval,
        next_funding_ms=marks.next_funding_ms,
        next_funding_estimate=estimate,
        fundings=pnl.fundings,
    )


def settlement_at(time_ms: int, rates: Sequence[FundingRateRow], interval_ms: int) -> FundingRateRow | None:
    """The funding-rate history's settlement a FUNDING_FEE booked at ``time_ms`` belongs to: the nearest
    one in time, if less than half an interval away (the exchange books the fee at or just after it)."""
    best = min(rates, key=lambda r: abs(r.time_ms - time_ms), default=None)
    return best if best is not None and 2 * abs(best.time_ms - time_ms) < interval_ms else None


def spot_price_at(time_ms: int, klines: Sequence[SpotKline]) -> Decimal | None:
    """The spot price at ``time_ms`` from the minute that holds it: its open in the first half of the
    minute, its close in the second (never more than 30 s away); None without that minute."""
    for k in klines:
        if k.open_ms <= time_ms < k.open_ms + MINUTE_MS:
            return k.open if time_ms - k.open_ms < MINUTE_MS // 2 else k.close
    return None


def with_settlements(
    pnl: HedgePnl, rates: Sequence[FundingRateRow], klines: Sequence[SpotKline], interval_ms: int
) -> HedgePnl:
    """The hedge's funding points with the rate each settlement applied and the basis then (the mark the
    funding-rate history gives against the spot price at that time), where the records say them."""
    points = []
    for p in pnl.fundings:
        row = settlement_at(p.time_ms, rates, interval_ms)
        if row is None:
            points.append(p)
            continue
        spot = spot_price_at(row.time_ms, klines)
        basis = basis_bps(spot, row.mark) if spot and row.mark else None
        points.append(FundingPoint(time_ms=p.time_ms, amount=p.amount, rate=row.rate, basis_bps=basis))
    return replace(pnl, fundings=tuple(points))
