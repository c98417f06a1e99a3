"""What a venue's user data stream currently vouches for: the account as pushed, fresh or withheld.

Each field is either the exchange's current figure (the stream is connected, was seeded by a REST read
after it connected, and every fill it reported has been followed by the account change it caused) or
``None``: not known well enough to decide on, read it over REST instead. A stale figure is never handed out.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hedgetui.domain.account import Balance, FuturesBalance, PerpPosition


@dataclass(frozen=True)
class AccountView:
    """The streamed account: spot balances, the perp position amount, the full position and the wallet."""

    #: Every spot asset as the stream holds it (None: stale or a fill's balance change still awaited).
    spot_balances: dict[str, Balance] | None = None
    #: The signed perp position amount as last pushed (None: stale or awaited).
    perp_amount: Decimal | None = None
    #: The full position (entry, liquidation price, leverage) read over REST since the last pushed change.
    position: PerpPosition | None = None
    #: The USDⓈ-M wallet read over REST since the last pushed change (the stream carries no available margin).
    futures: FuturesBalance | None = None

    @property
    def empty(self) -> bool:
        """True when the stream vouches for nothing."""
        return self.spot_balances is None and self.perp_amount is None and self.futures is None
