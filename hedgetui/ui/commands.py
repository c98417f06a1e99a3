"""The command palette: every dashboard action, run through ``run_action`` so the same checks apply."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import Hit, Hits, Provider

if TYPE_CHECKING:
    from hedgetui.ui.app import HedgeApp

#: (palette title, action name, help text)
PALETTE: tuple[tuple[str, str, str], ...] = (
    ("Enter hedge", "enter", "short the perp and buy spot, after a confirmation"),
    ("Exit hedge", "exit_hedge", "sell spot and buy back the perp, after a confirmation"),
    ("Correct drift", "correct", "one order on the larger leg, after a confirmation"),
    ("Change hedge size", "size", "set the size in USD"),
    ("Reconcile now", "reconcile", "resolve every order, compare both legs, propose (never trades)"),
    ("Switch trading state", "trading_state", "ACTIVE → REDUCING → HALTED"),
    ("Reset circuit breaker", "reset_breaker", "close the breaker by hand"),
    ("Next theme", "next_theme", "switch the colour theme"),
    ("Log filter", "log_filter", "all → warn → error"),
    ("Acknowledge alerts", "acknowledge", "dismiss the alerts on screen"),
    ("Help", "help", "every key and why it may be greyed"),
    ("Quit", "quit_app", "waits for a running pipeline"),
)


class HedgeCommands(Provider):
    """Palette entries for the hedge actions; a disabled one says why instead of running."""

    async def search(self, query: str) -> Hits:
        app: HedgeApp = self.app  # type: ignore[assignment]
        matcher = self.matcher(query)
        for title, action, text in PALETTE:
            score = matcher.match(title)
            if score <= 0:
                continue
            why = app.why_disabled(action)
            help_text = f"unavailable: {why}" if why else text
            yield Hit(score, matcher.highlight(title), partial(app.run_palette_action, action), help=help_text)

    async def discover(self) -> Hits:
        app: HedgeApp = self.app  # type: ignore[assignment]
        for title, action, text in PALETTE:
            why = app.why_disabled(action)
            yield Hit(1.0, title, partial(app.run_palette_action, action), help=f"unavailable: {why}" if why else text)
