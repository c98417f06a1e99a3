"""The adapter's local checks of an order before anything is sent: client id, amount, price, time in force.

Pure functions over the leg's :class:`MarketRules`: what the exchange would refuse, or worse, what ccxt
would silently alter, is refused here with a ``Rejected`` (source ``LocalCheck``) and nothing is sent.
Separate from :mod:`hedgetui.exchange.venue` because they need no exchange, only the rules.
"""

from __future__ import annotations

import re
from decimal import Decimal

from hedgetui.domain.markets import MarketRules
from hedgetui.domain.venue import MarketKind
from hedgetui.exchange.errors import CREATE, Rejected

#: Binance's rule for client order ids (anything else is answered -1100).
CLIENT_ID_RE = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
#: Time-in-force values the adapter passes on: GTC/IOC/FOK everywhere, GTX (post-only) on the perp.
TIME_IN_FORCE = {
    MarketKind.SPOT: frozenset({"GTC", "IOC", "FOK"}),
    MarketKind.PERP: frozenset({"GTC", "IOC", "FOK", "GTX"}),
}


def _local_reject(message: str) -> Rejected:
    """Refused by the adapter before anything was sent."""
    return Rejected(message, source="LocalCheck", operation=CREATE)


def check_order(
    rules: MarketRules,
    kind: MarketKind,
    amount: Decimal,
    client_order_id: str,
    *,
    reduce_only: bool,
    market_order: bool,
) -> str:
    """Refuse locally what the exchange would refuse, or worse, what ccxt would silently alter.

    ccxt truncates an amount to the step without a word: an amount off the step is refused here
    instead, with nothing sent. Returns the amount as the plain decimal string ccxt is given.
    """
    if not CLIENT_ID_RE.fullmatch(client_order_id):
        pattern = CLIENT_ID_RE.pattern
        raise _local_reject(f"client order id {client_order_id!r} does not match Binance's {pattern}")
    if not amount.is_finite() or amount <= 0:
        raise _local_reject(f"amount {amount} must be positive")
    if not rules.is_step_multiple(amount):
        raise _local_reject(f"amount {amount} is not a multiple of the {rules.symbol} step {rules.step}")
    if amount < rules.min_qty:
        raise _local_reject(f"amount {amount} is under the {rules.symbol} minimum {rules.min_qty}")
    maximum = rules.max_for(market_order=market_order)
    if maximum is not None and amount > maximum:
        raise _local_reject(f"amount {amount} is over the {rules.symbol} maximum {maximum}")
    if reduce_only and kind is not MarketKind.PERP:
        raise _local_reject("reduce-only exists only on the perp")
    return format(amount, "f")


def check_limit(rules: MarketRules, kind: MarketKind, price: Decimal, time_in_force: str) -> None:
    """A limit order's price is a positive multiple of the tick and its time in force one the leg takes."""
    if not price.is_finite() or price <= 0 or not rules.is_tick_multiple(price):
        raise _local_reject(f"price {price} is not a positive multiple of the tick {rules.tick}")
    if time_in_force not in TIME_IN_FORCE[kind]:
        allowed = ", ".join(sorted(TIME_IN_FORCE[kind]))
        raise _local_reject(f"time in force {time_in_force!r} is not one of {allowed} on {rules.symbol}")
