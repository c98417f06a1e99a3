"""The control API's changes from outside the order flow: a position changed elsewhere (liquidation, ADL,
a manual trade), a deposit or withdrawal, a sudden market move, and thinner or thicker books.

Kept apart from :mod:`hedgetui.sandbox.core` because none of them is a client's order: they are what the
tests and the operator do to the exchange (``POST /sandbox/...``, :mod:`hedgetui.sandbox.control`) to see
how hedgetui copes. :class:`~hedgetui.sandbox.core.ExchangeCore` keeps ``set_position``, ``transfer``,
``move_market`` and ``set_depth_factor`` as its calls.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from hedgetui.sandbox.executions import external_trade
from hedgetui.sandbox.filters import INSUFFICIENT_BALANCE, steps_of
from hedgetui.sandbox.model import BalanceDelta, SandboxError

if TYPE_CHECKING:
    from hedgetui.sandbox.accounts import PositionView
    from hedgetui.sandbox.core import ExchangeCore


def set_position(core: ExchangeCore, symbol: str, amount: Decimal, price: Decimal | None = None) -> PositionView:
    """Change the perp position from outside (liquidation, ADL, a manual trade elsewhere).

    Booked as one trade with order id -1 at ``price`` (default: the mark) and no fee, so realised PnL
    reaches the wallet the same way as for any fill.
    """
    spec = core._market(symbol).spec
    if not amount.is_finite() or steps_of(amount, spec.perp_step) is None:
        raise SandboxError(-1111, "Precision is over the maximum defined for this asset.")
    if price is not None and (not price.is_finite() or price <= 0):
        raise SandboxError(-4001, "Price less than 0.")
    delta = amount - core._futures.positions[symbol].amount
    if delta:
        now = core.now()
        external_trade(core, symbol, delta, price if price is not None else core.mark_price(symbol), now)
    return core.position(symbol)


def transfer(core: ExchangeCore, asset: str, delta: Decimal) -> None:
    """Deposit into (``delta`` > 0) or withdraw from the spot wallet: Binance's ``balanceUpdate``."""
    if not delta.is_finite() or delta == 0:
        raise SandboxError(-1100, "Illegal characters found in parameter 'delta'.")
    try:
        core._spot.transfer(asset, delta)
    except ValueError:
        raise SandboxError(-2010, INSUFFICIENT_BALANCE) from None
    now = core.now()
    core._pending.append(BalanceDelta(asset, delta, now))
    core._commit(now)


def move_market(core: ExchangeCore, symbol: str, move_bps: Decimal) -> None:
    """Move spot and perp by ``move_bps`` at once; crossed resting orders fill, margin is checked."""
    sym = core._market(symbol)
    if not move_bps.is_finite():
        raise SandboxError(-1100, "Illegal characters found in parameter 'move_bps'.")
    now = core.now()
    sym.walk.jump(move_bps)
    core._follow(sym, now)
    core._liquidate_if_due(now)
    core._commit(now)


def set_depth_factor(core: ExchangeCore, symbol: str, factor: Decimal) -> None:
    """Scale every level of both books by ``factor`` (> 0) relative to the normal shape; later ticks
    keep it (1 restores the normal depth)."""
    sym = core._market(symbol)
    if not factor.is_finite() or factor <= 0:
        raise SandboxError(-1100, "Illegal characters found in parameter 'depth_factor'; legal range is '> 0'.")
    for liquidity in sym.liquidity.values():
        liquidity.set_depth_factor(factor)
    core._commit(core.now())
