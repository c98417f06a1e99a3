"""``hedgetui sandbox`` as a process: it serves, a plain ccxt script works against it, bad flags exit 2."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hedgetui", "sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def test_serves_and_a_plain_ccxt_script_trades_against_it() -> None:
    port = free_port()
    proc = start("--port", str(port), "--tick-ms", "50")
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in first
        banner = "".join(proc.stdout.readline() for _ in range(3))
        assert "hedgetui-sandbox-key" in banner and "hedgetui-sandbox-secret" in banner
        script = subprocess.run(
            [sys.executable, str(ROOT / "examples" / "ccxt_against_sandbox.py"), f"http://127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert script.returncode == 0, script.stderr
        assert "streamed" in script.stdout and "position short 0.01" in script.stdout
        source = (ROOT / "examples" / "ccxt_against_sandbox.py").read_text()
        assert "hedgetui" not in [
            line.split()[1] for line in source.splitlines() if line.startswith(("import", "from"))
        ]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--latency-ms", "-5"], "--latency-ms"),
        (["--symbols", "DOGEUSDT"], "unknown symbol"),
        (["--host", "0.0.0.0"], "--allow-remote"),
        (["--port", "70000"], "--port"),
        (["--spot-usdt", "lots"], "--spot-usdt"),
        (["--port", "abc"], "--port"),
        (["--funding-interval-s", "0"], "--funding-interval-s"),
    ],
)
def test_bad_flags_give_one_line_and_exit_2(args: list[str], fragment: str) -> None:
    proc = start(*args)
    _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0], err


def test_port_in_use_gives_one_line_and_exit_2() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = start("--port", str(port))
        _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and str(port) in lines[0], err


def test_python_dash_m_works() -> None:
    done = subprocess.run([sys.executable, "-m", "hedgetui", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.startswith("hedgetui ")


def test_funding_interval_flag_sets_the_schedule_premium_index_reports() -> None:
    port = free_port()
    proc = start("--port", str(port), "--tick-ms", "50", "--funding-interval-s", "4")
    try:
        assert proc.stdout is not None
        banner = "".join(proc.stdout.readline() for _ in range(6))
        assert "funding every   4 s" in banner
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/fapi/v1/premiumIndex?symbol=BTCUSDT", timeout=10) as r:
            index = json.loads(r.read())
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/fapi/v1/fundingInfo", timeout=10) as r:
            (info,) = json.loads(r.read())
        assert index["nextFundingTime"] % 4000 == 0 and 0 < index["nextFundingTime"] - index["time"] <= 4000
        assert info["fundingIntervalMs"] == 4000
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0


def test_demo_refuses_a_bad_funding_interval_in_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hedgetui", "demo", "--funding-interval-s", "0"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
    )
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1 and "--funding-interval-s" in lines[0], done.stderr
