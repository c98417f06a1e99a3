"""The command palette: every entry of the action table, run through the same refusal check as the keys."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import Hit, Hits, Provider

from hedgetui.ui.actions import ACTIONS

if TYPE_CHECKING:
    from hedgetui.ui.app import HedgeApp


class HedgeCommands(Provider):
    """Palette entries for the dashboard's actions; a refused one says why instead of running."""

    def _help(self, app: HedgeApp, name: str, text: str) -> str:
        why = app.why_disabled(name)
        return f"unavailable: {why}" if why else text

    async def search(self, query: str) -> Hits:
        app: HedgeApp = self.app  # type: ignore[assignment]
        matcher = self.matcher(query)
        for action in ACTIONS:
            score = matcher.match(action.palette)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(action.palette),
                    partial(app.run_palette_action, action.name),
                    help=self._help(app, action.name, action.help),
                )

    async def discover(self) -> Hits:
        app: HedgeApp = self.app  # type: ignore[assignment]
        for action in ACTIONS:
            yield Hit(
                1.0,
                action.palette,
                partial(app.run_palette_action, action.name),
                help=self._help(app, action.name, action.help),
            )
