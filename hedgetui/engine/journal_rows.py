"""The journal's rows and the text its values are stored as.

The row types callers hand the journal (:class:`NewSubmit`, :class:`NewFill`) and get back from it
(:class:`SubmitRow`, :class:`IntentRow`, :class:`EventRow`), the one error it raises, and the codecs of
its columns: money is Decimal in memory and plain decimal text in SQLite (never a float, never an
exponent), details and event data are sorted JSON. ``hedgetui.engine.journal`` re-exports the public
names, which is where callers import them from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


class JournalError(RuntimeError):
    """The journal could not record something. Nothing may be sent to the exchange after this."""


@dataclass(frozen=True)
class SubmitRow:
    cid: str
    intent_id: str
    leg: str
    attempt: int
    market: str
    side: str
    order_type: str
    quantity: Decimal
    price: Decimal | None
    reduce_only: bool
    created_ms: int


@dataclass(frozen=True)
class NewSubmit:
    """An order submission to record (:meth:`Journal.record_submits`)."""

    cid: str
    intent_id: str
    leg: str
    attempt: int
    market: str
    side: str
    order_type: str
    quantity: Decimal
    reduce_only: bool
    price: Decimal | None = None


@dataclass(frozen=True)
class NewFill:
    """One trade of an order, to record once (:meth:`Journal.post_fills`)."""

    market: str
    trade_id: str
    cid: str
    order_id: str
    quantity: Decimal
    price: Decimal
    fee: Decimal | None
    fee_asset: str | None
    trade_ms: int | None = None


@dataclass(frozen=True)
class IntentRow:
    intent_id: str
    kind: str
    created_ms: int
    quantity: Decimal | None
    size_usd: Decimal | None
    details: dict[str, Any]


@dataclass(frozen=True)
class EventRow:
    seq: int
    intent_id: str | None
    kind: str
    level: str
    message: str
    data: dict[str, Any]
    created_ms: int


def dec(value: str | None) -> Decimal | None:
    """A journaled decimal's text back as a Decimal (None stays None)."""
    return None if value is None else Decimal(value)


def txt(value: Decimal | None) -> str | None:
    """A Decimal as the journal stores it: plain text, never an exponent (None stays None)."""
    return None if value is None else format(value, "f")


def json_text(data: dict[str, Any] | None) -> str:
    """A details/data mapping as the journal stores it (keys sorted; Decimals as plain text, enums by value)."""
    return json.dumps(data or {}, default=_json_default, sort_keys=True)


def _json_default(obj: object) -> object:
    if isinstance(obj, Decimal):
        return format(obj, "f")
    if hasattr(obj, "value"):  # enums
        return obj.value
    return str(obj)
