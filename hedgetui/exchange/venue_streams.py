"""The user data stream watches of the venue adapter: ccxt.pro's pushed account, translated.

``hedgetui.exchange.user_data`` keeps these watches running and judges their health; the methods here only
translate ccxt's answers and errors (through the adapter's one call path, :meth:`BinanceVenue._call`) and
read ccxt's connection state. Separate from :mod:`hedgetui.exchange.venue` because only the user data
stream uses them: the engine's contract (``VenuePort``) does not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hedgetui.domain.account import Balance, PerpPosition
from hedgetui.domain.orders import OrderResult, TradeFill
from hedgetui.domain.venue import MarketKind
from hedgetui.exchange import parsing
from hedgetui.exchange.errors import STREAM

if TYPE_CHECKING:
    from hedgetui.exchange.venue import BinanceVenue


class UserStreamWatches:
    """The account as the exchange pushes it, for one :class:`BinanceVenue` (its ``watches``)."""

    def __init__(self, venue: BinanceVenue) -> None:
        self.venue = venue
        self._user_event_taps: list[Callable[[str], None]] = []

    async def watch_orders(self, kind: MarketKind) -> list[OrderResult]:
        """The next batch of order updates of one leg (every update since the previous call)."""
        symbol = self.venue.symbol(kind)
        return await self.venue._call(
            STREAM,
            lambda: self.venue.exchange.watch_orders(symbol),
            lambda raw: [parsing.parse_order(symbol, kind, o) for o in raw],
        )

    async def watch_my_trades(self, kind: MarketKind) -> list[TradeFill]:
        """The next batch of this account's executions on one leg, with their commissions."""
        symbol = self.venue.symbol(kind)
        return await self.venue._call(
            STREAM,
            lambda: self.venue.exchange.watch_my_trades(symbol),
            lambda raw: [parsing.parse_trade(t, str(t.get("order") or "")) for t in raw],
        )

    async def watch_spot_balances(self) -> dict[str, Balance]:
        """The spot assets the stream has reported so far, after the next balance event."""
        return await self.venue._call(STREAM, lambda: self.venue.exchange.watch_balance(), parsing.parse_spot_balances)

    async def watch_futures_balance(self) -> None:
        """Returns at the next USDⓈ-M wallet change (the event carries no available margin: re-read it)."""
        await self.venue._call(STREAM, lambda: self.venue.exchange.watch_balance({"type": "swap"}), lambda raw: None)

    async def watch_perp_position(self) -> PerpPosition | None:
        """The perp position after the next position event (None when the event was about another symbol).
        The first call answers ccxt's REST snapshot."""
        symbol = self.venue.settings.perp_symbol

        def parse(raw: Any) -> PerpPosition | None:
            if not any(p.get("symbol") == symbol for p in raw):
                return None
            return parsing.parse_position(symbol, raw)

        return await self.venue._call(STREAM, lambda: self.venue.exchange.watch_positions([symbol]), parse)

    def user_stream_live(self, kind: MarketKind) -> bool:
        """True while ccxt holds an open, subscribed user data connection for this leg's account."""
        ex = self.venue.exchange
        if kind is MarketKind.SPOT:
            url = ex.urls["api"]["ws"].get("ws-api", {}).get("spot")
            client = ex.clients.get(url) if url else None
            # ccxt raises the flag before the subscription is confirmed; the pending future says it is not.
            subscribed = (
                client is not None
                and "spot" in client.subscriptions
                and "authenticate:signature:spot" not in client.futures
            )
        else:
            key = (ex.options.get("linear") or {}).get("listenKey")
            client = ex.clients.get(ex.get_private_ws_url("linear", key)) if key else None
            subscribed = client is not None
        if not subscribed or client is None:
            return False
        connected = client.connected
        return bool(
            connected.done()
            and not connected.cancelled()
            and connected.exception() is None
            and client.connection is not None
            and not client.connection.closed
        )

    def forget_listen_key(self) -> None:
        """Make the next futures watch create a listen key (after an expiry or a lost connection: a live key
        is returned and extended by the same request, so this never costs a working stream)."""
        bucket = self.venue.exchange.options.get("linear")
        if isinstance(bucket, dict):
            bucket["listenKey"] = None
            bucket["lastAuthenticatedTime"] = 0

    def on_user_event(self, tap: Callable[[str], None]) -> None:
        """Call ``tap`` with the type of every user data event ccxt receives, before ccxt handles it (the
        only way to see ``listenKeyExpired``, which ccxt ignores)."""
        if not self._user_event_taps:
            handle = self.venue.exchange.handle_message

            def tapped(client: Any, message: Any) -> Any:
                event = message.get("event", message) if isinstance(message, dict) else None
                kind = event.get("e") if isinstance(event, dict) else None
                if isinstance(kind, str):
                    for each in self._user_event_taps:
                        each(kind)
                return handle(client, message)

            self.venue.exchange.handle_message = tapped
        self._user_event_taps.append(tap)
