"""The desk dashboard application.

The app observes; it never owns an order flow. Live data arrives through latest-value slots
(:class:`~hedgetui.ui.feed.DashboardFeed`) that a timer polls at ``refresh_hz``; a pane repaints only when
its slot's version changed, so the UI's cost does not depend on how fast the exchange streams.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer

from hedgetui.domain.venue import MarketKind, VenueMode
from hedgetui.ui.feed import DashboardFeed
from hedgetui.ui.formatting import fmt_bps, fmt_duration_hms, fmt_pct
from hedgetui.ui.themes import (
    DEFAULT_THEME,
    VARIABLE_DEFAULTS,
    load_themes,
    remember_theme,
    remembered_theme,
    shipped_theme_dirs,
    user_theme_dir,
)
from hedgetui.ui.widgets.book_pane import BookPane
from hedgetui.ui.widgets.status_bar import StatusBar


@dataclass(frozen=True)
class DashboardSettings:
    """What the dashboard needs to know besides the live feed."""

    mode: VenueMode
    spot_symbol: str
    perp_symbol: str
    spot_price_places: int = 2
    spot_size_places: int = 5
    perp_price_places: int = 1
    perp_size_places: int = 3
    refresh_hz: float = 15.0
    theme: str | None = None
    theme_dirs: tuple[Path, ...] = field(default_factory=tuple)
    remember_theme_choice: bool = True
    clock: Callable[[], float] = time.monotonic
    wall_clock_ms: Callable[[], int] = field(default=lambda: int(time.time() * 1000))


class HedgeApp(App[None]):
    """The main dashboard: status bar, both books side by side, footer with the keys."""

    TITLE = "hedgetui"
    CSS_PATH = Path(__file__).parent / "styles" / "app.tcss"

    BINDINGS = [
        Binding("T", "next_theme", "theme", id="hedge.theme"),
        Binding("q", "quit", "quit", id="hedge.quit"),
    ]

    def __init__(self, feed: DashboardFeed, settings: DashboardSettings) -> None:
        super().__init__()
        self.feed = feed
        self.settings = settings
        self._seen: dict[str, int] = {}
        self.theme_errors: list[str] = []
        dirs = list(settings.theme_dirs) or [*shipped_theme_dirs(), user_theme_dir()]
        loaded = load_themes(dirs)
        self.theme_errors = loaded.errors
        for theme in loaded.themes.values():
            self.register_theme(theme)
        self.desk_themes = sorted(loaded.themes)
        wanted = settings.theme or (remembered_theme() if settings.remember_theme_choice else None)
        fallback = DEFAULT_THEME if DEFAULT_THEME in loaded.themes else "textual-dark"
        self.theme = wanted if wanted in loaded.themes else fallback
        self.status_bar = StatusBar(settings.mode, f"{settings.spot_symbol} ⇄ {settings.perp_symbol}")
        self.spot_pane = BookPane(
            f"Spot {settings.spot_symbol}",
            settings.spot_price_places,
            settings.spot_size_places,
            id="spot-book",
        )
        self.perp_pane = BookPane(
            f"Perp {settings.perp_symbol}",
            settings.perp_price_places,
            settings.perp_size_places,
            id="perp-book",
        )

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(VARIABLE_DEFAULTS)

    def compose(self) -> ComposeResult:
        yield self.status_bar
        with Horizontal(id="books"):
            yield self.spot_pane
            yield self.perp_pane
        yield Footer()

    def on_mount(self) -> None:
        for error in self.theme_errors:
            # One notification per broken theme file; the app goes on with the valid ones.
            self.notify(error, title="Theme skipped", severity="error", markup=False, timeout=10)
        self.status_bar.tick_clock()
        self.set_interval(1.0, self.status_bar.tick_clock)
        self.set_interval(1.0 / self.settings.refresh_hz, self.refresh_panes)
        self.refresh_panes()

    def refresh_panes(self) -> None:
        """Poll the slots; repaint what changed. Health and ages are refreshed every time (they age)."""
        now = self.settings.clock()
        spot_h = self.feed.feed_health(MarketKind.SPOT, now)
        perp_h = self.feed.feed_health(MarketKind.PERP, now)
        with self.batch_update():
            spot = self.feed.spot_book.latest()
            perp = self.feed.perp_book.latest()
            self.spot_pane.show(spot.value if spot else None, spot_h)
            self.perp_pane.show(perp.value if perp else None, perp_h)
            self.status_bar.show_health(spot_h, perp_h)
            self.perp_pane.show_market_line(self._perp_market_line())
            self.spot_pane.show_market_line(self._spot_market_line())

    def _spot_market_line(self) -> str:
        funding = self.feed.funding.latest()
        if funding is None:
            return "index —"
        return f"index {funding.value.index_price:,.2f}"

    def _perp_market_line(self) -> str:
        spot = self.feed.spot_book.latest()
        perp = self.feed.perp_book.latest()
        basis: Decimal | None = None
        if spot and perp and spot.value.mid and perp.value.mid:
            basis = (perp.value.mid - spot.value.mid) / spot.value.mid * Decimal(10_000)
        funding = self.feed.funding.latest()
        if funding is None:
            return f"basis {fmt_bps(basis)} · funding —"
        info = funding.value
        countdown = "—"
        if info.next_funding_ms:
            countdown = fmt_duration_hms((info.next_funding_ms - self.settings.wall_clock_ms()) / 1000)
        return (
            f"basis {fmt_bps(basis)} · funding {fmt_pct(info.rate)} · next in {countdown}"
            f" · mark {info.mark_price:,.1f}"
        )

    def action_next_theme(self) -> None:
        """Cycle through the desk themes and remember the choice."""
        if not self.desk_themes:
            return
        index = self.desk_themes.index(self.theme) if self.theme in self.desk_themes else -1
        self.theme = self.desk_themes[(index + 1) % len(self.desk_themes)]
        if self.settings.remember_theme_choice:
            remember_theme(self.theme)
        self.notify(f"theme {self.theme}", timeout=2, markup=False)
