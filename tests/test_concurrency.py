"""Several processes append at once: all succeed, none is lost, the chain never forks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

from ledger.api import Ledger
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
