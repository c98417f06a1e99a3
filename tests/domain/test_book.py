from decimal import Decimal as D

from hedgetui.domain.book import OrderBook
from hedgetui.domain.venue import MarketKind


def test_book_mid_spread_and_age() -> None:
    book = OrderBook(
        symbol="BTC/USDT",
        market=MarketKind.SPOT,
        bids=((D("100.00"), D("1")), (D("99.99"), D("2"))),
        asks=((D("100.02"), D("1")),),
        update_id=7,
        received_at=10.0,
    )
    assert book.mid == D("100.01")
    assert book.spread == D("0.02")
    assert book.age(10.5) == 0.5
    assert book.age(9.0) == 0.0


def test_one_sided_book_has_no_mid() -> None:
    book = OrderBook(symbol="BTC/USDT", market=MarketKind.PERP, bids=((D("1"), D("1")),))
    assert book.mid is None and book.spread is None and book.best_ask is None
