"""The sandbox's moving market: a seeded random walk for the mid, the perp basis and funding, and the
synthetic liquidity that keeps each book shaped around its mid.

Prices are ``Decimal``. The shape of the synthetic liquidity (how far apart levels sit, how much each holds)
is computed with floats because it is random noise, not money: every result is rounded to a whole number
of ticks or steps before it enters a book, and nothing here is ever credited to an account.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from hedgetui.sandbox.book import Book, BookSide

BPS = Decimal(10_000)
MID_PLACES = Decimal("0.00000001")
FUNDING_PLACES = Decimal("0.00000001")
#: The mid never falls below this fraction of the start price (a -100 % move would leave no market).
MID_FLOOR = Decimal("0.02")


class PriceWalk:
    """The fair value of one symbol: spot mid (a seeded log random walk), perp basis and funding rate.

    The walk has its own random stream, so the price path depends only on the seed and the number of
    ticks, never on what was traded.
    """

    def __init__(
        self,
        start: Decimal,
        volatility_bps: Decimal,
        basis_bps: Decimal,
        funding_rate: Decimal,
        rng: random.Random,
    ) -> None:
        self.start = start
        self.volatility_bps = volatility_bps
        self.mean_basis_bps = basis_bps
        self.base_funding = funding_rate
        self.rng = rng
        self.spot_mid = start
        self.basis_bps = basis_bps
        self.funding = funding_rate

    @property
    def perp_mid(self) -> Decimal:
        """The perp trades at the spot mid plus the basis."""
        return (self.spot_mid * (1 + self.basis_bps / BPS)).quantize(MID_PLACES)

    def step(self) -> None:
        """One tick: the mid moves by N(0, volatility) bps; the basis wanders back towards its mean."""
        shock = Decimal(f"{self.rng.gauss(0.0, 1.0):.6f}") * self.volatility_bps
        self._set_mid(self.spot_mid * (1 + shock / BPS))
        # An Ornstein-Uhlenbeck basis: noisy, but it keeps returning to the configured mean.
        wander = Decimal(f"{self.rng.gauss(0.0, 0.2):.4f}")
        self.basis_bps = (self.basis_bps + wander - (self.basis_bps - self.mean_basis_bps) / 20).quantize(
            Decimal("0.0001")
        )
        # Funding follows the premium loosely, as Binance's does, and stays near the configured rate.
        premium = (self.basis_bps - self.mean_basis_bps) / BPS / 10
        self.funding = (self.base_funding + premium).quantize(FUNDING_PLACES)

    def jump(self, move_bps: Decimal) -> None:
        """Move the mid by ``move_bps`` at once (the control API's market move)."""
        self._set_mid(self.spot_mid * (1 + move_bps / BPS))

    def _set_mid(self, mid: Decimal) -> None:
        self.spot_mid = max(mid, self.start * MID_FLOOR).quantize(MID_PLACES)


@dataclass(frozen=True)
class LiquidityShape:
    """How synthetic liquidity is laid out, in bps of the mid and USD, whatever the symbol.

    Level ``i`` (0 = best) sits ``linear_bps·i + quadratic_bps·i²`` from the mid and holds about
    ``top_usd·(1 + growth·i)``: a thin top, levels further apart and larger with distance. With the
    defaults a side of 120 levels spans about 1.2 % and holds about $1.5M; a $50,000 market order on BTC
    costs about 1.5 bps and a $2,000 one a few hundredths of a bp. ``depth_factor`` scales every size.
    """

    linear_bps: float = 0.01
    quadratic_bps: float = 0.008
    top_usd: float = 800.0
    growth: float = 0.25
    qty_noise: float = 0.4  # each level's size is × U(1 − noise, 1 + noise)
    gap_noise: float = 0.5  # each gap is × U(1 − noise, 1 + noise)

    def at(self, distance_bps: float) -> tuple[float, float]:
        """The shape ``distance_bps`` from the mid: (ideal gap to the next level, USD of depth per bp).

        A level's size is the depth per bp × the gap it covers: that keeps the cumulative depth (what
        slippage depends on) right even where levels ended up closer together or further apart than ideal.
        """
        a, h = self.linear_bps, self.quadratic_bps
        i = (math.sqrt(a * a + 4 * h * distance_bps) - a) / (2 * h) if distance_bps > 0 else 0.0
        gap = a + h * (2 * i + 1)
        return gap, self.top_usd * (1 + self.growth * i) / gap

    def distance_for_gap(self, gap_bps: float) -> float:
        """How far from the mid the shape's ideal gap has grown to ``gap_bps`` (0 if it never is that small)."""
        a, h = self.linear_bps, self.quadratic_bps
        i = ((gap_bps - a) / h - 1) / 2
        return a * i + h * i * i if i > 0 else 0.0


#: Random levels re-sized near the top each tick, per side, so the book lives when the mid stands still.
JIGGLES_PER_TICK = 2
JIGGLE_DEPTH = 10
#: Levels whose spacing and size are checked against the shape each tick, per side (round robin).
SWEEP_PER_TICK = 6
#: A level is re-sized when its size leaves this band around what its gap should hold.
RESIZE_BAND = (0.4, 2.5)
#: The gap filling near the top stops after this many well-spaced levels in a row.
GAP_CHECKS = 6
#: Registered levels per side float between ``levels`` and ``levels + TAIL_SLACK``.
TAIL_SLACK = 40
#: A consumed level grows back by this fraction of what it misses per tick (at least one step).
REGROW_NUM, REGROW_DEN = 2, 5
#: The spread widens by one tick on a side with this probability per tick (and narrows back alike).
SPREAD_FLIP = 0.05

_Level = tuple[int, int, int, float]  # outward ticks, shown steps, base steps, expiry


class Liquidity:
    """Keeps one book's synthetic liquidity shaped around a moving mid, cheaply.

    Levels are absolute prices that persist while the mid moves, as on a real book. A tick removes the
    levels the mid moved through, fills the gap it opened at the top, trims or extends the far tail,
    grows consumed levels back, re-sizes a couple of levels near the top and sweeps a few levels back
    towards the shape. So a tick changes a handful of levels plus what the mid's move implies, never the
    whole ladder.

    Persistence alone would not keep the shape: levels laid densely at the top drift outwards as the mid
    runs away from them, and after a trend a whole side would be packed into a few bps. So every level is
    born with a *withdrawal distance*: the level is withdrawn once the mid is that far away. It is drawn
    so that a level born where the shape wants a gap ``g`` survives at distance ``d`` with probability
    ``g / gap(d)``, which thins drifting levels to exactly the shape's density (Poisson thinning). The
    withdrawal points are kept in a heap keyed by the mid, so a tick only pays for the levels it removes.
    The other way round, when the mid comes closer to a side, the wide gaps of the levels it did not
    reach are filled near the top, and a slow sweep fixes whatever is left.
    """

    def __init__(
        self, book: Book, shape: LiquidityShape, levels: int, rng: random.Random, depth_factor: Decimal
    ) -> None:
        self.book = book
        self.shape = shape
        self.levels = levels
        self.rng = rng
        self.depth_factor = depth_factor
        self._factor_num, self._factor_den = depth_factor.as_integer_ratio()
        self.extra_ticks = [0, 0]  # spread widening on the bid / ask side, in ticks
        self._cursors = [1, 1]  # where the shape sweep of each side continues
        # Per side, a heap of (−expiry, u): the level at u goes when the outward mid falls below expiry.
        self._withdrawals: list[list[tuple[float, int]]] = [[], []]
        self._mid_ticks = 1.0
        self._bps_per_tick = 1.0
        self._usd_per_step = 1.0

    # ---- the top of the book ------------------------------------------------------------------------

    def top(self, mid: Decimal) -> tuple[int, int]:
        """Best bid and best ask in price ticks for this mid (a spread of one tick or a few)."""
        m = mid / self.book.tick
        bid = int(m.to_integral_value(ROUND_CEILING)) - 1 - self.extra_ticks[0]
        ask = int(m.to_integral_value(ROUND_FLOOR)) + 1 + self.extra_ticks[1]
        return bid, ask

    def _sides(self, mid: Decimal) -> tuple[tuple[int, BookSide, int], ...]:
        bid, ask = self.top(mid)
        return (0, self.book.bids, -bid), (1, self.book.asks, ask)

    # ---- per tick -----------------------------------------------------------------------------------

    def follow(self, mid: Decimal) -> None:
        """One tick of upkeep for this mid (see the class docstring)."""
        self._at(mid)
        for i, side, best in self._sides(mid):
            came_closer = side.remove_better_than(best) > 0
            self._withdraw(i, side)
            self._fill_top(i, side, best)
            if came_closer:  # the levels the mid did not reach keep their wider spacing
                self._fill_gaps(i, side)
            self._keep_tail(i, side)
            self._regrow(side)
            self._jiggle(side)
            self._cursors[i] = self._sweep(i, side, self._cursors[i])
        for i in (0, 1):
            if self.rng.random() < SPREAD_FLIP:
                self.extra_ticks[i] = 1 - self.extra_ticks[i]

    def rebuild(self, mid: Decimal) -> None:
        """Replace every synthetic level with a fresh ladder for this mid (start and reset)."""
        self._at(mid)
        for i, side, best in self._sides(mid):
            side.clear()
            self._withdrawals[i] = []
            self._fill_top(i, side, best)
            self._keep_tail(i, side)

    def set_depth_factor(self, factor: Decimal) -> None:
        """Scale every level by ``factor`` (relative to the shape); later ticks keep the factor."""
        old_num, old_den = self._factor_num, self._factor_den
        self.depth_factor = factor
        self._factor_num, self._factor_den = factor.as_integer_ratio()
        for side in (self.book.bids, self.book.asks):
            for u in side.us:
                target = self.target(side.base[u])
                # Scale what is shown now (a partly consumed level stays partly consumed).
                shown = side.qty[u] * old_den * self._factor_num // (old_num * self._factor_den)
                side.set_qty(u, min(target, max(shown, 0 if side.qty[u] == 0 else 1)))
                if side.qty[u] < target:
                    side.low.add(u)
                else:
                    side.low.discard(u)

    def target(self, base: int) -> int:
        """A level's target in steps at the current depth factor (never below one step)."""
        steps = base * self._factor_num // self._factor_den
        return steps if steps > 1 else 1

    # ---- shape --------------------------------------------------------------------------------------

    def _at(self, mid: Decimal) -> None:
        self._mid_ticks = float(mid / self.book.tick)
        self._bps_per_tick = 10_000 / self._mid_ticks
        self._usd_per_step = float(mid * self.book.step)

    def _shape_at(self, side: BookSide, u: int) -> tuple[float, float]:
        """The shape at outward tick ``u``: (ideal gap to the next level in ticks, USD of depth per tick)."""
        gap_bps, usd_per_bps = self.shape.at((u - side.sign * self._mid_ticks) * self._bps_per_tick)
        return gap_bps / self._bps_per_tick, usd_per_bps * self._bps_per_tick

    def _noisy_gap(self, ideal: float) -> int:
        noise = self.shape.gap_noise
        gap = round(ideal * (1 - noise + 2 * noise * self.rng.random()))
        return gap if gap > 1 else 1

    def _base(self, usd_per_tick: float, covers_ticks: int) -> int:
        """Target steps (at factor 1) of a level holding the depth of ``covers_ticks`` of price."""
        noise = self.shape.qty_noise
        steps = round(usd_per_tick * covers_ticks * (1 - noise + 2 * noise * self.rng.random()) / self._usd_per_step)
        return steps if steps > 1 else 1

    def _new_level(self, i: int, side: BookSide, u: int, ideal: float, usd_per_tick: float, covers: int) -> _Level:
        """A level born at ``u`` where the shape wants a gap of ``ideal`` ticks; schedules its withdrawal."""
        # Survive to distance d with probability ideal / gap(d): withdraw where gap(d) = ideal / r.
        r = 1.0 - self.rng.random()
        distance = self.shape.distance_for_gap(ideal * self._bps_per_tick / r) / self._bps_per_tick
        now = u - side.sign * self._mid_ticks
        expiry = u - (distance if distance > now else now)
        heapq.heappush(self._withdrawals[i], (-expiry, u))
        base = self._base(usd_per_tick, covers)
        return u, self.target(base), base, expiry

    # ---- upkeep -------------------------------------------------------------------------------------

    def _withdraw(self, i: int, side: BookSide) -> None:
        """Remove the levels the mid has moved far enough away from; the level outside each takes over
        the depth of the gap it leaves."""
        heap = self._withdrawals[i]
        mid_u = side.sign * self._mid_ticks
        while heap and -heap[0][0] > mid_u:
            key, u = heapq.heappop(heap)
            if side.expiry.get(u) != -key:
                continue  # that level is already gone (crossed, trimmed or swept)
            k = side.index(u)
            side.remove(u)
            if k < len(side.us):
                self._resize(side, k)
        if len(heap) > 4 * len(side.us) + 64:  # drop the entries of levels that went another way
            self._withdrawals[i] = [(-e, u) for u, e in side.expiry.items()]
            heapq.heapify(self._withdrawals[i])

    def _resize(self, side: BookSide, k: int) -> None:
        """Size level ``k`` for the gap it now covers (a consumed level only gets its new target)."""
        u = side.us[k]
        ideal, usd_per_tick = self._shape_at(side, u)
        base = self._base(usd_per_tick, u - side.us[k - 1] if k else max(1, round(ideal)))
        side.base[u] = base
        if u in side.low:
            return
        side.set_qty(u, self.target(base))

    def _lay(self, i: int, side: BookSide, start: int, stop: int | None) -> list[_Level]:
        """New levels from ``start`` outwards at the shape's spacing, up to ``stop`` (or a full ladder)."""
        new: list[_Level] = []
        u = start
        while stop is None or u < stop:
            ideal, usd_per_tick = self._shape_at(side, u)
            gap = self._noisy_gap(ideal)
            if stop is not None and u > start and stop - u < ideal / 2:
                break  # too close to the level it would sit against
            new.append(self._new_level(i, side, u, ideal, usd_per_tick, gap))
            u += gap
            if stop is None and len(new) >= self.levels + TAIL_SLACK // 2:
                break
        return new

    def _fill_top(self, i: int, side: BookSide, best: int) -> None:
        """Lay levels from ``best`` outwards up to the current best registered level."""
        new = self._lay(i, side, best, side.us[0] if side.us else None)
        if new:
            side.insert_front(new)
            if len(side.us) > len(new):
                self._resize(side, len(new))

    def _fill_gaps(self, i: int, side: BookSide) -> None:
        """Fill gaps near the top that are much wider than the shape wants.

        When the mid moves towards a side, the levels it did not reach come closer to it but keep the
        wider spacing of their old distance; this lays the missing levels between them. It walks out from
        the best level and stops after a few levels in a row are fine.
        """
        us = side.us
        k, fine = 0, 0
        while fine < GAP_CHECKS and k < len(us) - 1:
            inner, outer = us[k], us[k + 1]
            ideal, _ = self._shape_at(side, inner)
            if outer - inner > 2 * ideal + 1:
                new = self._lay(i, side, inner + self._noisy_gap(ideal), outer)
                if new:
                    for level in new:
                        side.insert(*level)
                    self._resize(side, k + 1)
                    self._resize(side, k + 1 + len(new))
                k += len(new) + 1
                fine = 0
            else:
                k += 1
                fine += 1

    def _keep_tail(self, i: int, side: BookSide) -> None:
        count = len(side.us)
        if count > self.levels + TAIL_SLACK:
            side.trim(self.levels + TAIL_SLACK // 2)
        elif count < self.levels:
            u = side.us[-1]
            while len(side.us) < self.levels + TAIL_SLACK // 2:
                ideal, usd_per_tick = self._shape_at(side, u)
                gap = self._noisy_gap(ideal)
                u += gap
                side.append(*self._new_level(i, side, u, ideal, usd_per_tick, gap))

    def _regrow(self, side: BookSide) -> None:
        if not side.low:
            return
        done = []
        for u in side.low:
            target = self.target(side.base[u])
            qty = side.qty[u]
            if qty < target:
                qty = min(target, qty + max(1, (target - qty) * REGROW_NUM // REGROW_DEN))
                side.set_qty(u, qty)
            if qty >= target:
                done.append(u)
        side.low.difference_update(done)

    def _jiggle(self, side: BookSide) -> None:
        depth = min(JIGGLE_DEPTH, len(side.us))
        for _ in range(JIGGLES_PER_TICK):
            k = self.rng.randrange(depth)
            if side.us[k] not in side.low:  # a consumed level grows back first
                self._resize(side, k)

    def _sweep(self, i: int, side: BookSide, cursor: int) -> int:
        """Pull the next few levels (round robin from ``cursor``) back to the shape; returns the new cursor.

        Splits a gap much wider than the shape's (after the mid came closer), removes a level much
        closer to its inner neighbour than the shape's gap, and re-sizes a level whose size is far from
        the depth its gap should hold.
        """
        us = side.us
        k = cursor if 1 <= cursor < len(us) - 1 else 1
        for _ in range(SWEEP_PER_TICK):
            if k >= len(us) - 1:
                return 1
            u, inner = us[k], us[k - 1]
            ideal, usd_per_tick = self._shape_at(side, u)
            gap = u - inner
            if gap > 2 * ideal + 1:
                middle = inner + gap // 2
                side.insert(*self._new_level(i, side, middle, ideal, usd_per_tick, middle - inner))
                self._resize(side, k + 1)
            elif 2 * gap + 1 < ideal:
                side.remove(u)
                self._resize(side, k)
                continue  # the next level now sits at k: check it against the same inner level
            elif u not in side.low:
                wanted = usd_per_tick * gap / self._usd_per_step
                if not RESIZE_BAND[0] * wanted <= side.base[u] <= RESIZE_BAND[1] * wanted:
                    self._resize(side, k)
            k += 1
        return k
