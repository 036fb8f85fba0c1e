"""``rebuild`` in this process and with helper processes gives the same views, the same errors,
and falls back to this process when a helper cannot start."""

from __future__ import annotations

import io
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.synth import items
from cli.main import app
from ledger.api import Ledger
from ledger.errors import CorruptEvent
from ledger.ops import maintenance
from ledger.storage import store
from ledger.storage.views import VIEW_TABLES
from tests.conftest import clock


def views_of(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in VIEW_TABLES}


@pytest.fixture
def big(tmp_path: Path) -> Path:
    """A ledger of 60 records (600 events, every kind of event), views built incrementally."""
    db = tmp_path / "big.db"
    lines = b"".join(b'{"contract": "%s", "payload": %s}\n' % (c.encode(), _json(p))
                     for c, p in items(600))
    with Ledger.create(db, clock) as ledger:
        ledger.append_jsonl(io.BytesIO(lines), "tester", batch_size=97)
    return db


def _json(payload: dict[str, Any]) -> bytes:
    import orjson
    return orjson.dumps(payload)


@pytest.mark.parametrize("helpers", [1, 2, 3, 7])
def test_helpers_rebuild_exactly_the_incremental_views(big: Path, helpers: int) -> None:
    incremental = views_of(big)
    with Ledger.open(big, clock) as ledger:
        assert maintenance.rebuild(ledger.conn, helpers=helpers).records == 60
    assert views_of(big) == incremental
    with Ledger.open(big, clock) as ledger:
        assert maintenance.rebuild(ledger.conn, helpers=0).records == 60
        assert ledger.audit().ok
    assert views_of(big) == incremental


@pytest.mark.parametrize("compare", [False, True])
def test_the_helpers_really_fold_their_ranges(big: Path, compare: bool) -> None:
    """What the helper processes send is exactly what this process folds (no silent fallback);
    compared with intact views, no row differs."""
    with Ledger.open(big, clock) as ledger:
        cut = "BENCH:0000001E"
        mine = [c for start, stop in (("", cut), (cut, None))
                for c in maintenance._chunks(ledger.conn, start, stop, compare)]
        theirs = []
        for start, stop in (("", cut), (cut, None)):
            helper = maintenance._Helper(big, start, stop, compare)
            try:
                theirs += list(helper.chunks())
            finally:
                helper.close()
    assert theirs == mine
    assert sum(records for _, records, _, _ in theirs) == 60
    assert sum(events for events, _, _, _ in theirs) == 600
    rows = sum(len(r) for _, _, chunk, _ in theirs for r in chunk.values())
    assert rows == 0 if compare else rows > 60
    assert all(clear == [] for *_, clear in theirs)


def test_a_helpers_pipe_holds_a_whole_message_of_rows(big: Path) -> None:
    """Each helper's pipe is widened to ``helpers.PIPE_BYTES`` (Linux), and a message of CHUNK
    records' view rows fits in it, so a helper goes on folding while this process inserts the
    other helper's rows (in a 64 KiB pipe it waited for each read)."""
    import fcntl
    import marshal

    from ledger.ops import helpers

    limit = Path("/proc/sys/fs/pipe-max-size")
    if not hasattr(fcntl, "F_GETPIPE_SZ") or not limit.exists():
        pytest.skip("pipe sizes are Linux's")
    helper = maintenance._Helper(big, "", None)
    try:
        assert helper.proc is not None and helper.proc.stdout is not None
        size = fcntl.fcntl(helper.proc.stdout.fileno(), fcntl.F_GETPIPE_SZ)
        assert size == helpers.PIPE_BYTES or int(limit.read_text()) < helpers.PIPE_BYTES, size
        chunks = list(helper.chunks())
    finally:
        helper.close()
    records = sum(built for _, built, _, _ in chunks)
    per_record = sum(len(marshal.dumps(rows)) for _, _, rows, _ in chunks) / records
    assert per_record * maintenance.CHUNK < helpers.PIPE_BYTES, per_record


def test_a_helper_that_cannot_start_leaves_the_work_to_this_process(
        big: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    incremental = views_of(big)
    monkeypatch.setattr(sys, "executable", str(big.parent / "no-such-python"))
    with Ledger.open(big, clock) as ledger:
        assert maintenance.rebuild(ledger.conn, helpers=2) == maintenance.Rebuilt(60, 0, 0)
        assert maintenance.rebuild(ledger.conn, helpers=2, drop=True).records == 60
    assert views_of(big) == incremental


def test_a_helper_that_dies_leaves_the_work_to_this_process(
        big: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    incremental = views_of(big)
    monkeypatch.setattr(sys, "executable", "/bin/false")
    with Ledger.open(big, clock) as ledger:
        assert maintenance.rebuild(ledger.conn, helpers=2) == maintenance.Rebuilt(60, 0, 0)
        assert maintenance.rebuild(ledger.conn, helpers=2, drop=True).records == 60
    assert views_of(big) == incremental


def test_helpers_that_stop_midway_leave_the_rest_compared_here(
        big: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The chunks written before the helpers stopped are compared and written again in this
    process: a record's rows written twice are the same rows."""
    incremental = views_of(big)
    with sqlite3.connect(big) as conn:  # as an attacker would: every record's status changed
        conn.execute("UPDATE records SET status = 'EDITED'")
        _copy_row(conn, "records", record_id="BENCH:FFFFFFFF")
    real = maintenance._merged

    def stopping(running: list[maintenance._Helper]) -> Any:
        chunks = real(running)
        yield next(chunks)
        yield next(chunks)
        raise maintenance.HelperStopped

    monkeypatch.setattr(maintenance, "_merged", stopping)
    with Ledger.open(big, clock) as ledger:
        assert maintenance.rebuild(ledger.conn, helpers=2) == maintenance.Rebuilt(60, 60, 1)
        assert ledger.audit().ok
    assert views_of(big) == incremental


def test_a_corrupt_event_fails_the_same_way_with_helpers(big: Path) -> None:
    with sqlite3.connect(big) as conn:  # as an attacker would
        conn.execute("DROP TRIGGER events_append_only_update")
        conn.execute("UPDATE events SET payload = '{\"record_id\": 1}' WHERE seq = 45")
    before = views_of(big)
    errors = []
    for helpers in (0, 2):
        with Ledger.open(big, clock) as ledger, pytest.raises(CorruptEvent) as caught:
            maintenance.rebuild(ledger.conn, helpers=helpers)
        errors.append(str(caught.value))
        assert views_of(big) == before  # rolled back: nothing written
    assert errors[0] == errors[1] and "seq 45" in errors[0]


@pytest.mark.parametrize("helpers", [0, 2])
def test_a_rebuild_checks_no_foreign_key_yet_leaves_every_one_held_and_checked(
        big: Path, helpers: int) -> None:
    """The rebuild's inserts run with SQLite's foreign-key checks off (every row is made from
    the events, each record's before those that refer to it); after it, rebuilt or refused,
    every view row's record exists and the connection checks foreign keys again."""
    with Ledger.open(big, clock) as ledger:
        maintenance.rebuild(ledger.conn, helpers=helpers)
        assert ledger.conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
    with sqlite3.connect(big) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        conn.execute("DROP TRIGGER events_append_only_update")  # as an attacker would
        conn.execute("UPDATE events SET payload = '{\"record_id\": 1}' WHERE seq = 45")
    with Ledger.open(big, clock) as ledger:
        with pytest.raises(CorruptEvent):
            maintenance.rebuild(ledger.conn, helpers=helpers)
        assert ledger.conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
        with pytest.raises(sqlite3.IntegrityError):  # a version of no record: refused again
            ledger.conn.execute("INSERT INTO versions VALUES ('NOPE', 1, 1, 't', 'r', 't', '{}')")


@pytest.mark.parametrize(("flags", "said"), [
    ([], "Rebuilt the views: 60 records from 600 events (no record's rows differed: none "
         "written)"),
    (["--drop"], "Rebuilt the views: 60 records from 600 events (every record's rows written)")])
def test_cli_rebuild_uses_helpers_on_a_large_ledger(big: Path, monkeypatch: pytest.MonkeyPatch,
                                                   flags: list[str], said: str) -> None:
    from click.testing import CliRunner

    incremental = views_of(big)
    started = []
    real = maintenance._Helper.__init__

    def spy(self: maintenance._Helper, *args: Any, **kwargs: Any) -> None:
        started.append((args, kwargs))
        real(self, *args, **kwargs)

    monkeypatch.setattr(maintenance, "PARALLEL_FROM", 500)
    monkeypatch.setattr(maintenance._Helper, "__init__", spy)
    result = CliRunner().invoke(app, ["--db", str(big), "rebuild", *flags],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert said in result.output
    assert len(started) == maintenance.HELPERS
    assert views_of(big) == incremental
    with sqlite3.connect(big) as conn:
        assert store.file_path(conn) == big


def _helpers_of(db: Path) -> list[int]:
    """Return the pids of rebuild helpers still running on ``db``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"worker_main" in cmdline and str(db).encode() in cmdline:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_a_rebuild_killed_midway_leaves_the_views_whole_and_no_helper_behind(
        tmp_path: Path) -> None:
    import random
    import signal
    import subprocess
    import time

    import orjson

    db = tmp_path / "big.db"
    lines = b"".join(orjson.dumps({"contract": c, "payload": p}) + b"\n" for c, p in items(30_000))
    with Ledger.create(db, clock) as ledger:
        ledger.append_jsonl(io.BytesIO(lines), "tester")
    before = views_of(db)
    script = ("import sys\nfrom pathlib import Path\nfrom ledger.ops import maintenance\n"
              "from ledger.storage import store\n"
              "conn = store.open_ledger(Path(sys.argv[1]))\n"
              "print('go', flush=True)\n"
              "maintenance.rebuild(conn, helpers=2)\n")
    rng, killed_with_helpers = random.Random(5), 0
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", script, str(db)], stdout=subprocess.PIPE)
        assert proc.stdout is not None and proc.stdout.readline() == b"go\n"
        time.sleep(rng.uniform(0.04, 0.1))
        running = _helpers_of(db)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while _helpers_of(db) and time.monotonic() < deadline:  # they see the pipe close
            time.sleep(0.05)
        assert _helpers_of(db) == []
        assert views_of(db) == before
        killed_with_helpers += bool(running)
    assert killed_with_helpers >= 1  # a kill landed while helpers were folding
    with Ledger.open(db, clock) as ledger:
        assert ledger.audit().ok


@pytest.mark.parametrize("helpers", [0, 2])
def test_a_signed_ledger_rebuilds(tmp_path: Path, helpers: int) -> None:
    """A signed ledger's keyring events (`KEY:…`) are read by record like any, but fold into no
    record: rebuild counted only the records' events against every event of the table and
    reported `reading by record gives 1 events where seq 1..2 are 2: an index disagrees with the
    table` (exit 1) — on every signed ledger, a false alarm of tampering."""
    import json

    from click.testing import CliRunner

    from tests.conftest import manifest

    runner, db = CliRunner(), tmp_path / "signed.db"
    key = tmp_path / "admin.key"
    assert runner.invoke(app, ["keygen", "admin", "-o", str(key)]).exit_code == 0
    assert runner.invoke(app, ["--db", str(db), "init", "--require-signatures",
                               "--admin-key", str(key)]).exit_code == 0
    for i in range(3):
        doc = tmp_path / f"m{i}.json"
        doc.write_text(json.dumps(manifest(f"SRCH:0000000{i}")))
        assert runner.invoke(app, ["--db", str(db), "--key", str(key), "publish", str(doc)]
                             ).exit_code == 0
    before = views_of(db)
    with Ledger.open(db, clock) as ledger:
        assert maintenance.rebuild(ledger.conn, helpers=helpers).records == 3
    assert views_of(db) == before
    done = runner.invoke(app, ["--db", str(db), "rebuild"])
    assert done.exit_code == 0 and "3 records from 4 events" in done.output, done.output


def _hide_a_row_from_the_index(conn: sqlite3.Connection) -> None:
    """A second records row for a record, in the table but not in its primary key's index
    (the schema put back as it was): SQLite's own check of the table fails."""
    auto = conn.execute("SELECT type, name, tbl_name, rootpage, sql FROM sqlite_master "
                        "WHERE name = 'sqlite_autoindex_records_1'").fetchone()
    table = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'records'").fetchone()[0]
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("DELETE FROM sqlite_master WHERE name = 'sqlite_autoindex_records_1'")
    conn.execute("UPDATE sqlite_master SET sql = ? WHERE name = 'records'",
                 (table.replace("record_id TEXT PRIMARY KEY", "record_id TEXT"),))
    conn.commit()
    conn.execute("PRAGMA writable_schema = RESET")
    row = conn.execute("SELECT * FROM records ORDER BY record_id LIMIT 1").fetchone()
    conn.execute(f"INSERT INTO records VALUES ({','.join('?' * len(row))})",
                 (row[0], row[1], "RETRACTED", *row[3:]))
    conn.commit()
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET sql = ? WHERE name = 'records'", (table,))
    conn.execute("INSERT INTO sqlite_master VALUES (?, ?, ?, ?, ?)", auto)


def _copy_row(conn: sqlite3.Connection, table: str, **changed: Any) -> None:
    cursor = conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2 LIMIT 1")
    names = [d[0] for d in cursor.description]
    row = dict(zip(names, cursor.fetchone(), strict=True)) | changed
    conn.execute(f"INSERT INTO {table} VALUES ({','.join('?' * len(row))})", list(row.values()))


# (what is done to the views with plain sqlite3, records written, record ids removed, dropped)
TAMPERED: dict[str, tuple[Any, int, int, bool]] = {
    "a changed value": (lambda c: c.execute(
        "UPDATE records SET status = 'RETRACTED' WHERE record_id = 'BENCH:00000003'"), 1, 0, False),
    "a deleted row": (lambda c: c.execute(
        "DELETE FROM versions WHERE record_id = 'BENCH:00000005' AND version = 1"), 1, 0, False),
    "a value of another type": (lambda c: c.execute(
        "UPDATE gates SET reason = CAST(reason AS BLOB) WHERE rowid = 1"), 1, 0, False),
    "rows of records without events": (lambda c: (
        _copy_row(c, "records", record_id="BENCH:FFFFFFFF"),
        _copy_row(c, "notices", notice_id="N-STRAY", record_id="A-STRAY")), 0, 2, False),
    "record ids that are not text": (lambda c: (
        _copy_row(c, "records", record_id=None),
        _copy_row(c, "gates", record_id=b"BENCH:00000001"),
        c.execute("INSERT INTO view_meta VALUES ('extra', '1')")), 0, 0, False),
    "an index added": (lambda c: c.execute("CREATE INDEX by_title ON records(title)"), 60, 0, True),
    "a view table dropped": (lambda c: c.execute("DROP TABLE gates"), 60, 0, True),
    "a trigger added": (lambda c: c.execute(
        "CREATE TRIGGER t AFTER INSERT ON records BEGIN DELETE FROM gates; END"), 60, 0, True),
    "a row hidden from an index": (_hide_a_row_from_the_index, 60, 0, True),
}


@pytest.mark.parametrize("helpers", [0, 2])
@pytest.mark.parametrize("tampered", TAMPERED)
def test_a_rebuild_writes_exactly_the_rows_that_differ(big: Path, tampered: str,
                                                       helpers: int) -> None:
    """Views edited with plain sqlite3 end exactly as the incremental ones after a rebuild: the
    records whose rows differ written again, rows of record ids without events removed, and
    view tables whose schema or SQLite check is not as created dropped and written anew."""
    incremental = views_of(big)
    schema = sqlite3.connect(big).execute("SELECT * FROM sqlite_master ORDER BY name").fetchall()
    edit, written, strays, dropped = TAMPERED[tampered]
    conn = sqlite3.connect(big)
    edit(conn)
    conn.commit()
    conn.close()
    assert dropped or views_of(big) != incremental  # else: a change of schema or storage
    with Ledger.open(big, clock) as ledger:
        done = maintenance.rebuild(ledger.conn, helpers=helpers)
        assert done == maintenance.Rebuilt(60, written, strays)
        assert ledger.audit().ok
    assert views_of(big) == incremental
    with sqlite3.connect(big) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 60
        now = conn.execute("SELECT * FROM sqlite_master ORDER BY name").fetchall()
    assert [r[:3] + r[4:] for r in now] == [r[:3] + r[4:] for r in schema]  # root pages move
    assert (now != schema) == dropped
