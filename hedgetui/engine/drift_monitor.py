"""The drift monitor: the legs changed outside hedgetui (liquidation, ADL, a manual trade), and the proposal.

Kept apart from the engine facade because it is one decision with its own state (when the legs last
matched): judge a reading the account polls or streams showed, read the legs again before deciding, and
if they are still apart HALT trading with a proposal and a critical alert. It sends nothing; the operator
accepts a proposal through the engine. :class:`DriftMonitor` is owned as ``Engine.drift_monitor``; the
engine keeps ``check_drift`` as its public call.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from hedgetui.domain.risk import TradingState
from hedgetui.engine.events import Level
from hedgetui.engine.hedge import ExchangeLegs
from hedgetui.engine.perpwatch import explain_perp_change, journal_change
from hedgetui.engine.proposal import Proposal, build_proposal

if TYPE_CHECKING:
    from hedgetui.engine.engine import Engine


class DriftMonitor:
    """The engine's drift monitor: external changes to the legs, and the proposals that answer them.

    It reads and sets the trading state and the proposal on the engine that owns it (like
    :class:`~hedgetui.engine.transfer.TransferDesk`).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        #: When the legs last matched and the perp then: what a later external change is explained against.
        self.matched_ms = engine.started_ms

    async def check(self, seen: ExchangeLegs | None) -> Proposal | None:
        """The drift monitor: the legs changed outside hedgetui (liquidation, ADL, a manual trade).

        ``seen`` is what the account polls or streams last showed. If it is apart beyond tolerance while no
        pipeline runs, the legs are read again (never decide on a reading a pipeline may have overtaken);
        if they are still apart, trading is HALTED with a proposal and a critical alert naming the unhedged
        quantity. Nothing is sent until the operator accepts.
        """
        engine = self.engine
        if seen is None or engine.busy or not engine.reconciled or engine.proposal is not None:
            return None
        if not engine.hedge.drift(seen).needs_correction:
            self.matched_ms = seen.read_ms
            return None
        runs = engine._runs
        legs = await engine.hedge.read()
        if engine.busy or runs != engine._runs or engine.proposal is not None:
            return None
        drift = engine.hedge.drift(legs)
        if not drift.needs_correction:
            self.matched_ms = legs.read_ms
            return None
        change = await explain_perp_change(engine.venue, engine.journal, self.matched_ms - 1000)
        await engine.report.event(
            "DRIFT",
            f"external change: {drift.describe()} [{legs.describe()}]; {change.describe()}",
            level=Level.CRITICAL,
            data={"bps": drift.drift_bps, "source": "external", "cause": change.cause.value},
        )
        reason = f"the legs changed outside hedgetui ({change.cause.value})"
        proposal = await build_proposal(engine.venue, legs, drift, reason, engine._fee_rates)
        engine.proposal = proposal
        net = legs.net_qty
        if net > 0:
            exposed = f"{net:f} {legs.base} of spot is now unhedged ({net * legs.mark:,.2f} USD)"
        else:
            exposed = f"{-net:f} {legs.base} of perp short is no longer covered by spot ({-net * legs.mark:,.2f} USD)"
        await engine.report.alert(
            "EXTERNAL_DRIFT",
            f"{change.describe()}: unhedged {drift.drift_qty:+f} {legs.base}: {exposed}. {proposal.describe()}",
            data={"cause": change.cause.value, "unhedged_spot": max(net, Decimal(0))},
        )
        await engine._set_state(TradingState.HALTED, f"external change ({change.cause.value}): " + proposal.summary())
        await journal_change(engine.journal, engine.report, change, engine.clock.wall_ms())  # the ledger counts them
        return proposal

    async def propose(self, reason: str) -> Proposal | None:
        """Read the legs and, if they are apart, build a proposal and raise it as an alert (None otherwise)."""
        engine = self.engine
        try:
            legs = await engine.hedge.read()
        except Exception:  # the halt alert already says the exchange could not be read
            return None
        drift = engine.hedge.drift(legs)
        if not drift.needs_correction:
            return None
        proposal = await build_proposal(engine.venue, legs, drift, reason, engine._fee_rates)
        await engine.report.alert("PROPOSAL", proposal.describe(), level=Level.ERROR)
        return proposal
