"""The SQLite store: schema, connections, transactions and reading events.

SQL runs only in ``ledger.storage`` (this module, ``views`` and ``proofstore``); sqlite3 errors
are translated into ``StoreError``/``NotALedger`` here.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import urllib.parse
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ledger.core.events import GENESIS_HASH, Event
from ledger.core.merkle import stored_count
from ledger.errors import CorruptEvent, LedgerError, NotALedger, StoreError

APPLICATION_ID = 0x4C444752  # "LDGR"
FORMAT_VERSION = 2  # the newest event format this version reads, and the one ``init`` creates
BUSY_TIMEOUT_S = 60.0

# The index notices of correction-record-v1.1 are found by: made with the file, or (in a file
# made before that contract version) with its first such notice; verify accepts a file without it.
NOTICE_V11_INDEX = ("CREATE INDEX events_by_notice_v11 ON events(json_extract(payload, "
                    "'$.notice_id'))\n    WHERE contract = 'correction-record-v1.1'")
OPTIONAL_INDEXES = frozenset({"events_by_notice_v11"})

EVENTS_SCHEMA = """
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY,
    type        TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    contract    TEXT NOT NULL,
    payload     TEXT NOT NULL,
    actor       TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX events_by_record ON events(record_id, seq);
CREATE INDEX events_by_notice ON events(json_extract(payload, '$.notice_id'))
    WHERE contract = 'correction-record-v1';
%(notice_v11_index)s;
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only: UPDATE is refused'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only: DELETE is refused'); END;
CREATE TRIGGER events_chain_only BEFORE INSERT ON events
WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq), 0) + 1 FROM events)
  OR NEW.prev_hash IS NOT COALESCE((SELECT hash FROM events ORDER BY seq DESC LIMIT 1),
                                   '0000000000000000000000000000000000000000000000000000000000000000')
BEGIN SELECT RAISE(ABORT, 'events must extend the chain: wrong seq or prev_hash'); END;
CREATE TABLE ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE signatures (
    first_seq INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL, key_id INTEGER NOT NULL,
    signature TEXT NOT NULL
);
CREATE TRIGGER signatures_append_only_update BEFORE UPDATE ON signatures
BEGIN SELECT RAISE(ABORT, 'signatures are append-only: UPDATE is refused'); END;
CREATE TRIGGER signatures_append_only_delete BEFORE DELETE ON signatures
BEGIN SELECT RAISE(ABORT, 'signatures are append-only: DELETE is refused'); END;
CREATE TABLE bulk_progress (
    prefix_sha256 TEXT PRIMARY KEY, lines INTEGER NOT NULL, head_seq INTEGER NOT NULL
);
CREATE TABLE checkpoints (
    id INTEGER PRIMARY KEY, origin TEXT NOT NULL, size INTEGER NOT NULL, root TEXT NOT NULL,
    note TEXT NOT NULL, signed_at TEXT NOT NULL, UNIQUE (origin, size)
);
CREATE TRIGGER checkpoints_append_only_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only: UPDATE is refused'); END;
CREATE TRIGGER checkpoints_append_only_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only: DELETE is refused'); END;
"""

EVENTS_SCHEMA = EVENTS_SCHEMA.replace("%(notice_v11_index)s", NOTICE_V11_INDEX)

# Format v2: the payload and its salts are beside the envelope (``commitments``), and a purge may
# replace payload members and salts of an event of a record with a later ``record.purged`` event;
# every other column stays append-only. ``verify`` checks what any update left.
EVENTS_SCHEMA_V2 = EVENTS_SCHEMA.replace(
    "    hash        TEXT NOT NULL\n);",
    "    hash        TEXT NOT NULL,\n    salts       TEXT NOT NULL,\n"
    "    commitments TEXT NOT NULL\n);",
).replace(
    "CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events\n"
    "BEGIN SELECT RAISE(ABORT, 'events are append-only: UPDATE is refused'); END;",
    """CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
WHEN NEW.seq IS NOT OLD.seq OR NEW.type IS NOT OLD.type OR NEW.record_id IS NOT OLD.record_id
  OR NEW.contract IS NOT OLD.contract OR NEW.actor IS NOT OLD.actor
  OR NEW.recorded_at IS NOT OLD.recorded_at OR NEW.prev_hash IS NOT OLD.prev_hash
  OR NEW.hash IS NOT OLD.hash OR NEW.commitments IS NOT OLD.commitments
  OR NOT EXISTS (SELECT 1 FROM events AS p WHERE p.type = 'record.purged'
                 AND p.record_id = OLD.record_id AND p.seq > OLD.seq)
BEGIN SELECT RAISE(ABORT, 'events are append-only: only a purge may withhold payload members'); END;""")
assert EVENTS_SCHEMA_V2.count("salts") == 1 and "only a purge" in EVENTS_SCHEMA_V2

TREE_SCHEMA = """
CREATE TABLE IF NOT EXISTS tree_hashes (pos INTEGER PRIMARY KEY, hash BLOB NOT NULL);
CREATE TRIGGER IF NOT EXISTS tree_append_only_update BEFORE UPDATE ON tree_hashes
BEGIN SELECT RAISE(ABORT, 'tree hashes are append-only: UPDATE is refused'); END;
CREATE TRIGGER IF NOT EXISTS tree_append_only_delete BEFORE DELETE ON tree_hashes
BEGIN SELECT RAISE(ABORT, 'tree hashes are append-only: DELETE is refused'); END;
"""

EVENT_COLUMNS = "seq, type, record_id, contract, payload, actor, recorded_at, prev_hash, hash"
EVENT_COLUMNS_V2 = EVENT_COLUMNS + ", salts, commitments"


class LedgerConnection(sqlite3.Connection):
    """A connection to a ledger file, which knows the file's event format."""

    format = 1
    rehearsing = False  # inside ``rehearsal``: every write is rolled back at its end
    notice_v11_index = False  # seen to exist (``has_notice_v11_index``)
    begun_at = -1  # total_changes when this connection's transaction began (``pending_writes``)
    read_only = False  # opened by ``_connect_read_only``
    # What a reading derived from the file as it stood (``file_state``), kept for the next one on
    # this connection: (that state, the value). The editor's check of signed events keeps its keys.
    derived: tuple[Any, Any] | None = None

    def set_format(self, version: int) -> None:
        self.format = version


def _columns(conn: sqlite3.Connection) -> str:
    return EVENT_COLUMNS_V2 if event_format(conn) >= 2 else EVENT_COLUMNS


def format_name(version: int) -> str:
    """Return what ``ledger_meta``'s ``format`` row says of a file of event format ``version``."""
    return f"provenance-ledger v{version}"


def event_format(conn: sqlite3.Connection) -> int:
    """Return the event format of the ledger (1 or 2), known to a connection this module opened
    and read from the file's ``user_version`` otherwise."""
    if isinstance(conn, LedgerConnection):
        return conn.format
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def schema_sql(version: int) -> str:
    """Return the SQL of the ledger's own tables in a file of that format."""
    return (EVENTS_SCHEMA_V2 if version >= 2 else EVENTS_SCHEMA) + TREE_SCHEMA


def sqlite_name(path: Path) -> str:
    """Return the name to give SQLite for the file ``path``: never one it reads as a URI. Debian's
    SQLite is built to take a name that starts with ``file:`` as a URI even when not asked to,
    so the file ``file:x.db`` opened ``x.db`` (and ``init`` wrote its tables into that one)."""
    name = os.fspath(path)
    return name if os.path.isabs(name) else os.path.join(os.curdir, name)


def _connect(path: Path) -> LedgerConnection:
    try:
        conn = sqlite3.connect(sqlite_name(path), timeout=BUSY_TIMEOUT_S, isolation_level=None,
                               factory=LedgerConnection)
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {path}: {exc}") from None
    return conn


_READONLY_DIRECTORY = 1544  # SQLITE_READONLY_DIRECTORY: the -shm cannot be made in the folder
_READONLY_CANTINIT = 1288  # SQLITE_READONLY_CANTINIT: nor initialised


def _no_shm_here(exc: sqlite3.OperationalError) -> bool:
    """Return whether SQLite refused to read a write-ahead-log file for want of a ``-shm`` file
    it may make: read-only media (CANTOPEN), or a read-only file in a folder this user may not
    write (READONLY_DIRECTORY, an auditor's copy)."""
    code = getattr(exc, "sqlite_errorcode", None) or 0
    return code & 0xFF == sqlite3.SQLITE_CANTOPEN or code in (_READONLY_DIRECTORY, _READONLY_CANTINIT)


def _file_uri(path: Path) -> str:
    """Return the ``file:`` URI of ``path`` (absolute, quoted), to which SQLite options are added."""
    return "file:" + urllib.parse.quote(str(path.resolve()))


def _connect_read_only(path: Path) -> LedgerConnection:
    """Return a read-only connection to a ledger file SQLite could not open for writing: one on
    read-only media, or in a folder this user may not write (an auditor's copy). SQLite then
    needs no ``-shm`` file beside it only if the file is immutable, which is so only when no
    write-ahead log holds commits the file does not: otherwise the ledger is refused, saying
    why, rather than read without its latest events."""
    uri = _file_uri(path)
    conn = sqlite3.connect(uri + "?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S,
                           isolation_level=None, factory=LedgerConnection)
    conn.read_only = True
    try:
        conn.execute("PRAGMA application_id").fetchone()
        return conn
    except sqlite3.OperationalError as exc:
        conn.close()
        if not _no_shm_here(exc):
            raise
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise NotALedger(f"{path} cannot be read here: SQLite can read its write-ahead log "
                         f"({wal.name}) only with a -shm file beside it, and cannot write one in "
                         "that folder; copy the ledger file and its -wal file to a folder you "
                         "can write, and run the command on the copy")
    conn = sqlite3.connect(uri + "?mode=ro&immutable=1", uri=True, isolation_level=None,
                           factory=LedgerConnection)
    conn.read_only = True
    return conn


def _why_read_only(conn: sqlite3.Connection) -> str:
    """Say why a ledger opened read-only takes no write (nothing was written)."""
    path = file_path(conn)
    if path is not None and os.access(path, os.W_OK) and not os.access(path.parent, os.W_OK):
        return (f"the ledger's folder {path.parent} is not writable here, and SQLite keeps the "
                "ledger's -wal and -shm files beside it: nothing was written")
    return f"the ledger file {path} is read-only here: nothing was written"


def is_read_only(conn: sqlite3.Connection) -> bool:
    """Return whether the ledger file could be opened for reading only (see
    ``_connect_read_only``): nothing, not even a cache, can be written to it."""
    return isinstance(conn, LedgerConnection) and conn.read_only


def unexpanded_home(path: str | Path) -> str:
    """Return a note for a path that starts with "~" (else ""): it names a folder called "~"
    here, since only a shell expands it, and only unquoted (LEDGER_DB='~/ledger.db' in a file of
    settings keeps it), with the path most likely meant."""
    if not str(path).startswith("~"):
        return ""
    try:
        meant = f"write {Path(path).expanduser()}"
    except RuntimeError:  # ~name of no user here
        meant = "write the folder out"
    return f"; '~' is not expanded here, only by a shell, and only unquoted: {meant}"


def no_folder_for(path: str | Path) -> str:
    """Say that the folder a file to write would go in does not exist (with ``unexpanded_home``'s
    note): the ledger's file and every file a command writes say it so."""
    return f"there is no folder {Path(path).absolute().parent}{unexpanded_home(path)}"


def check_creatable(path: Path) -> None:
    """Raise StoreError, naming ``path``, if its folder does not exist or is not writable here
    (SQLite would say only `unable to open database file`)."""
    folder = path.absolute().parent
    if not folder.is_dir():
        raise StoreError(f"cannot create {path}: {no_folder_for(path)}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StoreError(f"cannot create {path}: the folder {folder} is not writable here")


def create(path: Path, created_at: str, version: int = FORMAT_VERSION) -> sqlite3.Connection:
    """Create a new, empty ledger file of that event format (1 or 2) and return a connection;
    refuse an existing file."""
    if path.exists():
        empty = path.is_file() and path.stat().st_size == 0
        raise NotALedger(f"{path} already exists: init refuses to touch an existing file"
                         + (" (it is empty: if nothing is meant to be there, remove it and run "
                            "init again)" if empty else ""))
    check_creatable(path)
    conn = _connect(path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {version}")
        conn.executescript("BEGIN;" + schema_sql(version) + "COMMIT;")
        conn.execute("INSERT INTO ledger_meta VALUES ('format', ?), ('created_at', ?)",
                     (format_name(version), created_at))
    except sqlite3.Error as exc:
        conn.close()
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise StoreError(f"cannot create {path}: {exc}") from None
    conn.set_format(version)
    _configure(conn)
    return conn


def open_ledger(path: Path) -> sqlite3.Connection:
    """Return a connection to an existing ledger; raise NotALedger for anything else."""
    if not path.exists():
        raise NotALedger(f"no ledger at {path} (create one with `ledger init`){unexpanded_home(path)}")
    conn = _connect(path)
    try:
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if not _no_shm_here(exc) or not is_ledger_file(path):
                raise
            conn.close()
            conn = _connect_read_only(path)
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        conn.close()
        if is_corrupt(exc) and is_ledger_file(path):  # made by `ledger init`, now unreadable
            raise _damage(path, exc) from None
        raise NotALedger(f"{path} is not a ledger: {exc}") from None
    if app_id != APPLICATION_ID:
        conn.close()
        raise NotALedger(f"{path} is not a ledger (it is not a file made by `ledger init`)")
    if version > FORMAT_VERSION:
        conn.close()
        raise NotALedger(f"{path} has format version {version}; this ledger reads up to "
                         f"{FORMAT_VERSION}: upgrade provenance-ledger")
    if version < 1:
        conn.close()
        raise NotALedger(f"{path} has no format version: it is not a file made by `ledger init`")
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the schema, parsed
    except sqlite3.DatabaseError as exc:
        conn.close()
        if is_corrupt(exc):
            raise _damage(path, exc) from None
        raise StoreError(f"cannot open {path}: {exc}") from None
    conn.set_format(version)
    _configure(conn)
    return conn


def is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    """Return whether SQLite found the file corrupt (not busy, locked or unreadable)."""
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF in (sqlite3.SQLITE_CORRUPT,
                                                          sqlite3.SQLITE_NOTADB)


def _damage(path: Path | None, exc: sqlite3.DatabaseError) -> CorruptEvent:
    """The finding for a file `ledger init` made that SQLite can no longer read (``path``: the
    file's, when it is known)."""
    subject = f"{path} is a ledger file that" if path is not None else "the ledger file is one"
    return CorruptEvent(f"table (file): {subject} SQLite cannot read ({exc}): it was truncated "
                        "or overwritten behind the ledger's back", table="(file)")


def damaged(exc: BaseException) -> CorruptEvent | None:
    """Return the finding an error stands for if it says a table (or the whole file) is damaged:
    a CorruptEvent naming its table, or SQLite's own error finding the file corrupt, met on a
    read that did not go through a function of this module; None for anything else."""
    if isinstance(exc, CorruptEvent):
        return exc if exc.table is not None else None
    if isinstance(exc, sqlite3.DatabaseError) and is_corrupt(exc):
        return _damage(None, exc)
    return None


SQLITE_MAGIC = b"SQLite format 3\x00"


def sqlite_application_id(path: str | Path) -> int | None:
    """Return the application id in the header of the SQLite file ``path`` (bytes 68-71,
    big-endian), or None if the file does not start with an SQLite header or cannot be read."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(100)
    except OSError:
        return None
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        return None
    return int.from_bytes(header[68:72], "big")


def application_id(path: str | Path) -> int | None:
    """Return the application id of the SQLite file ``path`` as SQLite reads it: the header's,
    or, where the header on disk says none yet, the one its write-ahead log holds (a witness's
    state file or a ledger in use, not yet checkpointed); None if it is no SQLite file. SQLite
    is asked only when both the log and its index are beside the file, in use: on any other
    SQLite file in write-ahead mode it would create them, writing beside a file it only reads."""
    found = sqlite_application_id(path)
    if found != 0 or not all(Path(f"{path}{end}").exists() for end in ("-wal", "-shm")):
        return found
    try:
        conn = sqlite3.connect(_file_uri(Path(path)) + "?mode=ro", uri=True,
                               timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            return int(conn.execute("PRAGMA application_id").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:  # it cannot be read here: what the header says
        return found


def is_sqlite_file(path: str | Path) -> bool:
    """Return whether the file starts with SQLite's header (False if it cannot be read)."""
    return sqlite_application_id(path) is not None


def is_ledger_file(path: Path) -> bool:
    """Return whether the file starts with an SQLite header carrying the ledger's application id
    (a ledger whose header is still only in its WAL reads as not)."""
    return sqlite_application_id(path) == APPLICATION_ID


# ``ledger site`` reads pages all over the file (each record's events, its proofs' tree hashes):
# through a memory map rather than one pread(2) per page, which costs ~30 µs on a virtual
# machine. The mapped pages are the page cache's, counted in the process's RSS (up to this).
MMAP_BYTES = 1 << 30


def map_pages(conn: sqlite3.Connection) -> None:
    """Read this connection's pages through a memory map of up to MMAP_BYTES."""
    conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")


def _configure(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        # Debian builds SQLite with SECURE_DELETE, which zero-fills every freed page: dropping
        # the views in `rebuild` then rewrites them all. Nothing the ledger deletes is secret
        # (events are never deleted; view rows are public, derived data), so it is off.
        conn.execute("PRAGMA secure_delete = OFF")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot configure the ledger: {exc}") from None


@contextlib.contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the body in one ``BEGIN IMMEDIATE`` transaction; roll back on any error. Inside a
    ``rehearsal`` it is a savepoint of the rehearsal's transaction instead."""
    if is_rehearsing(conn):
        with savepoint(conn):
            yield conn
        return
    if is_read_only(conn):
        raise StoreError(_why_read_only(conn))
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise _failure(exc) from None
    _begun(conn)
    try:
        yield conn
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        _rollback(conn)
        raise _failure(exc) from None
    except BaseException:
        _rollback(conn)
        raise


@contextlib.contextmanager
def foreign_keys_unchecked(conn: sqlite3.Connection) -> Iterator[None]:
    """Run the body with SQLite's foreign-key checks off, and on again after: for a rebuild,
    whose view rows are all made from the events, each record's row inserted before the rows
    that refer to it, so that no check could fail (its drop and inserts then run ~2% fewer
    instructions). Inside a transaction SQLite ignores the pragma: the checks stay on."""
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        yield
    finally:
        conn.execute("PRAGMA foreign_keys = ON")


@contextlib.contextmanager
def savepoint(conn: sqlite3.Connection) -> Iterator[None]:
    """Run the body in a savepoint inside the caller's transaction; undo it if the body raises."""
    conn.execute("SAVEPOINT part")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK TO part")
        conn.execute("RELEASE part")
        raise
    conn.execute("RELEASE part")


@contextlib.contextmanager
def rehearsal(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the body in one write transaction that is always rolled back (``--dry-run``): the
    body does every check and write it would, sees its own writes, and nothing is kept."""
    if not isinstance(conn, LedgerConnection):
        raise StoreError("a rehearsal needs a connection opened by the ledger")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise _failure(exc) from None
    _begun(conn)
    conn.rehearsing = True
    try:
        yield conn
    finally:
        conn.rehearsing = False
        _rollback(conn)


def is_rehearsing(conn: sqlite3.Connection) -> bool:
    """Return whether the connection is inside a ``rehearsal`` (nothing it writes is kept)."""
    return isinstance(conn, LedgerConnection) and conn.rehearsing


@contextlib.contextmanager
def read_snapshot(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the body in one read transaction, so that every read sees the same state."""
    try:
        conn.execute("BEGIN")
        _begun(conn)
        yield conn
    except sqlite3.Error as exc:
        raise _failure(exc) from None
    finally:
        _rollback(conn)


def _begun(conn: sqlite3.Connection) -> None:
    if isinstance(conn, LedgerConnection):
        conn.begun_at = conn.total_changes


def pending_writes(conn: sqlite3.Connection) -> bool:
    """Return whether this connection may read rows that another connection to the file would
    not: a write of its own not committed yet (helper processes open the file again)."""
    if not conn.in_transaction:
        return False
    return not isinstance(conn, LedgerConnection) or conn.total_changes != conn.begun_at


def _rollback(conn: sqlite3.Connection) -> None:
    with contextlib.suppress(sqlite3.Error):
        if conn.in_transaction:
            conn.execute("ROLLBACK")


def _failure(exc: sqlite3.Error) -> LedgerError:
    """The error to raise for what SQLite reported: the file found corrupt is a finding (exit 1),
    anything else (busy, read-only, disk full) SQLite not doing what was asked (exit 2)."""
    if isinstance(exc, sqlite3.DatabaseError) and is_corrupt(exc):
        return _damage(None, exc)
    return StoreError(_explain(exc))


def _explain(exc: sqlite3.Error) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return f"the ledger stayed busy for more than {BUSY_TIMEOUT_S:.0f}s (another writer): {text}"
    if "readonly" in text:
        return f"the ledger file is read-only: {text}"
    if "full" in text:
        return f"the disk is full: {text}"
    if re.search(r"no such (table|column)|has no column named|has \d+ columns but", text):
        return (f"the ledger file's tables are not the ones `ledger init` made ({text}): they were "
                "changed behind the ledger's back; `ledger audit` says what changed, and `ledger "
                "rebuild` makes the view tables again")
    return f"SQLite: {text}"


def file_path(conn: sqlite3.Connection) -> Path | None:
    """Return the path of the connection's database file (None for an in-memory database)."""
    for _, name, file in conn.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return Path(file) if file else None
    return None


def head(conn: sqlite3.Connection) -> tuple[int, str]:
    """Return (seq, hash) of the last event, or (0, 64 zeros) for an empty ledger."""
    row = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    return (0, GENESIS_HASH) if row is None else (int(row[0]), str(row[1]))


def clock_went_back(conn: sqlite3.Connection, most: int) -> list[tuple[int, str, str]]:
    """Return (seq, its recorded_at, the event before's) of the first ``most`` events recorded
    earlier than the event before them, in seq order."""
    rows = conn.execute(
        "SELECT a.seq, a.recorded_at, b.recorded_at FROM events a JOIN events b "
        "ON b.seq = a.seq - 1 WHERE a.recorded_at < b.recorded_at ORDER BY a.seq LIMIT ?",
        (most,)).fetchall()
    return [(int(seq), str(at), str(before)) for seq, at, before in rows]


def last_seq_recorded_by(conn: sqlite3.Connection, moment: str, before: bool = False) -> int:
    """Return the seq of the last event recorded at or before ``moment`` (strictly before it
    with ``before``; a ``recorded_at`` of the same RFC 3339 form, microseconds and ``Z``, or a
    date, so that the texts compare as the times do); 0 if none was."""
    query = f"SELECT max(seq) FROM events WHERE recorded_at {'<' if before else '<='} ?"
    row = conn.execute(query, (moment,)).fetchone()
    return int(row[0] or 0)


def recorded_after(conn: sqlite3.Connection, upto: int, moment: str) -> int:
    """Return how many events up to seq ``upto`` were recorded after ``moment`` (none unless a
    clock went back: ``last_seq_recorded_by`` gave ``upto`` for that moment)."""
    row = conn.execute("SELECT count(*) FROM events WHERE seq <= ? AND recorded_at > ?",
                       (upto, moment)).fetchone()
    return int(row[0])


_INSERT_V1 = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)"
_INSERT_V2 = f"INSERT INTO events ({EVENT_COLUMNS_V2}) VALUES (?,?,?,?,?,?,?,?,?,?,?)"


def insert_event(conn: sqlite3.Connection, event: Event) -> None:
    """Insert one event row (inside the caller's write transaction)."""
    if event.commitments is None:
        conn.execute(_INSERT_V1, event[:9])
    else:
        conn.execute(_INSERT_V2, tuple(event))  # a plain tuple: see insert_events


def insert_events(conn: sqlite3.Connection, events: list[Event]) -> None:
    """Insert event rows in order (inside the caller's write transaction): ``insert_event`` for
    many, in one statement run (a ledger's events are all of one format)."""
    v1 = [event[:9] for event in events if event.commitments is None]
    if v1 and len(v1) < len(events):  # both formats: one at a time, in order
        for event in events:
            insert_event(conn, event)
    else:
        # Plain tuples (a slice is one): sqlite3 binds an Event, a tuple subclass, through its
        # inherited __getitem__ called from C, one Python call per column.
        conn.executemany(*((_INSERT_V1, v1) if v1 else (_INSERT_V2, map(tuple, events))))


def withhold(conn: sqlite3.Connection, seq: int, payload_json: str, salts_json: str) -> None:
    """Replace the payload and salts of event ``seq`` (a purge, inside its write transaction,
    after its ``record.purged`` event: the trigger refuses it otherwise)."""
    conn.execute("UPDATE events SET payload = ?, salts = ? WHERE seq = ?",
                 (payload_json, salts_json, seq))


def secure_delete(conn: sqlite3.Connection, on: bool) -> None:
    """Turn SQLite's ``secure_delete`` on (freed cells and pages are zeroed) or off."""
    conn.execute(f"PRAGMA secure_delete = {'ON' if on else 'OFF'}")


def database_bytes(conn: sqlite3.Connection) -> int:
    """Return the size of the database its pages take (page count × page size), which a
    ``VACUUM`` copies."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    return int(pages) * int(conn.execute("PRAGMA page_size").fetchone()[0])


def vacuum(conn: sqlite3.Connection) -> None:
    """Rewrite the whole database file (``VACUUM``), outside any transaction."""
    try:
        conn.execute("VACUUM")
    except sqlite3.Error as exc:
        raise _failure(exc) from None


def truncate_wal(conn: sqlite3.Connection) -> bool:
    """Checkpoint the write-ahead log into the file and truncate it to zero bytes; return False
    if a reader kept it from being truncated."""
    row = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return not (row and row[0])


def _row_event(row: tuple[Any, ...]) -> Event:
    """Return the event of a row, with any non-text column (a tampered BLOB) shown as text."""
    try:
        "".join(row[1:])  # raises TypeError unless every column but seq is text: the fast check
    except TypeError:
        return Event(row[0], *(v if type(v) is str else repr(v) for v in row[1:]))
    return Event(*row)


def iter_rows(conn: sqlite3.Connection, since: int = 0, upto: int | None = None,
              batch: int = 2000) -> Iterator[tuple[Any, ...]]:
    """Yield the event rows with since < seq <= upto in seq order, exactly as stored (plain
    tuples in ``Event`` field order: verify reads millions and needs no attribute access)."""
    last = since
    limit = upto if upto is not None else 2**62
    while True:
        rows = conn.execute(f"SELECT {_columns(conn)} FROM events WHERE seq > ? AND seq <= ? "
                            "ORDER BY seq LIMIT ?", (last, limit, batch)).fetchall()
        if not rows:
            return
        yield from rows
        last = int(rows[-1][0])


def iter_events(conn: sqlite3.Connection, since: int = 0, upto: int | None = None,
                batch: int = 2000) -> Iterator[Event]:
    """Yield events with since < seq <= upto in seq order, reading in bounded batches (a
    non-text column, written behind the ledger's back, is shown as text)."""
    return map(_row_event, iter_rows(conn, since, upto, batch))


def iter_events_back(conn: sqlite3.Connection, since: int = 0, upto: int | None = None,
                     batch: int = 200) -> Iterator[Event]:
    """Yield events with since < seq <= upto newest first, reading in bounded batches: the
    last few events of a long log without reading the rest (``log -n N``)."""
    below = (upto if upto is not None else 2**62) + 1
    while True:
        rows = conn.execute(f"SELECT {_columns(conn)} FROM events WHERE seq > ? AND seq < ? "
                            "ORDER BY seq DESC LIMIT ?", (since, below, batch)).fetchall()
        if not rows:
            return
        yield from map(_row_event, rows)
        below = int(rows[-1][0])  # an INTEGER PRIMARY KEY: never anything but an integer


def record_events(conn: sqlite3.Connection, record_id: str, upto: int | None = None) -> list[Event]:
    """Return the events of one record, oldest first (optionally only those with seq <= upto).

    Read through the index ``events_by_record`` (which ``verify`` checks against the table);
    a row of another record, or out of order, is CorruptEvent: an index entry was tampered with."""
    rows = conn.execute(f"SELECT {_columns(conn)} FROM events WHERE record_id = ? AND seq <= ? "
                        "ORDER BY seq", (record_id, upto if upto is not None else 2**62)).fetchall()
    last = 0
    for row in rows:
        if row[2] != record_id or type(row[0]) is not int or row[0] <= last:
            raise CorruptEvent(f"table events: reading {record_id} by record gives seq {row[0]} of "
                               f"{row[2]!r:.40}: an index disagrees with the table (run `ledger verify`)")
        last = row[0]
    return list(map(_row_event, rows))


def iter_events_by_record(conn: sqlite3.Connection, upto: int | None = None,
                          start: str = "", stop: str | None = None,
                          members: bool = True) -> Iterator[Event]:
    """Yield every event ordered by (record_id, seq): one record's events together.

    Only records with start <= record_id < stop (no upper bound if stop is None); the keyring's
    records (``KEY:…``) too. The order is read through the index ``events_by_record``; each
    row's own (record_id, seq) must follow the one before, else CorruptEvent (an index entry
    that points at another record's row); ``check_count`` checks that none was left out.

    ``members=False``: a v2 event's salts and commitments are not read (None), for a caller that
    only folds the events into record states (half the bytes of a v2 row); such an event must
    never be hashed or checked against its commitments."""
    bound = "" if stop is None else " AND record_id < :stop"
    columns = _columns(conn) if members else EVENT_COLUMNS
    cur = conn.execute(f"SELECT {columns} FROM events WHERE record_id >= :start{bound} AND "
                       "seq <= :upto ORDER BY record_id, seq",
                       {"start": start, "stop": stop, "upto": upto if upto is not None else 2**62})
    last_rid, last_seq = "", 0
    while rows := cur.fetchmany(2000):
        for row in rows:
            seq, rid = row[0], row[2]
            if type(seq) is not int or type(rid) is not str or not (
                    last_rid < rid if rid != last_rid else last_seq < seq):
                raise CorruptEvent(f"table events: reading by record gives seq {seq} of "
                                   f"{rid!r:.40} after seq {last_seq} of {last_rid!r:.40}: an index "
                                   "disagrees with the table (run `ledger verify`)")
            last_rid, last_seq = rid, seq
        yield from map(_row_event, rows)


def check_count(conn: sqlite3.Connection, read: int, upto: int | None) -> None:
    """Raise CorruptEvent unless ``read`` events, read by record, are every event up to seq
    ``upto`` (default: the head): seq is the rowid, and verify proves the rows are 1..head."""
    held = min(head(conn)[0], upto if upto is not None else 2**62)
    if read != held:
        raise CorruptEvent(f"table events: reading by record gives {read} events where seq "
                           f"1..{held} are {held}: an index disagrees with the table, or events "
                           "are missing (run `ledger verify`)")


def find_notice(conn: sqlite3.Connection, notice_id: str,
                before: int | None = None) -> tuple[str, str] | None:
    """Return (record_id, payload JSON) of the first notice with that id (before seq), or None."""
    # Each contract version's notices are found through its own partial index. A file made
    # before correction-record-v1.1 has no index for them, and no such notice: every append
    # makes the index first (``index_notices_v11``), and audit reports such a notice in a file
    # without it (``has_notice_v11_index``).
    upto = before if before is not None else 2**62
    select = ("SELECT seq, record_id, payload FROM events WHERE contract = '{}' AND "
              "json_extract(payload, '$.notice_id') = ? AND seq < ?")
    if has_notice_v11_index(conn):
        row = conn.execute(select.format("correction-record-v1") + " UNION ALL "
                           + select.format("correction-record-v1.1") + " ORDER BY seq LIMIT 1",
                           (notice_id, upto, notice_id, upto)).fetchone()
    else:
        row = conn.execute(select.format("correction-record-v1") + " ORDER BY seq LIMIT 1",
                           (notice_id, upto)).fetchone()
    return None if row is None else (str(row[1]), str(row[2]))


def has_notice_v11_index(conn: sqlite3.Connection) -> bool:
    """Return whether the file has the index correction-record-v1.1 notices are found by (once
    seen, a connection does not ask again: were it dropped since, its query still answers,
    by a scan)."""
    if isinstance(conn, LedgerConnection) and conn.notice_v11_index:
        return True
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND "
                         "name = 'events_by_notice_v11'").fetchone() is not None
    if found and isinstance(conn, LedgerConnection):
        conn.notice_v11_index = True
    return found


def index_notices_v11(conn: sqlite3.Connection) -> None:
    """Give a ledger made before correction-record-v1.1 the index its notices are found by
    (a no-op once it exists, not asked again once this connection has seen it); every write
    transaction of appends runs it first."""
    if not has_notice_v11_index(conn):
        conn.execute(NOTICE_V11_INDEX.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))


def file_state(conn: sqlite3.Connection) -> tuple[Any, ...]:
    """Return what changes whenever the file does: the head (seq, hash) and SQLite's
    ``data_version`` (which changes when another connection commits to the file)."""
    return (*head(conn), conn.execute("PRAGMA data_version").fetchone()[0])


def key_events(conn: sqlite3.Connection) -> list[Event]:
    """Return the keyring's events (key.added, key.revoked), oldest first."""
    rows = conn.execute(f"SELECT {_columns(conn)} FROM events WHERE type IN ('key.added', "
                        "'key.revoked') ORDER BY seq").fetchall()
    return list(map(_row_event, rows))


def is_signed(conn: sqlite3.Connection) -> bool:
    """Return whether the ledger requires signatures (its first event adds the admin key)."""
    row = conn.execute("SELECT type FROM events WHERE seq = 1").fetchone()
    return row is not None and row[0] == "key.added"


def hashes_between(conn: sqlite3.Connection, first: int, last: int) -> list[str]:
    """Return the stored hashes of the events first..last that exist, in seq order."""
    rows = conn.execute("SELECT hash FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq",
                        (first, last)).fetchall()
    return [str(h) for (h,) in rows]


def hash_at(conn: sqlite3.Connection, seq: int) -> str:
    """Return the stored hash of event ``seq`` (64 zeros for seq 0)."""
    if seq == 0:
        return GENESIS_HASH
    row = conn.execute("SELECT hash FROM events WHERE seq = ?", (seq,)).fetchone()
    if row is None:
        raise CorruptEvent(f"seq {seq}: the event is missing (run `ledger verify`)")
    return str(row[0])


def tree_shape(conn: sqlite3.Connection) -> tuple[int, Any, Any, Any]:
    """Return (number of stored tree hashes, smallest and largest position, the first position
    whose hash is not a 32-byte BLOB or None)."""
    count, low, high, odd = conn.execute(  # one scan of the table
        "SELECT COUNT(*), MIN(pos), MAX(pos), MIN(CASE WHEN typeof(hash) != 'blob' OR "
        "length(hash) != 32 THEN pos END) FROM tree_hashes").fetchone()
    return int(count), low, high, odd


def bulk_progress_rows(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    """Return every (prefix_sha256, lines, head_seq) row of bulk_progress, as stored."""
    return conn.execute("SELECT prefix_sha256, lines, head_seq FROM bulk_progress").fetchall()


def mark_bulk_progress(conn: sqlite3.Connection, prefix_sha256: str, lines: int, head_seq: int) -> int:
    """Record that the input lines with this SHA-256 prefix are committed (inside the batch);
    return the number of rows added (0 when the prefix was recorded already)."""
    return conn.execute("INSERT OR IGNORE INTO bulk_progress VALUES (?, ?, ?)",
                        (prefix_sha256, lines, head_seq)).rowcount


def bulk_progress_count(conn: sqlite3.Connection) -> int:
    """Return the number of rows of bulk_progress."""
    return int(conn.execute("SELECT count(*) FROM bulk_progress").fetchone()[0])


def meta(conn: sqlite3.Connection, key: str) -> str | None:
    """Return a ``ledger_meta`` value (None if absent)."""
    row = conn.execute("SELECT value FROM ledger_meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


META_KEYS = ("format", "created_at", "mirror_of")  # every ledger_meta key the ledger writes


def meta_rows(conn: sqlite3.Connection) -> list[tuple[Any, Any]]:
    """Return every ``ledger_meta`` row (key, value), by key."""
    return [tuple(r) for r in conn.execute("SELECT key, value FROM ledger_meta ORDER BY key")]


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    """Set a ``ledger_meta`` value (inside the caller's write transaction)."""
    conn.execute("INSERT OR REPLACE INTO ledger_meta VALUES (?, ?)", (key, value))


def seq_span(conn: sqlite3.Connection) -> tuple[int, Any, Any]:
    """Return (how many events, the least seq, the greatest seq): the table holds exactly seqs
    1 to the head only if they are (count, 1, count) (one pass over the smallest index)."""
    row = conn.execute("SELECT COUNT(*), MIN(seq), MAX(seq) FROM events").fetchone()
    return int(row[0]), row[1], row[2]


def record_links(conn: sqlite3.Connection, seqs: Sequence[int]) -> tuple[dict[int, Any],
                                                                       dict[int, Any]]:
    """Return what checks the events at ``seqs`` beside their own content: {seq: the
    ``prev_hash`` stored by event seq + 1} of those that have a next event, and {seq: the
    Merkle tree's stored leaf hash at seq}, as stored (``verify.check_record``)."""
    links: dict[int, Any] = {}
    leaves: dict[int, Any] = {}
    for at in range(0, len(seqs), 400):
        part = list(seqs[at:at + 400])
        links.update((int(r[0]) - 1, r[1]) for r in conn.execute(
            f"SELECT seq, prev_hash FROM events WHERE seq IN ({','.join('?' * len(part))})",
            [s + 1 for s in part]) if type(r[0]) is int)
        where = {stored_count(s - 1): s for s in part}
        leaves.update((where[r[0]], r[1]) for r in conn.execute(
            f"SELECT pos, hash FROM tree_hashes WHERE pos IN ({','.join('?' * len(part))})",
            list(where)) if r[0] in where)
    return links, leaves


def record_heads(conn: sqlite3.Connection, size: int | None,
                 after: int = 0) -> list[tuple[str, Any, int, int, int]]:
    """Return (record id, its last seq <= size — or its last seq if size is None —, its last
    seq, its number of events, how many of them come after seq ``after``) of every record (the
    keyring's aside), by record id: one pass over ``events_by_record``."""
    bound = size if size is not None else 2**62
    return [(str(r[0]), r[1], int(r[2]), int(r[3]), int(r[4])) for r in conn.execute(
        "SELECT record_id, MAX(CASE WHEN seq <= ? THEN seq END), MAX(seq), COUNT(*), "
        "COUNT(CASE WHEN seq > ? THEN 1 END) FROM events "
        "WHERE record_id NOT LIKE 'KEY:%' GROUP BY record_id ORDER BY record_id", (bound, after))]


def existing_record_ids(conn: sqlite3.Connection, ids: list[str]) -> list[str]:
    """Return those of ``ids`` that name a record (an event's record id), sorted."""
    found: set[str] = set()
    for at in range(0, len(ids), 500):
        part = ids[at:at + 500]
        found.update(r[0] for r in conn.execute(
            f"SELECT DISTINCT record_id FROM events WHERE record_id IN ({','.join('?' * len(part))})",
            part))
    return sorted(found)


def record_ids_starting(conn: sqlite3.Connection, start: str, most: int = 200) -> list[str]:
    """Return up to ``most`` record ids that start with ``start``, in order (the keyring's aside),
    read off the (record_id, seq) index."""
    bound = (start[:-1] + chr(ord(start[-1]) + 1) if start and start[-1] != "\U0010ffff"
             else start + "\U0010ffff")  # the ids after ``start``'s range sort from here
    return [str(r[0]) for r in conn.execute(
        "SELECT DISTINCT record_id FROM events INDEXED BY events_by_record WHERE record_id >= ? "
        "AND record_id < ? AND record_id NOT LIKE 'KEY:%' ORDER BY record_id LIMIT ?",
        (start, bound, most))]


def record_prefixes(conn: sqlite3.Connection) -> list[str]:
    """Return the prefixes of the record ids (``SRCH``), the keyring's aside: one index seek per
    prefix, however many records share it."""
    prefixes, after = [], ""
    # Text ids only: a value of another type edited into the column (a BLOB sorts after every
    # text) would be found again at each step, and the loop would never end.
    while (row := conn.execute("SELECT record_id FROM events INDEXED BY events_by_record WHERE "
                               "record_id > ? AND typeof(record_id) = 'text' ORDER BY record_id "
                               "LIMIT 1", (after,)).fetchone()):
        prefix = str(row[0]).split(":")[0]
        if prefix != "KEY":
            prefixes.append(prefix)
        after = prefix + ";"  # ";" follows ":": past every id with this prefix
    return prefixes


def count_records(conn: sqlite3.Connection, upto: int, since: int | None = None) -> int:
    """Return the number of records (key records aside) with an event at seq <= upto (and,
    with ``since``, one after it)."""
    if since is not None:  # the events after it, by seq
        return int(conn.execute("SELECT COUNT(DISTINCT record_id) FROM events WHERE seq > ? AND "
                                "seq <= ? AND record_id NOT LIKE 'KEY:%'",
                                (since, upto)).fetchone()[0])
    # From the (record_id, seq) index alone, a tenth of the table's pages; the keyring's events
    # are the records named KEY:…, an id no other event may take.
    return int(conn.execute("SELECT COUNT(*) FROM (SELECT DISTINCT record_id FROM events INDEXED BY "
                            "events_by_record WHERE seq <= ? AND record_id NOT LIKE 'KEY:%')",
                            (upto,)).fetchone()[0])


def count_events(conn: sqlite3.Connection) -> int:
    """Return the number of event rows (not necessarily the head seq, if tampered), for a
    progress bar: 0 if the table cannot be read (``verify`` then says why)."""
    try:
        return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
    except sqlite3.Error:
        return 0




# -- the file's structure, as verify checks it -----------------------------------------------------

SchemaRow = tuple[str, str, str, str | None]  # (type, name, tbl_name, sql) of sqlite_master


def _schema_of(conn: sqlite3.Connection) -> dict[str, SchemaRow]:
    rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    return {str(r[1]): (str(r[0]), str(r[1]), str(r[2]), None if r[3] is None else str(r[3]))
            for r in rows}


def expected_schema(version: int, extra_sql: str = "") -> dict[str, SchemaRow]:
    """Return the sqlite_master rows this version creates in a file of that event format (its
    ledger tables, and ``extra_sql``)."""
    ref = sqlite3.connect(":memory:")
    try:
        ref.executescript(schema_sql(version) + extra_sql)
        return _schema_of(ref)
    finally:
        ref.close()


def schema_problems(conn: sqlite3.Connection, expected: dict[str, SchemaRow],
                    legacy: dict[str, SchemaRow] | None = None) -> list[tuple[str, str, str]]:
    """Return (kind of object, table, problem) for every difference between the file's schema
    and ``expected``: a missing, added or changed table, index or trigger of the ledger's
    tables (a VIEW in place of a table, a dropped trigger, a changed column, an index rewritten
    through ``PRAGMA writable_schema``). Extra tables of the file's owner are allowed; extra triggers
    and indexes on the ledger's tables, and triggers anywhere, are not. ``legacy``: an object
    may also be exactly as an earlier version of this one made it."""
    found = _schema_of(conn)
    ours = {row[2] for row in expected.values()}
    problems = []
    for name, want in expected.items():
        got = found.get(name)
        if got is None and name not in OPTIONAL_INDEXES:
            problems.append((want[0], want[2], f"{want[0]} {name} is missing from the schema"))
        elif got is None or (legacy is not None and legacy.get(name) == got):
            continue
        elif got != want:
            what = "type" if got[0] != want[0] else "definition"
            kind = want[0] if got[0] == want[0] else "table"  # a trigger turned table blocks
            problems.append((kind, want[2], f"the {what} of {want[0]} {name} was changed: "
                             f"expected {_one_line(want)}, found {_one_line(got)}"))
    for name, got in found.items():
        if name in expected or name.startswith("sqlite_stat"):
            continue
        if got[0] == "trigger" or got[2] in ours:
            problems.append((got[0], got[2], f"{got[0]} {name} on {got[2]} was added: {_one_line(got)}"))
    return problems


def _one_line(row: SchemaRow) -> str:
    text = row[0] if row[3] is None else " ".join(row[3].split())
    return repr(text if len(text) <= 160 else text[:157] + "…")


def storage_problems(conn: sqlite3.Connection, thorough: bool) -> list[tuple[str, str]]:
    """Return (table, problem) for what SQLite's own check finds wrong with the file's b-trees.

    ``thorough`` (audit): ``integrity_check`` of the whole file, every index against its table.
    Otherwise (verify): ``integrity_check`` of the events table and its indexes, so that a read
    by record through an index is proven to read the same rows as the full scan, and
    ``quick_check`` of the other tables verify reads (the stored tree, signatures, checkpoints),
    which have no index besides their rowid.
    """
    checks = [("integrity_check(100)", "(file)")] if thorough else [
        ("integrity_check(events)", "events"), ("quick_check(tree_hashes)", "tree_hashes"),
        ("quick_check(signatures)", "signatures"), ("quick_check(checkpoints)", "checkpoints")]
    tables = {name: row[2] for name, row in _schema_of(conn).items()}
    problems: list[tuple[str, str]] = []
    for check, table in checks:
        for (found,) in conn.execute(f"PRAGMA {check}").fetchall():
            if found != "ok":
                named = next((tables[w] for w in str(found).replace(",", " ").split() if w in tables),
                             table)
                problems.append((named, str(found)))
    return problems


def first_seq(conn: sqlite3.Connection) -> Any:
    """Return the smallest seq of the events table (None if it is empty), read from the end of
    the table's own rowid b-tree (``seq`` is the rowid once the schema is as created), not from
    any index."""
    return conn.execute("SELECT MIN(seq) FROM events").fetchone()[0]
