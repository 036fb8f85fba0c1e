"""The SQL floor of a bulk append's writer (run: .venv/bin/python bench/floors.py [EVENTS]).

Appends EVENTS (default 50,000) synthetic events (``bench/synth.py``) to a new format v2 ledger,
then inserts the same stored rows again, with plain ``sqlite3`` in one transaction, into a new
file with the ledger's events schema (one ``execute`` per row, as the writer does, and one
``executemany``), without the chain trigger, and without the trigger and the indexes: what the
inserts alone cost per event, before any of the writer's Python work.
"""

from __future__ import annotations

import re
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench import bulk_append, write_jsonl
from ledger.storage import store

INSERT = f"INSERT INTO events ({store.EVENT_COLUMNS_V2}) VALUES (?,?,?,?,?,?,?,?,?,?,?)"


def insert_cost(rows: list[tuple[object, ...]], schema: str, path: Path, many: bool) -> float:
    """Return µs per row to insert ``rows`` into a new file with ``schema``."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(schema)
    start = time.perf_counter()
    conn.execute("BEGIN")
    if many:
        conn.executemany(INSERT, rows)
    else:
        for row in rows:
            conn.execute(INSERT, row)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed / len(rows) * 1e6


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        source, db = tmp / "in.jsonl", tmp / "l.db"
        write_jsonl(source, n)
        bulk_append(db, source)
        with sqlite3.connect(db) as conn:
            rows = conn.execute(f"SELECT {store.EVENT_COLUMNS_V2} FROM events").fetchall()
        full = store.EVENTS_SCHEMA_V2
        untriggered = re.sub(r"CREATE TRIGGER events_chain_only.*?END;", "", full, flags=re.S)
        bare = re.sub(r"CREATE INDEX.*?;", "", untriggered, flags=re.S)
        cases = [("the ledger's events schema, one execute per row", full, False),
                 ("the ledger's events schema, executemany", full, True),
                 ("without the chain trigger, executemany", untriggered, True),
                 ("without the trigger and the indexes, executemany", bare, True)]
        print(f"{len(rows):,} stored format v2 events, inserted again (µs per event):")
        for label, schema, many in cases:
            print(f"  {label}: {insert_cost(rows, schema, tmp / 'f.db', many):.1f}")


if __name__ == "__main__":
    main()
