"""Exchange text on screen: one readable line; the raw text stays in the journal."""

from __future__ import annotations

from hedgetui.ui.alerts import readable
from hedgetui.ui.widgets.exec_log import TAG_W, LogLine, short_tag

RAW_503 = (
    "ExchangeNotAvailable None: POST http://127.0.0.1:39307/fapi/v1/order 503 Service Unavailable "
    "<html><body><h1>503 Service Unavailable</h1>\nNo server is available.</body></html>"
)


def test_an_html_error_page_becomes_one_line_with_code_and_meaning() -> None:
    line = readable(RAW_503)
    assert line == "ExchangeNotAvailable 503: exchange unavailable (HTTP 503)"
    assert "\n" not in line and "http" not in line and "<" not in line


def test_a_binance_json_error_names_its_code() -> None:
    line = readable('perp order failed: InsufficientFunds binance {"code":-2019,"msg":"Margin is insufficient."}')
    assert "-2019" in line and "margin is insufficient" in line


def test_plain_engine_text_is_only_flattened() -> None:
    assert readable("trading HALTED →\n ACTIVE:  reconciled") == "trading HALTED → ACTIVE: reconciled"
    assert readable("[/requested] stays") == "[/requested] stays"


def test_log_tags_fit_their_column() -> None:
    assert len(short_tag("TRADING_STATE")) <= TAG_W and short_tag("TRADING_STATE") == "STATE"
    line = LogLine(0, "info", "TRADING_STATE", "abcdef0123456789", "x").render()
    assert " STATE    abcdef01 x" in line
