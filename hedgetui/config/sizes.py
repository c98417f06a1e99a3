"""The hedge size as an operator types it: one parser for the flags, the headless commands and the dashboard."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def parse_size_usd(text: str, maximum: Decimal | None = None) -> Decimal:
    """``2000``, ``2,000`` or ``$2000`` → Decimal; raises ValueError with one clear line otherwise."""
    cleaned = text.strip().replace(",", "").replace("$", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{text.strip()!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"must be a positive number of USD (got {text.strip()})")
    if maximum is not None and value > maximum:
        raise ValueError(f"{value} is above the position limit of {maximum} USD")
    return value


#: Transfers are asked in whole cents: ccxt rounds an amount to the currency's precision without a word.
TRANSFER_PLACES = 2


def parse_transfer_amount(text: str, asset: str = "USDT") -> Decimal:
    """``500``, ``1,250.50`` → Decimal; one clear line (ValueError) for anything but a positive amount in
    whole cents."""
    cleaned = text.strip().replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{text.strip()!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"must be a positive amount of {asset} (got {text.strip()})")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -TRANSFER_PLACES and value != value.quantize(Decimal("0.01")):
        raise ValueError(f"at most {TRANSFER_PLACES} decimal places (got {text.strip()})")
    return value
