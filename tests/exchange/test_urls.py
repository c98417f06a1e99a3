"""One code path, three configurations, no network: the ccxt instance built for live, demo and the sandbox
(URLs ccxt would really call, options, error tables), the refusals (retries, verbose, bad settings) and the
credential-scrubbing logger."""

from __future__ import annotations

import logging
from typing import Any

import ccxt
import ccxt.pro as ccxtpro
import pytest
from pydantic import SecretStr

from hedgetui.domain.venue import MarketKind, VenueMode
from hedgetui.exchange.client import BASE_OPTIONS, CCXT_LOGGER, assert_no_retries, build_exchange
from hedgetui.exchange.errors import VenueConfigError, VenueError
from hedgetui.exchange.settings import VenueSettings
from hedgetui.exchange.urls import (
    SANDBOX_REST_SECTIONS,
    exceptions_by_path,
    market_type_of_path,
    sandbox_urls,
    ws_base,
)
from hedgetui.exchange.venue import BinanceVenue
from tests.exchange.conftest import KEY, SECRET

KEYS: dict[str, Any] = {"api_key": SecretStr(KEY), "api_secret": SecretStr(SECRET)}
SANDBOX = "http://127.0.0.1:9"


def build(mode: VenueMode, **kw: Any) -> Any:
    if mode is VenueMode.SANDBOX:
        kw.setdefault("sandbox_url", SANDBOX)
    return build_exchange(VenueSettings(mode=mode, **{**KEYS, **kw}))


def signed_order_url(ex: Any, section: str) -> str:
    """The URL ccxt would send an order to (``sign`` is what ``fetch2`` calls just before the request)."""
    request = ex.sign("order", [section], "POST", {"symbol": "BTCUSDT", "newClientOrderId": "hg1"})
    assert request["headers"]["X-MBX-APIKEY"] == KEY
    assert "newClientOrderId=hg1" in request["body"]
    return str(request["url"])


@pytest.mark.parametrize(
    ("mode", "spot", "perp", "ws_spot", "ws_linear"),
    [
        (
            VenueMode.LIVE,
            "https://api.binance.com/api/v3/order",
            "https://fapi.binance.com/fapi/v1/order",
            "wss://stream.binance.com:9443/ws",
            "wss://fstream.binance.com/ws",
        ),
        (
            VenueMode.DEMO,
            "https://demo-api.binance.com/api/v3/order",
            "https://demo-fapi.binance.com/fapi/v1/order",
            "wss://demo-stream.binance.com/ws",
            "wss://fstream.binancefuture.com/ws",
        ),
        (
            VenueMode.SANDBOX,
            SANDBOX + "/api/v3/order",
            SANDBOX + "/fapi/v1/order",
            "ws://127.0.0.1:9/stream/ws",
            "ws://127.0.0.1:9/fstream/ws",
        ),
    ],
)
def test_each_mode_calls_its_own_hosts_through_the_same_class(
    mode: VenueMode, spot: str, perp: str, ws_spot: str, ws_linear: str
) -> None:
    ex = build(mode)
    assert type(ex) is ccxtpro.binance  # ccxt's real class, REST and ws on one instance
    assert signed_order_url(ex, "private") == spot
    assert signed_order_url(ex, "fapiPrivate") == perp
    assert ex.urls["api"]["ws"]["spot"] == ws_spot and ex.urls["api"]["ws"]["linear"] == ws_linear
    assert ex.session is None  # nothing was opened, let alone requested
    # Only plain-HTTP loopback skips ccxt's wait for TLS connections to close.
    assert ex.timeout_on_exit == (0 if mode is VenueMode.SANDBOX else 250)
    for name, value in BASE_OPTIONS.items():
        if isinstance(value, dict):
            assert {k: ex.options[name][k] for k in value} == value
        else:
            assert ex.options[name] == value
    assert ex.options["fetchMarkets"]["types"] == ["spot", "linear"]
    assert ex.options["fetchOpenOrders"]["warnWithoutSymbol"] is False
    assert ex.options["createOrder"]["quoteOrderQty"] is False
    assert ex.options["recvWindow"] == 10_000 and ex.timeout == 10_000
    assert ex.options.get("maxRetriesOnFailure", 0) == 0
    assert ex.verbose is False
    assert ex.options.get("enableDemoTrading", False) is (mode is VenueMode.DEMO)
    # The path-based error tables are installed in every mode.
    assert ex.get_exceptions_by_url(perp, "exact")["-2019"] is ccxt.InsufficientFunds


def test_the_sandbox_replaces_the_api_urls_wholesale() -> None:
    ex = build(VenueMode.SANDBOX)
    assert set(ex.urls["api"]) == set(SANDBOX_REST_SECTIONS) | {"ws"}
    assert all(not str(u).startswith("https://") for k, u in ex.urls["api"].items() if k != "ws")
    # A section we left out can never reach the real Binance: ccxt refuses before any I/O.
    assert ex.sign("asset/transfer", ["sapi"], "POST", {})["url"].startswith("http://127.0.0.1")  # the sandbox's
    for section in ("sapiV2", "dapiPrivate", "papi", "eapiPrivate"):
        with pytest.raises(ccxt.NotSupported):
            ex.sign("account", [section], "GET", {})
    live = build(VenueMode.LIVE)
    assert live.sign("capital/config/getall", ["sapi"], "GET", {})["url"].startswith("https://api.binance.com/sapi/")


def test_sandbox_urls_follow_the_scheme() -> None:
    assert ws_base("http://127.0.0.1:8765") == "ws://127.0.0.1:8765"
    assert ws_base("https://sandbox.example:443") == "wss://sandbox.example:443"
    with pytest.raises(ValueError):
        ws_base("ftp://x")
    api = sandbox_urls("https://127.0.0.1:8443/")
    assert api["fapiPrivateV3"] == "https://127.0.0.1:8443/fapi/v3"
    assert api["ws"] == {
        "spot": "wss://127.0.0.1:8443/stream/ws",
        "margin": "wss://127.0.0.1:8443/stream/ws",
        "linear": "wss://127.0.0.1:8443/fstream/ws",
        "ws-api": {"spot": "wss://127.0.0.1:8443/ws-api/v3"},
    }


def test_error_tables_by_path_equal_ccxt_own_on_the_live_hosts() -> None:
    ex = build(VenueMode.LIVE)
    stock = ccxt.binance()
    ours = exceptions_by_path(ex.exceptions)
    for url in (
        "https://api.binance.com/api/v3/order",
        "https://fapi.binance.com/fapi/v1/order",
        "https://demo-api.binance.com/api/v3/order",
        "https://demo-fapi.binance.com/fapi/v1/order",
    ):
        for kind in ("exact", "broad"):
            assert ours(url, kind) == stock.get_exceptions_by_url(url, kind)
        assert ours(url, "exact")  # non-empty: the comparison is about something
    assert market_type_of_path("http://127.0.0.1:9/fapi/v2/account") == "linear"
    assert market_type_of_path("http://127.0.0.1:9/api/v3/order") == "spot"
    assert market_type_of_path("http://127.0.0.1:9/futures/data/x") is None
    assert ours(None, "exact") == {} and ours("http://127.0.0.1:9", "exact") == {}


def test_settings_are_passed_through() -> None:
    ex = build(VenueMode.SANDBOX, timeout_ms=1234, recv_window_ms=5000, rate_limit_ms=0)
    assert ex.timeout == 1234 and ex.options["recvWindow"] == 5000 and ex.enableRateLimit is False
    ex = build(VenueMode.LIVE, rate_limit_ms=80)
    assert ex.enableRateLimit is True and ex.rateLimit == 80
    anonymous = build_exchange(VenueSettings(mode=VenueMode.LIVE))
    assert not anonymous.apiKey and not anonymous.secret


# ---- refusals -----------------------------------------------------------------------------------------


def test_automatic_resends_are_refused_wherever_they_are_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    original = ccxtpro.binance

    def with_retries(where: str) -> Any:
        def make(config: dict[str, Any]) -> Any:
            ex = original(config)
            if where == "global":
                ex.options["maxRetriesOnFailure"] = 2
            else:
                ex.options.setdefault(where, {})["maxRetriesOnFailure"] = 1
            return ex

        return make

    for where in ("global", "order"):
        monkeypatch.setattr(ccxtpro, "binance", with_retries(where))
        with pytest.raises(VenueConfigError, match="maxRetriesOnFailure"):
            build(VenueMode.LIVE)
    monkeypatch.setattr(ccxtpro, "binance", original)
    ex = build(VenueMode.LIVE)
    assert_no_retries(ex)
    ex.options["maxRetriesOnFailure"] = 3  # set after construction: the next order check catches it
    with pytest.raises(VenueConfigError):
        assert_no_retries(ex)


@pytest.mark.parametrize(
    ("mode", "keys", "sandbox_keys", "allowed"),
    [
        (VenueMode.LIVE, True, (), False),
        (VenueMode.LIVE, False, (), False),
        (VenueMode.DEMO, True, (), False),
        (VenueMode.SANDBOX, True, (), False),  # real-looking keys on a sandbox: still refused
        (VenueMode.SANDBOX, True, (KEY, SECRET), True),  # the sandbox's own keys
        (VenueMode.SANDBOX, False, (), True),
    ],
)
def test_verbose_is_refused_unless_only_sandbox_keys_are_present(
    mode: VenueMode, keys: bool, sandbox_keys: tuple[str, ...], allowed: bool
) -> None:
    settings = VenueSettings(
        mode=mode,
        sandbox_url=SANDBOX if mode is VenueMode.SANDBOX else None,
        verbose=True,
        sandbox_keys=sandbox_keys,
        **(KEYS if keys else {}),
    )
    if allowed:
        assert build_exchange(settings).verbose is True
    else:
        with pytest.raises(VenueConfigError, match="verbose") as info:
            build_exchange(settings)
        assert isinstance(info.value, ValueError) and KEY not in str(info.value)


@pytest.mark.parametrize(
    ("kw", "problem"),
    [
        ({"mode": VenueMode.SANDBOX}, "needs the sandbox URL"),
        ({"mode": VenueMode.SANDBOX, "sandbox_url": "ftp://127.0.0.1:9"}, "is not http"),
        ({"mode": VenueMode.SANDBOX, "sandbox_url": "http://127.0.0.1:9/api"}, "path or query"),
        ({"mode": VenueMode.LIVE, "sandbox_url": SANDBOX}, "only for sandbox mode"),
        ({"mode": VenueMode.LIVE, "api_key": SecretStr(KEY)}, "both the API key and the secret"),
        ({"mode": VenueMode.LIVE, "timeout_ms": 0}, "timeout_ms"),
        ({"mode": VenueMode.LIVE, "recv_window_ms": 60_001}, "recv_window_ms"),
        ({"mode": VenueMode.LIVE, "rate_limit_ms": -1}, "rate_limit_ms"),
    ],
)
def test_unusable_settings_are_refused_before_anything_is_built(kw: dict[str, Any], problem: str) -> None:
    with pytest.raises(VenueConfigError, match=problem):
        build_exchange(VenueSettings(**kw))


def test_settings_and_venue_reprs_hold_no_credentials() -> None:
    settings = VenueSettings(mode=VenueMode.SANDBOX, sandbox_url=SANDBOX, sandbox_keys=(KEY, SECRET), **KEYS)
    venue = BinanceVenue(settings)  # built, not connected: no network
    for text in (repr(settings), str(settings), repr(venue), str(venue)):
        assert KEY not in text and SECRET not in text
    assert "sandbox" in repr(venue)
    with pytest.raises(VenueError, match="not loaded"):
        venue.rules(MarketKind.PERP)


def test_ccxt_debug_logs_are_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    ex = build(VenueMode.SANDBOX)
    caplog.set_level(logging.DEBUG, logger=CCXT_LOGGER)
    # Exactly how ccxt's fetch logs a signed request.
    ex.logger.debug("%s %s, Request: %s %s", "POST", SANDBOX + "/fapi/v1/order", {"X-MBX-APIKEY": KEY}, "x=1")
    ex.logger.warning("plain %s", SECRET)
    ex.logger.debug("malformed %s %s", "only-one")  # a bad format must not lose the record
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3 and "X-MBX-APIKEY" in messages[0] and "****" in messages[0]
    assert all(KEY not in m and SECRET not in m for m in messages)
    assert all(r.name == CCXT_LOGGER for r in caplog.records)


def test_the_throttle_counts_a_rolling_minute_and_lets_concurrent_requests_through() -> None:
    # ccxt's default leaky bucket (capacity 1) spaces every request: concurrent reads and the two legs of a
    # hedge went out one after another. The rolling window keeps the same budget per minute.
    ex = build(VenueMode.LIVE)
    assert ex.enableRateLimit is True and ex.tokenBucket["algorithm"] == "rollingWindow"
    assert ex.tokenBucket["windowSize"] == 60_000 and ex.throttler.config["maxWeight"] == 60_000 / ex.rateLimit
