"""How a request fault rule changes a request's answer: answers that never reach the exchange (HTTP 5xx,
429, 418, rejections, a timeout before acceptance), changes to how it is processed (latency, clock skew,
late visibility, partial fills) and faults on the way back (a timeout or a dropped connection after
acceptance, an ambiguous error).

Kept apart from :mod:`hedgetui.sandbox.server` because it is the fault matrix's side of a request, while
the server holds the app, the middleware and the lifecycle; the rules themselves are in
:mod:`hedgetui.sandbox.faults`. :class:`FaultAnswers` is owned as ``SandboxServer.fault_answers``.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hedgetui.sandbox.faults import FaultRule
from hedgetui.sandbox.params import json_response
from hedgetui.sandbox.traderoutes import PARTIAL_KEY, VISIBILITY_KEY

if TYPE_CHECKING:
    from hedgetui.sandbox.server import SandboxServer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: How often a held request (timeout faults) checks whether its client gave up.
HOLD_POLL_S = 0.02
DEFAULT_HOLD_MS = 60_000
BACKEND_TIMEOUT = {
    "code": -1007,
    "msg": "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
}

#: The clock skew of the request being handled (``clock_skew_ms`` fault). A context variable, because
#: aiohttp handles concurrent requests in separate tasks: a skewed request must not skew its neighbours.
SKEW_MS: contextvars.ContextVar[int] = contextvars.ContextVar("sandbox_skew_ms", default=0)


def _body_response(body: Any, status: int) -> web.Response:
    """A fault's answer body: a string goes out as text (an HTML error page, a gateway's text), else JSON."""
    if isinstance(body, str):
        return web.Response(text=body, status=status, content_type="text/html")
    return json_response(body, status)


class FaultAnswers:
    """Applies a request fault rule around the server's handling of one request."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server

    async def hold(self, request: web.Request, hold_ms: float) -> None:
        """Wait until the client gives up (closes the connection), ``hold_ms`` passes or the server stops."""
        deadline = time.monotonic() + hold_ms / 1000
        while time.monotonic() < deadline and not self.server._stopping.is_set():
            transport = request.transport
            if transport is None or transport.is_closing():
                return
            await asyncio.sleep(HOLD_POLL_S)

    async def apply(self, rule: FaultRule, handler: Handler, request: web.Request) -> web.StreamResponse:
        a, p = rule.action, rule.params
        # Answers that never reach the exchange: nothing is processed.
        if a in ("http_500", "http_503"):
            status = 500 if a == "http_500" else 503
            title = "500 Internal Server Error" if status == 500 else "503 Service Temporarily Unavailable"
            return _body_response(p.get("body", f"<html><body><h1>{title}</h1></body></html>"), status)
        if a == "http_429":
            body = p.get(
                "body", {"code": -1003, "msg": "Too many requests; current limit is 6000 request weight per 1 MINUTE."}
            )
            return _body_response(body, 429)
        if a == "http_418":
            until = self.server._wall() + 120_000
            return _body_response(
                p.get("body", {"code": -1003, "msg": f"Way too many requests; IP banned until {until}."}), 418
            )
        if a == "reject":
            status = int(p.get("status", 400))
            if "body" in p:  # an arbitrary answer: HTML from a proxy, text from a gateway, JSON with HTTP 200...
                return _body_response(p["body"], status)
            return json_response({"code": p["code"], "msg": p.get("msg", "Rejected by a sandbox fault rule.")}, status)
        if a == "timeout_before_accept":
            await self.hold(request, float(p.get("hold_ms", DEFAULT_HOLD_MS)))
            return web.Response(text="504 Gateway Time-out", status=504)
        # Faults that change how the request is processed.
        if a == "latency":
            await asyncio.sleep(float(p["ms"]) / 1000)
            return await self.server._run(handler, request)
        if a == "clock_skew_ms":
            token = SKEW_MS.set(int(p["ms"]))
            try:
                return await self.server._run(handler, request)
            finally:
                SKEW_MS.reset(token)
        if a == "visibility_delay_ms":
            request[VISIBILITY_KEY] = float(p["ms"])
        elif "visibility_ms" in p:  # an ambiguous answer AND late visibility (fault-matrix row 6)
            request[VISIBILITY_KEY] = float(p["visibility_ms"])
        if a == "partial":
            request[PARTIAL_KEY] = p
        response = await self.server._run(handler, request)
        # Faults on the way back: the request was processed.
        if a == "timeout_after_accept":
            await self.hold(request, float(p.get("hold_ms", DEFAULT_HOLD_MS)))
            return response
        if a == "drop_after_accept":
            if request.transport is not None:
                request.transport.abort()
            return response
        if a == "accept_then":
            return _body_response(p.get("body", BACKEND_TIMEOUT), int(p["status"]))
        return response
