"""The in-flight record the hedge pane shows while a pipeline holds the legs."""

from __future__ import annotations

from decimal import Decimal

from hedgetui.domain.stages import PipelineKind, Stage, StageState
from hedgetui.engine.events import EngineEvent, FillEvent, StageEvent
from hedgetui.ui.inflight import InFlight


def stage(stage: Stage, state: StageState, intent: str = "i1") -> StageEvent:
    return StageEvent(
        ts_ms=0, kind="STAGE", message="", intent_id=intent, pipeline=PipelineKind.EXIT, stage=stage, state=state
    )


def submit(cid: str, market: str, side: str, qty: str) -> dict[str, object]:
    """The data of the engine's SUBMIT event (as ``OrderExecutor.submit`` publishes it)."""
    return {"cid": cid, "leg": "x", "attempt": 1, "market": market, "side": side, "quantity": Decimal(qty)}


def test_an_exit_whose_perp_close_is_in_doubt() -> None:
    f = InFlight()
    f.apply(stage(Stage.GUARDS, StageState.RUNNING))
    f.apply(stage(Stage.ORDERS, StageState.RUNNING))
    f.apply(EngineEvent(0, "SUBMIT", "spot SELL", intent_id="i1", data=submit("hgAS", "spot", "sell", "0.03296")))
    f.apply(EngineEvent(0, "SUBMIT", "perp BUY", intent_id="i1", data=submit("hgAP", "perp", "buy", "0.033")))
    f.apply(
        FillEvent(
            0,
            "FILL",
            "spot SELL",
            intent_id="i1",
            cid="hgAS",
            leg="spot_close",
            quantity=Decimal("0.03296"),
            price=Decimal(60000),
        )
    )
    f.apply(EngineEvent(0, "AMBIGUOUS", "timeout on hgAP", intent_id="i1", data={"cid": "hgAP"}))
    f.apply(EngineEvent(0, "SUBMIT", "spot BUY", intent_id="someone-else", data=submit("x", "spot", "buy", "1")))
    assert f.where() == "exit at orders" and not f.ended
    lines = f.lines(5)
    assert lines == ["spot SELL 0.03296 filled 0.03296 ✓", "perp BUY 0.03300 IN DOUBT (lookup)"]
    assert all(len(line) <= 36 for line in lines)
    f.apply(stage(Stage.DONE, StageState.DONE))
    assert f.ended
    f.apply(stage(Stage.GUARDS, StageState.RUNNING, intent="i2"))
    assert f.intent_id == "i2" and f.lines(5) == [] and not f.ended
