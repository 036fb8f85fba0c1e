"""SIGKILL `ledger append --jsonl` at random points: the ledger stays whole and re-running the
same file completes it with no duplicate, ending in the state of an uninterrupted run.

LEDGER_CRASH_RUNS sets the number of kills (20 by default; `make stress` runs 200).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from bench.synth import items

RUNS = int(os.environ.get("LEDGER_CRASH_RUNS", "20"))
LEDGER = str(Path(sys.executable).with_name("ledger"))
BATCH = 150


def run(db: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([LEDGER, "--db", str(db), "--actor", "bulk", *args], capture_output=True,
                          timeout=300)


def final_state(db: Path) -> bytes:
    """The snapshot without timestamps (recorded_at differs between runs)."""
    out = run(db, "export", "--format", "jsonl").stdout
    records = [orjson.loads(line) for line in out.splitlines()[1:]]
    for r in records:
        r.pop("last_event")
        for n in r["notices"]:
            n.pop("recorded_at")
    return orjson.dumps(records, option=orjson.OPT_SORT_KEYS)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    tmp = tmp_path_factory.mktemp("crash")
    path = tmp / "in.jsonl"
    path.write_bytes(b"".join(orjson.dumps({"contract": c, "payload": p}) + b"\n" for c, p in items(1500)))
    reference = tmp / "reference.db"
    assert run(reference, "init").returncode == 0
    assert run(reference, "append", "--jsonl", str(path), "--batch-size", str(BATCH)).returncode == 0
    return path, final_state(reference)


def events_in(db: Path) -> int:
    """The events a reader sees now (the write-ahead log lets it read beside the writer)."""
    try:
        with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
    except sqlite3.OperationalError:  # busy past the timeout: ask again
        return 0


def killed_while_appending(db: Path, path: Path, rng: random.Random) -> None:
    """Start the bulk append and SIGKILL it at a random moment while it writes: once the
    events reach a random batch, a random part of a batch's time later (a kill timed from the
    start mostly landed after the run had ended: it takes ~0.4 s). A run that ends first is
    started again on a new file, so that every attempt tests a kill."""
    for _ in range(20):
        for leftover in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            leftover.unlink(missing_ok=True)
        assert run(db, "init").returncode == 0
        proc = subprocess.Popen([LEDGER, "--db", str(db), "append", "--jsonl", str(path),
                                 "--batch-size", str(BATCH)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        reach = rng.randrange(0, 1500, BATCH)
        while proc.poll() is None and events_in(db) < reach:
            time.sleep(0.001)
        time.sleep(rng.uniform(0, 0.03))
        proc.send_signal(signal.SIGKILL)
        if proc.wait() == -signal.SIGKILL:
            return
    pytest.fail("the bulk append ended before every kill: none tested a crash")


@pytest.mark.parametrize("attempt", range(RUNS))
def test_sigkill_then_resume(source: tuple[Path, bytes], tmp_path: Path, attempt: int) -> None:
    path, expected = source
    db = tmp_path / "l.db"
    killed_while_appending(db, path, random.Random(attempt))
    count = events_in(db)
    assert count % BATCH == 0 or count == 1500, f"a partial batch landed: {count} events"
    assert run(db, "verify").returncode == 0
    assert run(db, "audit").returncode == 0, run(db, "audit").stdout
    resumed = run(db, "append", "--jsonl", str(path), "--batch-size", str(BATCH))
    assert resumed.returncode == 0, resumed.stderr
    assert orjson.loads(run(db, "verify", "--json").stdout)["events"] == 1500
    assert final_state(db) == expected
