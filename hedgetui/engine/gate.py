"""What the engine allows now, and what an entry would do: the refusals and the entry preview.

Kept apart from the engine facade because the footer, the palette, the confirmations and the pipelines'
GUARDS stage all ask the same questions, and they must get the same answers: :meth:`Gate.refusal` is the
one place the engine's state (busy, reconciliation, trading state, breaker, stale data) turns into a
refusal, and :meth:`Gate.preview` judges an entry with it. :class:`Gate` is owned as ``Engine.gate``; the
engine keeps ``refusal``, ``why_refused``, ``guard`` and ``preview`` as its public calls.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from hedgetui.domain.risk import ActionKind, TradingState
from hedgetui.engine.breaker import BreakerOpen, BreakerState
from hedgetui.engine.preview import DRIFT_PENDING, Preview, estimate_hedge, first_refusal
from hedgetui.engine.settings import Denied
from hedgetui.engine.snapshot import read_snapshot

if TYPE_CHECKING:
    from hedgetui.engine.engine import Engine


class Gate:
    """The engine's refusals and its entry preview, read from the engine that owns it. Sends nothing."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def refusal(self, action: ActionKind) -> tuple[str, str] | None:
        """(code, reason) if the engine's state forbids ``action`` now, else None. Sends nothing."""
        engine = self.engine
        if engine._running is not None:
            return "BUSY", f"{engine._running.value} is running"
        if not engine.reconciled:
            return "RECONCILE_PENDING", "reconciliation has not finished (an order's fate is unknown)"
        correcting = action in (ActionKind.CORRECT_REDUCING, ActionKind.CORRECT_INCREASING)
        if engine.trading_state is TradingState.HALTED and not correcting:
            # A correction is what resolves a halt (the operator accepting a proposal); nothing else runs.
            return "TRADING_HALTED", f"trading is HALTED: {engine.halt_reason or 'operator'}"
        if engine.trading_state is TradingState.REDUCING and not action.reduces_exposure:
            return "TRADING_REDUCING", "trading is REDUCING: only exits and reducing corrections"
        if not action.reduces_exposure and not correcting:
            snap = engine.breaker.snapshot()
            if snap.state is BreakerState.OPEN:
                return "BREAKER_OPEN", f"breaker open, half-open in {snap.reopens_in_s or 0:.0f} s"
            stale = engine.stale_data() if engine.stale_data is not None else None
            if stale:
                return "STALE_BOOK", stale
        return None

    def why_refused(self, action: ActionKind) -> str | None:
        """Why ``action`` is refused now, in one line (None when allowed): the footer, palette and help say this."""
        refused = self.engine.refusal(action)
        return f"{refused[0]}: {refused[1]}" if refused else None

    def guard(self, action: ActionKind) -> None:
        """Raise :class:`Denied` if the engine's state forbids ``action`` now (the GUARDS stage)."""
        refused = self._refusal_running(action)
        if refused is not None:
            raise Denied(*refused)
        if action is ActionKind.ENTER:
            try:
                self.engine.breaker.admit()
            except BreakerOpen as exc:
                raise Denied("BREAKER_OPEN", str(exc)) from exc

    def _refusal_running(self, action: ActionKind) -> tuple[str, str] | None:
        # Inside a pipeline the engine is busy with that very pipeline: judge everything but the busy flag.
        engine = self.engine
        running, engine._running = engine._running, None
        try:
            return engine.refusal(action)
        finally:
            engine._running = running

    async def preview(self, size_usd: Decimal) -> Preview:
        """What an entry of ``size_usd`` would do now (risk phase 1, quantity, slippage). Sends nothing."""
        engine = self.engine
        snap = await read_snapshot(engine.venue, engine.clock, engine.settings.book_depth, engine.market)
        drift = engine.hedge.drift(engine.kit.legs(snap))
        apart = (DRIFT_PENDING, f"correct the drift before entering: {drift.describe()}")
        s = engine.settings
        estimate = estimate_hedge(
            size_usd,
            snap.spot_book,
            snap.perp_book,
            engine.spot_rules,
            engine.perp_rules,
            max_bps=s.slippage_max_bps,
            liquidity_multiple=s.liquidity_multiple,
        )
        risk = engine.kit.risk(snap, ActionKind.ENTER, size_usd, Decimal(0))
        refused = first_refusal(
            estimate, risk, engine.refusal(ActionKind.ENTER), apart if drift.needs_correction else None
        )
        return Preview(estimate, risk, refused[1] if refused else None, refused[0] if refused else None)
