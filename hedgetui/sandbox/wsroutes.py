"""The websocket routes, spot and USDⓈ-M, as Binance serves them (plus the paths ccxt.pro builds).

=====================================  =======================================================
path                                   what it serves
=====================================  =======================================================
``/ws/<name>[/<name>…]``               raw streams (bare events); a name may be a listen key
``/stream?streams=<a>/<b>``            combined streams: ``{"stream": name, "data": event}``
``/stream/ws/<n>``                     ccxt.pro's spot URL (must contain ``/stream``): bare events
``/ws-api/v3``                         the spot websocket API (user data stream subscription)
``/fstream/ws/<name>``                 USDⓈ-M raw streams (also ``/fstream/{public|market}/ws/<n>``)
``/fstream/stream?streams=``           USDⓈ-M combined streams (also under ``public``/``market``)
``/fstream/private/ws?listenKey=<k>``  the USDⓈ-M user data stream as ccxt.pro 4.5.90 opens it
=====================================  =======================================================

Every connection also takes SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS frames. A path naming something
that does not exist (an unknown stream or an expired listen key) is closed at once with 1008 and a reason:
a client must never sit on a connection that can stay silent forever.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from hedgetui.sandbox.model import Market
from hedgetui.sandbox.streams import StreamHub
from hedgetui.sandbox.userstream import UserStreams

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def register_ws(router: web.UrlDispatcher, hub: StreamHub, users: UserStreams) -> None:
    """Add every websocket route of both markets."""

    def raw(market: Market) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            names = [p for p in request.match_info.get("names", "").split("/") if p]
            streams, user_key, bad = [], None, None
            for name in names:
                if users.valid_key(name, market):
                    user_key = name
                elif hub.resolve(name, market) is not None:
                    streams.append(name)
                elif not name.isdigit():  # ccxt.pro appends a connection index: not a stream, no error
                    bad = name
            refuse = f"Invalid stream name {bad}".encode()[:120] if bad else None
            return await hub.handle(request, market, streams=streams, user_key=user_key, refuse=refuse)

        return handler

    def combined(market: Market) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            names = [p for p in request.query.get("streams", "").split("/") if p]
            streams = [n for n in names if hub.resolve(n, market) is not None]
            keys = [n for n in names if users.valid_key(n, market)]
            bad = next((n for n in names if n not in streams and n not in keys), None)
            refuse = f"Invalid stream name {bad}".encode()[:120] if bad else None
            return await hub.handle(
                request, market, streams=streams, wrap=True, user_key=keys[0] if keys else None, refuse=refuse
            )

        return handler

    async def private(request: web.Request) -> web.StreamResponse:
        key = request.query.get("listenKey", "")
        refuse = None if users.valid_key(key, Market.FUTURES) else b"Invalid listenKey"
        return await hub.handle(request, Market.FUTURES, user_key=key or None, refuse=refuse)

    async def ws_api(request: web.Request) -> web.StreamResponse:
        return await hub.handle(request, Market.SPOT, frames=users.on_api_frame)

    r = router
    for path in ("/ws", "/ws/{names:.+}", "/stream/ws", "/stream/ws/{names:.+}"):
        r.add_get(path, raw(Market.SPOT))
    r.add_get("/stream", combined(Market.SPOT))
    r.add_get("/ws-api/v3", ws_api)
    for prefix in ("/fstream", "/fstream/{category:public|market}"):
        r.add_get(prefix + "/ws", raw(Market.FUTURES))
        r.add_get(prefix + "/ws/{names:.+}", raw(Market.FUTURES))
        r.add_get(prefix + "/stream", combined(Market.FUTURES))
    r.add_get("/fstream/private/ws", private)
