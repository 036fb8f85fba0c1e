"""``correct RECORD_ID --kind removal --purge``: a removal notice that takes the content down.

In one write transaction: the removal notice (or the same notice, already issued), then a
``record.purged`` event listing what it withholds, then every listed member's value replaced by a
withheld marker and its salt deleted. The envelopes are not touched, so every hash, signature,
checkpoint and proof stays valid. SQLite's ``secure_delete`` is on for the transaction (freed
cells and pages are zeroed); afterwards the file is rewritten (``VACUUM``: no free pages, no
stale bytes in a page's unused space) and the write-ahead log checkpointed and truncated, so
that no byte of a purged value stays in the file, its WAL or its free pages.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ledger.core.canonical import canonical_bytes
from ledger.core.clock import Clock
from ledger.core.events import Event, is_withheld
from ledger.errors import RefusedInput, StoreError
from ledger.model import purge as rules
from ledger.model.defaults import generated_notice_id
from ledger.model.rules import validate
from ledger.ops.batch import AppendResult, Batch
from ledger.storage import searchindex, store

if TYPE_CHECKING:
    from ledger.core.note import Signer


@dataclass
class PurgeResult:
    """What a purge did: the notice's append (or no-op), the purge event, what it withheld."""

    notice: AppendResult
    purge: Event | None
    withheld: list[tuple[int, list[str]]] = field(default_factory=list)  # (seq, members)
    wal_kept: bool = False  # a reader held the write-ahead log: it was not truncated

    @property
    def members(self) -> int:
        return sum(len(m) for _, m in self.withheld)


def purge_plan(events: Iterable[Event], notice_seq: int,
               fields: list[str] | None) -> list[dict[str, Any]]:
    """Return the ``purged`` entries of a purge: for each event of the record before its removal
    notice that may be purged, the members still stored that it withholds (only ``fields``, if
    given), and for a correction's ``changes`` the manifest members they set.

    A correction's ``changes`` that set a named member are that member's content too, so they
    are withheld with it (else the current manifest could not be derived: a change would
    point into a withheld value)."""
    entries = []
    for event in events:
        if event.seq >= notice_seq or event.commitments is None:
            continue
        payload = event.payload
        if not rules.purgeable(event.contract, payload):
            continue
        names = sorted(n for n in rules.PURGEABLE[event.contract] & payload.keys()
                       if not is_withheld(payload[n]) and (
                           fields is None or n in fields
                           or (n == "changes" and not set(fields).isdisjoint(
                               rules.changed_members(payload[n])))))
        if not names:
            continue
        entry: dict[str, Any] = {"seq": event.seq, "members": names}
        if "changes" in names:
            entry["changed"] = rules.changed_members(payload["changes"])
        entries.append(entry)
    return entries


def purge(conn: sqlite3.Connection, clock: Clock, signer: Signer | None, notice: dict[str, Any],
          actor: str, fields: Iterable[str] = (),
          rewriting: Callable[[int], None] | None = None) -> PurgeResult:
    """Issue the removal ``notice`` and purge the record's earlier events (see the module);
    ``rewriting`` is told the bytes of the file before it is rewritten (``scrub``), which takes
    about as long as copying it."""
    if notice.get("kind") != "removal":
        raise RefusedInput("--purge goes with --kind removal: only a removal takes content down")
    if store.event_format(conn) < 2:
        raise RefusedInput("this ledger has event format v1, whose hashes cover whole payloads: "
                           "its content cannot be purged without breaking the chain. A ledger "
                           "made by this version's `ledger init` (format v2) can purge")
    narrowed = rules.check_fields(fields) or None
    store.secure_delete(conn, True)  # zero every cell and page the purge frees
    try:
        with store.write_transaction(conn):
            batch = Batch(conn, clock, signer)
            result = batch.add("correction-record-v1", notice, actor)
            rid, nid = result.record_id, _notice_id(result, notice)
            events = store.record_events(conn, rid)
            issued = next(e for e in events if e.type == "notice.issued"
                          and e.payload.get("notice_id") == nid)  # appended, or a re-send of it
            entries = purge_plan(events, issued.seq, narrowed)
            if not entries:
                if result.event is None:
                    raise _NothingLeft(f"nothing to purge: notice {issued.payload['notice_id']} "
                                       f"already withholds every member of {rid} it may")
                batch.flush()
                return PurgeResult(result, None)
            payload: dict[str, Any] = {"record_id": rid, "notice_id": issued.payload["notice_id"],
                                       "purged": entries}
            if narrowed is not None:
                payload["fields"] = narrowed
            purge_event = batch._append(rules.PURGE_TYPE, rid, rules.PURGE_CONTRACT,
                                        validate(rules.PURGE_CONTRACT, payload),
                                        batch.signer.name if batch.signer else actor)
            by_seq = {e.seq: e for e in events}
            for entry in entries:
                _withhold(conn, by_seq[entry["seq"]], entry, issued, purge_event.seq)
            batch.states.pop(rid, None)  # re-folded from the purged events
            batch.dirty.add(rid)
            batch.flush()
            searchindex.drop(conn)  # it may hold the purged text; the next search rebuilds it
    except _NothingLeft as nothing:  # a re-send: rewrite the file, which a run cut short may
        if not store.is_rehearsing(conn):  # have left with copies of what it withheld
            _scrub_said(conn, str(nothing), rewriting)
        raise RefusedInput(f"{nothing} (the file was rewritten again: no copy of what it "
                           "withheld remains)") from None
    finally:
        store.secure_delete(conn, False)
    wal_kept = not store.is_rehearsing(conn) and not _scrub_said(
        conn, f"the removal {issued.payload['notice_id']} (seq {issued.seq}) and its purge (seq "
              f"{purge_event.seq}) of {rid} are committed", rewriting)
    return PurgeResult(result, purge_event, [(e["seq"], e["members"]) for e in entries],
                       wal_kept=wal_kept)


class _NothingLeft(Exception):
    """A re-sent removal whose purge has nothing left to withhold."""


def _scrub_said(conn: sqlite3.Connection, done: str,
                rewriting: Callable[[int], None] | None) -> bool:
    """``scrub``; if the file cannot be rewritten (another process holding the ledger open past
    the busy timeout, no room on the disk for its copy), say what is done, what is not, and
    how to finish: before, the error said only that the ledger stayed busy, and the same command
    run again found nothing to purge and left the copies where they were."""
    try:
        return scrub(conn, rewriting)
    except StoreError as exc:
        raise StoreError(f"{done}, but the ledger file could not be rewritten ({exc}): until it "
                         "is, copies of the purged values may remain in its unused space; run "
                         "the same command again once it can be (no other process holding the "
                         "ledger open, room on the disk for a copy of the file)") from None


def scrub(conn: sqlite3.Connection, rewriting: Callable[[int], None] | None = None) -> bool:
    """Rewrite the whole file so that no stale copy of a purged value survives (SQLite leaves
    copies of moved cells in the unused part of a page, which ``secure_delete`` does not
    reach), then checkpoint and truncate the write-ahead log; return False if a reader kept
    the log from being truncated. ``rewriting`` is told the file's bytes first."""
    if rewriting is not None:
        rewriting(store.database_bytes(conn))
    store.vacuum(conn)
    return store.truncate_wal(conn)


def _notice_id(result: AppendResult, notice: dict[str, Any]) -> str:
    """Return the id of the notice just appended, or of the stored notice a re-send matched."""
    if result.event is not None:
        return str(result.event.payload["notice_id"])
    return str(notice.get("notice_id") or generated_notice_id(notice))


def _withhold(conn: sqlite3.Connection, event: Event, entry: dict[str, Any], notice: Event,
              purge_seq: int) -> None:
    payload, salts = event.payload, event.envelope()["salts"]
    for name in entry["members"]:
        changed = entry.get("changed") if name == "changes" else None
        payload[name] = rules.marker(notice.payload["notice_id"], notice.seq, purge_seq,
                                     notice.payload, changed)
        salts.pop(name, None)
    store.withhold(conn, event.seq, canonical_bytes(payload).decode(),
                   canonical_bytes(salts).decode())
