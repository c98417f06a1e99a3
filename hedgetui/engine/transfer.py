"""Moving USDT between the spot and the futures wallets ("top up margin", and back), confirmed by the wallets.

Stages (``PIPELINE_STAGES[TRANSFER]``): guards (the engine's refusal, and the amount against what the source
wallet holds), wallets (both read), journal (the transfer's intent is committed before anything is sent),
transfer (one request, never resent), confirm (both wallets read again until the move shows), done.

A transfer is money moving like an order: a lost answer is ambiguous, so it is never resent; the wallets
decide. If they show the move it is CONFIRMED; if they do not within the confirmation window after a lost
answer the result is UNCONFIRMED with an alert (look at the wallets before trying again); a refusal by the
exchange is REFUSED with nothing moved.

:class:`TransferDesk` is the engine's side of it: when a transfer is allowed, and the one running.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from hedgetui.domain.margin import TransferDirection
from hedgetui.domain.risk import TradingState
from hedgetui.domain.stages import PipelineKind, Stage
from hedgetui.engine.clock import Clock
from hedgetui.engine.events import EventBus, Level
from hedgetui.engine.journal import Journal
from hedgetui.engine.ports import VenuePort
from hedgetui.engine.reporter import Reporter
from hedgetui.engine.settings import Denied
from hedgetui.engine.tracker import StageTracker
from hedgetui.exchange.errors import Ambiguous, VenueError

if TYPE_CHECKING:
    from hedgetui.engine.engine import Engine

log = logging.getLogger(__name__)

#: Wallet moves within a cent of the amount count as the transfer (USDT has two decimals on transfers).
CENT = Decimal("0.01")
#: Confirmation reads after the request: how many, and how far apart.
CONFIRM_READS = 6
CONFIRM_GAP_S = 0.5


class TransferStatus(enum.StrEnum):
    CONFIRMED = "CONFIRMED"  #: both wallets show the move
    REFUSED = "REFUSED"  #: refused before or by the exchange; nothing moved
    UNCONFIRMED = "UNCONFIRMED"  #: the answer was lost and the wallets do not show the move (yet)


@dataclass(frozen=True)
class Wallets:
    """The quote asset in both wallets: spot free, and the futures wallet balance."""

    spot_free: Decimal
    futures_wallet: Decimal
    futures_available: Decimal
    margin_balance: Decimal = Decimal(0)
    maint_margin: Decimal = Decimal(0)

    def describe(self, asset: str) -> str:
        return (
            f"spot {self.spot_free:,.2f} {asset} free, futures wallet {self.futures_wallet:,.2f}"
            f" ({self.futures_available:,.2f} available)"
        )


@dataclass(frozen=True)
class TransferResult:
    """How one transfer ended, with both wallets before and after as the exchange holds them."""

    intent_id: str
    asset: str
    amount: Decimal
    direction: TransferDirection
    status: TransferStatus
    reason: str
    before: Wallets | None = None
    after: Wallets | None = None
    transfer_id: str | None = None

    @property
    def success(self) -> bool:
        return self.status is TransferStatus.CONFIRMED

    def describe(self) -> str:
        return f"transfer {self.amount:,f} {self.asset} to {self.direction.target}: {self.status.value}: {self.reason}"


async def read_wallets(venue: VenuePort, asset: str) -> Wallets:
    """Both wallets, read together."""
    spot, futures = await asyncio.gather(venue.fetch_spot_balances(), venue.fetch_futures_balance())
    held = spot.get(asset)
    return Wallets(
        held.free if held is not None else Decimal(0),
        futures.wallet,
        futures.available,
        futures.margin_balance,
        futures.maint_margin,
    )


def moved(before: Wallets, after: Wallets, amount: Decimal, direction: TransferDirection) -> bool:
    """The spot wallet shows the move (funding and fees change only the futures wallet, so spot decides)."""
    expected = -amount if direction is TransferDirection.TO_FUTURES else amount
    return abs(after.spot_free - before.spot_free - expected) <= CENT


def source_refusal(
    wallets: Wallets, amount: Decimal, direction: TransferDirection, asset: str, margin_warn_pct: Decimal
) -> str | None:
    """Why ``amount`` cannot go (None when it can): the source wallet cannot give it, or taking it out of the
    futures wallet would bring the margin ratio to its warning threshold."""
    if direction is TransferDirection.TO_FUTURES:
        if amount > wallets.spot_free:
            return f"the spot wallet has {wallets.spot_free:,.2f} {asset} free, less than {amount:,f}"
        return None
    if amount > wallets.futures_available:
        return f"the futures wallet has {wallets.futures_available:,.2f} {asset} available, less than {amount:,f}"
    if wallets.maint_margin > 0:
        left = wallets.margin_balance - amount
        ratio = wallets.maint_margin / left * 100 if left > 0 else Decimal(100)
        if ratio >= margin_warn_pct:
            return (
                f"the margin ratio would rise to {ratio:.1f} %, at or above its warning threshold {margin_warn_pct:g} %"
            )
    return None


async def run_transfer(
    venue: VenuePort,
    journal: Journal,
    bus: EventBus,
    clock: Clock,
    intent_id: str,
    asset: str,
    amount: Decimal,
    direction: TransferDirection,
    guard: Callable[[], None],
    margin_warn_pct: Decimal,
) -> TransferResult:
    """Run one transfer through its stages (see the module docstring). ``guard`` raises Denied when the
    engine's state forbids it (checked again on fresh wallets); Denied ends the run REFUSED."""
    report = Reporter(journal, bus, clock, PipelineKind.TRANSFER)
    tracker = StageTracker(PipelineKind.TRANSFER, bus, journal, clock, intent_id)
    what = f"{amount:,f} {asset} from {direction.source} to {direction.target}"
    before: Wallets | None = None
    try:
        async with tracker.stage(Stage.GUARDS) as notes:
            guard()
            notes.append(what)
        async with tracker.stage(Stage.WALLETS) as notes:
            before = await read_wallets(venue, asset)
            notes.append(before.describe(asset))
            short = source_refusal(before, amount, direction, asset, margin_warn_pct)
            if short is not None:
                raise Denied("INSUFFICIENT_BALANCE", short)
        async with tracker.stage(Stage.JOURNAL):
            await report.event(
                "TRANSFER_INTENT",
                f"transfer {what}: {before.describe(asset)}",
                intent_id,
                data={"asset": asset, "amount": amount, "direction": direction.value, "spot": before.spot_free},
            )
    except Denied as denied:
        await tracker.skip_rest(denied.message)
        await report.event("TRANSFER", f"refused: {denied.code}: {denied.message}", intent_id, level=Level.WARN)
        return TransferResult(intent_id, asset, amount, direction, TransferStatus.REFUSED, denied.message, before)
    transfer_id: str | None = None
    lost: str | None = None
    try:
        async with tracker.stage(Stage.TRANSFER) as notes:
            try:
                transfer_id = await venue.transfer(asset, amount, direction)
                notes.append(f"accepted (id {transfer_id or '—'})")
            except Ambiguous as exc:
                lost = f"{exc.source}: {exc.exchange_message}"
                notes.append(f"answer lost ({exc.source}): the wallets decide")
    except VenueError as exc:
        await tracker.skip_rest("refused by the exchange")
        reason = f"refused by the exchange: {exc.source} {exc.code or ''} {exc.exchange_message}".strip()
        await report.event("TRANSFER", reason, intent_id, level=Level.ERROR, data={"code": exc.code})
        return TransferResult(intent_id, asset, amount, direction, TransferStatus.REFUSED, reason, before)
    after = before
    async with tracker.stage(Stage.CONFIRM) as notes:
        for attempt in range(CONFIRM_READS):
            try:
                after = await read_wallets(venue, asset)
            except VenueError:
                after = before
            if moved(before, after, amount, direction):
                break
            if attempt + 1 < CONFIRM_READS:
                await clock.sleep(CONFIRM_GAP_S)
        notes.append(after.describe(asset))
    async with tracker.stage(Stage.DONE):
        pass
    if moved(before, after, amount, direction):
        reason = f"moved {what}: {after.describe(asset)}"
        if lost:
            reason += f" (the answer was lost: {lost}; the wallets show the move)"
        await report.event("TRANSFER", reason, intent_id, data={"id": transfer_id, "status": "CONFIRMED"})
        return TransferResult(
            intent_id, asset, amount, direction, TransferStatus.CONFIRMED, reason, before, after, transfer_id
        )
    reason = (
        f"the wallets do not show {what} ({after.describe(asset)})"
        + (f" after a lost answer ({lost})" if lost else " although the exchange accepted it")
        + ": check the wallets before trying again (nothing is resent)"
    )
    await report.alert("TRANSFER_UNCONFIRMED", reason, intent_id, level=Level.ERROR)
    return TransferResult(
        intent_id, asset, amount, direction, TransferStatus.UNCONFIRMED, reason, before, after, transfer_id
    )


class TransferDesk:
    """The engine's wallet transfers: when one is allowed, and the one running (a task the engine owns).

    A transfer takes the engine's busy flag like a pipeline (one at a time) and is refused by the engine's
    trading state, so the desk reads and sets them on the engine that owns it; :class:`Engine` keeps
    ``why_transfer_refused``, ``start_transfer`` and ``transfer`` as its public calls.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        #: The running (or last) transfer; the engine's shutdown waits for it.
        self.task: asyncio.Task[TransferResult] | None = None

    def refusal(self, direction: TransferDirection) -> tuple[str, str] | None:
        """(code, reason) if the engine's state forbids a transfer ``direction`` now, else None.

        Topping up the futures wallet only adds margin: it is refused only while a pipeline (or another
        transfer) runs. Taking margin back to spot also needs a finished reconciliation and trading not
        HALTED; the amount's own checks (what the source holds, the margin ratio after) come with fresh
        wallets when it runs.
        """
        if self.engine._running is not None:
            return "BUSY", f"{self.engine._running.value} is running"
        if direction is TransferDirection.TO_SPOT:
            if not self.engine.reconciled:
                return "RECONCILE_PENDING", "reconciliation has not finished: margin stays in futures"
            if self.engine.trading_state is TradingState.HALTED:
                return (
                    "TRADING_HALTED",
                    f"trading is HALTED ({self.engine.halt_reason or 'operator'}): margin stays in futures",
                )
        return None

    def why_refused(self, direction: TransferDirection) -> str | None:
        """Why a transfer ``direction`` is refused now, in one line (None when allowed)."""
        refused = self.refusal(direction)
        return f"{refused[0]}: {refused[1]}" if refused else None

    def start(self, amount: Decimal, direction: TransferDirection) -> asyncio.Task[TransferResult]:
        """Move ``amount`` of the perp's margin asset between the wallets, as a task the engine owns (the
        engine has checked it is not busy); a refusal ends the run REFUSED."""
        engine = self.engine
        engine._running = PipelineKind.TRANSFER
        asset = engine.perp_rules.quote

        def guard() -> None:
            running, engine._running = engine._running, None
            try:
                refused = self.refusal(direction)
            finally:
                engine._running = running
            if refused is not None:
                raise Denied(*refused)

        async def run() -> TransferResult:
            try:
                result = await run_transfer(
                    engine.venue,
                    engine.journal,
                    engine.bus,
                    engine.clock,
                    engine._intent_ids(),
                    asset,
                    amount,
                    direction,
                    guard,
                    engine.settings.perp_watch.margin_ratio_warn_pct,
                )
            finally:
                engine._running = None
            try:
                await engine.read_perp()  # the margin figures (and their alerts) follow the new wallets at once
            except Exception:  # the monitor's next poll judges them; the transfer's result stands
                log.warning("reading the perp after a transfer failed", exc_info=True)
            return result

        self.task = asyncio.get_running_loop().create_task(run(), name="transfer")
        return self.task
