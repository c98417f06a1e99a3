"""hedgetui's exchange errors, sorted by what the caller must do next.

ccxt's exceptions are translated at the venue boundary (``execution-safety.md`` §1):

* :class:`Rejected` — the exchange definitely refused: nothing happened.
* :class:`DuplicateOrder` — "duplicate client order id": an order with this id EXISTS; look it up.
* :class:`Ambiguous` — the request may or may not have been applied (timeouts, network errors, 5xx,
  -1007, -1001/-1008): look the order up by client id before anything else.
  :class:`ClockSkew` (-1021) and :class:`RateLimited` (429/418/-1003/-1015) are ambiguous too.
* :class:`AuthFailed` — keys, permissions or IP whitelist: halt.
* :class:`NotFound` — the order does not exist (or is already final, for a cancel).
* :class:`BookGap` / :class:`Disconnected` — the order book stream lost sync or its connection.

Each keeps the exchange's code and message. Messages are scrubbed of credentials before they are kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

import ccxt

from hedgetui.redaction import scrub

# Exchange-definite rejections by Binance code.
_DEFINITE_CODES = {
    -1013,  # filter failure
    -1100,  # illegal characters
    -1102,  # mandatory parameter
    -1106,  # parameter not required
    -1111,  # precision
    -1116,  # invalid order type
    -1117,  # invalid side
    -1121,  # invalid symbol
    -2010,  # new order rejected (insufficient balance, market closed)
    -2019,  # margin insufficient
    -2022,  # reduce-only rejected
    -4003,  # quantity <= 0
    -4005,  # quantity too large
    -4014,  # price not a tick multiple
    -4164,  # notional below minimum
}
_DUPLICATE_MESSAGES = ("Duplicate order sent.",)
_DUPLICATE_CODES = {-4116}
_AUTH_CODES = {-2014, -2015, -1022}
_CODE_RE = re.compile(r'"code"\s*:\s*(-?\d+)')
_MSG_RE = re.compile(r'"msg"\s*:\s*"((?:[^"\\]|\\.)*)"')


class VenueError(Exception):
    """Base of every error the venue layer raises."""

    def __init__(self, message: str, *, code: int | None = None, source: str = "", operation: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.exchange_message = message
        self.source = source or type(self).__name__
        self.operation = operation

    def __str__(self) -> str:
        code = f" {self.code}" if self.code is not None else ""
        return f"{self.source}{code}: {self.exchange_message}"


class Rejected(VenueError):
    """Definitely refused by the exchange: the order was not placed."""


class DuplicateOrder(Rejected):
    """The client order id is in use by an existing order: look it up and adopt it, never resend."""


class Ambiguous(VenueError):
    """The outcome is unknown: the order may exist. Look it up by client id before anything else."""


class ClockSkew(Ambiguous):
    """-1021: the request timestamp was outside the recvWindow. Resync the clock, then look up."""


class RateLimited(Ambiguous):
    """429 / -1003 / -1015 (back off, then look up); ``banned`` for 418 (stop sending at all)."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        source: str = "",
        operation: str = "",
        banned: bool = False,
    ) -> None:
        super().__init__(message, code=code, source=source, operation=operation)
        self.banned = banned


class AuthFailed(VenueError):
    """Authentication or permission failure (-2014, -2015, -1022): halt and tell the operator."""


class NotFound(VenueError):
    """The order does not exist (-2013), or was unknown/already final when cancelling (-2011)."""


class BookGap(VenueError):
    """The order book stream skipped an update (ccxt ChecksumError); resubscribe and resnapshot."""


class Disconnected(VenueError):
    """The stream's connection closed or stopped answering pings."""


def _code_and_message(exc: BaseException) -> tuple[int | None, str]:
    """Binance's ``code`` and ``msg``: from the HTTP body the adapter attached, else from ccxt's text."""
    body = getattr(exc, "http_body", None)
    text = body if isinstance(body, str) and body.startswith("{") else str(exc)
    code_match = _CODE_RE.search(text)
    msg_match = _MSG_RE.search(text)
    code = int(code_match.group(1)) if code_match else None
    if msg_match:
        try:
            message = json.loads(f'"{msg_match.group(1)}"')
        except ValueError:
            message = msg_match.group(1)
    else:
        message = text[len("binance ") :] if text.startswith("binance ") else text
    return code, message.strip()


def translate(exc: BaseException, *, operation: str, secrets: Iterable[str] = ()) -> VenueError:
    """Map a ccxt (or transport) exception to hedgetui's error classes.

    ``operation`` is ``create``/``cancel`` for order-changing calls (where any unclassified answer is
    ambiguous) or anything else for reads.
    """
    if isinstance(exc, VenueError):
        return exc
    code, message = _code_and_message(exc)
    message = scrub(message, secrets)
    source = type(exc).__name__

    def make(cls: type[VenueError]) -> VenueError:
        return cls(message, code=code, source=source, operation=operation)

    changing = operation in ("create", "cancel")
    status_418 = "418" in str(exc)[:40] or "IP banned" in message or "banned until" in message

    if isinstance(exc, ccxt.ChecksumError):
        return make(BookGap)
    if code in _AUTH_CODES or isinstance(exc, ccxt.AuthenticationError):
        return make(AuthFailed)
    if code in _DUPLICATE_CODES or message in _DUPLICATE_MESSAGES:
        return make(DuplicateOrder)
    if isinstance(exc, ccxt.OrderNotFound) or code in (-2013, -2011):
        return make(NotFound)
    if isinstance(exc, ccxt.InvalidNonce) or code == -1021:
        return make(ClockSkew)
    if isinstance(exc, (ccxt.DDoSProtection, ccxt.RateLimitExceeded)) or code in (-1003, -1015):
        return RateLimited(message, code=code, source=source, operation=operation, banned=status_418)
    if code == -1007 or isinstance(exc, (ccxt.RequestTimeout, ccxt.NetworkError)):
        if isinstance(exc, ccxt.NetworkError) and not changing and "closed" in message.lower():
            return make(Disconnected)
        return make(Ambiguous)
    if isinstance(exc, ccxt.OperationFailed):  # -1001, -1008, BadResponse: may have happened
        return make(Ambiguous)
    definite = (ccxt.InsufficientFunds, ccxt.InvalidOrder, ccxt.BadRequest, ccxt.MarketClosed, ccxt.BadSymbol)
    if isinstance(exc, definite):
        return make(Rejected)
    if code in _DEFINITE_CODES:
        return make(Rejected)
    if isinstance(exc, ccxt.ExchangeError):
        # An answer we cannot classify: on an order POST it may still have been applied.
        if changing:
            return make(Ambiguous)
        return make(VenueError)
    if isinstance(exc, (TimeoutError, ConnectionError, OSError)):
        return make(Ambiguous)
    return make(Ambiguous) if changing else make(VenueError)
