"""What an attacker who can write the SQLite file (but holds no private key of the ledger) can do,
written from the documented byte formats with plain ``sqlite3``, ``hashlib``, the ``rfc8785``
package and ``cryptography`` — never with the project's own modules, so that a bug shared by the
ledger and its tests cannot hide an attack.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

EVENT_PREFIX = b"provenance-ledger/event/v1\n"
EVENT_PREFIX_V2 = b"provenance-ledger/event/v2\n"
MEMBER_PREFIX = b"provenance-ledger/member/v2\n"
SIGNATURE_PREFIX = b"provenance-ledger/batch-signature/v1\n"
COLUMNS = ("seq", "type", "record_id", "contract", "payload", "actor", "recorded_at", "prev_hash",
           "hash")
V2_COLUMNS = (*COLUMNS, "salts", "commitments")
V2_HASHED = ("actor", "commitments", "contract", "prev_hash", "record_id", "recorded_at", "seq",
             "type")


def columns(conn: sqlite3.Connection) -> tuple[str, ...]:
    """Return the event columns of the file (format v2 has salts and commitments)."""
    names = [r[1] for r in conn.execute("PRAGMA table_info(events)").fetchall()]
    return V2_COLUMNS if "commitments" in names else COLUMNS


def commit(salt: bytes, name: str, value: Any) -> str:
    """Return a v2 member commitment (docs/format.md)."""
    return hashlib.sha256(MEMBER_PREFIX + salt + rfc8785.dumps(name) + rfc8785.dumps(value)).hexdigest()


def recommit(env: dict[str, Any]) -> None:
    """Give a v2 envelope fresh salts and commitments for its payload members as they are now
    (a withheld member, which has no salt, keeps its commitment)."""
    old_salts, old = env.get("salts") or {}, env.get("commitments") or {}
    salts, commitments = {}, {}
    for name, value in env["payload"].items():
        if name not in old_salts and name in old:
            commitments[name] = old[name]  # withheld: no salt to recompute it with
            continue
        salt = os.urandom(16)
        salts[name], commitments[name] = salt.hex(), commit(salt, name, value)
    env["salts"], env["commitments"] = salts, commitments


@contextmanager
def unguarded(db: Path) -> Iterator[sqlite3.Connection]:
    """Yield a connection with every trigger dropped; put them back afterwards (a careful
    attacker leaves the schema as it was)."""
    conn = sqlite3.connect(db)
    try:
        guards = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
        for name, _ in guards:
            conn.execute(f"DROP TRIGGER {name}")
        yield conn
        for _, sql in guards:
            with suppress(sqlite3.Error):  # a trigger on a table the attack replaced by a view
                conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


def canonical(envelope: dict[str, Any]) -> bytes:
    """Return the canonical bytes of an envelope (v1: every key but ``hash``; v2: the keys
    that are hashed, ``commitments`` in place of the payload)."""
    if "commitments" in envelope:
        return rfc8785.dumps({k: envelope[k] for k in V2_HASHED})
    return rfc8785.dumps({k: v for k, v in envelope.items() if k != "hash"})


def event_hash(envelope: dict[str, Any]) -> str:
    """Return the hash of an envelope of either format."""
    prefix = EVENT_PREFIX_V2 if "commitments" in envelope else EVENT_PREFIX
    return hashlib.sha256(prefix + canonical(envelope)).hexdigest()


def rows(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Return every event row as a dict with the payload (and a v2 row's salts and
    commitments) parsed, in seq order."""
    out = []
    names = columns(conn)
    for row in conn.execute(f"SELECT {', '.join(names)} FROM events ORDER BY seq").fetchall():
        env = dict(zip(names, row, strict=True))
        for key in ("payload", "salts", "commitments"):
            if key in env:
                with suppress(ValueError):  # text that is not JSON stays text
                    env[key] = json.loads(env[key])
        out.append(env)
    return out


def insert(conn: sqlite3.Connection, env: dict[str, Any]) -> dict[str, Any]:
    """Insert an envelope as a row, with its hash (and in a v2 file, its members' commitments,
    freshly salted) computed; return it."""
    names = columns(conn)
    env = dict(env)
    if "commitments" in names:
        recommit(env)
    env["hash"] = event_hash(env)
    values = [rfc8785.dumps(env[k]).decode() if k in ("payload", "salts", "commitments") else env[k]
              for k in names]
    conn.execute(f"INSERT INTO events ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                 values)
    return env


def forge_next(conn: sqlite3.Connection, type_: str, record_id: str, contract: str,
               payload: dict[str, Any], actor: str = "attacker",
               recorded_at: str = "2026-11-26T00:00:00.000000Z") -> dict[str, Any]:
    """Append a well-formed event after the last one (hash and link right) and return it."""
    last = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (1, "0" * 64) if last is None else (last[0] + 1, last[1])
    return insert(conn, {"seq": seq, "type": type_, "record_id": record_id, "contract": contract,
                         "payload": payload, "actor": actor, "recorded_at": recorded_at,
                         "prev_hash": prev})


def rebuild_tree(conn: sqlite3.Connection, written: dict[int, bytes] | None = None) -> None:
    """Recompute the stored RFC 6962 tree from the events, in the append-only storage order
    (leaf i, then one node per trailing 1 bit of i); ``written``: the exact bytes hashed for the
    events of those seqs, where they are not the canonical bytes of their values."""
    conn.execute("DELETE FROM tree_hashes")
    frontier: list[bytes] = []
    pos = 0
    for i, env in enumerate(rows(conn)):
        h = hashlib.sha256(b"\x00" + (written or {}).get(env["seq"], canonical(env))).digest()
        new = [h]
        n = i
        while n & 1:
            h = hashlib.sha256(b"\x01" + frontier.pop() + h).digest()
            new.append(h)
            n >>= 1
        frontier.append(h)
        for value in new:
            conn.execute("INSERT INTO tree_hashes VALUES (?, ?)", (pos, value))
            pos += 1


def rechain(conn: sqlite3.Connection, edit: Any = None) -> None:
    """Rewrite every event with hashes and links recomputed (``edit(env)`` may change each
    first), and the tree: a history rewritten so that the chain alone cannot tell."""
    envs = rows(conn)
    conn.execute("DELETE FROM events")
    prev = "0" * 64
    for env in envs:
        if edit is not None:
            edit(env)
        env["prev_hash"] = prev
        prev = insert(conn, env)["hash"]
    rebuild_tree(conn)


def new_key(name: str) -> tuple[Ed25519PrivateKey, str, int]:
    """Return (private key, verifier key string, key id) of a fresh Ed25519 key, in the C2SP
    signed-note vkey format."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes_raw()
    key_id = int.from_bytes(hashlib.sha256(name.encode() + b"\n\x01" + public).digest()[:4], "big")
    encoded = base64.b64encode(b"\x01" + public).decode()
    vkey = f"{name}+{key_id:08x}+{encoded}"
    return private, vkey, key_id


def sign_batch(private: Ed25519PrivateKey, first: int, last: int, last_hash: str) -> str:
    """Return the base64 batch signature over seq first..last."""
    message = SIGNATURE_PREFIX + f"{first} {last} {last_hash}".encode()
    return base64.b64encode(private.sign(message)).decode()


def rewrite_schema(conn: sqlite3.Connection, name: str, sql: str) -> None:
    """Change the SQL text SQLite keeps for ``name`` without touching the data
    (``PRAGMA writable_schema``)."""
    version = conn.execute("PRAGMA schema_version").fetchone()[0]
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET sql = ? WHERE name = ?", (sql, name))
    conn.execute(f"PRAGMA schema_version = {version + 1}")
    conn.execute("PRAGMA writable_schema = OFF")
