"""The top bar: venue mode badge (impossible to miss), the pair, feed health and the UTC clock."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from hedgetui.domain.health import FeedHealth, FeedSource
from hedgetui.domain.venue import VenueMode
from hedgetui.ui.formatting import fmt_age
from hedgetui.ui.widgets.text_line import TextLine


class ModeBadge(Static):
    """``[ SANDBOX ]`` / ``[ DEMO ]`` / ``[ LIVE ]`` in the mode's own colour; LIVE is the loudest."""

    DEFAULT_CSS = """
    ModeBadge {
        width: auto;
        padding: 0 1;
        text-style: bold;
        color: $badge-text;
        background: $badge-sandbox;
    }
    ModeBadge.-demo { background: $badge-demo; }
    ModeBadge.-live { background: $badge-live; text-style: bold reverse; }
    """

    def __init__(self, mode: VenueMode) -> None:
        super().__init__(Text(f"[ {mode.value.upper()} ]"), classes=f"-{mode.value}")
        self.mode = mode


class StatusBar(Horizontal):
    """One line at the top of the main screen."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
    }
    StatusBar > .status-pair { width: auto; padding: 0 1; text-style: bold; }
    StatusBar > .status-health { width: 1fr; padding: 0 1; }
    StatusBar > .status-health.-degraded { color: $warn; }
    StatusBar > .status-health.-down { color: $danger; text-style: bold; }
    StatusBar > .status-venue { width: auto; padding: 0 1; color: $foreground-muted; }
    StatusBar > .status-clock { width: auto; padding: 0 1; }
    """

    def __init__(self, mode: VenueMode, pair_label: str, venue_url: str | None = None) -> None:
        super().__init__()
        self.badge = ModeBadge(mode)
        self.pair = Static(Text(pair_label), classes="status-pair")
        self.health = TextLine(classes="status-health")
        self.venue = Static(Text(venue_url or ""), classes="status-venue")
        if not venue_url:
            self.venue.display = False  # (set only when hiding: an inline display would beat the layout CSS)
        self.clock = TextLine(classes="status-clock")

    def compose(self) -> ComposeResult:
        yield self.badge
        yield self.pair
        yield self.health
        yield self.venue
        yield self.clock

    def show_health(self, spot: FeedHealth, perp: FeedHealth) -> None:
        """``ws ● spot 40 ms ● perp 38 ms``; degraded (REST fallback or stale) and down are coloured."""
        text = Text()
        narrow = 0 < self.health.size.width < 36
        for label, h in (("spot", spot), ("perp", perp)):
            mark = "●" if h.source is FeedSource.WS and not h.stale else "○"
            if narrow:  # the ages are on each book pane
                text.append(f"{mark} {label} {'STALE ' if h.stale else ''}")
            else:
                text.append(f"{mark} {label} {h.source.value} {fmt_age(h.age_s)}  ")
        down = any(h.source is FeedSource.DOWN for h in (spot, perp))
        degraded = any(h.stale or h.source is not FeedSource.WS for h in (spot, perp))
        self.health.set_class(down, "-down")
        self.health.set_class(degraded and not down, "-degraded")
        self.health.set(text)

    def tick_clock(self, now_ms: int | None = None) -> None:
        now = datetime.fromtimestamp(now_ms / 1000, UTC) if now_ms is not None else datetime.now(UTC)
        self.clock.set(Text(now.strftime("%H:%M:%S UTC")))
