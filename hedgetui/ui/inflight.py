"""What a running pipeline has sent and what the exchange has confirmed, from the engine's ordered events.

While a pipeline holds the legs, the streamed balances and position lag behind the orders (one leg
filled, the other still in doubt), so a drift computed from them would recommend a correction the
pipeline is already making. The hedge pane shows this record instead, and drift with its advice comes
back only once the pipeline has ended. Pure: no Textual, fed one event at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from hedgetui.domain.stages import PipelineKind, Stage, StageState
from hedgetui.engine.events import EngineEvent, FillEvent, StageEvent


@dataclass
class LegFlight:
    """One order of the running pipeline."""

    cid: str
    market: str
    side: str
    sent: Decimal
    filled: Decimal = Decimal(0)
    in_doubt: bool = False
    ended: str | None = None  #: "rejected", "canceled", ... when the engine said so

    def describe(self, places: int) -> str:
        """``perp BUY 0.03300 filled 0.03300 ✓`` / ``spot SELL 0.03296 sent, unconfirmed`` (fits 36 cells)."""
        text = f"{self.market} {self.side} {self.sent:.{places}f}"
        if self.filled:
            mark = "✓" if self.filled >= self.sent else "partial"
            return f"{text} filled {self.filled:.{places}f} {mark}"
        if self.ended:
            return f"{text} {self.ended}"
        if self.in_doubt:
            return f"{text} IN DOUBT (lookup)"
        return f"{text} sent, unconfirmed"


@dataclass
class InFlight:
    """The orders and stage of the pipeline that runs now (or ran last)."""

    pipeline: PipelineKind | None = None
    intent_id: str | None = None
    stage: Stage | None = None
    legs: dict[str, LegFlight] = field(default_factory=dict)
    ended: bool = True

    def apply(self, event: EngineEvent) -> None:
        """Take one engine event (any kind; the irrelevant ones are ignored)."""
        if isinstance(event, StageEvent) and event.pipeline is not None:
            new_run = event.intent_id != self.intent_id or event.pipeline is not self.pipeline
            if new_run and event.state is StageState.RUNNING:
                self.pipeline, self.intent_id, self.legs, self.ended = event.pipeline, event.intent_id, {}, False
            if event.state is StageState.RUNNING:
                self.stage = event.stage
            if event.stage is Stage.DONE and event.state in (StageState.DONE, StageState.FAILED):
                self.ended = True
            return
        if event.intent_id is None or event.intent_id != self.intent_id:
            return
        cid = str(event.data.get("cid", ""))
        if event.kind == "SUBMIT":
            # The engine's SUBMIT event carries the order's fields (market, side, quantity) in its data.
            d = event.data
            try:
                qty = Decimal(str(d["quantity"]))
            except (KeyError, InvalidOperation):
                return
            self.legs[cid] = LegFlight(cid, str(d.get("market", "")), str(d.get("side", "")).upper(), qty)
        elif isinstance(event, FillEvent) and event.cid in self.legs:
            leg = self.legs[event.cid]
            leg.filled += event.quantity
            leg.in_doubt = False
        elif event.kind == "AMBIGUOUS" and cid in self.legs:
            self.legs[cid].in_doubt = True
        elif event.kind in ("REJECT", "REJECTED", "CANCEL", "EXPIRED") and cid in self.legs:
            self.legs[cid].ended = event.kind.lower()

    def where(self) -> str:
        """``enter at orders`` (what the quit banner and the hedge pane say)."""
        if self.pipeline is None:
            return "a pipeline"
        return f"{self.pipeline.value}" + (f" at {self.stage.value}" if self.stage is not None else "")

    def lines(self, places: int) -> list[str]:
        """One line per order sent, oldest first."""
        return [leg.describe(places) for leg in self.legs.values()]
