"""Follow fills through the user data stream of a running ``hedgetui sandbox`` (imports nothing of hedgetui).

    hedgetui sandbox --port 8765 &
    python examples/follow_fills.py http://127.0.0.1:8765

Opens the user data streams with ccxt.pro (spot over the websocket API, the perp over a listen key),
buys spot and sells the perp at market, and prints each fill as the stream reports it, with its fee. The
fills are then checked against the REST trade lists. Exits 0 when stream and REST agree.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import ccxt.pro as ccxtpro

KEY, SECRET = "hedgetui-sandbox-key", "hedgetui-sandbox-secret"
SPOT, PERP = "BTC/USDT", "BTC/USDT:USDT"


def exchange(base: str) -> Any:
    """ccxt.pro's binance with every URL (REST, streams, websocket API) replaced by the sandbox's."""
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
        "ws": {
            "spot": ws + "/stream/ws",
            "margin": ws + "/stream/ws",
            "linear": ws + "/fstream/ws",
            # ccxt.pro subscribes the spot user data stream over Binance's websocket API
            "ws-api": {"spot": ws + "/ws-api/v3"},
        },
    }
    return ex


async def follow(ex: Any, symbol: str, side: str, amount: float, tag: str) -> None:
    """Place one market order and collect its fills from the stream until they add up to ``amount``."""
    # Subscribe first: the stream does not replay events of an order placed before the subscription.
    subscribed = asyncio.ensure_future(ex.watch_my_trades(symbol))
    await asyncio.sleep(0.5)
    order = await ex.create_order(symbol, "market", side, amount, None, {"clientOrderId": tag})
    await asyncio.wait_for(subscribed, 10)
    # The stream's trades accumulate in ccxt's cache (ex.myTrades). Look there before waiting again: the
    # order's fills may all have arrived in one burst, and a watch only resolves on the next message.
    while True:
        seen = {t["id"]: t for t in ex.myTrades or [] if t["order"] == order["id"]}
        if sum(t["amount"] for t in seen.values()) >= amount - 1e-12:
            break
        await asyncio.wait_for(ex.watch_my_trades(symbol), 10)
    trades = sorted(seen.values(), key=lambda t: int(t["id"]))
    for t in trades:
        fee = t["fee"]
        print(f"{symbol} fill {t['id']} {t['side']} {t['amount']} @ {t['price']} fee {fee['cost']} {fee['currency']}")
    rest = await ex.fetch_my_trades(symbol, params={"orderId": order["id"]})
    assert [t["id"] for t in trades] == [t["id"] for t in rest], "stream and REST disagree on the fills"
    assert [t["fee"]["cost"] for t in trades] == [t["fee"]["cost"] for t in rest], "stream and REST disagree on fees"
    print(f"{symbol} order {order['id']}: {len(trades)} fills, stream == REST")


async def main(base: str) -> int:
    ex = exchange(base)
    try:
        await ex.load_markets()
        tag = str(int(time.time() * 1000))[-9:]
        await follow(ex, SPOT, "buy", 0.01, f"ff{tag}S")
        await follow(ex, PERP, "sell", 0.01, f"ff{tag}P")
        return 0
    finally:
        await ex.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8765")))
