"""POST /sapi/v1/asset/transfer through ccxt's real binance class: spot ⇄ USDⓈ-M both ways, the TRANSFER
income record, the user stream events, and Binance's -5013 when the source cannot cover the amount."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal as D

import aiohttp
import ccxt
import pytest

from hedgetui.sandbox.server import SandboxServer
from tests.sandbox.conftest import Factory, control, signed
from tests.sandbox.test_user_stream import key_call


async def balances(sandbox: SandboxServer) -> tuple[D, D]:
    st = await control(sandbox, "GET", "/sandbox/state")
    return D(st["spot_balances"]["USDT"]["free"]), D(st["futures"]["wallet_balance"])


async def test_transfer_both_ways_books_a_transfer_record(client: Factory, sandbox: SandboxServer) -> None:
    ex = await client()
    key = (await key_call(sandbox, "POST", "/fapi/v1/listenKey"))[1]["listenKey"]
    async with (
        aiohttp.ClientSession() as s,
        s.ws_connect(f"{sandbox.ws_url}/fstream/private/ws?listenKey={key}") as ws,
    ):
        # ccxt 4.5.90 maps "swap" (and "linear" as the destination) to UMFUTURE; "future" is not in its map.
        into = await ex.transfer("USDT", 1234.5, "spot", "swap")
        update = json.loads((await asyncio.wait_for(ws.receive(), 5)).data)
    assert update["e"] == "ACCOUNT_UPDATE" and update["a"]["m"] == "DEPOSIT"
    assert update["a"]["B"][0]["wb"] == "101234.50000000"
    assert await balances(sandbox) == (D("98765.5"), D("101234.5"))
    back = await ex.transfer("USDT", 0.5, "swap", "spot")
    assert int(back["id"]) > int(into["id"])
    assert await balances(sandbox) == (D("98766"), D("101234"))
    ledger = await ex.fetch_ledger("USDT", None, None, {"type": "future"})
    assert [(e["id"], e["type"], e["direction"], e["amount"]) for e in ledger] == [
        (into["id"], "transfer", "in", 1234.5),
        (back["id"], "transfer", "out", 0.5),
    ]
    assert all(e["info"]["symbol"] == "" and e["info"]["info"] == "TRANSFER" for e in ledger)
    spot = await ex.fetch_balance()
    assert spot["USDT"]["free"] == 98766


async def test_a_transfer_the_source_cannot_cover_is_refused_and_changes_nothing(
    client: Factory, sandbox: SandboxServer
) -> None:
    ex = await client()
    before = await balances(sandbox)
    with pytest.raises(ccxt.InsufficientFunds, match="-5013"):
        await ex.transfer("USDT", 100_001, "spot", "swap")
    await ex.create_order("BTC/USDT:USDT", "market", "sell", 0.1)  # margin in use
    status, bal = await signed(sandbox, "GET", "/fapi/v2/balance")
    available = D(bal[0]["maxWithdrawAmount"])
    with pytest.raises(ccxt.InsufficientFunds, match="-5013"):
        await ex.transfer("USDT", float(available + 1), "swap", "spot")
    st = await control(sandbox, "GET", "/sandbox/state")
    assert [r for r in st["income"] if r["incomeType"] == "TRANSFER"] == []
    assert D(st["spot_balances"]["USDT"]["free"]) == before[0]
    for params, code in (
        ({"type": "MAIN_MARGIN", "asset": "USDT", "amount": "1"}, -1100),
        ({"type": "MAIN_UMFUTURE", "asset": "USDT", "amount": "-1"}, -1100),
        ({"type": "MAIN_UMFUTURE", "asset": "USDT"}, -1102),
        ({"asset": "USDT", "amount": "1"}, -1102),
    ):
        status, err = await signed(sandbox, "POST", "/sapi/v1/asset/transfer", params)
        assert status == 400 and err["code"] == code, (params, err)
