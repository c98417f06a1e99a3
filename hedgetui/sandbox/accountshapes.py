"""The accounts in Binance's shapes: the spot account, USDⓈ-M ``positionRisk`` and account, leverage brackets.

Separate from :mod:`hedgetui.sandbox.shapes` (books, tickers, orders, trades) because these answers are
views of the wallets and positions (``accounts.py``), read at the current marks.
"""

from __future__ import annotations

from typing import Any

from hedgetui.sandbox.accounts import FuturesAccount, PositionView
from hedgetui.sandbox.core import ExchangeCore
from hedgetui.sandbox.model import SymbolSpec
from hedgetui.sandbox.shapes import decimal_places, fmt


def spot_account(core: ExchangeCore) -> dict[str, Any]:
    """``GET /api/v3/account``: every known asset with free and locked."""
    return {
        "makerCommission": 10,
        "takerCommission": 10,
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": fmt(core.config.spot_maker_fee),
            "taker": fmt(core.config.spot_taker_fee),
            "buyer": "0",
            "seller": "0",
        },
        "canTrade": True,
        "canWithdraw": True,
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": core.now(),
        "accountType": "SPOT",
        "balances": [
            {"asset": a, "free": fmt(f, 8), "locked": fmt(lk, 8)} for a, (f, lk) in core.spot_balances().items()
        ],
        "permissions": ["SPOT"],
        "uid": 1,
    }


def _position(v: PositionView, spec: SymbolSpec, v2: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "symbol": v.symbol,
        "positionSide": "BOTH",
        "positionAmt": fmt(v.amount, decimal_places(spec.perp_step)),
        "entryPrice": fmt(v.entry_price, 8),
        "breakEvenPrice": fmt(v.entry_price, 8),
        "markPrice": fmt(v.mark_price, 8),
        "unRealizedProfit": fmt(v.unrealized_pnl, 8),
        "liquidationPrice": fmt(v.liquidation_price, 8) if v.liquidation_price else "0",
        "isolatedMargin": "0",
        "notional": fmt(v.notional, 8),
        "marginAsset": "USDT",
        "isolatedWallet": "0",
        "initialMargin": fmt(v.initial_margin, 8),
        "maintMargin": fmt(v.maint_margin, 8),
        "positionInitialMargin": fmt(v.initial_margin, 8),
        "openOrderInitialMargin": "0",
        "adl": 1 if v.amount else 0,
        "bidNotional": "0",
        "askNotional": "0",
        "updateTime": v.update_time,
    }
    if v2:
        body.update(
            {
                "leverage": str(v.leverage),
                "marginType": "cross",
                "isAutoAddMargin": "false",
                "maxNotionalValue": "300000",
            }
        )
    return body


def position_risk(core: ExchangeCore, v2: bool) -> list[dict[str, Any]]:
    """``positionRisk`` rows for every configured symbol (v2 adds leverage and margin type)."""
    return [_position(v, core.specs[v.symbol], v2) for v in core.positions()]


def futures_account(core: ExchangeCore, v2: bool) -> dict[str, Any]:
    """``GET /fapi/v2|v3/account``: the USDT wallet, margins and positions (``updateTime`` never 0)."""
    acc: FuturesAccount = core.futures_account()
    now = core.now()
    asset = {
        "asset": "USDT",
        "walletBalance": fmt(acc.wallet_balance, 8),
        "unrealizedProfit": fmt(acc.unrealized_pnl, 8),
        "marginBalance": fmt(acc.margin_balance, 8),
        "maintMargin": fmt(acc.maint_margin, 8),
        "initialMargin": fmt(acc.initial_margin, 8),
        "positionInitialMargin": fmt(acc.position_initial_margin, 8),
        "openOrderInitialMargin": fmt(acc.open_order_initial_margin, 8),
        "crossWalletBalance": fmt(acc.wallet_balance, 8),
        "crossUnPnl": fmt(acc.unrealized_pnl, 8),
        "availableBalance": fmt(acc.available_balance, 8),
        "maxWithdrawAmount": fmt(acc.available_balance, 8),
        # ccxt drops assets whose updateTime is 0.
        "updateTime": now,
    }
    if v2:
        asset["marginAvailable"] = True
    return {
        "totalInitialMargin": asset["initialMargin"],
        "totalMaintMargin": asset["maintMargin"],
        "totalWalletBalance": asset["walletBalance"],
        "totalUnrealizedProfit": asset["unrealizedProfit"],
        "totalMarginBalance": asset["marginBalance"],
        "totalPositionInitialMargin": asset["positionInitialMargin"],
        "totalOpenOrderInitialMargin": asset["openOrderInitialMargin"],
        "totalCrossWalletBalance": asset["crossWalletBalance"],
        "totalCrossUnPnl": asset["crossUnPnl"],
        "availableBalance": asset["availableBalance"],
        "maxWithdrawAmount": asset["maxWithdrawAmount"],
        "assets": [asset],
        "positions": [
            {
                "symbol": p["symbol"],
                "positionSide": "BOTH",
                "positionAmt": p["positionAmt"],
                "unrealizedProfit": p["unRealizedProfit"],
                "isolatedMargin": "0",
                "notional": p["notional"],
                "isolatedWallet": "0",
                "initialMargin": p["initialMargin"],
                "maintMargin": p["maintMargin"],
                "updateTime": p["updateTime"],
            }
            for p in position_risk(core, v2=False)
        ],
    }


def leverage_brackets(core: ExchangeCore) -> list[dict[str, Any]]:
    """``GET /fapi/v1/leverageBracket``: one bracket per symbol with its maintenance margin ratio."""
    return [
        {
            "symbol": s.symbol,
            "notionalCoef": 1.0,
            "brackets": [
                {
                    "bracket": 1,
                    "initialLeverage": s.max_leverage,
                    "notionalCap": 300000,
                    "notionalFloor": 0,
                    "maintMarginRatio": float(s.maint_margin_ratio),
                    "cum": 0.0,
                }
            ],
        }
        for s in core.specs.values()
    ]
