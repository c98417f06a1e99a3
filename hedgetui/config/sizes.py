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
