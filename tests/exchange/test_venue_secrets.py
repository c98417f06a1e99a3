"""Credentials never leave the adapter: not in exceptions (text, repr, traceback), reprs, or log records,
while ccxt is made to log every request it signs."""

from __future__ import annotations

import logging
import traceback
from decimal import Decimal as D

import pytest
from pydantic import SecretStr

from hedgetui.domain.orders import Side
from hedgetui.domain.venue import MarketKind
from hedgetui.exchange.errors import AuthFailed, VenueError
from hedgetui.exchange.venue import BinanceVenue
from hedgetui.sandbox.server import SandboxServer
from tests.exchange.conftest import KEY, SECRET, add_fault, settings_for

PERP = MarketKind.PERP


def texts_of(exc: BaseException) -> list[str]:
    return [str(exc), repr(exc), "".join(traceback.format_exception(exc)), repr(exc.args)]


async def test_secrets_never_in_logs_exceptions_or_reprs(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[VenueError] = []
    venue = await BinanceVenue.connect(settings_for(sandbox, timeout_ms=400))
    try:
        texts = [repr(venue.settings), str(venue.settings), repr(venue), str(venue)]
        await venue.fetch_spot_balances()
        await venue.create_market_order(PERP, Side.SELL, D("0.01"), "vsOK")
        faults: list[tuple[str, dict[str, int]]] = [
            ("http_503", {}),
            ("timeout_after_accept", {"hold_ms": 1500}),
            ("drop_after_accept", {}),
        ]
        for action, extra in faults:
            await add_fault(sandbox, "POST /fapi/v1/order", action, **extra)
            with pytest.raises(VenueError) as info:
                await venue.create_market_order(PERP, Side.SELL, D("0.01"), f"vs{action[:4]}")
            errors.append(info.value)
        body = {"code": -2015, "msg": f"Invalid API-key {KEY}"}  # an exchange echoing the key back
        await add_fault(sandbox, "GET /api/v3/account", "reject", status=401, body=body)
        with pytest.raises(AuthFailed) as auth:
            await venue.fetch_spot_balances()
        errors.append(auth.value)
        assert auth.value.exchange_message == "Invalid API-key ****"
    finally:
        await venue.close()
    for error in errors:
        # No ccxt exception rides along: its text holds the signed URL.
        assert error.__cause__ is None and error.__context__ is None
        texts += [*texts_of(error), error.exchange_message, venue.describe_error(error)]
    records = caplog.records
    texts += [r.getMessage() for r in records] + [logging.Formatter().format(r) for r in records]
    # Not vacuous: ccxt logged the signed requests, headers included.
    signed = [r.getMessage() for r in records if "X-MBX-APIKEY" in r.getMessage()]
    assert signed and all("****" in m for m in signed)
    leaks = [t for t in texts if KEY in t or SECRET in t]
    assert leaks == []


async def test_wrong_keys_are_not_echoed_either(sandbox: SandboxServer) -> None:
    wrong_key, wrong_secret = "wrong-but-secret-key-123456", "wrong-but-secret-secret-654321"
    venue = await BinanceVenue.connect(
        settings_for(sandbox, api_key=SecretStr(wrong_key), api_secret=SecretStr(wrong_secret))
    )
    try:
        with pytest.raises(AuthFailed) as info:
            await venue.create_market_order(PERP, Side.SELL, D("0.01"), "vsW1")
    finally:
        await venue.close()
    assert all(wrong_key not in t and wrong_secret not in t for t in texts_of(info.value))
