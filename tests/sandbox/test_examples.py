"""The plain example scripts (no hedgetui import) run against a ``hedgetui sandbox`` process."""

from __future__ import annotations

import subprocess
import sys

from tests.sandbox.test_cli_sandbox import ROOT, free_port, start


def test_follow_fills_through_the_user_data_stream() -> None:
    port = free_port()
    proc = start("--port", str(port), "--tick-ms", "50")
    try:
        assert proc.stdout is not None
        assert f"http://127.0.0.1:{port}" in proc.stdout.readline()
        script = ROOT / "examples" / "follow_fills.py"
        done = subprocess.run(
            [sys.executable, str(script), f"http://127.0.0.1:{port}"], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert "BTC/USDT fill" in done.stdout and "BTC/USDT:USDT fill" in done.stdout
        assert done.stdout.count("stream == REST") == 2
        imports = [line.split()[1] for line in script.read_text().splitlines() if line.startswith(("import", "from"))]
        assert not any(name.startswith("hedgetui") for name in imports)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0
