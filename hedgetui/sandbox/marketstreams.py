"""Market data streams besides depth diffs: partial books, bookTicker, trade, aggTrade and markPrice.

=================================  ================================================================
name                               event
=================================  ================================================================
``<s>@depth<5|10|20>[@speed]``     top levels every speed: spot ``{lastUpdateId, bids, asks}`` at
                                   1000 ms or ``@100ms``; USDⓈ-M ``depthUpdate`` with the top levels,
                                   ``U``/``u``/``pu``, at 250 ms, ``@500ms`` or ``@100ms``
``<s>@bookTicker``                 best bid/ask whenever it changes (spot bare, USDⓈ-M with e/E/T)
``<s>@aggTrade``, ``<s>@trade``     one (aggregate) trade per sandbox trade (the synthetic market's
                                   own liquidity does not trade, so these are the account's fills)
``<s>@markPrice[@1s]``             USDⓈ-M ``markPriceUpdate`` with funding, every 3 s or every 1 s
=================================  ================================================================
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from decimal import Decimal
from typing import Any

from hedgetui.sandbox.core import ExchangeCore
from hedgetui.sandbox.model import DepthDiff, Market, OrderEvent, Side, UserEvent
from hedgetui.sandbox.shapes import decimal_places, fmt, levels
from hedgetui.sandbox.streams import StreamHub

log = logging.getLogger(__name__)
PARTIAL_LEVELS = frozenset({5, 10, 20})
#: speed suffix -> period in ms, per market; None is the default speed of a name without a suffix
PARTIAL_SPEEDS = {
    Market.SPOT: {None: 1000, "1000ms": 1000, "100ms": 100},
    Market.FUTURES: {None: 250, "250ms": 250, "500ms": 500, "100ms": 100},
}
MARK_SPEEDS = {None: 3000, "1s": 1000}
#: How often the periodic streams check what is due.
POLL_S = 0.02


def _encode(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"))


class MarketStreams:
    """Resolves these stream names for the hub and produces their events."""

    def __init__(self, core: ExchangeCore, hub: StreamHub) -> None:
        self.core = core
        self.hub = hub
        self._next_due: dict[tuple[Market, str], int] = {}
        self._last_u: dict[tuple[Market, str], int] = {}  # futures partial book: the previous push's u
        self._tops: dict[tuple[Market, str], tuple[Decimal, ...]] = {}
        self._task: asyncio.Task[None] | None = None
        hub.resolvers.append(self.resolve)
        core.add_depth_listener(self.on_diff)
        core.add_user_listener(self.on_user_events)

    # ---- names -------------------------------------------------------------------------------------

    def resolve(self, name: str, market: Market) -> str | None:
        """The normalised key (speed made explicit) of one of these stream names, else None."""
        parts = name.split("@")
        symbol = parts[0].upper()
        if symbol not in self.core.specs or len(parts) < 2:
            return None
        base, kind, speed = parts[0].lower(), parts[1], parts[2] if len(parts) == 3 else None
        if len(parts) > 3:
            return None
        if kind.startswith("depth") and kind[5:].isdigit() and int(kind[5:]) in PARTIAL_LEVELS:
            period = PARTIAL_SPEEDS[market].get(speed)
            return None if period is None else f"{base}@{kind}@{period}ms"
        if kind in ("bookTicker", "aggTrade", "trade") and speed is None:
            return f"{base}@{kind}"
        if kind == "markPrice" and market is Market.FUTURES and speed in MARK_SPEEDS:
            return f"{base}@markPrice@{MARK_SPEEDS[speed]}ms"
        return None

    # ---- periodic: partial books and mark prices ---------------------------------------------------

    def start(self) -> None:
        """Start producing the periodic streams."""
        self._task = asyncio.create_task(self._run(), name="sandbox-periodic-streams")

    async def stop(self) -> None:
        """Stop producing and stop listening to the core."""
        self.core.remove_depth_listener(self.on_diff)
        self.core.remove_user_listener(self.on_user_events)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(POLL_S)
            try:
                now = self.core.now()
                self.hub.flush_diffs(now)
                self.publish_due(now)
            except Exception:  # a bug in one stream must not stop the others
                log.exception("periodic stream failed")

    def publish_due(self, now: int) -> None:
        """Publish every subscribed periodic stream whose period has elapsed."""
        wanted: set[tuple[Market, str]] = set()
        for conn in self.hub.connections:
            for key in conn.streams:
                if ("@depth" in key and key.count("@") == 2) or "@markPrice@" in key:
                    wanted.add((conn.market, key))
        for gone in set(self._next_due) - wanted:
            del self._next_due[gone]
            self._last_u.pop(gone, None)
        for market, key in sorted(wanted):
            due = self._next_due.get((market, key), now)
            if now < due:
                continue
            # Against the schedule, not the poll: a late poll must not stretch the period. Missed pushes
            # after a stall are skipped, not sent in a burst.
            period = int(key.rsplit("@", 1)[1][:-2])
            self._next_due[(market, key)] = due + period if due + period > now else now + period
            event = self._mark_price(key, now) if "@markPrice@" in key else self._partial(market, key, now)
            self.hub.publish(self.hub.subscribers(market, key), key, _encode(event))

    def _partial(self, market: Market, key: str, now: int) -> dict[str, Any]:
        base, kind, _ = key.split("@")
        symbol = base.upper()
        spec = self.core.specs[symbol]
        update_id, bids, asks = self.core.depth(market, symbol, int(kind[5:]))
        pp, qp = decimal_places(spec.tick(market)), decimal_places(spec.step(market))
        if market is Market.SPOT:
            return {"lastUpdateId": update_id, "bids": levels(bids, pp, qp), "asks": levels(asks, pp, qp)}
        previous = self._last_u.get((market, key), update_id)
        self._last_u[(market, key)] = update_id
        return {
            "e": "depthUpdate",
            "E": now,
            "T": now,
            "s": symbol,
            "U": min(previous + 1, update_id),
            "u": update_id,
            "pu": previous,
            "b": levels(bids, pp, qp),
            "a": levels(asks, pp, qp),
        }

    def _mark_price(self, key: str, now: int) -> dict[str, Any]:
        symbol = key.split("@", 1)[0].upper()
        mark = fmt(self.core.mark_price(symbol), 8)
        return {
            "e": "markPriceUpdate",
            "E": now,
            "s": symbol,
            "p": mark,
            "ap": mark,
            "i": fmt(self.core.index_price(symbol), 8),
            "P": mark,
            "r": fmt(self.core.funding_rate(symbol), 8),
            "T": self.core.next_funding_time(),
        }

    # ---- on change: bookTicker and aggTrade --------------------------------------------------------

    def on_diff(self, diff: DepthDiff) -> None:
        """bookTicker: the best bid/ask of the changed book, when it moved."""
        key = f"{diff.symbol.lower()}@bookTicker"
        targets = self.hub.subscribers(diff.market, key)
        if not targets:
            self._tops.pop((diff.market, key), None)
            return
        top = self.core.best_bid_ask(diff.market, diff.symbol)
        if self._tops.get((diff.market, key)) == top:
            return
        self._tops[(diff.market, key)] = top
        bid, bid_qty, ask, ask_qty = top
        spec = self.core.specs[diff.symbol]
        if diff.market is Market.SPOT:
            pp = qp = 8
            event: dict[str, Any] = {"u": diff.last_id, "s": diff.symbol}
        else:
            pp, qp = decimal_places(spec.perp_tick), decimal_places(spec.perp_step)
            event = {"e": "bookTicker", "u": diff.last_id, "E": diff.event_time, "T": diff.event_time}
            event["s"] = diff.symbol
        event.update({"b": fmt(bid, pp), "B": fmt(bid_qty, qp), "a": fmt(ask, pp), "A": fmt(ask_qty, qp)})
        self.hub.publish(targets, key, _encode(event))

    def on_user_events(self, batch: list[UserEvent]) -> None:
        """aggTrade and trade: one event per trade of the batch, to the trade's market and symbol."""
        for ev in batch:
            if not isinstance(ev, OrderEvent) or ev.trade is None:
                continue
            self._trade_event(ev, "aggTrade")
            self._trade_event(ev, "trade")

    def _trade_event(self, ev: OrderEvent, kind: str) -> None:
        t, market = ev.trade, ev.order.market
        assert t is not None
        key = f"{t.symbol.lower()}@{kind}"
        targets = self.hub.subscribers(market, key)
        if targets:
            spec = self.core.specs[t.symbol]
            pp, qp = (
                (8, 8) if market is Market.SPOT else (decimal_places(spec.perp_tick), decimal_places(spec.perp_step))
            )
            # m: "is the buyer the maker" - a buy order that made the trade, or a sell order that took it.
            buyer_maker = (t.side is Side.BUY) == t.is_maker
            event: dict[str, Any] = {"e": kind, "E": ev.time}
            if kind == "trade":
                if market is Market.FUTURES:
                    event["T"] = t.time
                event.update({"s": t.symbol, "t": t.trade_id, "p": fmt(t.price, pp), "q": fmt(t.qty, qp)})
                if market is Market.SPOT:
                    event.update({"T": t.time, "m": buyer_maker, "M": True})
                else:
                    event.update({"X": "MARKET", "m": buyer_maker})
            else:
                event.update({"s": t.symbol, "a": t.trade_id, "p": fmt(t.price, pp), "q": fmt(t.qty, qp)})
                if market is Market.FUTURES:
                    event["nq"] = fmt(t.qty, qp)
                event.update({"f": t.trade_id, "l": t.trade_id, "T": t.time, "m": buyer_maker})
                if market is Market.SPOT:
                    event["M"] = True
            self.hub.publish(targets, key, _encode(event))
