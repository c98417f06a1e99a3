"""One order book of the sandbox: synthetic liquidity plus resting user orders, with Binance update ids.

Every change goes through :meth:`Book.set_synthetic` / :meth:`Book.set_user` and is collected until
:meth:`Book.commit`, which advances the update id by one and returns one :class:`DepthDiff` with the
absolute quantity of every changed level (0 = removed). The REST snapshot's ``lastUpdateId`` is always the
last committed id, so a client that applies every diff after its snapshot holds exactly this book.
"""

from __future__ import annotations

from decimal import Decimal

from hedgetui.sandbox.model import DepthDiff, Market

ZERO = Decimal(0)


class Book:
    """Price levels of one market. Bids and asks map price → quantity (synthetic and user separately)."""

    def __init__(self, market: Market, symbol: str, start_id: int = 1_000_000) -> None:
        self.market = market
        self.symbol = symbol
        self.update_id = start_id
        self.synthetic: dict[str, dict[Decimal, Decimal]] = {"bid": {}, "ask": {}}
        self.user: dict[str, dict[Decimal, Decimal]] = {"bid": {}, "ask": {}}
        self._dirty: dict[str, set[Decimal]] = {"bid": set(), "ask": set()}

    # ---- mutation ----------------------------------------------------------------------------------

    def set_synthetic(self, side: str, price: Decimal, qty: Decimal) -> None:
        levels = self.synthetic[side]
        if qty <= 0:
            if price in levels:
                del levels[price]
                self._dirty[side].add(price)
        elif levels.get(price) != qty:
            levels[price] = qty
            self._dirty[side].add(price)

    def add_user(self, side: str, price: Decimal, delta: Decimal) -> None:
        """Add (or with a negative delta remove) resting user quantity at a price."""
        levels = self.user[side]
        qty = levels.get(price, ZERO) + delta
        if qty <= 0:
            levels.pop(price, None)
        else:
            levels[price] = qty
        self._dirty[side].add(price)

    def level(self, side: str, price: Decimal) -> Decimal:
        """The displayed (synthetic + user) quantity at a price."""
        return self.synthetic[side].get(price, ZERO) + self.user[side].get(price, ZERO)

    def commit(self, event_time: int) -> DepthDiff | None:
        """Close the current batch of changes into one diff (None when nothing changed)."""
        if not self._dirty["bid"] and not self._dirty["ask"]:
            return None
        previous = self.update_id
        self.update_id += 1
        bids = tuple(sorted(((p, self.level("bid", p)) for p in self._dirty["bid"]), reverse=True))
        asks = tuple(sorted((p, self.level("ask", p)) for p in self._dirty["ask"]))
        self._dirty = {"bid": set(), "ask": set()}
        return DepthDiff(
            market=self.market,
            symbol=self.symbol,
            first_id=previous + 1,
            last_id=self.update_id,
            prev_last_id=previous,
            event_time=event_time,
            bids=bids,
            asks=asks,
        )

    # ---- reading -----------------------------------------------------------------------------------

    def side_levels(self, side: str, limit: int | None = None) -> list[tuple[Decimal, Decimal]]:
        """Displayed levels of one side, best first."""
        prices = set(self.synthetic[side]) | set(self.user[side])
        ordered = sorted(prices, reverse=(side == "bid"))
        if limit is not None:
            ordered = ordered[:limit]
        return [(p, self.level(side, p)) for p in ordered]

    def synthetic_levels(self, side: str) -> list[tuple[Decimal, Decimal]]:
        """Synthetic liquidity only (what market orders trade against), best first."""
        levels = self.synthetic[side]
        return [(p, levels[p]) for p in sorted(levels, reverse=(side == "bid"))]

    def best(self, side: str) -> tuple[Decimal, Decimal] | None:
        levels = self.side_levels(side, 1)
        return levels[0] if levels else None
