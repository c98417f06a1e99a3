"""User data streams: listen-key REST routes, delivery of the user events, and the spot websocket API's
``userDataStream.subscribe.signature`` (which ccxt.pro 4.5.90 uses for spot ``watch_orders``/``watch_balance``).

A listen key's events go to every connection opened with it (``/ws/<key>``, ``/stream?streams=<key>``,
``/fstream/ws/<key>``, ``/fstream/private/ws?listenKey=<key>``); websocket API subscriptions receive the
spot events as ``{"subscriptionId": n, "event": {...}}``. Events are queued while the core operation that
caused them runs and go out when the connection's writer next runs: without simulated latency that is just
after the REST answer; with ``--latency-ms`` the event overtakes the delayed answer (Binance documents no
order between the two, so clients must handle either). When a key expires (60 minutes without keep-alive, or the
``listen_key_expire`` fault) its connections get ``listenKeyExpired`` and are closed.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from hedgetui.sandbox.auth import check_api_key, check_signed, merge_params
from hedgetui.sandbox.core import ExchangeCore
from hedgetui.sandbox.listenkeys import ListenKeys
from hedgetui.sandbox.model import Market, SandboxError, UserEvent
from hedgetui.sandbox.streams import Connection, StreamHub
from hedgetui.sandbox.userevents import events_for, listen_key_expired

WS_API_RATE_LIMITS = [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000}]


def _encode(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"))


class UserStreams:
    """Listen keys, their connections and the websocket API subscriptions of one sandbox."""

    def __init__(
        self, core: ExchangeCore, hub: StreamHub, *, api_key: str, api_secret: str, clock: Callable[[], int]
    ) -> None:
        self.core = core
        self.hub = hub
        self.keys = ListenKeys(clock)
        self.api_key = api_key
        self.api_secret = api_secret
        self._clock = clock
        self._sub_ids = itertools.count(0)
        #: user events still to drop per market (the ``ws_drop_user_event`` fault)
        self.drop_next: dict[Market, int] = {Market.SPOT: 0, Market.FUTURES: 0}
        core.add_user_listener(self.on_events)

    def stop(self) -> None:
        """Stop listening to the core."""
        self.core.remove_user_listener(self.on_events)

    def reset(self) -> None:
        """Forget keys and pending drops; connections of old keys are closed."""
        self.drop_next = dict.fromkeys(self.drop_next, 0)
        self.expire(due_only=False, notify=False)

    # ---- delivery ----------------------------------------------------------------------------------

    def _targets(self, market: Market) -> list[tuple[Connection, str | int]]:
        """(connection, listen key or websocket API subscription id) for each receiver of ``market``."""
        out: list[tuple[Connection, str | int]] = []
        for conn in self.hub.connections:
            if conn.overflowed:
                continue
            out.extend((conn, key) for key in conn.user_keys if self.keys.market_of(key) is market)
            out.extend((conn, sub) for sub, m in conn.api_subs.items() if m is market)
        return out

    def on_events(self, batch: list[UserEvent]) -> None:
        """The core's user listener: each market's events to that market's receivers, in order."""
        for market in (Market.SPOT, Market.FUTURES):
            targets = self._targets(market)
            if not targets:
                continue
            for event in events_for(self.core, market, batch):
                if self.drop_next[market] > 0:
                    self.drop_next[market] -= 1
                    continue
                self._send(targets, _encode(event))

    def _send(self, targets: list[tuple[Connection, str | int]], text: str) -> None:
        for conn, via in targets:
            if isinstance(via, int):
                self.hub.push(conn, f'{{"subscriptionId":{via},"event":{text}}}')
            elif conn.wrap:
                self.hub.push(conn, f'{{"stream":{json.dumps(via)},"data":{text}}}')
            else:
                self.hub.push(conn, text)

    def expire(self, *, due_only: bool = True, market: Market | None = None, notify: bool = True) -> int:
        """Expire keys (those past due, or all of ``market``): ``listenKeyExpired``, then the connections close."""
        gone = self.keys.expire(due_only=due_only, market=market)
        for lk in gone:
            text = _encode(listen_key_expired(lk.key, self._clock()))
            for conn in [c for c in self.hub.connections if lk.key in c.user_keys]:
                conn.user_keys.discard(lk.key)
                if notify:
                    self._send([(conn, lk.key)], text)
                if not conn.streams and not conn.user_keys and not conn.api_subs:
                    self.hub.kick(conn, b"listenKey expired")
        return len(gone)

    # ---- REST: listen keys -------------------------------------------------------------------------

    def register(self, router: web.UrlDispatcher) -> None:
        """Add the listen-key routes (the server's middleware turns a SandboxError into Binance's answer)."""
        for path, market in (("/api/v3/userDataStream", Market.SPOT), ("/fapi/v1/listenKey", Market.FUTURES)):
            handler = self._listen_key_route(market)
            for method in ("POST", "PUT", "DELETE"):
                router.add_route(method, path, handler)

    def _listen_key_route(self, market: Market) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            # USER_STREAM security: the API key header only, no signature.
            check_api_key(request.headers.get("X-MBX-APIKEY"), self.api_key)
            params = merge_params(request.rel_url.raw_query_string, await request.text())
            if request.method == "POST":
                return _json({"listenKey": self.keys.create(market)})
            key = params.get("listenKey") or None
            if market is Market.SPOT and key is None:
                raise SandboxError(-1102, "Mandatory parameter 'listenKey' was not sent, was empty/null, or malformed.")
            if request.method == "PUT":
                kept = self.keys.keepalive(market, key)
                return _json({} if market is Market.SPOT else {"listenKey": kept})
            closed = self.keys.close(market, key)
            for conn in [c for c in self.hub.connections if closed in c.user_keys]:
                conn.user_keys.discard(closed)
                self.hub.kick(conn, b"listenKey closed")
            return _json({})

        return handler

    def valid_key(self, key: str, market: Market) -> bool:
        """Whether ``key`` is a live listen key of ``market`` (a websocket path may name one)."""
        return self.keys.market_of(key) is market

    # ---- websocket API (spot) ----------------------------------------------------------------------

    async def on_api_frame(self, conn: Connection, data: str) -> None:
        """One websocket API request: ``{"id", "method", "params"}`` -> ``{"id", "status", "result"|"error"}``."""
        try:
            frame = json.loads(data)
        except ValueError:
            frame = None
        if not isinstance(frame, dict):
            await self._api_answer(conn, None, SandboxError(-1102, "Invalid JSON request."))
            return
        ident, method, params = frame.get("id"), frame.get("method"), frame.get("params") or {}
        try:
            if not isinstance(params, dict):
                raise SandboxError(-1102, "Parameter 'params' was not sent, was empty/null, or malformed.")
            result = self._api_call(conn, str(method), params)
        except SandboxError as exc:
            await self._api_answer(conn, ident, exc)
            return
        await self._api_answer(conn, ident, result)

    def _api_call(self, conn: Connection, method: str, params: dict[str, Any]) -> Any:
        if method == "ping":
            return {}
        if method == "time":
            return {"serverTime": self._clock()}
        if method == "userDataStream.subscribe.signature":
            self._check_api_signature(params)
            sub = next(self._sub_ids)
            conn.api_subs[sub] = Market.SPOT
            return {"subscriptionId": sub}
        if method == "userDataStream.unsubscribe":
            sub_id = params.get("subscriptionId")
            if sub_id is None:
                conn.api_subs.clear()
            elif conn.api_subs.pop(int(sub_id), None) is None:
                raise SandboxError(-2035, "User Data Stream subscription not active.")
            return {}
        if method == "session.subscriptions":
            return [{"subscriptionId": s} for s in sorted(conn.api_subs)]
        raise SandboxError(
            -1102,
            f"Unknown method '{method}' (the sandbox's websocket API serves ping, time, "
            "userDataStream.subscribe.signature, userDataStream.unsubscribe, session.subscriptions).",
        )

    def _check_api_signature(self, params: dict[str, Any]) -> None:
        """Websocket API signing: HMAC over every parameter but ``signature``, sorted by name, unencoded."""
        fields = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items() if k != "signature"}
        payload = "&".join(f"{k}={v}" for k, v in sorted(fields.items()))
        check_signed(
            api_key_header=fields.get("apiKey"),
            query=f"{payload}&signature={params.get('signature', '')}",
            body="",
            api_key=self.api_key,
            api_secret=self.api_secret,
            server_time=self._clock(),
            fractional_recv_window=True,
        )

    async def _api_answer(self, conn: Connection, ident: Any, result: Any) -> None:
        if isinstance(result, SandboxError):
            body: dict[str, Any] = {"id": ident, "status": result.http_status, "error": result.body()}
        else:
            body = {"id": ident, "status": 200, "result": result}
        body["rateLimits"] = WS_API_RATE_LIMITS
        # Answers go through the queue so they stay in order with the events already queued.
        self.hub.push(conn, _encode(body))


def _json(body: Any) -> web.Response:
    return web.Response(text=json.dumps(body, separators=(",", ":")), content_type="application/json")
