"""The venue adapter against the sandbox, and its configuration for demo and live without network."""

from __future__ import annotations

import logging
from decimal import Decimal as D
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from hedgetui.domain.orders import OrderStatus, Side
from hedgetui.domain.venue import MarketKind, VenueMode
from hedgetui.exchange import venue as venue_module
from hedgetui.exchange.errors import (
    Ambiguous,
    AuthFailed,
    ClockSkew,
    DuplicateOrder,
    NotFound,
    RateLimited,
    Rejected,
    VenueError,
)
from hedgetui.exchange.settings import VenueSettings
from hedgetui.exchange.venue import BinanceVenue, build_exchange
from hedgetui.sandbox.server import SandboxServer
from tests.exchange.conftest import KEY, SECRET, settings_for

SPOT, PERP = MarketKind.SPOT, MarketKind.PERP


async def rule(sandbox: SandboxServer, match: str, action: str, **params: Any) -> None:
    async with (
        aiohttp.ClientSession() as s,
        s.post(sandbox.base_url + "/sandbox/faults", json={"match": match, "action": action, **params}) as r,
    ):
        assert r.status == 200, await r.text()


# ---- one code path, three configurations ------------------------------------------------------------


def test_live_demo_and_sandbox_urls_and_options_without_network() -> None:
    keys = {"api_key": SecretStr(KEY), "api_secret": SecretStr(SECRET)}
    live = build_exchange(VenueSettings(mode=VenueMode.LIVE, **keys))
    demo = build_exchange(VenueSettings(mode=VenueMode.DEMO, **keys))
    sandbox = build_exchange(VenueSettings(mode=VenueMode.SANDBOX, sandbox_url="http://127.0.0.1:9", **keys))
    assert live.urls["api"]["public"].startswith("https://api.binance.com/")
    assert live.urls["api"]["fapiPrivate"].startswith("https://fapi.binance.com/")
    assert "demo-api.binance.com" in demo.urls["api"]["public"] and "demo-fapi" in demo.urls["api"]["fapiPrivate"]
    assert sandbox.urls["api"]["fapiPrivateV3"] == "http://127.0.0.1:9/fapi/v3"
    assert sandbox.urls["api"]["ws"]["spot"] == "ws://127.0.0.1:9/stream/ws"
    assert "sapi" not in sandbox.urls["api"]  # a forgotten section can never reach the real Binance
    for ex in (live, demo, sandbox):
        assert type(ex).__name__ == "binance"  # ccxt's real class, in every mode
        assert ex.options["fetchMarkets"]["types"] == ["spot", "linear"]
        assert ex.options["fetchCurrencies"] is False and ex.options["fetchMargins"] is False
        assert ex.options.get("maxRetriesOnFailure", 0) == 0
        assert ex.verbose is False
        assert (
            ex.get_exceptions_by_url("https://fapi.binance.com/fapi/v1/order", "exact")["-2019"].__name__
            == "InsufficientFunds"
        )


def test_retries_must_be_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    original = venue_module.ccxtpro.binance

    def with_retries(config: dict[str, Any]) -> Any:
        ex = original(config)
        ex.options["maxRetriesOnFailure"] = 2
        return ex

    monkeypatch.setattr(venue_module.ccxtpro, "binance", with_retries)
    with pytest.raises(VenueError, match="maxRetriesOnFailure"):
        build_exchange(VenueSettings(mode=VenueMode.LIVE))


def test_verbose_is_refused_with_real_keys() -> None:
    keys = {"api_key": SecretStr(KEY), "api_secret": SecretStr(SECRET)}
    for mode in (VenueMode.LIVE, VenueMode.DEMO):
        with pytest.raises(VenueError, match="verbose"):
            build_exchange(VenueSettings(mode=mode, verbose=True, **keys))
    with pytest.raises(VenueError, match="verbose"):
        build_exchange(VenueSettings(mode=VenueMode.SANDBOX, sandbox_url="http://127.0.0.1:9", verbose=True, **keys))
    ok = build_exchange(
        VenueSettings(
            mode=VenueMode.SANDBOX, sandbox_url="http://127.0.0.1:9", verbose=True, sandbox_keys=(KEY, SECRET), **keys
        )
    )
    assert ok.verbose is True


# ---- methods on both markets ------------------------------------------------------------------------


async def test_rules_books_ticker_funding(venue: BinanceVenue) -> None:
    spot, perp = venue.rules(SPOT), venue.rules(PERP)
    assert (spot.step, spot.tick, spot.min_notional) == (D("0.00001"), D("0.01"), D("5"))
    assert (perp.step, perp.tick, perp.min_notional) == (D("0.001"), D("0.1"), D("100"))
    for kind in (SPOT, PERP):
        book = await venue.fetch_order_book(kind, 20)
        assert len(book.bids) == 20 and isinstance(book.bids[0][0], D) and book.update_id
        ticker = await venue.fetch_ticker(kind)
        assert ticker.last is not None
    funding = await venue.fetch_funding()
    assert funding.mark_price > 0 and funding.next_funding_ms and isinstance(funding.rate, D)


async def test_orders_balances_positions_and_fees(venue: BinanceVenue) -> None:
    assert (await venue.fetch_perp_position()).amount == 0
    spot = await venue.create_market_order(SPOT, Side.BUY, D("0.01"), "vt1SO1")
    assert spot.status is OrderStatus.FILLED and spot.filled == D("0.01") and spot.fees[0].currency == "BTC"
    perp = await venue.create_market_order(PERP, Side.SELL, D("0.01"), "vt1PO1")
    assert perp.status is OrderStatus.FILLED and perp.average and perp.fees == ()
    trades = await venue.fetch_order_trades(PERP, perp.order_id)
    assert sum(t.qty for t in trades) == D("0.01") and all(t.fee and t.fee.currency == "USDT" for t in trades)
    spot_trades = await venue.fetch_order_trades(SPOT, spot.order_id)
    assert sum(t.fee.cost for t in spot_trades if t.fee) == D("0.00001")
    assert (await venue.fetch_order(PERP, client_order_id="vt1PO1")).order_id == perp.order_id
    assert (await venue.fetch_order(SPOT, order_id=spot.order_id)).client_order_id == "vt1SO1"
    balances = await venue.fetch_spot_balances()
    assert balances["BTC"].total == D("0.00999")
    futures = await venue.fetch_futures_balance()
    assert futures.wallet < D("100000") and futures.available > 0
    position = await venue.fetch_perp_position()
    assert position.amount == D("-0.01") and position.entry_price and position.liquidation_price
    close = await venue.create_market_order(PERP, Side.BUY, D("0.01"), "vt1PC1", reduce_only=True)
    assert close.reduce_only and (await venue.fetch_perp_position()).amount == 0


async def test_limit_orders_open_orders_and_cancel_by_client_id(venue: BinanceVenue) -> None:
    book = await venue.fetch_order_book(SPOT, 5)
    price = book.bids[-1][0] - D("100")
    order = await venue.create_limit_order(SPOT, Side.BUY, D("0.001"), price, "vt2SO1")
    assert order.status is OrderStatus.OPEN
    assert [o.client_order_id for o in await venue.fetch_open_orders(SPOT)] == ["vt2SO1"]
    canceled = await venue.cancel_order(SPOT, client_order_id="vt2SO1")
    assert canceled.status is OrderStatus.CANCELED and canceled.client_order_id == "vt2SO1"  # origClientOrderId
    assert await venue.fetch_open_orders(SPOT) == []


async def test_amount_off_the_step_is_refused_before_sending(venue: BinanceVenue, sandbox: SandboxServer) -> None:
    with pytest.raises(Rejected, match="step"):
        await venue.create_market_order(PERP, Side.SELL, D("0.0105"), "vt3PO1")
    assert sandbox.core.orders() == []


async def test_resync_clock(venue: BinanceVenue) -> None:
    offset = await venue.resync_clock()
    assert abs(offset) < 1000 and venue.exchange.options["timeDifference"] == offset


# ---- error classes from real answers and injected faults ---------------------------------------------


@pytest.mark.parametrize(
    ("setup", "call", "expected", "code"),
    [
        (None, ("spot_sell", "1"), Rejected, -2010),
        (None, ("perp_sell", "50"), Rejected, -2019),
        (None, ("perp_buy_ro", "0.01"), Rejected, -2022),
        (None, ("perp_sell", "0.001"), Rejected, -4164),
        (
            ("POST /api/v3/order", "reject", {"code": -2010, "msg": "Duplicate order sent."}),
            ("spot_buy", "0.001"),
            DuplicateOrder,
            -2010,
        ),
        (
            ("POST /fapi/v1/order", "reject", {"code": -4116, "msg": "ClientOrderId is duplicated."}),
            ("perp_sell", "0.01"),
            DuplicateOrder,
            -4116,
        ),
        (("POST /fapi/v1/order", "timeout_after_accept", {"hold_ms": 4000}), ("perp_sell", "0.01"), Ambiguous, None),
        (("POST /fapi/v1/order", "timeout_before_accept", {"hold_ms": 4000}), ("perp_sell", "0.01"), Ambiguous, None),
        (
            ("POST /fapi/v1/order", "accept_then", {"status": 503, "body": {"code": -1007, "msg": "unknown"}}),
            ("perp_sell", "0.01"),
            Ambiguous,
            -1007,
        ),
        (("POST /fapi/v1/order", "drop_after_accept", {}), ("perp_sell", "0.01"), Ambiguous, None),
        (("POST /fapi/v1/order", "http_503", {}), ("perp_sell", "0.01"), Ambiguous, None),
        (
            ("POST /fapi/v1/order", "reject", {"code": -1001, "msg": "Internal error.", "status": 500}),
            ("perp_sell", "0.01"),
            Ambiguous,
            -1001,
        ),
        (
            ("POST /fapi/v1/order", "reject", {"code": -9999, "msg": "Something new."}),
            ("perp_sell", "0.01"),
            Ambiguous,
            -9999,
        ),
        (("POST /fapi/v1/order", "http_429", {}), ("perp_sell", "0.01"), RateLimited, -1003),
        (
            ("POST /fapi/v1/order", "reject", {"code": -1021, "msg": "Timestamp outside of the recvWindow."}),
            ("perp_sell", "0.01"),
            ClockSkew,
            -1021,
        ),
        (None, ("fetch_missing", ""), NotFound, -2013),
        (None, ("cancel_missing", ""), NotFound, -2011),
        (("GET /fapi/v1/depth", "reject", {"code": -9999, "msg": "Something new."}), ("read", ""), VenueError, -9999),
    ],
)
async def test_error_classes(
    venue: BinanceVenue,
    sandbox: SandboxServer,
    setup: Any,
    call: tuple[str, str],
    expected: type[VenueError],
    code: int | None,
) -> None:
    if setup is not None:
        await rule(sandbox, setup[0], setup[1], **setup[2])
    what, qty = call
    with pytest.raises(expected) as info:
        if what == "spot_sell":
            await venue.create_market_order(SPOT, Side.SELL, D(qty), "e1")
        elif what == "spot_buy":
            await venue.create_market_order(SPOT, Side.BUY, D(qty), "e1")
        elif what == "perp_sell":
            await venue.create_market_order(PERP, Side.SELL, D(qty), "e1")
        elif what == "perp_buy_ro":
            await venue.create_market_order(PERP, Side.BUY, D(qty), "e1", reduce_only=True)
        elif what == "fetch_missing":
            await venue.fetch_order(PERP, client_order_id="nope")
        elif what == "cancel_missing":
            await venue.cancel_order(SPOT, client_order_id="nope")
        else:
            await venue.fetch_order_book(PERP, 5)
    assert type(info.value) is expected
    assert info.value.code == code
    assert KEY not in str(info.value) and SECRET not in str(info.value)


async def test_ip_ban_is_rate_limited_and_banned(venue: BinanceVenue, sandbox: SandboxServer) -> None:
    await rule(sandbox, "POST /fapi/v1/order", "http_418")
    with pytest.raises(RateLimited) as info:
        await venue.create_market_order(PERP, Side.SELL, D("0.01"), "ban1")
    assert info.value.banned


async def test_bad_keys_are_auth_failed_before_and_after_a_success(sandbox: SandboxServer) -> None:
    wrong = await BinanceVenue.connect(settings_for(sandbox, api_key=SecretStr("wrong-key-1234567890")))
    try:
        with pytest.raises(AuthFailed):
            await wrong.fetch_spot_balances()
    finally:
        await wrong.close()
    ok = await BinanceVenue.connect(settings_for(sandbox))
    try:
        await ok.fetch_spot_balances()
        await rule(sandbox, "GET /api/v3/account", "reject", code=-2015, msg="Invalid API-key.", status=401)
        with pytest.raises(AuthFailed):  # ccxt says DDoSProtection here; the code says auth
            await ok.fetch_spot_balances()
    finally:
        await ok.close()


async def test_secrets_never_in_logs_or_exceptions(sandbox: SandboxServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    v = await BinanceVenue.connect(settings_for(sandbox))
    try:
        texts = [repr(v.settings), str(v.settings)]
        for action in ("http_503", "timeout_after_accept"):
            await rule(sandbox, "POST /fapi/v1/order", action, hold_ms=3000)
            try:
                await v.create_market_order(PERP, Side.SELL, D("0.01"), f"s{action[:4]}")
            except VenueError as exc:
                texts += [str(exc), repr(exc), exc.exchange_message]
    finally:
        await v.close()
    texts += [r.getMessage() for r in caplog.records]
    assert texts and all(KEY not in t and SECRET not in t for t in texts)
