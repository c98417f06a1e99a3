"""Dialogs at 80×24: the plan, the help and the buttons stay reachable."""

from __future__ import annotations

from hedgetui.ui.app import HedgeApp
from hedgetui.ui.screens.confirm import ConfirmScreen
from hedgetui.ui.screens.help import HelpScreen
from tests.ui.test_snapshots import app  # noqa: F401  (the deterministic dashboard fixture)


async def test_the_exit_plan_and_its_buttons_fit_80x24(app: HedgeApp) -> None:  # noqa: F811
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("x")
        for _ in range(40):
            if isinstance(app.screen, ConfirmScreen):
                break
            await pilot.pause(0.05)
        await pilot.pause(0.2)
        screen = app.screen
        assert isinstance(screen, ConfirmScreen)
        for button in screen.query("Button"):
            assert screen.region.contains_region(button.region), button


async def test_help_scrolls_at_80x24(app: HedgeApp) -> None:  # noqa: F811
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("question_mark")
        await pilot.pause(0.3)
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        box = screen.query_one("#help-box")
        assert screen.region.contains_region(box.region)
