"""Reconciliation: resolve every order the journal does not know the end of, then compare both legs as the
exchange holds them — and only propose. It never sends an order (safety rule 6).

1. LOOKUP — every submission without a terminal answer, across all intents (halted ones included), is
   looked up by client id: a found order is adopted (``OrderExecutor.adopt``: cancelled if still live, its
   fills collected); "not found" is believed only over the whole grace window; an order whose fate cannot
   be told keeps reconciliation incomplete (trading stays HALTED). Orders concluded "not placed" are
   looked for once more (late visibility) and recorded ``absent`` if still missing. Finished orders that
   filled but have no fill rows (a crash between the two writes) get their fills backfilled.
2. POSITIONS — both legs are read from the exchange (the perp position; the spot balance less the reserve).
   The journal's account of the spot leg is compared with it; a difference is journaled and shown as a
   discrepancy. Without streams (a headless command) the same round trip reads both books and the futures
   wallet too, best effort: the whole reading is what the pipeline that follows decides on while it is fresh
   (``ReconcileReport.snapshot``), rather than reading it all again. An empty journal facing existing
   positions adopts them as the current hedge and says so. Unfinished intents are closed with the exchange's
   figures. If the legs do not match, the account's perp trades since the journal's last fill are read:
   orders hedgetui did not send (a liquidation, an ADL, a manual trade while no engine ran) name the cause,
   and their trades are journaled as external fills (as the drift monitor does). A
   :class:`~hedgetui.engine.proposal.Proposal` says what to send, why and at what cost; the operator
   decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from hedgetui.domain.drift import HedgeDrift
from hedgetui.domain.execution import EndState
from hedgetui.domain.stages import PipelineKind, Stage
from hedgetui.domain.venue import MarketKind
from hedgetui.engine.clock import Clock
from hedgetui.engine.events import EventBus, Level
from hedgetui.engine.hedge import ExchangeLegs, HedgeState, JournalAccount, legs_from
from hedgetui.engine.journal import Journal
from hedgetui.engine.legs import ExecTimeouts, HaltRequired, Resolution, request_of
from hedgetui.engine.orders import OrderExecutor
from hedgetui.engine.perpwatch import explain_perp_change, journal_change
from hedgetui.engine.ports import VenuePort
from hedgetui.engine.proposal import Proposal, build_proposal
from hedgetui.engine.reporter import Reporter
from hedgetui.engine.snapshot import MarketSnapshot, read_legs_snapshot
from hedgetui.engine.tracker import StageTracker
from hedgetui.exchange.errors import VenueError


@dataclass
class ReconcileReport:
    """What reconciliation found, for the operator. ``complete`` is False while any order's fate is unknown."""

    complete: bool = False
    intents: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    not_placed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    backfilled: list[str] = field(default_factory=list)
    legs: ExchangeLegs | None = None
    drift: HedgeDrift | None = None
    account: JournalAccount | None = None
    adopted_positions: bool = False
    proposal: Proposal | None = None
    messages: list[str] = field(default_factory=list)
    #: The whole reading of the POSITIONS stage (books and futures wallet too), when one was asked for and
    #: every read of it answered: the next pipeline may decide on it (:data:`~hedgetui.engine.snapshot.HANDOFF_S`).
    snapshot: MarketSnapshot | None = None

    @property
    def halted(self) -> bool:
        """The legs need the operator: a proposal is pending, or reconciliation could not finish."""
        return not self.complete or self.proposal is not None

    def summary(self) -> str:
        if not self.complete:
            return "reconciliation incomplete: " + ("; ".join(self.messages) or "exchange unreadable")
        parts = [f"{len(self.intents)} unfinished intent(s) resolved" if self.intents else "no unfinished intent"]
        if self.adopted:
            parts.append(f"adopted {', '.join(self.adopted)}")
        if self.not_placed:
            parts.append(f"never placed {', '.join(self.not_placed)}")
        if self.cancelled:
            parts.append(f"cancelled {', '.join(self.cancelled)}")
        if self.backfilled:
            parts.append(f"fills backfilled for {', '.join(self.backfilled)}")
        if self.adopted_positions:
            parts.append("existing positions adopted as the current hedge")
        if self.legs is not None:
            parts.append(self.legs.describe())
        if self.drift is not None:
            parts.append(self.drift.describe())
        parts.extend(self.messages)
        if self.proposal is not None:
            parts.append("PROPOSAL PENDING (nothing sent): " + self.proposal.summary())
        return "; ".join(parts)


class Reconciler:
    """Runs one reconciliation; see the module docstring for what it does and never does."""

    def __init__(
        self,
        venue: VenuePort,
        journal: Journal,
        bus: EventBus,
        clock: Clock,
        timeouts: ExecTimeouts,
        hedge: HedgeState,
        fee_rates: tuple[Decimal, Decimal],
        *,
        snapshot_depth: int | None = None,
    ) -> None:
        self.venue = venue
        #: Read a pipeline's whole snapshot beside the legs (books this deep): set when no stream would
        #: answer the next pipeline's reads without a round trip (a headless command).
        self.snapshot_depth = snapshot_depth
        self.journal = journal
        self.bus = bus
        self.clock = clock
        self.hedge = hedge
        self.fee_rates = fee_rates
        self.report_to = Reporter(journal, bus, clock, PipelineKind.RECONCILE)
        self.ex = OrderExecutor(venue, journal, bus, clock, timeouts, pipeline=PipelineKind.RECONCILE)

    async def run(self) -> ReconcileReport:
        """Reconcile once. Sends no order; cancels only live orders of earlier runs it adopts."""
        report = ReconcileReport()
        tracker = StageTracker(PipelineKind.RECONCILE, self.bus, self.journal, self.clock)
        await self.report_to.event("RECONCILE", "start")
        try:
            async with tracker.stage(Stage.LOOKUP) as notes:
                await self._resolve_orders(report)
                notes.append(
                    f"{len(report.adopted)} adopted, {len(report.not_placed)} never placed, "
                    f"{len(report.backfilled)} backfilled"
                )
            async with tracker.stage(Stage.POSITIONS) as notes:
                await self._compare_legs(report)
                notes.append(report.legs.describe() if report.legs else "")
        except HaltRequired as halt:
            report.messages.append(f"{halt.code} {halt.message}")
            await self.report_to.alert(halt.code, f"reconciliation incomplete: {halt.code} {halt.message}")
            await self.report_to.event("RECONCILE", "blocked", level=Level.CRITICAL, data={"code": halt.code})
            return report
        except VenueError as exc:
            report.messages.append(f"{exc.source}: {exc.exchange_message}")
            await self.report_to.alert(
                "RECONCILE_INCOMPLETE", f"reconciliation incomplete: cannot read the exchange ({exc.source})"
            )
            await self.report_to.event("RECONCILE", "blocked", level=Level.CRITICAL, data={"error": exc.source})
            return report
        report.complete = True
        if report.proposal is not None:
            await self.report_to.alert("PROPOSAL", report.proposal.describe(), level=Level.ERROR)
        await self.report_to.event("RECONCILE", f"done: {report.summary()}")
        return report

    async def _resolve_orders(self, report: ReconcileReport) -> None:
        report.intents = [i.intent_id for i in await self.journal.unfinished_intents()]
        for submit in await self.journal.open_submits():
            order, resolution = await self.ex.lookup(MarketKind(submit.market), submit.cid, submit.intent_id)
            if resolution is Resolution.UNRESOLVED:
                raise HaltRequired("UNRESOLVED_ORDER", f"cannot resolve {submit.cid}", submit.cid)
            if resolution is Resolution.NOT_PLACED or order is None:
                await self.journal.record_update(
                    submit.cid,
                    status="not_placed",
                    filled=Decimal(0),
                    terminal=True,
                    message="not found at reconciliation",
                )
                report.not_placed.append(submit.cid)
                continue
            if not order.status.is_terminal:
                report.cancelled.append(submit.cid)
            await self.ex.adopt(submit, order)
            report.adopted.append(submit.cid)
        for fill in await self.ex.sweep(await self.journal.not_placed_submits(), final=True):
            report.adopted.append(fill.cids[0])
        for submit, order_id in await self.journal.filled_without_fills():
            order = await self.venue.fetch_order(MarketKind(submit.market), order_id=order_id)
            await self.ex.collect_fills(request_of(submit), order, submit.cid)
            report.backfilled.append(submit.cid)

    async def _read_legs(self, report: ReconcileReport) -> ExchangeLegs:
        """Both legs, read from the exchange (never from a stream: an outside change may not have arrived)."""
        if self.snapshot_depth is None:
            return await self.hedge.read()
        (balances, position, funding), report.snapshot = await read_legs_snapshot(
            self.venue, self.clock, self.snapshot_depth
        )
        h = self.hedge
        return h.observe(legs_from(h.spot_rules.base, h.reserve, balances, position, funding, self.clock.wall_ms()))

    async def _compare_legs(self, report: ReconcileReport) -> None:
        legs = await self._read_legs(report)
        drift = self.hedge.drift(legs)
        report.legs, report.drift = legs, drift
        if await self.journal.intent_count() == 0 and (legs.perp_qty != 0 or legs.spot_qty != 0):
            await self.hedge.adopt(self.journal, legs)
            report.adopted_positions = True
            await self.report_to.event(
                "ADOPT_POSITION",
                f"the journal is empty: existing positions adopted as the current hedge ({legs.describe()})",
                level=Level.WARN,
                data={"spot_qty": legs.spot_qty, "perp_qty": legs.perp_qty},
            )
        else:
            account = await self.hedge.compare(self.journal, legs)
            report.account = account
            if self.hedge.is_discrepancy(account):
                text = (
                    f"the journal accounts for {account.spot_qty} {legs.base} of spot, the exchange holds "
                    f"{account.exchange_spot_qty} (less the reserve): the exchange is used"
                )
                report.messages.append(f"discrepancy: {text}")
                await self.report_to.event(
                    "DISCREPANCY",
                    text,
                    level=Level.WARN,
                    data={"journal": account.spot_qty, "exchange": account.exchange_spot_qty},
                )
        if drift.dust and drift.residual_reason:
            await self.report_to.event("DUST", drift.residual_reason, data={"qty": drift.drift_qty})
        end = EndState.HEDGED if legs.perp_qty != 0 else EndState.FLAT
        if drift.needs_correction:
            cause = "" if report.adopted_positions else await self._explain(report)
            reason = "the legs on the exchange do not match" + (f" ({cause})" if cause else "")
            report.proposal = await build_proposal(self.venue, legs, drift, reason, self.fee_rates)
            end = EndState.HALTED
        for intent_id in report.intents:
            await self.journal.record_end(
                intent_id, end.value, "resolved at reconciliation", spot_qty=legs.spot_qty, perp_qty=legs.perp_qty
            )

    async def _explain(self, report: ReconcileReport) -> str:
        """Name what changed the perp since the journal's last fill, journal its trades as external fills,
        and return the cause ("" when no order of the account's explains the difference)."""
        since = await self.journal.last_fill_ms()
        if since is None:
            return ""
        change = await explain_perp_change(self.venue, self.journal, since - 1000)
        if not change.orders:
            return ""
        text = f"outside change while no engine ran: {change.describe()}"
        report.messages.append(text)
        await self.report_to.event("DRIFT", text, level=Level.CRITICAL, data={"cause": change.cause.value})
        await journal_change(self.journal, self.report_to, change, self.clock.wall_ms())
        return change.cause.value
