"""Pilot tests: real keys on the dashboard, against the sandbox."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hedgetui.domain.execution import EndState
from hedgetui.domain.stages import PIPELINE_STAGES, PipelineKind, StageState
from hedgetui.engine.events import AlertEvent, Level
from hedgetui.ui.app import HedgeApp
from hedgetui.ui.screens.confirm import ConfirmScreen
from hedgetui.wiring import Stack
from tests.ui.conftest import make_app


async def wait_for(predicate, pilot, seconds: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not reached")


async def settle(app: HedgeApp, pilot) -> None:  # type: ignore[no-untyped-def]
    await wait_for(lambda: app.feed.spot_book.latest() is not None and app.feed.perp_book.latest() is not None, pilot)
    await wait_for(lambda: app.engine.reconciled, pilot)


async def test_enter_shows_every_stage_then_exit_goes_flat(stack: Stack, tmp_path: Path) -> None:
    app = make_app(stack, tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        await pilot.press("e")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen), pilot)
        await pilot.press("y")
        await wait_for(lambda: len(app.results) == 1, pilot)
        assert app.results[0].end_state is EndState.HEDGED
        states = {stage: state for stage, (state, _) in app.pipeline.states.items()}
        assert list(states) == list(PIPELINE_STAGES[PipelineKind.ENTER])
        assert all(s is StageState.DONE for s in states.values()), states
        await wait_for(
            lambda: app.feed.perp_position.latest() is not None and app.feed.perp_position.latest().value.amount != 0,
            pilot,
        )  # type: ignore[union-attr]
        app.refresh_engine_panes()
        assert "perp -0.03300" in app.hedge_pane.figures.shown.plain
        await pilot.press("x")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen), pilot)
        await pilot.press("y")
        await wait_for(lambda: len(app.results) == 2, pilot)
        assert app.results[1].end_state is EndState.FLAT
        assert stack.sandbox is not None and stack.sandbox.core.position("BTCUSDT").amount == 0


def notices(app: HedgeApp) -> list[str]:
    """The notifications on screen now (title and message)."""
    return [f"{n.title}: {n.message}" for n in app._notifications]


async def test_a_cancelled_confirmation_sends_nothing_and_flat_refuses_exit(stack: Stack, tmp_path: Path) -> None:
    app = make_app(stack, tmp_path)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await settle(app, pilot)
        await wait_for(lambda: app.poller.legs() is not None, pilot)
        await pilot.press("e")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen), pilot)
        await pilot.press("escape")
        assert app.check_action("exit_hedge", ()) is None and app.check_action("correct", ()) is None
        await pilot.press("x")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, ConfirmScreen)
        assert any("exit: not now: FLAT" in n for n in notices(app)), notices(app)
        await pilot.pause(0.2)
        assert stack.sandbox is not None and stack.sandbox.core.orders() == []
        assert app.results == []


async def test_correct_an_injected_drift(stack: Stack, tmp_path: Path) -> None:
    from hedgetui.ui.screens.proposal import ProposalScreen

    app = make_app(stack, tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        await stack.engine.enter(__import__("decimal").Decimal("2000"))
        assert stack.sandbox is not None
        stack.sandbox.core.set_position(
            "BTCUSDT", stack.sandbox.core.position("BTCUSDT").amount - __import__("decimal").Decimal("0.010")
        )
        # The drift monitor halts trading with a proposal; d shows it as a confirmation.
        await wait_for(lambda: stack.engine.proposal is not None and app.why_disabled("correct") is None, pilot)
        await wait_for(lambda: "EXTERNAL_DRIFT" in app.alerts.active, pilot)
        assert app.alerts.active["EXTERNAL_DRIFT"].needs_decision and app.alert_bar.display
        await pilot.press("d")
        await wait_for(lambda: isinstance(app.screen, ProposalScreen), pilot)
        assert "[1]" in app.screen.plan.visual.plain  # type: ignore[attr-defined]
        await pilot.press("y")
        await wait_for(lambda: any(r.pipeline is PipelineKind.CORRECT for r in app.results), pilot)
        result = next(r for r in app.results if r.pipeline is PipelineKind.CORRECT)
        assert result.success, result.reason
        # The alerts that needed this decision leave by themselves once the proposal is resolved.
        assert "EXTERNAL_DRIFT" not in app.alerts.active and "PROPOSAL" not in app.alerts.active
        assert stack.sandbox.core.position("BTCUSDT").amount == __import__("decimal").Decimal("-0.033")


async def test_breaker_opens_after_failures_and_enter_is_greyed(stack: Stack, tmp_path: Path) -> None:
    app = make_app(stack, tmp_path)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await settle(app, pilot)
        assert stack.sandbox is not None
        for _ in range(2):
            stack.sandbox.faults.add(
                {"match": "POST /fapi/v1/order", "action": "reject", "code": -2019, "msg": "Margin is insufficient."}
            )
            await stack.engine.enter(__import__("decimal").Decimal("2000"))
        await pilot.pause(0.3)
        app.refresh_engine_panes()
        assert app.check_action("enter", ()) is None  # shown greyed: the key does nothing
        assert "breaker open" in (app.why_disabled("enter") or "")
        assert "OPEN" in app.breaker_pane.shown.plain
        before = len(stack.sandbox.core.orders())
        await pilot.press("e")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, ConfirmScreen) and len(stack.sandbox.core.orders()) == before
        assert any(n.startswith("enter: not now: BREAKER_OPEN: breaker open") for n in notices(app)), notices(app)
        # The alert leaves by itself once the breaker is closed, and the log says so.
        assert "BREAKER_OPEN" in app.alerts.active and app.alert_bar.display
        await stack.engine.reset_breaker()
        app.refresh_engine_panes()
        assert "BREAKER_OPEN" not in app.alerts.active and not app.alert_bar.display
        cleared = [line for line in app.log_view.lines_kept if line.tag == "ALERT" and "cleared" in line.message]
        assert cleared and cleared[0].message == "BREAKER_OPEN cleared: breaker closed"


async def test_markup_looking_exchange_text_does_not_crash(stack: Stack, tmp_path: Path) -> None:
    app = make_app(stack, tmp_path)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await settle(app, pilot)
        assert stack.sandbox is not None
        stack.sandbox.faults.add(
            {
                "match": "POST /fapi/v1/order",
                "action": "reject",
                "code": -2010,
                "msg": "rejected [/requested] [bold]x[/] [link=foo]",
            }
        )
        stack.sandbox.faults.add(
            {"match": "POST /api/v3/order", "action": "reject", "code": -2010, "msg": "also [/oops]"}
        )
        await stack.engine.enter(__import__("decimal").Decimal("2000"))
        stack.engine.bus.publish(
            AlertEvent(
                ts_ms=0, kind="ALERT", message="[/requested] broke?", level=Level.CRITICAL, code="TEST", sticky=True
            )
        )
        await pilot.pause(0.5)
        assert app.is_running
        assert any("[/requested]" in line.message for line in app.log_view.lines_kept)


async def test_quit_during_a_pipeline_keeps_the_screen_then_returns_the_outcome(stack: Stack, tmp_path: Path) -> None:
    from hedgetui.ui.screens.quit import QuitScreen

    app = make_app(stack, tmp_path)
    assert stack.sandbox is not None
    # Long enough for the pipeline to outlast the key presses (the first returned after about two seconds
    # here, and a faster pipeline had ended by then): the quit must come while it runs.
    stack.sandbox.faults.add({"match": "POST /api/v3/order", "action": "latency", "ms": 5000})
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        task = stack.engine.start_enter(__import__("decimal").Decimal("2000"))
        await wait_for(lambda: app.view.inflight.stage is not None, pilot)
        await pilot.press("q")
        await wait_for(lambda: isinstance(app.screen, QuitScreen), pilot)
        assert "A pipeline is running: enter" in app.screen.status.visual.plain  # type: ignore[attr-defined]
        await pilot.press("y")
        await wait_for(lambda: app.quit_banner.display, pilot)
        assert app.is_running and "waiting for enter at" in app.quit_banner.shown.plain
        assert "IN FLIGHT" in app.hedge_pane.figures.shown.plain
        assert "NEEDS CORRECTION" not in app.hedge_pane.figures.shown.plain
        await wait_for(lambda: app.closing, pilot, 20)
    result = await asyncio.wait_for(task, 15)
    assert result.end_state is EndState.HEDGED
    outcome = app.return_value
    assert outcome is not None and "ended HEDGED" in outcome.text and not outcome.halted, outcome


async def test_the_hedge_pane_never_advises_a_correction_while_a_pipeline_runs(stack: Stack, tmp_path: Path) -> None:
    app = make_app(stack, tmp_path)
    assert stack.sandbox is not None
    stack.sandbox.faults.add({"match": "POST /api/v3/order", "action": "latency", "ms": 1500})
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        task = stack.engine.start_enter(__import__("decimal").Decimal("2000"))
        shown: list[str] = []
        while not task.done():
            app.refresh_engine_panes()
            shown.append(app.hedge_pane.figures.shown.plain)
            await pilot.pause(0.1)
        assert all("NEEDS CORRECTION" not in s and "correct:" not in s for s in shown)
        assert any("spot BUY 0.03300 sent, unconfirmed" in s for s in shown), shown[-3:]
        # What the exchange confirmed, as the in-flight record holds it at the end of the run.
        assert app.view.inflight.lines(5) == [
            "perp SELL 0.03300 filled 0.03300 ✓",
            "spot BUY 0.03300 filled 0.03300 ✓",
        ]
        await wait_for(lambda: not app.engine.busy, pilot)
        app.refresh_engine_panes()
        assert "IN FLIGHT" not in app.hedge_pane.figures.shown.plain


async def test_resize_to_100x30_keeps_panes_visible(stack: Stack, tmp_path: Path) -> None:
    app = make_app(stack, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.pause(0.3)
        for widget in (
            app.spot_pane,
            app.perp_pane,
            app.hedge_pane,
            app.breaker_pane,
            app.slippage_pane,
            app.pipeline,
            app.log_view,
        ):
            assert widget.region.width > 0 and widget.region.height > 0, widget
        assert app.spot_pane.book_view.levels >= 1


async def test_palette_runs_actions_through_the_same_checks(stack: Stack, tmp_path: Path) -> None:
    from hedgetui.ui.actions import ACTIONS
    from hedgetui.ui.commands import HedgeCommands

    app = make_app(stack, tmp_path)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await settle(app, pilot)
        assert HedgeCommands in app.COMMANDS
        assert {a.name for a in ACTIONS} >= {"enter", "exit_hedge", "correct", "reset_breaker"}
        app.run_palette_action("enter")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen), pilot)
        await pilot.press("escape")
        stack.engine.breaker.trip()
        app.run_palette_action("enter")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, ConfirmScreen)
        assert stack.sandbox is not None and stack.sandbox.core.orders() == []


async def test_help_lists_every_key_and_why_greyed(stack: Stack, tmp_path: Path) -> None:
    from hedgetui.ui.screens.help import HelpScreen

    app = make_app(stack, tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        stack.engine.breaker.trip()
        await pilot.press("question_mark")
        await wait_for(lambda: isinstance(app.screen, HelpScreen), pilot)
        rows = app.screen.rows  # type: ignore[attr-defined]
        assert {key for key, _, _ in rows} >= {"e", "x", "d", "s", "t", "b", "q"}
        enter = next(r for r in rows if r[0] == "e")
        assert enter[2] and "breaker open" in enter[2]


async def test_keys_are_remappable(stack: Stack, tmp_path: Path) -> None:
    app = make_app(stack, tmp_path, keys={"enter": "n"})
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        await pilot.press("e")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen), pilot)


async def test_a_broken_theme_file_is_reported_once_and_skipped(stack: Stack, tmp_path: Path) -> None:
    from hedgetui.ui.themes import shipped_theme_dirs

    user = tmp_path / "themes"
    user.mkdir()
    (user / "broken.toml").write_text('name = "broken"\nprimary = "#zzzzzz"\n')
    app = make_app(stack, tmp_path, theme_dirs=(*shipped_theme_dirs(), user), theme="broken")
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await settle(app, pilot)
        assert app.theme == "desk-dark" and "broken" not in app.desk_themes
        assert len(app.theme_errors) == 1 and "broken.toml" in app.theme_errors[0]
        await pilot.press("T")
        assert app.theme in app.desk_themes and app.theme != "desk-dark"


async def test_the_log_starts_with_the_journal_of_earlier_sessions(stack: Stack, tmp_path: Path) -> None:
    await stack.engine.journal.record_event("ALERT", "from an earlier session", level="critical")
    stack.engine.started_ms += 10_000  # everything journaled so far counts as earlier
    app = make_app(stack, tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        await pilot.pause(0.3)
        assert any(
            line.message == "from an earlier session" and line.tag == "ALERT*" for line in app.log_view.lines_kept
        )


async def test_the_quit_dialog_follows_a_pipeline_that_ends_while_it_is_open(stack: Stack, tmp_path: Path) -> None:
    from hedgetui.ui.screens.quit import QuitScreen

    app = make_app(stack, tmp_path)
    assert stack.sandbox is not None
    stack.sandbox.faults.add({"match": "POST /api/v3/order", "action": "latency", "ms": 800})
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        task = stack.engine.start_enter(__import__("decimal").Decimal("2000"))
        await wait_for(lambda: app.view.inflight.stage is not None, pilot)
        await pilot.press("ctrl+q")  # Textual's own quit key takes the same path as q
        await wait_for(lambda: isinstance(app.screen, QuitScreen), pilot)
        screen = app.screen
        assert isinstance(screen, QuitScreen)
        await asyncio.wait_for(asyncio.shield(task), 15)
        await wait_for(lambda: "has ended" in screen.status.visual.plain, pilot)  # type: ignore[union-attr]
        assert "ended HEDGED" in screen.status.visual.plain  # type: ignore[union-attr]
        await pilot.press("n")
        assert app.is_running and not app.quitting
