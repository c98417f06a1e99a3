"""Every error class from the sandbox over loopback: real refusals, injected faults, credentials and the
clock. Where an answer is ambiguous, the test also looks the order up: "ambiguous" must mean it may exist."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal as D
from typing import Any

import pytest
from pydantic import SecretStr

from hedgetui.domain.orders import OrderStatus, Side
from hedgetui.domain.venue import MarketKind
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
from hedgetui.exchange.venue import BinanceVenue
from hedgetui.sandbox.server import SandboxServer
from tests.exchange.conftest import KEY, SECRET, add_fault, settings_for

SPOT, PERP = MarketKind.SPOT, MarketKind.PERP
Call = Callable[[BinanceVenue], Awaitable[Any]]


@pytest.fixture
async def quick(sandbox: SandboxServer) -> AsyncIterator[BinanceVenue]:
    """A venue that gives up after 400 ms, so that held answers become timeouts quickly."""
    v = await BinanceVenue.connect(settings_for(sandbox, timeout_ms=400))
    yield v
    await v.close()


Fault = tuple[str, str, dict[str, Any]]


def perp_sell(qty: str = "0.01") -> Call:
    return lambda v: v.create_market_order(PERP, Side.SELL, D(qty), "ve1")


def spot_order(side: Side, qty: str) -> Call:
    return lambda v: v.create_market_order(SPOT, side, D(qty), "ve1")


def reject(match: str, code: int, msg: str, status: int = 400) -> Fault:
    return (match, "reject", {"code": code, "msg": msg, "status": status})


PERP_POST, SPOT_POST = "POST /fapi/v1/order", "POST /api/v3/order"
NEW = "Something new."
cancel_spot: Call = lambda v: v.cancel_order(SPOT, order_id="1")  # noqa: E731
balances: Call = lambda v: v.fetch_spot_balances()  # noqa: E731
reduce_only_buy: Call = lambda v: v.create_market_order(PERP, Side.BUY, D("0.01"), "ve1", reduce_only=True)  # noqa: E731

# (fault rule or None, call, expected class, code)
# fmt: off
REAL_AND_INJECTED: list[tuple[Fault | None, Call, type[VenueError], int | None]] = [
    # what the exchange itself refuses
    (None, spot_order(Side.SELL, "1"), Rejected, -2010),
    (None, perp_sell("50"), Rejected, -2019),
    (None, reduce_only_buy, Rejected, -2022),
    (None, perp_sell("0.001"), Rejected, -4164),
    (None, spot_order(Side.BUY, "0.00005"), Rejected, -1013),
    (None, lambda v: v.fetch_order(PERP, client_order_id="nope"), NotFound, -2013),
    (None, lambda v: v.fetch_order(SPOT, order_id="123456"), NotFound, -2013),
    (None, lambda v: v.cancel_order(SPOT, client_order_id="nope"), NotFound, -2011),
    (None, lambda v: v.cancel_order(PERP, order_id="123456"), NotFound, -2011),
    # injected answers
    (reject(PERP_POST, -1021, "Timestamp outside of the recvWindow."), perp_sell(), ClockSkew, -1021),
    ((PERP_POST, "http_429", {}), perp_sell(), RateLimited, -1003),
    (reject(SPOT_POST, -1015, "Too many new orders."), spot_order(Side.BUY, "0.01"), RateLimited, -1015),
    ((PERP_POST, "http_500", {}), perp_sell(), Ambiguous, None),
    ((PERP_POST, "http_503", {}), perp_sell(), Ambiguous, None),
    (reject(PERP_POST, -1001, "Internal error.", 500), perp_sell(), Ambiguous, -1001),
    (reject(PERP_POST, -1008, "Server is currently overloaded.", 503), perp_sell(), Ambiguous, -1008),
    (reject(PERP_POST, -9999, NEW), perp_sell(), Ambiguous, -9999),
    (reject("DELETE /api/v3/order", -9999, NEW), cancel_spot, Ambiguous, -9999),
    (reject("GET /fapi/v1/depth", -9999, NEW), lambda v: v.fetch_order_book(PERP), VenueError, -9999),
    (reject("GET /api/v3/account", -1022, "Signature is not valid."), balances, AuthFailed, -1022),
]
# fmt: on


@pytest.mark.parametrize(("fault", "call", "expected", "code"), REAL_AND_INJECTED)
async def test_error_classes_from_the_sandbox(
    venue: BinanceVenue,
    sandbox: SandboxServer,
    fault: Fault | None,
    call: Call,
    expected: type[VenueError],
    code: int | None,
) -> None:
    if fault is not None:
        await add_fault(sandbox, fault[0], fault[1], **fault[2])
    with pytest.raises(VenueError) as info:
        await call(venue)
    assert type(info.value) is expected
    assert info.value.code == code
    assert info.value.exchange_message
    assert KEY not in str(info.value) and SECRET not in str(info.value)


async def test_real_duplicate_client_ids_on_both_markets(venue: BinanceVenue) -> None:
    for kind, code in ((SPOT, -2010), (PERP, -4116)):
        book = await venue.fetch_order_book(kind, 5)
        price = (book.bids[-1][0] * D("0.9")).quantize(venue.rules(kind).tick)
        first = await venue.create_limit_order(kind, Side.BUY, D("0.002"), price, "veDUP")
        with pytest.raises(DuplicateOrder) as info:
            await venue.create_limit_order(kind, Side.BUY, D("0.002"), price, "veDUP")
        assert info.value.code == code and isinstance(info.value, Rejected)
        # "Duplicate" means the order exists: the look-up finds the first one.
        assert (await venue.fetch_order(kind, client_order_id="veDUP")).order_id == first.order_id
        await venue.cancel_order(kind, client_order_id="veDUP")


async def test_cancelling_a_filled_order_is_not_found(venue: BinanceVenue) -> None:
    filled = await venue.create_market_order(PERP, Side.SELL, D("0.01"), "veF1")
    with pytest.raises(NotFound) as info:
        await venue.cancel_order(PERP, client_order_id="veF1")
    assert info.value.code == -2011
    assert (await venue.fetch_order(PERP, order_id=filled.order_id)).status is OrderStatus.FILLED


@pytest.mark.parametrize(
    ("action", "params", "placed", "code"),
    [
        ("timeout_after_accept", {"hold_ms": 1500}, True, None),
        ("timeout_before_accept", {"hold_ms": 1500}, False, None),
        ("accept_then", {"status": 503}, True, -1007),  # the sandbox's default body is Binance's -1007
        ("accept_then", {"status": 502, "body": "<html>Bad Gateway</html>"}, True, None),
        ("drop_after_accept", {}, True, None),
        ("http_503", {}, False, None),
    ],
)
@pytest.mark.parametrize("kind", [SPOT, PERP])
async def test_ambiguous_order_posts_may_or_may_not_have_placed_the_order(
    quick: BinanceVenue,
    sandbox: SandboxServer,
    kind: MarketKind,
    action: str,
    params: dict[str, Any],
    placed: bool,
    code: int | None,
) -> None:
    path = "/api/v3/order" if kind is SPOT else "/fapi/v1/order"
    await add_fault(sandbox, "POST " + path, action, **params)
    with pytest.raises(Ambiguous) as info:
        await quick.create_market_order(kind, Side.BUY, D("0.01"), "veAMB")
    assert type(info.value) is Ambiguous and info.value.code == code and info.value.operation == "create"
    # Never resent behind our back (ccxt's retries are off; aiohttp never resends a POST).
    assert len([o for o in sandbox.core.orders() if o.client_order_id == "veAMB"]) == int(placed)
    if placed:
        found = await quick.fetch_order(kind, client_order_id="veAMB")
        assert found.status is OrderStatus.FILLED and found.filled == D("0.01")
    else:
        with pytest.raises(NotFound):
            await quick.fetch_order(kind, client_order_id="veAMB")


@pytest.mark.parametrize("action", ["timeout_after_accept", "drop_after_accept"])
async def test_a_cancel_whose_answer_is_lost_may_have_happened(
    quick: BinanceVenue, sandbox: SandboxServer, action: str
) -> None:
    book = await quick.fetch_order_book(PERP, 5)
    await quick.create_limit_order(PERP, Side.BUY, D("0.01"), book.bids[-1][0] - D(100), "veC1")
    hold = {"hold_ms": 1500} if action == "timeout_after_accept" else {}
    await add_fault(sandbox, "DELETE /fapi/v1/order", action, **hold)
    with pytest.raises(VenueError) as info:
        await quick.cancel_order(PERP, client_order_id="veC1")
    if action == "timeout_after_accept":
        assert type(info.value) is Ambiguous and info.value.operation == "cancel"
    else:
        # aiohttp resends an idempotent DELETE once when a pooled connection drops: the resend then finds
        # the order already canceled (-2011). Either answer sends the caller to look the order up.
        assert type(info.value) in (Ambiguous, NotFound)
    assert (await quick.fetch_order(PERP, client_order_id="veC1")).status is OrderStatus.CANCELED


async def test_an_unreadable_order_answer_is_ambiguous_and_an_unreadable_read_is_not(
    venue: BinanceVenue, sandbox: SandboxServer
) -> None:
    body = {"symbol": "BTCUSDT", "orderId": 77}  # HTTP 200, but no side, quantity or status
    await add_fault(sandbox, "POST /fapi/v1/order", "reject", status=200, body=body)
    with pytest.raises(Ambiguous) as info:
        await venue.create_market_order(PERP, Side.SELL, D("0.01"), "veU1")
    assert info.value.source == "BadResponse"
    await add_fault(sandbox, "GET /fapi/v1/order", "reject", status=200, body=body)
    with pytest.raises(VenueError) as read:
        await venue.fetch_order(PERP, client_order_id="veU1")
    assert type(read.value) is VenueError and read.value.source == "BadResponse"


async def test_a_hedge_mode_account_is_refused(venue: BinanceVenue, sandbox: SandboxServer) -> None:
    leg = {
        "symbol": "BTCUSDT",
        "positionAmt": "0.010",
        "entryPrice": "60000",
        "breakEvenPrice": "60000",
        "markPrice": "60000",
        "unRealizedProfit": "0",
        "liquidationPrice": "0",
        "isolatedMargin": "0",
        "notional": "600",
        "marginAsset": "USDT",
        "isolatedWallet": "0",
        "initialMargin": "6",
        "maintMargin": "2.4",
        "positionInitialMargin": "6",
        "openOrderInitialMargin": "0",
        "adl": 0,
        "bidNotional": "0",
        "askNotional": "0",
        "updateTime": 1700000000000,
    }
    body = [{**leg, "positionSide": "LONG"}, {**leg, "positionSide": "SHORT", "positionAmt": "-0.010"}]
    await add_fault(sandbox, "GET /fapi/v3/positionRisk", "reject", status=200, body=body)
    with pytest.raises(VenueError, match="hedge") as info:
        await venue.fetch_perp_position()
    assert type(info.value) is VenueError and info.value.source == "HedgeMode"


async def test_ip_ban_is_rate_limited_and_banned(venue: BinanceVenue, sandbox: SandboxServer) -> None:
    await add_fault(sandbox, "POST /fapi/v1/order", "http_418")
    with pytest.raises(RateLimited) as info:
        await venue.create_market_order(PERP, Side.SELL, D("0.01"), "veBAN")
    assert info.value.banned and info.value.http_status == 418 and info.value.code == -1003
    await add_fault(sandbox, "POST /fapi/v1/order", "http_429")
    with pytest.raises(RateLimited) as limited:
        await venue.create_market_order(PERP, Side.SELL, D("0.01"), "veLIM")
    assert not limited.value.banned and limited.value.http_status == 429


async def test_bad_keys_are_auth_failed_before_and_after_a_success(sandbox: SandboxServer) -> None:
    wrong_key, wrong_secret = SecretStr("wrong-key-1234567890"), SecretStr("wrong-secret-123456")
    for wrong in ({"api_key": wrong_key}, {"api_secret": wrong_secret}):
        fresh = await BinanceVenue.connect(settings_for(sandbox, **wrong))  # markets are public: this works
        try:
            with pytest.raises(AuthFailed) as info:
                await fresh.fetch_spot_balances()
            assert info.value.code in (-2015, -1022)
            with pytest.raises(AuthFailed):
                await fresh.create_market_order(PERP, Side.SELL, D("0.01"), "veAUTH")
        finally:
            await fresh.close()
    assert sandbox.core.orders() == []
    ok = await BinanceVenue.connect(settings_for(sandbox))
    try:
        await ok.fetch_spot_balances()
        body = {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}
        await add_fault(sandbox, "GET /api/v3/account", "reject", status=401, body=body)
        with pytest.raises(AuthFailed) as info:  # ccxt says DDoSProtection here; the code says auth
            await ok.fetch_spot_balances()
        assert info.value.source == "DDoSProtection" and info.value.code == -2015
    finally:
        await ok.close()


async def test_clock_skew_then_resync(venue: BinanceVenue, sandbox: SandboxServer) -> None:
    assert abs(await venue.resync_clock()) < 1000
    # The exchange's clock runs 30 s ahead for the next three GETs: more than the 10 s recvWindow.
    await add_fault(sandbox, "GET *", "clock_skew_ms", ms=30_000, times=3)
    with pytest.raises(ClockSkew) as info:
        await venue.fetch_spot_balances()
    assert info.value.code == -1021
    offset = await venue.resync_clock()
    assert -31_000 < offset < -29_000 and venue.exchange.options["timeDifference"] == offset
    assert "USDT" in await venue.fetch_spot_balances()  # signed with the corrected clock
