"""The adapter's market side against the sandbox: market rules, REST books, tickers, funding, and the live
book stream with its gap, closure and lost-server errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal as D

import pytest

from hedgetui.domain.book import OrderBook
from hedgetui.domain.venue import MarketKind
from hedgetui.exchange.errors import BookGap, Disconnected
from hedgetui.exchange.venue import BinanceVenue
from hedgetui.sandbox.model import Market
from hedgetui.sandbox.options import SandboxOptions
from hedgetui.sandbox.server import SandboxServer
from tests.exchange.conftest import KEY, SECRET, add_fault, settings_for

SPOT, PERP = MarketKind.SPOT, MarketKind.PERP
SANDBOX_MARKET = {SPOT: Market.SPOT, PERP: Market.FUTURES}


@pytest.fixture
async def still() -> AsyncIterator[SandboxServer]:
    """A sandbox whose prices stand still (one tick an hour), so answers can be compared exactly."""
    server = SandboxServer(SandboxOptions(port=0, tick_ms=3_600_000, api_key=KEY, api_secret=SECRET))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def still_venue(still: SandboxServer) -> AsyncIterator[BinanceVenue]:
    v = await BinanceVenue.connect(settings_for(still))
    yield v
    await v.close()


def assert_well_formed(book: OrderBook, kind: MarketKind, limit: int) -> None:
    assert book.market is kind and len(book.bids) == limit and len(book.asks) == limit
    assert all(isinstance(p, D) and isinstance(q, D) and q > 0 for p, q in book.bids + book.asks)
    assert [p for p, _ in book.bids] == sorted((p for p, _ in book.bids), reverse=True)
    assert [p for p, _ in book.asks] == sorted(p for p, _ in book.asks)
    assert book.bids[0][0] < book.asks[0][0]
    assert isinstance(book.update_id, int)


async def test_rules_of_both_markets(still_venue: BinanceVenue) -> None:
    spot, perp = still_venue.rules(SPOT), still_venue.rules(PERP)
    assert (spot.symbol, spot.market_id, spot.base, spot.quote) == ("BTC/USDT", "BTCUSDT", "BTC", "USDT")
    assert (perp.symbol, perp.market_id, perp.kind) == ("BTC/USDT:USDT", "BTCUSDT", PERP)
    assert (spot.step, spot.tick, spot.min_qty) == (D("0.00001"), D("0.01"), D("0.00001"))
    assert (perp.step, perp.tick, perp.min_qty) == (D("0.001"), D("0.1"), D("0.001"))
    assert (spot.min_notional, perp.min_notional) == (D(5), D(100))
    assert (spot.max_qty, spot.market_max_qty) == (D(9000), D(100))
    assert (perp.max_qty, perp.market_max_qty) == (D(1000), D(120))
    assert str(spot.max_qty) == "9000" and str(perp.min_notional) == "100"  # plain, never 9E+3
    assert still_venue.symbol(SPOT) == "BTC/USDT" and still_venue.symbol(PERP) == "BTC/USDT:USDT"


@pytest.mark.parametrize("kind", [SPOT, PERP])
async def test_rest_book_equals_the_exchange_book(
    still: SandboxServer, still_venue: BinanceVenue, kind: MarketKind
) -> None:
    clock = iter([41.5])
    still_venue.clock = lambda: next(clock)
    book = await still_venue.fetch_order_book(kind, 10)
    update_id, bids, asks = still.core.depth(SANDBOX_MARKET[kind], "BTCUSDT", 10)
    assert_well_formed(book, kind, 10)
    assert book.symbol == still_venue.symbol(kind)
    assert (book.update_id, list(book.bids), list(book.asks)) == (update_id, bids, asks)
    assert book.received_at == 41.5


@pytest.mark.parametrize("kind", [SPOT, PERP])
async def test_tickers(still: SandboxServer, still_venue: BinanceVenue, kind: MarketKind) -> None:
    ticker = await still_venue.fetch_ticker(kind)
    bid, _, ask, _ = still.core.best_bid_ask(SANDBOX_MARKET[kind], "BTCUSDT")
    # The perp's 24h ticker has no bid/ask of its own: they must come from its bookTicker.
    assert (ticker.bid, ticker.ask) == (bid, ask)
    assert ticker.last is not None and ticker.last > 0 and ticker.kind is kind
    assert ticker.symbol == still_venue.symbol(kind) and isinstance(ticker.timestamp, int)


async def test_funding(still: SandboxServer, still_venue: BinanceVenue) -> None:
    funding = await still_venue.fetch_funding()
    assert funding.symbol == "BTC/USDT:USDT"
    assert funding.rate == still.core.funding_rate("BTCUSDT")
    assert funding.mark_price == still.core.mark_price("BTCUSDT")
    assert funding.index_price == still.core.index_price("BTCUSDT")
    assert funding.next_funding_ms == still.core.next_funding_time()
    assert isinstance(funding.timestamp, int)


# ---- the live book stream ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [SPOT, PERP])
async def test_watch_follows_the_book_and_can_be_stopped(venue: BinanceVenue, kind: MarketKind) -> None:
    first = await venue.watch_order_book(kind, 20)
    assert_well_formed(first, kind, 20)
    later = first
    for _ in range(5):
        later = await venue.watch_order_book(kind, 20)
    assert later.update_id is not None and first.update_id is not None and later.update_id > first.update_id
    assert later.received_at >= first.received_at
    await venue.unwatch_order_book(kind)
    again = await venue.watch_order_book(kind, 5)  # a fresh subscription after the unwatch
    assert_well_formed(again, kind, 5)
    await venue.unwatch_order_book(kind)
    await venue.unwatch_order_book(kind)  # unwatching a stopped stream is harmless


async def test_a_dropped_diff_is_a_book_gap_and_watching_again_resyncs(
    sandbox: SandboxServer, venue: BinanceVenue
) -> None:
    await venue.watch_order_book(PERP)
    await add_fault(sandbox, "WS *", "ws_drop_diff", market="futures")
    with pytest.raises(BookGap) as info:
        for _ in range(50):
            await venue.watch_order_book(PERP)
    assert info.value.source == "ChecksumError" and info.value.operation == "stream"
    book = await venue.watch_order_book(PERP, 10)
    assert_well_formed(book, PERP, 10)
    spot = await venue.watch_order_book(SPOT, 10)  # the other market was never affected
    assert_well_formed(spot, SPOT, 10)


async def test_a_closed_stream_is_disconnected_and_watching_again_reconnects(
    sandbox: SandboxServer, venue: BinanceVenue
) -> None:
    await venue.watch_order_book(SPOT)
    await add_fault(sandbox, "WS *", "ws_close")
    with pytest.raises(Disconnected) as info:
        for _ in range(50):
            await venue.watch_order_book(SPOT)
    assert info.value.source == "NetworkError"
    assert_well_formed(await venue.watch_order_book(SPOT, 10), SPOT, 10)


async def test_a_lost_server_is_disconnected_on_the_stream() -> None:
    server = SandboxServer(SandboxOptions(port=0, tick_ms=20, api_key=KEY, api_secret=SECRET))
    await server.start()
    venue = await BinanceVenue.connect(settings_for(server))
    try:
        await venue.watch_order_book(PERP)
        await server.stop()
        for _ in range(2):  # the closed stream, then the refused reconnection
            with pytest.raises(Disconnected):
                for _ in range(50):
                    await venue.watch_order_book(PERP)
    finally:
        await venue.close()
        await server.stop()
