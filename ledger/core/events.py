"""The event envelope and its hash.

Byte recipe (version 1), for event ``e`` with every envelope key but ``hash``::

    canonical(e) = JCS({"actor", "contract", "payload", "prev_hash", "record_id",
                        "recorded_at", "seq", "type"})
    hash(e)      = hex(SHA-256("provenance-ledger/event/v1" || 0x0A || canonical(e)))

``prev_hash`` of ``seq`` 1 is 64 zeros. Example (seq 1, payload abridged)::

    {"actor":"editor","contract":"paper-manifest-v1.1","payload":{…},"prev_hash":"000…000",
     "record_id":"SRCH:03BE3A05","recorded_at":"2026-11-25T10:00:00.000000Z","seq":1,
     "type":"record.published"}

The Merkle leaf of an event (RFC 6962) is computed over ``canonical(e)`` without the prefix.
"""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple

import orjson

from ledger.core.canonical import canonical_bytes
from ledger.errors import CorruptEvent, RefusedInput

EVENT_HASH_PREFIX = b"provenance-ledger/event/v1\n"
GENESIS_HASH = "0" * 64
MAX_PAYLOAD_BYTES = 1 << 20  # one event's payload, in canonical form: 1 MiB

KEY_TYPES = ("key.added", "key.revoked")
TYPE_CONTRACT = {  # every event type, with the contract of its payload
    "record.published": "paper-manifest-v1.1",
    "record.revised": "paper-manifest-v1.1",
    "provenance.recorded": "source-provenance-v1",
    "notice.issued": "correction-record-v1",
    "gate.evaluated": "gate-evaluation-v1",
    "key.added": "actor-key-v1",
    "key.revoked": "actor-key-v1",
}


class Event(NamedTuple):
    """One stored event: the envelope of docs/format.md. ``payload_json`` is its canonical JSON text.

    A NamedTuple (immutable, and built from a database row with no per-field overhead).
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
        """Return the envelope as a JSON-ready dict (payload parsed)."""
        return {
            "seq": self.seq, "type": self.type, "record_id": self.record_id,
            "contract": self.contract, "payload": self.payload, "actor": self.actor,
            "recorded_at": self.recorded_at, "prev_hash": self.prev_hash, "hash": self.hash,
        }


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


def event_hash(canonical: bytes) -> str:
    """Return hex SHA-256("provenance-ledger/event/v1\\n" || canonical)."""
    return hashlib.sha256(EVENT_HASH_PREFIX + canonical).hexdigest()


def make_event(
    seq: int, type_: str, record_id: str, contract: str, payload: dict[str, Any],
    actor: str, recorded_at: str, prev_hash: str,
) -> Event:
    """Return a new event with its payload canonicalised and its hash computed."""
    return make_event_bytes(seq, type_, record_id, contract, payload, actor, recorded_at,
                            prev_hash)[0]


def make_event_bytes(
    seq: int, type_: str, record_id: str, contract: str, payload: dict[str, Any],
    actor: str, recorded_at: str, prev_hash: str,
) -> tuple[Event, bytes]:
    """Return (new event, its canonical bytes); refuse a payload above MAX_PAYLOAD_BYTES."""
    payload_bytes = canonical_bytes(payload)
    if len(payload_bytes) > MAX_PAYLOAD_BYTES:
        raise RefusedInput(f"the payload is {len(payload_bytes):,} bytes in canonical form; one "
                           f"event's payload may be at most {MAX_PAYLOAD_BYTES:,} bytes")
    payload_json = payload_bytes.decode("utf-8")
    data = envelope_bytes(seq, type_, record_id, contract, payload_json, actor, recorded_at, prev_hash)
    return Event(seq, type_, record_id, contract, payload_json, actor, recorded_at, prev_hash,
                 event_hash(data)), data


def canonical_of(event: Event) -> bytes:
    """Return canonical(e) of a stored event."""
    return envelope_bytes(event.seq, event.type, event.record_id, event.contract,
                          event.payload_json, event.actor, event.recorded_at, event.prev_hash)
