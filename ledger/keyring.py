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

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature

from ledger.errors import RefusedInput, VerificationError
from ledger.events import Event
from ledger.note import Signer, Verifier, parse_verifier

SIGNATURE_PREFIX = b"provenance-ledger/batch-signature/v1\n"


def key_record_id(key_id: int) -> str:
    """Return the record id under which a key's events are logged (``KEY:1C7A550F``)."""
    return f"KEY:{key_id:08X}"


def signed_message(first: int, last: int, last_hash: str) -> bytes:
    """Return the bytes a batch signature covers."""
    return SIGNATURE_PREFIX + f"{first} {last} {last_hash}".encode()


def sign_range(signer: Signer, first: int, last: int, last_hash: str) -> str:
    """Return the base64 signature of a batch of events first..last."""
    return base64.b64encode(signer.key.sign(signed_message(first, last, last_hash))).decode()


@dataclass
class KeyEntry:
    name: str
    role: str
    verifier: Verifier
    added_seq: int
    revoked_seq: int | None = None


@dataclass
class Keyring:
    """The keys as they stand after the key events applied so far."""

    keys: dict[int, KeyEntry] = field(default_factory=dict)

    def in_force(self, key_id: int) -> KeyEntry | None:
        entry = self.keys.get(key_id)
        return entry if entry is not None and entry.revoked_seq is None else None

    def admins(self) -> list[KeyEntry]:
        return [k for k in self.keys.values() if k.revoked_seq is None and k.role == "admin"]

    def apply(self, event: Event, payload: dict[str, Any]) -> None:
        """Apply a key.added / key.revoked event (other events are ignored)."""
        if event.type == "key.added":
            verifier = parse_verifier(payload["vkey"])
            self.keys[verifier.key_id] = KeyEntry(payload["name"], payload["role"], verifier,
                                                  event.seq)
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
    if event_type == "key.added" and keyring.in_force(verifier.key_id) is not None:
        raise RefusedInput(f"key {verifier.name}+{verifier.key_id:08x} is already in the keyring")
    if event_type == "key.revoked":
        entry = keyring.in_force(verifier.key_id)
        if entry is None:
            raise RefusedInput(f"key {verifier.name}+{verifier.key_id:08x} is not in force")
        if entry.role == "admin" and len(keyring.admins()) == 1:
            raise RefusedInput("refusing to revoke the last admin key: nobody could manage keys")


class SignatureCheck:
    """Checks, event by event in seq order, that a signed ledger's events are all signed."""

    def __init__(self, rows: Iterator[tuple[int, int, int, str]]) -> None:
        self.rows, self.keyring = rows, Keyring()
        self.row: tuple[int, int, int, str] | None = None
        self.signed = False
        self.entry: KeyEntry | None = None  # the signing key as it stood when the batch began

    def add(self, event: Event) -> None:
        """Check ``event``; raise VerificationError naming it if it is not properly signed."""
        if event.seq == 1:
            self.signed = event.type == "key.added"
        if not self.signed:
            return
        if self.row is None or event.seq > self.row[1]:
            self.row = next(self.rows, None)
            if self.row is None or self.row[0] != event.seq:
                raise VerificationError(event.seq, "no signature covers this event (the ledger "
                                        "requires signatures): it was written without a key")
            self.entry = self.keyring.in_force(self.row[2])
        first, last, key_id, signature = self.row
        entry = self.entry
        if entry is None and not (event.seq == 1 and event.type == "key.added"):
            raise VerificationError(event.seq, f"signed by key {key_id:08x}, which was not in "
                                    "the keyring at that point (unknown or revoked)")
        if entry is not None and event.actor != entry.name:
            raise VerificationError(event.seq, f"actor {event.actor!r} is not the signing key's "
                                    f"name {entry.name!r}")
        if entry is not None and event.type.startswith("key.") and entry.role != "admin":
            raise VerificationError(event.seq, f"key event signed by {entry.name}, which is not "
                                    "an admin key")
        self.keyring.apply(event, event.payload if event.type.startswith("key.") else {})
        if event.seq == 1 and entry is None:
            entry = self.keyring.in_force(key_id)
            self.entry = entry
        if event.seq == last:
            self._verify(entry, first, last, event, signature)

    def _verify(self, entry: KeyEntry | None, first: int, last: int, event: Event,
                signature: str) -> None:
        try:
            if entry is None:
                raise ValueError("no key")
            entry.verifier.key.verify(base64.b64decode(signature),
                                      signed_message(first, last, event.hash))
        except (InvalidSignature, ValueError):
            raise VerificationError(event.seq, f"the signature over seq {first}..{last} does not "
                                    "verify: forged, or the events were changed") from None

    def finish(self, size: int) -> None:
        if self.signed and self.row is not None and self.row[1] > size:
            raise VerificationError(size + 1, "a signature covers events beyond the end of the "
                                    "log: the tail was truncated")
