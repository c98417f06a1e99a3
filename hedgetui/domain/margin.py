"""The perp leg's safety figures: margin ratio and distance to liquidation, judged against thresholds.

Both figures are read from the exchange, never modelled: the margin ratio is Binance's
``maintMargin / marginBalance`` of the USDⓈ-M wallet (100 % means liquidation), and the distance to
liquidation is ``|mark − liquidationPrice| / mark`` of the position. A higher margin ratio is worse; a
smaller distance is worse. Pure: no I/O.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from hedgetui.domain.account import FuturesBalance, PerpPosition

HUNDRED = Decimal(100)


class WatchLevel(enum.IntEnum):
    """How a figure stands against its thresholds (ordered: a higher value is worse)."""

    OK = 0
    WARN = 1
    CRITICAL = 2

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class PerpThresholds:
    """Warning and critical thresholds of the perp leg, in percent (configuration ``[perp_watch]``)."""

    margin_ratio_warn_pct: Decimal = Decimal("50")
    margin_ratio_critical_pct: Decimal = Decimal("80")
    liq_distance_warn_pct: Decimal = Decimal("15")
    liq_distance_critical_pct: Decimal = Decimal("7")

    def margin_level(self, ratio_pct: Decimal | None) -> WatchLevel:
        """The level of a margin ratio (None, no margin in use, is OK)."""
        if ratio_pct is None:
            return WatchLevel.OK
        if ratio_pct >= self.margin_ratio_critical_pct:
            return WatchLevel.CRITICAL
        if ratio_pct >= self.margin_ratio_warn_pct:
            return WatchLevel.WARN
        return WatchLevel.OK

    def liq_level(self, distance_pct: Decimal | None) -> WatchLevel:
        """The level of a distance to liquidation (None, no liquidation price, is OK)."""
        if distance_pct is None:
            return WatchLevel.OK
        if distance_pct <= self.liq_distance_critical_pct:
            return WatchLevel.CRITICAL
        if distance_pct <= self.liq_distance_warn_pct:
            return WatchLevel.WARN
        return WatchLevel.OK


def margin_ratio_pct(balance: FuturesBalance) -> Decimal | None:
    """Binance's account margin ratio ``maintMargin / marginBalance`` in percent.

    None when no maintenance margin is in use (no position). A margin balance at or below zero with margin
    in use is reported as 100 % (the account is at liquidation).
    """
    if balance.maint_margin <= 0:
        return None
    if balance.margin_balance <= 0:
        return HUNDRED
    return balance.maint_margin / balance.margin_balance * HUNDRED


def liquidation_distance_pct(mark: Decimal | None, liquidation_price: Decimal | None) -> Decimal | None:
    """``|mark − liq| / mark`` in percent; None without a mark or a liquidation price (flat, or none)."""
    if not mark or mark <= 0 or not liquidation_price or liquidation_price <= 0:
        return None
    return abs(mark - liquidation_price) / mark * HUNDRED


@dataclass(frozen=True)
class PerpHealth:
    """The perp leg's figures at ``read_ms`` and their levels against ``thresholds``."""

    margin_ratio_pct: Decimal | None
    liq_distance_pct: Decimal | None
    margin_level: WatchLevel
    liq_level: WatchLevel
    thresholds: PerpThresholds
    wallet: Decimal
    margin_balance: Decimal
    available: Decimal
    maint_margin: Decimal
    unrealized_pnl: Decimal
    mark: Decimal | None
    liquidation_price: Decimal | None
    position: Decimal
    read_ms: int
    #: The perp's price tick, that prices are shown to (None: as the exchange wrote them).
    tick: Decimal | None = None

    @property
    def level(self) -> WatchLevel:
        """The worse of the two levels."""
        return max(self.margin_level, self.liq_level)

    def describe_margin(self) -> str:
        t = self.thresholds
        ratio = "—" if self.margin_ratio_pct is None else f"{self.margin_ratio_pct:.1f} %"
        return (
            f"margin ratio {ratio} (warn {t.margin_ratio_warn_pct:g} %, critical {t.margin_ratio_critical_pct:g} %;"
            f" margin balance {self.margin_balance:,.2f}, maintenance {self.maint_margin:,.2f})"
        )

    def describe_liq(self) -> str:
        t = self.thresholds
        dist = "—" if self.liq_distance_pct is None else f"{self.liq_distance_pct:.1f} %"
        liq, mark = (self._price(p) for p in (self.liquidation_price, self.mark))
        return (
            f"liquidation {dist} away (mark {mark}, liquidation price {liq};"
            f" warn {t.liq_distance_warn_pct:g} %, critical {t.liq_distance_critical_pct:g} %)"
        )

    def _price(self, price: Decimal | None) -> str:
        if price is None:
            return "—"
        shown = price.quantize(self.tick.normalize(), rounding=ROUND_HALF_UP) if self.tick else price
        return f"{shown:,f}"


def assess_perp(
    balance: FuturesBalance,
    position: PerpPosition,
    mark: Decimal | None,
    thresholds: PerpThresholds,
    read_ms: int,
    tick: Decimal | None = None,
) -> PerpHealth:
    """The perp leg's health from the exchange's futures wallet and position (``mark``: the mark price)."""
    mark = mark if mark and mark > 0 else position.mark_price
    ratio = margin_ratio_pct(balance)
    liq = position.liquidation_price if position.amount != 0 else None
    distance = liquidation_distance_pct(mark, liq)
    return PerpHealth(
        margin_ratio_pct=ratio,
        liq_distance_pct=distance,
        margin_level=thresholds.margin_level(ratio),
        liq_level=thresholds.liq_level(distance),
        thresholds=thresholds,
        wallet=balance.wallet,
        margin_balance=balance.margin_balance,
        available=balance.available,
        maint_margin=balance.maint_margin,
        unrealized_pnl=position.unrealized_pnl,
        mark=mark,
        liquidation_price=liq,
        position=position.amount,
        read_ms=read_ms,
        tick=tick,
    )


class TransferDirection(enum.StrEnum):
    """Where a USDT transfer goes: into the futures wallet (top up margin) or back to spot."""

    TO_FUTURES = "futures"
    TO_SPOT = "spot"

    @property
    def source(self) -> str:
        return "spot" if self is TransferDirection.TO_FUTURES else "futures"

    @property
    def target(self) -> str:
        return self.value


def margin_ratio_after(health: PerpHealth, delta: Decimal) -> Decimal | None:
    """The margin ratio in percent if ``delta`` were added to the margin balance (negative: taken out)."""
    if health.maint_margin <= 0:
        return None
    balance = health.margin_balance + delta
    if balance <= 0:
        return HUNDRED
    return health.maint_margin / balance * HUNDRED
