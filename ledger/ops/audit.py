"""Audit: verify the chain, replay every rule over every stored event, compare the views.

Everything ``verify`` checks, plus: each stored event was a valid append when it was made
(contract, rules, no duplicate), each view row equals a fresh derivation from the events,
no view row exists without events, the views reflect the head, and stated tiers agree with
the facts.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ledger.core.canonical import canonical_bytes
from ledger.core.checkpoint import Checkpoint
from ledger.core.escapes import printable
from ledger.core.events import KEY_TYPES, TYPE_CONTRACTS, Event, is_withheld
from ledger.core.progress import Progress
from ledger.errors import CorruptEvent, LedgerError, VerificationError
from ledger.model.purge import PURGE_TYPE, purge_problems
from ledger.model.rules import NoOp, plan, tier_contradiction, validate
from ledger.model.state import RecordState, apply_event
from ledger.model.verify import VerifyReport, check_extends, damage_report
from ledger.ops import verification
from ledger.ops.helpers import HELPERS, Helper, HelperStopped, send
from ledger.ops.proofs import stored_checkpoints
from ledger.storage import proofstore, searchindex, store, views

# Events from which the rules' replay runs in helper processes beside the verify pass: from
# here the replay costs more than starting two interpreters (~0.3 s).
PARALLEL_FROM = 5_000


@dataclass(frozen=True)
class Finding:
    check: str
    message: str
    seq: int | None = None
    record_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"check": self.check, "seq": self.seq, "record_id": self.record_id,
                "message": self.message}


# Editorial policy and the appending clocks, not integrity: warnings (errors with --strict).
EDITORIAL = frozenset({"tiers", "clock"})
CLOCK_FINDINGS = 5  # the first events recorded before the event before them, named one by one


@dataclass
class AuditReport:
    verify: VerifyReport
    records: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def integrity(self) -> list[Finding]:
        """The findings that say the file is not what the ledger wrote, or breaks its rules."""
        return [f for f in self.findings if f.check not in EDITORIAL]

    @property
    def warnings(self) -> list[Finding]:
        """Editorial-policy findings (a tier that contradicts the score) and an appending clock
        that went back: warnings."""
        return [f for f in self.findings if f.check in EDITORIAL]

    @property
    def ok(self) -> bool:
        return self.verify.ok and not self.integrity

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": self.verify.events, "records": self.records,
                "head_hash": self.verify.head_hash, "verify": self.verify.as_json(),
                "findings": [f.as_json() for f in self.integrity],
                "warnings": [f.as_json() for f in self.warnings]}


def audit(conn: sqlite3.Connection, progress: Progress | None = None,
          kept: verification.Kept | None = None) -> AuditReport:
    """Return the audit report of an open ledger (reads only). ``progress`` counts every event
    twice: once verified, once replayed through the rules with its record's views compared.
    ``kept`` (an auditor's checkpoint or earlier copy): the chain fails, as ``verify``'s would,
    unless the log extends it.

    A table SQLite finds damaged wherever audit reads it is a finding of the report, named by
    the table (as ``verify`` reports it), not an error: which read meets the damage first can
    depend on the order the reads run in."""
    try:
        signed, problems = stored_checkpoints(conn)
    except (CorruptEvent, sqlite3.DatabaseError) as exc:
        return AuditReport(_as_damage(exc))
    replaying = _start_replay(conn)  # the rules' replay runs in helpers while this verifies
    try:
        sizes = {c.size for c, _ in signed} | (kept.sizes if kept is not None else set())
        report = AuditReport(verification.verify_stored(conn, progress, thorough=True,
                                                      capture=sizes))
        try:
            _audit_rest(conn, report, signed, problems, replaying, progress)
        except (CorruptEvent, sqlite3.DatabaseError) as exc:
            damage = _as_damage(exc)
            report.findings.append(Finding(str(damage.table), str(damage.reason)))
        if kept is not None:
            report.verify = kept.extends(conn, report.verify)
        return report
    finally:
        for helper in replaying:
            helper.close()


def _as_damage(exc: CorruptEvent | sqlite3.DatabaseError) -> VerifyReport:
    """Return the report of the damaged table an error met while auditing stands for; raise
    the error itself if it stands for none."""
    found = store.damaged(exc)
    damage = damage_report(found) if found is not None else None
    if damage is None:
        raise exc
    return damage


def _audit_rest(conn: sqlite3.Connection, report: AuditReport,
                signed: list[tuple[Checkpoint, str]], problems: list[str],
                replaying: list[Helper], progress: Progress | None) -> None:
    """Everything audit checks once verify has: checkpoints, views, the rules, side tables."""
    add = report.findings.append
    if report.verify.table is not None and report.verify.events == 0:
        return  # the file's structure is not the ledger's: nothing else can be read
    for problem in problems:
        add(Finding("checkpoints", problem))
    if report.verify.ok:
        for checkpoint, _ in signed:
            try:
                check_extends(report.verify, checkpoint)
            except VerificationError as exc:
                add(Finding("checkpoints", exc.reason, exc.seq))
    seq, hash_ = store.head(conn)
    applied = views.applied(conn)
    if applied is None:
        add(Finding("views", "table view_meta: the seq and hash the views reflect are not a number "
                    "and a text: it was edited behind the ledger's back (run `ledger rebuild`)"))
    elif applied != (seq, hash_):
        add(Finding("views", f"the views reflect seq {applied[0]} ({applied[1] or 'none'}) but the "
                    f"ledger head is seq {seq} ({hash_}): truncated log or stale views"))
    try:
        by_record = _audit_records(conn, report, add, replaying, progress)
    except CorruptEvent as exc:  # the reading by record broke off: an index was tampered with
        add(Finding("events", str(exc)))
        by_record = report.verify.events
    if report.verify.ok and by_record != report.verify.events:
        add(Finding("events", f"reading the events record by record gives {by_record} events, "
                    f"the full scan in seq order {report.verify.events}: an index of the events "
                    "table disagrees with the table"))
    for table, message in side_table_problems(conn, report.verify.events, store.is_signed(conn)):
        add(Finding(table, message))
    for table, orphan in views.orphans(conn):
        add(Finding("views", f"view table {table} has rows for {orphan}, which has no events",
                    record_id=orphan))
    for finding in index_findings(conn):
        add(finding)
    back = store.clock_went_back(conn, CLOCK_FINDINGS + 1)
    for seq, at, before in back[:CLOCK_FINDINGS]:
        more = " (and more events after it)" if len(back) > CLOCK_FINDINGS and \
            seq == back[CLOCK_FINDINGS - 1][0] else ""
        add(Finding("clock", f"recorded at {at}, before seq {seq - 1} ({before}){more}: the clock "
                    "of the machine that appended it went back, so `--as-of DATE` and `log "
                    "--since DATE`, which read recorded_at, see the events out of their order "
                    "here", seq))


def _audit_records(conn: sqlite3.Connection, report: AuditReport,
                   add: Callable[[Finding], None], replaying: list[Helper],
                   progress: Progress | None = None) -> int:
    """Replay every record's events through the rules and compare its views; return the number
    of events read by record. On a large ledger file, helper processes (``replaying``, started
    before verify) replay ranges of record ids, each in its own read snapshot at the same head;
    their findings come back in record order, as one process would have made them."""
    if replaying:
        found: list[Finding] = []
        try:
            records, by_record = _collect_replay(replaying, found.append, progress)
        except HelperStopped:
            pass  # then here, in this process
        else:
            report.records += records
            for finding in found:
                add(finding)
            return by_record
    records, by_record = replay_range(conn, add, progress)
    report.records += records
    return by_record


def replay_range(conn: sqlite3.Connection, add: Callable[[Finding], None],
                 progress: Progress | None = None, start: str = "", stop: str | None = None,
                 upto: int | None = None) -> tuple[int, int]:
    """Replay the records with start <= record_id < stop; return (records, events read)."""
    records = by_record = 0
    indexed = _trusted_index_seq(conn, upto)
    for rid, group in itertools.groupby(store.iter_events_by_record(conn, upto, start, stop,
                                                                    members=False),
                                        key=lambda e: e.record_id):
        history = list(group)
        by_record += len(history)
        if progress is not None:
            progress(len(history))
        if history[0].type in KEY_TYPES:  # the keyring: checked by verify, no record state
            continue
        records += 1
        state = _replay(conn, history, add)
        if state is None:
            continue
        try:
            _compare_views(conn, state, add)
        except LedgerError as exc:
            add(Finding("rules", str(exc), state.first_seq, rid))
            continue
        if indexed is not None and history[-1].seq <= indexed:
            try:
                _compare_index_row(conn, state, add)
            except sqlite3.DatabaseError:
                indexed = None  # unreadable: said once, by index_findings
        _check_tier(state, add)
    return records, by_record


# -- the search index: a cache of the file that `ledger search` trusts -------------------------

INDEX_FIX = ("the search index was changed behind the ledger's back: `ledger rebuild` drops it, "
             "and the next search makes it anew")


def _trusted_index_seq(conn: sqlite3.Connection, upto: int | None) -> int | None:
    """Return the seq the search index reflects if ``ledger search`` would trust its rows as
    they are (a record with no event after it is not indexed again), else None (no index, or
    one the next search makes anew)."""
    try:
        seq = searchindex.indexed_seq(conn)
        if seq is None or not searchindex.usable(conn):
            return None
    except sqlite3.DatabaseError:
        return None
    head = store.head(conn)[0] if upto is None else upto
    return seq if seq <= head else None


def _compare_index_row(conn: sqlite3.Connection, state: RecordState,
                       add: Callable[[Finding], None]) -> None:
    """Add a finding if the index row of a record the index reflects is not its text."""
    derived, stored = searchindex.document(state), searchindex.stored_document(conn, state.record_id)
    if stored is None:
        add(Finding("search index", f"table {searchindex.TABLE} has no row of record_id "
                    f"{state.record_id!r}, so `ledger search` finds nothing of it: {INDEX_FIX}",
                    record_id=state.record_id))
        return
    for column in searchindex.COLUMNS:
        if stored[column] != derived[column]:
            add(Finding("search index", f"table {searchindex.TABLE}: {column} of the row of "
                        f"record_id {state.record_id!r}: stored {_shown(stored[column])}, derived "
                        f"{_shown(derived[column])}: {INDEX_FIX}", record_id=state.record_id))
            return


def index_findings(conn: sqlite3.Connection) -> list[Finding]:
    """Return the findings on the search index beyond its rows (each compared by the replay):
    tables that are not the ones `search` makes, an index SQLite cannot read, rows of no
    record."""
    try:
        if searchindex.indexed_seq(conn) is not None and not searchindex.usable(conn):
            return [Finding("search index", f"the tables of the search index ({searchindex.TABLE}"
                            f"…) are not the ones `ledger search` makes (a table replaced, a "
                            f"column or table dropped, a trigger added): it may find nothing, "
                            f"or something else: {INDEX_FIX}")]
        if _trusted_index_seq(conn, None) is None:
            return []
        orphans = searchindex.rows_of_no_record(conn, 5)
    except sqlite3.DatabaseError as exc:
        return [Finding("search index", f"table {searchindex.TABLE}: SQLite cannot read it "
                        f"({exc}): {INDEX_FIX}")]
    return [Finding("search index", f"table {searchindex.TABLE} has a row for {rid!r:.60}, which "
                    f"has no events: {INDEX_FIX}") for rid in orphans]


def full_text_findings(conn: sqlite3.Connection) -> list[Finding]:
    """Return a finding if the FTS5 index does not index its rows as they are (words deleted
    from it hide a record from `search`). SQLite's check is an ``INSERT`` that writes nothing:
    it runs in a write transaction that is rolled back, after the audit's read snapshot (the
    index is checked against its own rows, which the replay compared with the events). Nothing
    to check on a file opened for reading only (`search` then makes its index in memory), nor
    while another process holds the write lock past the busy timeout."""
    if store.is_read_only(conn):
        return []
    try:
        with store.rehearsal(conn):
            if searchindex.indexed_seq(conn) is None:
                return []
            if not searchindex.usable(conn):  # said by index_findings; can rebuild drop it?
                try:
                    searchindex.drop(conn)
                except sqlite3.DatabaseError as exc:
                    return [Finding("search index schema", f"table {searchindex.FTS}: SQLite cannot "
                                    f"drop it ({exc}), neither can `ledger rebuild`: `ledger "
                                    "search` makes its index in memory at each search instead")]
                return []
            problem = searchindex.index_problem(conn)
    except (LedgerError, sqlite3.DatabaseError):
        return []  # busy, or unreadable: index_findings says so
    if problem is None:
        return []
    return [Finding("search index", f"table {searchindex.FTS}: SQLite's check of the full-text "
                    f"index against its rows fails ({problem}), so `ledger search` may not find "
                    f"what they hold: {INDEX_FIX}")]


def _start_replay(conn: sqlite3.Connection) -> list[Helper]:
    """Start HELPERS processes replaying one range of record ids each, on a ledger file of
    PARALLEL_FROM events or more (none otherwise)."""
    path = store.file_path(conn)
    seq, hash_ = store.head(conn)
    if path is None or seq < PARALLEL_FROM:
        return []
    cuts = ["", *views.record_splits(conn, HELPERS)]
    return [Helper(replay_worker, str(path), start, stop or "", str(seq), hash_)
            for start, stop in zip(cuts, [*cuts[1:], None], strict=True)]


def _collect_replay(running: list[Helper], add: Callable[[Finding], None],
                    progress: Progress | None) -> tuple[int, int]:
    """Return (records, events read) of the helpers' replay, adding their findings in record
    order; raise HelperStopped if one could not replay (it did not start, or the ledger moved
    on: its snapshot is not this one)."""
    records = by_record = 0
    for helper in running:  # in range order: the findings come out in record order
        for message in helper.messages():
            if message[0] == "progress" and progress is not None:
                progress(message[1])
            elif message[0] == "error" and message[1] == "CorruptEvent":
                raise CorruptEvent(message[2])
            elif message[0] == "error":
                raise HelperStopped
            elif message[0] == "result":
                records, by_record = records + message[1], by_record + message[2]
                for check, text, fseq, rid in message[3]:
                    add(Finding(check, text, fseq, rid))
    return records, by_record


def replay_worker(path: str, start: str, stop: str, head_seq: str, head_hash: str) -> None:
    """The helper: replay the records with start <= record_id < stop (no bound if empty) at
    the parent's head; send ("progress", events)…, ("result", records, events, findings) and
    ("done",), or ("error", kind, text)."""
    pending = [0]

    def count(n: int) -> None:
        pending[0] += n
        if pending[0] >= 4096:
            send(("progress", pending[0]))
            pending[0] = 0

    try:
        conn = store.open_ledger(Path(path))
        with store.read_snapshot(conn):
            if store.head(conn) != (int(head_seq), head_hash):
                send(("error", "moved", "the ledger has new events"))
                return
            found: list[Finding] = []
            records, read = replay_range(conn, found.append, count, start, stop or None,
                                         int(head_seq))
        conn.close()
    except CorruptEvent as exc:
        send(("error", "CorruptEvent", str(exc)))
        return
    except LedgerError as exc:
        send(("error", "LedgerError", str(exc)))
        return
    send(("progress", pending[0]))
    send(("result", records, read, [(f.check, f.message, f.seq, f.record_id) for f in found]))
    send(("done",))


def side_table_problems(conn: sqlite3.Connection, head: int, signed: bool) -> list[tuple[str, str]]:
    """Return (table, problem) for each row beside the chain that the chain does not justify:
    a bulk_progress row that is malformed or names a head seq past the log, a signature row in a
    ledger that takes none, a view_meta key the ledger never writes."""
    problems = []
    for prefix, lines, head_seq in store.bulk_progress_rows(conn):
        if (not isinstance(prefix, str) or len(prefix) != 64 or type(lines) is not int
                or lines < 1 or type(head_seq) is not int or not 0 <= head_seq <= head):
            problems.append(("bulk_progress", f"row ({prefix!r:.70}, {lines!r}, {head_seq!r}) is "
                             f"not a committed batch of this log of {head} events"))
    if not signed:
        for first, last, *_ in proofstore.signature_rows(conn, 5):
            problems.append(("signatures", f"row for seq {first!r}..{last!r} in a ledger that "
                             "takes no signatures"))
    for key in views.meta_keys(conn):
        if key not in views.META_KEYS:
            problems.append(("view_meta", f"key {key!r} is not one the ledger writes"))
    for key, value in store.meta_rows(conn):
        if key not in store.META_KEYS:
            problems.append(("ledger_meta", f"key {printable(repr(key))[:70]} is not one the "
                             "ledger writes"))
        elif key == "mirror_of":
            stored = proofstore.stored_origins(conn)
            if stored and value not in stored:
                problems.append(("ledger_meta", (
                    f"it says this file is a mirror of {printable(str(value))[:100]}, but it "
                    f"stores no checkpoint of that log, only of {printable(stored[0])[:100]}: "
                    "`ledger monitor --mirror` stores each checkpoint of the log it verified "
                    "(a mirror made before it did gets one on its next run)")))
    return problems


def _replay(conn: sqlite3.Connection, events: Iterable[Event],
            add: Callable[[Finding], None]) -> RecordState | None:
    """Return the record's state, adding a finding for each event that breaks a rule."""
    state: RecordState | None = None
    earlier: dict[int, tuple[str, dict[str, Any]]] = {}  # seq -> (contract, stored payload)
    for event in events:
        problem = _rule_problem(conn, event, state, earlier)
        if problem:
            add(Finding("rules", problem, event.seq, event.record_id))
        try:
            state = apply_event(state, event)
        except LedgerError as exc:
            add(Finding("rules", str(exc), event.seq, event.record_id))
            return None
    return state


def _rule_problem(conn: sqlite3.Connection, event: Event, state: RecordState | None,
                  earlier: dict[int, tuple[str, dict[str, Any]]]) -> str:
    """Return what is wrong with appending ``event`` on top of ``state`` ('' if nothing);
    ``earlier`` holds the record's events so far (this one is added)."""
    if event.contract not in TYPE_CONTRACTS.get(event.type, ()):
        return f"event type {event.type!r} does not go with contract {event.contract!r}"
    try:
        stored = orjson.loads(event.payload_json)
    except orjson.JSONDecodeError as exc:
        return f"the stored payload is not JSON: {exc}"
    if not isinstance(stored, dict):
        return "the stored payload is not a JSON object"
    earlier[event.seq] = (event.contract, stored)
    if event.type == PURGE_TYPE:
        problems = purge_problems(stored, earlier)
        return "; ".join(problems)
    text = event.payload_json  # a marker's key is in it, unless escaped (a backslash then)
    if ('"withheld"' in text or "\\" in text) and any(is_withheld(v) for v in stored.values()):
        # Withheld by a purge (verify checked which): the rules cannot be re-checked on content
        # that is gone; what is kept must still be this record's.
        return ("" if stored.get("record_id") == event.record_id else
                f"envelope record_id {event.record_id} differs from the payload's")
    if event.contract == "correction-record-v1.1" and not store.has_notice_v11_index(conn):
        return ("a correction-record-v1.1 notice in a file without the index "
                "events_by_notice_v11 (it was dropped behind the ledger's back)")
    try:
        payload = validate(event.contract, stored)
        if canonical_bytes(payload).decode() != event.payload_json:
            return "the stored payload is not in its canonical, normalised form"
        if payload["record_id"] != event.record_id:
            return f"envelope record_id {event.record_id} differs from the payload's"

        def lookup(nid: str) -> tuple[str, dict[str, Any]] | None:
            found = store.find_notice(conn, nid, before=event.seq)
            return None if found is None else (found[0], orjson.loads(found[1]))

        outcome = plan(event.contract, payload, state, lookup)
    except LedgerError as exc:
        return f"the event breaks a rule: {exc}"
    if isinstance(outcome, NoOp):
        return f"duplicate event: {outcome.message}"
    if outcome.type != event.type:
        return f"event type should be {outcome.type}, not {event.type}"
    return ""


def _compare_views(conn: sqlite3.Connection, state: RecordState,
                   add: Callable[[Finding], None]) -> None:
    derived, stored = views.rows_for(state), views.read_rows(conn, state.record_id)
    for table, rows in derived.items():
        if rows != stored[table]:
            add(Finding("views", f"view table {table}: {_diff(table, rows, stored[table])}",
                        record_id=state.record_id))


DIFFERENCES_SHOWN = 3  # a finding of the views quotes so many rows of its record and table


def _diff(table: str, derived: list[tuple[Any, ...]], stored: list[tuple[Any, ...]]) -> str:
    """Return a short description of the differences between two row lists: each row that
    differs named by its key, with its first differing column (the first DIFFERENCES_SHOWN
    rows, then how many more)."""
    columns, key = views.COLUMNS[table], views.PRIMARY_KEYS[table]

    def named(row: tuple[Any, ...]) -> str:
        return ", ".join(f"{columns[i]} {row[i]!r:.60}" for i in key if i < len(row))

    def key_of(row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(row[i] for i in key if i < len(row))

    found = {key_of(row): row for row in stored}
    differences = []
    for want in derived:
        got = found.pop(key_of(want), None)
        if got is None:
            differences.append(f"the row of {named(want)} is missing")
            continue
        col = next((i for i, (a, b) in enumerate(zip(want, got, strict=False)) if a != b), None)
        if col is not None:
            differences.append(f"{columns[col]} of the row of {named(want)}: stored "
                               f"{_shown(got[col])}, derived {_shown(want[col])}")
    differences += [f"the row of {named(got)} is extra" for got in found.values()]
    if not differences:
        return "rows differ"
    more = len(differences) - DIFFERENCES_SHOWN
    return "; ".join(differences[:DIFFERENCES_SHOWN]) + (
        f"; and {more} more row(s) differ" if more > 0 else "")


def _shown(value: Any) -> str:
    """Return a value as a finding quotes it: its repr, cut to about 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:58] + "…" + text[-1]


def _check_tier(state: RecordState, add: Callable[[Finding], None]) -> None:
    found = tier_contradiction(state.manifest)  # none when withheld by a purge
    if found is not None:
        add(Finding("tiers", found, state.last_seq, state.record_id))
