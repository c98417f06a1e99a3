"""Events first, polling as the fallback, stale stream never decided on: the simulated venue's side.

The simulated venue pushes an order's terminal state and trades (``wait_order``) and its account
(``account_view``) like a user data stream; it can lose an order's events or go stale. Its answers are
ACKs here (the order before matching), so only an event or a poll can say how an order ended.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path

import pytest

from hedgetui.domain.execution import EndState
from hedgetui.engine.clock import ManualClock
from hedgetui.engine.engine import Engine
from hedgetui.engine.journal import Journal
from tests.engine.conftest import make_settings
from tests.engine.simvenue import SimVenue


@pytest.fixture
def streaming() -> SimVenue:
    return SimVenue(stream=True, ack=True)


@pytest.fixture
async def desk(tmp_path: Path, streaming: SimVenue) -> AsyncIterator[Engine]:
    async with Journal(tmp_path / "journal.sqlite3") as journal:
        eng = Engine(streaming, journal, make_settings(), clock=ManualClock())
        await eng.start()
        yield eng
        await eng.shutdown()


async def test_events_confirm_both_legs_with_no_poll_and_no_read(desk: Engine, streaming: SimVenue) -> None:
    streaming.calls.clear()
    result = await desk.enter(D("2000"))
    assert result.success and result.end_state is EndState.HEDGED, result.reason
    assert streaming.position == D("-0.033") and streaming.spot["BTC"] == D("0.033") - D("0.000033")
    assert streaming.calls["fetch"] == 0 and streaming.calls["trades"] == 0  # no poll, no trade read
    assert streaming.calls["read"] == 0  # risk and drift decided on the streamed account
    assert streaming.calls["wait_order"] >= 2
    # The journal holds each trade the venue made, with its fee, from the events.
    for order in streaming.orders:
        fills = await desk.journal.fills_for(order.cid)
        assert [f[0] for f in fills] == [t.trade_id for t in order.trades]


async def test_a_lost_event_is_confirmed_by_polling(desk: Engine, streaming: SimVenue) -> None:
    streaming.drop_events = 1  # the perp order's events never arrive
    streaming.calls.clear()
    result = await desk.enter(D("2000"))
    assert result.success and result.end_state is EndState.HEDGED, result.reason
    assert streaming.position == D("-0.033")
    assert streaming.calls["fetch"] >= 1  # polled
    assert streaming.cids_used_twice() == [] and len(streaming.orders) == 2  # never resent


async def test_a_stale_account_stream_is_never_decided_on(desk: Engine, streaming: SimVenue) -> None:
    streaming.stream_stale = True
    streaming.calls.clear()
    result = await desk.enter(D("2000"))
    assert result.success, result.reason
    # Nothing streamed was used: the decision and the verification read the account, the fills were polled.
    assert streaming.calls["read"] == 5  # risk: spot, wallet, position; verification: spot, position
    assert streaming.calls["fetch"] >= 2
    assert streaming.position == D("-0.033")
