"""Websocket depth diff streams that ccxt.pro's ``watch_order_book`` keeps in sync (spec §A7).

One stream per market and symbol (``btcusdt@depth@100ms``). Each core DepthDiff becomes one
``depthUpdate`` event to every connection subscribed to it, with ``U`` = previous ``u`` + 1 (and ``pu`` on
futures). A slow client is never silently skipped: its bounded queue overflowing closes its connection,
so ccxt resubscribes and resnapshots. Only the ``ws_drop_diff`` fault drops a diff (a gap on purpose).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from hedgetui.sandbox.core import ExchangeCore
from hedgetui.sandbox.model import DepthDiff, Market
from hedgetui.sandbox.shapes import _places, levels

log = logging.getLogger(__name__)
QUEUE_LIMIT = 20_000


@dataclass(eq=False)
class Connection:
    ws: web.WebSocketResponse
    market: Market
    streams: set[str] = field(default_factory=set)
    queue: asyncio.Queue[str | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))
    overflowed: bool = False


class DepthStreams:
    """Owns the websocket connections and fans the core's depth diffs out to them."""

    def __init__(self, core: ExchangeCore) -> None:
        self.core = core
        self.connections: set[Connection] = set()
        self.drop_next: dict[Market, int] = {Market.SPOT: 0, Market.FUTURES: 0}
        core.add_depth_listener(self.on_diff)

    def stop(self) -> None:
        self.core.remove_depth_listener(self.on_diff)

    @staticmethod
    def stream_name(symbol: str) -> str:
        return f"{symbol.lower()}@depth"

    def on_diff(self, diff: DepthDiff) -> None:
        if self.drop_next[diff.market] > 0:
            self.drop_next[diff.market] -= 1
            return
        targets = [
            c for c in self.connections if c.market is diff.market and self.stream_name(diff.symbol) in c.streams
        ]
        if not targets:
            return
        spec = self.core.specs[diff.symbol]
        pp, qp = _places(spec.tick(diff.market)), _places(spec.step(diff.market))
        event: dict[str, Any] = {"e": "depthUpdate", "E": diff.event_time}
        if diff.market is Market.FUTURES:
            event["T"] = diff.event_time
        event.update({"s": diff.symbol, "U": diff.first_id, "u": diff.last_id})
        if diff.market is Market.FUTURES:
            event["pu"] = diff.prev_last_id
        event["b"] = levels(list(diff.bids), pp, qp)
        event["a"] = levels(list(diff.asks), pp, qp)
        text = json.dumps(event, separators=(",", ":"))
        for conn in targets:
            if conn.overflowed:
                continue
            try:
                conn.queue.put_nowait(text)
            except asyncio.QueueFull:
                conn.overflowed = True
                log.warning("websocket client too slow: closing it so it resynchronises")
                with contextlib.suppress(asyncio.QueueFull):
                    conn.queue.put_nowait(None)

    async def close_all(self) -> int:
        conns = list(self.connections)
        for conn in conns:
            await conn.ws.close()
        return len(conns)

    async def handle(self, request: web.Request, market: Market) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, heartbeat=None)
        await ws.prepare(request)
        conn = Connection(ws, market)
        self.connections.add(conn)
        writer = asyncio.create_task(self._writer(conn))
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._on_message(conn, msg.data)
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        finally:
            self.connections.discard(conn)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return ws

    async def _writer(self, conn: Connection) -> None:
        while True:
            text = await conn.queue.get()
            if text is None or conn.ws.closed:
                await conn.ws.close()
                return
            try:
                await conn.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return

    async def _on_message(self, conn: Connection, data: str) -> None:
        try:
            frame = json.loads(data)
        except ValueError:
            await conn.ws.send_str(json.dumps({"error": {"code": 3, "msg": "Invalid JSON"}, "id": None}))
            return
        method, ident, params = frame.get("method"), frame.get("id"), frame.get("params") or []
        if method == "LIST_SUBSCRIPTIONS":
            await conn.ws.send_str(json.dumps({"result": sorted(conn.streams), "id": ident}))
            return
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE") or not isinstance(params, list):
            await conn.ws.send_str(json.dumps({"error": {"code": 2, "msg": f"Invalid request: {method}"}, "id": ident}))
            return
        names = []
        for name in params:
            parts = str(name).lower().split("@")
            symbol = parts[0].upper()
            if len(parts) < 2 or not parts[1].startswith("depth") or symbol not in self.core.specs:
                await conn.ws.send_str(json.dumps({"error": {"code": 2, "msg": f"Invalid stream {name}"}, "id": ident}))
                return
            names.append(self.stream_name(symbol))
        if method == "SUBSCRIBE":
            conn.streams.update(names)  # a re-SUBSCRIBE is acknowledged, never doubled
        else:
            conn.streams.difference_update(names)
        # The ack is mandatory: ccxt creates the book and requests the snapshot when it arrives.
        await conn.ws.send_str(json.dumps({"result": None, "id": ident}))
