"""What defines a fresh sandbox exchange: symbols, seed, starting funds, fees and the market's feel.

Kept apart from :mod:`hedgetui.sandbox.core` because the server builds it from its options and the core's
collaborators (:mod:`hedgetui.sandbox.symbolmarket`) read it, without needing the core itself;
:mod:`hedgetui.sandbox.core` re-exports :class:`CoreConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from hedgetui.sandbox.funding import EIGHT_HOURS_MS


@dataclass
class CoreConfig:
    """Everything that defines a fresh exchange: symbols, seed, starting funds, fees and the market's feel."""

    symbols: tuple[str, ...] = ("BTCUSDT",)
    seed: int = 7
    spot_balances: dict[str, Decimal] = field(default_factory=lambda: {"USDT": Decimal("100000")})
    futures_wallet: Decimal = Decimal("100000")  # USDT
    spot_taker_fee: Decimal = Decimal("0.001")
    spot_maker_fee: Decimal = Decimal("0.001")
    futures_taker_fee: Decimal = Decimal("0.0005")
    futures_maker_fee: Decimal = Decimal("0.0002")
    default_leverage: int = 20
    levels: int = 120  # price levels per side per book (>= 100)
    volatility_bps: Decimal = Decimal("1.5")  # stdev of the mid's per-tick log move, in bps
    basis_bps: Decimal = Decimal("5")  # perp mid above spot mid (mean; it wanders a little)
    funding_rate: Decimal = Decimal("0.0001")
    strict_client_ids: bool = False  # True: also reject ids of finished orders (-2010 / -4116)
    #: Funding times are the multiples of this since the epoch (8 h: 00:00, 08:00, 16:00 UTC).
    funding_interval_ms: int = EIGHT_HOURS_MS
