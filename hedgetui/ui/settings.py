"""What the dashboard needs besides the feed and the engine, built in one place from the markets' rules."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from hedgetui.domain.markets import MarketRules
from hedgetui.domain.venue import VenueMode
from hedgetui.ui.formatting import decimals_of


@dataclass(frozen=True)
class DashboardSettings:
    """Display settings. Price and size places follow each market's tick and step (:meth:`for_markets`)."""

    mode: VenueMode
    spot_symbol: str
    perp_symbol: str
    size_usd: Decimal = Decimal("2000")
    spot_price_places: int = 2
    spot_size_places: int = 5
    perp_price_places: int = 1
    perp_size_places: int = 3
    refresh_hz: float = 15.0
    theme: str | None = None
    theme_dirs: tuple[Path, ...] = field(default_factory=tuple)
    remember_theme_choice: bool = True
    keys: dict[str, str] = field(default_factory=dict)
    #: Where the venue is (the sandbox's URL for its fault API), shown in the status bar.
    venue_url: str | None = None
    clock: Callable[[], float] = time.monotonic
    wall_clock_ms: Callable[[], int] = field(default=lambda: int(time.time() * 1000))

    @classmethod
    def for_markets(cls, mode: VenueMode, spot: MarketRules, perp: MarketRules, **options: object) -> DashboardSettings:
        """Settings for these two markets: symbols, and places from their tick and step."""
        return cls(
            mode=mode,
            spot_symbol=spot.symbol,
            perp_symbol=perp.symbol,
            spot_price_places=decimals_of(spot.tick),
            spot_size_places=decimals_of(spot.step),
            perp_price_places=decimals_of(perp.tick),
            perp_size_places=decimals_of(perp.step),
            **options,  # type: ignore[arg-type]
        )
