"""Building the one ccxt instance (``ccxt.pro.binance``: REST and websockets) for a mode, without network.

The same class and the same options serve every mode; only the URLs differ (``binance-sandbox-spec.md``
Part B): the sandbox replaces ``urls['api']`` wholesale, demo switches ccxt's own demo URLs on, live keeps
the stock ones. Whatever the mode, the instance leaves here with

* load_markets restricted to spot + linear without the signed sapi calls (§B2),
* the path-based error-table picker (§B7), so loopback maps error codes exactly like the live hosts,
* the HTTP status and body of every error answer attached to ccxt's exception (ccxt's text drops the code
  for message-matched errors, and the status decides 418 vs 429),
* a logger that scrubs credentials (ccxt logs request headers, X-MBX-APIKEY included, at DEBUG),
* ``maxRetriesOnFailure`` checked to be 0: ccxt would otherwise resend an order POST after a timeout.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import ccxt.pro as ccxtpro

from hedgetui.domain.venue import VenueMode
from hedgetui.exchange.errors import VenueConfigError
from hedgetui.exchange.settings import VenueSettings
from hedgetui.exchange.urls import exceptions_by_path, sandbox_urls
from hedgetui.redaction import scrub

#: Options installed in every mode.
BASE_OPTIONS: dict[str, Any] = {
    # load_markets asks for spot and USDⓈ-M only; fetchCurrencies/fetchMargins would call signed sapi
    # endpoints (absent from the sandbox, and pointless for this hedge).
    "fetchMarkets": {"types": ["spot", "linear"]},
    "fetchCurrencies": False,
    "fetchMargins": False,
    # Without this ccxt raises on fetch_open_orders without a symbol (a rate-limit warning, not an error).
    "fetchOpenOrders": {"warnWithoutSymbol": False},
    # A spot market order with a price would be sent as quoteOrderQty = amount*price (spec §B5). The adapter
    # passes price=None anyway; this makes the quantity win even if a price ever slips through.
    "createOrder": {"quoteOrderQty": False},
    # The clock offset is measured on purpose (BinanceVenue.resync_clock), never behind our back.
    "adjustForTimeDifference": False,
}

CCXT_LOGGER = "hedgetui.exchange.ccxt"


class ScrubbingLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger for one ccxt instance that formats each record and removes the credentials from it."""

    def __init__(self, logger: logging.Logger, secrets: Iterable[str]) -> None:
        super().__init__(logger, {})
        self.secrets = tuple(secrets)

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        try:
            text = str(msg) % args if args else str(msg)
        except (TypeError, ValueError):
            text = " ".join(str(part) for part in (msg, *args))
        kwargs.pop("extra", None)
        self.logger.log(level, scrub(text, self.secrets), **kwargs)


def _attach_answer(handler: Callable[..., Any], body_index: int) -> Callable[..., Any]:
    """Wrap one of ccxt's error handlers: keep the HTTP status and raw body on the exception it raises, so
    translation can read Binance's own ``code`` and tell an IP ban (418) from a rate limit (429).

    ``body_index`` is the body's position among the handler's arguments (the status is always first).
    """

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except Exception as exc:
            body = args[body_index] if len(args) > body_index else None
            exc.http_status = args[0] if args else None  # type: ignore[attr-defined]
            exc.http_body = body if isinstance(body, str) else None  # type: ignore[attr-defined]
            raise

    return wrapped


def retries_configured(options: Mapping[str, Any]) -> list[str]:
    """Every place in ccxt's options that asks for automatic resends (global or per endpoint)."""
    found: list[str] = []
    value = options.get("maxRetriesOnFailure")
    if value not in (None, 0):
        found.append(f"maxRetriesOnFailure={value!r}")
    for name, section in options.items():
        if isinstance(section, Mapping) and section.get("maxRetriesOnFailure") not in (None, 0):
            found.append(f"{name}.maxRetriesOnFailure={section['maxRetriesOnFailure']!r}")
    return found


def assert_no_retries(exchange: Any) -> None:
    """Raise :class:`VenueConfigError` unless ccxt's automatic resend is off everywhere.

    ccxt's ``fetch2`` resends ANY request, order POSTs included, on OperationFailed when
    ``maxRetriesOnFailure`` > 0: after a timeout-after-accept that is a second order.
    """
    found = retries_configured(exchange.options)
    if found:
        raise VenueConfigError(f"ccxt must never resend by itself, but {', '.join(found)}; it must be 0")


def build_exchange(settings: VenueSettings) -> Any:
    """Construct and configure the ccxt instance for ``settings.mode`` without any network request."""
    settings.validate()
    keys = settings.secrets()
    config: dict[str, Any] = {
        # 0 switches ccxt's client-side throttle off (the sandbox has no rate limits to respect).
        "enableRateLimit": settings.rate_limit_ms != 0,
        # The throttle counts ccxt's request costs over a rolling minute (Binance's own rule: weight per
        # minute) instead of its default leaky bucket, whose capacity of one spaces EVERY request by
        # cost x rateLimit: concurrent reads went out one after another and the two legs of a hedge
        # reached the exchange up to 200 ms apart. The budget per minute is the same; bursts now pass.
        "rateLimiterAlgorithm": "rollingWindow",
        "timeout": settings.timeout_ms,
        "options": {**BASE_OPTIONS, "recvWindow": settings.recv_window_ms},
        "verbose": settings.verbose,
    }
    if settings.rate_limit_ms:
        config["rateLimit"] = settings.rate_limit_ms
    if settings.api_key is not None and settings.api_secret is not None:
        config["apiKey"] = settings.api_key.get_secret_value()
        config["secret"] = settings.api_secret.get_secret_value()
    exchange = ccxtpro.binance(config)
    exchange.logger = ScrubbingLogger(logging.getLogger(CCXT_LOGGER), keys)
    if settings.mode is VenueMode.SANDBOX:
        assert settings.sandbox_url is not None  # validate() checked it
        # Wholesale, never merged: a section we did not list cannot reach the real Binance.
        exchange.urls["api"] = sandbox_urls(settings.sandbox_url)
        if settings.sandbox_url.startswith("http://"):
            # ccxt waits 250 ms on close so TLS connections can shut down; plain HTTP has nothing to wait for.
            exchange.timeout_on_exit = 0
    elif settings.mode is VenueMode.DEMO:
        exchange.enable_demo_trading(True)
    exchange.get_exceptions_by_url = exceptions_by_path(exchange.exceptions)
    # handle_errors(code, reason, url, method, headers, body, ...); handle_http_status_code(code, reason,
    # url, method, body).
    exchange.handle_errors = _attach_answer(exchange.handle_errors, 5)
    exchange.handle_http_status_code = _attach_answer(exchange.handle_http_status_code, 4)
    assert_no_retries(exchange)
    return exchange
