"""UI benchmark: the dashboard headless while both books are fed at 100, 1,000 and 5,000 snapshots/s.

    python benchmarks/bench_ui.py [--seconds 3] [--rates 100,1000,5000] [--profile]

Prints, per feed rate: book repaints per second (frames of the order book widgets), the CPU share of one
core used by the whole process, and the event loop's lag p99 (a heartbeat every 10 ms; its worst delay is
what a key press would wait). Targets: 5,000 snapshots/s absorbed with no backlog (slots keep only the
latest), books repainted at 10–20 Hz, at most 30% of one core, lag p99 at most 15 ms.

Every pane is live: the real market data service's account slots, the engine, the event drain and the
timers. ``--profile`` adds, for the highest rate, which widgets repainted how often and cProfile's top
lines (cumulative) over the measured window only.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import random
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

# Measure the checkout this file lives in (a worktree), not whichever hedgetui is installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual.widget import Widget

from hedgetui.domain.book import OrderBook
from hedgetui.domain.health import FeedHealth, FeedSource
from hedgetui.domain.slots import Slot
from hedgetui.domain.venue import MarketKind, VenueMode
from hedgetui.engine.settings import EngineSettings
from hedgetui.exchange.market_data import MarketDataService
from hedgetui.ui.app import HedgeApp
from hedgetui.ui.settings import DashboardSettings
from hedgetui.ui.widgets.order_book import OrderBookView
from hedgetui.wiring import demo_sandbox, open_stack, sandbox_venue_settings


class FastFeed:
    """The real service's account slots, with book slots fed by a synthetic high-rate producer."""

    def __init__(self, service: MarketDataService) -> None:
        self.service = service
        self.spot_book: Slot[OrderBook] = Slot("spot_book")
        self.perp_book: Slot[OrderBook] = Slot("perp_book")
        self.funding = service.funding
        self.perp_position = service.perp_position
        self.spot_balances = service.spot_balances

    def feed_health(self, kind: MarketKind, now: float) -> FeedHealth:
        slot = self.spot_book if kind is MarketKind.SPOT else self.perp_book
        latest = slot.latest()
        age = None if latest is None else max(0.0, now - latest.published_at)
        return FeedHealth(source=FeedSource.WS, age_s=age, stale=age is None or age > 2)


def make_book(kind: MarketKind, mid: float, rng: random.Random, uid: int) -> OrderBook:
    step = 1.0
    bids = tuple((Decimal(f"{mid - step * (i + 1):.2f}"), Decimal(f"{rng.uniform(0.01, 0.5):.5f}")) for i in range(20))
    asks = tuple((Decimal(f"{mid + step * (i + 1):.2f}"), Decimal(f"{rng.uniform(0.01, 0.5):.5f}")) for i in range(20))
    return OrderBook(symbol="BTC/USDT", market=kind, bids=bids, asks=asks, update_id=uid, received_at=time.monotonic())


async def feeder(feed: FastFeed, rate: int, stop: asyncio.Event, counter: list[int]) -> None:
    """Publish ``rate`` snapshots per second in total (alternating books), paced by the wall clock."""
    rng = random.Random(1)
    books = [make_book(k, 60000.0 + i, rng, i) for i, k in enumerate([MarketKind.SPOT, MarketKind.PERP] * 50)]
    start = time.perf_counter()
    while not stop.is_set():
        due = int(rate * (time.perf_counter() - start)) - counter[0]
        for _ in range(due):
            counter[0] += 1
            slot = feed.spot_book if counter[0] % 2 else feed.perp_book
            slot.publish(books[counter[0] % len(books)], time.monotonic())
        await asyncio.sleep(0.005)


async def heartbeat(stop: asyncio.Event, lags: list[float]) -> None:
    while not stop.is_set():
        t = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append(max(0.0, (time.perf_counter() - t - 0.01) * 1000))


async def measure(
    app: HedgeApp, feed: FastFeed, rate: int, seconds: float, profile: cProfile.Profile | None = None
) -> dict[str, Any]:
    builds = [0]
    original = OrderBookView._build
    renders: dict[str, int] = {}
    original_render_lines = Widget.render_lines

    def counting_render(self: Widget, crop: Any) -> Any:
        name = type(self).__name__ + (f"#{self.id}" if self.id else "")
        renders[name] = renders.get(name, 0) + 1
        return original_render_lines(self, crop)

    Widget.render_lines = counting_render  # type: ignore[method-assign]

    def counting(self: OrderBookView) -> None:
        before = self._built_for
        original(self)
        if before != self._built_for:
            builds[0] += 1

    OrderBookView._build = counting  # type: ignore[method-assign]
    stop = asyncio.Event()
    lags: list[float] = []
    published = [0]
    tasks = [asyncio.create_task(feeder(feed, rate, stop, published)), asyncio.create_task(heartbeat(stop, lags))]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if profile is not None:
        profile.enable()
    await asyncio.sleep(seconds)
    if profile is not None:
        profile.disable()
    cpu1, wall1 = time.process_time(), time.perf_counter()
    stop.set()
    await asyncio.gather(*tasks)
    OrderBookView._build = original  # type: ignore[method-assign]
    Widget.render_lines = original_render_lines  # type: ignore[method-assign]
    wall = wall1 - wall0
    lags.sort()
    return {
        "rate": published[0] / wall,
        "repaints": builds[0] / 2 / wall,  # two book widgets
        "cpu": (cpu1 - cpu0) / wall,
        "lag_p99": lags[int(0.99 * (len(lags) - 1))] if lags else 0.0,
        "lag_p50": statistics.median(lags) if lags else 0.0,
        "renders": {k: v / wall for k, v in renders.items()},
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rates", default="100,1000,5000")
    parser.add_argument("--profile", action="store_true", help="profile the highest rate's window")
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    results: list[dict[str, Any]] = []
    async with demo_sandbox(seed=7, tick_ms=1000) as server:
        with tempfile.TemporaryDirectory() as folder:
            async with open_stack(sandbox_venue_settings(server), Path(folder) / "j.sqlite3", EngineSettings()) as s:
                feed = FastFeed(s.market_data)
                app = HedgeApp(
                    feed,
                    s.engine,
                    DashboardSettings(
                        mode=VenueMode.SANDBOX,
                        spot_symbol="BTC/USDT",
                        perp_symbol="BTC/USDT:USDT",
                        remember_theme_choice=False,
                    ),
                )
                async with app.run_test(size=(160, 48)) as pilot:
                    await pilot.pause(1.0)
                    profile = cProfile.Profile() if args.profile else None
                    for rate in rates:
                        prof = profile if rate == rates[-1] else None
                        results.append({"target": rate, **await measure(app, feed, rate, args.seconds, prof)})
    print(f"dashboard headless 160x48, refresh {DashboardSettings.refresh_hz:.0f} Hz, {args.seconds:.0f} s per rate")
    print(f"{'target/s':>10} {'fed/s':>10} {'book repaints/s':>16} {'CPU (1 core)':>13} {'lag p50':>9} {'lag p99':>9}")
    for r in results:
        print(
            f"{r['target']:>10} {r['rate']:>10.0f} {r['repaints']:>16.1f} {r['cpu'] * 100:>12.0f}% "
            f"{r['lag_p50']:>7.1f}ms {r['lag_p99']:>7.1f}ms"
        )
    worst = results[-1]
    if profile is not None:
        print("\nrepaints per second by widget (highest rate):")
        for name, per_s in sorted(worst["renders"].items(), key=lambda kv: -kv[1])[:15]:
            print(f"  {per_s:7.1f}  {name}")
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(25)
        print("\ncProfile, measured window only, by cumulative time:")
        print(out.getvalue())
    print(
        "targets at the highest rate: "
        f"no backlog (slots keep only the latest value): yes; repaints 10-20 Hz: "
        f"{'met' if 10 <= worst['repaints'] <= 20 else 'MISSED'}; CPU <= 30%: "
        f"{'met' if worst['cpu'] <= 0.30 else 'MISSED'}; lag p99 <= 15 ms: "
        f"{'met' if worst['lag_p99'] <= 15 else 'MISSED'}"
    )


if __name__ == "__main__":
    asyncio.run(main())
