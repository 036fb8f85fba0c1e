"""The full-text index ``ledger search`` reads: a table of one row per record (title, research
question, abstract, notice reasons) with an SQLite FTS5 index made by sqlite-utils, kept beside the
ledger's own tables as a cache — no trigger (the ledger's schema allows none), brought up to date
from the events when a search finds it behind the head, dropped by a purge (so that no withheld
text survives in it) and rebuilt on the next search."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from ledger.storage.views import seq_of

TABLE = "search_records"
META = "search_records_meta"
COLUMNS = ("title", "research_question", "abstract", "reasons")


def _db(conn: sqlite3.Connection) -> Any:
    import sqlite_utils  # loaded only by `ledger search`

    return sqlite_utils.Database(conn)


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
    db = _db(conn)
    if fresh:
        drop(conn)
        db[TABLE].create({"record_id": str, **dict.fromkeys(COLUMNS, str)}, pk="record_id")
        db[META].create({"key": str, "value": str}, pk="key")
        db[TABLE].enable_fts(list(COLUMNS), create_triggers=False, tokenize="unicode61")
    fts = f"{TABLE}_fts"
    for doc in docs:
        old = conn.execute(f"SELECT rowid, {', '.join(COLUMNS)} FROM {TABLE} WHERE record_id = ?",
                           (doc["record_id"],)).fetchone()
        if old is not None:  # an external-content FTS5 table is told what it indexed
            conn.execute(f"INSERT INTO {fts} ({fts}, rowid, {', '.join(COLUMNS)}) "
                         f"VALUES ('delete', ?, {', '.join('?' * len(COLUMNS))})", old)
            conn.execute(f"DELETE FROM {TABLE} WHERE rowid = ?", (old[0],))
        cur = conn.execute(f"INSERT INTO {TABLE} (record_id, {', '.join(COLUMNS)}) VALUES "
                           f"(?, {', '.join('?' * len(COLUMNS))})",
                           (doc["record_id"], *(doc[c] for c in COLUMNS)))
        conn.execute(f"INSERT INTO {fts} (rowid, {', '.join(COLUMNS)}) VALUES "
                     f"(?, {', '.join('?' * len(COLUMNS))})", (cur.lastrowid, *(doc[c] for c in COLUMNS)))
    conn.execute(f"INSERT OR REPLACE INTO {META} VALUES ('seq', ?)", (str(seq),))


def in_memory() -> sqlite3.Connection:
    """Return a connection for an index kept in memory only, for a ledger file nothing may be
    written to (``store.is_read_only``)."""
    return sqlite3.connect(":memory:")


def drop(conn: sqlite3.Connection) -> None:
    """Drop the index (a purge withholds text it may hold); the next search rebuilds it."""
    for name in (f"{TABLE}_fts", TABLE, META):
        conn.execute(f"DROP TABLE IF EXISTS {name}")


def search(conn: sqlite3.Connection, query: str, limit: int) -> list[dict[str, Any]]:
    """Return up to ``limit`` records matching an FTS5 query, best first, with a snippet."""
    fts = f"{TABLE}_fts"
    rows = conn.execute(
        f"SELECT r.record_id, r.title, snippet({fts}, -1, '[', ']', '…', 12), {fts}.rank "
        f"FROM {fts} JOIN {TABLE} r ON r.rowid = {fts}.rowid WHERE {fts} MATCH ? "
        f"ORDER BY {fts}.rank LIMIT ?", (query, limit)).fetchall()
    return [{"record_id": r[0], "title": r[1], "snippet": r[2], "rank": r[3]} for r in rows]
