"""The engine judged by the exchange's record: what the simulated venue holds and what it was sent.

Every test here reads its verdict from the venue itself (``venue.spot["BTC"]``, ``venue.position``,
``venue.orders``, ``venue.sent_cids``) and from the journal; what the engine believes is only compared
against that, never trusted on its own. Each case is a situation that loses money when the engine's
belief and the exchange part ways: a leg whose answer was lost, a fill missing from the journal, a halt
that mis-states the residual, a reconciliation that trades on its own, a breaker an exit closes.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from hedgetui.domain.client_ids import Leg, parse_client_order_id
from hedgetui.domain.execution import EndState
from hedgetui.domain.orders import Side
from hedgetui.domain.risk import TradingState
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.breaker import BreakerState
from hedgetui.engine.clock import ManualClock
from hedgetui.engine.engine import Engine
from hedgetui.engine.journal import Journal
from hedgetui.engine.settings import Denied, LegMode
from hedgetui.exchange.errors import AuthFailed
from tests.engine.conftest import FAST, make_settings
from tests.engine.simvenue import PERP_RULES, SPOT_RULES, Fault, SimOrder, SimVenue

QTY = D("0.033")  # what 2000 USD buys at the simulated 60000 mid
SPOT_FEE = QTY * D("0.001")  # the simulated venue takes a spot buy's fee in BTC
HEDGED_SPOT = QTY - SPOT_FEE
SIZE = D("2000")
DUST_USD = D("5")  # spot's minimum notional: a remainder below it cannot be sold
TOLERANCE_BPS = D("50")


# ---- helpers -------------------------------------------------------------------------------------------


class JournalFirst:
    """Wraps the venue's order POST: every client id must already be in the journal when it is sent.

    ``remove()`` puts the venue's own method back (a restarted engine installs its own check).
    """

    def __init__(self, venue: SimVenue, journal: Journal) -> None:
        self.violations: list[str] = []
        self.venue = venue
        self.original = venue.create_market_order

        async def create(
            kind: MarketKind, side: Side, amount: D, client_order_id: str, *, reduce_only: bool = False
        ) -> Any:
            if client_order_id not in await journal.all_cids():
                self.violations.append(client_order_id)
            return await self.original(kind, side, amount, client_order_id, reduce_only=reduce_only)

        venue.create_market_order = create  # type: ignore[method-assign]

    def remove(self) -> None:
        self.venue.create_market_order = self.original  # type: ignore[method-assign]


@asynccontextmanager
async def running(path: Path, venue: SimVenue, **settings: Any) -> AsyncIterator[Engine]:
    """An engine on a file journal (not started: the test starts it and keeps the report)."""
    async with Journal(path) as journal:
        engine = Engine(venue, journal, make_settings(**settings), clock=ManualClock())
        guard = JournalFirst(venue, journal)
        try:
            yield engine
        finally:
            await engine.shutdown()
            guard.remove()
        assert guard.violations == [], f"sent before being journaled: {guard.violations}"


def holding(spot: D, position: D) -> SimVenue:
    """A venue whose account already holds ``spot`` BTC and a perp ``position`` (an existing hedge)."""
    venue = SimVenue()
    venue.spot["BTC"] = spot
    venue.position = position
    venue.entry = venue.perp_mid if position else D(0)
    return venue


def code_of(order: SimOrder) -> str:
    parsed = parse_client_order_id(order.cid)
    assert parsed is not None, order.cid
    return parsed[1].code


def orders(
    venue: SimVenue, *, code: str | None = None, kind: MarketKind | None = None, side: Side | None = None
) -> list[SimOrder]:
    return [
        o
        for o in venue.orders
        if (code is None or code_of(o) == code)
        and (kind is None or o.kind is kind)
        and (side is None or o.side is side)
    ]


def one(venue: SimVenue, code: str) -> SimOrder:
    found = orders(venue, code=code)
    assert len(found) == 1, [o.cid for o in venue.orders]
    return found[0]


def no_duplicates(venue: SimVenue) -> None:
    assert len(venue.sent_cids) == len(set(venue.sent_cids)), venue.sent_cids
    assert venue.cids_used_twice() == []


async def all_journaled(venue: SimVenue, journal: Journal) -> None:
    assert {o.cid for o in venue.orders} <= await journal.all_cids()


async def filled_in_journal(journal: Journal, cid: str) -> D:
    return sum((q for _, q, _ in await journal.fills_for(cid)), D(0))


def net_ok(spot: D, perp: D, mid: D) -> bool:
    """Within the drift tolerance of the hedge, or a difference worth less than spot's minimum notional."""
    net = spot + perp
    hedge = max(abs(spot), abs(perp))
    if hedge == 0 or abs(net) * mid < DUST_USD:
        return True
    return abs(net) / hedge * 10_000 <= TOLERANCE_BPS


def residual_figures(text: str) -> tuple[D, D, D]:
    """The spot, perp and net figures an alert states (``ExchangeLegs.describe``)."""
    spot = re.search(r"spot (-?[0-9.]+) BTC", text)
    perp = re.search(r"perp (-?[0-9.]+)", text)
    net = re.search(r"net ([+-]?[0-9.]+)", text)
    assert spot and perp and net, text
    return D(spot[1]), D(perp[1]), D(net[1])


def auth_fails_on(venue: SimVenue, kind: MarketKind) -> None:
    """Every order lookup on ``kind`` answers "invalid API key" (keys revoked while an order is open)."""
    original = venue.fetch_order

    async def fetch_order(k: MarketKind, *, order_id: str | None = None, client_order_id: str | None = None) -> Any:
        if k is kind:
            venue.calls["fetch"] += 1
            raise AuthFailed(
                "Invalid API-key, IP, or permissions for action.",
                code=-2015,
                source="AuthenticationError",
                operation="read",
            )
        return await original(k, order_id=order_id, client_order_id=client_order_id)

    venue.fetch_order = fetch_order  # type: ignore[method-assign]


# ---- 1. an unresolved leg is adopted, never resent -----------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "lost", "filled_code", "lost_code"),
    [
        (LegMode.CONCURRENT, MarketKind.PERP, "SO", "PO"),
        (LegMode.PERP_FIRST, MarketKind.SPOT, "PO", "SO"),
    ],
)
async def test_01_unresolved_leg_is_adopted_by_the_operators_reconciliation(
    tmp_path: Path, mode: LegMode, lost: MarketKind, filled_code: str, lost_code: str
) -> None:
    venue = SimVenue()
    async with running(tmp_path / "j.sqlite3", venue, leg_mode=mode) as engine:
        await engine.start()
        venue.inject(Fault("create", "timeout_after", lost), Fault("fetch", "lookup_error", lost, times=1000))
        result = await engine.enter(SIZE)
        assert result.end_state is EndState.HALTED, result.reason
        assert result.reason_code == "UNRESOLVED_ORDER"
        assert engine.trading_state is TradingState.HALTED
        # The exchange applied both orders; exactly one order per leg exists.
        filled, lost_order = one(venue, filled_code), one(venue, lost_code)
        assert len(venue.orders) == 2
        assert venue.position == -QTY and venue.spot["BTC"] == HEDGED_SPOT
        # The leg that filled is journaled with its fill, even though the run halted.
        assert await filled_in_journal(engine.journal, filled.cid) == QTY

        sent = list(venue.sent_cids)
        venue.faults.clear()
        report = await engine.reconcile(operator=True)

        assert report.complete, report.summary()
        assert lost_order.cid in report.adopted
        assert venue.sent_cids == sent  # reconciliation sent nothing
        assert venue.position == -QTY and venue.spot["BTC"] == HEDGED_SPOT
        assert await filled_in_journal(engine.journal, lost_order.cid) == QTY
        assert await engine.journal.open_submits() == []
        assert report.proposal is None and engine.proposal is None
        assert engine.trading_state is not TradingState.HALTED, engine.halt_reason
        legs = engine.hedge.legs
        assert legs is not None and (legs.spot_qty, legs.perp_qty) == (venue.spot["BTC"], venue.position)
        no_duplicates(venue)
        await all_journaled(venue, engine.journal)


# ---- 2. fills missing from the journal are backfilled --------------------------------------------------


async def test_02_filled_orders_without_fill_rows_are_backfilled_and_nothing_is_proposed(tmp_path: Path) -> None:
    venue = SimVenue()
    async with running(tmp_path / "first.sqlite3", venue) as engine:
        await engine.start()
        entered = await engine.enter(SIZE)
        assert entered.end_state is EndState.HEDGED, entered.reason
    assert len(venue.orders) == 2
    sent = list(venue.sent_cids)

    # A journal that recorded the intent, both submissions and their terminal FILLED answers, then
    # crashed before the fill rows were written.
    async with Journal(tmp_path / "second.sqlite3") as journal:
        intent_id = entered.intent_id
        assert intent_id is not None
        await journal.record_intent(intent_id, "enter", quantity=QTY, size_usd=SIZE)
        for o in venue.orders:
            parsed = parse_client_order_id(o.cid)
            assert parsed is not None
            await journal.record_submit(
                cid=o.cid,
                intent_id=intent_id,
                leg=parsed[1].value,
                attempt=parsed[2],
                market=o.kind.value,
                side=o.side.value,
                order_type="market",
                quantity=o.amount,
                reduce_only=o.reduce_only,
            )
            await journal.record_update(
                o.cid, status="filled", filled=o.filled, terminal=True, order_id=o.order_id, average=o.cost / o.filled
            )
        assert await journal.raw_count("fills") == 0

        engine = Engine(venue, journal, make_settings(), clock=ManualClock())
        report = await engine.start()

        assert report.complete, report.summary()
        assert sorted(report.backfilled) == sorted(o.cid for o in venue.orders)
        for o in venue.orders:
            assert await filled_in_journal(journal, o.cid) == o.filled
        assert report.proposal is None and engine.proposal is None
        assert engine.trading_state is TradingState.ACTIVE
        # The journal's account of the spot leg, rebuilt from the backfilled fills, is the exchange's.
        assert report.account is not None and report.account.spot_qty == venue.spot["BTC"]
        assert not [e for e in await journal.events() if e.kind == "DISCREPANCY"]
        assert venue.sent_cids == sent and venue.calls["cancel"] == 0
        assert venue.position == -QTY and venue.spot["BTC"] == HEDGED_SPOT
        await engine.shutdown()


# ---- 3. an exit whose perp close was lost ends flat, with one spot sale ----------------------------------


async def test_03_exit_with_a_lost_perp_close_ends_flat_with_exactly_one_spot_sale(tmp_path: Path) -> None:
    venue = SimVenue()
    async with running(tmp_path / "j.sqlite3", venue) as engine:
        await engine.start()
        assert (await engine.enter(SIZE)).end_state is EndState.HEDGED
        venue.inject(
            Fault("create", "timeout_after", MarketKind.PERP),
            Fault("fetch", "lookup_error", MarketKind.PERP, times=1000),
        )
        out = await engine.exit()
        assert out.end_state is EndState.HALTED, out.reason
        assert engine.trading_state is TradingState.HALTED

        sent = list(venue.sent_cids)
        venue.faults.clear()
        report = await engine.reconcile(operator=True)

        assert report.complete, report.summary()
        assert venue.sent_cids == sent
        assert venue.position == 0
        assert venue.spot["BTC"] * venue.spot_mid < DUST_USD, venue.spot["BTC"]
        sells = orders(venue, kind=MarketKind.SPOT, side=Side.SELL)
        assert len(sells) == 1, [o.cid for o in sells]
        assert parse_client_order_id(sells[0].cid)[:2] == (out.intent_id, Leg.SPOT_CLOSE)  # type: ignore[index]
        # No second sale was even attempted (a sale the venue refused for balance is still a sale sent).
        spot_sells_sent = [c for c in venue.sent_cids if parse_client_order_id(c)[1].code in ("SC", "SU", "SD")]  # type: ignore[index]
        assert spot_sells_sent == [sells[0].cid], spot_sells_sent
        assert [code_of(o) for o in orders(venue, kind=MarketKind.SPOT, side=Side.BUY)] == ["SO"]  # no restore
        assert [code_of(o) for o in orders(venue, kind=MarketKind.PERP, side=Side.BUY)] == ["PC"]
        assert venue.open_orders() == []
        assert report.proposal is None and engine.proposal is None
        assert engine.trading_state is not TradingState.HALTED, engine.halt_reason
        no_duplicates(venue)


# ---- 4. an empty journal on an account that already holds positions --------------------------------------


async def test_04a_empty_journal_adopts_a_balanced_hedge_without_sending(tmp_path: Path) -> None:
    venue = holding(HEDGED_SPOT, -QTY)
    async with running(tmp_path / "j.sqlite3", venue) as engine:
        report = await engine.start()
        assert report.complete, report.summary()
        assert report.adopted_positions
        assert venue.sent_cids == [] and venue.orders == [] and venue.calls["cancel"] == 0
        assert engine.trading_state is TradingState.ACTIVE, engine.halt_reason
        assert report.proposal is None and engine.proposal is None
        legs = engine.hedge.legs
        assert legs is not None and (legs.spot_qty, legs.perp_qty) == (venue.spot["BTC"], venue.position)
        assert (venue.spot["BTC"], venue.position) == (HEDGED_SPOT, -QTY)


async def test_04b_empty_journal_on_unbalanced_legs_halts_and_proposes_both_ways(tmp_path: Path) -> None:
    venue = holding(D(0), -QTY)
    async with running(tmp_path / "j.sqlite3", venue) as engine:
        report = await engine.start()
        assert venue.sent_cids == [] and venue.orders == [] and venue.calls["cancel"] == 0
        assert engine.trading_state is TradingState.HALTED
        proposal = engine.proposal
        assert proposal is not None
        assert (proposal.legs.spot_qty, proposal.legs.perp_qty) == (venue.spot["BTC"], venue.position)
        by_label = {o.label: o.correction for o in proposal.options}
        unwind, complete = by_label.get("unwind perp"), by_label.get("complete spot")
        assert unwind is not None, proposal.describe()
        assert (unwind.kind, unwind.side, unwind.reduce_only, unwind.quantity) == (
            MarketKind.PERP,
            Side.BUY,
            True,
            QTY,
        )
        assert complete is not None, proposal.describe()
        assert (complete.kind, complete.side, complete.quantity) == (MarketKind.SPOT, Side.BUY, QTY)
        assert report.proposal is proposal
        assert (venue.spot["BTC"], venue.position) == (D(0), -QTY)


# ---- 5. a one-step residual is closed whole, and the halt is lifted -----------------------------------


@pytest.mark.parametrize("accept", ["correct", "accept_proposal"])
async def test_05_one_step_residual_is_closed_whole_and_entries_resume(tmp_path: Path, accept: str) -> None:
    venue = holding(D("0.000004"), -QTY)
    async with running(tmp_path / "j.sqlite3", venue) as engine:
        await engine.start()
        assert engine.trading_state is TradingState.HALTED
        proposal = engine.proposal
        assert proposal is not None
        first = proposal.options[0].correction
        assert (first.kind, first.side, first.reduce_only, first.quantity) == (MarketKind.PERP, Side.BUY, True, QTY)
        assert venue.sent_cids == []

        if accept == "correct":
            fixed = await engine.correct()
        else:
            fixed = await engine.accept_proposal(0)
        assert fixed.success, fixed.reason
        assert venue.position == 0
        [pd] = orders(venue, code="PD")
        assert (pd.side, pd.amount, pd.reduce_only, pd.filled) == (Side.BUY, QTY, True, QTY)
        assert engine.trading_state is not TradingState.HALTED, engine.halt_reason
        assert engine.proposal is None

        entered = await engine.enter(SIZE)
        assert entered.reason_code != "TRADING_HALTED", entered.reason
        assert entered.end_state is EndState.HEDGED, entered.reason
        assert venue.position == -QTY
        assert net_ok(venue.spot["BTC"], venue.position, venue.spot_mid)
        no_duplicates(venue)


# ---- 6. a halted intent's unresolved order is looked up at the next start -----------------------------


async def test_06_a_halts_end_row_does_not_hide_its_unresolved_order_from_the_next_engine(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    venue = SimVenue()
    async with running(path, venue) as engine:
        await engine.start()
        venue.inject(
            Fault("create", "timeout_after", MarketKind.PERP),
            Fault("fetch", "lookup_error", MarketKind.PERP, times=1000),
        )
        result = await engine.enter(SIZE)
        assert result.end_state is EndState.HALTED, result.reason
        assert result.intent_id is not None
        end = await engine.journal.intent_end(result.intent_id)
        assert end is not None and end[0] == EndState.HALTED.value
        po = one(venue, "PO")
        assert po.cid in {s.cid for s in await engine.journal.open_submits()}

    sent = list(venue.sent_cids)
    venue.faults.clear()
    async with running(path, venue) as engine:
        report = await engine.start()
        assert report.complete, report.summary()
        assert po.cid in report.adopted
        assert venue.sent_cids == sent
        assert await engine.journal.open_submits() == []
        assert await filled_in_journal(engine.journal, po.cid) == QTY
        assert venue.position == -QTY and venue.spot["BTC"] == HEDGED_SPOT
        assert report.proposal is None
        legs = engine.hedge.legs
        assert legs is not None and (legs.spot_qty, legs.perp_qty) == (venue.spot["BTC"], venue.position)


# ---- 7. a halt states the exchange's residual, not the engine's belief --------------------------------


async def test_07_halt_alert_states_the_exchanges_residual(tmp_path: Path) -> None:
    # The spot answer is lost (the engine cannot know it filled) while the perp fills: the engine's own
    # account says "short 0.033, spot unknown", the exchange is net ≈ 0.
    venue = SimVenue()
    async with running(tmp_path / "j.sqlite3", venue) as engine:
        await engine.start()
        venue.inject(
            Fault("create", "timeout_after", MarketKind.SPOT),
            Fault("fetch", "lookup_error", MarketKind.SPOT, times=1000),
        )
        result = await engine.enter(SIZE)
        assert result.end_state is EndState.HALTED, result.reason
        assert result.spot is None or result.spot.filled == 0  # the engine does not know the spot filled
        spot, perp, net = venue.spot["BTC"], venue.position, venue.spot["BTC"] + venue.position
        assert (spot, perp) == (HEDGED_SPOT, -QTY) and abs(net) * venue.spot_mid < DUST_USD

        assert residual_figures(result.reason) == (spot, perp, net)
        alerts = [
            e
            for e in await engine.journal.events(intent_id=result.intent_id)
            if e.kind == "ALERT" and e.data.get("code") == result.reason_code
        ]
        assert alerts, "the halt raised no journaled alert"
        assert residual_figures(alerts[-1].message) == (spot, perp, net)
        assert result.alerts and residual_figures(result.alerts[-1]) == (spot, perp, net)
        # Net ≈ 0 on the exchange: nothing to propose.
        assert engine.proposal is None
        assert venue.sent_cids == [one(venue, "PO").cid, one(venue, "SO").cid]


# ---- 8. perp_first: the perp is completed before spot is sized ----------------------------------------


async def test_08_perp_first_completes_a_partial_perp_before_sizing_spot(tmp_path: Path) -> None:
    venue = SimVenue()
    async with running(tmp_path / "j.sqlite3", venue, leg_mode=LegMode.PERP_FIRST) as engine:
        await engine.start()
        venue.inject(Fault("create", "partial", MarketKind.PERP, ratio=D("0.5")))  # the rest never fills
        result = await engine.enter(SIZE)
        assert result.end_state is EndState.HEDGED, result.reason

        perp_opens = orders(venue, kind=MarketKind.PERP, side=Side.SELL)
        spot_buys = orders(venue, kind=MarketKind.SPOT, side=Side.BUY)
        assert len(perp_opens) >= 2 and perp_opens[0].filled < QTY  # the first perp order only half filled
        perp_filled = sum((o.filled for o in perp_opens), D(0))
        assert perp_filled == QTY and venue.position == -QTY
        # Spot went out after every perp order, sized to what the perp filled.
        first_spot = venue.orders.index(spot_buys[0])
        assert all(venue.orders.index(o) < first_spot for o in perp_opens)
        assert spot_buys[0].amount == perp_filled
        assert sum((o.filled for o in spot_buys), D(0)) == perp_filled
        assert orders(venue, kind=MarketKind.SPOT, side=Side.SELL) == []  # nothing bought to be sold back
        assert venue.spot["BTC"] == perp_filled - perp_filled * D("0.001")
        assert net_ok(venue.spot["BTC"], venue.position, venue.spot_mid)
        assert venue.open_orders() == []
        no_duplicates(venue)


# ---- 9. a sibling leg is confirmed and journaled before the halt ends the intent ----------------------


async def test_09_sibling_leg_is_confirmed_and_journaled_before_the_end_row(tmp_path: Path) -> None:
    venue = SimVenue()
    async with running(tmp_path / "j.sqlite3", venue) as engine:
        await engine.start()
        venue.inject(
            Fault("create", "resting", MarketKind.PERP, after=None),  # polled: the keys fail on the first poll
            Fault("create", "resting", MarketKind.SPOT, after=4),  # the sibling fills only on its 4th poll
        )
        auth_fails_on(venue, MarketKind.PERP)
        result = await engine.enter(SIZE)
        assert result.end_state is EndState.HALTED and result.reason_code == "AUTH", result.reason
        intent = result.intent_id
        assert intent is not None

        so = one(venue, "SO")
        assert so.filled == QTY and venue.spot["BTC"] == HEDGED_SPOT
        assert result.spot is not None and result.spot.filled == QTY
        assert await filled_in_journal(engine.journal, so.cid) == QTY
        # The residual the halt states includes the spot the sibling bought.
        assert residual_figures(result.reason)[0] == venue.spot["BTC"]

        events = await engine.journal.events(intent_id=intent)
        ends = [i for i, e in enumerate(events) if e.kind == "END"]
        assert len(ends) == 1, [e.kind for e in events]
        # Nothing of the run is journaled after its END row, not even its closing stage marker.
        assert [(e.kind, e.message) for e in events[ends[0] + 1 :]] == []
        end_ms = events[ends[0]].created_ms
        rows = await engine.journal._fetchall(
            "SELECT f.cid, f.created_ms FROM fills f JOIN order_submits s ON s.cid = f.cid WHERE s.intent_id = ?"
            " UNION ALL SELECT u.cid, u.created_ms FROM order_updates u JOIN order_submits s ON s.cid = u.cid"
            " WHERE s.intent_id = ?",
            (intent, intent),
        )
        assert rows and all(ms <= end_ms for _, ms in rows), (end_ms, rows)


# ---- 10. bad credentials while polling halt at once --------------------------------------------------


async def test_10_auth_failure_while_polling_a_fill_halts_at_once(tmp_path: Path) -> None:
    venue = SimVenue()
    async with running(tmp_path / "j.sqlite3", venue) as engine:
        await engine.start()
        venue.inject(Fault("create", "resting", MarketKind.PERP, after=None))
        auth_fails_on(venue, MarketKind.PERP)
        clock = engine.clock
        assert isinstance(clock, ManualClock)
        fetches, slept = venue.calls["fetch"], sum(clock.slept)
        result = await engine.enter(SIZE)

        assert result.end_state is EndState.HALTED and result.reason_code == "AUTH", result.reason
        assert venue.calls["fetch"] - fetches <= 2
        assert sum(clock.slept) - slept < FAST.fill_s / 2  # not polled until the fill deadline
        assert engine.trading_state is TradingState.HALTED
        # Nothing was sent after the keys failed: no unwind, no second attempt.
        assert sorted(code_of(o) for o in venue.orders) == ["PO", "SO"]
        assert venue.spot["BTC"] == HEDGED_SPOT and venue.position == 0


# ---- 11. an uncorrectable drift before any intent row ---------------------------------------------------


async def test_11_correct_on_an_uncorrectable_drift_halts_cleanly(tmp_path: Path) -> None:
    # 0.00008 BTC net long on a 0.001 hedge: 740 bps, but selling it is below spot's 5 USD minimum and
    # the perp cannot take less than one 0.001 step.
    venue = holding(D("0.00108"), D("-0.001"))
    async with running(tmp_path / "j.sqlite3", venue) as engine:
        report = await engine.start()
        assert report.complete and engine.trading_state is TradingState.HALTED
        assert engine.proposal is not None and engine.proposal.options == ()
        assert (engine.proposal.legs.spot_qty, engine.proposal.legs.perp_qty) == (venue.spot["BTC"], venue.position)
        with pytest.raises(Denied):
            engine.accept_proposal(0)

        result = await engine.correct()

        assert result.end_state is EndState.HALTED or result.aborted, result.reason
        assert result.reason_code == "DRIFT_UNCORRECTABLE", result.reason_code
        assert result.intent_id is not None
        assert venue.sent_cids == [] and venue.orders == []
        assert (venue.spot["BTC"], venue.position) == (D("0.00108"), D("-0.001"))
        journal = engine.journal
        kinds = [e.kind for e in await journal.events()]
        assert "PIPELINE_CRASH" not in {e.data.get("code") for e in await journal.events() if e.kind == "ALERT"}
        assert "PIPELINE_CRASH" not in kinds
        end = await journal.intent_end(result.intent_id)
        assert end is not None and end[0] == EndState.HALTED.value
        assert await journal.unfinished_intents() == [] and await journal.open_submits() == []
        assert [e.kind for e in await journal.events(intent_id=result.intent_id) if e.kind in ("HALT", "END")] == [
            "HALT",
            "END",
        ]
        assert engine.trading_state is TradingState.HALTED
        assert engine.proposal is not None
        assert (engine.proposal.legs.spot_qty, engine.proposal.legs.perp_qty) == (venue.spot["BTC"], venue.position)


# ---- 12. fee dust from earlier cycles, then a lost spot answer and a restart ----------------------------


async def test_12_restart_after_dusty_cycles_and_a_lost_spot_answer(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    venue = SimVenue()
    async with running(path, venue) as engine:
        await engine.start()
        for _ in range(2):
            assert (await engine.enter(SIZE)).end_state is EndState.HEDGED
            assert (await engine.exit()).end_state is EndState.FLAT
        assert venue.position == 0 and 0 < venue.spot["BTC"] * venue.spot_mid < DUST_USD
        venue.inject(
            Fault("create", "error_after", MarketKind.SPOT),
            Fault("fetch", "lookup_error", MarketKind.SPOT, times=1000),
        )
        halted = await engine.enter(SIZE)
        assert halted.end_state is EndState.HALTED, halted.reason
    lost = [o for o in orders(venue, code="SO") if parse_client_order_id(o.cid)[0] == halted.intent_id]  # type: ignore[index]
    assert len(lost) == 1 and lost[0].filled == QTY

    sent, cancels = list(venue.sent_cids), venue.calls["cancel"]
    venue.faults.clear()
    async with running(path, venue) as engine:
        report = await engine.start()
        assert report.complete, report.summary()
        assert lost[0].cid in report.adopted
        assert venue.sent_cids == sent and venue.calls["cancel"] == cancels  # reconciliation never trades
        spot, perp = venue.spot["BTC"], venue.position
        hedged = perp != 0 and net_ok(spot, perp, venue.spot_mid)
        flat = perp == 0 and spot * venue.spot_mid < DUST_USD
        if not (hedged or flat):
            assert engine.trading_state is TradingState.HALTED
            assert engine.proposal is not None
            assert (engine.proposal.legs.spot_qty, engine.proposal.legs.perp_qty) == (spot, perp)
        # The journal's account (cycles' dust + the adopted fill) agrees with the exchange.
        assert report.account is not None and abs(report.account.difference) < SPOT_RULES.step, report.account
        legs = engine.hedge.legs
        assert legs is not None and (legs.spot_qty, legs.perp_qty) == (spot, perp)
    no_duplicates(venue)


# ---- 13. exits and corrections are not breaker trials -------------------------------------------------


async def test_13_an_open_breaker_stays_open_after_an_exit_and_a_correction(tmp_path: Path) -> None:
    venue = SimVenue()
    async with running(tmp_path / "j.sqlite3", venue) as engine:
        await engine.start()
        assert (await engine.enter(SIZE)).end_state is EndState.HEDGED
        for _ in range(2):  # two failed hedges open the breaker (each failed entry's spot is sold back)
            venue.inject(Fault("create", "reject", MarketKind.PERP, code=-2019))
            assert not (await engine.enter(SIZE)).success
        assert engine.breaker.snapshot().state is BreakerState.OPEN
        assert venue.position == -QTY

        out = await engine.exit()
        assert out.success and out.end_state is EndState.FLAT, out.reason
        assert venue.position == 0
        assert engine.breaker.snapshot().state is BreakerState.OPEN
        saved = await engine.journal.latest_state("breaker")
        assert saved is not None and saved["state"] == BreakerState.OPEN.value

        venue.position, venue.entry = -D("0.010"), venue.perp_mid  # a short opened outside the engine
        fixed = await engine.correct()
        assert fixed.success, fixed.reason
        assert venue.position == 0
        assert engine.breaker.snapshot().state is BreakerState.OPEN
        denied = await engine.enter(SIZE)
        assert denied.aborted and denied.reason_code == "BREAKER_OPEN"
        assert orders(venue, code="PO") and len(orders(venue, code="PO")) == 1


async def test_13b_a_successful_exit_does_not_reset_the_failure_count(tmp_path: Path) -> None:
    venue = SimVenue()
    async with running(tmp_path / "j.sqlite3", venue) as engine:
        await engine.start()
        assert (await engine.enter(SIZE)).end_state is EndState.HEDGED
        venue.inject(Fault("create", "reject", MarketKind.PERP, code=-2019))
        failed = await engine.enter(SIZE)
        assert not failed.success and not failed.aborted, failed.reason
        assert engine.breaker.snapshot().failures == 1
        assert venue.position == -QTY  # the first hedge is intact; the failed entry's spot was sold back

        out = await engine.exit()
        assert out.success and out.end_state is EndState.FLAT, out.reason
        assert venue.position == 0 and venue.spot["BTC"] * venue.spot_mid < DUST_USD
        assert engine.breaker.snapshot().failures == 1


def test_rules_used_here_are_the_simulated_venues() -> None:
    # The quantities above assume these steps; a change to the simulated venue must fail loudly here.
    assert (SPOT_RULES.step, PERP_RULES.step, SPOT_RULES.min_notional) == (D("0.00001"), D("0.001"), DUST_USD)
