"""One symbol of the sandbox exchange: its price walk and, per market, a book, the liquidity shaping it and
its 24h ticker.

Kept apart from :mod:`hedgetui.sandbox.core` because it is the market side of a symbol, built fresh at every
start or reset, while the core holds the accounts and orders across both markets; the resting orders' maker
fills (:func:`hedgetui.sandbox.resting.fill_crossed`) read it too.
"""

from __future__ import annotations

import random
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING

from hedgetui.sandbox.book import Book
from hedgetui.sandbox.filters import round_to
from hedgetui.sandbox.model import Market, SymbolSpec
from hedgetui.sandbox.pricing import Liquidity, LiquidityShape, PriceWalk
from hedgetui.sandbox.ticker import TickerStats

if TYPE_CHECKING:
    from hedgetui.sandbox.coreconfig import CoreConfig

MARKETS = (Market.SPOT, Market.FUTURES)


class SymbolMarket:
    """One symbol: its price walk and, per market, a book, the liquidity that shapes it and its ticker."""

    def __init__(self, spec: SymbolSpec, config: CoreConfig, books: dict[Market, Book], now: int) -> None:
        self.spec = spec
        self.books = books
        self.walk = PriceWalk(
            spec.start_price,
            config.volatility_bps,
            config.basis_bps,
            config.funding_rate,
            # String seeds hash with SHA-512: stable across runs, and one stream per purpose so trading
            # never changes the price path and one symbol never changes another's.
            random.Random(f"{config.seed}:{spec.symbol}:walk"),
        )
        shape = LiquidityShape()
        self.liquidity = {
            m: Liquidity(books[m], shape, config.levels, random.Random(f"{config.seed}:{spec.symbol}:{m}"), Decimal(1))
            for m in MARKETS
        }
        self.stats: dict[Market, TickerStats] = {}
        for m in MARKETS:
            self.liquidity[m].rebuild(self.mid(m))
            start = self.rounded_mid(m)
            self.stats[m] = TickerStats(open=start, open_time=now, high=start, low=start)

    def mid(self, market: Market) -> Decimal:
        return self.walk.spot_mid if market is Market.SPOT else self.walk.perp_mid

    def rounded_mid(self, market: Market) -> Decimal:
        return round_to(self.mid(market), self.spec.tick(market), ROUND_HALF_EVEN)
