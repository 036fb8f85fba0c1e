"""The event envelope and its hash, in both formats (docs/format.md is the full specification).

Byte recipe (version 1), for event ``e`` with every envelope key but ``hash``::

    canonical(e) = JCS({"actor", "contract", "payload", "prev_hash", "record_id",
                        "recorded_at", "seq", "type"})
    hash(e)      = hex(SHA-256("provenance-ledger/event/v1" || 0x0A || canonical(e)))

``prev_hash`` of ``seq`` 1 is 64 zeros. Example (seq 1, payload abridged)::

    {"actor":"editor","contract":"paper-manifest-v1.1","payload":{…},"prev_hash":"000…000",
     "record_id":"SRCH:03BE3A05","recorded_at":"2026-11-25T10:00:00.000000Z","seq":1,
     "type":"record.published"}

The Merkle leaf of an event (RFC 6962) is computed over ``canonical(e)`` without the prefix.

Version 2 (``ledger init`` since the removal issue) commits to the payload member by member, so
that a purge can delete members while every hash stays valid::

    commitment(name, value) = hex(SHA-256("provenance-ledger/member/v2" || 0x0A || salt
                                          || JCS(name) || JCS(value)))      salt: 16 random bytes
    canonical(e) = JCS({"actor", "commitments", "contract", "prev_hash", "record_id",
                        "recorded_at", "seq", "type"})   commitments: {name: commitment}
    hash(e)      = hex(SHA-256("provenance-ledger/event/v2" || 0x0A || canonical(e)))

The payload members and their salts (hex) are stored beside the envelope; a purged member's
value is replaced by a withheld marker and its salt deleted.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Container
from typing import Any, NamedTuple

import orjson

from ledger.core.canonical import MAX_SAFE_INTEGER, canonical_bytes
from ledger.errors import CorruptEvent, RefusedInput, VerificationError

EVENT_HASH_PREFIX = b"provenance-ledger/event/v1\n"
EVENT_HASH_PREFIX_V2 = b"provenance-ledger/event/v2\n"
MEMBER_PREFIX = b"provenance-ledger/member/v2\n"
SALT_BYTES = 16  # 128 bits: a purged short value cannot be confirmed by guessing it
GENESIS_HASH = "0" * 64
MAX_PAYLOAD_BYTES = 1 << 20  # one event's payload, in canonical form: 1 MiB
_SORT = orjson.OPT_SORT_KEYS
_SALT = re.compile(f"[0-9a-f]{{{2 * SALT_BYTES}}}")

KEY_TYPES = ("key.added", "key.revoked")
MANIFEST_TYPES = ("record.published", "record.revised")  # the events that carry a manifest
_MANIFESTS = ("paper-manifest-v1.1", "paper-manifest-v1.2")
TYPE_CONTRACTS = {  # every event type, with the contract versions its payload may have
    "record.published": _MANIFESTS,
    "record.revised": _MANIFESTS,
    "provenance.recorded": ("source-provenance-v1",),
    "notice.issued": ("correction-record-v1", "correction-record-v1.1"),
    "gate.evaluated": ("gate-evaluation-v1",),
    "key.added": ("actor-key-v1",),
    "key.revoked": ("actor-key-v1",),
    "record.purged": ("purge-record-v1",),
}
WITHHELD = "withheld"  # the one key of a purged member's marker: {"withheld": {...}}


class Event(NamedTuple):
    """One stored event: the envelope of docs/format.md. ``payload_json`` is its canonical JSON text.

    A NamedTuple (immutable, and built from a database row with no per-field overhead). A v2
    event also has ``salts`` ({member: hex salt}) and ``commitments`` ({member: hex commitment}),
    both canonical JSON text; a purged member's value in ``payload_json`` is a withheld marker
    and it has no salt. A v1 event has neither (None).
    """

    seq: int
    type: str
    record_id: str
    contract: str
    payload_json: str
    actor: str
    recorded_at: str
    prev_hash: str
    hash: str
    salts: str | None = None
    commitments: str | None = None

    @property
    def payload(self) -> dict[str, Any]:
        """Return the payload as a fresh dict; raise CorruptEvent if the stored text is not JSON."""
        try:
            value = orjson.loads(self.payload_json)
        except orjson.JSONDecodeError:
            raise CorruptEvent(f"seq {self.seq}: the stored payload is not JSON (the file was "
                               "edited behind the ledger's back)") from None
        if not isinstance(value, dict):
            raise CorruptEvent(f"seq {self.seq}: the stored payload is not a JSON object")
        return value

    def envelope(self) -> dict[str, Any]:
        """Return the envelope as a JSON-ready dict (payload parsed; a v2 event's salts and
        commitments too, so that a reader can recompute every hash)."""
        out = {
            "seq": self.seq, "type": self.type, "record_id": self.record_id,
            "contract": self.contract, "payload": self.payload, "actor": self.actor,
            "recorded_at": self.recorded_at, "prev_hash": self.prev_hash, "hash": self.hash,
        }
        if self.commitments is not None:
            out["salts"] = _object(self.seq, "salts", self.salts or "{}")
            out["commitments"] = _object(self.seq, "commitments", self.commitments)
        return out


def event_of(row: Any) -> Event:
    """Return the event of a stored row (9 columns in format v1, 11 in v2), as stored."""
    return Event(*row)


def _object(seq: int, what: str, text: str) -> dict[str, Any]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise CorruptEvent(f"seq {seq}: the stored {what} are not a JSON object (the file was "
                           "edited behind the ledger's back)")
    return value


def _q(text: str) -> str:
    """Return ``text`` as a JCS string literal (a fast path for text that needs no escaping)."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return '"' + text + '"'  # printable text has no control characters to escape
    return orjson.dumps(text).decode()


def envelope_bytes(
    seq: int, type_: str, record_id: str, contract: str, payload_json: str,
    actor: str, recorded_at: str, prev_hash: str,
) -> bytes:
    """Return canonical(e): the JCS bytes of the envelope without ``hash``.

    Requires ``payload_json`` to be canonical JSON already (the store only holds canonical text);
    the keys are written in JCS order, so this equals ``canonical_bytes(envelope)``.
    """
    # The common case: no string needs escaping, so one f-string gives the JCS text.
    plain = actor + contract + prev_hash + record_id + recorded_at + type_
    if type(payload_json) is str and plain.isprintable() and '"' not in plain and "\\" not in plain:
        return (f'{{"actor":"{actor}","contract":"{contract}","payload":{payload_json},'
                f'"prev_hash":"{prev_hash}","record_id":"{record_id}","recorded_at":"{recorded_at}",'
                f'"seq":{seq},"type":"{type_}"}}').encode()
    return "".join((
        '{"actor":', _q(actor), ',"contract":', _q(contract), ',"payload":', payload_json,
        ',"prev_hash":', _q(prev_hash), ',"record_id":', _q(record_id),
        ',"recorded_at":', _q(recorded_at), ',"seq":', str(seq), ',"type":', _q(type_), "}",
    )).encode("utf-8")


def envelope_v2_bytes(
    seq: int, type_: str, record_id: str, contract: str, commitments_json: str,
    actor: str, recorded_at: str, prev_hash: str,
) -> bytes:
    """Return canonical(e) of a v2 event: the JCS bytes of its envelope, ``commitments`` (canonical
    JSON text already) in place of ``payload``."""
    plain = actor + contract + prev_hash + record_id + recorded_at + type_
    if type(commitments_json) is str and plain.isprintable() and '"' not in plain and "\\" not in plain:
        return (f'{{"actor":"{actor}","commitments":{commitments_json},"contract":"{contract}",'
                f'"prev_hash":"{prev_hash}","record_id":"{record_id}","recorded_at":"{recorded_at}",'
                f'"seq":{seq},"type":"{type_}"}}').encode()
    return "".join((
        '{"actor":', _q(actor), ',"commitments":', commitments_json, ',"contract":', _q(contract),
        ',"prev_hash":', _q(prev_hash), ',"record_id":', _q(record_id),
        ',"recorded_at":', _q(recorded_at), ',"seq":', str(seq), ',"type":', _q(type_), "}",
    )).encode("utf-8")


def event_hash(canonical: bytes, v2: bool = False) -> str:
    """Return hex SHA-256("provenance-ledger/event/v1\\n" || canonical) (``/v2`` for a v2 event)."""
    return hashlib.sha256((EVENT_HASH_PREFIX_V2 if v2 else EVENT_HASH_PREFIX) + canonical).hexdigest()


def hash_of(event: Event) -> str:
    """Return the hash a stored event's envelope gives (either format)."""
    return event_hash(canonical_of(event), event.commitments is not None)


def commitment(salt: bytes, name: str, value: Any) -> str:
    """Return hex SHA-256("provenance-ledger/member/v2\\n" || salt || JCS(name) || JCS(value))."""
    return hashlib.sha256(MEMBER_PREFIX + salt + canonical_bytes(name)
                          + _value_bytes(value)).hexdigest()


def _value_bytes(value: Any) -> bytes:
    """Return JCS(value): orjson's text directly for a string, boolean, null or safe integer
    (identical to JCS for them), ``canonical_bytes`` for anything else."""
    kind = type(value)
    if kind is str or kind is bool or value is None or (
            kind is int and -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER):
        return orjson.dumps(value)
    return canonical_bytes(value)


def open_members(payload: Any, salts: Any, commitments: Any) -> str | None:
    """Return JCS(payload) if every member of ``payload`` (parsed JSON objects, ASCII member
    names) is stored with a salt that reproduces its commitment and nothing else is stored,
    each member's canonical text made once; None otherwise (the caller then runs
    ``check_members``, which names what is wrong or what is withheld). A salt is SALT_BYTES as
    lower-case hex, exactly, as ``check_members`` and the browser's verifier take it:
    ``bytes.fromhex`` alone also reads upper case and spaces."""
    if not (type(payload) is dict and type(salts) is dict and type(commitments) is dict
            and payload.keys() == salts.keys() == commitments.keys() and _ascii_names(payload)):
        return None
    sha256, prefix, dumps, fromhex = hashlib.sha256, MEMBER_PREFIX, orjson.dumps, bytes.fromhex
    members = []
    try:
        for name in sorted(payload):
            value, salt = payload[name], salts[name]
            kind = type(value)
            text = dumps(value) if kind is str or kind is bool else _value_bytes(value)
            key, raw = dumps(name), fromhex(salt)
            if (len(raw) != SALT_BYTES or len(salt) != 2 * SALT_BYTES or salt.lower() != salt
                    or sha256(prefix + raw + key + text).hexdigest() != commitments[name]):
                return None
            members.append(key + b":" + text)
    except (ValueError, TypeError, RefusedInput):
        return None
    return (b"{" + b",".join(members) + b"}").decode("utf-8")


def _members_match(event: Event) -> bool:
    """Return whether every member is stored with a salt that reproduces its commitment, nothing
    else is stored, and the stored payload, salts and commitments are exactly the canonical text
    of those members: the common case, checked with locals only.

    The commitments are not parsed: their canonical text is made from the members and compared
    with the stored text, as the writer makes it (``_commit_ascii``). The texts are compared with
    orjson's sorted output, which is JCS's when the member names are ASCII (the commitments'
    text is then ASCII too) and every value's JCS text is orjson's: a string, boolean, null or
    safe integer always is; a number with a fraction, an object or an array is compared member
    by member here."""
    payload_json, salts_json, committed = event.payload_json, event.salts, event.commitments
    if not (type(payload_json) is str and type(salts_json) is str and type(committed) is str
            and committed.isascii() and salts_json.isascii()):
        return False
    sha256, prefix, dumps, fromhex = hashlib.sha256, MEMBER_PREFIX, orjson.dumps, bytes.fromhex
    try:  # a salt of the wrong length cannot reproduce the commitment: check_members names it
        payload, salts = orjson.loads(payload_json), orjson.loads(salts_json)
        if not (type(payload) is dict and type(salts) is dict and payload.keys() == salts.keys()):
            return False
        made = []
        for name, value in payload.items():
            kind = type(value)
            if kind is str or kind is bool:
                text = dumps(value)
            else:
                text = _value_bytes(value)
                if kind is not int and value is not None and dumps(value, option=_SORT) != text:
                    return False
            salt, key = salts[name], dumps(name)
            if len(salt) != 2 * SALT_BYTES:
                return False
            made.append(key + b':"' + sha256(prefix + fromhex(salt) + key + text).hexdigest()
                        .encode() + b'"')
        # The text each reader parses must be the one reading that was checked: a member
        # repeated ({"a":"x","a":"y"}) is read as "x" by SQLite's json_extract, "y" by orjson.
        return (b"{" + b",".join(made) + b"}" == committed.encode()
                and dumps(payload, option=_SORT) == payload_json.encode("utf-8")
                and dumps(salts, option=_SORT) == salts_json.encode()
                and salts_json.lower() == salts_json)  # an upper-case salt: check_members names it
    except (ValueError, TypeError, AttributeError, RefusedInput):  # orjson's error is a ValueError
        return False


def make_event(
    seq: int, type_: str, record_id: str, contract: str, payload: dict[str, Any],
    actor: str, recorded_at: str, prev_hash: str, v2: bool = False,
) -> Event:
    """Return a new event with its payload canonicalised and its hash computed."""
    return make_event_bytes(seq, type_, record_id, contract, payload, actor, recorded_at,
                            prev_hash, v2)[0]


def make_event_bytes(
    seq: int, type_: str, record_id: str, contract: str, payload: dict[str, Any],
    actor: str, recorded_at: str, prev_hash: str, v2: bool = False,
    made: MadeRuns | None = None, later: list[str] | None = None,
) -> tuple[Event, bytes]:
    """Return (new event, its canonical bytes); refuse a payload above MAX_PAYLOAD_BYTES.

    ``v2``: the envelope commits to each member with a fresh random salt (format v2); ``made``:
    the members already made for these values but those in ``later`` (see ``_commit_ascii``)."""
    ascii_names = _ascii_names(payload)
    if v2 and ascii_names:
        payload_bytes, salts, commitments = _commit_ascii(payload, None, made, later)
    else:
        payload_bytes = canonical_bytes(payload)
    if len(payload_bytes) > MAX_PAYLOAD_BYTES:
        raise RefusedInput(f"the payload is {len(payload_bytes):,} bytes in canonical form; one "
                           f"event's payload may be at most {MAX_PAYLOAD_BYTES:,} bytes")
    payload_json = payload_bytes.decode("utf-8")
    if not v2:
        data = envelope_bytes(seq, type_, record_id, contract, payload_json, actor, recorded_at,
                              prev_hash)
        return Event(seq, type_, record_id, contract, payload_json, actor, recorded_at, prev_hash,
                     event_hash(data)), data
    if not ascii_names:
        salts, commitments = commit_members(payload)
    data = envelope_v2_bytes(seq, type_, record_id, contract, commitments, actor, recorded_at,
                             prev_hash)
    return Event(seq, type_, record_id, contract, payload_json, actor, recorded_at, prev_hash,
                 event_hash(data, True), salts, commitments), data


def commit_members(payload: dict[str, Any], random: bytes | None = None) -> tuple[str, str]:
    """Return (salts, commitments) of a payload as canonical JSON text, with fresh salts (or
    ``random``: SALT_BYTES per member in sorted member order, for test vectors)."""
    if _ascii_names(payload):
        return _commit_ascii(payload, random)[1:]
    names = sorted(payload)
    random = os.urandom(SALT_BYTES * len(names)) if random is None else random
    salts: dict[str, str] = {}
    commitments: dict[str, str] = {}
    for i, name in enumerate(names):
        salt = random[i * SALT_BYTES:(i + 1) * SALT_BYTES]
        salts[name] = salt.hex()
        commitments[name] = commitment(salt, name, payload[name])
    return (canonical_bytes(salts).decode("utf-8"), canonical_bytes(commitments).decode("utf-8"))


# A member made: its three JSON fragments, ``"name":value``, ``"name":"salt"`` and
# ``"name":"commitment"`` (``made_members``).
MemberParts = dict[str, tuple[bytes, bytes, bytes]]
# Members made ahead of time (by a bulk append's helper) for a payload whose member names are
# ASCII: every member but those left to the writer (``later``, in member order), as the runs
# between them, ``len(later) + 1`` runs in member order. A run is (how many members, their
# texts, their salts, their commitments), each kind of fragment joined with commas: the writer
# joins whole runs, and makes only the members left to it (``made_runs``, ``_commit_ascii``).
MadeRuns = list[tuple[int, bytes, bytes, bytes]]


def made_members(payload: dict[str, Any], random: bytes | None = None,
                 skip: Container[str] = (), only: Container[str] | None = None) -> MemberParts:
    """Return the JSON fragments of each member of ``payload`` (ASCII names), in member order,
    each committed with a fresh salt (or ``random``: SALT_BYTES per member in member order, for
    test vectors); the members named in ``skip``, or not in ``only``, are left out."""
    names = sorted(payload)
    raw = os.urandom(SALT_BYTES * len(names)) if random is None else random
    hexes = raw.hex().encode()
    sha256, prefix, dumps = hashlib.sha256, MEMBER_PREFIX, orjson.dumps
    made = {}
    for i, name in enumerate(names):
        if name in skip or (only is not None and name not in only):
            continue
        key, value = dumps(name), payload[name]
        kind = type(value)
        text = dumps(value) if kind is str or kind is bool else _value_bytes(value)
        at = i * SALT_BYTES
        digest = sha256(prefix + raw[at:at + SALT_BYTES] + key + text).hexdigest()
        made[name] = (key + b":" + text, key + b':"' + hexes[2 * at:2 * (at + SALT_BYTES)] + b'"',
                      key + b':"' + digest.encode() + b'"')
    return made


def made_runs(payload: dict[str, Any], later: Container[str] = (),
              random: bytes | None = None) -> MadeRuns:
    """Return the members of ``payload`` (ASCII names) but those in ``later``, made as
    ``made_members`` makes them, as the runs between the members in ``later`` (``MadeRuns``)."""
    parts = made_members(payload, random, skip=later)
    if not later:  # the common case: one run
        return [_run(list(parts.values()))]
    runs: MadeRuns = []
    run: list[tuple[bytes, bytes, bytes]] = []
    for name in sorted(payload):
        if name in later:
            runs.append(_run(run))
            run = []
        else:
            run.append(parts[name])
    runs.append(_run(run))
    return runs


def _run(parts: list[tuple[bytes, bytes, bytes]]) -> tuple[int, bytes, bytes, bytes]:
    """Return one run of made members: how many, and each kind of fragment joined with commas."""
    if not parts:
        return 0, b"", b"", b""
    members, salts, commitments = zip(*parts, strict=True)
    return len(parts), b",".join(members), b",".join(salts), b",".join(commitments)


def _fits(made: MadeRuns, later: list[str], names: list[str]) -> bool:
    """Return whether ``made`` holds, run by run, every member of ``names`` (in member order)
    but those in ``later``: as many runs as the gaps, and each name of ``later`` right after
    its run."""
    if len(made) != len(later) + 1:
        return False
    at = -1
    for i, run in enumerate(made):
        at += run[0] + 1  # the position of later[i] in names (after the last run: len(names))
        if i < len(later) and (at >= len(names) or names[at] != later[i]):
            return False
    return at == len(names)


def _ascii_names(payload: dict[str, Any]) -> bool:
    """Return whether every member name is an ASCII string (a contract's names always are)."""
    try:
        return "".join(payload).isascii()
    except TypeError:
        return False


def _commit_ascii(payload: dict[str, Any], random: bytes | None, made: MadeRuns | None = None,
                  later: list[str] | None = None) -> tuple[bytes, str, str]:
    """Return (JCS(payload), salts, commitments) of a payload whose member names are ASCII, each
    member's JCS text made once: for ASCII names Python's order is JCS's (UTF-16 code units), so
    the object is its sorted members joined, exactly as ``canonical_bytes`` writes it. ``made``:
    the members made ahead of time for these very values but those in ``later`` (in member
    order), which are made here and joined between the runs; if they do not fit the payload's
    members, every member is made here."""
    names = sorted(payload)
    if not names:
        return b"{}", "{}", "{}"
    later = later or []
    if made is None or not _fits(made, later, names):
        made, later = made_runs(payload, random=random), []
    if later:  # the members left to it, made here and joined between the runs
        fresh = list(made_members(payload, random, only=later).values())
        pieces: tuple[list[bytes], list[bytes], list[bytes]] = ([], [], [])
        for i, (count, *joined) in enumerate(made):
            if i:  # the member made here comes before this run
                for kind, part in zip(pieces, fresh[i - 1], strict=True):
                    kind.append(part)
            if count:
                for kind, part in zip(pieces, joined, strict=True):
                    kind.append(part)
        texts, salts, commitments = (b",".join(kind) for kind in pieces)
        made = [(len(names), texts, salts, commitments)]
    _, text, salt, commitment_ = made[0]  # one run: every member
    return b"{" + text + b"}", (b"{" + salt + b"}").decode(), (b"{" + commitment_ + b"}").decode()


def canonical_of(event: Event) -> bytes:
    """Return canonical(e) of a stored event (either format)."""
    if event.commitments is not None:
        return envelope_v2_bytes(event.seq, event.type, event.record_id, event.contract,
                                 event.commitments, event.actor, event.recorded_at, event.prev_hash)
    return envelope_bytes(event.seq, event.type, event.record_id, event.contract,
                          event.payload_json, event.actor, event.recorded_at, event.prev_hash)


def is_withheld(value: Any) -> bool:
    """Return whether a payload member's value is a withheld marker (``{"withheld": {...}}``)."""
    return type(value) is dict and len(value) == 1 and type(value.get(WITHHELD)) is dict


def check_members(event: Event) -> dict[str, dict[str, Any]]:
    """Check a v2 event's stored members against the commitments of its envelope; return the
    withheld members ({name: marker}). Raise CorruptEvent naming the member otherwise.

    Every committed member must be stored, either as a value whose salt reproduces its
    commitment, or as a withheld marker without a salt (whether a purge covers the marker is
    the caller's check); nothing else may be stored."""
    seq = event.seq
    for column in ("payload_json", "salts", "commitments"):
        if type(getattr(event, column)) is not str:
            raise VerificationError(seq, f"a column of this event holds a value of the wrong type "
                                    f"({column.removesuffix('_json')} is not text): it was written "
                                    "behind the ledger's back")
    if _members_match(event):
        return {}
    commitments = _object(seq, "commitments", event.commitments or "")
    if _canonical_text(commitments) != event.commitments:
        raise _bad(seq, "the stored commitments are not in canonical form (RFC 8785): the hashed "
                        "bytes could be read as other commitments (a repeated member name?)")
    payload, salts = event.payload, _object(seq, "salts", event.salts or "{}")
    withheld: dict[str, dict[str, Any]] = {}
    for name, value in payload.items():
        committed = commitments.get(name)
        if committed is None:
            raise _bad(seq, f"payload member {name!r} is not committed to by the "
                               "event's envelope (it was added behind the ledger's back)")
        salt = salts.get(name)
        if salt is None:
            if not is_withheld(value):
                raise _bad(seq, f"payload member {name!r} has no salt: its value "
                                   "cannot be checked against the envelope")
            withheld[name] = value
            continue
        # SALT_BYTES as lower-case hex, exactly: bytes.fromhex also takes upper case and spaces,
        # which the browser's verifier (and the format) refuse
        raw = bytes.fromhex(salt) if type(salt) is str and _SALT.fullmatch(salt) else b""
        try:
            got = commitment(raw, name, value) if raw else "(a malformed salt)"
        except RefusedInput as exc:  # an edited value can be one JSON has no canonical text for
            got = f"(a value with no canonical form: {exc})"
        if got != committed:
            raise VerificationError(seq, f"payload member {name!r} does not match its commitment: "
                                    f"the envelope commits to {committed!s:.64}, the stored value "
                                    f"and salt give {got} (changed behind the ledger's back)",
                                    str(committed), got)
    for name in commitments:
        if name not in payload:
            raise _bad(seq, f"payload member {name!r} is missing: neither its value "
                               "nor a withheld marker is stored (deleted behind the ledger's back)")
    for name in salts:
        if name not in payload or name in withheld:
            raise _bad(seq, f"a salt is stored for {name!r}, which has no value")
    for what, parsed, stored in (("payload", payload, event.payload_json),
                                 ("salts", salts, event.salts)):
        if _canonical_text(parsed) != stored:
            raise _bad(seq, f"the stored {what} text is not in canonical form (RFC 8785): it "
                            "could be read as other values (a repeated member name?)")
    return withheld


def _canonical_text(value: Any) -> str | None:
    """Return the JCS text of a stored value, or None if it has none (an edited value can hold
    an integer beyond the safe range)."""
    try:
        return canonical_bytes(value).decode("utf-8")
    except RefusedInput:
        return None


def _bad(seq: int, reason: str) -> VerificationError:
    return VerificationError(seq, reason, "", "")
