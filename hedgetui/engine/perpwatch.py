"""The perp-leg watch: margin ratio and distance to liquidation against their thresholds, and what explains a
perp position that changed outside hedgetui.

:class:`PerpWatch` judges every reading of the futures wallet and the position (the market data service's
polls, through the drift monitor, or a direct :meth:`Engine.read_perp`). A figure crossing into WARN or
CRITICAL raises an alert of its code (``MARGIN_RATIO``, ``LIQUIDATION_DISTANCE``), a change of level raises
it again at the new level, and a figure back under its warning threshold clears it (an INFO event says so;
the dashboard's alert book drops the alert on the same figures). Nothing here sends anything.

:func:`explain_perp_change` looks at the perp's trades since the legs last matched and names the orders
hedgetui did not send: Binance's liquidation engine uses client ids ``autoclose-…``, auto-deleveraging
``adl_autoclose…``; any other foreign order is a manual trade. :func:`journal_change` then records those
orders' trades in the journal as external fills (the exchange is the truth of how the leg got there; the
ledger counts them in the hedge's price P&L and closes the hedge on them).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from hedgetui.domain.account import FuturesBalance, PerpPosition
from hedgetui.domain.ledger import ExternalFill
from hedgetui.domain.margin import PerpHealth, PerpThresholds, WatchLevel, assess_perp
from hedgetui.domain.orders import Side, TradeFill
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.events import Level
from hedgetui.engine.journal import Journal
from hedgetui.engine.ports import VenuePort
from hedgetui.engine.reporter import Reporter
from hedgetui.exchange.errors import VenueError

#: Alert codes of the perp watch (the dashboard clears them when the figure is back under its warning).
MARGIN_ALERT = "MARGIN_RATIO"
LIQUIDATION_ALERT = "LIQUIDATION_DISTANCE"
#: How many foreign orders are looked up to explain one change (each is one REST call).
MAX_LOOKUPS = 5

_ALERT_LEVEL = {WatchLevel.WARN: Level.WARN, WatchLevel.CRITICAL: Level.CRITICAL}


class PerpWatch:
    """Judges the perp leg's figures and raises or clears its alerts on a change of level."""

    def __init__(self, report: Reporter, thresholds: PerpThresholds, tick: Decimal | None = None) -> None:
        self.report = report
        self.thresholds = thresholds
        #: The perp's price tick: the alerts show prices to it.
        self.tick = tick
        #: The latest judged reading (None until the first).
        self.health: PerpHealth | None = None
        self._raised: dict[str, WatchLevel] = {}

    async def observe(
        self, balance: FuturesBalance, position: PerpPosition, mark: Decimal | None, read_ms: int
    ) -> PerpHealth:
        """Judge one reading: alert on a worse or a different level, say so when a figure clears."""
        health = assess_perp(balance, position, mark, self.thresholds, read_ms, self.tick)
        self.health = health
        await self._judge(MARGIN_ALERT, health.margin_level, health.describe_margin(), "margin ratio")
        await self._judge(LIQUIDATION_ALERT, health.liq_level, health.describe_liq(), "liquidation distance")
        return health

    def level_of(self, code: str) -> WatchLevel:
        """The level currently alerted for ``code`` (OK when none)."""
        return self._raised.get(code, WatchLevel.OK)

    async def _judge(self, code: str, level: WatchLevel, text: str, name: str) -> None:
        previous = self._raised.get(code, WatchLevel.OK)
        if level is previous:
            return
        if level is WatchLevel.OK:
            del self._raised[code]
            await self.report.event("PERP_WATCH", f"{name} back within its thresholds: {text}", data={"code": code})
            return
        self._raised[code] = level
        action = " — top up margin (m) or reduce the hedge" if level is WatchLevel.CRITICAL else ""
        await self.report.alert(
            code,
            f"{name} {level.label.upper()}: {text}{action}",
            level=_ALERT_LEVEL[level],
            data={"level": level.label},
        )


class ChangeCause(enum.StrEnum):
    """What moved the perp position, as the exchange's orders say."""

    LIQUIDATION = "LIQUIDATION"
    ADL = "ADL"
    MANUAL = "MANUAL TRADE"
    UNKNOWN = "UNEXPLAINED CHANGE"


def cause_of(client_order_id: str) -> ChangeCause:
    """Classify a foreign order by its client id (Binance's liquidation and ADL orders are named so)."""
    cid = client_order_id.lower()
    if cid.startswith("adl_autoclose") or cid.startswith("adl-"):
        return ChangeCause.ADL
    if cid.startswith("autoclose-") or cid.startswith("autoclose"):
        return ChangeCause.LIQUIDATION
    return ChangeCause.MANUAL


@dataclass(frozen=True)
class ForeignOrder:
    """A perp order of the account that hedgetui did not send: its trades' quantity and average price, and
    its client id and side when the exchange answered the lookup."""

    order_id: str
    qty: Decimal
    average: Decimal | None
    client_order_id: str | None = None
    side: str | None = None
    fills: tuple[TradeFill, ...] = ()

    def describe(self) -> str:
        side = f"{self.side.upper()} " if self.side else ""
        avg = f" @ {self.average:,f}" if self.average is not None else ""
        return f"{side}{self.qty:f}{avg} (order {self.client_order_id or self.order_id})"


@dataclass(frozen=True)
class PerpChange:
    """The foreign perp orders found since the legs last matched, and the cause they name."""

    cause: ChangeCause
    orders: tuple[ForeignOrder, ...] = ()
    note: str = ""

    def describe(self) -> str:
        if not self.orders:
            return f"{self.cause.value}: no order of the account explains it{self.note}"
        return f"{self.cause.value} on the exchange: " + ", ".join(o.describe() for o in self.orders)

    def external_fills(self, now_ms: int) -> list[ExternalFill]:
        """The foreign orders' trades as the journal keeps them, each with its own order's cause (a trade
        whose side neither the order nor the trade list gave is left out: it cannot be counted)."""
        out: list[ExternalFill] = []
        for o in self.orders:
            cause = cause_of(o.client_order_id).value if o.client_order_id else self.cause.value
            for t in o.fills:
                side = t.side or (Side(o.side) if o.side in ("buy", "sell") else None)
                if side is None:
                    continue
                out.append(
                    ExternalFill(
                        market=MarketKind.PERP,
                        trade_id=t.trade_id,
                        order_id=o.order_id,
                        client_order_id=o.client_order_id,
                        side=side,
                        qty=t.qty,
                        price=t.price,
                        fee=t.fee.cost if t.fee is not None else None,
                        fee_asset=t.fee.currency if t.fee is not None else None,
                        time_ms=t.timestamp if t.timestamp is not None else now_ms,
                        cause=cause,
                    )
                )
        return out


async def explain_perp_change(venue: VenuePort, journal: Journal, since_ms: int) -> PerpChange:
    """What changed the perp since ``since_ms``: the account's perp trades whose orders hedgetui did not send.

    Cheap by design (one trades request, then at most :data:`MAX_LOOKUPS` order lookups); an unreadable
    exchange yields UNKNOWN with the reason, never an exception: the alert goes out regardless. An order the
    exchange will not show (a trade booked outside any order) still counts, without a client id.
    """
    try:
        trades = await venue.fetch_perp_trades(since_ms)
    except VenueError as exc:
        return PerpChange(ChangeCause.UNKNOWN, note=f" (the account's trades could not be read: {exc.source})")
    ours = await journal.all_cids()
    by_order: dict[str, list[TradeFill]] = {}
    for t in trades:
        by_order.setdefault(t.order_id, []).append(t)
    foreign: list[ForeignOrder] = []
    for order_id, fills in list(by_order.items())[-MAX_LOOKUPS:]:
        qty = sum((f.qty for f in fills), Decimal(0))
        average = sum((f.qty * f.price for f in fills), Decimal(0)) / qty if qty else None
        cid: str | None = None
        side: str | None = None
        try:
            order = await venue.fetch_order(MarketKind.PERP, order_id=order_id)
            cid, side = order.client_order_id, order.side.value
        except VenueError:
            pass  # no order behind the trade (or unreadable): it is still not one of ours
        if cid is not None and cid in ours:
            continue
        foreign.append(ForeignOrder(order_id, qty, average, cid, side, tuple(fills)))
    if not foreign:
        return PerpChange(ChangeCause.UNKNOWN)
    causes = [cause_of(o.client_order_id or "") for o in foreign if o.client_order_id]
    cause = next((c for c in (ChangeCause.LIQUIDATION, ChangeCause.ADL) if c in causes), ChangeCause.MANUAL)
    if not causes:
        cause = ChangeCause.UNKNOWN
    return PerpChange(cause, tuple(foreign))


async def journal_change(journal: Journal, report: Reporter, change: PerpChange, now_ms: int) -> list[ExternalFill]:
    """Record the trades that explain an outside change as external fills (once each, by trade id) and
    say so in the journal's events; returns the fills new to the journal."""
    added = await journal.record_external_fills(change.external_fills(now_ms))
    if added:
        await report.event(
            "EXTERNAL_FILL",
            f"journaled {len(added)} fill(s) hedgetui did not make, as the exchange reports them: "
            + "; ".join(f.describe() for f in added),
            level=Level.WARN,
            data={"trades": [f.trade_id for f in added], "cause": change.cause.value},
        )
    return added
