"""SQLite tables beside the events: the Merkle tree's stored hashes, signed checkpoints and
batch signatures. All append-only by trigger (see ``store.EVENTS_SCHEMA`` and ``TREE_SCHEMA``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterator, Sequence
from typing import TYPE_CHECKING

from ledger import store
from ledger.errors import CorruptEvent
from ledger.merkle import stored_count, tree_root

if TYPE_CHECKING:  # verify is loaded when a log is verified, not at every CLI start-up
    from ledger.verify import Progress, VerifyReport


def read_hashes(conn: sqlite3.Connection, positions: Sequence[int]) -> list[bytes]:
    """Return the stored tree hashes at ``positions``, in that order."""
    if not positions:
        return []
    marks = ",".join("?" * len(positions))
    found = dict(conn.execute(f"SELECT pos, hash FROM tree_hashes WHERE pos IN ({marks})",
                              list(positions)).fetchall())
    missing = [p for p in positions if p not in found]
    if missing:
        raise CorruptEvent(f"the Merkle tree is missing stored hash #{missing[0]}: run `ledger audit`")
    return [bytes(found[p]) for p in positions]


def insert_hashes(conn: sqlite3.Connection, start: int, hashes: Sequence[bytes]) -> None:
    """Store tree hashes at positions start, start + 1, … (inside a write transaction)."""
    conn.executemany("INSERT INTO tree_hashes VALUES (?, ?)",
                     [(start + i, h) for i, h in enumerate(hashes)])


def iter_tree_hashes(conn: sqlite3.Connection) -> Iterator[tuple[int, bytes]]:
    """Yield (position, hash) of every stored tree hash in order, as stored (a hash edited
    behind the ledger's back may be TEXT; ``pos`` is the INTEGER PRIMARY KEY)."""
    cur = conn.execute("SELECT pos, hash FROM tree_hashes ORDER BY pos")
    while rows := cur.fetchmany(4096):
        yield from rows


def count_tree_hashes(conn: sqlite3.Connection) -> int:
    """Return the number of stored tree hashes (the largest position + 1 if none is missing)."""
    row = conn.execute("SELECT MAX(pos) FROM tree_hashes").fetchone()
    return 0 if row[0] is None else int(row[0]) + 1


def checkpoints(conn: sqlite3.Connection) -> list[tuple[str, int, str, str]]:
    """Return (origin, size, base64 root, note) of every stored checkpoint, oldest first."""
    rows = conn.execute("SELECT origin, size, root, note FROM checkpoints ORDER BY id").fetchall()
    return [(str(o), int(s), str(r), str(n)) for o, s, r, n in rows]


def insert_checkpoint(conn: sqlite3.Connection, origin: str, size: int, root: str, note: str,
                      signed_at: str) -> None:
    """Store a signed checkpoint (inside a write transaction)."""
    conn.execute("INSERT INTO checkpoints (origin, size, root, note, signed_at) VALUES (?,?,?,?,?)",
                 (origin, size, root, note, signed_at))


def insert_signature(conn: sqlite3.Connection, first: int, last: int, key_id: int,
                     signature: str) -> None:
    """Store one batch signature (inside the batch's write transaction)."""
    conn.execute("INSERT INTO signatures VALUES (?, ?, ?, ?)", (first, last, key_id, signature))


def iter_signatures(conn: sqlite3.Connection) -> Iterator[tuple[int, int, int, str]]:
    """Yield (first seq, last seq, key id, signature) of every batch signature, in order."""
    cur = conn.execute("SELECT first_seq, last_seq, key_id, signature FROM signatures "
                       "ORDER BY first_seq")
    while rows := cur.fetchmany(4096):
        yield from ((int(a), int(b), int(c), str(d)) for a, b, c, d in rows)


def stored_root(conn: sqlite3.Connection, size: int) -> bytes | None:
    """Return the stored tree's root at ``size``, or None if the stored tree lacks hashes."""
    if count_tree_hashes(conn) != stored_count(size):
        return None
    try:
        return tree_root(size, lambda positions: read_hashes(conn, positions))
    except CorruptEvent:
        return None


def verify_stored(conn: sqlite3.Connection, progress: Progress | None = None, *,
                  every_tree_hash: bool = True, capture: Collection[int] = ()) -> VerifyReport:
    """Return the verify report of the stored log: chain, signatures and Merkle tree.

    With ``every_tree_hash`` each stored tree hash is compared with the events; otherwise only
    the root is, and the full comparison (which names the first bad seq) runs if it differs.
    """
    from ledger.verify import verify_events

    def run(tree: bool, prog: Progress | None) -> VerifyReport:
        return verify_events(store.iter_events(conn, raw=True), prog,
                             iter_tree_hashes(conn) if tree else None, capture,
                             iter_signatures(conn))

    report = run(every_tree_hash, progress)
    if not every_tree_hash and report.ok and report.root != stored_root(conn, report.events):
        report = run(True, None)
    return report
