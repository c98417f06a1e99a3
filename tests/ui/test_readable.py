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


def test_every_event_kind_the_product_journals_has_a_whole_tag() -> None:
    """No kind is cut mid-word in the log's tag column (``ACCOUNT_STALE`` once showed as ``ACCOUNT_``): each
    kind the product emits either fits the column or has a short form."""
    import re
    from pathlib import Path

    from hedgetui.ui.widgets.exec_log import SHORT_TAGS

    root = Path(__file__).resolve().parents[2] / "hedgetui"
    emit = re.compile(r'(?:\.event|note|on_change|record_event|_event)\(\s*"([A-Z][A-Z_]+)"|kind="([A-Z][A-Z_]+)"')
    kinds = {a or b for path in root.rglob("*.py") for a, b in emit.findall(path.read_text())}
    assert {"ACCOUNT_STALE", "TRADING_STATE", "BOOK_STALE"} <= kinds  # the scan finds what it should
    cut = sorted(k for k in kinds if len(k) > TAG_W and k not in SHORT_TAGS)
    assert not cut, cut


def test_the_funding_countdown_says_settling_once_its_time_has_come() -> None:
    from hedgetui.ui.formatting import funding_countdown

    assert funding_countdown(1_000_000 + 42_000, 1_000_000) == "in 00:00:42"
    assert funding_countdown(1_000_000 + 3_600_000 * 7 + 61_000, 1_000_000) == "in 07:01:01"
    assert funding_countdown(1_000_000, 1_000_000) == "settling"
    assert funding_countdown(1_000_000, 1_004_000) == "settling"
