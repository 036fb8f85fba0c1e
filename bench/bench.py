"""Benchmark the ledger against same-run ceilings (run: make bench [ARGS=--full]).

Prints one table and writes bench/results.json. Each figure is measured in this run, on this
machine, side by side with the ceiling it is compared to.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.synth import items
from ledger.api import Ledger
from ledger.events import EVENT_HASH_PREFIX

HERE = Path(__file__).parent


def write_jsonl(path: Path, n: int) -> int:
    count = 0
    with path.open("wb") as out:
        for contract, payload in items(n):
            out.write(orjson.dumps({"contract": contract, "payload": payload}) + b"\n")
            count += 1
    return count


def bulk_append(db: Path, source: Path) -> float:
    with Ledger.create(db) as ledger, source.open("rb") as handle:
        start = time.perf_counter()
        ledger.append_jsonl(handle, "bench")
        return time.perf_counter() - start


def ceiling_append(db: Path, source: Path) -> float:
    """Plain sqlite3 executemany of the same payloads, orjson sorted keys, SHA-256 chain."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, contract TEXT, payload TEXT, "
                 "prev_hash TEXT, hash TEXT)")
    start = time.perf_counter()
    prev, rows = "0" * 64, []
    with source.open("rb") as handle:
        for seq, line in enumerate(handle, start=1):
            doc = orjson.loads(line)
            body = orjson.dumps(doc["payload"], option=orjson.OPT_SORT_KEYS)
            digest = hashlib.sha256(prev.encode() + body).hexdigest()
            rows.append((seq, doc["contract"], body.decode(), prev, digest))
            prev = digest
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO events VALUES (?,?,?,?,?)", rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def rehash_ceiling(db: Path) -> float:
    """Read every stored event and SHA-256 its stored bytes (what verify cannot beat)."""
    conn = sqlite3.connect(db)
    start = time.perf_counter()
    for row in conn.execute("SELECT seq, type, record_id, contract, payload, actor, recorded_at, "
                            "prev_hash FROM events ORDER BY seq"):
        hashlib.sha256(EVENT_HASH_PREFIX + "".join(map(str, row)).encode()).hexdigest()
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


CHILD = """
import resource, sys, time, io
from ledger.api import Ledger
op, db = sys.argv[1], sys.argv[2]
with Ledger.open(db) as ledger:
    start = time.perf_counter()
    if op == "verify":
        assert ledger.verify().ok
        size = 0
    elif op == "rebuild":
        ledger.rebuild()
        size = 0
    else:
        with open(sys.argv[3], "wb") as out:
            ledger.export(out, "jsonl")
            size = out.tell()
    elapsed = time.perf_counter() - start
print(elapsed, size, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def child(op: str, db: Path, *extra: str) -> tuple[float, int, int]:
    out = subprocess.run([sys.executable, "-c", CHILD, op, str(db), *extra], check=True,
                         capture_output=True, text=True, cwd=HERE.parent).stdout.split()
    return float(out[0]), int(out[1]), int(out[2])


def measure(n: int, tmp: Path) -> dict[str, Any]:
    source = tmp / f"in-{n}.jsonl"
    events = write_jsonl(source, n)
    db, ceiling_db = tmp / f"l-{n}.db", tmp / f"c-{n}.db"
    t_bulk, t_ceiling = bulk_append(db, source), ceiling_append(ceiling_db, source)
    t_verify, _, rss_verify = child("verify", db)
    t_rehash = rehash_ceiling(db)
    t_rebuild, _, rss_rebuild = child("rebuild", db)
    t_export, size, rss_export = child("export", db, str(tmp / f"e-{n}.jsonl"))
    return {
        "events": events,
        "bulk_append_eps": events / t_bulk, "ceiling_append_eps": events / t_ceiling,
        "bulk_ratio": t_ceiling / t_bulk,
        "verify_eps": events / t_verify, "rehash_eps": events / t_rehash,
        "verify_ratio": t_rehash / t_verify,
        "rebuild_eps": events / t_rebuild, "export_mb_s": size / 1e6 / t_export,
        "rss_verify_mb": rss_verify / 1024, "rss_rebuild_mb": rss_rebuild / 1024,
        "rss_export_mb": rss_export / 1024,
    }


ROWS = [
    ("bulk append (events/s)", "bulk_append_eps", "{:,.0f}"),
    ("  ceiling: sqlite3 executemany + orjson + sha256", "ceiling_append_eps", "{:,.0f}"),
    ("  ratio (target >= 0.5)", "bulk_ratio", "{:.2f}"),
    ("verify (events/s)", "verify_eps", "{:,.0f}"),
    ("  ceiling: re-hash stored bytes", "rehash_eps", "{:,.0f}"),
    ("  ratio (target >= 0.5)", "verify_ratio", "{:.2f}"),
    ("rebuild (events/s, target >= 150k)", "rebuild_eps", "{:,.0f}"),
    ("export jsonl (MB/s)", "export_mb_s", "{:.1f}"),
    ("peak RSS verify (MB)", "rss_verify_mb", "{:.0f}"),
    ("peak RSS rebuild (MB)", "rss_rebuild_mb", "{:.0f}"),
    ("peak RSS export (MB)", "rss_export_mb", "{:.0f}"),
]


def table(results: dict[int, dict[str, Any]]) -> str:
    sizes = sorted(results)
    head = f"| measure | {' | '.join(f'{n:,} events' for n in sizes)} |"
    lines = [head, "|---|" + "---:|" * len(sizes)]
    for label, key, fmt in ROWS:
        lines.append(f"| {label} | {' | '.join(fmt.format(results[n][key]) for n in sizes)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="also 10^6 events")
    parser.add_argument("--sizes", type=int, nargs="*", help="override the sizes")
    args = parser.parse_args()
    sizes = args.sizes or ([10_000, 100_000, 1_000_000] if args.full else [10_000, 100_000])
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, " \
              f"SQLite {sqlite3.sqlite_version}"
    with tempfile.TemporaryDirectory() as tmp:
        results = {n: measure(n, Path(tmp)) for n in sizes}
    print(f"machine: {machine}\n")
    print(table(results))
    (HERE / "results.json").write_bytes(orjson.dumps(
        {"machine": machine, "results": {str(k): v for k, v in results.items()}},
        option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))


if __name__ == "__main__":
    main()
