"""Benchmark the ledger against same-run ceilings (run: make bench [ARGS=--full]).

Prints one table and writes bench/results.json. Each figure is measured in this run, on this
machine, side by side with the ceiling it is compared to.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import itertools
import os
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import witness_load
from bench.synth import addenda, items, published
from ledger.api import Ledger
from ledger.core.events import EVENT_HASH_PREFIX, EVENT_HASH_PREFIX_V2, MEMBER_PREFIX

HERE = Path(__file__).parent


def write_jsonl(path: Path, n: int) -> int:
    count = 0
    with path.open("wb") as out:
        for contract, payload in items(n):
            out.write(orjson.dumps({"contract": contract, "payload": payload}) + b"\n")
            count += 1
    return count


def bulk_append(db: Path, source: Path, event_format: int = 2) -> tuple[float, float, float]:
    """Append every line of ``source`` to a new ledger at ``db`` (one there before is removed);
    return (seconds, CPU seconds of this process, CPU seconds of its helper processes)."""
    for path in db.parent.glob(f"{db.name}*"):  # the file and its -wal and -shm
        path.unlink()
    with Ledger.create(db, event_format=event_format) as ledger, source.open("rb") as handle:
        start, used, helpers = time.perf_counter(), time.process_time(), children_cpu()
        ledger.append_jsonl(handle, "bench")
        return (time.perf_counter() - start, time.process_time() - used,
                children_cpu() - helpers)


def children_cpu() -> float:
    """CPU seconds (user and system) of the child processes that ended and were waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ceiling_append(db: Path, source: Path, validate: bool = False) -> float:
    """Plain sqlite3 executemany of the same payloads, orjson sorted keys, SHA-256 chain; with
    ``validate``, each payload also validated by its pydantic contract model (the second
    ceiling: the same work plus the validation every append must do)."""
    from ledger.model.contracts import CONTRACTS, contract_version

    if db.exists():
        db.unlink()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, contract TEXT, payload TEXT, "
                 "prev_hash TEXT, hash TEXT)")
    start = time.perf_counter()
    prev, rows = "0" * 64, []
    with source.open("rb") as handle:
        for seq, line in enumerate(handle, start=1):
            doc = orjson.loads(line)
            if validate:
                CONTRACTS[contract_version(doc["contract"], doc["payload"])].model_validate(
                    doc["payload"])
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


def stored_fields(db: Path) -> tuple[sqlite3.Connection, str, bool]:
    """Open a bench ledger with plain sqlite3; return it, the expression of each event's stored
    envelope fields as one BLOB (SQLite joins them: one column read per event, the cheapest plain
    reading of them, ~1.5× a read of the eight columns joined in Python), and whether it is
    format v2."""
    conn = sqlite3.connect(db)
    v2 = conn.execute("PRAGMA user_version").fetchone()[0] >= 2
    fields = ("seq", "type", "record_id", "contract", "commitments" if v2 else "payload", "actor",
              "recorded_at", "prev_hash")
    return conn, f"CAST({' || '.join(fields)} AS BLOB)", v2


def leaf_ceiling(db: Path) -> tuple[float, bytes]:
    """The verify ceiling of issue 17: read every event's stored bytes, one SHA-256 per leaf,
    and the tree's node hashes (RFC 6962: n - 1 of them; leaf number i merges once per trailing
    1 bit of i). Return the seconds and the root (of those leaves: ``test_bench`` checks it)."""
    conn, stored_bytes, _ = stored_fields(db)
    sha = hashlib.sha256
    start = time.perf_counter()
    frontier: list[bytes] = []  # the roots of the perfect subtrees so far, the largest first
    pop, push = frontier.pop, frontier.append
    rows = conn.execute(f"SELECT {stored_bytes} FROM events ORDER BY seq")
    for leaf, (stored,) in enumerate(rows):
        node = sha(b"\x00" + stored).digest()
        while leaf & 1:
            node = sha(b"\x01" + pop() + node).digest()
            leaf >>= 1
        push(node)
    root = pop() if frontier else b""
    while frontier:
        root = sha(b"\x01" + pop() + root).digest()
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed, root


def rehash_ceiling(db: Path) -> float:
    """Read every stored event and SHA-256 its stored bytes; in a format v2 ledger also one
    SHA-256 per stored payload member (salt, name and value, the value serialised by orjson with
    sorted keys), the unavoidable work of checking the members. (No node hashes: see
    leaf_ceiling for the issue's ceiling.)"""
    conn, stored_bytes, v2 = stored_fields(db)
    select = f"SELECT {stored_bytes}{', payload, salts' if v2 else ''} FROM events ORDER BY seq"
    sha = hashlib.sha256
    start = time.perf_counter()
    if not v2:
        for (stored,) in conn.execute(select):
            sha(EVENT_HASH_PREFIX + stored).hexdigest()
    else:
        dumps, loads, prefix, fromhex = orjson.dumps, orjson.loads, MEMBER_PREFIX, bytes.fromhex
        for stored, payload, salts_text in conn.execute(select):
            sha(EVENT_HASH_PREFIX_V2 + stored).hexdigest()
            salts = loads(salts_text)
            for name, value in loads(payload).items():
                sha(prefix + fromhex(salts[name]) + dumps(name)
                    + dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


CHILD = """
import sys, time
from ledger.api import Ledger
op, db = sys.argv[1], sys.argv[2]
with (Ledger.create(db) if op == "bulk" else Ledger.open(db)) as ledger:
    ledger_events = ledger.head()[0]
    start, used = time.perf_counter(), time.process_time()
    if op == "bulk":  # a new ledger at db, every line of the file sys.argv[3] appended
        with open(sys.argv[3], "rb") as source:
            ledger.append_jsonl(source, "bench")
        ledger_events, size = ledger.head()[0], 0
    elif op == "verify":
        assert ledger.verify().ok
        size = 0
    elif op == "audit":
        assert ledger.audit().ok
        size = 0
    elif op in ("rebuild", "rebuild-drop"):
        ledger.rebuild(drop=op == "rebuild-drop")
        size = 0
    else:
        with open(sys.argv[3], "wb") as out:
            ledger.export(out, "jsonl")
            size = out.tell()
    elapsed, used = time.perf_counter() - start, time.process_time() - used
# VmHWM is this address space's peak; ru_maxrss would include the parent's, inherited at exec.
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
if op in ("rebuild", "rebuild-drop", "verify", "audit", "bulk"):  # plus the helper processes:
    import resource  # each at most the largest one's peak (an upper bound: a child's ru_maxrss
    from ledger.ops import audit, bulkprep, maintenance, verification  # starts from this one's)
    module = {"rebuild": maintenance, "rebuild-drop": maintenance,
              "bulk": bulkprep}.get(op, verification)
    helpers = module.HELPERS if ledger_events >= module.PARALLEL_FROM else 0
    if op == "audit":  # the rules' replay runs in helpers beside verify's
        helpers += audit.HELPERS if ledger_events >= audit.PARALLEL_FROM else 0
    hwm += helpers * resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
import resource
helpers_cpu = sum(getattr(resource.getrusage(resource.RUSAGE_CHILDREN), f"ru_{kind}time")
                  for kind in ("u", "s"))
print(elapsed, size, hwm, used, helpers_cpu)
"""


SITE_CHILD = """
import sys, time
from pathlib import Path
from ledger.api import Ledger
from ledger.core.note import parse_signer
from ledger.ops.keys import generate
db, out = sys.argv[1], Path(sys.argv[2])
skey, vkey = generate("bench.example")
with Ledger.open(db) as ledger:
    note, _ = ledger.checkpoint(parse_signer(skey))
    start = time.perf_counter()
    done = ledger.site(out, note, vkey)
    records, written = done.records, done.written
    full = time.perf_counter() - start
    rid = next(p.stem for p in sorted(out.glob("*.html")) if not p.stem.startswith("index"))
    ledger.submit("correction-record-v1", {"record_id": rid.replace("-", ":", 1), "kind":
                  "retraction", "reason": "bench"}, "bench")
    start = time.perf_counter()
    again = ledger.site(out, note, vkey).written
    incremental = time.perf_counter() - start
pages = [p.stat().st_size for p in out.glob("*.html") if not p.stem.startswith("index")]
bundles = [p.stat().st_size for p in (out / "bundles").glob("*.js")]
first = (out / "index.html").stat().st_size
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(records, full, incremental, again, sum(pages) / len(pages), sum(bundles) / len(bundles), first, hwm)
"""


def copy_ledger(db: Path, copy: Path) -> None:
    """Copy the ledger at ``db`` to ``copy`` with SQLite's backup, both connections closed
    afterwards (a stage that appends works on a copy: the rest measures the ledger as it was)."""
    with contextlib.closing(sqlite3.connect(db)) as source, \
            contextlib.closing(sqlite3.connect(copy)) as target:
        source.backup(target)


def site_build(db: Path, tmp: Path) -> dict[str, float]:
    """`ledger site` with a checkpoint over the whole ledger, in a child process: the full build,
    then an incremental run after one correction (the same checkpoint). The site is left in
    ``tmp / "site"``: ``measure`` deletes it once the tiles are timed (right after many files
    are deleted, this ext4 creates files 3-4x slower)."""
    copy = tmp / "site-copy.db"  # the correction must not change the ledger the rest measures
    copy_ledger(db, copy)
    out = subprocess.run([sys.executable, "-c", SITE_CHILD, str(copy), str(tmp / "site")],
                         check=True, capture_output=True, text=True, cwd=HERE.parent).stdout.split()
    for path in tmp.glob("site-copy.db*"):
        path.unlink()
    records, full, incremental = int(out[0]), float(out[1]), float(out[2])
    return {"site_records": records, "site_s": full, "site_records_s": records / full,
            "site_incremental_s": incremental, "site_incremental_files": int(out[3]),
            "site_page_kb": float(out[4]) / 1024, "site_bundle_kb": float(out[5]) / 1024,
            "site_index_kb": int(out[6]) / 1024, "rss_site_mb": int(out[7]) / 1024}


TILES_CHILD = """
import io, shutil, sys, time
from pathlib import Path
import orjson
from bench.synth import record_items
from ledger.api import Ledger
from ledger.core.note import parse_signer, parse_verifier
from ledger.ops.keys import generate
from ledger.ops.monitor import DirSource, HttpSource, monitor
from bench.nginx import NGINX, serving
db, out, rounds = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
skey, vkey = generate("tiles.bench.example")
with Ledger.open(db) as ledger:  # signing verifies the log first; then the tiles are written
    start = time.perf_counter()
    ledger.checkpoint(parse_signer(skey))
    signing = time.perf_counter() - start
# The tiles and the ceiling in turn, each round into folders of its own (none is deleted before
# the end: right after many files are deleted, this ext4 creates files 3-4x slower); the last
# round's tiles are `out`, which the monitor follows. Each side keeps its median round.
fulls, ceilings, made = [], [], []
for r in range(rounds):
    folder = out if r == rounds - 1 else out.parent / f"{out.name}-{r}"
    plain = out.parent / f"{out.name}-plain-{r}"
    made += [folder, plain]
    with Ledger.open(db) as ledger:
        start = time.perf_counter()
        ledger.tiles(folder, parse_signer(skey))
        fulls.append(time.perf_counter() - start)
    files = [(p.relative_to(folder), p.read_bytes()) for p in folder.rglob("*") if p.is_file()]
    start = time.perf_counter()
    for name, data in files:  # the ceiling: the same bytes as plain files, same folders
        target = plain / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as handle:
            handle.write(data)
    ceilings.append(time.perf_counter() - start)
    size, count = sum(len(d) for _, d in files), len(files)
    del files
full, ceiling = sorted(fulls)[rounds // 2], sorted(ceilings)[rounds // 2]
start = time.perf_counter()
state = out.parent / "seen.json"
monitor(DirSource(out), parse_verifier(vkey), state, None, rederive=False)
watched = time.perf_counter() - start
state.unlink()
served = -1.0  # the same from Debian's nginx on 127.0.0.1, when it is installed
if NGINX is not None:
    work = out.parent / "nginx-work"
    work.mkdir(exist_ok=True)
    with serving(out, work) as url:
        start = time.perf_counter()
        monitor(HttpSource(url), parse_verifier(vkey), None, None, rederive=False)
        served = time.perf_counter() - start
    shutil.rmtree(work)
start = time.perf_counter()
monitor(DirSource(out), parse_verifier(vkey), None, None)
rederived = time.perf_counter() - start
more = [{"contract": c, "payload": p} for i in range(2**31, 2**31 + 100)  # new records and ids
        for c, p in record_items(i)]
with Ledger.open(db) as ledger:
    ledger.append_jsonl(io.BytesIO(b"".join(orjson.dumps(m) + b"\\n" for m in more)), "bench")
    start = time.perf_counter()
    again = ledger.tiles(out, parse_signer(skey))
    incremental = time.perf_counter() - start
print(full, ceiling, incremental, again.written, watched, rederived, size, count, served,
      signing, ",".join(map(str, fulls)), ",".join(map(str, ceilings)))
for folder in made:
    shutil.rmtree(folder)
"""


def tiles_bench(db: Path, tmp: Path, rounds: int) -> dict[str, Any]:
    """`ledger tiles` of the whole ledger (after signing a checkpoint, which verifies the log:
    timed on its own) against writing the same bytes as plain files, in turn, ``rounds`` rounds
    each into a folder of its own, each side keeping its median; the monitor following the last
    round's folder (checking only, then re-deriving every record); an incremental run after
    1,000 more events. On a copy (the run appends)."""
    copy = tmp / "tiles-copy.db"
    copy_ledger(db, copy)
    try:
        out = subprocess.run([sys.executable, "-c", TILES_CHILD, str(copy), str(tmp / "tiles"),
                              str(rounds)], check=True, capture_output=True, text=True,
                             cwd=HERE.parent).stdout.split()
    finally:
        for path in tmp.glob("tiles-copy.db*"):
            path.unlink()
    full, ceiling, incremental, written, watched, rederived = map(float, out[:6])
    return {"tiles_s": full, "tiles_ceiling_s": ceiling, "tiles_ratio": ceiling / full,
            "tiles_incremental_s": incremental, "tiles_incremental_files": written,
            "tiles_mb": int(out[6]) / 1e6, "tiles_files": int(out[7]),
            "monitor_s": watched, "monitor_rederive_s": rederived,
            "monitor_served_s": float(out[8]),  # -1: no nginx here
            "tiles_signing_s": float(out[9]), "tiles_first_s": float(out[9]) + full,
            "tiles_each_s": [float(t) for t in out[10].split(",")],
            "tiles_ceiling_each_s": [float(t) for t in out[11].split(",")]}


def structure_times(db: Path) -> tuple[float, float]:
    """Seconds of verify's structure checks (schema; integrity_check of events and its indexes,
    quick_check of the other tables verify reads) and of audit's (schema; full integrity_check)."""
    from ledger.ops import verification
    from ledger.storage import store

    conn = store.open_ledger(db)
    times = []
    for thorough in (False, True):
        start = time.perf_counter()
        assert verification.check_structure(conn)[0] is None
        assert verification.check_storage(conn, thorough) is None
        times.append(time.perf_counter() - start)
    conn.close()
    return times[0], times[1]


def child(op: str, db: Path, *extra: str) -> tuple[float, int, int, float, float]:
    """Run ``op`` in a new process: return (seconds, bytes written, peak RSS in KiB, CPU
    seconds of that process during the operation, CPU seconds of its helper processes)."""
    out = subprocess.run([sys.executable, "-c", CHILD, op, str(db), *extra], check=True,
                         capture_output=True, text=True, cwd=HERE.parent).stdout.split()
    return float(out[0]), int(out[1]), int(out[2]), float(out[3]), float(out[4])


def durable_appends(tmp: Path, n: int = 100, rounds: int = 7) -> dict[str, float]:
    """In-process single appends (one transaction each, synchronous=FULL) vs plain inserts.

    fsync time on a shared disk drifts, so the sides alternate: ``rounds`` rounds of ``n``
    appends each, and the median round of each side is compared. For context (not a ceiling:
    the target is against the one-row one), a third side writes as many pages per transaction
    as one of our appends does (counted in the write-ahead log): one row in each of that many
    plain tables.
    """
    records = 20
    payloads = addenda(n * rounds + 5, records)
    conn = plain_wal(tmp / "fsync.db", 1)
    ours: list[float] = []
    theirs: list[float] = []
    paged: list[float] = []
    cpu: list[float] = []
    with Ledger.create(tmp / "single.db") as ledger:
        published(ledger, records)
        pages = wal_pages(ledger, tmp / "single.db", payloads[n * rounds:])
        wide = plain_wal(tmp / "pages.db", pages)
        for r in range(rounds):
            chunk = payloads[r * n:(r + 1) * n]
            start, used = time.perf_counter(), time.process_time()
            for p in chunk:
                ledger.submit("correction-record-v1", p, "bench")
            ours.append(n / (time.perf_counter() - start))
            cpu.append((time.process_time() - used) / n)
            for side, plain, tables in ((theirs, conn, 1), (paged, wide, pages)):
                start = time.perf_counter()
                for p in chunk:
                    plain.execute("BEGIN IMMEDIATE")
                    text = orjson.dumps(p).decode()
                    for t in range(tables):
                        plain.execute(f"INSERT INTO t{t} (payload) VALUES (?)", (text,))
                    plain.execute("COMMIT")
                side.append(n / (time.perf_counter() - start))
    conn.close()
    wide.close()
    ours_eps, ceiling, same_pages = (sorted(side)[rounds // 2] for side in (ours, theirs, paged))
    return {"single_append_eps": ours_eps, "fsync_ceiling_eps": ceiling,
            "single_ratio": ours_eps / ceiling, "single_cpu_ms": sorted(cpu)[rounds // 2] * 1000,
            "fsync_ceiling_ms": 1000 / ceiling, "single_pages": pages,
            "same_pages_eps": same_pages, "same_pages_ratio": same_pages / ceiling}


def plain_wal(path: Path, tables: int) -> sqlite3.Connection:
    """A plain WAL database with synchronous=FULL and ``tables`` tables t0, t1, …"""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    for t in range(tables):
        conn.execute(f"CREATE TABLE t{t} (seq INTEGER PRIMARY KEY, payload TEXT)")
    return conn


def wal_pages(ledger: Ledger, db: Path, payloads: list[dict[str, Any]]) -> int:
    """Return how many pages one durable append writes: the median number of frames each of
    ``payloads`` adds to an emptied write-ahead log."""
    page = int(ledger.conn.execute("PRAGMA page_size").fetchone()[0])
    frames = []
    for payload in payloads:
        ledger.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        ledger.submit("correction-record-v1", payload, "bench")
        frames.append((Path(f"{db}-wal").stat().st_size - 32) // (24 + page))
    return sorted(frames)[len(frames) // 2]


def median_walls(commands: list[list[str]], runs: int = 7) -> list[float]:
    """Return the median wall time of each command, the commands run in turn ``runs`` times
    (one of each per round, so that a drift of the VM's speed falls on all of them alike);
    ``{i}`` in a command is the round's number."""
    def timed(cmd: list[str]) -> Callable[[], float]:
        rounds = itertools.count()

        def run() -> float:
            i, start = next(rounds), time.perf_counter()
            subprocess.run([c.replace("{i}", str(i)) for c in cmd], check=True, capture_output=True)
            return time.perf_counter() - start
        return run

    median = median_rounds({str(k): timed(cmd) for k, cmd in enumerate(commands)}, runs)
    return [median[str(k)] for k in range(len(commands))]


def cli_call(tmp: Path, runs: int = 7) -> dict[str, float]:
    """Wall time of one `ledger correct` vs one `sqlite-utils insert` (same Python stack), the
    two alternated (``median_walls``)."""
    bindir = Path(sys.executable).parent
    db = tmp / "cli.db"
    with Ledger.create(db) as ledger:
        for contract, payload in items(10):
            ledger.submit(contract, payload, "bench")
    row = tmp / "row.json"
    row.write_text('{"id": 1, "payload": "x"}')
    ours, theirs = median_walls([
        [str(bindir / "ledger"), "--db", str(db), "correct", "BENCH:00000000", "--kind",
         "clarification", "--notice-id", "CLI-{i}"],
        [str(bindir / "sqlite-utils"), "insert", str(tmp / "su.db"), "t", str(row), "--replace",
         "--pk", "id"]], runs)
    return {"cli_ms": ours * 1000, "sqlite_utils_ms": theirs * 1000, "cli_ratio": ours / theirs}


def proof_times(db: Path, events: int, samples: int = 200) -> dict[str, float]:
    """Mean time to build and check an inclusion and a consistency proof at this size."""
    import random

    from ledger.core.merkle_check import check_consistency, check_inclusion
    rng = random.Random(7)
    with Ledger.open(db) as ledger:
        start = time.perf_counter()
        for _ in range(samples):
            p = ledger.prove(rng.randint(1, events))
            check_inclusion(p.seq - 1, p.size, p.leaf, p.proof, p.root)
        inclusion = (time.perf_counter() - start) / samples
        start = time.perf_counter()
        for _ in range(samples):
            c = ledger.consistency(rng.randint(1, events - 1))
            check_consistency(c["old_size"], c["size"], base64.b64decode(c["old_root"]),
                              base64.b64decode(c["root"]), [base64.b64decode(h) for h in c["proof"]])
        consistency = (time.perf_counter() - start) / samples
    return {"inclusion_ms": inclusion * 1000, "consistency_ms": consistency * 1000}


def signed_bulk(tmp: Path, n: int = 10_000) -> dict[str, float]:
    """Bulk append into a signed ledger (one signature per batch) vs an unsigned one."""
    from ledger.core.note import encode_keys, parse_signer

    source = tmp / "signed.jsonl"
    events = write_jsonl(source, n)
    signer = parse_signer(encode_keys("bench-admin", bytes(range(32)))[0])
    timings = {}
    for name, admin in (("unsigned", None), ("signed", signer)):
        with Ledger.create(tmp / f"{name}.db", admin=admin) as ledger, source.open("rb") as handle:
            start = time.perf_counter()
            ledger.append_jsonl(handle, "bench")
            timings[name] = events / (time.perf_counter() - start)
    return {"signed_bulk_eps": timings["signed"], "unsigned_bulk_eps": timings["unsigned"],
            "signed_ratio": timings["signed"] / timings["unsigned"]}


def git_commits(tmp: Path, n: int = 30) -> float:
    """For context: one JSON file and one `git commit` per event."""
    repo = tmp / "git"
    repo.mkdir()
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@x"}
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    start = time.perf_counter()
    for i, (_, payload) in enumerate(items(n)):
        (repo / f"{i:06d}.json").write_bytes(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS))
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
        subprocess.run(["git", "commit", "-qm", f"event {i}"], cwd=repo, check=True, env=env)
    return n / (time.perf_counter() - start)


STARTED = time.perf_counter()


def stage(what: str) -> None:
    """Say on stderr what the bench measures now (`make bench` takes minutes, more than twenty
    with --full): one line each, with the minutes since it started; stdout keeps the tables
    alone."""
    minutes, seconds = divmod(int(time.perf_counter() - STARTED), 60)
    print(f"bench [{minutes:2d}:{seconds:02d}] {what}", file=sys.stderr, flush=True)


# Bulk append and its two ceilings, then verify, its two ceilings and audit, run in turn this many
# times, and each side keeps its median round: a drift of this VM's speed then falls on all the
# sides of a group alike (runs 1-31 ran each once; bulk append ran once until run 32). The ledger
# of bulk append's last round is the one every later stage reads. Rebuild, which has no ceiling,
# runs as many times and keeps its median (once until run 33); so do the tiles and their
# ceiling, in turn (once until run 34).
ROUNDS = 3


def median_rounds(sides: dict[str, Callable[[], Any]], rounds: int) -> dict[str, Any]:
    """Run every side once per round, one after the other, ``rounds`` rounds; return each side's
    median round, by its seconds (the result itself, or its first item)."""
    taken: dict[str, list[Any]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, run in sides.items():
            taken[name].append(run())
    return {name: sorted(got, key=lambda r: r[0] if isinstance(r, tuple) else r)[rounds // 2]
            for name, got in taken.items()}


def measure(n: int, tmp: Path) -> dict[str, Any]:
    source = tmp / f"in-{n}.jsonl"
    events = write_jsonl(source, n)
    db, ceiling_db = tmp / f"l-{n}.db", tmp / f"c-{n}.db"
    stage(f"{n:,} events: bulk append and its ceilings ({ROUNDS} rounds)")
    median = median_rounds({"bulk": lambda: bulk_append(db, source),
                            "ceiling": lambda: ceiling_append(ceiling_db, source),
                            "valid": lambda: ceiling_append(ceiling_db, source, validate=True)},
                           ROUNDS)
    (t_bulk, *bulk_cpu), t_ceiling, t_ceiling_valid = (median[side] for side in
                                                        ("bulk", "ceiling", "valid"))
    # Its peak memory, in a process of its own (the rounds above run in this one): one more
    # bulk append of the same lines into a ledger of its own, removed afterwards.
    rss_bulk = child("bulk", tmp / f"m-{n}.db", str(source))[2]
    for path in tmp.glob(f"m-{n}.db*"):
        path.unlink()
    stage(f"{n:,} events: verify, its ceilings, audit ({ROUNDS} rounds)")
    median = median_rounds({"verify": lambda: child("verify", db),
                            "rehash": lambda: rehash_ceiling(db),
                            "leaves": lambda: leaf_ceiling(db),
                            "audit": lambda: child("audit", db)}, ROUNDS)
    t_verify, _, rss_verify, *verify_cpu = median["verify"]
    t_rehash, (t_leaves, _) = median["rehash"], median["leaves"]
    t_audit, _, rss_audit, *_ = median["audit"]
    t_structure, t_structure_audit = structure_times(db)
    stage(f"{n:,} events: rebuild ({ROUNDS} rounds), export, proofs")
    t_rebuild, _, rss_rebuild, *rebuild_cpu = median_rounds(
        {"rebuild": lambda: child("rebuild", db)}, ROUNDS)["rebuild"]
    # Each rebuild above finds the views intact (as the bulk append laid them out) and writes no
    # row; these drop them and write every row (what a rebuild does when the views' schema or
    # storage is not as made), three rounds after them (since run 66; run 65 ran one).
    t_rebuild_drop, _, rss_rebuild_drop, *rebuild_drop_cpu = median_rounds(
        {"drop": lambda: child("rebuild-drop", db)}, ROUNDS)["drop"]
    t_export, size, rss_export, *_ = child("export", db, str(tmp / f"e-{n}.jsonl"))
    # The proofs right after, while the ledger's pages are cached: the site and tiles stages
    # write ~10 GB at 10^6 events, which can push them out (run 35 timed the proofs after those
    # stages: 1.6 ms at 10^6; with the page cache dropped, a proof on the 10^5-event ledger
    # takes ~0.3-0.7 ms more).
    proofs = proof_times(db, events)
    stage(f"{n:,} events: the site")
    site = site_build(db, tmp)
    stage(f"{n:,} events: tiles and their ceiling ({ROUNDS} rounds), the monitor")
    tiles = tiles_bench(db, tmp, ROUNDS)
    shutil.rmtree(tmp / "site")
    stage(f"{n:,} events: format v1")
    db_v1 = tmp / f"v1-{n}.db"  # the same events in a format v1 ledger, for the cost of v2
    t_bulk_v1 = bulk_append(db_v1, source, event_format=1)[0]
    t_verify_v1 = child("verify", db_v1)[0]
    t_rebuild_v1 = child("rebuild", db_v1)[0]
    sizes = {name: path.stat().st_size for name, path in (("v2", db), ("v1", db_v1))}
    for path in tmp.glob(f"v1-{n}.db*"):
        path.unlink()
    cpu: dict[str, Any] = {}
    for name, split in (("bulk", bulk_cpu), ("verify", verify_cpu), ("rebuild", rebuild_cpu),
                        ("rebuild_drop", rebuild_drop_cpu)):
        main_us, helpers_us = (round(seconds / events * 1e6, 1) for seconds in split)
        cpu[f"{name}_cpu_us"] = [main_us, helpers_us]
        cpu[f"{name}_cpu"] = (f"{main_us:.1f} / {helpers_us:.1f}" if helpers_us else
                              f"{main_us:.1f} / no helper")
    return {**proofs, **site, **tiles, **cpu,
        "monitor_eps": events / tiles["monitor_s"],
        "monitor_rederive_eps": events / tiles["monitor_rederive_s"],
        "monitor_ratio": t_verify / tiles["monitor_s"],
        "monitor_served_eps": (events / tiles["monitor_served_s"]
                               if tiles["monitor_served_s"] > 0 else None),
        "monitor_served_ratio": (t_verify / tiles["monitor_served_s"]
                                 if tiles["monitor_served_s"] > 0 else None),
        "tiles_size": f"{tiles['tiles_files']:,.0f}, {tiles['tiles_mb']:,.0f}",
        "v1_bulk_append_eps": events / t_bulk_v1, "v1_verify_eps": events / t_verify_v1,
        "v1_rebuild_eps": events / t_rebuild_v1,
        "v2_bulk_cost": t_bulk / t_bulk_v1, "v2_verify_cost": t_verify / t_verify_v1,
        "v2_rebuild_cost": t_rebuild / t_rebuild_v1,
        "v2_file_mb": sizes["v2"] / 1e6, "v1_file_mb": sizes["v1"] / 1e6,
        "events": events,
        "bulk_append_eps": events / t_bulk, "ceiling_append_eps": events / t_ceiling,
        "bulk_ratio": t_ceiling / t_bulk,
        "ceiling_valid_eps": events / t_ceiling_valid, "bulk_valid_ratio": t_ceiling_valid / t_bulk,
        "verify_eps": events / t_verify, "rehash_eps": events / t_rehash,
        "verify_ratio": t_rehash / t_verify,
        "leaf_ceiling_eps": events / t_leaves, "verify_leaf_ratio": t_leaves / t_verify,
        "audit_s": t_audit, "audit_verify": t_audit / t_verify,
        "structure_s": t_structure, "structure_share": t_structure / t_verify,
        "structure_audit_s": t_structure_audit,
        "rebuild_eps": events / t_rebuild, "rebuild_drop_eps": events / t_rebuild_drop,
        "export_mb_s": size / 1e6 / t_export,
        "rss_bulk_mb": rss_bulk / 1024, "rss_verify_mb": rss_verify / 1024,
        "rss_rebuild_mb": rss_rebuild / 1024, "rss_rebuild_drop_mb": rss_rebuild_drop / 1024,
        "rss_export_mb": rss_export / 1024, "rss_audit_mb": rss_audit / 1024,
    }


ROWS = [
    ("bulk append, format v2 (events/s, target ≥ 30k)", "bulk_append_eps", "{:,.0f}"),
    ("  ceiling 1: sqlite3 executemany + orjson + sha256 chain", "ceiling_append_eps", "{:,.0f}"),
    ("  ratio to ceiling 1", "bulk_ratio", "{:.2f}"),
    ("  ceiling 2: the same + pydantic validation of each payload", "ceiling_valid_eps", "{:,.0f}"),
    ("  ratio to ceiling 2 (target ≥ 0.5)", "bulk_valid_ratio", "{:.2f}"),
    ("  CPU per event: the writer / its helpers together (µs)", "bulk_cpu", "{}"),
    ("verify, format v2 (events/s)", "verify_eps", "{:,.0f}"),
    ("  ceiling 1: stored bytes, one sha256 per leaf, the node hashes", "leaf_ceiling_eps", "{:,.0f}"),
    ("  ratio to ceiling 1 (target ≥ 0.5)", "verify_leaf_ratio", "{:.2f}"),
    ("  ceiling 2: stored bytes, one sha256 per event and per v2 member", "rehash_eps", "{:,.0f}"),
    ("  ratio to ceiling 2", "verify_ratio", "{:.2f}"),
    ("  CPU per event: the verifying process / its helpers together (µs)", "verify_cpu", "{}"),
    ("audit (s)", "audit_s", "{:.1f}"),
    ("  audit time / verify time (target ≤ 3)", "audit_verify", "{:.2f}"),
    ("  of which the structure check: schema, integrity_check(events), quick_check (s)",
     "structure_s", "{:.2f}"),
    ("  its share of verify's time", "structure_share", "{:.0%}"),
    ("audit's structure check: schema, full integrity_check (s)", "structure_audit_s", "{:.2f}"),
    ("rebuild, format v2 (events/s, target ≥ 150k): views found intact, none written",
     "rebuild_eps", "{:,.0f}"),
    ("  CPU per event: the writing process / its helpers together (µs)", "rebuild_cpu", "{}"),
    ("  rebuild --drop: every row written (events/s)", "rebuild_drop_eps", "{:,.0f}"),
    ("  its CPU per event: the writing process / its helpers together (µs)", "rebuild_drop_cpu",
     "{}"),
    ("export jsonl (MB/s)", "export_mb_s", "{:.1f}"),
    ("peak RSS bulk append, with its helper processes (MB)", "rss_bulk_mb", "{:.0f}"),
    ("peak RSS verify, with its helper processes (MB)", "rss_verify_mb", "{:.0f}"),
    ("peak RSS rebuild, with its helper processes (MB)", "rss_rebuild_mb", "{:.0f}"),
    ("peak RSS rebuild --drop, with its helper processes (MB)", "rss_rebuild_drop_mb", "{:.0f}"),
    ("peak RSS export (MB)", "rss_export_mb", "{:.0f}"),
    ("peak RSS audit, with its helper processes (MB)", "rss_audit_mb", "{:.0f}"),
    ("inclusion proof build + check (ms, target < 1)", "inclusion_ms", "{:.3f}"),
    ("consistency proof build + check (ms, target < 1)", "consistency_ms", "{:.3f}"),
    ("site with a checkpoint: records (10 events each)", "site_records", "{:,.0f}"),
    ("  full build (s; target for 10⁵ records ≤ 120)", "site_s", "{:.1f}"),
    ("  records/s", "site_records_s", "{:,.0f}"),
    ("  incremental run after one correction (s, target ≤ 5)", "site_incremental_s", "{:.1f}"),
    ("  files it rewrote", "site_incremental_files", "{:,.0f}"),
    ("  average record page (KB)", "site_page_kb", "{:.1f}"),
    ("  average bundle script (KB)", "site_bundle_kb", "{:.1f}"),
    ("  first index page (KB, target ≤ 200)", "site_index_kb", "{:.0f}"),
    ("  peak RSS, with the memory-mapped ledger pages (MB)", "rss_site_mb", "{:.0f}"),
    ("checkpoint signed before the tiles: verifies the log (s)", "tiles_signing_s", "{:.2f}"),
    ("tiles of the whole log, written after it (s)", "tiles_s", "{:.2f}"),
    ("  ceiling: the same bytes written as plain files (s)", "tiles_ceiling_s", "{:.2f}"),
    ("  ratio (target ≥ 0.5)", "tiles_ratio", "{:.2f}"),
    ("  first run with a key that never signed: both (s)", "tiles_first_s", "{:.2f}"),
    ("  files, MB", "tiles_size", "{}"),
    ("  incremental run after 1,000 more events (s, target ≤ 1)", "tiles_incremental_s", "{:.2f}"),
    ("monitor from the folder, checking (events/s)", "monitor_eps", "{:,.0f}"),
    ("  its speed / verify's (target ≥ 0.5)", "monitor_ratio", "{:.2f}"),
    ("  re-deriving every record too (events/s)", "monitor_rederive_eps", "{:,.0f}"),
    ("monitor from nginx on 127.0.0.1, checking (events/s; n/a: no nginx)", "monitor_served_eps",
     "{:,.0f}"),
    ("  its speed / verify's (target ≥ 0.5)", "monitor_served_ratio", "{:.2f}"),
    ("format v1, same events: bulk append (events/s)", "v1_bulk_append_eps", "{:,.0f}"),
    ("  v2 time / v1 time", "v2_bulk_cost", "{:.2f}"),
    ("format v1: verify (events/s)", "v1_verify_eps", "{:,.0f}"),
    ("  v2 time / v1 time", "v2_verify_cost", "{:.2f}"),
    ("format v1: rebuild (events/s)", "v1_rebuild_eps", "{:,.0f}"),
    ("  v2 time / v1 time", "v2_rebuild_cost", "{:.2f}"),
    ("file size, format v2 / v1 (MB)", "v2_file_mb", "{:,.0f}"),
    ("  format v1 (MB)", "v1_file_mb", "{:,.0f}"),
]
ONCE = [
    ("durable single append in-process (events/s)", "single_append_eps", "{:,.0f}"),
    ("  ceiling: one plain INSERT per transaction, synchronous=FULL", "fsync_ceiling_eps", "{:,.0f}"),
    ("  ratio (target ≥ 0.5)", "single_ratio", "{:.2f}"),
    ("  CPU per append, fsync's system time included (ms; median round)", "single_cpu_ms",
     "{:.2f}"),
    ("  the ceiling's whole append (ms)", "fsync_ceiling_ms", "{:.2f}"),
    ("  pages one append writes (frames added to the write-ahead log)", "single_pages", "{:.0f}"),
    ("  context: as many pages per transaction, one plain row per table", "same_pages_eps",
     "{:,.0f}"),
    ("  its ratio to the ceiling", "same_pages_ratio", "{:.2f}"),
    ("one `ledger correct` CLI call (ms)", "cli_ms", "{:.0f}"),
    ("  `sqlite-utils insert` of one row (ms)", "sqlite_utils_ms", "{:.0f}"),
    ("  ratio (target ≤ 1.5)", "cli_ratio", "{:.2f}"),
    ("bulk append into a signed ledger, 10⁴ events (events/s)", "signed_bulk_eps", "{:,.0f}"),
    ("  same, unsigned ledger (events/s)", "unsigned_bulk_eps", "{:,.0f}"),
    ("  ratio (cost of signing once per batch)", "signed_ratio", "{:.2f}"),
    ("context: git commit per event, one JSON file each (events/s)", "git_eps", "{:,.1f}"),
    ("witness: add-checkpoint requests sent at once (20 logs x 10)", "witness_requests", "{:,.0f}"),
    ("  HTTP calls, with the re-sends after 409", "witness_http_calls", "{:,.0f}"),
    ("  throughput (calls/s)", "witness_rps", "{:,.0f}"),
    ("  latency p50 / p95 / max (ms)", "witness_latency", "{}"),
]


# The figures a regression shows in, each with the direction that is better: ratios against a
# ceiling of the same run where there is one (this VM's speed moves absolute figures by a third).
TRACKED = [("bulk append / ceiling 2", "bulk_valid_ratio", True),
           ("verify / ceiling 1", "verify_leaf_ratio", True),
           ("verify / ceiling 2", "verify_ratio", True),
           ("audit / verify", "audit_verify", False),
           ("rebuild (events/s)", "rebuild_eps", True),
           ("rebuild --drop (events/s)", "rebuild_drop_eps", True),
           ("monitor / verify", "monitor_ratio", True),
           ("tiles / plain files", "tiles_ratio", True),
           ("site full build (s)", "site_s", False)]
TRACKED_ONCE = [("durable single append / fsync ceiling", "single_ratio", True),
                ("one CLI call / sqlite-utils", "cli_ratio", False)]


def against_history(results: dict[int, dict[str, Any]], once: dict[str, Any],
                    history: list[dict[str, Any]]) -> str:
    """Return a table of this run's tracked figures beside the last earlier run's and the range
    of every earlier run with the same size, marking a figure worse than all of them."""
    def earlier(key: str, size: int | None) -> list[float]:
        found = []
        for run in history:
            where = run.get("once", {}) if size is None else run.get("results", {}).get(str(size), {})
            if isinstance(where, dict) and isinstance(where.get(key), int | float):
                found.append(float(where[key]))
        return found

    lines = ["| measure | events | this run | the run before | earlier runs: range (runs) | |",
             "|---|---:|---:|---:|---:|---|"]
    rows: list[tuple[str, str, bool, int | None, Any]] = [
        (label, key, better, n, results[n].get(key)) for label, key, better in TRACKED
        for n in sorted(results)]
    rows += [(label, key, better, None, once.get(key)) for label, key, better in TRACKED_ONCE]
    for label, key, better, n, value in rows:
        if not isinstance(value, int | float):
            continue
        before = earlier(key, n)
        shown = "{:,.0f}" if value >= 100 else "{:,.2f}"
        if not before:
            lines.append(f"| {label} | {f'{n:,}' if n else '-'} | {shown.format(value)} | - | - | "
                         "the first |")
            continue
        low, high = min(before), max(before)
        worse, best = (value < low, value > high) if better else (value > high, value < low)
        mark = "worse than every earlier run" if worse else "better than every earlier run" if best else ""
        lines.append(f"| {label} | {f'{n:,}' if n else '-'} | {shown.format(value)} | "
                     f"{shown.format(before[-1])} | {shown.format(low)}–{shown.format(high)} "
                     f"({len(before)}) | {mark} |")
    return "\n".join(lines)


def table(results: dict[int, dict[str, Any]]) -> str:
    sizes = sorted(results)
    head = f"| measure | {' | '.join(f'{n:,} events' for n in sizes)} |"
    lines = [head, "|---|" + "---:|" * len(sizes)]
    for label, key, fmt in ROWS:
        cells = ("n/a" if results[n].get(key) is None else fmt.format(results[n][key]) for n in sizes)
        lines.append(f"| {label} | {' | '.join(cells)} |")
    return "\n".join(lines)


def once_table(once: dict[str, Any]) -> str:
    lines = ["| measure | value |", "|---|---:|"]
    lines += [f"| {label} | {fmt.format(once[key])} |" for label, key, fmt in ONCE]
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
        stage("durable appends, one CLI call, a signed bulk append, git, witnesses")
        once: dict[str, Any] = {
            **durable_appends(Path(tmp)), **cli_call(Path(tmp)), **signed_bulk(Path(tmp)),
            "git_eps": git_commits(Path(tmp)), **witness_load.run()}
        once["witness_latency"] = (f"{once['witness_p50_ms']:,.0f} / {once['witness_p95_ms']:,.0f} / "
                                   f"{once['witness_max_ms']:,.0f}")
    print(f"machine: {machine}\n")
    print(table(results))
    print()
    print(once_table(once))
    run = {"machine": machine, "results": {str(k): v for k, v in results.items()}, "once": once,
           "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "commit": _commit(),
           "args": sys.argv[1:]}
    history = _history()
    print()
    print(against_history(results, once, history))
    history.append(run)
    (HERE / "results.json").write_bytes(orjson.dumps(
        {"runs": history}, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))


def _commit() -> str:
    """Return the commit the bench ran on ('' outside a git checkout)."""
    found = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True,
                           text=True)
    return found.stdout.strip()


def _history() -> list[dict[str, Any]]:
    """Return the runs kept in results.json (a single run of the older layout becomes the first),
    so that a regression shows against the runs before it."""
    try:
        doc = orjson.loads((HERE / "results.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return []
    if isinstance(doc, dict) and isinstance(doc.get("runs"), list):
        return list(doc["runs"])
    return [doc] if isinstance(doc, dict) and "results" in doc else []


if __name__ == "__main__":
    main()
