"""The ``hedgetui`` command line: one parser, one subcommand per job.

Exit codes are part of the interface: 0 done, 1 aborted or failed safely, 2 bad input or configuration,
3 halted with exposure needing the operator. Bad input always gets exactly one line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hedgetui import __version__
from hedgetui.exit_codes import EXIT_FAILED, EXIT_HALTED, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from hedgetui.ui.engine_view import Outcome


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit code 2 (argparse prints the usage too)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"hedgetui: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """Build the full argument parser (exposed for tests and help output)."""
    # --config and the override flags work before or after the subcommand.
    common = _Parser(add_help=False)
    common.add_argument("--config", type=Path, default=argparse.SUPPRESS, help="configuration file (TOML)")
    common.add_argument("--mode", default=argparse.SUPPRESS, help="venue mode: sandbox, demo or live")
    common.add_argument("--venue-url", default=argparse.SUPPRESS, help="URL of a running sandbox")
    common.add_argument("--size-usd", default=argparse.SUPPRESS, help="hedge size in USD")
    common.add_argument("--journal", type=Path, default=argparse.SUPPRESS, help="journal file")
    common.add_argument("--theme", default=argparse.SUPPRESS, help="dashboard theme")
    parser = _Parser(prog="hedgetui", description="Supervise a delta-neutral spot/perp hedge.", parents=[common])
    parser.add_argument("--version", action="version", version=f"hedgetui {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    cfg = sub.add_parser("config", help="show or check the effective configuration", parents=[common])
    cfg.add_argument("action", choices=["show", "check"], help="show: print it (secrets masked); check: validate")

    sb = sub.add_parser("sandbox", help="run the embedded Binance-compatible sandbox exchange")
    _add_sandbox_flags(sb, default_port=8765)

    for name, text in (
        ("enter", "enter the hedge: short the perp and buy the same quantity of spot"),
        ("exit", "exit the hedge: sell the spot and buy back the perp (reduce-only)"),
        ("correct", "correct drift with one order on the larger leg"),
    ):
        p = sub.add_parser(name, help=text, parents=[common])
        p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        p.add_argument("--json", action="store_true", help="print the ExecutionResult as JSON")
        if name == "correct":
            p.add_argument("--option", type=int, default=1, help="which option of a pending proposal to send")
    st = sub.add_parser("status", help="positions, breaker and trading state (sends nothing)", parents=[common])
    st.add_argument("--json", action="store_true", help="print JSON")
    hist = sub.add_parser(
        "history", help="the latest hedges with their funding, fees and net P&L (sends nothing)", parents=[common]
    )
    hist.add_argument("--limit", type=int, default=20, help="how many hedges (and intents)")
    hist.add_argument("--json", action="store_true", help='print JSON: {"hedges": [...], "intents": [...]}')
    hist.add_argument("--intents", action="store_true", help="list the journal's intents instead of the hedges")
    hist.add_argument("--csv", metavar="FILE", type=Path, default=None, help="export the hedges to a CSV file")
    rec = sub.add_parser(
        "reconcile",
        help="resolve every order, compare both legs on the exchange, propose (never trades)",
        parents=[common],
    )
    rec.add_argument("--yes", action="store_true", help="accept the proposal's option (sends it)")
    rec.add_argument("--option", type=int, default=1, help="which option of the proposal to accept")
    rec.add_argument("--json", action="store_true", help="print the correction's ExecutionResult as JSON")
    tr = sub.add_parser(
        "transfer",
        help="move USDT between the spot and futures wallets (top up margin, or back); confirmed by the wallets",
        parents=[common],
    )
    tr.add_argument("--to", required=True, choices=["futures", "spot"], help="the wallet that receives it")
    tr.add_argument("--amount", required=True, help="how much USDT (whole cents)")
    tr.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    sub.add_parser("tui", help="open the dashboard on the configured venue (the default command)", parents=[common])

    demo = sub.add_parser("demo", help="open the dashboard on a fresh embedded sandbox")
    demo.add_argument("--seed", type=int, default=7, help="seed of the sandbox's price walk")
    demo.add_argument("--tick-ms", type=int, default=100, help="interval of the sandbox's price walk in ms")
    demo.add_argument("--size-usd", default="2000", help="hedge size in USD")
    demo.add_argument("--theme", default=None, help="theme name (desk-dark, desk-light, desk-high-contrast)")
    demo.add_argument(
        "--funding-interval-s",
        type=int,
        default=60,
        help="seconds between the sandbox's funding settlements (default 60, so funding arrives at once)",
    )
    return parser


def _add_sandbox_flags(p: argparse.ArgumentParser, default_port: int) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (loopback unless --allow-remote)")
    p.add_argument("--port", type=int, default=default_port, help="TCP port (0 picks a free one)")
    p.add_argument("--seed", type=int, default=7, help="seed of the price walk (deterministic)")
    p.add_argument(
        "--latency-ms", type=int, default=0, help="one-way latency added to each request and each answer (ms)"
    )
    p.add_argument("--jitter-ms", type=int, default=0, help="random extra one-way latency, 0..N ms")
    p.add_argument("--tick-ms", type=int, default=100, help="interval of the price walk in ms")
    p.add_argument("--symbols", default="BTCUSDT", help="comma-separated symbols (BTCUSDT, ETHUSDT)")
    p.add_argument("--api-key", default=None, help="API key the sandbox accepts")
    p.add_argument("--api-secret", default=None, help="API secret the sandbox accepts")
    p.add_argument("--spot-usdt", default="100000", help="starting spot USDT balance")
    p.add_argument("--futures-usdt", default="100000", help="starting futures USDT wallet")
    p.add_argument("--strict-client-ids", action="store_true", help="also reject ids of finished orders")
    p.add_argument(
        "--funding-interval-s",
        type=int,
        default=8 * 3600,
        help="seconds between funding settlements (default 28800: Binance's 00:00/08:00/16:00 UTC)",
    )
    p.add_argument("--allow-remote", action="store_true", help="allow binding a non-loopback address")


def sandbox_options_from_args(args: argparse.Namespace) -> object:
    """Turn parsed flags into validated :class:`SandboxOptions` (raises ``OptionsError``)."""
    from hedgetui.sandbox.options import (
        DEFAULT_API_KEY,
        DEFAULT_API_SECRET,
        SandboxOptions,
        parse_decimal,
    )

    symbols = tuple(s.strip().upper() for s in str(args.symbols).split(",") if s.strip())
    return SandboxOptions(
        host=args.host,
        port=args.port,
        seed=args.seed,
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
        tick_ms=args.tick_ms,
        symbols=symbols,
        api_key=args.api_key or DEFAULT_API_KEY,
        api_secret=args.api_secret or DEFAULT_API_SECRET,
        spot_usdt=parse_decimal(args.spot_usdt, "--spot-usdt"),
        futures_usdt=parse_decimal(args.futures_usdt, "--futures-usdt"),
        allow_remote=args.allow_remote,
        strict_client_ids=args.strict_client_ids,
        funding_interval_s=args.funding_interval_s,
    ).validate()


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from hedgetui.sandbox.options import OptionsError, SandboxOptions
    from hedgetui.sandbox.server import SandboxServer, serve_forever

    try:
        options = sandbox_options_from_args(args)
    except OptionsError as exc:
        return _fail(str(exc))
    assert isinstance(options, SandboxOptions)

    def announce(server: SandboxServer) -> None:
        print(f"hedgetui sandbox listening on {server.base_url}", flush=True)
        print(f"  websocket base  {server.ws_url}", flush=True)
        print(f"  api key         {options.api_key}", flush=True)
        print(f"  api secret      {options.api_secret}", flush=True)
        print(f"  symbols         {', '.join(options.symbols)}  seed {options.seed}", flush=True)
        print(f"  funding every   {options.funding_interval_s} s", flush=True)
        print("  control API     GET /sandbox/state, POST /sandbox/faults ... (see README)", flush=True)
        print("Press Ctrl+C to stop.", flush=True)

    try:
        asyncio.run(serve_forever(options, on_ready=announce))
    except OSError as exc:
        return _fail(f"--port: cannot listen on {options.host}:{options.port}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from hedgetui.config.sizes import parse_size_usd
    from hedgetui.wiring import run_demo

    try:
        size = parse_size_usd(args.size_usd)
    except ValueError as exc:
        return _fail(f"--size-usd: {exc}")
    why = _unknown_theme(args.theme, "--theme")
    if why:
        return _fail(why)
    if args.tick_ms < 1:
        return _fail(f"--tick-ms: must be at least 1, got {args.tick_ms}")
    if args.funding_interval_s < 1:
        return _fail(f"--funding-interval-s: must be at least 1, got {args.funding_interval_s}")
    with contextlib.suppress(KeyboardInterrupt):
        return _print_outcome(
            asyncio.run(
                run_demo(
                    seed=args.seed,
                    tick_ms=args.tick_ms,
                    size_usd=size,
                    theme=args.theme,
                    funding_interval_s=args.funding_interval_s,
                )
            )
        )
    return EXIT_OK


def _unknown_theme(name: str | None, where: str) -> str | None:
    """One line when ``name`` is not a theme the dashboard can show (shipped or in the user's folder)."""
    if name is None:
        return None
    from hedgetui.ui.themes import load_themes, shipped_theme_dirs, user_theme_dir

    names = sorted(load_themes([*shipped_theme_dirs(), user_theme_dir()]).themes)
    if name in names:
        return None
    return f"{where}: unknown theme {name!r} (themes: {', '.join(names)})"


def _print_outcome(outcome: Outcome | None) -> int:
    """After the dashboard has closed: the end of the pipeline the operator quit during, and the exit code
    (3 when it left the hedge HALTED, else 0)."""
    if outcome is None:
        return EXIT_OK
    print(f"hedgetui: {outcome.text}", flush=True)
    return EXIT_HALTED if outcome.halted else EXIT_OK


def overrides_from_args(args: argparse.Namespace) -> dict[str, object]:
    """Command-line flags as dotted configuration overrides (the highest precedence)."""
    from hedgetui.config.loader import FLAG_SETTINGS

    out: dict[str, object] = {}
    for attr, (_flag, dotted) in FLAG_SETTINGS.items():
        value = getattr(args, attr, None)
        if value is not None:
            out[dotted] = str(value) if isinstance(value, Path) else value
    if "venue.url" in out and "venue.mode" not in out:
        out["venue.mode"] = "sandbox"  # --venue-url selects a running sandbox
    return out


def _cmd_config(args: argparse.Namespace) -> int:
    import os

    from hedgetui.config.loader import ConfigError, load, render_toml
    from hedgetui.config.secrets import MissingCredentials, SecretsError, resolve_credentials

    env = dict(os.environ)
    try:
        loaded = load(getattr(args, "config", None), env, overrides_from_args(args))
    except ConfigError as exc:
        return _fail_line(str(exc))
    origin = str(loaded.file) if loaded.file is not None else "defaults"
    missing: MissingCredentials | None = None
    try:
        credentials = resolve_credentials(loaded.config, env)
    except MissingCredentials as exc:
        if args.action == "check":
            return _fail_line(str(exc))
        missing, credentials = exc, None  # show still shows the configuration, with "none"
    except SecretsError as exc:
        return _fail_line(str(exc))
    if args.action == "check":
        print(f"config OK ({origin})")
        return EXIT_OK
    layers = f"defaults < {origin}" if loaded.file is not None else "defaults (no config file)"
    print(f"# hedgetui effective configuration: {layers} < HEDGETUI_* environment < flags")
    print(render_toml(loaded.config, loaded.sources))
    print("# Credentials: where the API keys come from. Not settings: never put keys in config.toml.")
    print("[credentials]")
    if credentials is None:
        assert missing is not None
        print('source = "none"')
        print(f"# {loaded.config.venue.mode.value} mode will refuse to start; tried {', '.join(missing.tried)}")
    else:
        print(f"source = {_quoted(credentials.source)}")
        print(f"api_key = {_quoted(credentials.masked_key())}")
        print('api_secret = "****"')
    return EXIT_OK


def _quoted(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)


def _cmd_trading(args: argparse.Namespace) -> int:
    from hedgetui import commands

    try:
        config, env = commands.load(args, overrides_from_args(args))
        if args.command == "history":
            if args.limit < 1:
                return _fail(f"--limit: must be at least 1, got {args.limit}")
            return asyncio.run(
                commands.run_history(
                    config,
                    limit=args.limit,
                    as_json=args.json,
                    stdout=sys.stdout,
                    env=env,
                    intents=args.intents,
                    csv_path=args.csv,
                )
            )
        if args.command == "status":
            return asyncio.run(commands.run_status(config, env, as_json=args.json, stdout=sys.stdout))
        if args.command == "transfer":
            return asyncio.run(
                commands.run_transfer_command(config, env, to=args.to, amount_text=args.amount, yes=args.yes)
            )
        return asyncio.run(
            commands.run_trading_command(
                args.command,
                config,
                env,
                size_text=getattr(args, "size_usd", None),
                yes=getattr(args, "yes", False),
                as_json=getattr(args, "json", False),
                option=getattr(args, "option", 1),
            )
        )
    except commands.UsageError as exc:
        return _fail(str(exc))
    except commands.SecretsError as exc:
        return _fail(str(exc).removeprefix("secrets: "), prefix="secrets")
    except commands.VenueError as exc:
        return _venue_failure(exc)


def _venue_failure(exc: Exception) -> int:
    """A venue error before anything was sent: a bad symbol or setting is bad input (2), else failed (1)."""
    print(f"hedgetui: venue: {exc}", file=sys.stderr)
    return EXIT_USAGE if getattr(exc, "source", "") in ("BadSymbol", "ConfigError") else EXIT_FAILED


def _cmd_tui(args: argparse.Namespace) -> int:
    from hedgetui import commands
    from hedgetui.wiring import run_dashboard

    try:
        config, env = commands.load(args, overrides_from_args(args))
        why = _unknown_theme(config.ui.theme, "--theme" if getattr(args, "theme", None) else "ui.theme")
        if why:
            return _fail(why)
        vsettings = commands.venue_settings(config, env)
        return _print_outcome(asyncio.run(run_dashboard(config, vsettings)))
    except commands.UsageError as exc:
        return _fail(str(exc))
    except commands.SecretsError as exc:
        return _fail(str(exc).removeprefix("secrets: "), prefix="secrets")
    except commands.VenueError as exc:
        return _venue_failure(exc)
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def _fail(line: str, prefix: str = "error") -> int:
    """One line on stderr, exit code 2. A message that already names its source (``config: …``) keeps it."""
    named = line.split(":", 1)[0] in ("config", "secrets", "venue")
    print(f"hedgetui: {line}" if named else f"hedgetui: {prefix}: {line}", file=sys.stderr)
    return EXIT_USAGE


def _fail_line(message: str) -> int:
    """A configuration or credentials error (already ``config: ...`` or ``secrets: ...``), exit code 2."""
    print(f"hedgetui: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hedgetui`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "sandbox":
        return _cmd_sandbox(args)
    if args.command == "demo":
        return _cmd_demo(args)
    if args.command == "config":
        return _cmd_config(args)
    if args.command in ("enter", "exit", "correct", "status", "history", "reconcile", "transfer"):
        return _cmd_trading(args)
    return _cmd_tui(args)
