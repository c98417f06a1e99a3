"""The websocket hub: connections, their subscriptions and outgoing queues, and the depth diff streams.

Connections are raw (``/ws/<streams>``: bare events) or combined (``/stream?streams=``: every event wrapped
as ``{"stream": name, "data": event}``); both take SUBSCRIBE/UNSUBSCRIBE/LIST_SUBSCRIPTIONS frames. Each core
DepthDiff becomes one ``depthUpdate`` event to every connection subscribed to ``<symbol>@depth@100ms``,
with ``U`` = previous ``u`` + 1 (and ``pu`` on futures); slower speeds (``@depth``: spot 1000 ms, USDⓈ-M
250 ms; ``@250ms``, ``@500ms``, ``@1000ms``) get one merged event per period when the hub batches (the
server's does). Other streams (``marketstreams``, ``userstream``) send through :meth:`push`.

A slow client is never silently skipped: when its bounded queue overflows its connection is closed (a
close frame, or an abort when that cannot get through), so ccxt resubscribes and resnapshots. Only the
``ws_drop_diff`` fault drops a diff (a gap on purpose).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from aiohttp import WSCloseCode, WSMsgType, web

from hedgetui.sandbox.core import ExchangeCore
from hedgetui.sandbox.model import DepthDiff, Market
from hedgetui.sandbox.shapes import decimal_places, levels

log = logging.getLogger(__name__)
#: Events a connection may have waiting before it counts as too slow. A book changes a few times per
#: tick, so this is minutes of backlog at the default tick: only a stuck client reaches it.
QUEUE_LIMIT = 10_000
#: How long a polite close may take before the TCP connection is simply aborted.
CLOSE_TIMEOUT_S = 1.0
SPEEDS = frozenset({"100ms", "250ms", "500ms", "1000ms"})
#: A diff stream's update speed when its name gives none (spot ``@depth`` 1000 ms, USDⓈ-M 250 ms).
DEFAULT_DIFF_MS = {Market.SPOT: 1000, Market.FUTURES: 250}
#: Diff streams this fast or faster get every change as it happens (ccxt.pro's ``@100ms``).
IMMEDIATE_MS = 100


class Socket(Protocol):
    """What the streams need of a websocket (``aiohttp.web.WebSocketResponse`` in the server)."""

    @property
    def closed(self) -> bool: ...

    async def send_str(self, data: str, compress: int | None = None) -> None: ...

    async def close(self, *, code: int = ..., message: bytes = ..., drain: bool = ...) -> bool: ...


class Aborter(Protocol):
    """The connection's transport, aborted when a close cannot get through."""

    def abort(self) -> None: ...


@dataclass(eq=False)
class Connection:
    """One websocket client: its market (from the URL), its streams and its outgoing queue."""

    ws: Socket
    market: Market
    transport: Aborter | None = None
    queue_limit: int = QUEUE_LIMIT
    #: normalised stream name (``btcusdt@depth``) -> the name as the client subscribed it
    streams: dict[str, str] = field(default_factory=dict)
    #: a combined-stream connection (``/stream``): events are wrapped with their stream name
    wrap: bool = False
    #: listen keys whose user data events this connection receives
    user_keys: set[str] = field(default_factory=set)
    #: websocket API user data subscriptions: subscription id -> market
    api_subs: dict[int, Market] = field(default_factory=dict)
    queue: asyncio.Queue[str] = field(init=False)
    writer: asyncio.Task[None] | None = None
    overflowed: bool = False

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(self.queue_limit)


def stream_key(name: str, known_symbols: set[str] | dict[str, Any]) -> str | None:
    """``btcusdt@depth`` for a depth diff stream name of a known symbol, else None."""
    parts = name.lower().split("@")
    if parts[0].upper() not in known_symbols or len(parts) not in (2, 3) or parts[1] != "depth":
        return None
    if len(parts) == 3 and parts[2] not in SPEEDS:
        return None
    return f"{parts[0]}@depth"


#: Resolves a stream name for a market to its normalised key, or None for a name this hub does not serve.
Resolver = Callable[[str, Market], str | None]
#: A handler of a connection's text frames that replaces the stream protocol (the websocket API).
FrameHandler = Callable[[Connection, str], Awaitable[None]]


def wrapped(name: str, text: str) -> str:
    """A combined-stream frame: ``{"stream": name, "data": <event>}`` around an already encoded event."""
    return f'{{"stream":{json.dumps(name)},"data":{text}}}'


def merge_diffs(diffs: list[DepthDiff], now: int) -> DepthDiff:
    """Consecutive diffs of one book as one: the id range of all of them, each level's last quantity."""
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    for d in diffs:
        bids.update(d.bids)
        asks.update(d.asks)
    first, last = diffs[0], diffs[-1]
    return DepthDiff(
        market=first.market,
        symbol=first.symbol,
        first_id=first.first_id,
        last_id=last.last_id,
        prev_last_id=first.prev_last_id,
        event_time=now,
        bids=tuple(sorted(bids.items(), reverse=True)),
        asks=tuple(sorted(asks.items())),
    )


class StreamHub:
    """Owns the websocket connections and fans the core's depth diffs (and other streams' events) out."""

    def __init__(self, core: ExchangeCore, queue_limit: int = QUEUE_LIMIT, *, batch_diffs: bool = False) -> None:
        self.core = core
        #: slower diff streams (``@depth``, ``@500ms``…) merge the changes of each period into one event;
        #: their flushing is driven by :meth:`flush_diffs` (the server's periodic streams loop)
        self.batch_diffs = batch_diffs
        self._pending: dict[tuple[Market, str, int], list[DepthDiff]] = {}
        self._next_flush: dict[tuple[Market, str, int], int] = {}
        #: stream names this hub serves besides depth diffs (set by the market streams)
        self.resolvers: list[Resolver] = []
        self.queue_limit = queue_limit
        self.connections: set[Connection] = set()
        #: diffs still to drop per market (the ``ws_drop_diff`` fault)
        self.drop_next: dict[Market, int] = {Market.SPOT: 0, Market.FUTURES: 0}
        #: connections still to close as soon as they open (the later uses of a ``ws_close`` rule)
        self.close_next_connections = 0
        self._kicks: set[asyncio.Task[None]] = set()
        core.add_depth_listener(self.on_diff)

    def stop(self) -> None:
        """Stop listening to the core (the server is shutting down)."""
        self.core.remove_depth_listener(self.on_diff)

    def on_diff(self, diff: DepthDiff) -> None:
        """The core's depth listener: one event to every connection subscribed to the diff's stream."""
        if self.drop_next[diff.market] > 0:
            self.drop_next[diff.market] -= 1
            return
        key = f"{diff.symbol.lower()}@depth"
        targets = self.subscribers(diff.market, key)
        if not targets:
            return
        now_targets = targets
        if self.batch_diffs:
            now_targets = []
            for conn in targets:
                period = self.diff_period(conn.streams[key], diff.market)
                if period <= IMMEDIATE_MS:
                    now_targets.append(conn)
                else:
                    self._pending.setdefault((diff.market, diff.symbol, period), []).append(diff)
        if now_targets:
            self.publish(now_targets, key, json.dumps(self.event(diff), separators=(",", ":")))

    @staticmethod
    def diff_period(name: str, market: Market) -> int:
        """The update speed in ms that a diff stream name asks for."""
        parts = name.split("@")
        return int(parts[2][:-2]) if len(parts) == 3 else DEFAULT_DIFF_MS[market]

    def flush_diffs(self, now: int) -> None:
        """Send the slower diff streams' merged events whose period has elapsed: one event covering
        ``U`` = the first diff's first id to ``u`` = the last diff's last id, each level at its last quantity."""
        for slot in list(self._pending):
            market, symbol, period = slot
            due = self._next_flush.get(slot, now)
            if now < due:
                continue
            self._next_flush[slot] = due + period if due + period > now else now + period
            diffs = self._pending.pop(slot)
            if diffs:
                key = f"{symbol.lower()}@depth"
                targets = [
                    c for c in self.subscribers(market, key) if self.diff_period(c.streams[key], market) == period
                ]
                if targets:
                    self.publish(targets, key, json.dumps(self.event(merge_diffs(diffs, now)), separators=(",", ":")))

    def subscribers(self, market: Market, key: str) -> list[Connection]:
        """The live connections of ``market`` subscribed to the stream ``key``."""
        return [c for c in self.connections if c.market is market and key in c.streams and not c.overflowed]

    def publish(self, targets: list[Connection], key: str, text: str) -> None:
        """Queue one encoded event of stream ``key`` to each target (wrapped on combined connections)."""
        for conn in targets:
            self.push(conn, wrapped(conn.streams[key], text) if conn.wrap else text)

    def push(self, conn: Connection, text: str) -> None:
        """Queue one frame; a connection whose queue is full is disconnected, never silently skipped."""
        if conn.overflowed:
            return
        try:
            conn.queue.put_nowait(text)
        except asyncio.QueueFull:
            self._overflow(conn)

    def event(self, diff: DepthDiff) -> dict[str, Any]:
        """Binance's ``depthUpdate`` event for one diff (spot: e,E,s,U,u,b,a; futures adds T and pu)."""
        spec = self.core.specs[diff.symbol]
        pp, qp = decimal_places(spec.tick(diff.market)), decimal_places(spec.step(diff.market))
        event: dict[str, Any] = {"e": "depthUpdate", "E": diff.event_time}
        if diff.market is Market.FUTURES:
            event["T"] = diff.event_time
        event.update({"s": diff.symbol, "U": diff.first_id, "u": diff.last_id})
        if diff.market is Market.FUTURES:
            event["pu"] = diff.prev_last_id
        event["b"] = levels(list(diff.bids), pp, qp)
        event["a"] = levels(list(diff.asks), pp, qp)
        return event

    def _overflow(self, conn: Connection) -> None:
        # Skipping diffs would leave the client's book silently wrong; closing makes ccxt resynchronise.
        log.warning("websocket client too slow (%d events queued): closing it", conn.queue.qsize())
        conn.overflowed = True
        while not conn.queue.empty():
            conn.queue.get_nowait()
        self._spawn_kick(conn, b"client too slow")

    def _spawn_kick(self, conn: Connection, reason: bytes) -> None:
        task = asyncio.ensure_future(self._kick(conn, reason))
        self._kicks.add(task)
        task.add_done_callback(self._kicks.discard)

    async def _kick(self, conn: Connection, reason: bytes) -> None:
        """Close one connection: politely if the client still reads, else abort its TCP connection."""
        if conn.writer is not None:
            conn.writer.cancel()
        try:
            await asyncio.wait_for(
                conn.ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=reason, drain=False), CLOSE_TIMEOUT_S
            )
        except (TimeoutError, ConnectionError, RuntimeError):
            if conn.transport is not None:
                conn.transport.abort()

    def kick(self, conn: Connection, reason: bytes) -> None:
        """Close one connection in the background (e.g. its listen key expired)."""
        conn.overflowed = True  # nothing more is queued for it
        self._spawn_kick(conn, reason)

    async def close_all(self) -> int:
        """Close every connection now (the ``ws_close`` fault, and shutdown); return how many there were."""
        conns = list(self.connections)
        await asyncio.gather(*(self._kick(c, b"closed by the sandbox") for c in conns), return_exceptions=True)
        return len(conns)

    async def wait_kicks(self) -> None:
        """Wait for pending closes of overflowed connections (shutdown)."""
        if self._kicks:
            await asyncio.gather(*self._kicks, return_exceptions=True)

    def resolve(self, name: str, market: Market) -> str | None:
        """The normalised key of a stream name on ``market``, None when no stream of that name exists."""
        key = stream_key(name, self.core.specs)
        for resolver in self.resolvers:
            if key is not None:
                break
            key = resolver(name, market)
        return key

    async def handle(
        self,
        request: web.Request,
        market: Market,
        *,
        streams: list[str] | None = None,
        wrap: bool = False,
        user_key: str | None = None,
        frames: FrameHandler | None = None,
        refuse: bytes | None = None,
    ) -> web.WebSocketResponse:
        """Serve one websocket connection until either side closes it.

        ``streams`` are subscribed at once (named in the URL), ``wrap`` marks a combined-stream connection,
        ``user_key`` attaches a listen key's user data stream, ``frames`` replaces the SUBSCRIBE protocol
        (the websocket API) and ``refuse`` closes the connection at once with that reason.
        """
        # autoping answers the client's PINGs (ccxt's keepalive); the server sends none of its own.
        ws = web.WebSocketResponse(autoping=True, heartbeat=None)
        await ws.prepare(request)
        conn = Connection(ws, market, request.transport, self.queue_limit, wrap=wrap)
        if refuse is not None:
            await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=refuse)
            return ws
        if self.close_next_connections > 0:
            self.close_next_connections -= 1
            await self._kick(conn, b"closed by the sandbox")
            return ws
        for name in streams or []:
            key = self.resolve(name, market)
            if key is not None:
                conn.streams.setdefault(key, name)
        if user_key is not None:
            conn.user_keys.add(user_key)
        self.connections.add(conn)
        conn.writer = asyncio.create_task(self._writer(conn))
        on_text = frames or self._on_message
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await on_text(conn, msg.data)
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        finally:
            self.connections.discard(conn)
            conn.writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await conn.writer
        return ws

    async def _writer(self, conn: Connection) -> None:
        while True:
            text = await conn.queue.get()
            if conn.ws.closed:
                return
            try:
                await conn.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return

    async def _on_message(self, conn: Connection, data: str) -> None:
        # Control frames go straight out, ahead of queued diffs: ccxt needs the ack before it snapshots.
        try:
            frame = json.loads(data)
        except ValueError:
            await conn.ws.send_str(json.dumps({"error": {"code": 3, "msg": "Invalid JSON"}, "id": None}))
            return
        if not isinstance(frame, dict):
            await conn.ws.send_str(json.dumps({"error": {"code": 3, "msg": "Invalid request"}, "id": None}))
            return
        method, ident, params = frame.get("method"), frame.get("id"), frame.get("params", [])
        if method == "LIST_SUBSCRIPTIONS":
            await conn.ws.send_str(json.dumps({"result": sorted(conn.streams.values()), "id": ident}))
            return
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE") or not isinstance(params, list):
            await conn.ws.send_str(json.dumps({"error": {"code": 2, "msg": f"Invalid request: {method}"}, "id": ident}))
            return
        keys: dict[str, str] = {}
        for name in params:
            key = self.resolve(str(name), conn.market)
            if key is None:
                await conn.ws.send_str(json.dumps({"error": {"code": 2, "msg": f"Invalid stream {name}"}, "id": ident}))
                return
            keys[key] = str(name)
        if method == "SUBSCRIBE":
            for key, name in keys.items():
                conn.streams.setdefault(key, name)  # a re-SUBSCRIBE is acknowledged, never doubled
        else:
            for key in keys:
                conn.streams.pop(key, None)
        # The ack is mandatory: ccxt creates the book and requests the snapshot when it arrives.
        await conn.ws.send_str(json.dumps({"result": None, "id": ident}))
