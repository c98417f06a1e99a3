"""The main screen at 80×24, 100×30, 160×48 and 200×60: what must stay in view, and no figure cut."""

from __future__ import annotations

import pytest
from textual.widget import Widget

from hedgetui.ui.app import HedgeApp
from hedgetui.ui.widgets.text_line import TextLine
from tests.ui.test_snapshots import WALL_MS, app  # noqa: F401  (the deterministic dashboard fixture)

SIZES = [(80, 24), (100, 30), (160, 48), (200, 60)]


def in_view(dashboard: HedgeApp, widget: Widget) -> bool:
    """The widget is laid out with a non-empty region entirely inside the terminal."""
    region = widget.region
    screen = dashboard.screen.region
    return bool(region.width and region.height) and screen.contains_region(region)


def fits(widget: TextLine) -> bool:
    """Every line of the widget's text fits its content width (nothing cut at the right edge)."""
    width = widget.content_region.width
    return all(len(line) <= width for line in widget.shown.plain.split("\n"))


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
async def test_what_must_stay_in_view(app: HedgeApp, size: tuple[int, int]) -> None:  # noqa: F811
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.2)
        app.refresh_panes()
        app.refresh_engine_panes()
        app.status_bar.tick_clock(WALL_MS)
        await pilot.pause(0.2)
        for widget in (
            app.status_bar.badge,
            app.status_bar.clock,
            app.hedge_pane,
            app.breaker_pane,
            app.pipeline,
            app.spot_pane.book_view,
            app.perp_pane.book_view,
            app.log_view,
        ):
            assert in_view(app, widget), (size, widget, widget.region)
        hedge = app.hedge_pane.figures.shown.plain
        assert "spot +0.03297" in hedge and "perp -0.03300" in hedge and "drift -10.0 bps" in hedge
        assert "CLOSED" in app.breaker_pane.shown.plain
        assert "done" in app.pipeline.shown.plain
        assert app.spot_pane.book_view.levels >= 2
        for widget in (
            app.hedge_pane.figures,
            app.breaker_pane,
            app.slippage_pane,
            app.pipeline,
            app.spot_pane.market_line,
            app.perp_pane.market_line,
            app.status_bar.health,
        ):
            assert fits(widget), (size, widget, widget.shown.plain, widget.content_region.width)
        shown = {k.key for k in app.footer.query("FooterKey") if in_view(app, k)}  # type: ignore[attr-defined]
        assert {"question_mark", "q", "e", "x", "d", "s", "t"} <= shown, shown
        if size[0] >= 160:
            assert {"f", "a", "i", "b", "r"} <= shown, shown


async def test_a_live_resize_relays_out(app: HedgeApp) -> None:  # noqa: F811
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.2)
        assert not app.has_class("-tiny-cols")
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.3)
        assert app.has_class("-tiny-cols") and app.has_class("-tiny-rows")
        for widget in (app.status_bar.badge, app.status_bar.clock, app.hedge_pane, app.breaker_pane, app.pipeline):
            assert in_view(app, widget), widget
        await pilot.resize_terminal(160, 48)
        await pilot.pause(0.3)
        assert not app.has_class("-narrow") and app.hedge_pane.region.x > 100
