"""Error translation, offline: ccxt's own error handling fed every answer of the sandbox spec's catalogue
(Part C), on loopback and on the live hosts, then hedgetui's translation; plus transport, stream and
parsing failures, credential scrubbing, and properties over every ccxt exception class."""

from __future__ import annotations

import http
import inspect
import json
from typing import Any, NamedTuple

import ccxt
import ccxt.pro as ccxtpro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from hedgetui.domain.venue import VenueMode
from hedgetui.exchange.client import build_exchange
from hedgetui.exchange.errors import (
    AMBIGUOUS_CODES,
    AUTH_CODES,
    CANCEL,
    CLOCK_CODES,
    CREATE,
    DEFINITE_CODES,
    DUPLICATE_CODES,
    NOT_FOUND_CODES,
    RATE_LIMIT_CODES,
    READ,
    STREAM,
    Ambiguous,
    AuthFailed,
    BookGap,
    ClockSkew,
    Disconnected,
    DuplicateOrder,
    NotFound,
    RateLimited,
    Rejected,
    VenueConfigError,
    VenueError,
    translate,
)
from hedgetui.exchange.settings import VenueSettings
from tests.exchange.conftest import KEY, SECRET

KEYS: dict[str, Any] = {"api_key": SecretStr(KEY), "api_secret": SecretStr(SECRET)}
LOOPBACK = "http://127.0.0.1:9"
AUTH = "AuthenticationError"
HOSTS = {
    "live": {"spot": "https://api.binance.com/api/v3", "perp": "https://fapi.binance.com/fapi/v1"},
    "loopback": {"spot": "http://127.0.0.1:9/api/v3", "perp": "http://127.0.0.1:9/fapi/v1"},
}


@pytest.fixture(scope="module")
def exchanges() -> dict[str, Any]:
    return {
        "live": build_exchange(VenueSettings(mode=VenueMode.LIVE, **KEYS)),
        "loopback": build_exchange(VenueSettings(mode=VenueMode.SANDBOX, sandbox_url=LOOPBACK, **KEYS)),
    }


def ccxt_error(
    ex: Any, status: int, body: str, url: str, method: str = "POST", *, authenticated: bool = False
) -> Exception:
    """What ccxt raises for this HTTP answer: its ``fetch`` runs exactly these two handlers in this order."""
    ex.options["hasAlreadyAuthenticatedSuccessfully"] = authenticated
    reason = http.HTTPStatus(status).phrase
    try:
        ex.handle_errors(status, reason, url, method, {}, body, ex.parse_json(body), {}, None)
        ex.handle_http_status_code(status, reason, url, method, body)
    except Exception as exc:
        return exc
    raise AssertionError(f"ccxt raised nothing for {status} {body}")


def binance(code: int, msg: str) -> str:
    return json.dumps({"code": code, "msg": msg})


class Row(NamedTuple):
    """One answer of the catalogue and what it must become."""

    market: str
    method: str
    status: int
    body: str
    operation: str
    expected: type[VenueError]
    ccxt_class: str  # what ccxt raises on the live hosts (and, with the path tables, on loopback)


def post(market: str, status: int, body: str, expected: type[VenueError], ccxt_class: str) -> Row:
    return Row(market, "POST", status, body, CREATE, expected, ccxt_class)


NO_BALANCE = "Account has insufficient balance for requested action."
NOTIONAL = "Order's notional must be no smaller than 100 (unless you choose reduce only)."
STATUS_UNKNOWN = "Timeout waiting for response from backend server. Send status unknown."
BAD_KEY = "Invalid API-key, IP, or permissions for action."
NEW = binance(-9999, "Something new.")

# fmt: off
CATALOGUE: list[Row] = [
    # definite rejections
    post("spot", 400, binance(-2010, NO_BALANCE), Rejected, "InsufficientFunds"),
    post("perp", 400, binance(-2019, "Margin is insufficient."), Rejected, "InsufficientFunds"),
    post("perp", 400, binance(-2022, "ReduceOnly Order is rejected."), Rejected, "InvalidOrder"),
    post("perp", 400, binance(-4164, NOTIONAL), Rejected, "InvalidOrder"),
    post("spot", 400, binance(-1013, "Filter failure: LOT_SIZE"), Rejected, "InvalidOrder"),
    post("spot", 400, binance(-1013, "Filter failure: PRICE_FILTER"), Rejected, "InvalidOrder"),
    post("spot", 400, binance(-1013, "Filter failure: NOTIONAL"), Rejected, "BadRequest"),
    post("spot", 400, binance(-2010, "Market is closed."), Rejected, "MarketClosed"),
    post("spot", 400, binance(-1121, "Invalid symbol."), Rejected, "BadSymbol"),
    post("perp", 200, binance(-2019, "Margin is insufficient."), Rejected, "InsufficientFunds"),
    # the order exists
    post("spot", 400, binance(-2010, "Duplicate order sent."), DuplicateOrder, "InvalidOrder"),
    post("perp", 400, binance(-4116, "ClientOrderId is duplicated."), DuplicateOrder, "InvalidOrder"),
    # not found
    Row("spot", "GET", 400, binance(-2013, "Order does not exist."), READ, NotFound, "OrderNotFound"),
    Row("perp", "GET", 400, binance(-2013, "Order does not exist."), READ, NotFound, "OrderNotFound"),
    Row("spot", "DELETE", 400, binance(-2011, "Unknown order sent."), CANCEL, NotFound, "OrderNotFound"),
    # rate limits
    post("perp", 429, binance(-1003, "Too many requests."), RateLimited, "DDoSProtection"),
    post("perp", 429, "", RateLimited, "DDoSProtection"),
    post("spot", 400, binance(-1015, "Too many new orders."), RateLimited, "RateLimitExceeded"),
    # ambiguous: the order may exist
    post("perp", 503, "<html>Service Unavailable</html>", Ambiguous, "ExchangeNotAvailable"),
    post("perp", 502, "", Ambiguous, "ExchangeNotAvailable"),
    post("perp", 503, '{"msg":"Service Unavailable."}', Ambiguous, "ExchangeNotAvailable"),
    post("perp", 500, binance(-1001, "Internal error."), Ambiguous, "OperationFailed"),
    post("perp", 503, binance(-1008, "Server is currently overloaded."), Ambiguous, "OperationFailed"),
    post("perp", 503, binance(-1007, STATUS_UNKNOWN), Ambiguous, "RequestTimeout"),
    post("perp", 504, "Gateway Timeout", Ambiguous, "RequestTimeout"),
    post("spot", 403, "<html>WAF</html>", Ambiguous, "ExchangeNotAvailable"),
    post("perp", 400, NEW, Ambiguous, "ExchangeError"),
    Row("perp", "DELETE", 503, "", CANCEL, Ambiguous, "ExchangeNotAvailable"),
    Row("perp", "DELETE", 400, NEW, CANCEL, Ambiguous, "ExchangeError"),
    # reads: an unknown answer is an error, not "the order may exist"
    Row("perp", "GET", 400, NEW, READ, VenueError, "ExchangeError"),
    # the clock
    post("perp", 400, binance(-1021, "Timestamp outside of the recvWindow."), ClockSkew, "InvalidNonce"),
    # credentials
    Row("spot", "GET", 401, "Unauthorized", READ, AuthFailed, AUTH),
    Row("spot", "GET", 401, binance(-2015, BAD_KEY), READ, AuthFailed, AUTH),
    Row("spot", "GET", 401, binance(-2014, "API-key format invalid."), READ, AuthFailed, AUTH),
    post("perp", 400, binance(-1022, "Signature for this request is not valid."), AuthFailed, AUTH),
]
# fmt: on


@pytest.mark.parametrize("where", ["live", "loopback"])
@pytest.mark.parametrize("row", CATALOGUE, ids=lambda r: f"{r.status}-{r.body[:40]}")
def test_catalogue_alike_on_loopback_and_live(exchanges: dict[str, Any], where: str, row: Row) -> None:
    url = HOSTS[where][row.market] + "/order?symbol=BTCUSDT&timestamp=1&signature=deadbeef"
    raised = ccxt_error(exchanges[where], row.status, row.body, url, row.method)
    # The path-based error tables make loopback raise exactly what the live hosts raise.
    assert type(raised).__name__ == row.ccxt_class
    error = translate(raised, operation=row.operation)
    answer = json.loads(row.body) if row.body.startswith("{") else {}
    assert type(error) is row.expected
    assert error.code == answer.get("code")
    assert error.http_status == row.status
    assert error.source == row.ccxt_class
    assert error.operation == row.operation
    assert "signature" not in error.exchange_message and "deadbeef" not in str(error)
    if "msg" in answer:
        assert error.exchange_message == answer["msg"]


def test_without_the_path_tables_loopback_would_lose_fapi_codes() -> None:
    """Why the §B7 override exists: stock ccxt on loopback degrades -2019 to a plain ExchangeError."""
    stock = ccxtpro.binance({"options": {"fetchMarkets": {"types": ["spot", "linear"]}}})
    body = binance(-2019, "Margin is insufficient.")
    raised = ccxt_error(stock, 400, body, "http://127.0.0.1:9/fapi/v1/order")
    assert type(raised) is ccxt.ExchangeError
    # Even so, the code alone keeps it definite.
    assert type(translate(raised, operation=CREATE)) is Rejected


def test_minus_2015_after_a_successful_private_call_is_auth_not_rate_limit(exchanges: dict[str, Any]) -> None:
    body = binance(-2015, "Invalid API-key, IP, or permissions for action.")
    raised = ccxt_error(
        exchanges["loopback"], 401, body, HOSTS["loopback"]["spot"] + "/account", "GET", authenticated=True
    )
    assert type(raised) is ccxt.DDoSProtection  # ccxt's "temporary ban" workaround
    error = translate(raised, operation=READ)
    assert type(error) is AuthFailed and error.code == -2015


@pytest.mark.parametrize(("status", "banned"), [(418, True), (429, False)])
def test_ip_ban_is_told_apart_from_a_rate_limit(exchanges: dict[str, Any], status: int, banned: bool) -> None:
    body = binance(-1003, "Way too many requests; IP banned until 9999999999999.")
    raised = ccxt_error(exchanges["live"], status, body, HOSTS["live"]["perp"] + "/order")
    error = translate(raised, operation=CREATE)
    assert isinstance(error, RateLimited) and isinstance(error, Ambiguous)
    assert error.banned is (banned or "IP banned" in error.exchange_message)
    empty = ccxt_error(exchanges["live"], status, "", HOSTS["live"]["perp"] + "/order")
    bare = translate(empty, operation=CREATE)
    assert isinstance(bare, RateLimited) and bare.banned is banned


def test_banned_is_read_from_ccxt_text_when_no_status_was_attached() -> None:
    error = translate(ccxt.DDoSProtection("binance 418 I'm a Teapot "), operation=CREATE)
    assert isinstance(error, RateLimited) and error.banned and error.http_status == 418


# ---- transport, stream and parsing failures ------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "operation", "cls"),
    [
        (ccxt.RequestTimeout("binance POST http://127.0.0.1:9/fapi/v1/order"), CREATE, Ambiguous),
        (ccxt.ExchangeNotAvailable("binance POST http://127.0.0.1:9/fapi/v1/order"), CREATE, Ambiguous),
        (ccxt.ExchangeNotAvailable("binance GET http://127.0.0.1:9/fapi/v1/depth"), READ, Ambiguous),
        (TimeoutError(), CREATE, Ambiguous),
        (ConnectionResetError("reset"), CANCEL, Ambiguous),
        (ccxt.BadResponse("binance not JSON"), CREATE, Ambiguous),
        (ccxt.NullResponse("binance nothing"), READ, Ambiguous),
        (KeyError("status"), CREATE, Ambiguous),
        (KeyError("status"), READ, VenueError),
        (ccxt.NotSupported("binance does not have a sandbox URL for sapi endpoints"), CREATE, Rejected),
        (ccxt.InvalidOrder("binance amount of BTC/USDT must be greater than minimum"), CREATE, Rejected),
        (ccxt.BaseError("binance ???"), CREATE, Ambiguous),
        (ccxt.BaseError("binance ???"), READ, VenueError),
        # the stream
        (ccxt.ChecksumError("binance BTC/USDT:USDT nonce is behind the cache"), STREAM, BookGap),
        (ccxt.NetworkError("Connection closed by remote server, closing code 1006"), STREAM, Disconnected),
        (ccxt.RequestTimeout("Connection to ws://x timed out: ping-pong keepalive"), STREAM, Disconnected),
        (ccxt.ExchangeNotAvailable("binance connection refused"), STREAM, Disconnected),
        (ccxt.ExchangeClosedByUser("Connection closed by the user"), STREAM, Disconnected),
        (ccxt.UnsubscribeError("binance unwatched"), STREAM, Disconnected),
        (ConnectionError("Cannot Send Message: Connection closed before send"), STREAM, Disconnected),
        (ccxt.DDoSProtection("binance 429 Too Many Requests "), STREAM, RateLimited),
    ],
)
def test_transport_stream_parsing_failures(exc: BaseException, operation: str, cls: type[VenueError]) -> None:
    error = translate(exc, operation=operation)
    assert type(error) is cls
    assert error.source == type(exc).__name__
    assert error.exchange_message  # never empty, even for a bare TimeoutError


def test_a_venue_error_passes_through_unchanged() -> None:
    original = NotFound("Order does not exist.", code=-2013, source="OrderNotFound")
    assert translate(original, operation=CREATE) is original


def test_messages_are_scrubbed_stripped_of_queries_and_bounded() -> None:
    leaky = ccxt.ExchangeError(f'binance {{"code":-9999,"msg":"bad key {KEY} and {SECRET}"}}')
    error = translate(leaky, operation=READ, secrets=(KEY, SECRET))
    for text in (str(error), repr(error), error.exchange_message, str(error.args)):
        assert KEY not in text and SECRET not in text
    assert error.exchange_message == "bad key **** and ****" and error.code == -9999
    url = "binance GET http://127.0.0.1:9/api/v3/account?timestamp=1&recvWindow=10000&signature=abc123 503 "
    error = translate(ccxt.ExchangeNotAvailable(url + "<html>" + "x" * 5000), operation=READ)
    assert "signature" not in error.exchange_message and "abc123" not in error.exchange_message
    assert "/api/v3/account" in error.exchange_message
    assert len(error.exchange_message) <= 401


def test_str_and_repr_carry_source_code_and_message() -> None:
    error = translate(
        ccxt.InsufficientFunds('binance {"code":-2019,"msg":"Margin is insufficient."}'), operation=CREATE
    )
    assert str(error) == "InsufficientFunds -2019: Margin is insufficient."
    assert "code=-2019" in repr(error) and "Rejected(" in repr(error)


def test_config_errors_are_both_venue_and_value_errors() -> None:
    error = VenueConfigError("venue: bad")
    assert isinstance(error, VenueError) and isinstance(error, ValueError) and error.source == "ConfigError"


# ---- properties ---------------------------------------------------------------------------------------

CCXT_CLASSES = [c for c in vars(ccxt).values() if inspect.isclass(c) and issubclass(c, ccxt.BaseError)]
KNOWN_CODES = DEFINITE_CODES | DUPLICATE_CODES | AUTH_CODES | NOT_FOUND_CODES
KNOWN_CODES |= RATE_LIMIT_CODES | AMBIGUOUS_CODES | CLOCK_CODES
secretish = st.sampled_from([KEY, SECRET, "", "plain text"])


@settings(max_examples=300, deadline=None)
@given(
    cls=st.sampled_from(CCXT_CLASSES),
    text=st.text(max_size=60),
    secret=secretish,
    operation=st.sampled_from([CREATE, CANCEL, READ, STREAM]),
)
def test_every_ccxt_exception_becomes_a_decidable_scrubbed_venue_error(
    cls: type[Exception], text: str, secret: str, operation: str
) -> None:
    error = translate(cls(f"binance {text}{secret}{text}"), operation=operation, secrets=(KEY, SECRET))
    assert isinstance(error, VenueError)
    assert KEY not in str(error) + repr(error) and SECRET not in str(error) + repr(error)
    if operation in (CREATE, CANCEL) and cls is not ccxt.ChecksumError:
        # An order POST/DELETE always ends in something the engine can act on.
        assert isinstance(error, (Rejected, Ambiguous, AuthFailed, NotFound))


@settings(max_examples=200, deadline=None)
@given(code=st.integers(min_value=-9999, max_value=-1000), operation=st.sampled_from([CREATE, CANCEL, READ]))
def test_codes_decide_even_when_ccxt_says_only_exchange_error(code: int, operation: str) -> None:
    error = translate(ccxt.ExchangeError(f'binance {{"code":{code},"msg":"m"}}'), operation=operation)
    assert error.code == code
    if code in DEFINITE_CODES:
        assert type(error) is Rejected
    elif code in DUPLICATE_CODES:
        assert type(error) is DuplicateOrder
    elif code in AUTH_CODES:
        assert type(error) is AuthFailed
    elif code in NOT_FOUND_CODES:
        assert type(error) is NotFound
    elif code in RATE_LIMIT_CODES:
        assert type(error) is RateLimited
    elif code in CLOCK_CODES:
        assert type(error) is ClockSkew
    elif code in AMBIGUOUS_CODES:
        assert type(error) is Ambiguous
    else:
        assert code not in KNOWN_CODES
        assert type(error) is (Ambiguous if operation in (CREATE, CANCEL) else VenueError)
