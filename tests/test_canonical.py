"""Canonical bytes are RFC 8785: compared with the rfc8785 package on generated values."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import orjson
import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core import events
from ledger.core.canonical import MAX_SAFE_INTEGER, canonical_bytes, es_number, is_canonical_object
from ledger.core.clock import rfc3339
from ledger.core.events import check_members, make_event
from ledger.errors import LedgerError, RefusedInput

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


member_names = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8) | st.text(max_size=4)


def _reads_back(value: Any) -> bool:
    """Whether the canonical text of ``value`` parses to values that have a canonical form: an
    integral float from 2**53 to 1e21 is written as digits, which read back as an integer
    outside the safe range (no contract admits such a number)."""
    if isinstance(value, float):
        return not (value.is_integer() and MAX_SAFE_INTEGER < abs(value) < 1e21)
    if isinstance(value, dict):
        return all(_reads_back(v) for v in value.values())
    if isinstance(value, list):
        return all(_reads_back(v) for v in value)
    return True


@settings(max_examples=300)
@given(st.dictionaries(member_names, json_values, max_size=6).filter(_reads_back), st.data())
def test_a_v2_payload_is_accepted_exactly_in_its_canonical_text(payload: dict[str, Any],
                                                                 data: st.DataObject) -> None:
    """A v2 event's stored payload and salts are not hashed as text, so check_members (its fast
    path for the common case, its general path otherwise) must accept exactly the RFC 8785 text
    of the members it checks: another text of the same values — another order, spaces, escapes,
    Python's float form, a member repeated before the real one — is another reading. (The
    commitments are hashed as text, but are checked the same way.)"""
    event = make_event(1, "record.published", "SRCH:00000001", "paper-manifest-v1.1", payload,
                       "editor", "2026-01-01T00:00:00Z", "0" * 64, v2=True)
    salts, commitments = json.loads(str(event.salts)), json.loads(str(event.commitments))
    for column, value in (("payload_json", payload), ("salts", salts),
                          ("commitments", commitments)):
        canonical = rfc8785.dumps(value).decode()
        assert getattr(event, column) == canonical
        first = next(iter(value), None)
        texts = [
            canonical,
            json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True),
            json.dumps(value, ensure_ascii=True, separators=(",", ":"), sort_keys=True),
            json.dumps(value, sort_keys=True),
            orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode(),
            orjson.dumps(dict(reversed(value.items()))).decode(),
        ]
        if first is not None:
            texts.append("{" + json.dumps(first) + ':"forged",' + canonical[1:])
        text = data.draw(st.sampled_from(texts))
        changed = event._replace(**{column: text})
        if text == canonical:
            assert check_members(changed) == {}
        else:
            with pytest.raises(LedgerError, match="not in canonical form"):
                check_members(changed)


def _canonical_reading(text: str) -> bool:
    """The definition: text parses (strictly, each member once) to an object whose RFC 8785
    text it is."""
    try:
        value = json.loads(text, object_pairs_hook=_unique)
    except ValueError:
        return False
    try:
        return isinstance(value, dict) and rfc8785.dumps(value).decode() == text
    except (rfc8785.IntegerDomainError, rfc8785.FloatDomainError):
        return False


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({k for k, _ in pairs}) != len(pairs):
        raise ValueError("a repeated member")
    return dict(pairs)


@settings(max_examples=400)
@given(st.dictionaries(st.text(max_size=4), json_values, max_size=6).filter(_reads_back),
       st.data())
def test_is_canonical_object_accepts_exactly_the_rfc8785_text(value: dict[str, Any],
                                                               data: st.DataObject) -> None:
    canonical = rfc8785.dumps(value).decode()
    first = next(iter(value), None)
    texts = [
        canonical,
        json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True),
        json.dumps(value, ensure_ascii=True, separators=(",", ":"), sort_keys=True),
        json.dumps(value),
        orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode(),
        orjson.dumps(dict(reversed(value.items()))).decode(),
        "[" + canonical + "]",
        canonical[:-1],
    ]
    if first is not None:
        texts.append("{" + json.dumps(first) + ':"forged",' + canonical[1:])
    text = data.draw(st.sampled_from(texts))
    assert is_canonical_object(text) == _canonical_reading(text) == (text == canonical)


@pytest.mark.parametrize(("text", "canonical"), [
    ('{"a":9007199254740991}', True),
    ('{"a":9007199254740993}', False),  # beyond the safe integers: no canonical form
    ('{"a":1e+21}', True),
    ('{"a":1e21}', False),
    ('{"a":100}', True),
    ('{"a":100.0}', False),
    ('{"\U0001F600":1,"\uE000":2}', True),  # UTF-16 order: a surrogate pair before U+E000
    ('{"\uE000":2,"\U0001F600":1}', False),
    ('{"a":"\\u001f"}', True),
    ('{"a":"\\u001F"}', False),
])
def test_is_canonical_object_examples(text: str, canonical: bool) -> None:
    assert is_canonical_object(text) is canonical is _canonical_reading(text)


@settings(max_examples=400)
@given(st.dictionaries(member_names, json_values, min_size=1, max_size=6).filter(_reads_back),
       st.sampled_from(["payload_json", "salts", "commitments"]), st.data())
def test_the_fast_member_check_accepts_nothing_the_general_one_refuses(
        payload: dict[str, Any], column: str, data: st.DataObject) -> None:
    """check_members's fast path (``_members_match``, which builds the commitments' text
    rather than parsing it) is only a shortcut: on any one edit of a stored text, check_members
    gives what its general path alone gives, the same withheld members or the same refusal."""
    event = make_event(1, "record.published", "SRCH:00000001", "paper-manifest-v1.1", payload,
                       "editor", "2026-01-01T00:00:00Z", "0" * 64, v2=True)
    text = str(getattr(event, column))
    at = data.draw(st.integers(0, len(text)))
    cut = data.draw(st.integers(0, 2))
    insert = data.draw(st.sampled_from(["", '"', "0", "a", "A", " ", ",", "}", '\\u0061', "é",
                                        '"withheld":{}', '{"withheld":{"by_seq":2}}']))
    changed = event._replace(**{column: text[:at] + insert + text[at + cut:]})

    def outcome() -> Any:
        try:
            return check_members(changed)
        except LedgerError as exc:
            return type(exc), str(exc)

    fast = outcome()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(events, "_members_match", lambda event: False)
        assert outcome() == fast


@settings(max_examples=300)
@given(st.dictionaries(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=6),
                       json_values, max_size=6).filter(_reads_back), st.data())
def test_members_made_ahead_in_runs_give_the_texts_made_at_once(payload: dict[str, Any],
                                                                 data: st.DataObject) -> None:
    """A bulk append's helper makes every member but those left to the writer, as runs between
    them (``made_runs``); the writer joins the runs and the members it makes: the same payload
    text, salts and commitments as making every member at once with the same random bytes. Runs
    that do not fit the payload (another member left out, one member more) are not used."""
    names = sorted(payload)
    later = sorted(data.draw(st.sets(st.sampled_from(names))) if names else set())
    random = data.draw(st.binary(min_size=events.SALT_BYTES * (len(names) + 1),
                                 max_size=events.SALT_BYTES * (len(names) + 1)))
    at_once = events._commit_ascii(payload, random)
    made = events.made_runs(payload, later, random)
    assert len(made) == len(later) + 1 and sum(run[0] for run in made) == len(names) - len(later)
    assert events._commit_ascii(payload, random, made, later) == at_once
    for other in ([*later, "\x7f"], [name for name in names if name not in later][:1]):
        assert events._commit_ascii(payload, random, made, sorted(other)) == at_once
    more = {**payload, "\x7f": 1}
    assert events._commit_ascii(more, random, made, later) == events._commit_ascii(more, random)


@given(st.datetimes(timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-5)),
                                                dt.timezone(dt.timedelta(hours=5, minutes=30))])))
def test_recorded_at_is_rfc3339_utc_with_microseconds_and_z(moment: dt.datetime) -> None:
    """``recorded_at`` is hashed into every event: its text is exactly ISO 8601's of the moment
    in UTC, to the microsecond, with ``Z`` (as datetime.isoformat writes it)."""
    try:
        utc = moment.astimezone(dt.UTC)
    except OverflowError:  # a moment whose UTC time falls outside years 1–9999
        return
    assert rfc3339(moment) == utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
