"""Several processes append at once: all succeed, none is lost, the chain never forks."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from ledger.api import Ledger
from ledger.ops.bulk import AnotherBulkAppend
from tests.conftest import manifest

WRITER = """
import sys
from ledger.api import Ledger
db, worker, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with Ledger.open(db) as ledger:
    for i in range(n):
        ledger.submit("correction-record-v1", {"record_id": "SRCH:03BE3A05", "kind": "addendum",
                      "notice_id": f"W{worker}-{i}"}, f"worker-{worker}")
"""


def test_library_writers_in_parallel(db: Path) -> None:
    with Ledger.open(db) as ledger:
        ledger.submit("paper-manifest-v1.1", manifest(), "setup")
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(w), "25"],
                              stderr=subprocess.PIPE) for w in range(4)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    with Ledger.open(db) as ledger:
        report = ledger.verify()
        assert report.ok and report.events == 101
        assert ledger.show("SRCH:03BE3A05")["correction_count"] == 100
        assert ledger.audit().ok


def test_cli_writers_in_parallel(db: Path, tmp_path: Path) -> None:
    ledger_bin = Path(sys.executable).with_name("ledger")
    env = {**os.environ, "LEDGER_DB": str(db)}
    doc = tmp_path / "m.json"
    doc.write_bytes(orjson.dumps(manifest()))
    subprocess.run([str(ledger_bin), "publish", str(doc)], env=env, check=True, capture_output=True)
    procs = [subprocess.Popen([str(ledger_bin), "--actor", f"editor-{i}", "correct", "SRCH:03BE3A05",
                               "--kind", "clarification", "--notice-id", f"C{i}"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(8)]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        assert b"locked" not in err
        assert out.startswith(b"Appended seq")
    verify = subprocess.run([str(ledger_bin), "verify", "--json"], env=env, capture_output=True)
    assert orjson.loads(verify.stdout)["events"] == 9


def _synthetic_jsonl(n: int) -> bytes:
    from bench.synth import items

    return b"".join(orjson.dumps({"contract": c, "payload": p}) + b"\n" for c, p in items(n))


def test_a_bulk_append_stops_when_another_commits_a_batch(tmp_path: Path) -> None:
    """Run B appends a file; after its first batch, run A appends the whole same file from
    another connection. B must not send A's lines again (a superseded version or gate result
    sent again is a new event): it stops with the refusal, and re-running it skips everything.
    Before the check, B went on and appended 60 events more than the 100 lines hold."""
    source = tmp_path / "in.jsonl"
    source.write_bytes(_synthetic_jsonl(100))
    db = tmp_path / "l.db"

    def other_run(_appended: int) -> None:
        if not ran:
            ran.append(True)
            with Ledger.open(db) as other, source.open("rb") as handle:
                assert other.append_jsonl(handle, "a", batch_size=30).resumed == 20

    ran: list[bool] = []
    with Ledger.create(db) as ledger, source.open("rb") as handle:
        with pytest.raises(AnotherBulkAppend) as refused:
            ledger.append_jsonl(handle, "b", batch_size=20, progress=other_run)
        assert "stopped after input line 20" in str(refused.value)
        assert "20 event(s) from this run's earlier batches were kept" in str(refused.value)
        assert ledger.head()[0] == 100
        with source.open("rb") as handle:
            again = ledger.append_jsonl(handle, "b", batch_size=20)
        assert (again.appended, again.resumed) == (0, 100)
        assert ledger.verify().ok and ledger.audit().ok


def test_two_cli_bulk_appends_of_one_file_at_once(tmp_path: Path) -> None:
    """The real CLI, two processes: the second starts once the first has committed a batch.
    Whatever the timing, every line lands once: the second is refused (exit 2, one `Error:`
    line) or finds it all done; a last run appends nothing."""
    ledger_bin = Path(sys.executable).with_name("ledger")
    source, db = tmp_path / "in.jsonl", tmp_path / "l.db"
    source.write_bytes(_synthetic_jsonl(3000))
    env = {**os.environ, "LEDGER_DB": str(db)}
    subprocess.run([str(ledger_bin), "init"], env=env, check=True, capture_output=True)
    command = [str(ledger_bin), "append", "--jsonl", str(source), "--batch-size", "100"]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and first.poll() is None:
            with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
                if conn.execute("SELECT count(*) FROM bulk_progress").fetchone()[0]:
                    break
            time.sleep(0.02)
        second = subprocess.run(command, env=env, capture_output=True, timeout=300)
    finally:
        _, err = first.communicate(timeout=300)
    assert first.returncode in (0, 2), err.decode()
    for code, said in ((first.returncode, err), (second.returncode, second.stderr)):
        if code == 2:
            assert said.decode().count("\n") == 1 and "another `ledger append --jsonl`" in said.decode()
        else:
            assert code == 0, said.decode()
    last = subprocess.run([*command, "--json"], env=env, capture_output=True, check=True)
    assert orjson.loads(last.stdout)["appended"] == 0
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 3000


def test_a_bulk_progress_row_written_with_plain_sqlite3_during_a_run(tmp_path: Path) -> None:
    """An attacker who can write the file adds a `bulk_progress` row (any prefix, a line count
    of 10⁹) with plain sqlite3 between two batches: the run stops, as for another run; it can
    make it stop, never skip a line. Re-running reads the input to its end looking for that
    prefix, finds only its own rows, and appends exactly what is missing."""
    source = tmp_path / "in.jsonl"
    source.write_bytes(_synthetic_jsonl(100))
    db = tmp_path / "l.db"

    def forge(_appended: int) -> None:
        if not forged:
            forged.append(True)
            with contextlib.closing(sqlite3.connect(db)) as conn, conn:
                conn.execute("INSERT INTO bulk_progress VALUES (?, ?, ?)", ("ab" * 32, 10**9, 1))

    forged: list[bool] = []
    with Ledger.create(db) as ledger, source.open("rb") as handle:
        with pytest.raises(AnotherBulkAppend):
            ledger.append_jsonl(handle, "b", batch_size=30, progress=forge)
        assert ledger.head()[0] == 30
        with source.open("rb") as handle:
            again = ledger.append_jsonl(handle, "b", batch_size=30)
        assert (again.resumed, again.appended, ledger.head()[0]) == (30, 70, 100)
        assert ledger.verify().ok
