"""Materialised views: ordinary tables derived from the events by the fold in ``state``.

``rows_for(state)`` is the only place a view row is made, so the rows written after each append
and the rows written by ``rebuild`` cannot differ. ``show_of(state)`` is the only place the
``show`` object is made: from a state folded from the events (the rows ``verify`` checks), through
the same rows, so ``show``, ``export``, bundles and pages never read the view tables, which are
there for SQL readers (sqlite3, Datasette) and which ``audit`` compares with the events.
"""

from __future__ import annotations

import functools
import itertools
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, TypedDict

import orjson

from ledger.core.canonical import canonical_bytes
from ledger.core.events import is_withheld
from ledger.errors import CorruptEvent
from ledger.model.labels import DEFAULT_GATES
from ledger.model.purge import describe
from ledger.model.state import GateResult, Notice, RecordState, Version
from ledger.storage import store

# The view tables as files made before the foreign keys have them: such a file still verifies,
# and `ledger rebuild` gives it VIEWS_SCHEMA.
VIEWS_SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS records (
    record_id TEXT PRIMARY KEY, version INTEGER NOT NULL, status TEXT NOT NULL,
    correction_count INTEGER NOT NULL, verification_level TEXT NOT NULL,
    provenance_level TEXT NOT NULL, quality_tier TEXT, title TEXT NOT NULL, review_score REAL,
    gate_verdicts TEXT NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,
    last_hash TEXT NOT NULL, last_recorded_at TEXT NOT NULL, manifest TEXT NOT NULL,
    provenance TEXT
);
CREATE TABLE IF NOT EXISTS versions (
    record_id TEXT NOT NULL, version INTEGER NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL,
    recorded_at TEXT NOT NULL, title TEXT NOT NULL, manifest TEXT NOT NULL,
    PRIMARY KEY (record_id, version)
);
CREATE TABLE IF NOT EXISTS notices (
    notice_id TEXT PRIMARY KEY, record_id TEXT NOT NULL, seq INTEGER NOT NULL,
    kind TEXT NOT NULL, effective_date TEXT NOT NULL, issued_by TEXT NOT NULL, reason TEXT,
    target_version INTEGER, in_force INTEGER NOT NULL, lifted_by TEXT,
    recorded_at TEXT NOT NULL, payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notices_by_record ON notices(record_id, seq);
CREATE TABLE IF NOT EXISTS gates (
    record_id TEXT NOT NULL, gate INTEGER NOT NULL, seq INTEGER NOT NULL, name TEXT NOT NULL,
    status TEXT NOT NULL, reason TEXT NOT NULL, evaluated_at TEXT NOT NULL,
    evaluator TEXT NOT NULL, independent INTEGER NOT NULL, artifacts TEXT NOT NULL,
    PRIMARY KEY (record_id, gate)
);
CREATE TABLE IF NOT EXISTS view_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""
# Foreign keys from versions, notices and gates to their record: SQL readers and Datasette
# follow them (Datasette links each record_id to its record, labelled with its title). Each is
# answered by an index the child table has anyway (its primary key or notices_by_record), so
# writing a records row costs one lookup per child table. Deferred: checked when a transaction
# commits, so rows may be written in any order inside it.
_REFERS = "REFERENCES {}({}) DEFERRABLE INITIALLY DEFERRED"


def _with_foreign_keys(schema: str) -> str:
    out = schema
    for table in ("versions", "gates"):
        head = f"CREATE TABLE IF NOT EXISTS {table} (\n    record_id TEXT NOT NULL,"
        assert out.count(head) == 1
        out = out.replace(head, head[:-1] + " " + _REFERS.format("records", "record_id") + ",")
    notices = "notice_id TEXT PRIMARY KEY, record_id TEXT NOT NULL,"
    assert out.count(notices) == 1
    return out.replace(notices, "notice_id TEXT PRIMARY KEY,\n    record_id TEXT NOT NULL "
                       + _REFERS.format("records", "record_id") + ",")


VIEWS_SCHEMA = _with_foreign_keys(VIEWS_SCHEMA_V1)
VIEW_TABLES = ("records", "versions", "notices", "gates", "view_meta")
KEYED_TABLES = {"records": "record_id", "versions": "record_id, version",
                "notices": "record_id, seq", "gates": "record_id, gate"}
PRIMARY_KEYS = {"records": (0,), "versions": (0, 1), "notices": (0,), "gates": (0, 1)}


class RecordRow(NamedTuple):
    """A row of ``records``: one per record, its derived state."""

    record_id: str
    version: int
    status: str
    correction_count: int
    verification_level: str
    provenance_level: str
    quality_tier: str | None
    title: str
    review_score: float | None
    gate_verdicts: str
    first_seq: int
    last_seq: int
    last_hash: str
    last_recorded_at: str
    manifest: str  # canonical JSON of the current manifest
    provenance: str | None  # canonical JSON of the latest provenance facts


class VersionRow(NamedTuple):
    """A row of ``versions``: one per record version."""

    record_id: str
    version: int
    seq: int
    type: str
    recorded_at: str
    title: str
    manifest: str


class NoticeRow(NamedTuple):
    """A row of ``notices``: one per notice, with whether it is still in force."""

    notice_id: str
    record_id: str
    seq: int
    kind: str
    effective_date: str
    issued_by: str
    reason: str | None
    target_version: int | None
    in_force: int
    lifted_by: str | None
    recorded_at: str
    payload: str  # canonical JSON


class GateRow(NamedTuple):
    """A row of ``gates``: the latest evaluation of one gate of one record."""

    record_id: str
    gate: int
    seq: int
    name: str
    status: str
    reason: str
    evaluated_at: str
    evaluator: str
    independent: int
    artifacts: str  # canonical JSON list


ROW_TYPES: dict[str, Any] = {"records": RecordRow, "versions": VersionRow, "notices": NoticeRow,
                             "gates": GateRow}
COLUMNS = {table: row._fields for table, row in ROW_TYPES.items()}  # in table order


class Shown(TypedDict):
    """The ``show`` object of a record (``ledger show --json``, export records, bundle states)."""

    record_id: str
    version: int
    status: str
    correction_count: int
    verification_level: str
    provenance_level: str
    quality_tier: str | None
    gates: list[dict[str, Any]]
    manifest: dict[str, Any]
    provenance: dict[str, Any] | None
    notices: list[dict[str, Any]]
    last_event: dict[str, Any]


# A view row is a plain tuple, its columns in the order of its table's row type above (read a
# row by name with ``RecordRow._make(row)``), as SQLite returns it: a NamedTuple made per row
# cost a rebuild 5.6% more instructions, marshal takes none, and sqlite3 binds one through a
# Python call per column (its inherited __getitem__).
Row = tuple[Any, ...]
Rows = dict[str, list[Any]]
EMPTY_ROWS: Rows = {}  # a record with no view rows yet


def _json(value: Any) -> str:
    return canonical_bytes(value).decode("utf-8")


def create_views(conn: sqlite3.Connection) -> None:
    """Create the view tables if they do not exist."""
    for statement in VIEWS_SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


def drop_views(conn: sqlite3.Connection) -> None:
    """Drop every view table (those that refer to records first)."""
    for table in ("versions", "notices", "gates", "records", "view_meta"):
        conn.execute(f"DROP TABLE IF EXISTS {table}")


# Rows made by an earlier ``rows_for`` of the same record, by the identity of what each was
# made from: id(version, notice or gate result) -> (that object, its mutable fields, the row).
# The model replaces these objects rather than changing them, except a notice's in_force and
# lifted_by, which are compared; a row is reused only for the very object it was made from.
RowCache = dict[int, tuple[Any, Any, Any]]


def rows_for(state: RecordState, cache: RowCache | None = None) -> Rows:
    """Return every view row of one record, per table, in primary-key order.

    ``cache``: the rows a previous call made for this record, reused where what they were made
    from is unchanged; replaced by the rows of this call. Raises CorruptEvent for a record with
    no version (only a tampered file has one).
    """
    if not state.versions:
        raise CorruptEvent(f"seq {state.first_seq}: record {state.record_id} has events but "
                           "no published version")
    made: RowCache | None = None if cache is None else {}
    try:
        rows = _rows_for(state, cache or {}, made)
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptEvent(f"seq {state.last_seq}: record {state.record_id} has a payload the "
                           f"views cannot hold: {exc!r}") from None
    if cache is not None and made is not None:
        cache.clear()
        cache.update(made)
    return rows


def _text(value: Any) -> Any:
    """Return a member's value for a text column: a withheld marker as one line of text."""
    return value if type(value) is str else describe(value) if is_withheld(value) else value


def _rows_for(state: RecordState, cache: RowCache, made: RowCache | None) -> Rows:
    m, rid = state.manifest, state.record_id
    verdicts = ",".join(f"{g}:{r.payload['status']}" for g, r in sorted(state.gates.items()))
    score = m.get("review_score")
    record = (rid, state.version, state.status, state.correction_count,
              state.verification_level, state.provenance_level, state.quality_tier,
              _text(m["title"]), None if is_withheld(score) else score, verdicts,
              state.first_seq, state.last_seq, state.last_hash, state.last_recorded_at,
              _manifest_json(state), state.provenance_json)
    versions = _reused(cache, made, state.versions, None, _version_row, rid)
    notices = _reused(cache, made, state.notices, [(n.in_force, n.lifted_by) for n in state.notices],
                      _notice_row, rid)
    gates = _reused(cache, made, [r for _, r in sorted(state.gates.items())], None, _gate_row, rid)
    return {"records": [record], "versions": versions, "notices": notices, "gates": gates}


def _reused(cache: RowCache, made: RowCache | None, sources: list[Any], marks: list[Any] | None,
            make: Callable[[str, Any], Any], rid: str) -> list[Any]:
    """Return the row of each source: the row ``cache`` holds for that very object with the same
    marks (its mutable fields, in ``marks``: one per source, or None when it has none), else
    ``make(rid, source)``; record each in ``made``."""
    if not cache and made is None:  # nothing to reuse or record (a rebuild)
        return [make(rid, source) for source in sources]
    get, rows = cache.get, []
    for source, mark in zip(sources, [None] * len(sources) if marks is None else marks,
                            strict=True):
        hit = get(id(source))
        row = hit[2] if hit is not None and hit[0] is source and hit[1] == mark else make(rid, source)
        if made is not None:
            made[id(source)] = (source, mark, row)
        rows.append(row)
    return rows


def _version_row(rid: str, v: Version) -> Row:
    return (rid, v.version, v.seq, v.type, v.recorded_at, _text(v.manifest["title"]),
            v.manifest_json)


def _notice_row(rid: str, n: Notice) -> Row:
    return (n.notice_id, rid, n.seq, n.kind, n.payload["effective_date"],
            n.payload["issued_by"], _text(n.payload.get("reason")),
            n.payload.get("target_version"), int(n.in_force), n.lifted_by,
            n.recorded_at, n.payload_json)


def _gate_row(rid: str, r: GateResult) -> Row:
    return (rid, r.gate, r.seq, r.payload["name"], r.payload["status"],
            _text(r.payload["reason"]), r.payload["evaluated_at"],
            _text(r.payload["evaluator"]), int(r.payload["independent"]),
            _artifacts_json(r.payload))


def _artifacts_json(payload: dict[str, Any]) -> str:
    artifacts = payload.get("artifacts", [])
    return "[]" if artifacts == [] else _json(artifacts)  # most gates name none


def _manifest_json(state: RecordState) -> str:
    """Return the current manifest as canonical JSON (the latest version's text if uncorrected)."""
    latest = state.versions[-1]
    return latest.manifest_json if state.manifest is latest.manifest else _json(state.manifest)


def write_rows(conn: sqlite3.Connection, before: Rows, after: Rows) -> None:
    """Change one record's view rows from ``before`` (what the tables hold) to ``after``.

    Only rows that differ are written, so an append touches few pages: a changed row is
    updated in place (inserted if it is missing), a new row inserted (replacing a stray row
    with its key), a row whose key is gone deleted.
    """
    for table, rows in after.items():
        old = before.get(table, [])
        update, rest, insert, delete = _statements(table)
        if rows[:len(old)] == old:  # the rows written, and rows after them (a notice appended)
            for row in rows[len(old):]:
                conn.execute(insert, row)
            continue
        # Rows that are the very objects written last time (rows_for's cache), then rows equal
        # to one written: skipped without a look. Every other row is compared by its key.
        key = PRIMARY_KEYS[table]
        kept = {id(r) for r in rows}.intersection(map(id, old))
        if kept:
            old = [r for r in old if id(r) not in kept]
            rows = [r for r in rows if id(r) not in kept]
        same = _unchanged(old, rows)
        old_by_key = {tuple(r[i] for i in key): r for r in old if not same or r not in same}
        for row in rows:
            if same and row in same:
                continue
            k = tuple(row[i] for i in key)
            found = old_by_key.pop(k, None)
            if found == row:
                continue
            if found is not None and conn.execute(update, (*(row[i] for i in rest), *k)).rowcount:
                continue
            conn.execute(insert, row)
        for k in old_by_key:
            conn.execute(delete, k)


@functools.cache
def _statements(table: str) -> tuple[str, tuple[int, ...], str, str]:
    """Return write_rows's SQL for a table: the UPDATE of a row found by its key (the key is
    not set again, so its index is left alone) with the positions it sets, the INSERT, the
    DELETE by key."""
    key, columns = PRIMARY_KEYS[table], COLUMNS[table]
    where = " AND ".join(f"{columns[i]} = ?" for i in key)
    rest = tuple(i for i in range(len(columns)) if i not in key)
    sets = ", ".join(f"{columns[i]} = ?" for i in rest)
    return (f"UPDATE {table} SET {sets} WHERE {where}", rest,
            f"INSERT OR REPLACE INTO {table} VALUES ({','.join('?' * len(columns))})",
            f"DELETE FROM {table} WHERE {where}")


def _unchanged(old: list[Any], new: list[Any]) -> set[Any]:
    """Return the rows that are in both lists (empty if a value cannot be hashed: then every
    row is compared by key)."""
    try:
        return set(old).intersection(new)
    except TypeError:
        return set()


def insert_rows(conn: sqlite3.Connection, rows: Rows, replace: bool = False) -> None:
    """Insert many view rows (of any records) at once; ``replace`` replaces a stray row that
    has the same key (one written behind the ledger's back)."""
    verb = "INSERT OR REPLACE" if replace else "INSERT"
    for table, table_rows in rows.items():
        if table_rows:
            marks = ",".join("?" * len(table_rows[0]))
            conn.executemany(f"{verb} INTO {table} VALUES ({marks})", table_rows)


META_KEYS = ("applied_seq", "applied_hash")


def meta_keys(conn: sqlite3.Connection) -> list[Any]:
    """Return every key stored in view_meta."""
    return [r[0] for r in conn.execute("SELECT key FROM view_meta")]


def set_applied(conn: sqlite3.Connection, seq: int, hash_: str) -> None:
    """Record which event the views reflect."""
    conn.executemany("INSERT OR REPLACE INTO view_meta VALUES (?, ?)",
                     [("applied_seq", str(seq)), ("applied_hash", hash_)])


def applied(conn: sqlite3.Connection) -> tuple[int, str] | None:
    """Return (seq, hash) of the event the views reflect; None if ``view_meta`` holds something
    ``set_applied`` never writes there (edited behind the ledger's back)."""
    meta = dict(conn.execute("SELECT key, value FROM view_meta").fetchall())
    seq, hash_ = seq_of(meta.get("applied_seq", "0")), meta.get("applied_hash", "")
    return None if seq is None or type(hash_) is not str else (seq, hash_)


def seq_of(stored: Any) -> int | None:
    """Return the seq a cache beside the events stored as text (``str(seq)``), or None for any
    other value (one written behind the ledger's back)."""
    if type(stored) is str and stored.isascii() and stored.isdigit() and str(int(stored)) == stored:
        return int(stored)
    return None


def orphans(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """Return (table, record id) for every record id a view table holds that has no events (a
    value that is not text, written behind the ledger's back, as Python writes it)."""
    return [(table, orphan if type(orphan) is str else repr(orphan)) for table in KEYED_TABLES
            for (orphan,) in conn.execute(f"SELECT DISTINCT record_id FROM {table} WHERE "
                                          "record_id NOT IN (SELECT record_id FROM events)")]


def read_rows(conn: sqlite3.Connection, record_id: str) -> Rows:
    """Return the stored view rows of one record, per table, in primary-key order."""
    return {table: conn.execute(f"SELECT * FROM {table} WHERE record_id = ? ORDER BY {key}",
                                (record_id,)).fetchall()
            for table, key in KEYED_TABLES.items()}


# -- comparing the stored rows with the events' (rebuild) -------------------------------------


def schema_intact(conn: sqlite3.Connection) -> bool:
    """Return whether the view tables, their indexes and triggers are exactly what
    ``create_views`` makes (none added, none changed, none missing): ``store.schema_problems``,
    as verify checks the file, with no problem on a view table."""
    expected = store.expected_schema(store.event_format(conn), VIEWS_SCHEMA)
    return not any(table in VIEW_TABLES for _, table, _ in store.schema_problems(conn, expected))


def storage_intact(conn: sqlite3.Connection) -> bool:
    """Return whether SQLite's own check of each view table and its indexes passes (then a read
    by record id through an index reads exactly the table's rows)."""
    return all(conn.execute(f"PRAGMA integrity_check({table})").fetchall() == [("ok",)]
               for table in VIEW_TABLES)


class StoredRows:
    """The stored view rows of the records with start <= record_id < stop (no upper bound if
    stop is None), read by record id: ``take`` them record by record, in record id order.

    Rows whose record id is not text are left out (``clear_untexted`` removes them)."""

    def __init__(self, conn: sqlite3.Connection, start: str, stop: str | None) -> None:
        self._groups = {table: _groups(conn, table, start, stop) for table in KEYED_TABLES}
        self._heads = {table: next(groups, None) for table, groups in self._groups.items()}
        self.strays: dict[str, None] = {}  # record ids passed over: ones no record took

    def take(self, record_id: str | None) -> Rows:
        """Return the stored rows of ``record_id``, per table, in primary-key order (empty
        where there are none); the rows of record ids before it go to ``strays``. None: only
        pass over every record id left."""
        out: Rows = {}
        for table, groups in self._groups.items():
            head = self._heads[table]
            while head is not None and (record_id is None or head[0] < record_id):
                self.strays[head[0]] = None
                head = next(groups, None)
            if head is not None and head[0] == record_id:
                out[table], head = head[1], next(groups, None)
            else:
                out[table] = []
            self._heads[table] = head
        return out


def _groups(conn: sqlite3.Connection, table: str, start: str,
            stop: str | None) -> Iterator[tuple[str, list[Any]]]:
    at = COLUMNS[table].index("record_id")
    upper = "" if stop is None else " AND record_id < ?"
    rows = conn.execute(f"SELECT * FROM {table} WHERE record_id >= ?{upper} "
                        f"ORDER BY {KEYED_TABLES[table]}", (start,) if stop is None else (start, stop))
    for record_id, group in itertools.groupby(rows, key=lambda row: row[at]):
        if type(record_id) is str:
            yield record_id, list(group)


def clear_records(conn: sqlite3.Connection, record_ids: list[str]) -> None:
    """Delete every view row of those records."""
    for table in KEYED_TABLES:
        conn.executemany(f"DELETE FROM {table} WHERE record_id = ?", [(r,) for r in record_ids])


def clear_untexted(conn: sqlite3.Connection) -> None:
    """Delete every view row whose record id is not text (NULL or a BLOB: written behind the
    ledger's back; no record has such an id) and every key of view_meta."""
    for table in KEYED_TABLES:  # only records' record_id may be NULL (a NOT NULL column makes
        null = "record_id IS NULL OR " if table == "records" else ""  # SQLite scan the table)
        conn.execute(f"DELETE FROM {table} WHERE {null}record_id < '' OR record_id >= x''")
    conn.execute("DELETE FROM view_meta")


def status_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Return how many records have each status."""
    return dict(conn.execute("SELECT status, COUNT(*) FROM records GROUP BY status ORDER BY status"))


def statuses(conn: sqlite3.Connection, record_ids: list[str]) -> list[tuple[str, str]]:
    """Return (record id, status) of those records that have view rows, by record id."""
    out: list[tuple[str, str]] = []
    for start in range(0, len(record_ids), 500):
        chunk = record_ids[start:start + 500]
        out += conn.execute(f"SELECT record_id, status FROM records WHERE record_id IN "
                            f"({','.join('?' * len(chunk))})", chunk).fetchall()
    return sorted(out)


def changed_since(conn: sqlite3.Connection, seq: int) -> list[tuple[str, str, int, int]]:
    """Return (record_id, status, version, correction_count) of every record whose views an
    event after ``seq`` changed, by record id."""
    rows = conn.execute("SELECT record_id, status, version, correction_count FROM records "
                        "WHERE last_seq > ? ORDER BY record_id", (seq,)).fetchall()
    return [(str(r[0]), str(r[1]), int(r[2]), int(r[3])) for r in rows]


def record_splits(conn: sqlite3.Connection, parts: int) -> list[str]:
    """Return record ids that cut the records view into ``parts`` about equal parts.

    Used to share a rebuild between processes: any cut is correct (the view only balances the
    work), so a missing or edited view just gives no cut."""
    try:
        count = int(conn.execute("SELECT COUNT(*) FROM records").fetchone()[0])
        cuts = [conn.execute("SELECT record_id FROM records ORDER BY record_id LIMIT 1 OFFSET ?",
                             (count * i // parts,)).fetchone() for i in range(1, parts)]
    except sqlite3.Error:
        return []
    return sorted({str(c[0]) for c in cuts if c is not None and isinstance(c[0], str)})


def show_of(state: RecordState) -> Shown:
    """Return the ``show`` object of a record's state (folded from its events)."""
    rows = rows_for(state)
    r = RecordRow._make(rows["records"][0])
    return {
        "record_id": r.record_id, "version": r.version, "status": r.status,
        "correction_count": r.correction_count, "verification_level": r.verification_level,
        "provenance_level": r.provenance_level, "quality_tier": r.quality_tier,
        "gates": _gates(state.gates), "manifest": orjson.loads(r.manifest),
        "provenance": None if r.provenance is None else orjson.loads(r.provenance),
        "notices": [_notice(NoticeRow._make(n)) for n in rows["notices"]],
        "last_event": {"seq": r.last_seq, "hash": r.last_hash, "recorded_at": r.last_recorded_at},
    }


def _notice(row: NoticeRow) -> dict[str, Any]:
    payload = orjson.loads(row.payload)
    payload.pop("record_id", None)
    return {**payload, "seq": row.seq, "recorded_at": row.recorded_at,
            "in_force": bool(row.in_force), "lifted_by": row.lifted_by}


def _gates(found: dict[int, GateResult]) -> list[dict[str, Any]]:
    """Return every gate of a record (each evaluated gate's latest evaluation, the default gates
    as not evaluated); a withheld member stays its marker."""
    out = []
    for gate in sorted(set(found) | set(DEFAULT_GATES)):
        r = found.get(gate)
        if r is None:
            out.append({"gate": gate, "name": DEFAULT_GATES.get(gate, f"Gate {gate}"),
                        "status": "NOT_EVALUATED", "evaluated": False})
            continue
        p = r.payload
        out.append({"gate": gate, "name": p["name"], "status": p["status"], "evaluated": True,
                    "reason": p["reason"], "evaluated_at": p["evaluated_at"],
                    "evaluator": p["evaluator"], "independent": bool(p["independent"]),
                    "artifacts": p.get("artifacts", []), "seq": r.seq})
    return out
