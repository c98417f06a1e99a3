"""One intent from the journal: its orders, their fills and fees, its events with timings, its end.

``←``/``→`` step through the latest intents. The journal is read when the screen opens or steps; nothing
here is live. Fees come from this session's fill events (the journal's ``fills_for`` carries none yet).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from hedgetui.engine.events import EngineEvent, FillEvent
from hedgetui.engine.journal import Journal
from hedgetui.ui.alerts import readable


def _ts(ms: int | None) -> str:
    if not ms:
        return "—"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


async def intent_detail(journal: Journal, row: dict[str, Any], recent: list[EngineEvent]) -> Text:
    """The whole story of one intent as the journal tells it."""
    iid = str(row["intent_id"])
    text = Text()
    text.append(f"{row['kind'].upper()} {iid}", style="bold")
    text.append(f"  started {_ts(row['created_ms'])} UTC")
    if row.get("size_usd") is not None:
        text.append(f" · size {Decimal(row['size_usd']):,.2f} USD")
    if row.get("quantity") is not None:
        text.append(f" · quantity {row['quantity']}")
    text.append("\n")
    if row.get("end_state"):
        took = ""
        if row.get("ended_ms") and row.get("created_ms"):
            took = f" after {(row['ended_ms'] - row['created_ms']) / 1000:.2f} s"
        text.append(f"ended {row['end_state']}{took}: {readable(str(row.get('reason') or ''), 300)}\n", style="bold")
        if row.get("spot_qty") is not None:
            text.append(f"legs at the end: spot {row['spot_qty']} · perp {row['perp_qty']}\n")
    else:
        text.append("not ended (running, or unfinished: reconciliation resolves it)\n", style="bold")
    fees: dict[str, list[str]] = {}
    for event in recent:
        if isinstance(event, FillEvent) and event.intent_id == iid and event.fee is not None:
            fees.setdefault(event.cid, []).append(f"{event.fee} {event.fee_asset or ''}".strip())
    text.append("\nOrders\n", style="bold underline")
    submits = await journal.submits(iid)
    if not submits:
        text.append("  none sent\n")
    for s in submits:
        text.append(
            f"  {_ts(s.created_ms)[11:]}  {s.market:<4} {s.side.upper():<4} {s.quantity} "
            f"{'reduce-only ' if s.reduce_only else ''}cid {s.cid} (leg {s.leg}, attempt {s.attempt})\n"
        )
        fills = await journal.fills_for(s.cid)
        total = sum((q for _, q, _ in fills), Decimal(0))
        if fills:
            avg = sum((q * p for _, q, p in fills), Decimal(0)) / total if total else Decimal(0)
            fee = ", ".join(fees.get(s.cid, [])) or "fee not in this session's events"
            text.append(f"      filled {total} in {len(fills)} trade(s), avg {avg:,.2f} · fees {fee}\n")
        else:
            text.append("      no fill journaled\n")
    text.append("\nEvents\n", style="bold underline")
    for e in await journal.events(intent_id=iid):
        text.append(f"  {_ts(e.created_ms)[11:]}  {e.level:<8} {e.kind:<10} {readable(e.message, 200)}\n")
    return text


class IntentScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    IntentScreen { align: center middle; }
    IntentScreen > VerticalScroll {
        width: 120; max-width: 98%; height: 90%; border: thick $accent; background: $surface; padding: 0 1;
    }
    """

    BINDINGS = [
        Binding("escape", "close", "close"),
        Binding("i", "close", "close", show=False),
        Binding("left", "step(1)", "older"),
        Binding("right", "step(-1)", "newer"),
    ]

    def __init__(self, journal: Journal, recent: list[EngineEvent]) -> None:
        super().__init__()
        self.journal = journal
        self.recent = recent
        self.rows: list[dict[str, Any]] = []
        self.index = 0
        self.body = Static(Text("reading the journal…"))

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Label(Text("Intent detail (← older · → newer · Escape closes)"))
            yield self.body

    def on_mount(self) -> None:
        self._load()

    @work(group="intent-detail", exclusive=True)
    async def _load(self) -> None:
        # Reading the journal is not an order flow: an exclusive worker is fine here.
        if not self.rows:
            self.rows = await self.journal.history(limit=50)
        if not self.rows:
            self.body.update(Text("the journal holds no intent yet"))
            return
        self.body.update(await intent_detail(self.journal, self.rows[self.index], self.recent))

    def action_step(self, delta: int) -> None:
        if self.rows:
            self.index = max(0, min(len(self.rows) - 1, self.index + delta))
            self._load()

    def action_close(self) -> None:
        self.dismiss(None)
