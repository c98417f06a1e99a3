"""Client order ids derived deterministically and injectively from (intent, leg, attempt).

Layout (alphanumerics only, so nothing is percent-encoded on the wire and signatures stay simple)::

    hg <intent: 12 lowercase hex> <leg: 2 uppercase letters> <attempt: decimal, 1..9999>
    hg7f3a0c91d2e4PO1

The intent id has a fixed width and every leg has its own fixed two-letter code from one explicit table,
so the string parses back to exactly one (intent, leg, attempt): the derivation is injective. (A code built
as ``leg[:2]`` would make ``perp_short`` and ``perp_cover`` collide.) The longest id is 20 characters,
well inside Binance's 36.
"""

from __future__ import annotations

import enum
import re
import secrets

PREFIX = "hg"
INTENT_ID_LEN = 12
MAX_ATTEMPT = 9999


class Leg(enum.StrEnum):
    """Every kind of order a pipeline sends. Each has a unique two-letter code."""

    PERP_OPEN = "perp_open"  # entry: sell the perp
    SPOT_OPEN = "spot_open"  # entry: buy spot
    PERP_CLOSE = "perp_close"  # exit: reduce-only buy of the perp
    SPOT_CLOSE = "spot_close"  # exit: sell spot
    PERP_UNWIND = "perp_unwind"  # cover a perp leg whose spot leg failed (reduce-only buy)
    SPOT_UNWIND = "spot_unwind"  # sell a spot leg whose perp leg failed
    PERP_DRIFT = "perp_drift"  # drift correction on the perp
    SPOT_DRIFT = "spot_drift"  # drift correction on spot
    PERP_RESTORE = "perp_restore"  # exit: re-short the perp when the spot sell failed
    SPOT_RESTORE = "spot_restore"  # exit: buy spot back when the perp close failed

    @property
    def code(self) -> str:
        return _CODES[self]


_CODES: dict[Leg, str] = {
    Leg.PERP_OPEN: "PO",
    Leg.SPOT_OPEN: "SO",
    Leg.PERP_CLOSE: "PC",
    Leg.SPOT_CLOSE: "SC",
    Leg.PERP_UNWIND: "PU",
    Leg.SPOT_UNWIND: "SU",
    Leg.PERP_DRIFT: "PD",
    Leg.SPOT_DRIFT: "SD",
    Leg.PERP_RESTORE: "PR",
    Leg.SPOT_RESTORE: "SR",
}
_BY_CODE = {code: leg for leg, code in _CODES.items()}
assert len(_BY_CODE) == len(_CODES), "leg codes must be unique"

_PATTERN = re.compile(rf"^{PREFIX}(?P<intent>[0-9a-f]{{{INTENT_ID_LEN}}})(?P<leg>[A-Z]{{2}})(?P<attempt>[1-9][0-9]*)$")


def new_intent_id() -> str:
    """A fresh random intent id (12 lowercase hex characters, 48 bits)."""
    return secrets.token_hex(INTENT_ID_LEN // 2)


def client_order_id(intent_id: str, leg: Leg, attempt: int) -> str:
    """The client order id for one attempt of one leg of one intent. Raises ValueError on bad input."""
    if len(intent_id) != INTENT_ID_LEN or any(c not in "0123456789abcdef" for c in intent_id):
        raise ValueError(f"intent id must be {INTENT_ID_LEN} lowercase hex characters, got {intent_id!r}")
    if not 1 <= attempt <= MAX_ATTEMPT:
        raise ValueError(f"attempt must be 1..{MAX_ATTEMPT}, got {attempt}")
    return f"{PREFIX}{intent_id}{leg.code}{attempt}"


def parse_client_order_id(cid: str) -> tuple[str, Leg, int] | None:
    """Invert :func:`client_order_id`; None for ids hedgetui did not make."""
    match = _PATTERN.match(cid)
    if match is None or match["leg"] not in _BY_CODE:
        return None
    attempt = int(match["attempt"])
    if attempt > MAX_ATTEMPT:
        return None
    return match["intent"], _BY_CODE[match["leg"]], attempt
