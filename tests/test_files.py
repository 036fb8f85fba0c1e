"""Files that are not what they should be: each gets one clear `Error:` line, exit 2."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import app
from tests.conftest import manifest


def invoke(db: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--db", str(db), *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.stderr


def test_a_newer_format_version_is_refused(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 99")
    code, err = invoke(db, "verify")
    assert code == 2 and "format version 99" in err and "upgrade provenance-ledger" in err


def test_a_sqlite_file_that_is_not_a_ledger(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    code, err = invoke(other, "show", "SRCH:03BE3A05")
    assert code == 2 and "is not a ledger" in err


def test_a_corrupt_file(db: Path) -> None:
    data = bytearray(db.read_bytes())
    data[100:4096] = os.urandom(3996)
    db.write_bytes(bytes(data))
    code, err = invoke(db, "verify")
    assert code == 2 and err.startswith("Error: ")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write read-only files")
def test_a_read_only_ledger(db: Path, tmp_path: Path) -> None:
    doc = tmp_path / "m.json"
    doc.write_text(__import__("json").dumps(manifest()))
    db.chmod(0o444)
    code, err = invoke(db, "publish", str(doc))
    assert code == 2 and "read-only" in err


def test_a_read_only_database_connection(db: Path, tmp_path: Path) -> None:
    """Root ignores file modes, so make SQLite itself refuse writes."""
    doc = tmp_path / "m.json"
    doc.write_text(__import__("json").dumps(manifest()))
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TRIGGER no_writes BEFORE INSERT ON events BEGIN "
                     "SELECT RAISE(ABORT, 'attempt to write a readonly database'); END")
    code, err = invoke(db, "publish", str(doc))
    assert code == 2 and "read-only" in err
    code, err = invoke(db, "verify")  # a trigger added behind the ledger's back is a finding
    assert code == 1 and "trigger no_writes on events was added" in err


def test_a_missing_directory(tmp_path: Path) -> None:
    code, err = invoke(tmp_path / "no" / "such" / "dir" / "l.db", "init")
    assert code == 2 and err.startswith("Error: cannot")


def test_a_full_disk(db: Path) -> None:
    """SQLITE_FULL (here from max_page_count, the same error a full disk gives) is one clear
    refusal and writes nothing."""
    from ledger.api import Ledger
    from ledger.errors import StoreError

    with Ledger.open(db) as ledger:
        ledger.submit("paper-manifest-v1.1", manifest(), "ed")
        pages = ledger.conn.execute("PRAGMA page_count").fetchone()[0]
        ledger.conn.execute(f"PRAGMA max_page_count = {pages}")
        big = manifest("SRCH:00000002", abstract="x" * 200_000)
        with pytest.raises(StoreError, match="disk is full"):
            ledger.submit("paper-manifest-v1.1", big, "ed")
        assert ledger.verify().events == 1


def test_unwritable_outputs(db: Path, tmp_path: Path) -> None:
    for args in (("site", "/proc/no/such/dir"), ("export", "-o", str(tmp_path / "no" / "x.json")),
                 ("render", "SRCH:00000001", "-o", str(tmp_path / "no" / "x.txt"))):
        code, err = invoke(db, *args)
        assert code == 2 and err.startswith("Error: "), (args, err)


def test_a_reader_that_goes_away(db: Path) -> None:
    """`ledger log | head -1`: no traceback, exit 0."""
    import subprocess
    import sys

    from ledger.api import Ledger

    with Ledger.open(db) as ledger:
        ledger.submit("paper-manifest-v1.1", manifest(), "ed")
        for i in range(400):
            ledger.submit("correction-record-v1", {"record_id": "SRCH:03BE3A05", "kind": "addendum",
                                                   "notice_id": f"A{i}"}, "ed")
    for args in (["log"], ["log", "--json"], ["export", "--format", "jsonl"]):
        proc = subprocess.Popen([str(Path(sys.executable).with_name("ledger")), "--db", str(db), *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.readline()
        proc.stdout.close()
        assert proc.wait(timeout=60) == 0, args
        assert proc.stderr.read() == b"", args
