"""The sandbox's accounts: spot balances (free and locked per asset) and the USDⓈ-M cross-margin wallet
with its one-way positions, plus the read-only views the server turns into Binance's shapes.

Balances change only through :meth:`SpotWallet.book_trade`, :meth:`MarginAccount.book_fill`, the
lock/unlock pair (which moves funds between free and locked without changing the total) and
:meth:`SpotWallet.transfer` (a deposit or withdrawal from the control API), so every other change of a
total is a trade or a fee.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from hedgetui.sandbox.model import Position, SymbolSpec

ZERO = Decimal(0)
#: Binance settles commissions and realised PnL to 8 decimals.
MONEY_PLACES = Decimal("0.00000001")


def settle(value: Decimal) -> Decimal:
    """Round an amount of money to Binance's 8 decimals (half-even)."""
    return value.quantize(MONEY_PLACES, rounding=ROUND_HALF_EVEN)


class SpotWallet:
    """Spot balances: asset -> free and locked."""

    def __init__(self, start: dict[str, Decimal], assets: set[str]) -> None:
        self._free: dict[str, Decimal] = {a: ZERO for a in assets}
        self._locked: dict[str, Decimal] = {a: ZERO for a in assets}
        for asset, amount in start.items():
            if amount < 0:
                raise ValueError(f"starting balance of {asset} is negative")
            self._free[asset] = amount
            self._locked.setdefault(asset, ZERO)

    def free(self, asset: str) -> Decimal:
        return self._free[asset]

    def locked(self, asset: str) -> Decimal:
        return self._locked[asset]

    def lock(self, asset: str, amount: Decimal) -> None:
        """Reserve ``amount`` for a resting order (free -> locked)."""
        self._free[asset] -= amount
        self._locked[asset] += amount

    def unlock(self, asset: str, amount: Decimal) -> None:
        """Release a reservation (locked -> free)."""
        self._locked[asset] -= amount
        self._free[asset] += amount

    def transfer(self, asset: str, delta: Decimal) -> None:
        """A deposit (``delta`` > 0) or withdrawal of free funds; a withdrawal beyond the free balance fails."""
        if self._free.get(asset, ZERO) + delta < 0:
            raise ValueError(f"withdrawal of {-delta} {asset} exceeds the free balance")
        self._free[asset] = self._free.get(asset, ZERO) + delta
        self._locked.setdefault(asset, ZERO)

    def book_trade(
        self, *, base: str, quote: str, buy: bool, qty: Decimal, quote_qty: Decimal, fee: Decimal, from_locked: bool
    ) -> None:
        """One fill: the spent asset leaves free (or locked, for a resting order), the received one arrives
        free minus the fee (Binance without BNB charges the fee in the asset received)."""
        spent, spent_amount = (quote, quote_qty) if buy else (base, qty)
        received, received_amount = (base, qty) if buy else (quote, quote_qty)
        if from_locked:
            self._locked[spent] -= spent_amount
        else:
            self._free[spent] -= spent_amount
        self._free[received] += received_amount - fee

    def snapshot(self) -> dict[str, tuple[Decimal, Decimal]]:
        """Every known asset -> (free, locked), sorted by asset."""
        return {a: (self._free[a], self._locked[a]) for a in sorted(self._free)}


@dataclass(frozen=True)
class FuturesAccount:
    """The USDT cross-margin account as Binance reports it (one-way mode)."""

    wallet_balance: Decimal
    unrealized_pnl: Decimal
    margin_balance: Decimal
    position_initial_margin: Decimal
    open_order_initial_margin: Decimal
    initial_margin: Decimal  # position + open orders
    maint_margin: Decimal
    available_balance: Decimal


@dataclass(frozen=True)
class PositionView:
    """One symbol's position at the current mark; ``amount`` and ``notional`` are signed (short < 0)."""

    symbol: str
    amount: Decimal
    entry_price: Decimal
    mark_price: Decimal
    unrealized_pnl: Decimal
    notional: Decimal
    leverage: int
    initial_margin: Decimal
    maint_margin: Decimal
    liquidation_price: Decimal  # 0 when flat or not computable
    update_time: int


@dataclass(frozen=True)
class FillEffect:
    """What one fill does to a one-way position."""

    amount: Decimal
    entry_price: Decimal
    realized_pnl: Decimal


def fill_effect(amount: Decimal, entry: Decimal, signed_qty: Decimal, price: Decimal) -> FillEffect:
    """A fill of ``signed_qty`` (buy > 0) at ``price`` on a position ``amount`` entered at ``entry``.

    Adding to the position moves the entry to the volume-weighted average; reducing realises PnL on the
    reduced part at the old entry; going through zero realises the whole position and opens the rest at
    ``price``.
    """
    new = amount + signed_qty
    if amount == 0 or (amount > 0) == (signed_qty > 0):
        # Kept at full precision: rounding each step would drift from the true VWAP over many fills.
        return FillEffect(new, (entry * abs(amount) + price * abs(signed_qty)) / abs(new), ZERO)
    closing = min(abs(signed_qty), abs(amount))
    direction = 1 if amount > 0 else -1
    realized = settle(closing * (price - entry) * direction)
    if new == 0:
        return FillEffect(new, ZERO, realized)
    if (new > 0) == (amount > 0):
        return FillEffect(new, entry, realized)
    return FillEffect(new, price, realized)  # flipped through zero


class MarginAccount:
    """The USDT wallet and one position per symbol (cross margin, one-way mode)."""

    def __init__(self, wallet: Decimal, specs: dict[str, SymbolSpec], leverage: int) -> None:
        if wallet < 0:
            raise ValueError("starting futures wallet is negative")
        self.wallet = wallet
        self.specs = specs
        self.positions: dict[str, Position] = {s: Position(symbol=s, leverage=leverage) for s in specs}

    def book_fill(self, symbol: str, signed_qty: Decimal, price: Decimal, fee: Decimal, now: int) -> Decimal:
        """Apply one fill to the position and the wallet; returns the realised PnL (already in the wallet)."""
        pos = self.positions[symbol]
        effect = fill_effect(pos.amount, pos.entry_price, signed_qty, price)
        pos.amount, pos.entry_price, pos.update_time = effect.amount, effect.entry_price, now
        self.wallet += effect.realized_pnl - fee
        return effect.realized_pnl

    def cover_shortfall(self) -> Decimal:
        """Bring a negative wallet back to 0 after a liquidation (the insurance fund pays); returns the amount."""
        shortfall = -self.wallet if self.wallet < 0 else ZERO
        self.wallet += shortfall
        return shortfall

    def view(self, symbol: str, marks: dict[str, Decimal]) -> PositionView:
        """The position at the current marks, with Binance's cross one-way liquidation price."""
        spec = self.specs[symbol]
        pos = self.positions[symbol]
        mark = marks[symbol]
        notional = pos.amount * mark
        upnl = pos.amount * (mark - pos.entry_price) if pos.amount else ZERO
        liquidation = ZERO
        if pos.amount:
            # Cross margin: the other positions' uPnL counts, their maintenance margin does not help.
            others = ZERO
            for s, p in self.positions.items():
                if s != symbol and p.amount:
                    others += (
                        p.amount * (marks[s] - p.entry_price)
                        - abs(p.amount * marks[s]) * self.specs[s].maint_margin_ratio
                    )
            denominator = abs(pos.amount) * spec.maint_margin_ratio - pos.amount
            value = (self.wallet + others - pos.amount * pos.entry_price) / denominator
            liquidation = settle(value) if value > 0 else ZERO
        return PositionView(
            symbol=symbol,
            amount=pos.amount,
            entry_price=pos.entry_price,
            mark_price=mark,
            unrealized_pnl=upnl,
            notional=notional,
            leverage=pos.leverage,
            initial_margin=abs(notional) / pos.leverage,
            maint_margin=abs(notional) * spec.maint_margin_ratio,
            liquidation_price=liquidation,
            update_time=pos.update_time,
        )

    def account(self, marks: dict[str, Decimal], open_order_margin: Decimal) -> FuturesAccount:
        """The whole account at the current marks; ``open_order_margin`` comes from the open orders."""
        views = [self.view(s, marks) for s in self.positions]
        upnl = sum((v.unrealized_pnl for v in views), ZERO)
        position_im = sum((v.initial_margin for v in views), ZERO)
        margin_balance = self.wallet + upnl
        initial = position_im + open_order_margin
        return FuturesAccount(
            wallet_balance=self.wallet,
            unrealized_pnl=upnl,
            margin_balance=margin_balance,
            position_initial_margin=position_im,
            open_order_initial_margin=open_order_margin,
            initial_margin=initial,
            maint_margin=sum((v.maint_margin for v in views), ZERO),
            # Binance never reports a negative available balance; nothing can be opened at 0 either way.
            available_balance=max(ZERO, margin_balance - initial),
        )
