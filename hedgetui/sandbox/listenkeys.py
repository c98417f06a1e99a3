"""Listen keys of the user data streams: one per market and account, valid 60 minutes after the last
create or keep-alive, as on Binance (``/api/v3/userDataStream`` and ``/fapi/v1/listenKey``)."""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass

from hedgetui.sandbox.model import Market, SandboxError

#: A listen key stays valid this long after its creation or last keep-alive.
LISTEN_KEY_TTL_MS = 60 * 60 * 1000
#: Binance's spot keys are 60 characters, USDⓈ-M keys 64.
KEY_LENGTH = {Market.SPOT: 60, Market.FUTURES: 64}
_ALPHABET = string.ascii_letters + string.digits


def unknown_key() -> SandboxError:
    """Binance's answer to a keep-alive or close of a key that does not exist (or expired)."""
    return SandboxError(-1125, "This listenKey does not exist.")


@dataclass
class ListenKey:
    """One live key: its market and the wall-clock ms at which it expires."""

    key: str
    market: Market
    expires_at: int


class ListenKeys:
    """The live listen keys. The sandbox has one account, so each market has at most one live key."""

    def __init__(self, clock: Callable[[], int]) -> None:
        self._clock = clock
        self._keys: dict[str, ListenKey] = {}

    def create(self, market: Market) -> str:
        """The market's live key with its validity extended, or a new one (Binance returns the same key
        while it is alive)."""
        now = self._clock()
        for lk in self._keys.values():
            if lk.market is market:
                lk.expires_at = now + LISTEN_KEY_TTL_MS
                return lk.key
        key = "".join(secrets.choice(_ALPHABET) for _ in range(KEY_LENGTH[market]))
        self._keys[key] = ListenKey(key, market, now + LISTEN_KEY_TTL_MS)
        return key

    def find(self, market: Market, key: str | None) -> ListenKey:
        """The live key named ``key`` (or the market's key when None, as USDⓈ-M takes no key); -1125 else."""
        for lk in self._keys.values():
            if lk.market is market and (key is None or lk.key == key):
                return lk
        raise unknown_key()

    def keepalive(self, market: Market, key: str | None) -> str:
        """Extend a live key by 60 minutes from now; -1125 when it does not exist."""
        lk = self.find(market, key)
        lk.expires_at = self._clock() + LISTEN_KEY_TTL_MS
        return lk.key

    def close(self, market: Market, key: str | None) -> str:
        """Invalidate a live key; -1125 when it does not exist."""
        lk = self.find(market, key)
        del self._keys[lk.key]
        return lk.key

    def market_of(self, key: str) -> Market | None:
        """The market of a live key, None for an unknown or expired one."""
        lk = self._keys.get(key)
        return lk.market if lk is not None else None

    def expire(self, *, due_only: bool, market: Market | None = None) -> list[ListenKey]:
        """Remove and return the keys past their expiry (``due_only``) or every key (of ``market``)."""
        now = self._clock()
        gone = [
            lk
            for lk in self._keys.values()
            if (not due_only or lk.expires_at <= now) and (market is None or lk.market is market)
        ]
        for lk in gone:
            del self._keys[lk.key]
        return gone

    def clear(self) -> None:
        """Forget every key (sandbox reset)."""
        self._keys.clear()
