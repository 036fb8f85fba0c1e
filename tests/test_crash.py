"""SIGKILL `ledger append --jsonl` at random points: the ledger stays whole and re-running the
same file completes it with no duplicate, ending in the state of an uninterrupted run.

LEDGER_CRASH_RUNS sets the number of kills (20 by default; `make stress` runs 200).
"""

from __future__ import annotations

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


@pytest.mark.parametrize("attempt", range(RUNS))
def test_sigkill_then_resume(source: tuple[Path, bytes], tmp_path: Path, attempt: int) -> None:
    path, expected = source
    db = tmp_path / "l.db"
    assert run(db, "init").returncode == 0
    proc = subprocess.Popen([LEDGER, "--db", str(db), "append", "--jsonl", str(path), "--batch-size",
                             str(BATCH)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(random.Random(attempt).uniform(0.15, 1.6))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(db) as conn:
        count = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    assert count % BATCH == 0 or count == 1500, f"a partial batch landed: {count} events"
    assert run(db, "verify").returncode == 0
    assert run(db, "audit").returncode == 0, run(db, "audit").stdout
    resumed = run(db, "append", "--jsonl", str(path), "--batch-size", str(BATCH))
    assert resumed.returncode == 0, resumed.stderr
    assert orjson.loads(run(db, "verify", "--json").stdout)["events"] == 1500
    assert final_state(db) == expected
