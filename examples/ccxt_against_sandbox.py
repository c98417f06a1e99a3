"""A plain ccxt script against a running ``hedgetui sandbox`` (it imports nothing of hedgetui).

    hedgetui sandbox --port 8765 &
    python examples/ccxt_against_sandbox.py http://127.0.0.1:8765

Loads markets, reads both books, buys spot, sells the perp, fetches both orders by client id, reads
balances and positions, and streams both books. Exits 0 when everything worked.
"""

from __future__ import annotations

import asyncio
import sys
import time

import ccxt.pro as ccxtpro

KEY, SECRET = "hedgetui-sandbox-key", "hedgetui-sandbox-secret"
SPOT, PERP = "BTC/USDT", "BTC/USDT:USDT"


async def main(base: str) -> int:
    ws = base.replace("http://", "ws://", 1)
    ex = ccxtpro.binance(
        {
            "apiKey": KEY,
            "secret": SECRET,
            "options": {"fetchMarkets": {"types": ["spot", "linear"]}, "fetchCurrencies": False, "fetchMargins": False},
        }
    )
    ex.urls["api"] = {
        "public": base + "/api/v3",
        "private": base + "/api/v3",
        "v1": base + "/api/v1",
        "fapiPublic": base + "/fapi/v1",
        "fapiPublicV2": base + "/fapi/v2",
        "fapiPublicV3": base + "/fapi/v3",
        "fapiPrivate": base + "/fapi/v1",
        "fapiPrivateV2": base + "/fapi/v2",
        "fapiPrivateV3": base + "/fapi/v3",
        "fapiData": base + "/futures/data",
        "ws": {"spot": ws + "/stream/ws", "margin": ws + "/stream/ws", "linear": ws + "/fstream/ws"},
    }
    try:
        await ex.load_markets()
        print("markets", SPOT, ex.markets[SPOT]["precision"], PERP, ex.markets[PERP]["precision"])
        spot_book = await ex.fetch_order_book(SPOT, 5)
        perp_book = await ex.fetch_order_book(PERP, 5)
        print("books", spot_book["bids"][0], spot_book["asks"][0], perp_book["bids"][0], perp_book["asks"][0])
        tag = str(int(time.time() * 1000))[-9:]
        spot = await ex.create_order(SPOT, "market", "buy", 0.01, None, {"clientOrderId": f"ex{tag}S"})
        perp = await ex.create_order(PERP, "market", "sell", 0.01, None, {"clientOrderId": f"ex{tag}P"})
        print("orders", spot["status"], spot["average"], perp["status"], perp["average"])
        s = await ex.fetch_order(None, SPOT, {"clientOrderId": f"ex{tag}S"})
        p = await ex.fetch_order(None, PERP, {"clientOrderId": f"ex{tag}P"})
        assert s["id"] == spot["id"] and p["id"] == perp["id"]
        balance = await ex.fetch_balance()
        swap = await ex.fetch_balance({"type": "swap"})
        positions = await ex.fetch_positions([PERP])
        print("balances BTC", balance["BTC"]["total"], "swap USDT", swap["USDT"]["total"])
        print("position", positions[0]["side"], positions[0]["contracts"])
        for _ in range(5):
            sb = await ex.watch_order_book(SPOT)
            pb = await ex.watch_order_book(PERP)
        print("streamed", sb["nonce"], pb["nonce"])
        return 0
    finally:
        await ex.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8765")))
