"""Streamed account truth: the user data streams kept running, judged like the books, seeded over REST.

For each leg's account (spot, USDⓈ-M) a few tasks keep ccxt.pro's ``watch_orders``, ``watch_my_trades``
and ``watch_balance`` running, plus ``watch_positions`` on the perp. What they push is kept as the latest
order per client id, each order's executions (with commissions), the spot balances and the perp position
amount. The health rules follow the books (``market_data.py``):

* an account is **stale** from the start, and again after any watch error, a reconnect, an expired listen
  key (``listenKeyExpired``, which ccxt ignores: seen through :meth:`UserStreamWatches.on_user_event`) or a
  fill whose balance or position change never arrived (a lost event is a gap);
* a stale account is **re-read over REST** once its connection is up again, and that read seeds it (read
  again if an event crossed it); only then is it fresh;
* stale state is never handed out: :meth:`UserDataStream.view` returns ``None`` for whatever the stream
  cannot vouch for, and :meth:`UserDataStream.wait_order` answers ``None`` at once on a stale stream, so
  the engine polls.

The USDⓈ-M wallet event carries no available margin, and the position event no liquidation price: after
each change both are re-read over REST in the background, and handed out only once that read is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from hedgetui.domain.account import Balance, FuturesBalance, PerpPosition
from hedgetui.domain.account_stream import AccountView
from hedgetui.domain.orders import OrderResult, TradeFill
from hedgetui.domain.venue import MarketKind
from hedgetui.exchange.cadence import Clock, Sleep, backoff_delay
from hedgetui.exchange.errors import VenueError

log = logging.getLogger(__name__)

#: Orders remembered per leg (the oldest are forgotten first; the engine asks only about recent ones).
ORDER_MEMORY = 2000
#: How often the seeder looks whether a lost connection is back.
_CONNECT_POLL_S = 0.05


class UserStreamWatches(Protocol):
    """The watches the stream runs (``BinanceVenue.watches`` satisfies it)."""

    async def watch_orders(self, kind: MarketKind) -> list[OrderResult]: ...
    async def watch_my_trades(self, kind: MarketKind) -> list[TradeFill]: ...
    async def watch_spot_balances(self) -> dict[str, Balance]: ...
    async def watch_futures_balance(self) -> None: ...
    async def watch_perp_position(self) -> PerpPosition | None: ...
    def user_stream_live(self, kind: MarketKind) -> bool: ...
    def forget_listen_key(self) -> None: ...
    def on_user_event(self, tap: Callable[[str], None]) -> None: ...


class UserStreamVenue(Protocol):
    """The REST reads that seed and refresh the stream (``BinanceVenue`` satisfies it)."""

    async def fetch_spot_balances(self) -> dict[str, Balance]: ...
    async def fetch_futures_balance(self) -> FuturesBalance: ...
    async def fetch_perp_position(self) -> PerpPosition: ...


@dataclass
class _Account:
    """Health of one leg's account stream."""

    live: bool = False
    #: Why it is stale (None while live).
    stale_reason: str | None = "not seeded yet"
    #: Monotonic time a fill was reported whose balance/position change has not arrived yet.
    pending_since: float | None = None
    #: Account events seen; a seed read that an event crossed is read again.
    events: int = 0
    #: Bumped on every stale transition; a seed started before it is void.
    generation: int = 0


class UserDataStream:
    """Keeps both accounts' user data streams and hands out only what they can vouch for."""

    def __init__(
        self,
        venue: UserStreamVenue,
        watches: UserStreamWatches,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        backoff_min_s: float = 0.25,
        backoff_max_s: float = 5.0,
        account_event_grace_s: float = 1.0,
        on_change: Callable[[str, str], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.venue = venue
        self.watches = watches
        self._clock = clock
        self._sleep = sleep
        self._backoff = (backoff_min_s, backoff_max_s)
        #: A fill's account change later than this is taken as lost: the account goes stale and is re-read.
        self.account_event_grace_s = account_event_grace_s
        #: Called with (ACCOUNT_STALE | ACCOUNT_FRESH, message) on each health transition, to journal it.
        self.on_change = on_change
        self._rng = rng or random.Random()
        self._acct = {MarketKind.SPOT: _Account(), MarketKind.PERP: _Account()}
        self._orders: dict[MarketKind, dict[str, OrderResult]] = {k: {} for k in MarketKind}
        self._trades: dict[MarketKind, dict[str, dict[str, TradeFill]]] = {k: {} for k in MarketKind}
        self._spot: dict[str, Balance] = {}
        self._amount: Decimal | None = None
        self._position: PerpPosition | None = None
        self._futures: FuturesBalance | None = None
        #: The REST position and wallet were read after the last pushed change.
        self._perp_current = False
        self._changed = asyncio.Event()
        self._seed_wake = {k: asyncio.Event() for k in MarketKind}
        self._refresh_wake = asyncio.Event()
        self._watches: dict[MarketKind, list[asyncio.Task[None]]] = {k: [] for k in MarketKind}
        self._tasks: list[asyncio.Task[None]] = []
        self._tapped = False

    # ---- lifecycle ---------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    def start(self) -> None:
        """Start the watches, the seeders and the perp refresher (idempotent)."""
        if self._tasks:
            return
        if not self._tapped:
            self.watches.on_user_event(self._user_event)
            self._tapped = True
        for kind in MarketKind:
            self._start_watches(kind)
            self._tasks.append(asyncio.create_task(self._seed_loop(kind), name=f"user-seed-{kind.value}"))
            self._seed_wake[kind].set()
        self._tasks.append(asyncio.create_task(self._refresh_loop(), name="user-refresh-perp"))

    def _start_watches(self, kind: MarketKind) -> None:
        v = self.watches
        loops: list[tuple[str, Callable[[], Awaitable[Any]], Callable[[Any], None]]] = [
            ("orders", lambda: v.watch_orders(kind), lambda r: self._apply_orders(kind, r)),
            ("trades", lambda: v.watch_my_trades(kind), lambda r: self._apply_trades(kind, r)),
        ]
        if kind is MarketKind.SPOT:
            loops.append(("balance", v.watch_spot_balances, self._apply_spot))
        else:
            loops.append(("position", v.watch_perp_position, self._apply_position))
            loops.append(("wallet", v.watch_futures_balance, lambda _r: self._apply_wallet()))
        self._watches[kind] = [
            asyncio.create_task(self._watch_loop(kind, name, call, apply), name=f"user-{kind.value}-{name}")
            for name, call, apply in loops
        ]

    async def stop(self) -> None:
        """Cancel every task and wait for them (the venue closes the connections)."""
        tasks = self._tasks + [t for ts in self._watches.values() for t in ts]
        self._tasks = []
        self._watches = {k: [] for k in MarketKind}
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        for acct in self._acct.values():
            acct.live = False
            acct.stale_reason = "stopped"
        self._notify()

    # ---- what the engine asks ----------------------------------------------------------------------

    def is_fresh(self, kind: MarketKind) -> bool:
        """True while this leg's account stream is connected, seeded and has no gap."""
        return self._acct[kind].live

    def stale_reason(self, kind: MarketKind) -> str | None:
        return self._acct[kind].stale_reason

    async def wait_order(self, kind: MarketKind, client_order_id: str, timeout_s: float) -> OrderResult | None:
        """The order's terminal state with every execution (commissions included) once its events have
        arrived; None at once on a stale stream, or when they have not arrived within ``timeout_s``. An order
        of which not one event came has had its events lost (a gap): the account goes stale until re-read."""
        deadline = self._clock() + timeout_s
        while True:
            if not self._acct[kind].live:
                return None
            order = self._orders[kind].get(client_order_id)
            if order is not None and order.status.is_terminal:
                trades = tuple(self._trades[kind].get(order.order_id, {}).values())
                full = order.model_copy(update={"trades": trades})
                if full.trades_complete:
                    return full
            if not await self._changed_within(deadline - self._clock()):
                if order is None:
                    # Not one event of an order the exchange accepted: the stream lost them.
                    self._stale(kind, f"no event of order {client_order_id} in {timeout_s:g} s")
                return None

    async def view(self, settle_s: float = 0.0, *, full: bool = False) -> AccountView:
        """What the stream vouches for now. ``settle_s``: wait that long for the account changes of the
        fills already reported (never for a stale account); with ``full`` also for the background re-read
        of the perp position and wallet (needed for risk, not for the legs' quantities)."""
        deadline = self._clock() + settle_s
        while self._unsettled(full) and await self._changed_within(deadline - self._clock()):
            pass
        self._expire_pending()
        spot, perp = self._acct[MarketKind.SPOT], self._acct[MarketKind.PERP]
        spot_ok = spot.live and spot.pending_since is None
        perp_ok = perp.live and perp.pending_since is None
        current = perp_ok and self._perp_current
        return AccountView(
            spot_balances=dict(self._spot) if spot_ok else None,
            perp_amount=self._amount if perp_ok else None,
            position=self._position if current else None,
            futures=self._futures if current else None,
        )

    def _unsettled(self, full: bool) -> bool:
        spot, perp = self._acct[MarketKind.SPOT], self._acct[MarketKind.PERP]
        return (
            (spot.live and spot.pending_since is not None)
            or (perp.live and perp.pending_since is not None)
            or (full and perp.live and not self._perp_current)
        )

    def _expire_pending(self) -> None:
        now = self._clock()
        for kind, acct in self._acct.items():
            if acct.live and acct.pending_since is not None and now - acct.pending_since > self.account_event_grace_s:
                self._stale(kind, "a fill's account change never arrived (lost event)")

    async def _changed_within(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for any change; False when none came."""
        if seconds <= 0:
            return False
        event = self._changed
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            return False
        return True

    # ---- health ------------------------------------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _stale(self, kind: MarketKind, reason: str) -> None:
        acct = self._acct[kind]
        acct.generation += 1
        acct.pending_since = None
        if kind is MarketKind.PERP:
            self._perp_current = False
            # The next watch then creates (or extends) a listen key instead of dialling a dead one.
            self.watches.forget_listen_key()
        if acct.live:
            log.warning("%s account stream stale: %s", kind.value, reason)
            if self.on_change is not None:
                self.on_change("ACCOUNT_STALE", f"{kind.value}: {reason}")
        acct.live = False
        acct.stale_reason = reason
        self._seed_wake[kind].set()
        self._notify()

    def _user_event(self, event: str) -> None:
        """ccxt ignores these two; both end the stream they arrive on."""
        if event == "listenKeyExpired":
            self._stale(MarketKind.PERP, "listen key expired")
            self._restart(MarketKind.PERP)
        elif event == "eventStreamTerminated":
            self._stale(MarketKind.SPOT, "user data stream terminated")
            self._restart(MarketKind.SPOT)

    def _restart(self, kind: MarketKind) -> None:
        if not self._tasks:
            return
        for t in self._watches[kind]:
            t.cancel()
        self._start_watches(kind)

    # ---- the loops ---------------------------------------------------------------------------------

    async def _watch_loop(
        self, kind: MarketKind, name: str, call: Callable[[], Awaitable[Any]], apply: Callable[[Any], None]
    ) -> None:
        failures = 0
        while True:
            try:
                result = await call()
            except (VenueError, OSError, RuntimeError, ValueError, KeyError, TypeError) as exc:
                failures += 1
                self._stale(kind, f"{name} stream: {type(exc).__name__}: {str(exc)[:200]}")
                low, high = self._backoff
                await self._sleep(backoff_delay(failures, minimum=low, maximum=high, rng=self._rng))
                continue
            failures = 0
            apply(result)

    async def _seed_loop(self, kind: MarketKind) -> None:
        acct = self._acct[kind]
        failures = 0
        while True:
            await self._seed_wake[kind].wait()
            self._seed_wake[kind].clear()
            while not acct.live:
                if not self.watches.user_stream_live(kind):
                    await self._sleep(_CONNECT_POLL_S)
                    continue
                generation, events = acct.generation, acct.events
                try:
                    await self._read_account(kind, seed=True, events=events, generation=generation)
                except VenueError as exc:
                    failures += 1
                    acct.stale_reason = f"REST re-read failed: {exc.source}"
                    low, high = self._backoff
                    await self._sleep(backoff_delay(failures, minimum=low, maximum=high, rng=self._rng))
                    continue
                failures = 0

    async def _read_account(self, kind: MarketKind, *, seed: bool, events: int, generation: int) -> bool:
        """One REST read of a leg's account; applied only if no event crossed it and no stale came between.
        With ``seed`` a successful read makes the account fresh."""
        acct = self._acct[kind]
        if kind is MarketKind.SPOT:
            balances = await self.venue.fetch_spot_balances()
            if acct.events != events or acct.generation != generation:
                return False
            self._spot = dict(balances)
        else:
            position, futures = await asyncio.gather(
                self.venue.fetch_perp_position(), self.venue.fetch_futures_balance()
            )
            if acct.events != events or acct.generation != generation:
                return False
            self._position, self._futures, self._amount = position, futures, position.amount
            self._perp_current = True
        if seed:
            acct.live = True
            acct.stale_reason = None
            acct.pending_since = None
            log.info("%s account stream fresh (seeded over REST)", kind.value)
            if self.on_change is not None:
                self.on_change("ACCOUNT_FRESH", f"{kind.value}: seeded over REST")
        self._notify()
        return True

    async def _refresh_loop(self) -> None:
        """After each pushed perp change: re-read the position and wallet over REST, in the background."""
        acct = self._acct[MarketKind.PERP]
        while True:
            await self._refresh_wake.wait()
            self._refresh_wake.clear()
            while acct.live and not self._perp_current:
                generation, events = acct.generation, acct.events
                try:
                    await self._read_account(MarketKind.PERP, seed=False, events=events, generation=generation)
                except VenueError as exc:
                    self._stale(MarketKind.PERP, f"position/wallet re-read failed: {exc.source}")

    # ---- applying what the stream pushed -----------------------------------------------------------

    def _apply_orders(self, kind: MarketKind, orders: list[OrderResult]) -> None:
        known = self._orders[kind]
        for order in orders:
            cid = order.client_order_id
            if not cid:
                continue
            before = known.pop(cid, None)
            known[cid] = order
            if order.filled > (before.filled if before is not None else Decimal(0)):
                # A fill moves the balance (spot) or the position (perp): until its event arrives the
                # streamed account is behind the exchange.
                acct = self._acct[kind]
                if acct.pending_since is None:
                    acct.pending_since = self._clock()
        while len(known) > ORDER_MEMORY:
            known.pop(next(iter(known)))
        self._notify()

    def _apply_trades(self, kind: MarketKind, trades: list[TradeFill]) -> None:
        by_order = self._trades[kind]
        for t in trades:
            by_order.setdefault(t.order_id, {})[t.trade_id] = t
        while len(by_order) > ORDER_MEMORY:
            by_order.pop(next(iter(by_order)))
        self._notify()

    def _apply_spot(self, balances: dict[str, Balance]) -> None:
        acct = self._acct[MarketKind.SPOT]
        acct.events += 1
        self._spot.update(balances)
        acct.pending_since = None
        self._notify()

    def _apply_position(self, position: PerpPosition | None) -> None:
        if position is None:
            return
        acct = self._acct[MarketKind.PERP]
        acct.events += 1
        self._amount = position.amount
        acct.pending_since = None
        self._perp_current = False
        self._refresh_wake.set()
        self._notify()

    def _apply_wallet(self) -> None:
        acct = self._acct[MarketKind.PERP]
        acct.events += 1
        self._perp_current = False
        self._refresh_wake.set()
        self._notify()
