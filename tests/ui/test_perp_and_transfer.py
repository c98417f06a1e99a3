"""Pilot tests: the hedge pane's money and perp figures, the P&L screen, and the transfer screen (bad input is
one line and nothing is sent; a confirmed top-up moves the simulated venue's wallets)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from textual.widgets import Input, Static

from hedgetui.ui.app import HedgeApp
from hedgetui.ui.screens.confirm import ConfirmScreen
from hedgetui.ui.screens.pnl import PnlScreen
from hedgetui.ui.screens.transfer import TransferScreen
from tests.ui.test_snapshots import WALL_MS, app  # noqa: F401  (the deterministic dashboard fixture)


async def wait_for_screen(app: HedgeApp, pilot: object, kind: type) -> None:  # noqa: F811
    for _ in range(100):
        if isinstance(app.screen, kind):
            return
        await pilot.pause(0.05)  # type: ignore[attr-defined]
    raise AssertionError(f"{kind.__name__} did not open")


async def test_hedge_pane_shows_both_legs_pnl_and_the_perp_figures(app: HedgeApp) -> None:  # noqa: F811
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.2)
        app.refresh_engine_panes()
        await pilot.pause(0.1)
        text = app.hedge_pane.figures.shown.plain
        assert "net -2.18 USDT · APR 11.0 %" in text
        assert "fund +0.79 fee -1.98 px -0.99" in text
        assert "next fund +0.1981 in 00:00:42" in text
        assert "held 5 h 00 m · b/e 11 h 00 m" in text and "basis entry +5.0 → now +5.0 bps" in text
        assert "margin 0.0 % · liq 29.9 %" in text and "perp uPnL" in text and "uPnL -" not in text.split("\n")[3]
        assert len(app.hedge_pane.funding_chart.data or []) == 4
        # The liquidation distance is coloured by its level: 29.9 % is OK; past the warning the pane says so.
        app.engine.perp_watch.thresholds = app.engine.settings.perp_watch.__class__(
            liq_distance_warn_pct=Decimal("35"), liq_distance_critical_pct=Decimal("7")
        )
        await app.engine.read_perp()
        app.refresh_engine_panes()
        await pilot.pause(0.1)
        assert app.hedge_pane.has_class("-perp-warn")
        spans = [s for s in app.hedge_pane.figures.shown.spans if s.style]
        assert spans, "the perp figures carry their level's style"
        await pilot.press("p")
        await wait_for_screen(app, pilot, PnlScreen)
        full = app.screen.query_one("#pnl-figures", Static).render()
        assert "liquidation 29.9 % away" in str(full)


async def test_transfer_screen_bad_input_is_one_line_and_sends_nothing(app: HedgeApp) -> None:  # noqa: F811
    venue = app.engine.venue
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("m")
        await wait_for_screen(app, pilot, TransferScreen)
        for bad, fragment in (("abc", "not a number"), ("-5", "positive"), ("1.234", "decimal places")):
            app.screen.query_one(Input).value = bad
            await pilot.press("enter")
            await pilot.pause(0.05)
            error = str(app.screen.query_one("#transfer-error", Static).render())
            assert fragment in error and "\n" not in error.strip(), error
        app.screen.query_one(Input).value = "999999999"
        await pilot.press("enter")
        await pilot.pause(0.05)
        assert "spot wallet has" in str(app.screen.query_one("#transfer-error", Static).render())
        assert venue.calls["transfer"] == 0  # type: ignore[attr-defined]
        spot = venue.spot["USDT"]  # type: ignore[attr-defined]
        app.screen.query_one(Input).value = "500"
        await pilot.press("enter")
        await wait_for_screen(app, pilot, ConfirmScreen)
        await pilot.press("n")  # declined: nothing moves
        await pilot.pause(0.1)
        assert venue.calls["transfer"] == 0 and venue.spot["USDT"] == spot  # type: ignore[attr-defined]
        await pilot.press("m")
        await wait_for_screen(app, pilot, TransferScreen)
        app.screen.query_one(Input).value = "500"
        await pilot.press("enter")
        await wait_for_screen(app, pilot, ConfirmScreen)
        await pilot.press("y")
        for _ in range(100):
            if venue.calls["transfer"] and not app.engine.busy:  # type: ignore[attr-defined]
                break
            await pilot.pause(0.05)
        assert venue.spot["USDT"] == spot - 500  # type: ignore[attr-defined]


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
async def test_the_transfer_error_line_is_on_screen(app: HedgeApp, size: tuple[int, int]) -> None:  # noqa: F811
    """The error line is not only set but visible inside the dialog, at the smallest supported size too."""
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.2)
        await pilot.press("m")
        await wait_for_screen(app, pilot, TransferScreen)
        app.screen.query_one(Input).value = "abc"
        await pilot.press("enter")
        await pilot.pause(0.1)
        error = app.screen.query_one("#transfer-error", Static)
        assert "not a number" in str(error.render())
        assert error.region.height >= 1, error.region
        # Inside every container up to the screen: not laid out below a dialog that clips it.
        widget = error
        while widget.parent is not None and widget.parent is not app.screen:
            widget = widget.parent  # type: ignore[assignment]
            assert widget.region.contains_region(error.region), (widget, widget.region, error.region)
        assert app.screen.region.contains_region(error.region)
