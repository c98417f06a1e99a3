"""Client ids: deterministic, injective, within Binance's alphabet and length, and parseable back."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hedgetui.domain.client_ids import (
    MAX_ATTEMPT,
    Leg,
    client_order_id,
    new_intent_id,
    parse_client_order_id,
)

BINANCE = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
intents = st.text(alphabet="0123456789abcdef", min_size=12, max_size=12)
attempts = st.integers(min_value=1, max_value=MAX_ATTEMPT)


@given(intents, st.sampled_from(list(Leg)), attempts)
def test_round_trip_and_binance_alphabet(intent: str, leg: Leg, attempt: int) -> None:
    cid = client_order_id(intent, leg, attempt)
    assert BINANCE.match(cid) and cid.isalnum()
    assert parse_client_order_id(cid) == (intent, leg, attempt)
    assert client_order_id(intent, leg, attempt) == cid  # deterministic


@given(intents, st.sampled_from(list(Leg)), attempts, intents, st.sampled_from(list(Leg)), attempts)
def test_injective(i1: str, l1: Leg, a1: int, i2: str, l2: Leg, a2: int) -> None:
    if (i1, l1, a1) != (i2, l2, a2):
        assert client_order_id(i1, l1, a1) != client_order_id(i2, l2, a2)


def test_every_leg_has_its_own_code() -> None:
    codes = [leg.code for leg in Leg]
    assert len(set(codes)) == len(codes)
    intent = new_intent_id()
    assert client_order_id(intent, Leg.PERP_OPEN, 1) != client_order_id(intent, Leg.PERP_UNWIND, 1)


@pytest.mark.parametrize(
    ("intent", "attempt"), [("ABCDEF123456", 1), ("abc", 1), ("abcdef123456", 0), ("abcdef123456", 10_000)]
)
def test_bad_input_is_refused(intent: str, attempt: int) -> None:
    with pytest.raises(ValueError):
        client_order_id(intent, Leg.SPOT_OPEN, attempt)


@pytest.mark.parametrize("cid", ["x-TKT5PX2Fabc", "hgabcdef123456XX1", "hgabcdef123456PO0", "hgabcdef12345PO1"])
def test_foreign_ids_do_not_parse(cid: str) -> None:
    assert parse_client_order_id(cid) is None
