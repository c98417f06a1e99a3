"""A titled pane holding one live order book and the lines of figures under it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from hedgetui.domain.book import OrderBook
from hedgetui.domain.health import FeedHealth, FeedSource
from hedgetui.ui.formatting import fmt_age
from hedgetui.ui.widgets.order_book import OrderBookView


class BookPane(Vertical):
    """Border-titled pane: the book, then an info line (source, age) and a market line (basis, funding)."""

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
    BookPane > .book-info {
        height: 1;
    }
    BookPane > .book-market {
        height: 1;
    }
    """

    def __init__(self, title: str, price_places: int, size_places: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = title
        self.book_view = OrderBookView(price_places=price_places, size_places=size_places)
        self.info = Static("", classes="book-info")
        self.market_line = Static("", classes="book-market")

    def compose(self) -> ComposeResult:
        yield self.book_view
        yield self.info
        yield self.market_line

    def show(self, book: OrderBook | None, health: FeedHealth) -> None:
        """Show the latest book and its health; a stale book is dimmed and says so."""
        self.book_view.show(book, stale=health.stale)
        self.set_class(health.stale, "-stale")
        info = Text()
        source = {
            FeedSource.WS: "ws",
            FeedSource.REST: "rest (ws down)",
            FeedSource.DOWN: "DOWN",
            FeedSource.STARTING: "connecting",
        }[health.source]
        info.append(f"{source} · age {fmt_age(health.age_s)}")
        if health.stale:
            info.append("  STALE", style="bold reverse")
        if health.resyncs:
            info.append(f" · resyncs {health.resyncs}")
        if health.last_error and health.source is not FeedSource.WS:
            # Exchange text: a Text object is never parsed as markup.
            info.append(f" · {health.last_error[:80]}")
        self.info.update(info)

    def show_market_line(self, text: str) -> None:
        self.market_line.update(Text(text))
