"""SQLite tables beside the events: the Merkle tree's stored hashes, signed checkpoints and
batch signatures. All append-only by trigger (see ``store.EVENTS_SCHEMA`` and ``TREE_SCHEMA``).
Verifying them against the events is ``ledger.verification``'s work."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ledger.core.merkle import stored_count, tree_root
from ledger.errors import CorruptEvent

if TYPE_CHECKING:  # verify is loaded when a log is verified, not at every CLI start-up
    pass


def read_hashes(conn: sqlite3.Connection, positions: Sequence[int]) -> list[bytes]:
    """Return the stored tree hashes at ``positions``, in that order."""
    found = tree_rows(conn, positions)
    missing = [p for p in positions if p not in found]
    if missing:
        raise CorruptEvent(f"table tree_hashes: the Merkle tree is missing stored hash "
                           f"#{missing[0]}: run `ledger verify`")
    malformed = [p for p in positions if type(found[p]) is not bytes or len(found[p]) != 32]
    if malformed:
        raise CorruptEvent(f"table tree_hashes: stored hash #{malformed[0]} is "
                           f"{found[malformed[0]]!r:.80}, not 32 bytes: the tree was edited "
                           "behind the ledger's back (run `ledger verify`)")
    return [found[p] for p in positions]


def read_range(conn: sqlite3.Connection, start: int, end: int) -> list[bytes]:
    """Return the stored tree hashes at positions start..end-1 (one range read), checked as
    ``read_hashes`` checks them."""
    rows = list(iter_tree_hashes(conn, start, end))
    if len(rows) != end - start or (rows and (rows[0][0] != start or rows[-1][0] != end - 1)):
        return read_hashes(conn, range(start, end))  # names the first missing or malformed hash
    hashes = [h for _, h in rows]
    if not all(type(h) is bytes and len(h) == 32 for h in hashes):
        return read_hashes(conn, range(start, end))
    return hashes


def insert_hashes(conn: sqlite3.Connection, start: int, hashes: Sequence[bytes]) -> None:
    """Store tree hashes at positions start, start + 1, … (inside a write transaction)."""
    conn.executemany("INSERT INTO tree_hashes VALUES (?, ?)",
                     [(start + i, h) for i, h in enumerate(hashes)])


def iter_tree_hashes(conn: sqlite3.Connection, start: int = 0,
                     end: int | None = None) -> Iterator[tuple[int, bytes]]:
    """Yield (position, hash) of every stored tree hash from position ``start`` (to ``end``,
    excluded) in order, as stored (a hash edited behind the ledger's back may be TEXT; ``pos``
    is the INTEGER PRIMARY KEY)."""
    cur = conn.execute("SELECT pos, hash FROM tree_hashes WHERE pos >= ? AND pos < ? ORDER BY pos",
                       (start, (1 << 62) if end is None else end))
    while rows := cur.fetchmany(4096):
        yield from rows


def hashes_between(conn: sqlite3.Connection, start: int, end: int) -> list[Any]:
    """Return the stored tree hashes at positions start..end-1 as stored, in order, with no
    check: as many as are stored there (positions are the INTEGER PRIMARY KEY, so end - start of
    them means none is missing)."""
    return [h for (h,) in conn.execute(
        "SELECT hash FROM tree_hashes WHERE pos >= ? AND pos < ? ORDER BY pos", (start, end))]


def tree_rows(conn: sqlite3.Connection, positions: Sequence[int]) -> dict[int, Any]:
    """Return {position: hash as stored} of the stored tree hashes at ``positions`` that exist."""
    if not positions:
        return {}
    marks = ",".join("?" * len(positions))
    return dict(conn.execute(f"SELECT pos, hash FROM tree_hashes WHERE pos IN ({marks})",
                             list(positions)).fetchall())


def count_tree_hashes(conn: sqlite3.Connection) -> int:
    """Return the number of stored tree hashes (the largest position + 1 if none is missing)."""
    row = conn.execute("SELECT MAX(pos) FROM tree_hashes").fetchone()
    return 0 if row[0] is None else int(row[0]) + 1


def checkpoint_rows(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    """Return (id, origin, size, base64 root, note) of every stored checkpoint, oldest first, as
    stored (``proofs.stored_checkpoints`` checks them)."""
    return conn.execute("SELECT id, origin, size, root, note FROM checkpoints ORDER BY id").fetchall()


def stored_origins(conn: sqlite3.Connection) -> list[str]:
    """Return the origins of the stored checkpoints, by name (text only)."""
    return sorted(o for (o,) in conn.execute("SELECT DISTINCT origin FROM checkpoints")
                  if isinstance(o, str))


def log_origins(conn: sqlite3.Connection) -> set[str]:
    """Return the origins the file names for its log: its stored checkpoints', and for a mirror
    the log it mirrors (text only; none when they cannot be read). The file's word, for a hint,
    never for a check."""
    try:
        mirrored = conn.execute("SELECT value FROM ledger_meta WHERE key = 'mirror_of'").fetchall()
        return set(stored_origins(conn)) | {o for (o,) in mirrored if isinstance(o, str)}
    except sqlite3.Error:
        return set()


def insert_checkpoint(conn: sqlite3.Connection, origin: str, size: int, root: str, note: str,
                      signed_at: str) -> None:
    """Store a signed checkpoint (inside a write transaction)."""
    conn.execute("INSERT INTO checkpoints (origin, size, root, note, signed_at) VALUES (?,?,?,?,?)",
                 (origin, size, root, note, signed_at))


def insert_signature(conn: sqlite3.Connection, first: int, last: int, key_id: int,
                     signature: str) -> None:
    """Store one batch signature (inside the batch's write transaction)."""
    conn.execute("INSERT INTO signatures VALUES (?, ?, ?, ?)", (first, last, key_id, signature))


def iter_signatures(conn: sqlite3.Connection) -> Iterator[tuple[Any, ...]]:
    """Yield (first seq, last seq, key id, signature) of every batch signature in order, as
    stored (``keyring.SignatureCheck`` checks their types and ranges)."""
    cur = conn.execute("SELECT first_seq, last_seq, key_id, signature FROM signatures "
                       "ORDER BY first_seq")
    while rows := cur.fetchmany(4096):
        yield from rows


def signature_rows(conn: sqlite3.Connection, limit: int) -> list[tuple[Any, ...]]:
    """Return the first ``limit`` signature rows in order, as stored."""
    return conn.execute("SELECT first_seq, last_seq, key_id, signature FROM signatures "
                        "ORDER BY first_seq LIMIT ?", (limit,)).fetchall()


def signature_covering(conn: sqlite3.Connection, seq: int) -> tuple[Any, ...] | None:
    """Return the stored signature row (first, last, key id, signature) whose range starts at or
    before ``seq`` latest, as stored, or None."""
    row = conn.execute("SELECT first_seq, last_seq, key_id, signature FROM signatures WHERE "
                       "first_seq <= ? ORDER BY first_seq DESC LIMIT 1", (seq,)).fetchone()
    return None if row is None else tuple(row)


def stored_root(conn: sqlite3.Connection, size: int, head: bool = True) -> bytes | None:
    """Return the stored tree's root at ``size``, or None if the stored tree lacks hashes (with
    ``head``, the default, if it does not hold exactly the hashes of a tree of ``size``: the
    size is the log's head; else ``size`` may be any earlier size, a checkpoint's)."""
    stored, needed = count_tree_hashes(conn), stored_count(size)
    if stored < needed or (head and stored != needed):
        return None
    try:
        return tree_root(size, lambda positions: read_hashes(conn, positions))
    except CorruptEvent:
        return None
