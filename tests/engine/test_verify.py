"""The early verification read (``hedgetui.engine.verify``): sent only once every answer is terminal, used
only while no order went out after it, and never the sole basis of a correction or a halt."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path
from typing import Any

from hedgetui.domain.orders import OrderResult, OrderStatus, Side
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.hedge import ExchangeLegs
from hedgetui.engine.journal import Journal
from hedgetui.engine.legs import HaltRequired, Placement, Resolution
from hedgetui.engine.verify import EarlyReading, answered, verification_legs

INTENT = "aaaaaaaaaaaa"


class NoStream:
    """A venue without a user data stream: ``wait_order`` answers None at once (then polls/REST)."""

    def __init__(self) -> None:
        self.waited: list[str] = []

    async def wait_order(self, kind: MarketKind, client_order_id: str, timeout_s: float) -> OrderResult | None:
        self.waited.append(client_order_id)
        return None


class Legs:
    """A stand-in for HedgeState.read: the exchange's perp position as it is when a read runs."""

    def __init__(self, perp: str) -> None:
        self.perp = D(perp)
        self.reads = 0
        self.venue = NoStream()

    async def read(self, *, streamed: bool = False) -> ExchangeLegs:
        self.reads += 1
        return ExchangeLegs("BTC", -self.perp, D(0), self.perp, D(60000), self.reads)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def placement(status: OrderStatus, resolution: Resolution = Resolution.PLACED) -> Placement:
    order = OrderResult(
        order_id="1",
        client_order_id="c",
        symbol="BTC/USDT",
        kind=MarketKind.SPOT,
        side=Side.BUY,
        type="market",
        amount=D("0.01"),
        filled=D("0.01") if status is OrderStatus.FILLED else D(0),
        remaining=D(0),
        average=None,
        cost=D(0),
        status=status,
    )
    return Placement("c", 1, resolution, order=order)


async def submit(journal: Journal, cid: str, attempt: int = 1) -> None:
    await journal.record_submit(
        cid=cid,
        intent_id=INTENT,
        leg="spot_open",
        attempt=attempt,
        market="spot",
        side="buy",
        order_type="market",
        quantity=D("0.01"),
        reduce_only=False,
    )


def test_only_terminal_answers_allow_the_early_read() -> None:
    assert answered([placement(OrderStatus.FILLED), placement(OrderStatus.CANCELED)])
    assert answered([placement(OrderStatus.FILLED), Placement("r", 1, Resolution.REJECTED)])
    assert not answered([placement(OrderStatus.FILLED), placement(OrderStatus.OPEN)])
    assert not answered([placement(OrderStatus.FILLED), Placement("u", 1, Resolution.NOT_PLACED)])
    assert not answered([placement(OrderStatus.FILLED), HaltRequired("X", "halt")])


async def test_the_early_reading_stands_while_no_order_was_sent_after_it(tmp_path: Path) -> None:
    async with Journal(tmp_path / "j.sqlite3") as journal:
        await journal.record_intent(INTENT, "enter")
        await submit(journal, "c1")
        hedge: Any = Legs("-0.01")
        early = await EarlyReading.start(hedge, journal, INTENT, [placement(OrderStatus.FILLED)])
        assert early is not None
        await settle()
        hedge.perp = D("-0.05")  # whatever happens later, the reading is the one sent after the answers
        legs, was_early = await verification_legs(hedge, early)
        assert was_early and legs.perp_qty == D("-0.01") and hedge.reads == 1


async def test_an_order_sent_after_the_early_read_voids_it(tmp_path: Path) -> None:
    async with Journal(tmp_path / "j.sqlite3") as journal:
        await journal.record_intent(INTENT, "enter")
        await submit(journal, "c1")
        hedge: Any = Legs("-0.01")
        early = await EarlyReading.start(hedge, journal, INTENT, [placement(OrderStatus.FILLED)])
        assert early is not None
        await settle()
        await submit(journal, "c2", attempt=2)  # a remainder went out after the read
        hedge.perp = D("-0.02")
        legs, was_early = await verification_legs(hedge, early)
        assert not was_early and legs.perp_qty == D("-0.02") and hedge.reads == 2


async def test_a_late_order_found_by_the_sweep_voids_it(tmp_path: Path) -> None:
    async with Journal(tmp_path / "j.sqlite3") as journal:
        await journal.record_intent(INTENT, "enter")
        hedge: Any = Legs("0")
        early = await EarlyReading.start(hedge, journal, INTENT, [placement(OrderStatus.FILLED)])
        assert early is not None
        hedge.perp = D("-0.01")
        legs, was_early = await verification_legs(hedge, early, late=["a late fill"])
        assert not was_early and legs.perp_qty == D("-0.01")
        await asyncio.sleep(0)
        assert early.task.done()  # cancelled or finished, never left in flight


async def test_no_early_read_while_an_answer_is_not_terminal(tmp_path: Path) -> None:
    async with Journal(tmp_path / "j.sqlite3") as journal:
        hedge: Any = Legs("0")
        assert await EarlyReading.start(hedge, journal, INTENT, [placement(OrderStatus.OPEN)]) is None
        assert hedge.reads == 0


class SlowEvents(NoStream):
    """A stream whose order events arrive after the REST answer (the answer overtook them)."""

    def __init__(self, legs: Legs) -> None:
        super().__init__()
        self.legs = legs

    async def wait_order(self, kind: MarketKind, client_order_id: str, timeout_s: float) -> OrderResult | None:
        self.waited.append(client_order_id)
        await asyncio.sleep(0.01)
        self.legs.perp = D("-0.01")  # the fill's account change, which the streamed read then reflects
        return None


async def test_the_early_read_waits_for_the_orders_stream_events_first(tmp_path: Path) -> None:
    """A streamed account read sent the instant the answers came would be the account before the fills:
    the early reading waits for each filled order's own events (which make its account change pending)."""
    async with Journal(tmp_path / "j.sqlite3") as journal:
        await journal.record_intent(INTENT, "enter")
        await submit(journal, "c1")
        hedge: Any = Legs("0")
        hedge.venue = SlowEvents(hedge)
        early = await EarlyReading.start(hedge, journal, INTENT, [placement(OrderStatus.FILLED)])
        assert early is not None
        legs, was_early = await verification_legs(hedge, early)
        assert was_early and legs.perp_qty == D("-0.01") and hedge.venue.waited == ["c"]


async def test_the_submission_count_needs_no_read(tmp_path: Path) -> None:
    """``submits_recorded`` counts what this process committed, both legs of a batch included."""
    async with Journal(tmp_path / "j.sqlite3") as journal:
        await journal.record_intent(INTENT, "enter")
        assert journal.submits_recorded(INTENT) == 0
        await submit(journal, "c1")
        await submit(journal, "c2", attempt=2)
        assert journal.submits_recorded(INTENT) == 2 == len(await journal.submits(INTENT))
