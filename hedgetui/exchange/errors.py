"""hedgetui's exchange errors, sorted by what the caller must do next.

ccxt's exceptions are translated at the venue boundary (``execution-safety.md`` §1):

* :class:`Rejected` — the exchange (or our pre-send check) definitely refused: nothing happened.
* :class:`DuplicateOrder` — "duplicate client order id": an order with this id EXISTS; look it up, adopt it.
* :class:`Ambiguous` — the request may or may not have been applied (timeouts, network errors, 5xx,
  -1007, -1001/-1008, unknown answers to an order POST): look the order up by client id first.
  :class:`ClockSkew` (-1021) and :class:`RateLimited` (429/418/-1003/-1015) are ambiguous too.
* :class:`AuthFailed` — keys, permissions or IP whitelist (including ccxt's DDoSProtection carrying -2015).
* :class:`NotFound` — the order does not exist (or is already final, for a cancel).
* :class:`BookGap` / :class:`Disconnected` — the order book stream lost sync or its connection.
* :class:`VenueConfigError` — the adapter was configured unsafely; nothing was sent.

Every error keeps the exchange's code and message, scrubbed of credentials before they are kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, Final

import ccxt

from hedgetui.redaction import scrub

#: ``operation`` values for :func:`translate`. Order-changing operations turn unclassified answers into
#: :class:`Ambiguous` (the order may exist); reads turn them into a plain :class:`VenueError`; the stream
#: turns lost connections into :class:`Disconnected`.
CREATE: Final = "create"
CANCEL: Final = "cancel"
READ: Final = "read"
STREAM: Final = "stream"
#: A wallet transfer moves money like an order does: an unclassified answer may mean it was applied.
TRANSFER: Final = "transfer"
ORDER_CHANGING: Final = frozenset({CREATE, CANCEL, TRANSFER})

#: Binance codes that are a definite refusal: the request was not applied.
DEFINITE_CODES: Final = frozenset(
    {
        -1013,  # filter failure (LOT_SIZE, PRICE_FILTER, NOTIONAL, ...)
        -1100,  # illegal characters in a parameter
        -1102,  # mandatory parameter missing
        -1106,  # parameter sent when not required
        -1111,  # precision over the maximum
        -1116,  # invalid order type
        -1117,  # invalid side
        -1121,  # invalid symbol
        -1131,  # recvWindow over 60000
        -2010,  # new order rejected (insufficient balance, market closed)
        -2019,  # margin insufficient
        -2022,  # reduce-only order rejected
        -4003,  # quantity <= 0
        -4005,  # quantity over the maximum
        -4014,  # price not a multiple of the tick
        -4164,  # notional under the minimum
    }
)
#: Codes that say "this client order id is in use": the order exists.
DUPLICATE_CODES: Final = frozenset({-4116})
#: Spot has no code of its own for a duplicate id: -2010 with this exact message.
DUPLICATE_MESSAGES: Final = frozenset({"Duplicate order sent."})
AUTH_CODES: Final = frozenset({-2014, -2015, -1022})
NOT_FOUND_CODES: Final = frozenset({-2013, -2011})
RATE_LIMIT_CODES: Final = frozenset({-1003, -1015})
#: -1007: "send status unknown; execution status unknown"; -1001/-1008: internal error / overloaded.
AMBIGUOUS_CODES: Final = frozenset({-1007, -1001, -1008})
CLOCK_CODES: Final = frozenset({-1021})

_CODE_RE = re.compile(r'"code"\s*:\s*"?(-?\d+)')
_MSG_RE = re.compile(r'"msg"\s*:\s*"((?:[^"\\]|\\.)*)"')
_STATUS_RE = re.compile(r"^binance (\d{3}) ")
_QUERY_RE = re.compile(r"(https?://[^\s?]+)\?\S*")
_MAX_MESSAGE = 400


class VenueError(Exception):
    """Base of every error the venue layer raises.

    ``code`` is the exchange's error code (None when it gave none), ``exchange_message`` its message (or a
    description of the transport failure), ``source`` the ccxt exception class it came from (or
    ``LocalCheck``/``ConfigError`` when hedgetui refused before sending), ``operation`` what was being done
    and ``http_status`` the HTTP status of the answer when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        source: str = "",
        operation: str = "",
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.exchange_message = message
        self.source = source or type(self).__name__
        self.operation = operation
        self.http_status = http_status

    def __str__(self) -> str:
        code = f" {self.code}" if self.code is not None else ""
        return f"{self.source}{code}: {self.exchange_message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(source={self.source!r}, code={self.code!r}, "
            f"http_status={self.http_status!r}, operation={self.operation!r}, "
            f"message={self.exchange_message!r})"
        )


class Rejected(VenueError):
    """Definitely refused (by the exchange, or by our check before sending): the order was not placed."""


class DuplicateOrder(Rejected):
    """The client order id is in use by an existing order: look it up and adopt it, never resend."""


class Ambiguous(VenueError):
    """The outcome is unknown: the order may exist. Look it up by client id before anything else."""


class ClockSkew(Ambiguous):
    """-1021: the request timestamp was outside the recvWindow. Resync the clock, then look up."""


class RateLimited(Ambiguous):
    """429 / -1003 / -1015: back off, then look up. ``banned`` (HTTP 418, an IP ban): stop sending at all."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        source: str = "",
        operation: str = "",
        http_status: int | None = None,
        banned: bool = False,
    ) -> None:
        super().__init__(message, code=code, source=source, operation=operation, http_status=http_status)
        self.banned = banned


class AuthFailed(VenueError):
    """Authentication or permission failure (-2014, -2015, -1022): halt and tell the operator."""


class NotFound(VenueError):
    """The order does not exist (-2013), or was unknown/already final when cancelling (-2011)."""


class BookGap(VenueError):
    """The order book stream skipped an update (ccxt ChecksumError): watch again to resubscribe."""


class Disconnected(VenueError):
    """The stream's connection closed, stopped answering pings, or could not be opened."""


class VenueConfigError(VenueError, ValueError):
    """The adapter's settings are unusable or unsafe (e.g. ccxt verbose with real keys); nothing was sent."""

    def __init__(self, message: str) -> None:
        super().__init__(message, source="ConfigError")


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _from_body(body: str) -> tuple[int | None, str | None]:
    """Binance's ``{"code": ..., "msg": ...}`` from a raw HTTP body, if it is one."""
    try:
        data = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    msg = data.get("msg")
    return _int_or_none(data.get("code")), msg if isinstance(msg, str) else None


def _from_text(text: str) -> tuple[int | None, str | None]:
    """The same from ccxt's exception text (``binance {"code":-2019,"msg":"..."}``)."""
    code_match = _CODE_RE.search(text)
    msg_match = _MSG_RE.search(text)
    code = int(code_match.group(1)) if code_match else None
    message: str | None = None
    if msg_match:
        try:
            message = json.loads(f'"{msg_match.group(1)}"')
        except ValueError:
            message = msg_match.group(1)
    return code, message


def _describe(exc: BaseException) -> tuple[int | None, str, int | None]:
    """(code, message, HTTP status) of a ccxt or transport exception."""
    text = str(exc)
    status = _int_or_none(getattr(exc, "http_status", None))
    if status is None:
        match = _STATUS_RE.match(text)  # ccxt's 418/429 text: "binance 429 Too Many Requests {...}"
        status = int(match.group(1)) if match else None
    body = getattr(exc, "http_body", None)
    code, message = _from_body(body) if isinstance(body, str) and body else (None, None)
    if code is None and message is None:
        code, message = _from_text(text)
    if message is None:
        message = text[len("binance ") :] if text.startswith("binance ") else text
        message = message.strip() or type(exc).__name__
    # Signed query strings carry the signature and our parameters: the path says enough.
    message = _QUERY_RE.sub(r"\1?…", message.strip())
    if len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE] + "…"
    return code, message, status


_DEFINITE_CCXT = (
    ccxt.InsufficientFunds,
    ccxt.InvalidOrder,
    ccxt.BadRequest,
    ccxt.MarketClosed,
    ccxt.BadSymbol,
    ccxt.OperationRejected,
    # Raised by ccxt itself before any request is made: nothing was sent.
    ccxt.NotSupported,
    ccxt.ArgumentsRequired,
)
_STREAM_LOST = (
    ccxt.NetworkError,
    ccxt.ExchangeClosedByUser,
    ccxt.UnsubscribeError,
    ConnectionError,
    TimeoutError,
    OSError,
)
_TRANSPORT = (TimeoutError, ConnectionError, OSError)


def translate(exc: BaseException, *, operation: str, secrets: Iterable[str] = ()) -> VenueError:
    """Map a ccxt (or transport, or parsing) exception to hedgetui's error classes.

    ``operation`` is :data:`CREATE`/:data:`CANCEL` for order-changing calls (any unclassified answer is
    ambiguous: the order may exist), :data:`STREAM` for websocket watches (a lost connection is
    :class:`Disconnected`) or :data:`READ`. ``secrets`` are scrubbed out of the kept message.
    """
    if isinstance(exc, VenueError):
        return exc
    code, message, status = _describe(exc)
    message = scrub(message, secrets)
    source = type(exc).__name__
    changing = operation in ORDER_CHANGING

    def make(cls: type[VenueError]) -> VenueError:
        return cls(message, code=code, source=source, operation=operation, http_status=status)

    server_error = status is not None and status >= 500

    if isinstance(exc, ccxt.ChecksumError):
        return make(BookGap)
    # Auth before rate limits: ccxt raises DDoSProtection for -2015 once a private call has succeeded.
    if code in AUTH_CODES or isinstance(exc, ccxt.AuthenticationError):
        return make(AuthFailed)
    if (
        status in (418, 429)
        or code in RATE_LIMIT_CODES
        or isinstance(exc, (ccxt.DDoSProtection, ccxt.RateLimitExceeded))
    ):
        limited = make(RateLimited)
        assert isinstance(limited, RateLimited)
        limited.banned = status == 418 or "IP banned" in message
        return limited
    if operation == STREAM and isinstance(exc, _STREAM_LOST) and not isinstance(exc, ccxt.InvalidNonce):
        return make(Disconnected)
    if code in DUPLICATE_CODES or message in DUPLICATE_MESSAGES or isinstance(exc, ccxt.DuplicateOrderId):
        return make(DuplicateOrder)
    if code in NOT_FOUND_CODES or isinstance(exc, ccxt.OrderNotFound):
        return make(NotFound)
    if code in CLOCK_CODES or isinstance(exc, ccxt.InvalidNonce):
        return make(ClockSkew)
    if code in AMBIGUOUS_CODES or isinstance(exc, ccxt.OperationFailed) or server_error:
        return make(Ambiguous)
    if code in DEFINITE_CODES or isinstance(exc, _DEFINITE_CCXT):
        return make(Rejected)
    if isinstance(exc, _TRANSPORT):
        return make(Ambiguous)
    # An answer (or a failure) we cannot classify: on an order POST/DELETE it may still have been applied.
    return make(Ambiguous) if changing else make(VenueError)
