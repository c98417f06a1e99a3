"""Where hedgetui trades: the venue mode and the two markets of the hedge."""

from __future__ import annotations

import enum


class VenueMode(enum.StrEnum):
    """Which exchange environment the one ccxt code path is pointed at.

    SANDBOX is the embedded exchange on loopback, DEMO is Binance demo trading, LIVE is real money.
    """

    SANDBOX = "sandbox"
    DEMO = "demo"
    LIVE = "live"

    @property
    def moves_real_money(self) -> bool:
        return self is VenueMode.LIVE


class MarketKind(enum.StrEnum):
    """The two legs of the hedge: the spot market and the USDⓈ-M linear perpetual."""

    SPOT = "spot"
    PERP = "perp"
