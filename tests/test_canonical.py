"""Canonical bytes are RFC 8785: compared with the rfc8785 package on generated values."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import MAX_SAFE_INTEGER, canonical_bytes, es_number
from ledger.errors import RefusedInput

json_scalars = (
    st.none() | st.booleans() | st.text()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=400)
@given(json_values)
def test_canonical_bytes_equal_rfc8785(value: Any) -> None:
    assert canonical_bytes(value) == rfc8785.dumps(value)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_round_trip(value: float) -> None:
    assert float(es_number(value)) == value


@pytest.mark.parametrize(("value", "text"), [
    (0.0, "0"), (-0.0, "0"), (7.0, "7"), (9.33, "9.33"), (1e21, "1e+21"), (1e20, "100000000000000000000"),
    (1e-7, "1e-7"), (0.000001, "0.000001"), (-1.5e-10, "-1.5e-10"), (123.456, "123.456"),
])
def test_es_number_examples(value: float, text: str) -> None:
    assert es_number(value) == text


@pytest.mark.parametrize("value", [2**53, -(2**53), float("nan"), float("inf"), {1: 2}, {"a": {1, 2}}])
def test_values_without_a_canonical_form_are_refused(value: Any) -> None:
    with pytest.raises(RefusedInput):
        canonical_bytes(value)
