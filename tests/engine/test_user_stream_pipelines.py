"""Fills confirmed by the user data stream, polling as the fallback, stale account state never decided on.

End to end: the engine on ccxt's real binance class against the sandbox. Every figure the tests judge by is
the venue's record (the sandbox core's orders, trades and position) or the requests ccxt actually sent.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import AsyncIterator, Callable
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from hedgetui.domain.execution import EndState
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.engine import Engine
from hedgetui.engine.journal import Journal
from hedgetui.engine.settings import EngineSettings
from hedgetui.exchange.venue import BinanceVenue
from hedgetui.sandbox.options import SandboxOptions
from hedgetui.sandbox.server import SandboxServer
from hedgetui.wiring import sandbox_venue_settings

#: The ccxt calls that read what the stream pushes: an order poll, trades, balances, the position (its signed
#: positionRisk call).
SPIED = ("fetch_order", "fetch_my_trades", "fetch_order_trades", "fetch_balance", "fapiPrivateV3GetPositionRisk")


class Desk:
    def __init__(self, server: SandboxServer, venue: BinanceVenue, engine: Engine) -> None:
        self.server, self.venue, self.engine = server, venue, engine
        self.calls: Counter[str] = Counter()
        for name in SPIED:
            self._spy(name)

    def _spy(self, name: str) -> None:
        real: Callable[..., Any] = getattr(self.venue.exchange, name)

        async def counted(*args: Any, **kwargs: Any) -> Any:
            swap = any(isinstance(a, dict) and a.get("type") == "swap" for a in args)
            self.calls[f"{name}:swap" if swap else name] += 1
            return await real(*args, **kwargs)

        setattr(self.venue.exchange, name, counted)

    def fault(self, match: str, action: str, **params: Any) -> None:
        assert self.server.faults.add({"match": match, "action": action, **params}) is not None

    def position(self) -> D:
        return D(str(self.server.core.position("BTCUSDT").amount))

    def orders(self, code: str) -> list[Any]:
        return [o for o in self.server.core.orders() if code in o.client_order_id]


async def until(check: Callable[[], bool], within_s: float = 5.0) -> None:
    for _ in range(int(within_s / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def make_desk(tmp_path: Path, *, user_stream: bool = True) -> AsyncIterator[Desk]:
    server = SandboxServer(SandboxOptions(port=0, tick_ms=50))
    await server.start()
    settings = dataclasses.replace(sandbox_venue_settings(server), user_stream=user_stream, timeout_ms=2000)
    venue = await BinanceVenue.connect(settings)
    try:
        if user_stream:
            stream = venue.user_stream
            assert stream is not None
            await until(lambda: stream.is_fresh(MarketKind.SPOT) and stream.is_fresh(MarketKind.PERP))
        async with Journal(tmp_path / "journal.sqlite3") as journal:
            engine = Engine(venue, journal, EngineSettings(), fail_max=50)
            await engine.start()
            yield Desk(server, venue, engine)
            await engine.shutdown()
    finally:
        await venue.close()
        await server.stop()


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    async for d in make_desk(tmp_path):
        yield d


@pytest.fixture
async def polling_desk(tmp_path: Path) -> AsyncIterator[Desk]:
    async for d in make_desk(tmp_path, user_stream=False):
        yield d


async def test_fill_confirmed_by_its_events_with_no_poll(desk: Desk) -> None:
    # The perp's RESULT answer says half filled and the rest resting: only an event or a poll can tell the end.
    desk.fault("POST /fapi/v1/order", "partial", fill_ratio=0.5, rest_after_ms=150)
    desk.calls.clear()
    result = await desk.engine.enter(D("2000"))
    assert result.success and result.end_state is EndState.HEDGED, result.reason
    assert result.quantity is not None and desk.position() == -result.quantity
    (perp,) = desk.orders("PO1")
    assert perp.status == "FILLED"
    # Confirmed by the stream: no order poll, no trade read; the spot balance came from the stream too.
    # (The perp wallet and position are re-read in the background after each pushed change: the event
    # carries no available margin.)
    assert set(desk.calls) <= {"fapiPrivateV3GetPositionRisk", "fetch_balance:swap"}, desk.calls
    # The perp's commission came with its events (a RESULT answer has none): journaled per trade.
    assert result.perp is not None and result.perp.fees and result.perp.fees[0][1] > 0
    fills = await desk.engine.journal.fills_for(perp.client_order_id)
    assert sorted(f[0] for f in fills) == sorted(str(t.trade_id) for t in perp.trades)


async def test_lost_events_are_confirmed_by_polling(desk: Desk) -> None:
    desk.fault("POST /fapi/v1/order", "partial", fill_ratio=0.5, rest_after_ms=150)
    desk.fault("WS *", "ws_drop_user_event", market="futures", times=20)
    desk.calls.clear()
    result = await desk.engine.enter(D("2000"))
    assert result.success and result.end_state is EndState.HEDGED, result.reason
    assert result.quantity is not None and desk.position() == -result.quantity
    assert len(desk.orders("PO")) == 1  # polled, never resent
    assert desk.calls["fetch_order"] >= 1
    # The gap made the perp account stale, so the verification read the position over REST.
    assert desk.calls["fapiPrivateV3GetPositionRisk"] >= 1


async def test_expired_listen_key_is_never_decided_on_and_is_re_read(desk: Desk) -> None:
    stream = desk.venue.user_stream
    assert stream is not None
    desk.fault("WS *", "listen_key_expire", market="futures")
    await until(lambda: not stream.is_fresh(MarketKind.PERP), 2.0)
    view = await stream.view()
    assert view.perp_amount is None and view.position is None and view.futures is None
    # Meanwhile the stream is down, a decision reads the perp account over REST.
    desk.server.core.set_position("BTCUSDT", D("-0.004"))
    desk.calls.clear()
    if stream.is_fresh(MarketKind.PERP):  # already re-seeded: its seed read the new position over REST
        assert (await stream.view()).perp_amount == D("-0.004")
    else:
        await desk.engine.preview(D("2000"))
        assert desk.calls["fapiPrivateV3GetPositionRisk"] >= 1
    # Re-read over REST once reconnected, then fresh again with the exchange's figure.
    await until(lambda: stream.is_fresh(MarketKind.PERP), 10.0)
    assert (await stream.view()).perp_amount == desk.position() == D("-0.004")


async def test_stream_off_polls_as_before(polling_desk: Desk) -> None:
    assert polling_desk.venue.user_stream is None
    result = await polling_desk.engine.enter(D("2000"))
    assert result.success, result.reason
    assert result.quantity is not None and polling_desk.position() == -result.quantity
    # Without a stream: the decision and the verification read balances and the position over REST.
    assert polling_desk.calls["fapiPrivateV3GetPositionRisk"] >= 2 and polling_desk.calls["fetch_balance"] >= 2
    assert polling_desk.calls["fetch_my_trades"] >= 1  # the perp's commission is read
    back = await polling_desk.engine.exit()
    assert back.success and polling_desk.position() == 0, back.reason
