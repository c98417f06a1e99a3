"""The models' own checks: URLs, the pair, the key map, numbers that are not numbers, cross-field rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from hedgetui.config.model import DEFAULT_KEYS, AppConfig, PairConfig, UIConfig, VenueConfig
from hedgetui.domain.venue import VenueMode


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("http://127.0.0.1:8765/", "http://127.0.0.1:8765"),
        (" https://sandbox.local:443 ", "https://sandbox.local:443"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_sandbox_url_is_kept_as_scheme_host_and_port(given: str, kept: str) -> None:
    assert VenueConfig(url=given).url == kept


@pytest.mark.parametrize(
    "bad",
    ["", "127.0.0.1:8765", "ws://h:1", "http://:80", "http://h", "http://h:x", "http://h:1/api/v3", "http://h:1?a=b",
     "http://u:p@h:1", "http://h:1#x"],
)  # fmt: skip
def test_bad_sandbox_urls_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="http"):
        VenueConfig(url=bad)


@pytest.mark.parametrize("mode", [VenueMode.DEMO, VenueMode.LIVE])
def test_verbose_and_url_are_sandbox_only(mode: VenueMode) -> None:
    with pytest.raises(ValidationError, match="verbose output prints signed requests"):
        VenueConfig(mode=mode, verbose=True)
    with pytest.raises(ValidationError, match="only allowed in sandbox mode"):
        VenueConfig(mode=mode, url="http://127.0.0.1:1")
    assert VenueConfig(mode=VenueMode.SANDBOX, verbose=True, url="http://127.0.0.1:1").verbose


def test_switching_to_live_on_a_verbose_config_is_refused_too() -> None:
    venue = VenueConfig(verbose=True)
    with pytest.raises(ValidationError, match="must be false in live mode"):
        venue.mode = VenueMode.LIVE  # validate_assignment: a config cannot be edited into an unsafe state


@pytest.mark.parametrize(
    ("spot", "perp", "ok"),
    [
        ("BTC/USDT", "BTC/USDT:USDT", True),
        ("ETH/USDT", "ETH/USDT:USDT", True),
        ("1000PEPE/USDT", "1000PEPE/USDT:USDT", True),
        ("ETH/USDT", "BTC/USDT:USDT", False),  # not the same base
        ("BTC/USDC", "BTC/USDC:USDC", False),  # not USDT-margined
        ("BTC/USDT", "BTC/USD:BTC", False),  # inverse
        ("BTC/USDT", "BTC/USDT", False),  # a spot symbol as the perp
        ("BTC/USDT:USDT", "BTC/USDT:USDT", False),  # a perp symbol as the spot
        ("btc/usdt", "btc/usdt:usdt", False),
        ("BTCUSDT", "BTCUSDT", False),  # exchange ids, not ccxt symbols
    ],
)
def test_pair_must_be_spot_and_its_usdt_margined_perpetual(spot: str, perp: str, ok: bool) -> None:
    if ok:
        assert PairConfig(spot=spot, perp=perp).perp == perp
    else:
        with pytest.raises(ValidationError):
            PairConfig(spot=spot, perp=perp)


def test_key_map_is_the_full_effective_map_and_allows_swaps() -> None:
    ui = UIConfig(keys={"enter": "x", "exit": "e"})
    assert ui.keys == {**DEFAULT_KEYS, "enter": "x", "exit": "e"}
    assert UIConfig(keys={"trading_state": "T", "theme": "t"}).keys["theme"] == "t"  # case matters in Textual
    assert UIConfig(keys={"enter": "ctrl+e", "help": "f1"}).keys["enter"] == "ctrl+e"


@pytest.mark.parametrize(
    ("keys", "fragment"),
    [
        ({"enter": "q"}, "enter and quit both use the key 'q'"),
        ({"launch": "l"}, "unknown action"),
        ({"enter": ""}, "must be one Textual key name"),
        ({"enter": "e,x"}, "must be one Textual key name"),
        ({"enter": "ctrl+"}, "must be one Textual key name"),
        ({"enter": "?"}, "must be one Textual key name"),  # Textual calls it question_mark
    ],
)
def test_bad_key_maps_are_refused(keys: dict[str, str], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment.replace("?", r"\?")):
        UIConfig(keys=keys)


@pytest.mark.parametrize(
    ("section", "values"),
    [
        ("breaker", {"fail_max": True}),
        ("breaker", {"reset_timeout_s": float("inf")}),
        ("timeouts", {"fill_s": "NaN"}),
        ("timeouts", {"fill_s": "-infinity"}),
        ("timeouts", {"order_ack_s": 0}),
        ("timeouts", {"partial_fill_retries": -1}),
        ("market_data", {"book_depth": 2}),
        ("risk", {"max_leverage": 126}),
        ("risk", {"min_liquidation_distance_pct": 101}),
        ("slippage", {"liquidity_multiple": "0.5"}),
        ("hedge", {"size_usd": "1e400000000"}),
    ],
)
def test_numbers_that_are_not_usable_are_refused(section: str, values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        AppConfig.model_validate({section: values})


def test_money_is_decimal_exactly_as_written() -> None:
    c = AppConfig.model_validate({"hedge": {"size_usd": 0.1}, "slippage": {"max_bps": "12.345"}})
    assert c.hedge.size_usd == Decimal("0.1") and c.slippage.max_bps == Decimal("12.345")


def test_hedge_size_may_not_exceed_the_position_limit() -> None:
    with pytest.raises(ValidationError, match=r"above risk\.max_position_usd 100"):
        AppConfig.model_validate({"risk": {"max_position_usd": 100}})
    assert AppConfig.model_validate({"hedge": {"size_usd": 100}, "risk": {"max_position_usd": 100}})
