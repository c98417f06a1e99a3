"""A live order book as a Line API widget.

The widget never subscribes to anything: its owner hands it the latest snapshot with :meth:`show` at
the dashboard's refresh rate (and only when the slot's version changed), so its repaint cost does not
depend on how fast the exchange streams. Rows are built once per snapshot into cached ``Strip`` objects;
``render_line`` only returns them.

Layout, best prices meeting in the middle::

    ▇▇▇▇   1.204  60,012.45      <- asks, furthest at the top
    ...
    spread 0.02 · mid 60,010.01
    ▇▇▇    0.402  60,010.00      <- bids, best at the top
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

from hedgetui.domain.book import Level, OrderBook
from hedgetui.ui.formatting import fmt_price, fmt_qty

_EIGHTHS = " ▏▎▍▌▋▊▉"
_SIZE_W = 10
_PRICE_W = 12


@dataclass(frozen=True)
class BookRow:
    """One rendered row before styling: which side, bar fraction (0..1), size and price text."""

    side: str  # "ask" | "bid" | "mid" | "empty"
    bar: float
    size: str
    price: str


def bar_text(fraction: float, width: int) -> str:
    """A left-aligned bar of ``width`` cells filled to ``fraction`` with eighth-cell resolution."""
    if width <= 0:
        return ""
    fraction = min(1.0, max(0.0, fraction))
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (_EIGHTHS[part] if part and full < width else "")
    return text.ljust(width)


def book_rows(book: OrderBook | None, levels: int, price_places: int, size_places: int) -> list[BookRow]:
    """The rows to draw for ``levels`` levels a side: asks (worst first), the mid line, bids (best first).

    Missing levels are drawn as empty rows so the mid line stays in place while a book fills up.
    Bars are scaled to the largest level shown, on either side.
    """
    asks: tuple[Level, ...] = book.asks[:levels] if book else ()
    bids: tuple[Level, ...] = book.bids[:levels] if book else ()
    largest = max([q for _, q in asks] + [q for _, q in bids] + [Decimal(0)])

    def frac(qty: Decimal) -> float:
        return float(qty / largest) if largest > 0 else 0.0

    rows: list[BookRow] = [BookRow("empty", 0.0, "", "")] * (levels - len(asks))
    rows += [BookRow("ask", frac(q), fmt_qty(q, size_places), fmt_price(p, price_places)) for p, q in reversed(asks)]
    if book is not None and book.spread is not None and book.mid is not None:
        mid_text = f"spread {fmt_price(book.spread, price_places)} · mid {fmt_price(book.mid, price_places + 1)}"
    else:
        mid_text = "no book yet" if book is None else "one-sided book"
    rows.append(BookRow("mid", 0.0, "", mid_text))
    rows += [BookRow("bid", frac(q), fmt_qty(q, size_places), fmt_price(p, price_places)) for p, q in bids]
    rows += [BookRow("empty", 0.0, "", "")] * (levels - len(bids))
    return rows


class OrderBookView(Widget):
    """Both sides of one book with depth bars; fits as many levels as its height allows (at least 1)."""

    COMPONENT_CLASSES = {
        "order-book--ask",
        "order-book--bid",
        "order-book--ask-bar",
        "order-book--bid-bar",
        "order-book--mid",
        "order-book--stale",
    }

    DEFAULT_CSS = """
    OrderBookView {
        height: 1fr;
        min-height: 3;
    }
    """

    def __init__(
        self,
        price_places: int = 2,
        size_places: int = 5,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.price_places = price_places
        self.size_places = size_places
        self._book: OrderBook | None = None
        self._stale = False
        self._strips: list[Strip] = []
        self._built_for: tuple[int, int] = (-1, -1)
        self._styles: dict[str, Style] | None = None

    @property
    def levels(self) -> int:
        """Levels drawn per side for the current height."""
        return max(1, (self.size.height - 1) // 2)

    def show(self, book: OrderBook | None, stale: bool = False) -> None:
        """Display ``book`` (the latest snapshot); ``stale`` dims it. Cheap: rows are rebuilt lazily."""
        self._book = book
        self._stale = stale
        self._built_for = (-1, -1)
        self.refresh()

    def set_stale(self, stale: bool) -> None:
        """Dim (or undim) the rows without a new snapshot."""
        if stale != self._stale:
            self._stale = stale
            self._built_for = (-1, -1)
            self.refresh()

    def on_resize(self) -> None:
        self._built_for = (-1, -1)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._built_for = (-1, -1)
        self._styles = None

    def _row_styles(self) -> dict[str, Style]:
        """The theme's styles for each kind of row, looked up once per theme or CSS change."""
        if self._styles is None:
            names = ("ask", "bid", "ask-bar", "bid-bar", "mid", "stale")
            self._styles = {n: self.get_component_rich_style(f"order-book--{n}") for n in names}
        return self._styles

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return container.height

    def _build(self) -> None:
        width, height = self.size.width, self.size.height
        if self._built_for == (width, height):
            return
        rows = book_rows(self._book, self.levels, self.price_places, self.size_places)
        style = self._row_styles()
        dim = style["stale"] if self._stale else Style()
        # The price column is kept whole first, then the size column; the bar takes what is left.
        price_w = min(_PRICE_W + 1, width)
        size_w = min(_SIZE_W, max(0, width - price_w))
        bar_w = max(0, width - size_w - price_w)
        strips: list[Strip] = []
        for row in rows:
            if row.side == "mid":
                text = row.price
                if len(text) > width and " · " in text:
                    text = text.split(" · ", 1)[1]  # too narrow for the spread: keep the mid
                text = text[:width].center(width)
                strips.append(Strip([Segment(text, style["mid"] + dim)], width))
            elif row.side == "empty":
                strips.append(Strip.blank(width))
            else:
                size = row.size.rjust(size_w) if len(row.size) <= size_w else ""
                segments = [
                    Segment(bar_text(row.bar, bar_w), style[f"{row.side}-bar"] + dim),
                    Segment(size.rjust(size_w), style[row.side] + dim),
                    Segment((row.price + " ").rjust(price_w)[-price_w:], style[row.side] + dim),
                ]
                strips.append(Strip(segments).crop_extend(0, width, None))
        self._strips = strips
        self._built_for = (width, height)

    def render_line(self, y: int) -> Strip:
        self._build()
        if 0 <= y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width)
