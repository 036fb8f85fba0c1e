"""Actor keys: the keyring (kept in the log as key.added / key.revoked events) and the batch
signatures that bind events to their actors.

A ledger is *signed* when its first event is ``key.added`` (the admin key adding itself, made by
``ledger init --require-signatures``); from then on every event must be covered by a signature.
Signatures live beside the chain, in the append-only ``signatures`` table, one per batch:

    message   = "provenance-ledger/batch-signature/v1\\n" || "<first seq> <last seq> <hash of last>"
    signature = Ed25519(actor's key, message)

The hash of the last event commits to every event before it, so one signature covers the batch
(signing stays off the per-event path). A batch's events all have the key's name as actor, the
key was in force (added, not revoked) when the batch began, and key events are signed by an admin.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature

from ledger.core.encoding import b64, unb64
from ledger.core.events import Event, check_members, hash_of
from ledger.core.note import Signer, Verifier, key_label, parse_verifier
from ledger.errors import CorruptEvent, LedgerError, RefusedInput, VerificationError

SIGNATURE_PREFIX = b"provenance-ledger/batch-signature/v1\n"


def key_record_id(key_id: int) -> str:
    """Return the record id under which a key's events are logged (``KEY:1C7A550F``)."""
    return f"KEY:{key_id:08X}"


def signed_message(first: int, last: int, last_hash: str) -> bytes:
    """Return the bytes a batch signature covers."""
    return SIGNATURE_PREFIX + f"{first} {last} {last_hash}".encode()


def sign_range(signer: Signer, first: int, last: int, last_hash: str) -> str:
    """Return the base64 signature of a batch of events first..last."""
    return b64(signer.key.sign(signed_message(first, last, last_hash)))


@dataclass
class KeyEntry:
    name: str
    role: str
    verifier: Verifier
    added_seq: int
    revoked_seq: int | None = None


@dataclass
class Keyring:
    """The keys as they stand after the key events applied so far (``keys``), and every period
    each was in the keyring, oldest first (``history``: a key revoked and added again has two;
    its latest is the one in ``keys``)."""

    keys: dict[int, KeyEntry] = field(default_factory=dict)
    history: dict[int, list[KeyEntry]] = field(default_factory=dict)

    def in_force(self, key_id: int) -> KeyEntry | None:
        entry = self.keys.get(key_id)
        return entry if entry is not None and entry.revoked_seq is None else None

    def admins(self) -> list[KeyEntry]:
        return [k for k in self.keys.values() if k.revoked_seq is None and k.role == "admin"]

    def apply(self, event: Event, payload: dict[str, Any]) -> None:
        """Apply a key.added / key.revoked event (other events are ignored)."""
        if event.type == "key.added":
            verifier = parse_verifier(payload["vkey"])
            added = KeyEntry(payload["name"], payload["role"], verifier, event.seq)
            self.keys[verifier.key_id] = added
            self.history.setdefault(verifier.key_id, []).append(added)
        elif event.type == "key.revoked":
            entry = self.keys.get(parse_verifier(payload["vkey"]).key_id)
            if entry is not None:
                entry.revoked_seq = event.seq


def check_key_event(event_type: str, payload: dict[str, Any], keyring: Keyring, seq: int,
                    signer: Signer | None) -> None:
    """Raise RefusedInput unless a key event may be appended at ``seq`` by ``signer``."""
    verifier = parse_verifier(payload["vkey"])
    if payload["record_id"] != key_record_id(verifier.key_id) or payload["name"] != verifier.name:
        raise RefusedInput(f"key event for {payload['vkey'][:40]}: record_id must be "
                           f"{key_record_id(verifier.key_id)} and name {verifier.name}")
    genesis = seq == 1 and event_type == "key.added" and payload["role"] == "admin"
    if signer is None or (not genesis and (keyring.in_force(signer.key_id) is None
                                           or keyring.keys[signer.key_id].role != "admin")):
        raise RefusedInput("key events must be signed by an admin key in force (--key)")
    if genesis and signer.key_id != verifier.key_id:
        raise RefusedInput("the first admin key must sign its own key.added event")
    held = keyring.in_force(verifier.key_id)
    if event_type == "key.added" and held is not None:
        raise RefusedInput(f"key {key_label(verifier.name, verifier.key_id)} is already in the keyring, "
                           f"as {held.role}: to give it another role, revoke it (`ledger key "
                           f"revoke`) and add it again with --role {payload['role']}")
    if event_type == "key.revoked":
        entry = keyring.in_force(verifier.key_id)
        if entry is None:
            raise RefusedInput(f"key {key_label(verifier.name, verifier.key_id)} is not in force")
        if entry.role == "admin" and len(keyring.admins()) == 1:
            raise RefusedInput("refusing to revoke the last admin key: nobody could manage keys")


SignatureRow = tuple[Any, ...]  # (first seq, last seq, key id, signature) as stored


def well_formed(row: SignatureRow) -> bool:
    """Return whether a stored signature row has the types the ledger writes (integers, and
    the signature as text); its range is checked where it is used."""
    return len(row) == 4 and all(type(v) is int for v in row[:3]) and isinstance(row[3], str)


def signature_holds(entry: KeyEntry | None, first: int, last: int, last_hash: str,
                    signature: str) -> bool:
    """Return whether ``signature`` is ``entry``'s signature over the batch first..last."""
    try:
        if entry is None:
            return False
        entry.verifier.key.verify(unb64(signature), signed_message(first, last, last_hash))
    except (InvalidSignature, ValueError):
        return False
    return True


UNSIGNED = ("no signature covers this event (the ledger requires signatures): it was written "
            "without a key")


def signer_problem(entry: KeyEntry | None, event: Event, key_id: int, genesis: bool) -> str | None:
    """Return what is wrong with ``event`` being signed by ``entry`` (key ``key_id`` as it stood
    when the event's batch began; ``genesis``: seq 1 adding the first admin key, which signs its
    own addition), or None: the key in force, its name the event's actor, an admin for a key
    event."""
    if entry is None and not genesis:
        return (f"signed by key {key_id:08x}, which was not in the keyring at that point "
                "(unknown or revoked)")
    if entry is not None and event.actor != entry.name:
        return f"actor {event.actor!r} is not the signing key's name {entry.name!r}"
    if entry is not None and event.type.startswith("key.") and entry.role != "admin":
        return f"key event signed by {entry.name}, which is not an admin key"
    return None


def batch_unproven(first: int, last: int) -> str:
    """Return the failure of a batch signature that does not verify."""
    return f"the signature over seq {first}..{last} does not verify: forged, or the events were changed"


def entry_at(keyring: Keyring, key_id: int, first: int) -> KeyEntry | None:
    """Return key ``key_id`` as it stood when a batch starting at seq ``first`` began, from the
    keyring of the whole log: added by an earlier batch, not revoked by one (a batch's key events
    take effect once it is proven, and batches tile the log), or the first admin key for the
    batch of seq 1, which adds it."""
    for entry in keyring.history.get(key_id, ()):
        if first == 1 == entry.added_seq:
            return entry
        if entry.added_seq < first and (entry.revoked_seq is None or entry.revoked_seq >= first):
            return entry
    return None


def genesis_entry(event: Event, key_id: int) -> KeyEntry | None:
    """Return the key that seq 1's ``key.added`` adds, if it is ``key_id``: the first admin key
    signs its own addition, so it is trusted for that batch before the keyring holds it."""
    provisional = Keyring()
    provisional.apply(event, event.payload)
    return provisional.in_force(key_id)


def verified_keyring(key_events: Iterable[Event], covering: Callable[[int], SignatureRow | None],
                     events_between: Callable[[int, int], list[Event]]) -> Keyring:
    """Return the keyring of a signed ledger for appending, trusting a key event only when its
    payload is the one its hash covers (``_check_payload``) and the signature that covers it
    verifies (by a key in force when that batch began, an admin key) over a chain that links the
    key event to the batch's last event.

    ``covering(seq)`` returns the signature row whose range holds ``seq``; ``events_between(a,
    b)`` the stored events a..b. Raises CorruptEvent naming the first key event that fails:
    the keyring was tampered with and nothing may be appended until ``verify`` is run.
    """
    keyring = Keyring()
    batches: dict[int, tuple[SignatureRow, list[Event]]] = {}
    for event in key_events:
        row = covering(event.seq)
        if row is None or not well_formed(row) or not row[0] <= event.seq <= row[1]:
            raise CorruptEvent(f"seq {event.seq}: the key event is not covered by a well-formed "
                               "signature: the keyring was tampered with (run `ledger verify`)")
        batches.setdefault(row[0], (row, []))[1].append(event)
    for row, group in batches.values():
        first, last, key_id, signature = row
        for event in group:
            _check_payload(event)
        chain = events_between(group[0].seq, last)
        for before, after in itertools.pairwise(chain):
            if after.prev_hash != before.hash:
                raise CorruptEvent(f"seq {after.seq}: the chain after key event seq "
                                   f"{group[0].seq} is broken (run `ledger verify`)")
        entry = keyring.in_force(key_id)
        if first == 1 and group[0].seq == 1 and group[0].type == "key.added":
            entry = genesis_entry(group[0], key_id)
        if (entry is None or entry.role != "admin" or chain[-1].seq != last
                or not all(hash_of(e) == e.hash for e in chain)
                or not signature_holds(entry, first, last, chain[-1].hash, signature)):
            raise CorruptEvent(f"seq {group[0].seq}: the key event's signature (seq {first}.."
                               f"{last}) does not verify: the keyring was tampered with, nothing "
                               "is appended (run `ledger verify`)")
        for event in group:
            keyring.apply(event, event.payload)
    return keyring


def _check_payload(event: Event) -> None:
    """Raise CorruptEvent unless a key event's stored payload is the one its hash covers. In
    format v2 the hash covers each member's commitment, not the stored value: a vkey or role
    edited in the file leaves the hash, the chain and the batch signature as they were, so each
    member is checked against its commitment (and a key's payload is never withheld)."""
    if event.commitments is None:
        return  # format v1: the hash covers the payload text itself
    try:
        complete = not check_members(event)  # a withheld member: no purge reaches a key
    except LedgerError:
        complete = False
    if not complete:
        raise CorruptEvent(f"seq {event.seq}: the key event's payload is not the one its hash "
                           "covers (a member does not match its commitment): the keyring was "
                           "tampered with, nothing is appended (run `ledger verify`)")


class SignatureCheck:
    """Checks, event by event in seq order, that a signed ledger's events are all signed.

    The rows of the signatures table, in order of their first seq, must tile the log exactly:
    each well formed (integers, first <= last, a signature that is text), each starting right
    after the one before (no gap, no overlap), the last one ending at the head, and none beyond
    it. Each row's signature is checked when its last event is reached, before any later event
    is looked at; the key events of a batch take effect only once that batch's signature
    verifies, so a key added by an event whose signature does not verify is never trusted.
    """

    def __init__(self, rows: Iterator[tuple[Any, ...]]) -> None:
        self.rows, self.keyring = rows, Keyring()
        self.row: tuple[int, int, int, str] | None = None
        self.signed = False
        self.entry: KeyEntry | None = None  # the signing key as it stood when the batch began
        self.pending: list[tuple[Event, dict[str, Any]]] = []  # key events of this batch

    def _next_row(self, seq: int) -> tuple[int, int, int, str]:
        """Return the signature row that must start at ``seq``; raise naming ``seq`` otherwise."""
        row = next(self.rows, None)
        if row is None:
            raise VerificationError(seq, UNSIGNED)
        if not well_formed(row):
            raise VerificationError(seq, f"the signature row for seq {row[0]!r} is malformed "
                                    f"({row!r:.120}): table signatures was edited")
        first, last = row[0], row[1]
        if first != seq or last < first:
            shape = ("empty or inverted" if last < first else
                     "overlaps the signature before it" if first < seq else
                     "leaves a gap before it")
            raise VerificationError(seq, f"no signature covers this event: the next stored "
                                    f"signature row, seq {first}..{last}, {shape} (table "
                                    "signatures was edited)")
        return row[0], row[1], row[2], row[3]

    def add(self, event: Event) -> None:
        """Check ``event``; raise VerificationError naming it if it is not properly signed."""
        if event.seq == 1:
            self.signed = event.type == "key.added"
        if not self.signed:
            return
        if self.row is None or event.seq > self.row[1]:
            self.row = self._next_row(event.seq)
            self.entry = self.keyring.in_force(self.row[2])
        first, last, key_id, signature = self.row
        entry = self.entry
        genesis = event.seq == 1 and event.type == "key.added"
        problem = signer_problem(entry, event, key_id, genesis)
        if problem is not None:
            raise VerificationError(event.seq, problem)
        if event.type.startswith("key."):
            self.pending.append((event, event.payload))
        if genesis:
            self.entry = entry = genesis_entry(event, key_id)
        if event.seq == last:
            if not signature_holds(entry, first, last, event.hash, signature):
                raise VerificationError(event.seq, batch_unproven(first, last))
            for key_event, payload in self.pending:  # the batch is proven: its keys count now
                self.keyring.apply(key_event, payload)
            self.pending.clear()

    def finish(self, size: int) -> None:
        if not self.signed:
            return
        if self.row is not None and self.row[1] > size:
            raise VerificationError(size + 1, "a signature covers events beyond the end of the "
                                    "log: the tail was truncated")
        extra = next(self.rows, None)
        if extra is not None:
            raise VerificationError(size + 1, f"the signatures table has a row for seq "
                                    f"{extra[0]!r}..{extra[1]!r}, beyond the {size} events of the "
                                    "log: the tail was truncated, or the row was forged")
