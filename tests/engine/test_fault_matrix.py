"""The fault matrix (shared/docs/fault-matrix.md) against the sandbox: each row's fault injected, its end
state asserted from the venue (GET /sandbox/state: never a duplicate order for a leg) and the journal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from hedgetui.domain.execution import EndState, ExecutionResult
from hedgetui.domain.risk import TradingState
from hedgetui.engine.engine import Engine
from hedgetui.engine.journal import Journal
from hedgetui.engine.legs import ExecTimeouts
from hedgetui.engine.settings import EngineSettings
from hedgetui.exchange.venue import BinanceVenue
from hedgetui.sandbox.options import SandboxOptions
from hedgetui.sandbox.server import SandboxServer
from tests.engine.conftest import venue_spot
from tests.exchange.conftest import KEY, SECRET, settings_for

FAST = ExecTimeouts(order_ack_s=6, fill_s=2, partial_fill_retries=3, lookup_grace_s=1.0, max_resubmits=1)


class Row:
    """One scenario: a sandbox, an engine on it, and helpers to inject faults and read the venue."""

    def __init__(self, server: SandboxServer, engine: Engine) -> None:
        self.server = server
        self.engine = engine

    def fault(self, match: str, action: str, **params: Any) -> None:
        rule = self.server.faults.add({"match": match, "action": action, **params})
        assert rule is not None

    def orders(self, code: str | None = None) -> list[Any]:
        return [o for o in self.server.core.orders() if code is None or code in o.client_order_id]

    def position(self) -> D:
        return self.server.core.position("BTCUSDT").amount

    async def kinds(self) -> list[str]:
        return [e.kind for e in await self.engine.journal.events()]

    async def events(self, kind: str) -> list[Any]:
        return [e for e in await self.engine.journal.events() if e.kind == kind]

    def no_duplicates(self) -> None:
        cids = [o.client_order_id for o in self.server.core.orders() if o.order_id > 0]
        assert len(cids) == len(set(cids)), cids


async def make_row(tmp_path: Path, **settings: Any) -> AsyncIterator[Row]:
    server = SandboxServer(SandboxOptions(port=0, tick_ms=50, api_key=KEY, api_secret=SECRET))
    await server.start()
    venue = await BinanceVenue.connect(settings_for(server, timeout_ms=1000))
    try:
        async with Journal(tmp_path / "journal.sqlite3") as journal:
            engine = Engine(venue, journal, EngineSettings(timeouts=FAST, **settings))
            await engine.start()
            row = Row(server, engine)
            yield row
            judge_by_the_venue(row)
            await engine.shutdown()
    finally:
        await venue.close()
        await server.stop()


def judge_by_the_venue(row: Row) -> None:
    """Every row ends with the venue's own legs consistent with the engine's end: balanced (or dust), or
    HALTED with either an unresolved order or a proposal stating exactly the venue's legs."""
    spot, perp = venue_spot(row.server.core), row.position()
    mark = row.server.core.mark_price("BTCUSDT")
    hedge = max(abs(spot), abs(perp))
    balanced = hedge * mark < 5 or abs(spot + perp) / hedge * 10_000 <= 50
    engine = row.engine
    if engine.trading_state is TradingState.HALTED and not balanced:
        proposal = engine.proposal
        assert not engine.reconciled or proposal is not None, "a naked leg must come with a proposal"
        if proposal is not None:
            assert (proposal.legs.spot_qty, proposal.legs.perp_qty) == (spot, perp)
    else:
        assert balanced, f"venue legs apart without a HALT: spot {spot}, perp {perp}"
    row.no_duplicates()


@pytest.fixture
async def row(tmp_path: Path) -> AsyncIterator[Row]:
    async for r in make_row(tmp_path):
        yield r


@pytest.fixture
async def perp_first(tmp_path: Path) -> AsyncIterator[Row]:
    from hedgetui.engine.settings import LegMode

    async for r in make_row(tmp_path, leg_mode=LegMode.PERP_FIRST):
        yield r


def hedged(result: ExecutionResult) -> None:
    assert result.end_state is EndState.HEDGED, result.reason
    assert result.drift is not None and result.drift.within_tolerance


# ---- entry and order confirmation --------------------------------------------------------------------


@pytest.mark.parametrize("code", [-2019, -4164, -1013])
async def test_01_perp_rejected_definitively_is_flat(perp_first: Row, code: int) -> None:
    perp_first.fault("POST /fapi/v1/order", "reject", code=code, msg="rejected")
    result = await perp_first.engine.enter(D("2000"))
    assert result.end_state is EndState.FLAT and not result.success
    assert perp_first.orders() == []  # spot never sent, nothing retried
    assert "UPDATE" not in await perp_first.kinds() and "REJECTED" in await perp_first.kinds()


async def test_02_timeout_after_accept_adopts_the_one_order(row: Row) -> None:
    row.fault("POST /fapi/v1/order", "timeout_after_accept", hold_ms=3000)
    hedged(await row.engine.enter(D("2000")))
    assert len(row.orders("PO")) == 1
    assert {"AMBIGUOUS", "LOOKUP", "ADOPT"} <= set(await row.kinds())


async def test_03_timeout_before_accept_sends_attempt_2_after_the_window(row: Row) -> None:
    row.fault("POST /fapi/v1/order", "timeout_before_accept", hold_ms=3000)
    hedged(await row.engine.enter(D("2000")))
    assert [o.client_order_id[-3:] for o in row.orders("PO")] == ["PO2"]
    not_found = [e for e in await row.events("LOOKUP") if e.data.get("result") == "not_found"]
    assert len(not_found) >= 3 and not_found[-1].created_ms - not_found[0].created_ms >= 900


@pytest.mark.parametrize("body", ["<html>503</html>", {"code": -1007, "msg": "Send status unknown"}])
async def test_04_5xx_or_1007_after_accept(row: Row, body: Any) -> None:
    row.fault("POST /fapi/v1/order", "accept_then", status=503, body=body)
    hedged(await row.engine.enter(D("2000")))
    assert len(row.orders("PO")) == 1 and "ADOPT" in await row.kinds()


async def test_05_connection_dropped_after_accept(row: Row) -> None:
    row.fault("POST /fapi/v1/order", "drop_after_accept")
    hedged(await row.engine.enter(D("2000")))
    assert len(row.orders("PO")) == 1


async def test_06_late_visibility_inside_the_grace_window(row: Row) -> None:
    row.fault("POST /fapi/v1/order", "accept_then", status=503, body="<html>503</html>", visibility_ms=500)
    hedged(await row.engine.enter(D("2000")))
    assert len(row.orders("PO")) == 1  # no attempt 2 before the window ended
    results = [e.data.get("result") for e in await row.events("LOOKUP")]
    assert "not_found" in results and results[-1] == "found"


async def test_07_lookups_that_keep_failing_halt_without_resend(row: Row) -> None:
    row.fault("POST /fapi/v1/order", "timeout_after_accept", hold_ms=3000)
    row.fault("GET /fapi/v1/order", "http_503", times=1000)
    result = await row.engine.enter(D("2000"))
    assert result.end_state is EndState.HALTED and row.engine.trading_state is TradingState.HALTED
    assert len(row.orders("PO")) == 1
    alerts = await row.events("ALERT")
    assert any("hg" in a.message and "PO1" in a.message for a in alerts)


@pytest.mark.parametrize(("code", "status"), [(-1001, 500), (-1008, 503)])
async def test_08_internal_error_is_ambiguous_and_looked_up(row: Row, code: int, status: int) -> None:
    row.fault("POST /fapi/v1/order", "reject", code=code, msg="internal", status=status)
    hedged(await row.engine.enter(D("2000")))
    assert [o.client_order_id[-3:] for o in row.orders("PO")] == ["PO2"]  # not processed: attempt 2 after lookup
    assert "AMBIGUOUS" in await row.kinds()


async def test_09_duplicate_answer_is_looked_up_not_rejected(row: Row) -> None:
    row.fault("POST /fapi/v1/order", "reject", code=-4116, msg="ClientOrderId is duplicated.")
    hedged(await row.engine.enter(D("2000")))
    assert "REJECTED" not in await row.kinds() and "LOOKUP" in await row.kinds()
    row.no_duplicates()


async def test_10_perp_partial_then_expired_is_completed(row: Row) -> None:
    row.fault("POST /fapi/v1/order", "partial", fill_ratio=0.5, rest_after_ms=100, expire=True)
    result = await row.engine.enter(D("2000"))
    hedged(result)
    assert result.perp is not None and result.perp.filled == result.quantity
    assert [o.client_order_id[-3:] for o in row.orders("PO")] == ["PO1", "PO2"]


async def test_10_perp_first_partial_perp_is_completed_before_spot_is_sized(perp_first: Row) -> None:
    perp_first.fault("POST /fapi/v1/order", "partial", fill_ratio=0.5, rest_after_ms=100, expire=True)
    result = await perp_first.engine.enter(D("2000"))
    hedged(result)
    assert [o.client_order_id[-3:] for o in perp_first.orders("PO")] == ["PO1", "PO2"]
    spot_orders = perp_first.orders("SO")
    assert len(spot_orders) == 1 and spot_orders[0].orig_qty == D("0.033")  # sized to the whole perp fill
    assert perp_first.orders("SD") == []  # nothing bought and sold back by a drift step
    assert perp_first.position() == D("-0.033") and venue_spot(perp_first.server.core) == D("0.033") * D("0.999")


async def test_11_order_that_never_fills_is_cancelled_at_the_deadline(row: Row) -> None:
    row.fault("POST /fapi/v1/order", "partial", fill_ratio=0, rest_after_ms=60000)
    result = await row.engine.enter(D("2000"))
    assert result.end_state is EndState.FLAT and row.position() == 0
    assert {"FILL_TIMEOUT", "CANCEL"} <= set(await row.kinds())
    assert row.orders("PO")[0].status.value == "CANCELED"


async def test_12_fill_landing_after_the_deadline_is_counted(row: Row) -> None:
    row.fault("POST /fapi/v1/order", "partial", fill_ratio=0, rest_after_ms=2050)
    result = await row.engine.enter(D("2000"))
    assert result.end_state in (EndState.HEDGED, EndState.FLAT)
    assert (result.end_state is EndState.FLAT) == (row.position() == 0)


async def test_13_spot_rejected_after_the_perp_filled_covers_the_perp(perp_first: Row) -> None:
    perp_first.fault(
        "POST /api/v3/order", "reject", code=-2010, msg="Account has insufficient balance for requested action."
    )
    result = await perp_first.engine.enter(D("2000"))
    assert result.end_state is EndState.FLAT and perp_first.position() == 0
    assert {"UNWIND", "END"} <= set(await perp_first.kinds())
    assert perp_first.orders("PU")[0].reduce_only


async def test_14_spot_partial_is_completed(row: Row) -> None:
    row.fault("POST /api/v3/order", "partial", fill_ratio=0.4, rest_after_ms=100, expire=True)
    hedged(await row.engine.enter(D("2000")))
    assert [o.client_order_id[-3:] for o in row.orders("SO")] == ["SO1", "SO2"]


async def test_15_unwind_rejected_too_halts_with_the_residual(perp_first: Row) -> None:
    perp_first.fault("POST /api/v3/order", "reject", code=-2010, msg="Account has insufficient balance.")
    perp_first.engine.kit.before_send = lambda cid: (
        perp_first.fault("POST /fapi/v1/order", "reject", code=-2019, msg="Margin is insufficient.")
        if "PU" in cid
        else None
    )
    result = await perp_first.engine.enter(D("2000"))
    assert result.end_state is EndState.HALTED and "residual" in result.reason
    assert perp_first.position() != 0 and perp_first.engine.trading_state is TradingState.HALTED


async def test_16_price_jump_between_legs_still_hedges(perp_first: Row) -> None:
    perp_first.fault("POST /api/v3/order", "latency", ms=300)

    def jump(cid: str) -> None:
        if "SO" in cid:
            perp_first.server.core.move_market("BTCUSDT", D("80"))

    perp_first.engine.kit.before_send = jump
    result = await perp_first.engine.enter(D("2000"))
    hedged(result)
    assert "SLIPPAGE" in await perp_first.kinds()


async def test_17_thin_book_is_denied_before_anything_is_sent(row: Row) -> None:
    row.server.core.set_depth_factor("BTCUSDT", D("0.01"))
    result = await row.engine.enter(D("20000"))
    assert result.aborted and result.reason_code in ("INSUFFICIENT_DEPTH", "SLIPPAGE_LIMIT")
    assert row.orders() == [] and await row.engine.journal.raw_count("order_submits") == 0
    assert "DENY" in await row.kinds()


# ---- fees, minimums and drift -----------------------------------------------------------------------


async def test_18_spot_fee_in_btc_is_drift_within_tolerance(row: Row) -> None:
    result = await row.engine.enter(D("2000"))
    hedged(result)
    assert result.drift is not None and result.drift.drift_bps == D("-10")
    assert venue_spot(row.server.core) == result.quantity * D("0.999")  # type: ignore[operator]


async def test_19_remainder_below_the_minimum_becomes_drift(row: Row) -> None:
    row.fault("POST /fapi/v1/order", "partial", fill_ratio=0.97, rest_after_ms=50, expire=True)
    result = await row.engine.enter(D("2000"))
    hedged(result)
    assert "REMAINDER_BELOW_MIN" in await row.kinds()
    assert len(row.orders("PO")) == 1  # never an order the venue must reject, never a loop


async def test_20_external_position_change_is_corrected(row: Row) -> None:
    hedged(await row.engine.enter(D("2000")))
    row.server.core.set_position("BTCUSDT", row.position() - D("0.010"))
    result = await row.engine.correct()
    assert result.success, result.reason
    assert row.position() == D("-0.033")


# ---- exit --------------------------------------------------------------------------------------------


async def test_21_market_closed_during_exit_keeps_both_legs_and_halts(row: Row) -> None:
    hedged(await row.engine.enter(D("2000")))
    row.fault("POST /api/v3/order", "reject", code=-2010, msg="Market is closed.", times=10)
    result = await row.engine.exit()
    assert result.end_state is EndState.HALTED and "exit pending" in result.reason
    assert row.position() == D("-0.033")  # the perp was restored: never one leg unwound alone


async def test_22_perp_already_flat_at_exit(row: Row) -> None:
    hedged(await row.engine.enter(D("2000")))
    row.server.core.set_position("BTCUSDT", D("0"))
    result = await row.engine.exit()
    assert result.end_state is EndState.FLAT, result.reason


# ---- rate limits, clock, authentication ------------------------------------------------------------


async def test_23_429_storm_backs_off_and_looks_up(row: Row) -> None:
    row.fault("POST /fapi/v1/order", "http_429")
    row.fault("GET /fapi/v1/order", "http_429", times=2)
    result = await row.engine.enter(D("2000"))
    assert result.end_state in (EndState.HEDGED, EndState.HALTED)
    assert "BACKOFF" in await row.kinds()
    row.no_duplicates()


async def test_24_ip_ban_halts_at_once(row: Row) -> None:
    row.fault("POST /fapi/v1/order", "http_418")
    result = await row.engine.enter(D("2000"))
    assert result.end_state is EndState.HALTED and result.reason_code == "IP_BANNED"
    assert row.orders("PO") == []


async def test_25_clock_skew_resyncs_then_looks_up(row: Row) -> None:
    row.fault("POST /fapi/v1/order", "reject", code=-1021, msg="Timestamp outside of the recvWindow.")
    hedged(await row.engine.enter(D("2000")))
    assert "CLOCK_RESYNC" in await row.kinds()


async def test_26_auth_failure_mid_run_halts(row: Row) -> None:
    row.fault("POST /fapi/v1/order", "reject", code=-2015, msg="Invalid API-key.", status=401)
    result = await row.engine.enter(D("2000"))
    assert result.end_state is EndState.HALTED and result.reason_code == "AUTH"


# ---- breaker, restart -------------------------------------------------------------------------------


async def test_29_breaker_opens_mid_hedge_and_denies_later_intents(row: Row) -> None:
    for _ in range(2):
        row.fault("POST /fapi/v1/order", "reject", code=-2019, msg="Margin is insufficient.")
        await row.engine.enter(D("2000"))
    denied = await row.engine.enter(D("2000"))
    assert denied.aborted and denied.reason_code == "BREAKER_OPEN"
    assert "BREAKER" in await row.kinds()


async def test_32_reconciliation_that_cannot_read_halts(tmp_path: Path) -> None:
    server = SandboxServer(SandboxOptions(port=0, tick_ms=50, api_key=KEY, api_secret=SECRET))
    await server.start()
    venue = await BinanceVenue.connect(settings_for(server, timeout_ms=1000))
    try:
        async with Journal(tmp_path / "j.sqlite3") as journal:
            server.faults.add({"match": "GET /fapi/v3/positionRisk", "action": "http_503", "times": 100})
            engine = Engine(venue, journal, EngineSettings(timeouts=FAST))
            report = await engine.start()
            assert not report.complete and engine.trading_state is TradingState.HALTED
            denied = await engine.enter(D("2000"))
            assert denied.aborted and denied.reason_code in ("RECONCILE_PENDING", "TRADING_HALTED")
            assert server.core.orders() == []
            await engine.shutdown()
    finally:
        await venue.close()
        await server.stop()


# ---- market data ------------------------------------------------------------------------------------


async def test_27_28_book_gaps_and_disconnects_are_journaled_and_stale_books_deny_entries(tmp_path: Path) -> None:
    import asyncio

    from hedgetui.exchange.market_data import MarketDataSettings
    from hedgetui.wiring import open_stack, sandbox_venue_settings

    server = SandboxServer(SandboxOptions(port=0, tick_ms=20))
    await server.start()
    try:
        md = MarketDataSettings(stale_after_s=0.5, backoff_max_s=0.3, rest_poll_s=0.2)
        async with open_stack(
            sandbox_venue_settings(server), tmp_path / "j.sqlite3", EngineSettings(timeouts=FAST), market_data=md
        ) as stack:
            await asyncio.sleep(1.0)
            server.faults.add({"match": "WS *", "action": "ws_drop_diff", "market": "futures"})
            await server._ws_faults()
            await asyncio.sleep(1.0)
            await server.streams.close_all()  # row 28: the connections drop
            await asyncio.sleep(1.5)
            kinds = [e.kind for e in await stack.journal.events()]
            assert "BOOK_STALE" in kinds and "BOOK_RESYNC" in kinds
            # A stale window: the market stops moving, the books age past their limit, entries are denied.
            assert server._tick_task is not None
            server._tick_task.cancel()
            await asyncio.sleep(1.0)
            denied = await stack.engine.enter(D("2000"))
            assert denied.aborted and denied.reason_code == "STALE_BOOK"
            assert server.core.orders() == []
    finally:
        await server.stop()
