"""A titled pane holding one live order book and the lines of figures under it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical

from hedgetui.domain.book import OrderBook
from hedgetui.domain.health import FeedHealth, FeedSource
from hedgetui.ui.alerts import readable
from hedgetui.ui.formatting import fmt_age
from hedgetui.ui.widgets.order_book import OrderBookView
from hedgetui.ui.widgets.text_line import TextLine

_SOURCE = {
    FeedSource.WS: "ws",
    FeedSource.REST: "rest (ws down)",
    FeedSource.DOWN: "DOWN",
    FeedSource.STARTING: "connecting",
}


def health_text(health: FeedHealth) -> Text:
    """``ws · age <100 ms`` then STALE, resyncs and the feed's last error (one readable line)."""
    info = Text(f"{_SOURCE[health.source]} · age {fmt_age(health.age_s)}")
    if health.stale:
        info.append("  STALE", style="bold reverse")
    if health.resyncs:
        info.append(f" · resyncs {health.resyncs}")
    if health.last_error and health.source is not FeedSource.WS:
        info.append(f" · {readable(health.last_error, 80)}")
    return info


def fit_parts(parts: list[str], width: int) -> str:
    """``a · b · c`` in lines of at most ``width`` cells, broken only between parts (0: one line)."""
    lines: list[str] = []
    for part in parts:
        if lines and (not width or len(lines[-1]) + 3 + len(part) <= width):
            lines[-1] += " · " + part
        else:
            lines.append(part)
    return "\n".join(lines)


class BookPane(Vertical):
    """Border-titled pane: the book, then a market line (basis, funding); the feed's health and age are in
    the bottom border, so they take no row of their own."""

    DEFAULT_CSS = """
    BookPane {
        border: round $panel-lighten-2;
        border-title-color: $foreground;
        height: 1fr;
        padding: 0 1;
    }
    BookPane.-stale {
        border: round $stale;
    }
    BookPane > .book-market {
        height: auto;
    }
    """

    def __init__(self, title: str, price_places: int, size_places: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = title
        self.book_view = OrderBookView(price_places=price_places, size_places=size_places)
        self.health = Text()
        self.market_line = TextLine(classes="book-market")
        self._stale = False

    def compose(self) -> ComposeResult:
        yield self.book_view
        yield self.market_line

    def show_book(self, book: OrderBook | None) -> None:
        """Hand the view the latest snapshot (called only when the slot's version changed)."""
        self.book_view.show(book, stale=self._stale)

    def show_health(self, health: FeedHealth) -> None:
        """A stale book is dimmed and says so."""
        if health.stale != self._stale:
            self._stale = health.stale
            self.set_class(health.stale, "-stale")
            self.book_view.set_stale(health.stale)
        text = health_text(health)
        if text != self.health:
            self.health = text
            self.border_subtitle = text

    def show_market_line(self, parts: list[str]) -> None:
        """Figures joined by `` · `` and wrapped between figures, never inside one."""
        self.market_line.set(Text(fit_parts(parts, self.market_line.size.width)))

    def on_resize(self) -> None:
        self.market_line.set(
            Text(fit_parts(self.market_line.shown.plain.replace("\n", " · ").split(" · "), self.market_line.size.width))
        )
