"""A witness's own SQLite file: the latest checkpoint it cosigned per log origin, and every
refused submission. Not a ledger: its own application id, and nothing here touches one.

The compare-and-swap of ``tlog-witness`` (check the old size against the latest cosigned
checkpoint, then persist the new one) runs inside one ``BEGIN IMMEDIATE`` transaction: SQLite
lets one writer at a time in, so of two concurrent submissions for one log exactly one wins,
whichever process or thread serves them."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ledger.errors import StoreError
from ledger.storage.store import check_creatable, sqlite_name

APPLICATION_ID = 0x4C574954  # "LWIT"
SCHEMA = """
CREATE TABLE IF NOT EXISTS cosigned (
    origin TEXT PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL, note TEXT NOT NULL,
    cosigned_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS refusals (
    id INTEGER PRIMARY KEY, at INTEGER NOT NULL, origin TEXT, status INTEGER NOT NULL,
    reason TEXT NOT NULL, request BLOB NOT NULL
);
"""


def open_witness_db(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) a witness state file; refuse a file that is another's."""
    if not path.exists():
        check_creatable(path)
    try:
        conn = sqlite3.connect(sqlite_name(path), timeout=30.0, isolation_level=None,
                               check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 30000")
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
        if app_id != APPLICATION_ID and (app_id != 0 or tables):
            conn.close()
            raise StoreError(f"{path} is not a witness state file")
        if app_id == 0:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("PRAGMA synchronous = FULL")
        conn.executescript(SCHEMA)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the witness state file {path}: {exc}") from None
    return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One ``BEGIN IMMEDIATE`` transaction: committed if the body returns, else rolled back."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def latest(conn: sqlite3.Connection, origin: str) -> tuple[int, bytes, str] | None:
    """Return (size, root, cosigned note) of the latest checkpoint cosigned for ``origin``."""
    row = conn.execute("SELECT size, root, note FROM cosigned WHERE origin = ?", (origin,)).fetchone()
    return None if row is None else (int(row[0]), bytes(row[1]), str(row[2]))


def latest_by_hash(conn: sqlite3.Connection) -> Iterator[tuple[str, str]]:
    """Yield (origin, cosigned note) of every log cosigned."""
    yield from conn.execute("SELECT origin, note FROM cosigned ORDER BY origin")


def put(conn: sqlite3.Connection, origin: str, size: int, root: bytes, note: str, at: int) -> None:
    """Store the latest cosigned checkpoint of ``origin`` (inside ``transaction``)."""
    conn.execute("INSERT OR REPLACE INTO cosigned VALUES (?, ?, ?, ?, ?)",
                 (origin, size, root, note, at))


def keep_refusal(conn: sqlite3.Connection, at: int, origin: str | None, status: int,
                 reason: str, request: bytes) -> None:
    """Keep a refused submission, evidence of a log's misbehaviour: once for each checkpoint
    note (the same note sent again, whatever its old size, proof lines and so the reason, adds
    nothing), so that replaying a signed note cannot grow the file."""
    note = request.partition(b"\n\n")[2]
    with transaction(conn):
        for (kept,) in conn.execute("SELECT request FROM refusals WHERE origin IS ?", (origin,)):
            if isinstance(kept, bytes) and kept.partition(b"\n\n")[2] == note:
                return
        conn.execute("INSERT INTO refusals (at, origin, status, reason, request) "
                     "VALUES (?, ?, ?, ?, ?)", (at, origin, status, reason, request[:65536]))


def open_witness_db_to_read(path: Path) -> sqlite3.Connection:
    """Open a witness state file to read it (a running witness may write it meanwhile): refuse
    a name with no file, and a file that is not a witness's; create nothing."""
    if not path.is_file():
        raise StoreError(f"no witness state file at {path} (`ledger witness serve --db` makes "
                         "one)")
    try:
        conn = sqlite3.connect(sqlite_name(path), timeout=30.0, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA query_only = ON")
        if conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
            conn.close()
            raise StoreError(f"{path} is not a witness state file")
        return conn
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read the witness state file {path}: {exc}") from None


def cosigned_rows(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    """Return (origin, size, root, note, cosigned_at) of the latest checkpoint cosigned per log,
    by origin."""
    return [tuple(r) for r in conn.execute(
        "SELECT origin, size, root, note, cosigned_at FROM cosigned ORDER BY origin")]


def refusal_rows(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    """Return (id, at, origin, status, reason, request) of every refusal kept, oldest first."""
    return [tuple(r) for r in conn.execute(
        "SELECT id, at, origin, status, reason, request FROM refusals ORDER BY id")]
