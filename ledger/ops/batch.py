"""Appending inside one write transaction: a batch keeps each touched record's state and the
head in memory, so a bulk append of many events reads each record's history once.

Single commands use a batch of one; ``ledger append --jsonl`` uses batches of thousands. Both
run exactly the same validation, planning and idempotency rules.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from ledger.core.canonical import check_depth
from ledger.core.clock import Clock, rfc3339
from ledger.core.events import Event, MadeRuns, make_event_bytes
from ledger.core.merkle import Frontier, frontier_positions, leaf_hash, stored_count, stored_index
from ledger.errors import LedgerError, RefusedInput, UnknownRecord
from ledger.model.contracts import NOTICE_CONTRACTS, contract_version, record_id
from ledger.model.defaults import fill_defaults
from ledger.model.rules import (
    NoOp,
    Planned,
    actor_problem,
    editorial_warnings,
    idle_changes,
    json_kind,
    misfiled,
    notice_subject,
    plan,
    repeated_notice,
    validate,
)
from ledger.model.state import RecordState, apply_event, fold
from ledger.ops.editor import (
    Signing,
    check_events,
    manifest_changes,
    unknown_record,
    with_the_digits,
)
from ledger.storage import proofstore, store, views
from ledger.storage.views import Shown

if TYPE_CHECKING:  # signing loads cryptography: imported only for signed ledgers
    from ledger.core.note import Signer
    from ledger.model.keyring import Keyring
    from ledger.ops.bulkprep import Prepared


@dataclass(frozen=True)
class AppendResult:
    """What one submission did: the new event, or the reason it was a no-op."""

    record_id: str
    event: Event | None
    message: str
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False  # computed, then rolled back: nothing was written
    state: Shown | None = None  # with dry_run: the record's state it would give
    # a correction's changes to the manifest as they land: {"path", "old", "new"} (editor.diff's)
    changes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def appended(self) -> bool:
        return self.event is not None


def record_id_of(raw: Any) -> str:
    """Return the normalised record id of a submitted payload; raise RefusedInput if bad."""
    if not isinstance(raw, dict):
        many = (": a payload is one document; to append many, give `ledger append --jsonl` one "
                "per line" if isinstance(raw, list) and raw and all(isinstance(d, dict) for d in raw)
                else "")
        raise RefusedInput(f"the payload must be a JSON object, not {json_kind(raw)}{many}")
    check_depth(raw)
    rid = raw.get("record_id")
    if not isinstance(rid, str):
        raise RefusedInput("the payload has no record_id")
    return record_id(rid)


def load_keyring(conn: sqlite3.Connection) -> Keyring:
    """Return the keyring, each key event's signature checked (``keyring.verified_keyring``)."""
    from ledger.model.keyring import verified_keyring

    return verified_keyring(store.key_events(conn), lambda seq: proofstore.signature_covering(conn, seq),
                            lambda a, b: list(store.iter_events(conn, a - 1, b)))


def load_frontier(conn: sqlite3.Connection, size: int) -> Frontier:
    """Return the frontier of the stored tree of ``size`` leaves."""
    positions = frontier_positions(size)
    return Frontier.of(size, proofstore.read_hashes(conn, [stored_index(level, index)
                                                           for level, index in positions]))


@dataclass
class Carry:
    """What a committed batch knew, for the next batch of the same handle (``Ledger.submit``).

    Valid only while the log's head is still (seq, prev): a batch that finds another head
    (another writer appended) starts afresh. It holds the states and view rows of at most
    CARRY_RECORDS records; the rows are those the batch wrote (and ``row_caches`` the rows
    ``views.rows_for`` made them from, reused for what did not change).
    """

    seq: int
    prev: str
    frontier: Frontier
    signed: bool
    keyring: Keyring | None
    states: dict[str, RecordState | None]
    stored_rows: dict[str, views.Rows]
    row_caches: dict[str, views.RowCache]
    whole: bool  # the events table was found to hold seqs 1 to the head (``Batch._checked``)


CARRY_RECORDS = 1024
HELD_EVENTS = 1024  # with hold_events: at most so many events wait to be inserted together


def _not_in_force(signer: Signer | None, keyring: Keyring | None) -> str:
    """Say why a signed ledger refuses an append: no key given, or the key given is revoked or
    not in its keyring."""
    if signer is None:
        return ("this ledger requires every event to be signed: give --key FILE (or LEDGER_KEY) "
                "with a key in its keyring that is not revoked")
    from ledger.core.note import key_label

    name = f"key {key_label(signer.name, signer.key_id)}"
    known = keyring.keys.get(signer.key_id) if keyring is not None else None
    if known is not None:
        return (f"{name} was revoked at seq {known.revoked_seq}: it signs nothing more here; give "
                "--key FILE with a key in force (`ledger key list`)")
    return (f"{name} is not in this ledger's keyring: an admin adds it (`ledger --key ADMIN_KEY "
            "key add FILE.vkey --role writer`), or give --key FILE with a key in force "
            "(`ledger key list`)")


class Batch:
    """Appends inside the caller's write transaction; ``flush`` writes the touched views."""

    def __init__(self, conn: sqlite3.Connection, clock: Clock, signer: Signer | None = None,
                 carry: Carry | None = None, hold_events: bool = False) -> None:
        self.conn, self.clock, self.signer = conn, clock, signer
        self.seq, self.prev = store.head(conn)
        mirrored = store.meta(conn, "mirror_of")
        if mirrored is not None:
            raise RefusedInput(f"this ledger is a mirror of {mirrored} kept by `ledger monitor`: "
                               "it takes no appends of its own")
        store.index_notices_v11(conn)  # a file made before correction-record-v1.1
        self.v2 = store.event_format(conn) >= 2  # members committed one by one (format v2)
        self.unsigned_from = self.first = self.seq + 1  # ``first``: this batch's first seq
        self.row_caches: dict[str, views.RowCache]
        if carry is not None and (carry.seq, carry.prev) == (self.seq, self.prev):
            self.signed, self.keyring, self.frontier = carry.signed, carry.keyring, carry.frontier
            self.states, self.stored_rows = carry.states, carry.stored_rows
            self.row_caches, self.whole = carry.row_caches, carry.whole
        else:
            self.signed = store.is_signed(conn)
            self.keyring = load_keyring(conn) if self.signed else None
            self.frontier = load_frontier(conn, self.seq)
            self.states = {}
            self.stored_rows = {}  # view rows as they are in the database
            self.row_caches = {}
            self.whole = False
        self.signing: Signing | None = None  # made from the keyring when a record is checked
        self._check_signer(signer)
        self.dirty: set[str] = set()
        self.appended = 0
        # The tree hashes of this batch's events, stored together by ``flush`` (nothing reads
        # them before): they go at positions hashes_from, hashes_from + 1, … in append order.
        self.hashes: list[bytes] = []
        self.hashes_from = stored_count(self.seq)
        # hold_events (a bulk append, whose caller reads nothing until ``flush``): the events
        # too are inserted together, HELD_EVENTS at most, and before the batch reads the events
        # table or flushes; a notice held is found by its id meanwhile (``lookup_notice``).
        self.hold_events = hold_events
        self.held: list[Event] = []
        self.held_records: set[str] = set()
        self.held_notices: dict[str, tuple[str, str]] = {}

    def carry(self, records: int = CARRY_RECORDS) -> Carry:
        """Return what the next batch may reuse once this one is committed: the states of the
        ``records`` it touched last, at most."""
        surplus = len(self.states) - records
        for rid in list(self.states)[:surplus] if surplus > 0 else ():  # the oldest first
            del self.states[rid]
            self.stored_rows.pop(rid, None)
            self.row_caches.pop(rid, None)
        return Carry(self.seq, self.prev, self.frontier, self.signed, self.keyring, self.states,
                     self.stored_rows, self.row_caches, self.whole)

    def _check_signer(self, signer: Signer | None) -> None:
        if signer is not None and self.seq > 0 and not self.signed:
            raise RefusedInput("this ledger does not take signatures (it was not created with "
                               "`ledger init --require-signatures`): drop --key (and LEDGER_KEY, "
                               "if it is set)")
        if self.signed and (signer is None or self.keyring is None
                            or self.keyring.in_force(signer.key_id) is None):
            raise RefusedInput(_not_in_force(signer, self.keyring))

    def state(self, rid: str) -> RecordState | None:
        """Return the record's current state, folding its stored events on first use."""
        if rid not in self.states:
            if rid in self.held_records:
                self.insert_held()
            events = store.record_events(self.conn, rid)
            if events and events[-1].seq < self.first:  # else checked by this batch already
                self._checked(rid, events)
            state = fold(events)
            self.states[rid] = state
            if rid not in self.stored_rows:
                # What the view tables hold now: read once, before this batch changes the record.
                self.stored_rows[rid] = (views.read_rows(self.conn, rid) if state is not None
                                         else views.EMPTY_ROWS)
        return self.states[rid]

    def _checked(self, rid: str, events: list[Event]) -> None:
        """Check a record's stored events as a reader checks those it shows
        (``editor.check_events``: hashes, members, tree leaves, links, the table whole, and in
        a signed ledger each event's signature by a key of the batch's keyring): no append is
        planned on a state that an edit of the file behind the ledger's back made. Raise
        VerificationError (CorruptEvent) naming the seq, ``refusing to append to RECORD: …``."""
        head = self.seq - len(self.held)  # the table's: the events held are not in it yet
        if self.signing is None and self.keyring is not None:  # a keyring: a signed ledger
            self.signing = Signing(self.keyring)
        check_events(self.conn, rid, events, "append to", (head, 1, head) if self.whole else None,
                     self.signing or False)
        self.whole = True  # it held seqs 1 to the head: only this batch appends meanwhile

    def _unknown(self, exc: UnknownRecord) -> UnknownRecord:
        """The refusal of an unknown record, naming the records a typing slip away from it: the
        held events are inserted first (in this transaction, as ``state`` would), so that a bulk
        append names the same records as single submits."""
        self.insert_held()
        return unknown_record(self.conn, exc.record_id, exc.then)

    def add(self, contract: str, raw: Any, actor: str, guard: bool = False) -> AppendResult:
        """Validate, plan and append one payload (or return a no-op). ``guard``: also refuse a
        notice that repeats a status-setting kind already in force (an editor's command without
        --force), and give editorial warnings."""
        if contract == "actor-key-v1":
            raise RefusedInput("keys are added and revoked with `ledger key add|revoke`")
        if contract == "purge-record-v1":
            raise RefusedInput("purges are made with `ledger correct RECORD_ID --kind removal "
                               "--reason TEXT --purge`")
        try:
            rid = record_id_of(raw)
        except RefusedInput as exc:  # `ledger correct 03BE3A05`: the records with those digits
            raise with_the_digits(self.conn, exc, raw.get("record_id") if isinstance(raw, dict)
                                  else None) from None
        if rid.startswith("KEY:"):
            raise RefusedInput(f"record id {rid}: the prefix KEY is reserved for the keyring")
        actor = self.signer.name if self.signer is not None else actor
        problem = actor_problem(actor)
        if problem is not None:
            raise RefusedInput(f"{problem}: give another with --actor (or LEDGER_ACTOR)")
        state = self.state(rid)
        now = self.clock()  # one moment per append: the defaults and recorded_at agree
        contract = contract_version(contract, raw)
        doc, filled = fill_defaults(contract, raw, state.version if state else None, actor, now)
        try:
            payload = validate(contract, doc)
        except RefusedInput as exc:
            wrong_file = misfiled(contract, raw)
            if wrong_file is None:
                raise
            raise RefusedInput(wrong_file) from exc
        try:
            outcome = plan(contract, payload, state, self.lookup_notice, filled)
        except UnknownRecord as exc:
            raise self._unknown(exc) from None
        if isinstance(outcome, NoOp):
            return AppendResult(rid, None, outcome.message)
        warnings = []
        if guard:
            if outcome.type == "notice.issued" and state is not None:
                doubtful = repeated_notice(outcome.payload, state) or idle_changes(
                    outcome.payload, state, notice_subject(outcome.payload, filled))
                if doubtful is not None:
                    raise RefusedInput(doubtful)
            warnings = editorial_warnings(contract, outcome.payload, state, now)
        before = state.manifest if state is not None else None  # replaced, never edited, by a fold
        result = self._apply(outcome, state, contract, actor, now, warnings=warnings)
        if before is not None and outcome.payload.get("changes") and \
                outcome.payload.get("kind") == "correction" and state is not None:
            result.changes.extend(manifest_changes(before, state.manifest))
        return result

    def add_prepared(self, prepared: Prepared) -> AppendResult:
        """``add`` for a line a bulk helper prepared (``ops.bulkprep``): the same defaults, rules
        and event, with the validation and the members' commitments already made."""
        contract, actor, payload, deferred, filled, made, _ = prepared
        rid = str(payload["record_id"])
        actor = self.signer.name if self.signer is not None else actor
        state = self.state(rid)
        now = self.clock()
        if deferred:  # the stand-ins give way to the real defaults, filled as ``add`` fills them
            kept = {key: value for key, value in payload.items() if key not in deferred}
            payload, refilled = fill_defaults(contract, kept, state.version if state else None,
                                              actor, now)
            filled = filled.difference(deferred) | refilled
            if payload.get("target_version", 1) < 1:  # never for a record that has a version
                payload = validate(contract, payload)
        try:
            outcome = plan(contract, payload, state, self.lookup_notice, filled)
        except UnknownRecord as exc:
            raise self._unknown(exc) from None
        if isinstance(outcome, NoOp):
            return AppendResult(rid, None, outcome.message)
        return self._apply(outcome, state, contract, actor, now, (made, deferred))

    def _apply(self, outcome: Planned, state: RecordState | None, contract: str, actor: str,
               now: dt.datetime, made: tuple[MadeRuns, list[str]] | None = None,
               warnings: list[str] | None = None) -> AppendResult:
        """Append the planned event and fold it into the record's state. ``made``: its members
        made ahead of time, but those named (``events.make_event_bytes``)."""
        rid = outcome.record_id
        event = self._append(outcome.type, rid, contract, outcome.payload, actor, now, made)
        self.states[rid] = apply_event(state, event, orjson.loads(event.payload_json))
        self.dirty.add(rid)
        return AppendResult(rid, event, f"appended seq {event.seq} {event.type} {rid}",
                            warnings or [])

    def _append(self, type_: str, rid: str, contract: str, payload: dict[str, Any],
                actor: str, now: dt.datetime | None = None,
                made: tuple[MadeRuns, list[str]] | None = None) -> Event:
        """Insert the next event and its Merkle hashes; return it."""
        event, canonical = make_event_bytes(self.seq + 1, type_, rid, contract, payload, actor,
                                            rfc3339(now or self.clock()), self.prev, self.v2,
                                            *(made or (None, None)))
        if self.hold_events:
            if len(self.held) >= HELD_EVENTS:
                self.insert_held()
            self.held.append(event)
            self.held_records.add(rid)
            if contract in NOTICE_CONTRACTS:
                self.held_notices.setdefault(str(payload["notice_id"]), (rid, event.payload_json))
        else:
            store.insert_event(self.conn, event)
        self.hashes += self.frontier.append(leaf_hash(canonical))
        self.seq, self.prev = event.seq, event.hash
        self.appended += 1
        return event

    def add_key(self, type_: str, raw: dict[str, Any]) -> AppendResult:
        """Append a key.added / key.revoked event, signed by an admin key (or a no-op)."""
        from ledger.core.note import key_label, parse_verifier
        from ledger.model.keyring import Keyring, check_key_event

        payload = validate("actor-key-v1", raw)
        keyring = self.keyring or Keyring()
        verifier = parse_verifier(payload["vkey"])
        entry = keyring.in_force(verifier.key_id)
        rid = payload["record_id"]
        name = key_label(verifier.name, verifier.key_id)
        if type_ == "key.added" and entry is not None and entry.role == payload["role"]:
            return AppendResult(rid, None, f"no change: key {name} is already in the keyring")
        known = keyring.keys.get(verifier.key_id)
        if type_ == "key.revoked" and entry is None and known is not None:  # as a re-sent add
            return AppendResult(rid, None, f"no change: key {name} was revoked at seq "
                                f"{known.revoked_seq}")
        check_key_event(type_, payload, keyring, self.seq + 1, self.signer)
        assert self.signer is not None
        event = self._append(type_, rid, "actor-key-v1", payload, self.signer.name)
        warnings = ([f"key {name} was revoked at seq {known.revoked_seq}: added again, it signs "
                     "again, for whoever holds its private key (a key revoked as lost or leaked "
                     "stays so: make a new one with `ledger keygen`)"]
                    if type_ == "key.added" and known is not None else [])
        keyring.apply(event, payload)
        self.keyring, self.signed = keyring, True
        return AppendResult(rid, event, f"appended seq {event.seq} {type_} {rid}", warnings)

    def lookup_notice(self, notice_id: str) -> tuple[str, dict[str, Any]] | None:
        """Return (record id, payload) of the notice with that id, or None. A stored notice's
        record is checked first, as ``state`` checks the record appended to: the rules refuse
        the id as taken, or take a re-sent notice as a no-op, on the event that record's checks
        cover, never on a row edited behind the ledger's back (its payload given the id, or
        the row another record's id)."""
        found = store.find_notice(self.conn, notice_id)
        if found is not None:
            self.state(found[0])  # raises VerificationError naming the seq of an edited row
        else:
            found = self.held_notices.get(notice_id)
        return None if found is None else (found[0], orjson.loads(found[1]))

    def insert_held(self) -> None:
        """Insert the events held so far (``hold_events``), in order."""
        if self.held:
            store.insert_events(self.conn, self.held)
            self.held, self.held_records, self.held_notices = [], set(), {}

    @contextlib.contextmanager
    def savepoint(self, record_id: str) -> Iterator[None]:
        """Undo everything appended inside the block (database and memory) if it raises."""
        self.insert_held()
        saved = (self.seq, self.prev, self.frontier.copy(), self.appended, set(self.dirty),
                 list(self.hashes), self.hashes_from)
        try:
            with store.savepoint(self.conn):
                yield
        except LedgerError:
            (self.seq, self.prev, self.frontier, self.appended, self.dirty, self.hashes,
             self.hashes_from) = saved
            self.held, self.held_records, self.held_notices = [], set(), {}
            self.states.pop(record_id, None)  # re-folded from the rolled-back database
            raise

    def flush(self) -> None:
        """Store the tree hashes of the events appended since the last flush, and rewrite the
        view rows of every record this batch touched."""
        self.insert_held()
        if self.hashes:
            proofstore.insert_hashes(self.conn, self.hashes_from, self.hashes)
            self.hashes_from += len(self.hashes)
            self.hashes = []
        new: views.Rows = {}  # rows of records that had none: inserted together
        for rid in sorted(self.dirty):
            state = self.state(rid)
            if state is None:
                continue
            rows = views.rows_for(state, self.row_caches.setdefault(rid, {}))
            before = self.stored_rows.get(rid, views.EMPTY_ROWS)
            if before is views.EMPTY_ROWS:
                for table, table_rows in rows.items():
                    new.setdefault(table, []).extend(table_rows)
            else:
                views.write_rows(self.conn, before, rows)
            self.stored_rows[rid] = rows
        views.insert_rows(self.conn, new, replace=True)
        if self.appended:
            views.set_applied(self.conn, self.seq, self.prev)
        self.dirty.clear()
        if self.signed and self.signer is not None and self.seq >= self.unsigned_from:
            from ledger.model.keyring import sign_range

            proofstore.insert_signature(self.conn, self.unsigned_from, self.seq, self.signer.key_id,
                                   sign_range(self.signer, self.unsigned_from, self.seq, self.prev))
            self.unsigned_from = self.seq + 1
