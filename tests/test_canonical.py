"""Canonical bytes are RFC 8785: compared with the rfc8785 package on generated values."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core.canonical import MAX_SAFE_INTEGER, canonical_bytes, es_number
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


def _object_text(pairs: list[tuple[str, object]], spaced: bool) -> str:
    """A JSON object written from (key, value) pairs as given (duplicates kept), optionally with
    white space around the colons."""
    import json

    colon = " \n: " if spaced else ":"
    return "{" + ",".join(json.dumps(k) + colon + json.dumps(v) for k, v in pairs) + "}"


@given(pairs=st.lists(st.tuples(st.sampled_from(["a", "b", 'q":', "é", "a\\"]),
                                st.one_of(st.integers(-5, 5), st.text(alphabet='ab":{} ', max_size=6),
                                          st.lists(st.dictionaries(st.sampled_from(["x", "y"]),
                                                                   st.integers(0, 2)), max_size=2))),
                      max_size=6),
       spaced=st.booleans(), nest=st.booleans())
def test_duplicate_keys_are_refused_exactly_when_present(pairs: list[tuple[str, object]], spaced: bool,
                                                        nest: bool) -> None:
    from ledger.core.canonical import JsonInputError, parse_json

    text = _object_text(pairs, spaced)
    if nest:
        text = '{"outer": [' + text + "]}"
    keys = [k for k, _ in pairs]
    twice = len(set(keys)) != len(keys)
    try:
        parse_json(text.encode())
        refused = False
    except JsonInputError as exc:
        refused = "appears twice" in str(exc)
    assert refused == twice, text
