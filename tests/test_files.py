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


@pytest.mark.parametrize("damage", ["page 1 overwritten", "truncated"])
def test_a_damaged_ledger_file_is_a_finding(db: Path, damage: str) -> None:
    """A file that `ledger init` made (its header carries the ledger's application id) which
    SQLite can no longer read was damaged behind the ledger's back: exit 1 naming the table,
    as for any other finding — not exit 2, which says the wrong file was given."""
    with sqlite3.connect(db) as conn:  # the header and schema in the main file, not the WAL
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(db.read_bytes())
    if damage == "truncated":
        data = data[:8192]
    else:
        data[100:4096] = b"\xff" * 3996  # no page type: SQLite finds it corrupt, every run
    db.write_bytes(bytes(data))
    result = CliRunner().invoke(app, ["--db", str(db), "verify", "--json"])
    report = __import__("json").loads(result.stdout)
    assert result.exit_code == 1 and not report["ok"] and report["table"] == "(file)"
    assert "truncated or overwritten" in report["reason"]
    code, err = invoke(db, "verify")
    assert code == 1 and err.startswith("FAILED at table (file): ")
    # audit reports it in its own format too, with --json a report an auditor's script can read
    result = CliRunner().invoke(app, ["--db", str(db), "audit", "--json"])
    report = __import__("json").loads(result.stdout)
    assert result.exit_code == 1 and not report["ok"] and report["verify"]["table"] == "(file)"
    result = CliRunner().invoke(app, ["--db", str(db), "audit"])
    assert result.exit_code == 1 and "first bad table (file): " in result.stdout, result.output
    assert "audit: FAILED" in result.stdout
    code, err = invoke(db, "show", "SRCH:03BE3A05")
    assert code == 1 and err.startswith("Error: ") and err.count("\n") == 1


def test_a_file_of_random_bytes_is_not_a_ledger(tmp_path: Path) -> None:
    other = tmp_path / "random.db"
    other.write_bytes(os.urandom(8192))
    code, err = invoke(other, "verify")
    assert code == 2 and "is not a ledger" in err


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
    """`init` names what is wrong with the folder (it said `unable to open database file`)."""
    folder = tmp_path / "no" / "such" / "dir"
    code, err = invoke(folder / "l.db", "init")
    assert (code, err) == (2, f"Error: cannot create {folder / 'l.db'}: there is no folder {folder}\n")


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


def test_a_damaged_page_of_the_events_table_is_a_finding(db: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A page of `events` overwritten behind the ledger's back: verify reports it, naming the
    first seq it could not read or the table (SQLite's own check, run when the scan cannot read
    on), exit 1; `export`, which checks its reading against the table, refuses with one `Error:`
    line, exit 1 — never a traceback, never exit 2."""
    # fixed salts: the same page layout, so the same damage, on every run
    monkeypatch.setattr("ledger.core.events.os.urandom", lambda n: bytes(7 for _ in range(n)))
    for i in range(1, 13):
        doc = tmp_path / f"m{i}.json"
        doc.write_text(__import__("json").dumps(manifest(f"SRCH:{i:08X}", abstract="x" * 900)))
        assert invoke(db, "publish", str(doc))[0] == 0
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'events'").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    with db.open("r+b") as handle:
        handle.seek((root - 1) * size)
        page = handle.read(size)  # an interior page of the table's b-tree (SQLite's file format)
        assert page[0] == 0x05, "the events table fits one page: the test needs more rows"
        cells = int.from_bytes(page[3:5], "big")
        cell = int.from_bytes(page[12 + 2 * (cells // 2):14 + 2 * (cells // 2)], "big")
        leaf = int.from_bytes(page[cell:cell + 4], "big")  # a leaf in the middle of the table
        handle.seek((leaf - 1) * size + 8)  # its cell pointers: the scan stops there
        handle.write(b"\xff" * 64)
    result = CliRunner().invoke(app, ["--db", str(db), "verify", "--json"])
    report = __import__("json").loads(result.stdout)
    assert result.exit_code == 1 and not report["ok"], report
    assert report["table"] in ("events", "(file)") or report["first_bad_seq"] is not None, report
    audit = CliRunner().invoke(app, ["--db", str(db), "audit"])
    assert audit.exit_code == 1 and "audit: FAILED" in audit.stdout, audit.output
    # (`log` prints what it reads without checking it: it may exit 0 when SQLite skips the page)
    for args in (("verify",), ("export", "-o", str(tmp_path / "out.jsonl"))):
        code, err = invoke(db, *args)
        assert code == 1 and err.startswith(("Error: ", "FAILED at ")), (args, err)


def test_a_damaged_page_of_a_view_table_is_an_audit_finding(db: Path, tmp_path: Path) -> None:
    """A page of a view table overwritten behind the ledger's back: the log still verifies (the
    views are derived), and audit reports the damage in its own report, text and JSON, exit 1.
    It stopped with only an `Error:` line when the read that met the damage came after verify's
    (which read meets it first may depend on the order of the reads: it once depended on timing
    in `test_a_damaged_page_of_the_events_table_is_a_finding`)."""
    for i in range(1, 7):
        doc = tmp_path / f"m{i}.json"
        doc.write_text(__import__("json").dumps(manifest(f"SRCH:{i:08X}", abstract="x" * 1500)))
        assert invoke(db, "publish", str(doc))[0] == 0
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'records'").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    with db.open("r+b") as handle:
        handle.seek((root - 1) * size)
        handle.write(b"\xff" * 64)  # the page header: no page type SQLite knows
    assert invoke(db, "verify")[0] == 0
    result = CliRunner().invoke(app, ["--db", str(db), "audit", "--json"])
    report = __import__("json").loads(result.stdout)
    assert result.exit_code == 1 and not report["ok"], result.output
    assert "(file)" in {report["verify"]["table"], *(f["check"] for f in report["findings"])}
    text = CliRunner().invoke(app, ["--db", str(db), "audit"])
    assert text.exit_code == 1 and "audit: FAILED" in text.stdout, text.output


def test_a_json_document_saved_with_a_byte_order_mark(db: Path, tmp_path: Path) -> None:
    """Editors on Windows save UTF-8 with a BOM, which a JSON reader may ignore (RFC 8259
    §8.1): a document is read as without it (before: `malformed JSON … unexpected character`);
    in JSON Lines, where the mark would be part of line 1, the line is refused saying so."""
    import orjson

    bom = b"\xef\xbb\xbf"
    doc = tmp_path / "m.json"
    doc.write_bytes(bom + orjson.dumps(manifest()))
    assert invoke(db, "publish", str(doc)) == (0, "")
    lines = tmp_path / "in.jsonl"
    lines.write_bytes(bom + orjson.dumps({"contract": "paper-manifest-v1.1",
                                          "payload": manifest("SRCH:00000002")}) + b"\n")
    code, err = invoke(db, "append", "--jsonl", str(lines))
    assert code == 2 and err.startswith("Error: LINE 1: the line starts with a byte order mark")


def test_key_policy_and_checkpoint_files_saved_with_a_byte_order_mark(tmp_path: Path) -> None:
    """The same for the text files: a private and a verifier key, a checkpoint note (the mark
    is outside what was signed) and a policy, each saved with a mark first, work as without."""
    from tests.conftest import Cli

    cli = Cli(tmp_path / "l.db", tmp_path)
    assert cli("init").exit_code == 0
    assert cli("publish", cli.file(manifest())).exit_code == 0
    vkey = cli("keygen", "ledger.example", "-o", str(tmp_path / "k.key")).stdout.strip()
    marked = {}
    for name, text in (("k.key", (tmp_path / "k.key").read_text()), ("v.vkey", vkey + "\n")):
        marked[name] = tmp_path / f"bom-{name}"
        marked[name].write_bytes(b"\xef\xbb\xbf" + text.encode())
        marked[name].chmod(0o600)
    made = cli("checkpoint", "--key", str(marked["k.key"]), "-o", str(tmp_path / "cp.txt"))
    assert made.exit_code == 0, made.output
    note = tmp_path / "bom-cp.txt"
    note.write_bytes(b"\xef\xbb\xbf" + (tmp_path / "cp.txt").read_bytes())
    policy = tmp_path / "bom.policy"
    policy.write_bytes(b"\xef\xbb\xbf" + f"log {vkey}\nquorum none\n".encode())
    result = cli("verify", "--checkpoint", str(note), "--vkey", str(marked["v.vkey"]),
                 "--policy", str(policy))
    assert result.exit_code == 0, result.output


def test_crlf_policy_and_note_files_are_refused_saying_why(tmp_path: Path) -> None:
    """A policy (C2SP: tab and newline are its only controls) and a signed note (the signature
    covers the LF line ends) with CR LF line ends, as git on Windows may leave them, are
    refused, and the message names the line ends rather than only 'a control character'."""
    from tests.conftest import Cli

    cli = Cli(tmp_path / "l.db", tmp_path)
    assert cli("init").exit_code == 0
    vkey = cli("keygen", "ledger.example", "-o", str(tmp_path / "k.key")).stdout.strip()
    assert cli("checkpoint", "--key", str(tmp_path / "k.key"), "-o", str(tmp_path / "cp.txt")).exit_code == 0
    note = tmp_path / "crlf.txt"
    note.write_bytes((tmp_path / "cp.txt").read_bytes().replace(b"\n", b"\r\n"))
    policy = tmp_path / "crlf.policy"
    policy.write_bytes(f"log {vkey}\r\nquorum none\r\n".encode())
    said = cli("verify", "--checkpoint", str(note), "--vkey", vkey)
    assert said.exit_code == 2 and "CR LF line ends" in said.stderr, said.output
    said = cli("verify", "--checkpoint", str(tmp_path / "cp.txt"), "--vkey", vkey,
               "--policy", str(policy))
    assert said.exit_code == 2 and "CR LF line ends" in said.stderr, said.output


def test_a_ledger_file_named_like_a_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Debian's SQLite takes a name that starts with `file:` as a URI even when not asked to:
    `--db file:app.db init` wrote the ledger's tables into app.db, another program's database
    beside it, and every later command read app.db. The file named is the one used."""
    monkeypatch.chdir(tmp_path)
    with sqlite3.connect(tmp_path / "app.db") as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    before = (tmp_path / "app.db").read_bytes()
    for name in ("file:app.db", "file:app.db?mode=memory"):
        code, err = invoke(Path(name), "init")
        assert code == 0, err
        code, _ = invoke(Path(name), "verify")
        assert code == 0 and (tmp_path / name).stat().st_size > 0
    assert (tmp_path / "app.db").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))) == [
        "app.db", "file:app.db", "file:app.db?mode=memory"]
    from ledger.storage import witnessdb

    witnessdb.open_witness_db(Path("file:w.db")).close()
    assert (tmp_path / "file:w.db").exists() and not (tmp_path / "w.db").exists()
