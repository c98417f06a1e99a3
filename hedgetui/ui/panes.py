"""The latest-value slots → the panes: books, health, market lines, slippage, and the hedge's legs.

Polled by the app's timer at ``refresh_hz``. A book repaints only when its slot's version changed; text
panes are handed new text only when it differs from what they show (``TextLine``), with no layout pass,
so an idle or a fast feed costs the same few repaints per second.
"""

from __future__ import annotations

from decimal import Decimal

from hedgetui.domain.drift import HedgeDrift
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.engine import Engine
from hedgetui.engine.hedge import ExchangeLegs, legs_from
from hedgetui.engine.preview import LegEstimates, estimate_hedge, estimate_legs
from hedgetui.ui.feed import DashboardFeed
from hedgetui.ui.formatting import fmt_bps, fmt_pct, funding_countdown
from hedgetui.ui.settings import DashboardSettings
from hedgetui.ui.widgets.book_pane import BookPane
from hedgetui.ui.widgets.slippage import SlippagePane
from hedgetui.ui.widgets.status_bar import StatusBar

#: Estimates change only with the books; 4 Hz is plenty for a figure a person reads.
SLIPPAGE_PERIOD_S = 0.25


class SlotPoller:
    """Reads the slots and hands each pane what it shows."""

    def __init__(
        self,
        feed: DashboardFeed,
        engine: Engine,
        settings: DashboardSettings,
        status_bar: StatusBar,
        spot: BookPane,
        perp: BookPane,
        slippage: SlippagePane,
    ) -> None:
        self.feed = feed
        self.engine = engine
        self.settings = settings
        self.status_bar = status_bar
        self.spot = spot
        self.perp = perp
        self.slippage = slippage
        self.size_usd = settings.size_usd
        self._book_versions = (-1, -1)
        self._slippage_versions = (-1, -1)
        self._last_slippage_at = 0.0

    def set_size(self, size_usd: Decimal) -> None:
        self.size_usd = size_usd
        self._slippage_versions = (-1, -1)

    def poll(self) -> None:
        """One refresh tick."""
        now = self.settings.clock()
        spot_h = self.feed.feed_health(MarketKind.SPOT, now)
        perp_h = self.feed.feed_health(MarketKind.PERP, now)
        spot = self.feed.spot_book.latest()
        perp = self.feed.perp_book.latest()
        versions = (self.feed.spot_book.version, self.feed.perp_book.version)
        if versions[0] != self._book_versions[0]:
            self.spot.show_book(spot.value if spot else None)
        if versions[1] != self._book_versions[1]:
            self.perp.show_book(perp.value if perp else None)
        self._book_versions = versions
        self.spot.show_health(spot_h)
        self.perp.show_health(perp_h)
        self.status_bar.show_health(spot_h, perp_h)
        self.spot.show_market_line(self.spot_market_line())
        self.perp.show_market_line(self.perp_market_line())
        self.refresh_slippage(now)

    def refresh_slippage(self, now: float) -> None:
        versions = (self.feed.spot_book.version, self.feed.perp_book.version)
        if versions == self._slippage_versions or now - self._last_slippage_at < SLIPPAGE_PERIOD_S:
            return
        self._slippage_versions, self._last_slippage_at = versions, now
        spot = self.feed.spot_book.latest()
        perp = self.feed.perp_book.latest()
        s = self.engine.settings
        if spot is None or perp is None:
            self.slippage.show(self.size_usd, None, None, None, s.slippage_max_bps, "waiting for both books")
            return
        est = estimate_hedge(
            self.size_usd,
            spot.value,
            perp.value,
            self.engine.spot_rules,
            self.engine.perp_rules,
            max_bps=s.slippage_max_bps,
            liquidity_multiple=s.liquidity_multiple,
        )
        note = None if est.entry is not None else est.quantity_message
        self.slippage.show(self.size_usd, est.quantity, est.entry, est.exit, s.slippage_max_bps, note)

    def exit_estimate(self, legs: ExchangeLegs) -> LegEstimates | None:
        """Both exit legs' slippage for the quantities the exchange holds, on the streamed books."""
        spot = self.feed.spot_book.latest()
        perp = self.feed.perp_book.latest()
        if spot is None or perp is None:
            return None
        s = self.engine.settings
        return estimate_legs(
            spot.value,
            perp.value,
            max(legs.spot_qty, Decimal(0)),
            abs(legs.perp_qty),
            entry=False,
            max_bps=s.slippage_max_bps,
            liquidity_multiple=s.liquidity_multiple,
        )

    def spot_market_line(self) -> list[str]:
        funding = self.feed.funding.latest()
        balances = self.feed.spot_balances.latest()
        rules = self.engine.spot_rules
        parts = [
            "index —" if funding is None else f"index {funding.value.index_price:,.{self.settings.spot_price_places}f}"
        ]
        if balances is not None:
            quote = balances.value.get(rules.quote)
            base = balances.value.get(rules.base)
            if quote is not None:
                parts.append(f"{rules.quote} {quote.free:,.2f}")
            if base is not None:
                parts.append(f"{rules.base} {base.total:.{self.settings.spot_size_places}f}")
        return parts

    def perp_market_line(self) -> list[str]:
        spot = self.feed.spot_book.latest()
        perp = self.feed.perp_book.latest()
        basis: Decimal | None = None
        if spot and perp and spot.value.mid and perp.value.mid:
            basis = (perp.value.mid - spot.value.mid) / spot.value.mid * Decimal(10_000)
        funding = self.feed.funding.latest()
        if funding is None:
            return [f"basis {fmt_bps(basis)}", "funding —"]
        info = funding.value
        countdown = "in —"
        if info.next_funding_ms:
            countdown = funding_countdown(info.next_funding_ms, self.settings.wall_clock_ms())
        return [f"basis {fmt_bps(basis)}", f"funding {fmt_pct(info.rate)}", f"next {countdown}"]

    # ---- the legs ----------------------------------------------------------------------------------

    def legs(self) -> ExchangeLegs | None:
        """Both legs as the exchange holds them (streamed balances and position; spot less the reserve)."""
        position = self.feed.perp_position.latest()
        funding = self.feed.funding.latest()
        balances = self.feed.spot_balances.latest()
        if position is None or funding is None or balances is None:
            return None
        return legs_from(
            self.engine.spot_rules.base,
            self.engine.settings.spot_reserve,
            balances.value,
            position.value,
            funding.value,
            self.settings.wall_clock_ms(),
        )

    def drift(self) -> HedgeDrift | None:
        legs = self.legs()
        return self.engine.hedge.drift(legs) if legs is not None else None

    def perp_unrealized_pnl(self) -> Decimal | None:
        """The perp leg's own unrealized PnL (labelled so: the hedge's P&L is both legs together)."""
        position = self.feed.perp_position.latest()
        return position.value.unrealized_pnl if position is not None else None

    def books_stale(self) -> bool:
        now = self.settings.clock()
        return any(self.feed.feed_health(k, now).stale for k in (MarketKind.SPOT, MarketKind.PERP))
