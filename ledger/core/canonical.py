"""Canonical JSON bytes (RFC 8785, JCS) and the event hash recipe.

The canonical form of a JSON value is RFC 8785: object keys sorted by their UTF-16 code units,
no insignificant white space, strings escaped as ECMAScript ``JSON.stringify`` does (only ``"``,
``\\`` and U+0000..U+001F, with ``\\b \\t \\n \\f \\r`` short forms and ``\\u00xx`` lower-case hex
otherwise), UTF-8, and numbers in the shortest form that round-trips an IEEE 754 double,
written as ECMAScript ``Number.prototype.toString`` writes them (``7``, ``9.33``, ``1e+21``).

Integers outside ±(2**53 - 1) are refused: they have no exact IEEE 754 double, so two
implementations would disagree about them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from ledger.errors import RefusedInput

MAX_SAFE_INTEGER = 2**53 - 1
_SORT = orjson.OPT_SORT_KEYS


MAX_DEPTH = 64  # the contracts nest a few levels; anything far deeper is refused, not recursed


class JsonInputError(RefusedInput):
    """Input that is not one strict JSON document; ``line`` and ``column`` say where."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        self.message, self.line, self.column = message, line, column
        where = f"line {line} column {column}: " if line else ""
        super().__init__(f"malformed JSON at {where}{message}" if line else message)


def parse_json(data: bytes | str) -> Any:
    """Return the value of one JSON document (RFC 8259, UTF-8), refusing what has two readings.

    orjson parses (and refuses NaN, Infinity, invalid UTF-8 and lone surrogates); then an
    object with the same key twice is refused: JSON leaves its meaning open (RFC 8259 §4), one
    reader keeps the first value and another the last, so a signed or hashed document could
    say two things.
    """
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise JsonInputError(exc.msg, exc.lineno, exc.colno) from None
    if isinstance(value, dict | list):
        raw = bytes(data) if isinstance(data, bytes | bytearray | memoryview) else data.encode()
        try:
            if _members(value) != _member_marks(raw):  # some key may appear twice: parse
                _DUPLICATES.decode(raw.decode("utf-8"))  # again, keeping every pair
        except RecursionError:
            raise JsonInputError(f"the document nests deeper than {MAX_DEPTH} levels") from None
    return value


_MARKS, _SPACED = re.compile(rb'"[ \t\n\r]*:'), re.compile(rb'"[ \t\n\r]')


def _member_marks(text: bytes) -> int:
    """Return how many times a quote is followed by a colon (white space between): at least
    once per object member in the text, since a key ends so; more only if a string holds such
    a pair. Equal to the members parsed, it proves no key appeared twice."""
    if _SPACED.search(text):
        return len(_MARKS.findall(text))
    return text.count(b'":')  # compact JSON, the usual case: the same count, faster


def _members(value: dict[str, Any] | list[Any]) -> int:
    """Return the number of object members in a parsed value (a duplicate key counted once)."""
    count = 0
    if type(value) is dict:
        count = len(value)
        value = list(value.values())
    for child in value:
        if type(child) is dict or type(child) is list:
            count += _members(child)
    return count


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JsonInputError(f"the key {key!r} appears twice in one object (a duplicate "
                                     "key gives the document two readings)")
            seen.add(key)
    return members


_DUPLICATES = json.JSONDecoder(object_pairs_hook=_refuse_duplicates)


def check_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    """Raise RefusedInput if arrays/objects in ``value`` nest deeper than ``limit`` (iterative)."""
    if not isinstance(value, dict | list):
        return
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise RefusedInput(f"the document nests deeper than {limit} levels")
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, dict | list):  # only containers are pushed
                stack.append((child, depth + 1))


def canonical_bytes(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON value.

    Floats are replaced by pre-rendered ECMAScript numbers (``orjson.Fragment``); everything
    else is serialised by orjson with sorted keys, which is JCS-identical for keys inside the
    Basic Multilingual Plane. Objects with keys outside it fall back to a pure-Python writer.
    """
    prepared, bmp_only = _prepare(value)
    if bmp_only:
        return orjson.dumps(prepared, option=_SORT)
    return _write(value).encode("utf-8")


def is_canonical_object(text: str) -> bool:
    """Return whether ``text`` is a JSON object written exactly in its RFC 8785 form: the one
    text of its values, so that every reader of it reads the same values (a repeated member
    name is read as the first by SQLite's ``json_extract`` and as the last by orjson).

    orjson's sorted text is the RFC 8785 text when every number is a safe integer and every
    character is inside the Basic Multilingual Plane (key order); otherwise ``canonical_bytes``
    decides."""
    try:
        value = orjson.loads(text)
        if type(value) is not dict:
            return False
        data = text.encode("utf-8")
        if (text.isascii() or max(text) <= "\uffff") and _plain(value):
            return orjson.dumps(value, option=_SORT) == data
        return canonical_bytes(value) == data
    except (orjson.JSONDecodeError, UnicodeEncodeError, TypeError, RefusedInput, RecursionError):
        return False


def _plain(value: Any) -> bool:
    """Return whether every number inside ``value`` (an object or an array) is a safe integer."""
    items = value.values() if type(value) is dict else value
    for item in items:
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                continue
            return False
        if (kind is dict or kind is list) and _plain(item):
            continue
        return False
    return True


def _prepare(value: Any) -> tuple[Any, bool]:
    """Return (value with floats pre-rendered, whether every object key is inside the BMP)."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value, True
    if kind is dict:
        out: dict[str, Any] = {}
        ok = True
        for key, item in value.items():
            if type(key) is not str:
                raise RefusedInput(f"object key {key!r} is not a string")
            if not key.isascii() and not _in_bmp(key):
                ok = False
            item_kind = type(item)
            if item_kind is str or item_kind is bool or item is None:
                out[key] = item
            else:
                out[key], item_ok = _prepare(item)
                ok = ok and item_ok
        return out, ok
    if kind is int:
        _check_int(value)
        return value, True
    if kind is float:
        return orjson.Fragment(es_number(value)), True
    if kind is list or kind is tuple:
        items = []
        ok = True
        for item in value:
            prepared, item_ok = _prepare(item)
            items.append(prepared)
            ok = ok and item_ok
        return items, ok
    return _prepare_other(value)


def _prepare_other(value: Any) -> tuple[Any, bool]:
    """Handle subclasses of the JSON types (rare): normalise them to the base types."""
    if isinstance(value, bool):
        return bool(value), True
    if isinstance(value, str):
        return str(value), True
    if isinstance(value, int):
        return _prepare(int(value))
    if isinstance(value, float):
        return _prepare(float(value))
    if isinstance(value, Mapping):
        return _prepare(dict(value))
    if isinstance(value, Sequence):
        return _prepare(list(value))
    raise RefusedInput(f"value of type {type(value).__name__} is not JSON")


def _in_bmp(key: str) -> bool:
    return all(ord(ch) <= 0xFFFF for ch in key)


def _check_int(value: int) -> None:
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise RefusedInput(f"integer {value} is outside ±(2**53-1) and has no canonical form")


def _write(value: Any) -> str:
    """Return the canonical JSON text of ``value`` (the slow, fully general path)."""
    if isinstance(value, Mapping):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        body = ",".join(_write(k) + ":" + _write(value[k]) for k in keys)
        return "{" + body + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_write(v) for v in value) + "]"
    if isinstance(value, float):
        return es_number(value)
    if isinstance(value, int) and not isinstance(value, bool):
        _check_int(value)
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError as exc:
        raise RefusedInput(f"value is not JSON: {exc}") from None


def es_number(value: float) -> str:
    """Return ``value`` as ECMAScript ``Number.prototype.toString`` writes it (ECMA-262 §6.1.6.1.20)."""
    if math.isnan(value) or math.isinf(value):
        raise RefusedInput("NaN and Infinity are not JSON numbers")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    digits, n = _shortest_digits(abs(value))
    k = len(digits)
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        exp = n - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        text = mantissa + "e" + ("+" if exp >= 0 else "-") + str(abs(exp))
    return sign + text


def _shortest_digits(value: float) -> tuple[str, int]:
    """Return (digits, n) with value = 0.digits × 10**n and digits the shortest round-trip set."""
    mantissa, _, exponent = repr(value).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    n = len(whole) + (int(exponent) if exponent else 0)
    if whole == "0":
        stripped = frac.lstrip("0")
        n -= len(frac) - len(stripped) + 1
    digits = digits.rstrip("0") or "0"
    return digits, n
