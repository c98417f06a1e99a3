"""One order book of the sandbox: synthetic liquidity and resting user orders, with Binance update ids.

Prices and quantities live here as integers: a price is a number of ticks, a quantity a number of steps,
so the matching and the shaping never round. They become ``Decimal`` (``ticks × tick``, ``steps × step``)
only when they leave the book (``levels``, ``DepthDiff``).

Each side is kept in *outward* ticks: ``u = price / tick`` for asks and ``u = −price / tick`` for bids,
so on both sides a smaller ``u`` is a better price and one piece of code serves both.

Every mutation records the level's displayed quantity from before the current batch; :meth:`Book.commit`
closes the batch into one :class:`DepthDiff` (update id + 1) holding the levels whose displayed quantity
really changed. The snapshot's ``lastUpdateId`` is always the last committed id, so a client that applies
every diff after its snapshot holds exactly this book.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from decimal import Decimal

from hedgetui.sandbox.model import DepthDiff, Market


class BookSide:
    """One side of a book: synthetic levels (registered, possibly consumed to 0) and user quantity.

    ``us`` lists the registered synthetic levels best first. A consumed level stays registered with
    quantity 0 (not displayed) so that it grows back in place instead of being replaced at once.
    """

    __slots__ = ("base", "changed", "expiry", "low", "qty", "sign", "us", "user")

    def __init__(self, sign: int) -> None:
        self.sign = sign  # +1 asks, −1 bids: price ticks = sign × u
        self.us: list[int] = []
        self.qty: dict[int, int] = {}  # steps shown now (0 = consumed, still registered)
        self.base: dict[int, int] = {}  # the level's target in steps at depth factor 1
        self.low: set[int] = set()  # levels below their target, growing back
        # Shaping metadata: the outward mid below which the liquidity maker withdraws the level.
        self.expiry: dict[int, float] = {}
        self.user: dict[int, int] = {}  # resting user quantity in steps
        self.changed: dict[int, int] = {}  # u -> displayed steps at the last commit, for touched levels

    def shown(self, u: int) -> int:
        """Displayed quantity (synthetic + user) at ``u``, in steps."""
        return self.qty.get(u, 0) + self.user.get(u, 0)

    def _touch(self, u: int) -> None:
        if u not in self.changed:
            self.changed[u] = self.qty.get(u, 0) + self.user.get(u, 0)

    # ---- synthetic levels ---------------------------------------------------------------------------

    def _register(self, u: int, qty: int, base: int, expiry: float) -> None:
        self._touch(u)
        self.qty[u] = qty
        self.base[u] = base
        self.expiry[u] = expiry

    def insert(self, u: int, qty: int, base: int, expiry: float) -> None:
        """Register a new synthetic level (``u`` must not be registered)."""
        self._register(u, qty, base, expiry)
        insort(self.us, u)

    def insert_front(self, levels: list[tuple[int, int, int, float]]) -> None:
        """Register ``(u, qty, base, expiry)`` levels, all better than the current best, best first."""
        for u, qty, base, expiry in levels:
            self._register(u, qty, base, expiry)
        self.us[0:0] = [level[0] for level in levels]

    def append(self, u: int, qty: int, base: int, expiry: float) -> None:
        """Register a level worse than every registered one."""
        self._register(u, qty, base, expiry)
        self.us.append(u)

    def index(self, u: int) -> int:
        """Position of a registered level, 0 = best."""
        return bisect_left(self.us, u)

    def _forget(self, u: int) -> None:
        self._touch(u)
        del self.qty[u]
        del self.base[u]
        del self.expiry[u]
        self.low.discard(u)

    def remove_better_than(self, u_best: int) -> int:
        """Drop every registered level better than ``u_best`` (the market moved through them)."""
        k = bisect_left(self.us, u_best)
        for u in self.us[:k]:
            self._forget(u)
        del self.us[:k]
        return k

    def remove(self, u: int) -> None:
        self._forget(u)
        del self.us[bisect_left(self.us, u)]

    def trim(self, count: int) -> None:
        """Keep only the ``count`` best registered levels."""
        for u in self.us[count:]:
            self._forget(u)
        del self.us[count:]

    def clear(self) -> None:
        self.trim(0)

    def set_qty(self, u: int, qty: int) -> None:
        """Set a registered level's shown quantity (the caller keeps ``low`` right)."""
        if self.qty[u] != qty:
            self._touch(u)
            self.qty[u] = qty

    def consume(self, u: int, steps: int) -> None:
        """A taker took ``steps`` from a registered level; it grows back over the next ticks."""
        self._touch(u)
        self.qty[u] -= steps
        self.low.add(u)

    # ---- user orders --------------------------------------------------------------------------------

    def add_user(self, u: int, delta: int) -> None:
        """Add (or, negative, remove) resting user quantity at ``u``."""
        self._touch(u)
        qty = self.user.get(u, 0) + delta
        if qty > 0:
            self.user[u] = qty
        else:
            self.user.pop(u, None)

    # ---- reading ------------------------------------------------------------------------------------

    def displayed(self, limit: int) -> list[tuple[int, int]]:
        """Up to ``limit`` displayed levels ``(u, steps)``, best first."""
        out: list[tuple[int, int]] = []
        if limit <= 0:
            return out
        user = self.user
        order = heapq.merge(self.us, sorted(u for u in user if u not in self.qty)) if user else iter(self.us)
        qty = self.qty
        for u in order:
            shown = qty.get(u, 0) + user.get(u, 0)
            if shown:
                out.append((u, shown))
                if len(out) >= limit:
                    break
        return out

    def take_changes(self) -> list[tuple[int, int]]:
        """The levels whose displayed quantity changed since the last call, best first; resets the record."""
        qty, user = self.qty, self.user
        out = [(u, now) for u, before in self.changed.items() if (now := qty.get(u, 0) + user.get(u, 0)) != before]
        self.changed = {}
        out.sort()
        return out


class Book:
    """The spot or perp book of one symbol: two :class:`BookSide` and the update-id counter."""

    def __init__(self, market: Market, symbol: str, tick: Decimal, step: Decimal, first_id: int) -> None:
        self.market = market
        self.symbol = symbol
        self.tick = tick
        self.step = step
        self.update_id = first_id
        self.bids = BookSide(-1)
        self.asks = BookSide(1)

    def side(self, bids: bool) -> BookSide:
        return self.bids if bids else self.asks

    def price(self, side: BookSide, u: int) -> Decimal:
        return Decimal(side.sign * u) * self.tick

    def quantity(self, steps: int) -> Decimal:
        return Decimal(steps) * self.step

    def levels(self, bids: bool, limit: int) -> list[tuple[Decimal, Decimal]]:
        """Displayed levels of one side as ``(price, qty)``, best first."""
        side = self.side(bids)
        return [(self.price(side, u), self.quantity(q)) for u, q in side.displayed(limit)]

    def best(self, bids: bool) -> tuple[Decimal, Decimal]:
        """Best displayed price and its quantity; ``(0, 0)`` when the side is empty."""
        top = self.levels(bids, 1)
        return top[0] if top else (Decimal(0), Decimal(0))

    def commit(self, event_time: int) -> DepthDiff | None:
        """Close the current batch of changes into one diff (``None`` when nothing visible changed)."""
        bids = self.bids.take_changes()
        asks = self.asks.take_changes()
        if not bids and not asks:
            return None
        previous = self.update_id
        self.update_id += 1
        tick, step = self.tick, self.step
        return DepthDiff(
            market=self.market,
            symbol=self.symbol,
            first_id=previous + 1,
            last_id=self.update_id,
            prev_last_id=previous,
            event_time=event_time,
            bids=tuple((Decimal(-u) * tick, Decimal(q) * step) for u, q in bids),
            asks=tuple((Decimal(u) * tick, Decimal(q) * step) for u, q in asks),
        )
