"""The user events of one core operation, handed out as one batch: the order changes as they happened, then
the account changes they caused, found by comparing the wallets with what was last reported.

Kept apart from :mod:`hedgetui.sandbox.core` because it is the user data stream's view of an operation (what
``executionReport``, ``outboundAccountPosition`` and ``ACCOUNT_UPDATE`` will say, built in
:mod:`hedgetui.sandbox.userevents`), not the operation itself.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from hedgetui.sandbox.model import FuturesAccountChange, Market, OrderEvent, SpotAccountChange

if TYPE_CHECKING:
    from hedgetui.sandbox.core import ExchangeCore


def futures_state(core: ExchangeCore) -> tuple[Decimal, dict[str, tuple[Decimal, Decimal]]]:
    """The futures wallet and every position's (amount, entry price): what an ACCOUNT_UPDATE reports."""
    return core._futures.wallet, {s: (p.amount, p.entry_price) for s, p in core._futures.positions.items()}


def flush_user_events(core: ExchangeCore, now: int) -> None:
    """Append the account changes (found by comparing with the last report) and hand the batch out."""
    events, core._pending = core._pending, []
    spot = core._spot.snapshot()
    changed = tuple(a for a, v in spot.items() if core._reported_spot.get(a) != v)
    if changed:
        events.append(SpotAccountChange(changed, now))
        core._reported_spot = spot
    futures = futures_state(core)
    if futures != core._reported_futures:
        symbols = tuple(s for s, v in futures[1].items() if core._reported_futures[1].get(s) != v)
        traded = any(
            isinstance(e, OrderEvent) and e.trade is not None and e.order.market is Market.FUTURES for e in events
        )
        # An order's fill (a liquidation's too) is reason ORDER; funding and transfers name their own;
        # any other change from outside (the control API's position) is ADJUSTMENT.
        reason = core._account_reason or ("ORDER" if traded else "ADJUSTMENT")
        events.append(FuturesAccountChange(reason, symbols, now))
        core._reported_futures = futures
    core._account_reason = None
    if events:
        for cb in list(core._user_listeners):
            cb(events)
