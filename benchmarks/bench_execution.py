"""Execution benchmark: enter/exit cycles against the sandbox with injected one-way latency.

    python benchmarks/bench_execution.py [--latency-ms 25] [--cycles 20]

Prints, for leg modes ``concurrent`` and ``perp_first`` side by side:
* enter time to both legs confirmed filled by the exchange's order answers (p50/p99) and its ratio to the
  ideal for that latency: two round trips, one to read fresh books and one for both orders (the sandbox
  delays each request and each answer by the one-way latency, so a round trip is twice it);
* the whole enter and exit pipelines (p50/p99), which add the fee read and the drift check from the
  exchange;
* the leg gap: between the two legs' submissions (client side) and between their fills (exchange side).
Targets: concurrent enter p50 within 1.25 × ideal; submission leg gap p99 under 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from hedgetui.domain.stages import Stage, StageState
from hedgetui.engine.engine import Engine
from hedgetui.engine.events import StageEvent
from hedgetui.engine.journal import Journal
from hedgetui.engine.settings import EngineSettings, LegMode
from hedgetui.exchange.venue import BinanceVenue
from hedgetui.sandbox.options import SandboxOptions
from hedgetui.sandbox.server import SandboxServer
from hedgetui.wiring import sandbox_venue_settings


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run_mode(mode: LegMode, latency_ms: int, cycles: int, verbose: bool) -> dict[str, list[float]]:
    server = SandboxServer(SandboxOptions(port=0, tick_ms=100, latency_ms=latency_ms, seed=11))
    await server.start()
    venue = await BinanceVenue.connect(sandbox_venue_settings(server))
    sent: dict[str, float] = {}
    out: dict[str, list[float]] = {"to_filled": [], "enter": [], "exit": [], "submit_gap": [], "fill_gap": []}
    try:
        with tempfile.TemporaryDirectory() as folder:
            async with Journal(Path(folder) / "j.sqlite3") as journal:
                engine = Engine(
                    venue,
                    journal,
                    EngineSettings(leg_mode=mode),
                    before_send=lambda cid: sent.__setitem__(cid, time.perf_counter()),
                )
                await engine.start()
                queue = engine.bus.subscribe()
                for _ in range(cycles):
                    sent.clear()
                    start = time.perf_counter()
                    result = await engine.enter(Decimal("2000"))
                    enter_done = time.perf_counter()
                    assert result.success, result.reason
                    fills_done = None
                    while not queue.empty():
                        event = queue.get_nowait()
                        if (
                            isinstance(event, StageEvent)
                            and event.stage is Stage.FILLS
                            and event.state is StageState.DONE
                        ):
                            fills_done = event.ts_ms
                    po = next(t for c, t in sent.items() if c.endswith("PO1"))
                    so = next(t for c, t in sent.items() if c.endswith("SO1"))
                    out["submit_gap"].append(abs(po - so) * 1000)
                    perp_fill = max(
                        t.time
                        for t in server.core.trades()
                        if t.order_id and t.order_id == int(result.perp.order_ids[0])
                    )  # type: ignore[union-attr]
                    spot_fill = max(
                        t.time
                        for t in server.core.trades()
                        if t.order_id and t.order_id == int(result.spot.order_ids[0])
                    )  # type: ignore[union-attr]
                    out["fill_gap"].append(abs(perp_fill - spot_fill))
                    timings = {s.stage: s.elapsed_ms or 0.0 for s in result.stages}
                    # Both legs confirmed FILLED by the order answers: the stages up to and including ORDERS
                    # (in perp_first the spot leg is sent after the perp's fill, inside FILLS: count it too).
                    upto = [Stage.GUARDS, Stage.RISK, Stage.SLIPPAGE, Stage.QUANTITY, Stage.JOURNAL, Stage.ORDERS]
                    if mode is LegMode.PERP_FIRST:
                        upto.append(Stage.FILLS)
                    out["to_filled"].append(sum(timings.get(s, 0.0) for s in upto))
                    if verbose and len(out["to_filled"]) <= 2:
                        print(mode.value, {s.value: round(v) for s, v in timings.items()})
                    out["enter"].append((enter_done - start) * 1000)
                    del fills_done
                    t0 = time.perf_counter()
                    back = await engine.exit()
                    assert back.success, back.reason
                    out["exit"].append((time.perf_counter() - t0) * 1000)
                await engine.shutdown()
    finally:
        await venue.close()
        await server.stop()
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=int, default=25, help="one-way latency added by the sandbox")
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--verbose", action="store_true", help="print the stage timings of the first cycles")
    args = parser.parse_args()
    ideal = 2 * 2 * args.latency_ms  # two round trips of (latency there + latency back)
    print(f"one-way latency {args.latency_ms} ms, {args.cycles} enter/exit cycles, ideal enter {ideal} ms")
    results = {mode: await run_mode(mode, args.latency_ms, args.cycles, args.verbose) for mode in LegMode}
    header = f"{'':34}" + "".join(f"{m.value:>20}" for m in LegMode)
    print(header)

    def line(label: str, key: str, q: float, fmt: str = "{:.1f} ms") -> None:
        print(f"{label:34}" + "".join(f"{fmt.format(pct(results[m][key], q)):>20}" for m in LegMode))

    line("to both legs filled p50", "to_filled", 0.5)
    line("to both legs filled p99", "to_filled", 0.99)
    print(
        f"{'ratio to ideal (p50)':34}"
        + "".join(f"{pct(results[m]['to_filled'], 0.5) / ideal:>19.2f}x" for m in LegMode)
    )
    line("whole enter pipeline p50", "enter", 0.5)
    line("whole enter pipeline p99", "enter", 0.99)
    line("whole exit pipeline p50", "exit", 0.5)
    line("whole exit pipeline p99", "exit", 0.99)
    line("submission leg gap p50", "submit_gap", 0.5, "{:.2f} ms")
    line("submission leg gap p99", "submit_gap", 0.99, "{:.2f} ms")
    line("fill leg gap p50", "fill_gap", 0.5, "{:.0f} ms")
    line("fill leg gap p99", "fill_gap", 0.99, "{:.0f} ms")
    c = results[LegMode.CONCURRENT]
    print(
        f"targets: concurrent p50 ≤ 1.25 × ideal: {'met' if pct(c['to_filled'], 0.5) <= 1.25 * ideal else 'MISSED'};"
        f" submission gap p99 < 5 ms: {'met' if pct(c['submit_gap'], 0.99) < 5 else 'MISSED'}"
        f" (mean {statistics.mean(c['submit_gap']):.2f} ms)"
    )


if __name__ == "__main__":
    asyncio.run(main())
