"""Plans that say what will happen, trading state chosen directly, a log without noise, intent detail."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from hedgetui.domain.risk import TradingState
from hedgetui.ui.screens.confirm import ConfirmScreen
from hedgetui.ui.screens.intent import IntentScreen
from hedgetui.ui.screens.state import TradingStateScreen
from hedgetui.wiring import Stack
from tests.ui.conftest import make_app
from tests.ui.test_dashboard import settle, wait_for


def plan_text(screen: object) -> str:
    assert isinstance(screen, ConfirmScreen)
    return screen.plan.plain


async def test_a_second_entry_says_it_adds_to_the_open_hedge(stack: Stack, tmp_path: Path) -> None:
    app = make_app(stack, tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        await stack.engine.enter(Decimal("2000"))
        await wait_for(lambda: (legs := app.poller.legs()) is not None and legs.perp_qty != 0, pilot)
        await pilot.press("e")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen), pilot)
        text = plan_text(app.screen)
        assert "adds to the open hedge: 0.033 → 0.066 BTC" in text, text
        assert "leg mode: both legs sent together (concurrent)" in text
        assert "fees ≈" in text and "spot buy  expected" in text and "perp sell expected" in text
        await pilot.press("n")
        await pilot.press("x")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen), pilot)
        text = plan_text(app.screen)
        assert "spot sell expected" in text and "perp buy  expected" in text and "bps vs mid" in text
        # Figures to each market's tick: no runaway decimals anywhere in the plan.
        assert all(len(tok.split(".")[-1]) <= 8 for tok in text.replace(",", "").split() if tok[:1].isdigit())
        await pilot.press("n")


async def test_reducing_is_explained_and_goes_straight_back_to_active(stack: Stack, tmp_path: Path) -> None:
    app = make_app(stack, tmp_path)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await settle(app, pilot)
        await pilot.press("t")
        await wait_for(lambda: isinstance(app.screen, TradingStateScreen), pilot)
        await pilot.press("2")
        await wait_for(lambda: app.engine.trading_state is TradingState.REDUCING, pilot)
        app.refresh_engine_panes()
        assert "exits and reducing corrections only" in app.breaker_pane.shown.plain
        await pilot.press("e")
        await pilot.pause(0.2)
        assert any("TRADING_REDUCING" in n.message for n in app._notifications)
        await pilot.press("t")
        await wait_for(lambda: isinstance(app.screen, TradingStateScreen), pilot)
        await pilot.press("1")
        await wait_for(lambda: app.engine.trading_state is TradingState.ACTIVE, pilot)


async def test_the_log_has_one_line_per_event_that_matters_and_the_intent_detail(stack: Stack, tmp_path: Path) -> None:
    app = make_app(stack, tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        result = await stack.engine.enter(Decimal("2000"))
        await pilot.pause(0.3)
        mine = [line for line in app.log_view.lines_kept if line.intent == result.intent_id]
        kinds = [line.tag for line in mine]
        assert "SUBMIT" in kinds and "FILL" in kinds and "END" in kinds, kinds
        assert not any(line.tag == "STAGE" or "running" in line.message for line in mine), kinds
        assert app.log_view.border_title is not None and "showing all" in str(app.log_view.border_title)
        await pilot.press("f")
        assert "warnings and errors" in str(app.log_view.border_title)
        await pilot.press("i")
        await wait_for(lambda: isinstance(app.screen, IntentScreen), pilot)
        screen = app.screen
        assert isinstance(screen, IntentScreen)
        await wait_for(lambda: "Orders" in screen.body.visual.plain, pilot)  # type: ignore[union-attr]
        body = screen.body.visual.plain  # type: ignore[union-attr]
        assert f"ENTER {result.intent_id}" in body and "ended HEDGED" in body
        assert body.count("cid hg") == 2 and "filled 0.033" in body and "fees " in body
