"""The full-text index ``ledger search`` reads: a table of one row per record (title, research
question, abstract, notice reasons) with an SQLite FTS5 index on it (external content), kept beside the
ledger's own tables as a cache — no trigger (the ledger's schema allows none), brought up to date
from the events when a search finds it behind the head, dropped by a purge (so that no withheld
text survives in it) and rebuilt on the next search."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from ledger.core.events import is_withheld
from ledger.model.state import RecordState
from ledger.storage.store import savepoint
from ledger.storage.views import seq_of

TABLE = "search_records"
META = "search_records_meta"
FTS = f"{TABLE}_fts"
COLUMNS = ("title", "research_question", "abstract", "reasons")


def document(state: RecordState) -> dict[str, str]:
    """Return the searchable text of a record, as its index row holds it (withheld members are
    not text)."""

    def text(value: Any) -> str:
        return "" if value is None or is_withheld(value) else str(value)

    m = state.manifest
    reasons = " ".join(text(n.payload.get("reason")) for n in state.notices)
    return {"record_id": state.record_id, "title": text(m.get("title")),
            "research_question": text(m.get("research_question")),
            "abstract": text(m.get("abstract")), "reasons": reasons}


def indexed_seq(conn: sqlite3.Connection) -> int | None:
    """Return the head seq the index reflects (None if there is no index, or if what it says is
    not a seq as ``update`` writes it: the index is then made anew)."""
    try:
        row = conn.execute(f"SELECT value FROM {META} WHERE key = 'seq'").fetchone()
    except sqlite3.OperationalError:
        return None
    return None if row is None else seq_of(row[0])


def update(conn: sqlite3.Connection, docs: Iterable[dict[str, Any]], seq: int,
           fresh: bool) -> None:
    """Write the documents of the records given (inside the caller's write transaction):
    ``fresh`` creates the index anew from them; else each replaces that record's row."""
    if fresh:  # the schema sqlite-utils made for it before (`usable` compares it so)
        drop(conn)
        conn.execute(f"CREATE TABLE {TABLE} (record_id TEXT PRIMARY KEY, "
                     f"{', '.join(c + ' TEXT' for c in COLUMNS)})")
        conn.execute(f"CREATE TABLE {META} (key TEXT PRIMARY KEY, value TEXT)")
        _create_fts(conn)
    for doc in docs:
        old = conn.execute(f"SELECT rowid, {', '.join(COLUMNS)} FROM {TABLE} WHERE record_id = ?",
                           (doc["record_id"],)).fetchone()
        if old is not None:  # an external-content FTS5 table is told what it indexed
            conn.execute(f"INSERT INTO {FTS} ({FTS}, rowid, {', '.join(COLUMNS)}) "
                         f"VALUES ('delete', ?, {', '.join('?' * len(COLUMNS))})", old)
            conn.execute(f"DELETE FROM {TABLE} WHERE rowid = ?", (old[0],))
        cur = conn.execute(f"INSERT INTO {TABLE} (record_id, {', '.join(COLUMNS)}) VALUES "
                           f"(?, {', '.join('?' * len(COLUMNS))})",
                           (doc["record_id"], *(doc[c] for c in COLUMNS)))
        conn.execute(f"INSERT INTO {FTS} (rowid, {', '.join(COLUMNS)}) VALUES "
                     f"(?, {', '.join('?' * len(COLUMNS))})", (cur.lastrowid, *(doc[c] for c in COLUMNS)))
    conn.execute(f"INSERT OR REPLACE INTO {META} VALUES ('seq', ?)", (str(seq),))


def _create_fts(conn: sqlite3.Connection) -> None:
    """Create the FTS5 table over ``TABLE`` (external content, named in double quotes as
    Datasette finds it)."""
    conn.execute(f"CREATE VIRTUAL TABLE {FTS} USING FTS5 ({', '.join(COLUMNS)}, "
                 f"tokenize='unicode61', content=\"{TABLE}\")")


_SHAPE: list[tuple[str, str, str, str]] = []  # the index's schema as `update` makes it


def usable(conn: sqlite3.Connection) -> bool:
    """Return whether the index's tables, indexes and triggers are exactly those ``update``
    makes (their SQL compared without quotes, case or spaces): an FTS5 table replaced by a
    plain one, a view, a column dropped, another content table named, a trigger added — each
    is an index that finds nothing or something else, to be made anew, not searched."""
    if not _SHAPE:
        mem = in_memory()
        try:
            update(mem, [], 0, True)
            _SHAPE.extend(_shape(mem))
        finally:
            mem.close()
    return _shape(conn) == _SHAPE


def _shape(conn: sqlite3.Connection) -> list[tuple[str, str, str, str]]:
    rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name LIKE "
                        "'search!_records%' ESCAPE '!' OR tbl_name LIKE 'search!_records%' "
                        "ESCAPE '!' ORDER BY type, name").fetchall()
    return [(str(kind), str(name), str(table), "".join(
        c for c in str(sql or "").lower() if not c.isspace() and c not in "[]\"`'"))
        for kind, name, table, sql in rows]


def in_memory() -> sqlite3.Connection:
    """Return a connection for an index kept in memory only, for a ledger file nothing may be
    written to (``store.is_read_only``)."""
    return sqlite3.connect(":memory:")


def drop(conn: sqlite3.Connection) -> None:
    """Drop the index (inside the caller's write transaction; a purge withholds text it may
    hold, ``rebuild`` and ``search`` drop one that was edited); the next search rebuilds it.

    An FTS5 table whose own tables (``…_data``, ``…_config``) were dropped or edited cannot be
    dropped as it is (SQLite cannot open it): they are written again as a new, empty index has
    them, and it is dropped then."""
    with savepoint(conn):  # all or nothing
        for name in (TABLE, META):  # a view put in a table's place is dropped as one
            kind = conn.execute("SELECT type FROM sqlite_master WHERE name = ?", (name,)).fetchone()
            conn.execute(f"DROP {'VIEW' if kind == ('view',) else 'TABLE'} IF EXISTS {name}")
        try:
            with savepoint(conn):
                conn.execute(f"DROP TABLE IF EXISTS {FTS}")
        except sqlite3.DatabaseError:
            for name, sql, rows in _empty_shadows():
                conn.execute(f"DROP TABLE IF EXISTS {name}")
                conn.execute(sql)
                for row in rows:
                    conn.execute(f"INSERT INTO {name} VALUES ({', '.join('?' * len(row))})", row)
            conn.execute(f"DROP TABLE {FTS}")


def _empty_shadows() -> list[tuple[str, str, list[tuple[Any, ...]]]]:
    """Return (name, schema, rows) of each table an empty FTS5 index like this one keeps."""
    mem = sqlite3.connect(":memory:")
    try:
        _create_fts(mem)
        tables = mem.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' "
                             "AND name LIKE ? ESCAPE '!'", (FTS.replace("_", "!_") + "!_%",)).fetchall()
        return [(name, sql, mem.execute(f"SELECT * FROM {name}").fetchall()) for name, sql in tables]
    finally:
        mem.close()


def stored_document(conn: sqlite3.Connection, record_id: str) -> dict[str, Any] | None:
    """Return the index row of a record as ``document`` gives it (None if it has none)."""
    row = conn.execute(f"SELECT record_id, {', '.join(COLUMNS)} FROM {TABLE} WHERE record_id = ?",
                       (record_id,)).fetchone()
    return None if row is None else dict(zip(("record_id", *COLUMNS), row, strict=True))


def rows_of_no_record(conn: sqlite3.Connection, limit: int) -> list[Any]:
    """Return up to ``limit`` record ids of index rows whose record has no event."""
    return [r[0] for r in conn.execute(
        f"SELECT s.record_id FROM {TABLE} s WHERE NOT EXISTS "
        "(SELECT 1 FROM events e WHERE e.record_id = s.record_id) LIMIT ?", (limit,))]


def index_problem(conn: sqlite3.Connection) -> str | None:
    """Return what SQLite's check of the FTS5 index against the rows it indexes finds wrong
    (None if nothing). The check is an ``INSERT`` that writes nothing: run it inside a write
    transaction that is rolled back."""
    try:
        conn.execute(f"INSERT INTO {FTS} ({FTS}, rank) VALUES ('integrity-check', 1)")
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None


def search(conn: sqlite3.Connection, query: str, limit: int) -> list[dict[str, Any]]:
    """Return up to ``limit`` records matching an FTS5 query, best first, with a snippet."""
    rows = conn.execute(
        f"SELECT r.record_id, r.title, snippet({FTS}, -1, '[', ']', '…', 12), {FTS}.rank "
        f"FROM {FTS} JOIN {TABLE} r ON r.rowid = {FTS}.rowid WHERE {FTS} MATCH ? "
        f"ORDER BY {FTS}.rank LIMIT ?", (query, limit)).fetchall()
    return [{"record_id": r[0], "title": r[1], "snippet": r[2], "rank": r[3]} for r in rows]
