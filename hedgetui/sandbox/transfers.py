"""Transfers between the spot wallet and the USDⓈ-M futures wallet (``POST /sapi/v1/asset/transfer``).

Binance's universal transfer with ``type`` ``MAIN_UMFUTURE`` (spot → futures) or ``UMFUTURE_MAIN``
(futures → spot). The futures wallet holds USDT only (single-asset mode), so only USDT moves. Spot
sends ``balanceUpdate`` + ``outboundAccountPosition``; USDⓈ-M an ``ACCOUNT_UPDATE`` with reason
``DEPOSIT`` (in) or ``WITHDRAW`` (out); the futures side books a ``TRANSFER`` income record whose tranId
is the transfer's own.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from hedgetui.sandbox.model import BalanceDelta, SandboxError

if TYPE_CHECKING:
    from hedgetui.sandbox.core import ExchangeCore

TRANSFER_TYPES = ("MAIN_UMFUTURE", "UMFUTURE_MAIN")
#: Binance's answer when the source wallet cannot cover the amount.
INSUFFICIENT = (-5013, "Asset transfer failed: insufficient balance")
#: Amounts carry at most 8 decimals.
AMOUNT_STEP = Decimal("0.00000001")


def transfer(core: ExchangeCore, kind: str, asset: str, amount: Decimal) -> int:
    """Move ``amount`` of ``asset`` as ``kind`` says; returns the tranId. Raises :class:`SandboxError`
    (and changes nothing) for a bad type, asset or amount, or a source that cannot cover it (-5013).
    Out of futures, at most the available balance (``maxWithdrawAmount``) can leave."""
    if kind not in TRANSFER_TYPES:
        legal = "|".join(TRANSFER_TYPES)
        raise SandboxError(-1100, f"Illegal characters found in parameter 'type'; legal range is '{legal}'.")
    if asset != "USDT":
        raise SandboxError(-1100, "Illegal characters found in parameter 'asset'; the futures wallet holds USDT only.")
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(AMOUNT_STEP):
        raise SandboxError(-1100, "Illegal characters found in parameter 'amount'.")
    now = core.now()
    inbound = kind == "MAIN_UMFUTURE"
    if inbound:
        if core.spot_balances()[asset][0] < amount:
            raise SandboxError(*INSUFFICIENT)
        core._spot.transfer(asset, -amount)
        core._futures.wallet += amount
    else:
        if core.futures_account().available_balance < amount:
            raise SandboxError(*INSUFFICIENT)
        core._futures.wallet -= amount
        core._spot.transfer(asset, amount)
    record = core.income.book("", "TRANSFER", amount if inbound else -amount, now)
    assert record is not None  # the amount is positive
    core._pending.append(BalanceDelta(asset, -amount if inbound else amount, now))
    core._account_reason = "DEPOSIT" if inbound else "WITHDRAW"
    core._commit(now)
    return record.tran_id
