"""Execution benchmark: enter/exit against the sandbox with injected one-way latency, warm and headless.

    python benchmarks/bench_execution.py [--latency-ms 25] [--cycles 20] [--headless-runs 5]
        [--modes concurrent,perp_first] [--stream on|off|both] [--idle-ms 500]

The sandbox runs in a process of its own (``python -m hedgetui sandbox --port 0``), as a remote exchange
does: its matching, its depth and user-stream broadcasts and its price walk never share the engine's event
loop or interpreter; the figures the exchange holds (trade times, the request record) come over its
control API, outside the measured times. It answers as Binance does (ccxt asks futures orders for RESULT and
spot orders for FULL, so the answers carry the fills; spot FULL also the commission) and delays each request
and each answer by the one-way latency: a round trip (RTT) is twice it. For each leg mode it measures three
ways of running:

* ``warm, stream on``: one engine in this process on the dashboard's stack (``wiring.open_stack``: book
  streams, account polls, drift monitor, and the user data streams), ``--cycles`` enter/exit cycles, each
  pipeline started on an idle engine (``--idle-ms``, 500: what the last pipeline set going in the
  background — the perp position and wallet re-read its fills trigger, since the stream carries neither
  available margin nor liquidation price, and the ledger's income refresh — has finished, as it has long
  before an operator acts again; ``--idle-ms 0`` runs them back to back, and then a decision waits up to
  one round trip in RISK for that re-read);
* ``warm, stream off``: the same with ``venue.user_stream = false`` (fills and account over REST: the
  fallback's cost);
* ``headless``: a cold process per run, ``python -m hedgetui enter --size-usd 2000 --yes --json`` then
  ``exit``, ``--headless-runs`` times; its figures come from the stage timings of its own JSON (headless
  commands open no stream, so the ``--stream`` choice does not change them).

Rows, each p50 and p99, in ms and in RTT:

* ``both legs filled``: from the pipeline's start to both legs filled as the exchange's answers say — the
  stage timings up to ORDERS (``perp_first``: through FILLS, where the spot leg is sent);
* ``enter`` / ``exit``: the whole pipeline, decision to verified HEDGED / FLAT (warm: the wall time of
  ``engine.enter()``/``exit()``; headless: the sum of its stage timings — a headless pipeline decides on
  the reading its start's reconciliation made just before it, so its reads are not inside it);
* ``first read→end`` (headless): from the process's first read after the markets leaving it (its arrival
  at the exchange less the latency; that is the reconciliation's batch the pipeline decides on) to the
  pipeline's end: reads, orders and verification, as the issue counts a headless command;
* ``whole process`` (headless): the wall time of the cold ``enter`` process, interpreter start to exit;
* ``submission gap``: between the two legs' orders leaving (warm: client side, the engine's send hook, the
  moment each request is handed to the venue adapter after both submissions are journaled in one
  transaction; headless: their arrival at the exchange, from the sandbox's request record);
* ``fill gap``: between the two legs' fills, exchange side (the sandbox's trade times).

Targets (issue 12, at 25 ms): warm both legs filled p50 ≤ 1.3 RTT, enter and exit p50 ≤ 2 RTT, submission
gap p99 < 5 ms; headless enter and exit p50 ≤ 3 RTT; stream off no worse than before (enter 6.6 RTT).
At the defaults it runs in about three minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import SecretStr

from hedgetui.domain.execution import ExecutionResult
from hedgetui.domain.risk import ActionKind
from hedgetui.domain.stages import Stage
from hedgetui.engine.settings import EngineSettings, LegMode
from hedgetui.exchange.settings import VenueMode, VenueSettings
from hedgetui.sandbox.options import SandboxOptions
from hedgetui.wiring import open_stack

SIZE_USD = "2000"
ROOT = Path(__file__).resolve().parent.parent
#: ccxt's throttle budget is 60 000 / rateLimit cost units a minute: its Binance default (50 ms) allows 1 200,
#: which this benchmark's pace — 40 pipelines a minute, each followed by the ledger's income refresh (cost
#: 30) and the perp re-read — spends within its first minute; ccxt then holds every request, pipelines' too,
#: for up to the rest of the minute. 20 ms allows 3 000 (Binance itself allows 6 000 weight a minute on
#: spot, 2 400 on futures), so the figures are the pipelines' own, with every request still throttled.
WARM_RATE_LIMIT_MS = 20
FILLED_STAGES = (Stage.GUARDS, Stage.RISK, Stage.SLIPPAGE, Stage.QUANTITY, Stage.JOURNAL, Stage.ORDERS)


@dataclass
class Figures:
    """One way of running one leg mode: a list of ms per measured quantity."""

    label: str
    values: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KEYS})


#: The measured quantities (the last three but the gaps only headless: a warm engine reads inside its pipeline).
KEYS = ("to_filled", "enter", "exit", "enter_reads", "exit_reads", "process", "submit_gap", "fill_gap")
#: Requests a cold process sends before it reads anything: the markets.
MARKETS = {"/api/v3/exchangeInfo", "/fapi/v1/exchangeInfo"}


def from_first_read_ms(record: list[dict[str, Any]], result: dict[str, Any], latency_ms: int) -> float:
    """A cold process's decision reads to its verified end: from the moment its first read after the markets
    left it (its arrival at the exchange less the one-way latency) to the result's own end time. In a
    headless command those reads are the start's reconciliation, which the pipeline decides on."""
    first = min(r["arrived_ms"] for r in record if r["path"] not in MARKETS) - latency_ms
    return float(result["timestamp_ms"]) - first


def pct(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (nearest rank) of ``values``; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def to_filled_ms(stages: dict[str, float], mode: LegMode) -> float:
    """Stage timings up to both legs filled (perp_first sends and fills its spot leg inside FILLS)."""
    upto = [*FILLED_STAGES, Stage.FILLS] if mode is LegMode.PERP_FIRST else list(FILLED_STAGES)
    return sum(stages.get(s.value, 0.0) for s in upto)


def fill_gap_ms(trades: list[dict[str, Any]], perp_order_id: str, spot_order_id: str) -> float:
    """Between the two legs' last fills, as the exchange stamped them (``GET /sandbox/state`` trades)."""
    perp = max(t["time"] for t in trades if t["orderId"] == int(perp_order_id))
    spot = max(t["time"] for t in trades if t["orderId"] == int(spot_order_id))
    return float(abs(perp - spot))


def stage_ms(result: ExecutionResult) -> dict[str, float]:
    return {s.stage.value: s.elapsed_ms or 0.0 for s in result.stages}


class RemoteSandbox:
    """``python -m hedgetui sandbox --port 0`` in a process of its own: the exchange is remote in reality.

    Its matching, book and user-stream broadcasts and price walk run on their own interpreter (its own
    core of the two), not in the engine's event loop; the benchmark reads what it needs (trades, the
    request record) over the control API, outside the measured times.
    """

    # The sandbox's own default credentials: the headless commands' ``--venue-url`` uses them too.
    API_KEY = SandboxOptions.api_key
    API_SECRET = SandboxOptions.api_secret

    def __init__(self, latency_ms: int) -> None:
        self.latency_ms = latency_ms
        self.base_url = ""
        self._proc: asyncio.subprocess.Process | None = None
        self._http: aiohttp.ClientSession | None = None
        self._drain: asyncio.Task[bytes] | None = None

    async def __aenter__(self) -> RemoteSandbox:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hedgetui",
            "sandbox",
            "--port",
            "0",
            "--latency-ms",
            str(self.latency_ms),
            "--tick-ms",
            "100",
            "--seed",
            "11",
            "--api-key",
            self.API_KEY,
            "--api-secret",
            self.API_SECRET,
            env={**os.environ, "PYTHONPATH": python_path()},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        assert self._proc.stdout is not None
        line = (await asyncio.wait_for(self._proc.stdout.readline(), 30)).decode()
        if "listening on " not in line:
            await self.__aexit__()
            raise RuntimeError(f"the sandbox did not start: {line!r}")
        self.base_url = line.split("listening on ", 1)[1].strip()
        # Whatever it prints later is read and dropped: a full pipe would stall the exchange mid-run.
        self._drain = asyncio.get_running_loop().create_task(self._proc.stdout.read())
        self._http = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.close()
        if self._proc is not None and self._proc.returncode is None:
            self._proc.terminate()
            await self._proc.wait()
        if self._drain is not None:
            await self._drain

    def venue_settings(self, user_stream: bool) -> VenueSettings:
        """A configured sandbox venue's settings, ccxt's rolling-window throttle on (every request passes it,
        as for every configured venue) with a budget of :data:`WARM_RATE_LIMIT_MS` (see there)."""
        return VenueSettings(
            mode=VenueMode.SANDBOX,
            sandbox_url=self.base_url,
            api_key=SecretStr(self.API_KEY),
            api_secret=SecretStr(self.API_SECRET),
            sandbox_keys=(self.API_KEY, self.API_SECRET),
            rate_limit_ms=WARM_RATE_LIMIT_MS,
            user_stream=user_stream,
        )

    async def _control(self, method: str, path: str) -> Any:
        assert self._http is not None
        async with self._http.request(method, self.base_url + path) as response:
            response.raise_for_status()
            return await response.json()

    async def trades(self) -> list[dict[str, Any]]:
        return list((await self._control("GET", "/sandbox/state"))["trades"])

    async def requests(self) -> list[dict[str, Any]]:
        return list((await self._control("GET", "/sandbox/requests"))["requests"])

    async def clear_requests(self) -> None:
        await self._control("DELETE", "/sandbox/requests")


def python_path() -> str:
    """This tree first, so the sandbox and the headless processes run the code being measured."""
    return os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)


# ---- warm: one engine on the dashboard's stack ---------------------------------------------------------


async def run_warm(mode: LegMode, latency_ms: int, cycles: int, user_stream: bool, idle_ms: int) -> Figures:
    figures = Figures(f"warm, stream {'on' if user_stream else 'off'}")
    v = figures.values
    sent: dict[str, float] = {}
    async with RemoteSandbox(latency_ms) as server:
        vsettings = server.venue_settings(user_stream)
        with tempfile.TemporaryDirectory() as folder:
            async with open_stack(vsettings, Path(folder) / "j.sqlite3", EngineSettings(leg_mode=mode)) as stack:
                engine = stack.engine
                engine.kit.before_send = lambda cid: sent.__setitem__(cid, time.perf_counter())
                await wait_ready(lambda: engine.refusal(ActionKind.ENTER) is None)
                for _ in range(cycles):
                    await idle(engine, idle_ms)
                    sent.clear()
                    start = time.perf_counter()
                    result = await engine.enter(Decimal(SIZE_USD))
                    v["enter"].append((time.perf_counter() - start) * 1000)
                    assert result.success, result.reason
                    assert result.perp is not None and result.spot is not None
                    v["to_filled"].append(to_filled_ms(stage_ms(result), mode))
                    perp_sent = next(t for c, t in sent.items() if c.endswith("PO1"))
                    spot_sent = next(t for c, t in sent.items() if c.endswith("SO1"))
                    v["submit_gap"].append(abs(perp_sent - spot_sent) * 1000)
                    v["fill_gap"].append(
                        fill_gap_ms(await server.trades(), result.perp.order_ids[0], result.spot.order_ids[0])
                    )
                    await idle(engine, idle_ms)
                    start = time.perf_counter()
                    back = await engine.exit()
                    v["exit"].append((time.perf_counter() - start) * 1000)
                    assert back.success, back.reason
    return figures


async def idle(engine: Any, idle_ms: int) -> None:
    """An idle engine between pipelines, as between an operator's commands: ready to enter, and ``idle_ms``
    for the background work the last pipeline started (the perp position and wallet re-read its fills
    triggered, the ledger's income refresh) to finish, as it would long before a person acts again."""
    await wait_ready(lambda: engine.refusal(ActionKind.ENTER) is None)
    await asyncio.sleep(idle_ms / 1000)


async def wait_ready(ready: Callable[[], bool], timeout_s: float = 15.0) -> None:
    """Until the engine would accept an entry (books streamed and fresh, reconciled, not busy)."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError("the engine never became ready to enter (stale books?)")
        await asyncio.sleep(0.05)


# ---- headless: a cold process per run ------------------------------------------------------------------


async def run_headless(mode: LegMode, latency_ms: int, runs: int) -> Figures:
    figures = Figures("headless")
    v = figures.values
    async with RemoteSandbox(latency_ms) as server:
        with tempfile.TemporaryDirectory() as home:
            env = {
                **os.environ,
                "HOME": home,
                "XDG_CONFIG_HOME": f"{home}/cfg",
                "XDG_DATA_HOME": f"{home}/data",
                "HEDGETUI_HEDGE__LEG_MODE": mode.value,
                "PYTHONPATH": python_path(),
            }
            for _ in range(runs):
                await server.clear_requests()
                started = time.perf_counter()
                entered = await cli(server, env, "enter", "--size-usd", SIZE_USD)
                v["process"].append((time.perf_counter() - started) * 1000)
                stages = {s["stage"]: s["elapsed_ms"] or 0.0 for s in entered["stages"]}
                v["enter"].append(sum(stages.values()))
                v["to_filled"].append(to_filled_ms(stages, mode))
                record = await server.requests()
                v["enter_reads"].append(from_first_read_ms(record, entered, latency_ms))
                posts = [r["arrived_ms"] for r in record if r["method"] == "POST" and "order" in r["path"]]
                v["submit_gap"].append(abs(posts[0] - posts[1]))
                perp_id, spot_id = entered["perp"]["order_ids"][0], entered["spot"]["order_ids"][0]
                v["fill_gap"].append(fill_gap_ms(await server.trades(), perp_id, spot_id))
                await server.clear_requests()
                left = await cli(server, env, "exit")
                v["exit"].append(sum(s["elapsed_ms"] or 0.0 for s in left["stages"]))
                v["exit_reads"].append(from_first_read_ms(await server.requests(), left, latency_ms))
    return figures


async def cli(server: RemoteSandbox, env: dict[str, str], *args: str) -> dict[str, Any]:
    """``python -m hedgetui <args> --yes --json`` against ``server``; its ExecutionResult."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hedgetui",
        *args,
        "--venue-url",
        server.base_url,
        "--yes",
        "--json",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"hedgetui {args[0]} exited {proc.returncode}: {err.decode()[-500:]}")
    result: dict[str, Any] = json.loads(out)
    return result


# ---- the table -----------------------------------------------------------------------------------------

ROWS = (
    ("both legs filled", "to_filled"),
    ("whole enter pipeline", "enter"),
    ("whole exit pipeline", "exit"),
    ("enter, first read→end", "enter_reads"),
    ("exit, first read→end", "exit_reads"),
    ("enter, whole process", "process"),
    ("submission leg gap", "submit_gap"),
    ("fill leg gap (exchange)", "fill_gap"),
)


def cell(values: Sequence[float], q: float, rtt: float, key: str) -> str:
    value = pct(values, q)
    if value is None:
        return "—"
    if key.endswith("gap"):
        return f"{value:.2f} ms"
    return f"{value:.0f} ms {value / rtt:.1f} RTT"


def print_table(mode: LegMode, columns: list[Figures], rtt: float) -> None:
    width = 22
    print(f"\n{mode.value:28}" + "".join(f"{f.label:>{width}}" for f in columns))
    for label, key in ROWS:
        for q, name in ((0.5, "p50"), (0.99, "p99")):
            cells = "".join(f"{cell(f.values[key], q, rtt, key):>{width}}" for f in columns)
            print(f"{label + ' ' + name:28}{cells}")


def verdicts(results: dict[LegMode, list[Figures]], rtt: float) -> list[str]:
    """The issue's targets against the concurrent mode's figures."""
    out: list[str] = []
    cols = {f.label: f.values for f in results.get(LegMode.CONCURRENT, [])}

    def check(label: str, key: str, q: float, limit: float, unit: str) -> None:
        if label not in cols:
            return
        value = pct(cols[label][key], q)
        if value is None:
            return
        shown = value / rtt if unit == "RTT" else value
        ok = shown <= limit if unit == "RTT" else shown < limit
        out.append(
            f"{label}: {key} {'p50' if q == 0.5 else 'p99'} {shown:.2f} {unit} (target {limit} {unit}): "
            f"{'met' if ok else 'MISSED'}"
        )

    check("warm, stream on", "to_filled", 0.5, 1.3, "RTT")
    check("warm, stream on", "enter", 0.5, 2, "RTT")
    check("warm, stream on", "exit", 0.5, 2, "RTT")
    check("warm, stream on", "submit_gap", 0.99, 5, "ms")
    check("headless", "enter", 0.5, 3, "RTT")
    check("headless", "exit", 0.5, 3, "RTT")
    headless = cols.get("headless", {})
    for key in ("enter_reads", "exit_reads"):
        value = pct(headless.get(key, []), 0.5)
        if value is not None:
            out.append(
                f"headless: {key} p50 {value / rtt:.2f} RTT (no target: reads, orders, verification, 3 round trips)"
            )
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=int, default=25, help="one-way latency added by the sandbox")
    parser.add_argument("--cycles", type=int, default=20, help="warm enter/exit cycles per leg mode and stream")
    parser.add_argument("--headless-runs", type=int, default=5, help="cold enter+exit processes per leg mode")
    parser.add_argument("--modes", default="concurrent,perp_first", help="leg modes, comma-separated")
    parser.add_argument("--stream", choices=("on", "off", "both"), default="both", help="the user data stream")
    parser.add_argument(
        "--idle-ms", type=int, default=500, help="warm: idle time before each pipeline (0: back to back)"
    )
    args = parser.parse_args()
    try:
        modes = [LegMode(m.strip()) for m in args.modes.split(",") if m.strip()]
    except ValueError:
        parser.error(f"--modes: one or more of {', '.join(m.value for m in LegMode)}")
    streams = {"on": [True], "off": [False], "both": [True, False]}[args.stream]
    rtt = 2.0 * args.latency_ms
    began = time.monotonic()
    print(
        f"one-way latency {args.latency_ms} ms (RTT {rtt:.0f} ms), {args.cycles} warm cycles, "
        f"{args.headless_runs} headless runs, enter {SIZE_USD} USD, warm idle {args.idle_ms} ms between pipelines"
    )
    results: dict[LegMode, list[Figures]] = {}
    for mode in modes:
        columns = [
            await run_warm(mode, args.latency_ms, args.cycles, on, args.idle_ms) for on in streams if args.cycles > 0
        ]
        if args.headless_runs > 0:
            columns.append(await run_headless(mode, args.latency_ms, args.headless_runs))
        results[mode] = columns
        print_table(mode, columns, rtt)
    print()
    for line in verdicts(results, rtt):
        print(line)
    print(f"(took {time.monotonic() - began:.0f} s)")


if __name__ == "__main__":
    asyncio.run(main())
