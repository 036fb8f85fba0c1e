"""Record bundles: one record's events with inclusion proofs against a signed checkpoint.

A bundle is verifiable without the database: check the checkpoint signature, recompute each
event's canonical bytes and hash, check each inclusion proof against the checkpoint root, then
re-derive the record's state from the events by the same fold the ledger uses.

    {"format": "provenance-ledger-bundle-v1", "record_id": …, "checkpoint": <signed note>,
     "events": [{"event": <envelope>, "index": seq − 1, "proof": [base64, …]}, …],
     "state": <the ledger's show object for the record as of the checkpoint>}

A v2 event's envelope also carries its ``salts`` and ``commitments``: each payload member is
checked against its commitment, and a withheld member must be covered by the record's purge in
the bundle, unless that purge came after the checkpoint (its marker then names a later seq).

What a bundle cannot prove: that no event of the record is missing from it. The checkpoint
commits to every event, so an auditor with the log checks completeness
(``verify_bundle_against``: the log verified, extending the bundle's checkpoint, and the
record's events up to its size compared with the bundle's, seq by seq).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import sqlite3
from typing import Any

from ledger.core.canonical import MAX_DEPTH, canonical_bytes, check_depth
from ledger.core.checkpoint import Checkpoint, open_checkpoint
from ledger.core.events import Event, check_members, event_hash
from ledger.core.merkle import leaf_hash
from ledger.core.merkle_check import check_inclusion
from ledger.core.note import Verifier
from ledger.core.progress import Progress
from ledger.errors import LedgerError, RefusedInput, VerificationError
from ledger.model.purge import as_checkable, check_withheld_member, note_event, replay
from ledger.model.state import fold, fold_record
from ledger.ops.proofs import Prover, check_root
from ledger.storage import store, views
from ledger.storage.views import Shown

BUNDLE_FORMAT = "provenance-ledger-bundle-v1"
ENVELOPE_KEYS = ("seq", "type", "record_id", "contract", "payload", "actor", "recorded_at",
                 "prev_hash", "hash")
V2_KEYS = (*ENVELOPE_KEYS, "salts", "commitments")
HASHED_V2 = ("actor", "commitments", "contract", "prev_hash", "record_id", "recorded_at", "seq",
             "type")


def make_bundle(conn: sqlite3.Connection, record_id: str, note: str,
                checkpoint: Checkpoint, prover: Prover | None = None,
                read: tuple[list[Event], Shown] | None = None) -> dict[str, Any]:
    """Return the bundle of one record's events up to the checkpoint size (``prover``: one
    shared by many bundles at that size, in the same read snapshot; ``read``: the record's
    events up to that size and their show object, when the caller has read and folded them
    already in that snapshot)."""
    if read is None:
        events = store.record_events(conn, record_id, checkpoint.size)
        state = fold_record(as_checkable(events, checkpoint.size))
        shown = views.show_of(state) if state is not None else None
    else:
        events, shown = read
    if not events or shown is None:
        raise RefusedInput(f"record {record_id} has no events within the checkpoint "
                           f"(size {checkpoint.size})")
    prover = prover or Prover(conn, checkpoint.size)
    items = []
    for event, inclusion in zip(events, prover.prove_all(events), strict=True):
        check_root(inclusion, checkpoint)
        items.append({"event": event.envelope(), "index": event.seq - 1,
                      "proof": prover.texts(inclusion.proof)})
    return {"format": BUNDLE_FORMAT, "record_id": record_id, "checkpoint": note, "events": items,
            "state": shown}


def verify_bundle(bundle: Any, verifier: Verifier) -> tuple[Checkpoint, Shown]:
    """Return (checkpoint, re-derived state) of a valid bundle; raise LedgerError otherwise."""
    checkpoint, _, derived = _verified(bundle, verifier)
    return checkpoint, derived


def verify_bundle_against(bundle: Any, verifier: Verifier, conn: sqlite3.Connection,
                          progress: Progress | None = None, log_verified: bool = False,
                          ) -> tuple[Checkpoint, Shown, list[Event]]:
    """Return (checkpoint, re-derived state, the record's events the log holds after the
    checkpoint) of a valid bundle that holds every event of its record the log in ``conn``
    holds up to the checkpoint's size (``compare_with_log``: the publisher's file, or a mirror
    `monitor` keeps; ``progress`` counts its events as they are verified). ``log_verified``:
    the caller verified the log in this reading, to extend this bundle's checkpoint among
    others (``verify_log_extends``: many bundles, one verification), and holds the read
    transaction it verified in, so that the comparison reads the very log it verified."""
    checkpoint, events, derived = _verified(bundle, verifier)
    seqs = {event.seq for event in events}
    if log_verified:
        return checkpoint, derived, compare_with_log(conn, derived["record_id"], checkpoint, seqs)
    with store.read_snapshot(conn):  # a file edited after the verification is not what is read
        verify_log_extends(conn, [checkpoint], progress)
        return checkpoint, derived, compare_with_log(conn, derived["record_id"], checkpoint, seqs)


def bundle_checkpoint(bundle: Any, verifier: Verifier) -> Checkpoint:
    """Return the checkpoint of what claims to be a bundle, its signature checked (nothing else
    of the bundle is)."""
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        raise RefusedInput(f"not a bundle (expected format {BUNDLE_FORMAT})")
    check_depth(bundle, MAX_DEPTH + 8)  # events and state wrap payloads in a few more levels
    return open_checkpoint(_str(bundle, "checkpoint"), verifier)


def _verified(bundle: Any, verifier: Verifier) -> tuple[Checkpoint, list[Event], Shown]:
    """Return (checkpoint, events, re-derived state) of a valid bundle (``verify_bundle``)."""
    checkpoint = bundle_checkpoint(bundle, verifier)
    items = bundle.get("events")
    if not isinstance(items, list) or not items:
        raise RefusedInput("the bundle has no events")
    events = [_check_item(item, checkpoint, _str(bundle, "record_id"), n)
              for n, item in enumerate(items)]
    for before, after in itertools.pairwise(events):
        if after.seq <= before.seq:
            raise VerificationError(after.seq, "bundle events are not in increasing seq order")
    _check_withheld(events, checkpoint.size)
    state = fold(as_checkable(events, checkpoint.size))
    assert state is not None
    derived = views.show_of(state)
    if canonical_bytes(derived) != canonical_bytes(bundle.get("state")):
        raise VerificationError(events[-1].seq, "the bundle's stated record state differs from "
                                f"the state its events give (status {derived['status']})")
    return checkpoint, events, derived


def verify_log_extends(conn: sqlite3.Connection, checkpoints: list[Checkpoint],
                       progress: Progress | None = None) -> None:
    """Verify the log in ``conn`` as ``verify`` verifies it (so each event's record id is the
    one its hash covers) and that it extends each of ``checkpoints`` (the same root at its
    size), before bundles of them are compared with it; raise the failure (naming the seq)."""
    from ledger.ops.verification import kept_checkpoints, verify_kept

    report = verify_kept(conn, kept_checkpoints(checkpoints), progress)
    if not report.ok:
        raise report.failure("refusing to check bundles against the ledger")


def compare_with_log(conn: sqlite3.Connection, record_id: str, checkpoint: Checkpoint,
                     seqs: set[int]) -> list[Event]:
    """Refuse a bundle's events, at ``seqs`` (each already proven in ``checkpoint`` as an event
    of ``record_id``), unless they are every event of the record that the log in ``conn``
    (verified, extending the checkpoint: ``verify_log_extends``) holds up to the checkpoint's
    size. Each proven event is the log's own at its seq (the same leaf under the same root,
    its hash covering its record id), so only an event left out can differ: a bundle short of
    one (a retraction left out, its state restated from the rest) proves every event it holds,
    and only this comparison finds it. VerificationError names the seq. Return the record's
    events the log holds after the checkpoint (none of the bundle's to hold: a bundle is of its
    checkpoint, and a later one says what came since)."""
    later = []
    for stored in store.record_events(conn, record_id):
        if stored.seq > checkpoint.size:
            later.append(stored)
        elif stored.seq not in seqs:
            raise VerificationError(stored.seq, (
                f"the bundle leaves out seq {stored.seq} ({stored.type}) of {record_id}, which "
                f"the log holds within the checkpoint of size {checkpoint.size}: the state it "
                "states is not the record's"), stored.hash, "")
    return later


def _str(doc: dict[str, Any], key: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str):
        raise RefusedInput(f"the bundle's {key} is missing or not a string")
    return value


def _check_item(item: Any, checkpoint: Checkpoint, record_id: str, n: int) -> Event:
    """Return the event of one bundle item after checking its hash and inclusion proof."""
    if not isinstance(item, dict) or not isinstance(item.get("event"), dict):
        raise RefusedInput(f"bundle event #{n} is malformed")
    env = item["event"]
    v2 = set(env) == set(V2_KEYS)
    if (set(env) != set(ENVELOPE_KEYS) and not v2) or env["record_id"] != record_id:
        raise RefusedInput(f"bundle event #{n} is not an envelope of {record_id}")
    try:
        body = {k: env[k] for k in (HASHED_V2 if v2 else ENVELOPE_KEYS) if k != "hash"}
        canonical = canonical_bytes(body)
        seq = int(env["seq"])
        proof = [base64.b64decode(h, validate=True) for h in item.get("proof", [])]
        extra = ((canonical_bytes(env["salts"]).decode(), canonical_bytes(env["commitments"]).decode())
                 if v2 else (None, None))
    except (binascii.Error, ValueError, TypeError, LedgerError) as exc:
        raise RefusedInput(f"bundle event #{n} is malformed: {exc}") from None
    if event_hash(canonical, v2) != env["hash"]:
        raise VerificationError(seq, f"event hash mismatch: stated {env['hash']}, computed "
                                f"{event_hash(canonical, v2)}")
    if item.get("index") != seq - 1:
        raise VerificationError(seq, f"bundle index {item.get('index')} is not seq − 1")
    try:
        check_inclusion(seq - 1, checkpoint.size, leaf_hash(canonical), proof, checkpoint.root)
    except LedgerError as exc:
        raise VerificationError(seq, f"inclusion proof against checkpoint of size "
                                f"{checkpoint.size} fails: {exc}") from None
    event = Event(seq, str(env["type"]), record_id, str(env["contract"]),
                  canonical_bytes(env["payload"]).decode(), str(env["actor"]),
                  str(env["recorded_at"]), str(env["prev_hash"]), str(env["hash"]), *extra)
    if v2:
        try:
            check_members(event)
        except LedgerError as exc:
            raise VerificationError(seq, str(exc).removeprefix(f"seq {seq}: ")) from None
    return event


def _check_withheld(events: list[Event], size: int) -> None:
    """Raise VerificationError unless every withheld member of a v2 bundle is one a purge may
    withhold and is covered by the record's purge in the bundle, or by a purge after the
    checkpoint (``check_withheld_member``)."""
    notes: list[tuple[Any, ...]] = []
    for event in events:
        if event.commitments is None:
            continue
        withheld, payload = check_members(event), event.payload
        later = {name for name, value in withheld.items()
                 if check_withheld_member(event.seq, event.contract, payload, name, value, size)}
        note_event(notes, event.seq, event.type, event.record_id, payload,
                   {n: v for n, v in withheld.items() if n not in later})
    replay(notes).finish()
