"""The one owner of the hedge's state, and it is read from the exchange.

The perp leg is the position amount; the spot leg is the spot base balance (free + locked) minus the
configured reserve (inventory the desk holds outside the hedge). Drift, alerts, the screen, ``status`` and
every decision use these figures. The journal explains how the hedge got there: its account of the spot
leg (the journaled spot fills, from an adopted baseline) is kept beside the exchange's figure, and where
the two disagree that is reported as a discrepancy — never traded on.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hedgetui.domain.account import Balance, FundingInfo, PerpPosition
from hedgetui.domain.drift import HedgeDrift, assess_drift
from hedgetui.domain.markets import MarketRules
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.clock import Clock
from hedgetui.engine.journal import Journal
from hedgetui.engine.ports import MarketFeed, VenuePort
from hedgetui.engine.reads import LEGS_SETTLE_S, gather_missing

BASELINE_STATE = "hedge_baseline"
#: A verification may value the legs at a mark read this recently (ms) by the same pipeline.
MARK_REUSE_MS = 5_000


@dataclass(frozen=True)
class ExchangeLegs:
    """Both legs as the exchange holds them at ``read_ms`` (wall clock)."""

    base: str
    spot_total: Decimal
    reserve: Decimal
    perp_qty: Decimal
    mark: Decimal
    read_ms: int
    liquidation_price: Decimal | None = None

    @property
    def spot_qty(self) -> Decimal:
        """The hedge's spot leg: what the exchange holds less the desk's reserve."""
        return self.spot_total - self.reserve

    @property
    def net_qty(self) -> Decimal:
        return self.spot_qty + self.perp_qty

    def describe(self) -> str:
        reserve = f" (balance {self.spot_total} less reserve {self.reserve})" if self.reserve else ""
        return (
            f"exchange: spot {self.spot_qty} {self.base}{reserve}, perp {self.perp_qty}, "
            f"net {self.net_qty:+f} ({self.net_qty * self.mark:+,.2f} USD)"
        )


def legs_from(
    base: str,
    reserve: Decimal,
    balances: dict[str, Balance],
    position: PerpPosition,
    funding: FundingInfo,
    read_ms: int,
) -> ExchangeLegs:
    """Both legs from balances, position and funding already read together."""
    mark = funding.mark_price if funding.mark_price > 0 else (position.mark_price or Decimal(0))
    return legs_at(base, reserve, balances, position, mark, read_ms)


def legs_at(
    base: str, reserve: Decimal, balances: dict[str, Balance], position: PerpPosition, mark: Decimal, read_ms: int
) -> ExchangeLegs:
    """Both legs from balances and position, valued at ``mark``."""
    held = balances.get(base)
    return ExchangeLegs(
        base=base,
        spot_total=held.total if held is not None else Decimal(0),
        reserve=reserve,
        perp_qty=position.amount,
        mark=mark,
        read_ms=read_ms,
        liquidation_price=position.liquidation_price,
    )


@dataclass(frozen=True)
class JournalAccount:
    """What the journal says the hedge's spot leg is, and how far the exchange is from it."""

    spot_qty: Decimal
    exchange_spot_qty: Decimal

    @property
    def difference(self) -> Decimal:
        return self.exchange_spot_qty - self.spot_qty


class HedgeState:
    """Reads the legs from the exchange, assesses drift, and keeps the journal's account beside them."""

    def __init__(
        self,
        venue: VenuePort,
        clock: Clock,
        *,
        reserve: Decimal,
        tolerance_bps: Decimal,
    ) -> None:
        self.venue = venue
        self.clock = clock
        self.reserve = reserve
        self.tolerance_bps = tolerance_bps
        self.spot_rules: MarketRules = venue.rules(MarketKind.SPOT)
        self.perp_rules: MarketRules = venue.rules(MarketKind.PERP)
        #: Streamed funding/mark (the dashboard's market data), when the engine was given one.
        self.market: MarketFeed | None = None
        #: The latest exchange reading (None until the first read).
        self.legs: ExchangeLegs | None = None
        #: The journal's account at the latest comparison (None until reconciliation compared them).
        self.account: JournalAccount | None = None

    async def read(self, *, streamed: bool = False) -> ExchangeLegs:
        """Both legs as the exchange holds them, read concurrently (one round trip).

        With ``streamed`` (a pipeline verifying its own fills) the account stream answers while it vouches
        for them, after waiting for the balance and position changes of the fills it reported; and the mark
        comes from the market feed while fresh. Without it (reconciliation, corrections, halts, the drift
        monitor: changes from outside that the stream may not have delivered yet) everything is read.
        """
        view = await self.venue.account_view(LEGS_SETTLE_S) if streamed else None
        streamed_position: PerpPosition | None = None
        if view is not None and view.perp_amount is not None:
            full = view.position
            streamed_position = (
                full
                if full is not None and full.amount == view.perp_amount
                else PerpPosition(symbol=self.perp_rules.symbol, amount=view.perp_amount)
            )
        now_ms = self.clock.wall_ms()
        funding = self.market.fresh_funding() if streamed and self.market is not None else None
        recent = self.legs is not None and now_ms - self.legs.read_ms <= MARK_REUSE_MS and self.legs.mark > 0
        if streamed and funding is None and recent and self.legs is not None:
            # The mark only values the drift: the pipeline's own reading of it moments ago serves.
            mark = self.legs.mark
            balances, position = await gather_missing(
                (view.spot_balances if view is not None else None, self.venue.fetch_spot_balances),
                (streamed_position, self.venue.fetch_perp_position),
            )
            return self.observe(legs_at(self.spot_rules.base, self.reserve, balances, position, mark, now_ms))
        balances, position, funding = await gather_missing(
            (view.spot_balances if view is not None else None, self.venue.fetch_spot_balances),
            (streamed_position, self.venue.fetch_perp_position),
            (funding, self.venue.fetch_funding),
        )
        return self.observe(legs_from(self.spot_rules.base, self.reserve, balances, position, funding, now_ms))

    def observe(self, legs: ExchangeLegs) -> ExchangeLegs:
        """Take a reading made elsewhere (a pipeline's snapshot) as the latest one."""
        self.legs = legs
        return legs

    def drift(self, legs: ExchangeLegs, spot_price: Decimal | None = None) -> HedgeDrift:
        """Drift between the legs as the exchange holds them."""
        return assess_drift(
            spot_qty=legs.spot_qty,
            perp_qty=legs.perp_qty,
            mark_price=legs.mark,
            tolerance_bps=self.tolerance_bps,
            spot_rules=self.spot_rules,
            perp_rules=self.perp_rules,
            spot_price=spot_price,
        )

    async def journal_account(self, journal: Journal) -> Decimal:
        """The journal's account of the spot leg: the adopted baseline plus the spot fills since."""
        fills = await journal.hedge_spot_qty(self.spot_rules.base)
        baseline = await journal.latest_state(BASELINE_STATE)
        if baseline is None:
            return fills
        return Decimal(baseline["spot_qty"]) + fills - Decimal(baseline["journal_fills"])

    async def compare(self, journal: Journal, legs: ExchangeLegs) -> JournalAccount:
        """Compare the journal's account with the exchange (the caller reports a discrepancy)."""
        self.account = JournalAccount(await self.journal_account(journal), legs.spot_qty)
        return self.account

    async def adopt(self, journal: Journal, legs: ExchangeLegs) -> None:
        """Make the exchange's spot leg the journal's baseline (an empty journal meets existing positions)."""
        fills = await journal.hedge_spot_qty(self.spot_rules.base)
        await journal.record_state(
            BASELINE_STATE,
            {"spot_qty": str(legs.spot_qty), "perp_qty": str(legs.perp_qty), "journal_fills": str(fills)},
        )
        self.account = JournalAccount(legs.spot_qty, legs.spot_qty)

    def is_discrepancy(self, account: JournalAccount) -> bool:
        """A difference of at least one spot step (smaller is fee rounding, not a missing fill)."""
        return abs(account.difference) >= self.spot_rules.step
