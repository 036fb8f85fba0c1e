"""One verified reading: every way of making the file read differently from what ``verify``
checks ends with ``verify``/``audit`` exiting 1 naming the seq or the table, or with a clean
refusal and nothing written. Attacks use ``tests.attacker`` (plain sqlite3, hashlib, rfc8785,
cryptography), never the project's own modules.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from cli.main import app
from ledger.ops import verification
from tests import attacker
from tests.conftest import Cli, manifest
from tests.test_keys import Signed


@pytest.fixture(autouse=True, params=["one pass", "blocks"])
def verify_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each attack is verified in one pass and in blocks of two events by helper processes."""
    if request.param == "blocks":
        monkeypatch.setattr(verification, "PARALLEL_FROM", 1)
        monkeypatch.setattr(verification, "BLOCK", 2)
    return str(request.param)


@pytest.fixture
def retracted(cli: Cli, published: Callable[..., str]) -> Cli:
    """Two records; SRCH:03BE3A05 is retracted at seq 4 (the last event is seq 5)."""
    published()
    published("SRCH:00000002")
    cli("correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "x", "--set", "/note=Fixed")
    cli("correct", "SRCH:03BE3A05", "--kind", "retraction", "--reason", "fabricated data",
        "--notice-id", "RET-1")
    cli("correct", "SRCH:00000002", "--kind", "addendum", "--notice-id", "ADD-1")
    assert cli.json("show", "SRCH:03BE3A05")["status"] == "RETRACTED"
    assert cli.json("verify")["events"] == 5
    return cli


def failed(cli: Cli, command: str = "verify", *args: str) -> dict[str, Any]:
    """Run verify (or audit) and return its JSON report, which must say it failed (exit 1)."""
    result = cli(command, "--json", *args)
    assert result.exit_code == 1, result.output
    report: dict[str, Any] = orjson.loads(result.stdout)
    assert report["ok"] is False
    return report


def table_named(report: dict[str, Any], table: str, says: str) -> None:
    assert report["table"] == table, report
    assert says in report["reason"], report


# -- the rows of the events table ------------------------------------------------------------------

@pytest.mark.parametrize("seq", [0, -5])
def test_a_row_before_seq_one(retracted: Cli, seq: int) -> None:
    with attacker.unguarded(retracted.db) as conn:
        first = attacker.rows(conn)[0]
        attacker.insert(conn, {**first, "seq": seq})
    report = failed(retracted)
    assert report["first_bad_seq"] == seq and "before seq 1" in report["reason"]
    assert failed(retracted, "audit")["verify"]["first_bad_seq"] == seq


def _rebuild_events(conn: sqlite3.Connection, create: str) -> None:
    """Replace the events table by one made with ``create`` (the same rows), as an attacker who
    wants duplicate or text seqs must."""
    conn.execute("ALTER TABLE events RENAME TO events_old")
    conn.execute(create)
    conn.execute("INSERT INTO events SELECT * FROM events_old")
    conn.execute("DROP TABLE events_old")


NO_PRIMARY_KEY = ("CREATE TABLE events (seq INTEGER, type TEXT NOT NULL, record_id TEXT NOT NULL, "
                  "contract TEXT NOT NULL, payload TEXT NOT NULL, actor TEXT NOT NULL, "
                  "recorded_at TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, "
                  "salts TEXT NOT NULL, commitments TEXT NOT NULL)")


def test_a_second_row_with_an_existing_seq(retracted: Cli) -> None:
    with attacker.unguarded(retracted.db) as conn:
        _rebuild_events(conn, NO_PRIMARY_KEY)
        retraction = attacker.rows(conn)[3]
        retraction["payload"]["kind"] = "addendum"
        attacker.insert(conn, retraction)  # a second seq 4, saying something else
    table_named(failed(retracted), "events", "schema")
    assert failed(retracted, "audit")["verify"]["table"] == "events"


def test_a_text_seq(retracted: Cli) -> None:
    with attacker.unguarded(retracted.db) as conn:
        _rebuild_events(conn, NO_PRIMARY_KEY)
        conn.execute("UPDATE events SET seq = '5' WHERE seq = 5")
    table_named(failed(retracted), "events", "schema")


def test_an_index_rewritten_to_hide_a_retraction(retracted: Cli) -> None:
    """A partial index that leaves out the retraction, renamed back to the real definition
    through writable_schema: by-record reads skip seq 4, the full scan does not."""
    with attacker.unguarded(retracted.db) as conn:
        real = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'events_by_record'").fetchone()[0]
        conn.execute("DROP INDEX events_by_record")
        conn.execute("CREATE INDEX events_by_record ON events(record_id, seq) WHERE seq != 4")
        attacker.rewrite_schema(conn, "events_by_record", real)
    report = failed(retracted)
    assert report["table"] == "events" and "integrity" in report["reason"], report
    assert failed(retracted, "audit")["verify"]["table"] == "events"
    for command in (("rebuild",), ("export",), ("site", str(retracted.tmp / "site"))):
        result = retracted(*command)  # a reading of every record is counted against the table
        assert result.exit_code == 1 and "table events" in result.stderr, (command, result.output)


def test_an_index_changed_in_the_open(retracted: Cli) -> None:
    with attacker.unguarded(retracted.db) as conn:
        conn.execute("DROP INDEX events_by_record")
        conn.execute("CREATE INDEX events_by_record ON events(record_id, seq) WHERE seq != 4")
    table_named(failed(retracted), "events", "index events_by_record")


@pytest.mark.parametrize("change, says", [
    ("DROP INDEX events_by_record", "index events_by_record is missing"),
    ("CREATE INDEX sneaky ON events(record_id)", "index sneaky on events was added"),
    ("ALTER TABLE events ADD COLUMN extra TEXT", "table events was changed"),
    ("DROP TRIGGER events_chain_only", "trigger events_chain_only is missing"),
    ("CREATE TRIGGER hide AFTER INSERT ON records BEGIN SELECT 1; END", "trigger hide on records"),
])
def test_a_changed_schema_is_a_finding_not_an_sqlite_error(retracted: Cli, change: str,
                                                           says: str) -> None:
    with sqlite3.connect(retracted.db) as conn:
        conn.execute(change)
    report = failed(retracted)
    assert says in report["reason"], report
    assert report["table"] in ("events", "records")
    result = retracted("verify")
    assert result.exit_code == 1 and "SQLite" not in result.stderr.split(":")[0]


@pytest.mark.parametrize("change, says", [
    ("UPDATE ledger_meta SET value = 'provenance-ledger v1' WHERE key = 'format'",
     "it says the format is 'provenance-ledger v1', but the file is event format 2"),
    ("DELETE FROM ledger_meta WHERE key = 'format'", "it has no format row"),
])
def test_a_format_row_that_contradicts_the_files_format(retracted: Cli, change: str,
                                                        says: str) -> None:
    """`ledger_meta` told a reader with sqlite3 that a format v2 file is format v1 (so to hash
    the payload text, and fail every event), and verify said OK: the ledger reads
    `PRAGMA user_version` alone."""
    with sqlite3.connect(retracted.db) as conn:
        conn.execute(change)
    table_named(failed(retracted), "ledger_meta", says)
    assert failed(retracted, "audit")["verify"]["table"] == "ledger_meta"


def test_events_replaced_by_a_view(retracted: Cli) -> None:
    with attacker.unguarded(retracted.db) as conn:
        conn.execute("ALTER TABLE events RENAME TO events_real")
        conn.execute("CREATE VIEW events AS SELECT * FROM events_real WHERE seq != 4")
    table_named(failed(retracted), "events", "type of table events was changed")
    assert failed(retracted, "audit")["verify"]["table"] == "events"


def test_a_missing_events_table(retracted: Cli) -> None:
    with attacker.unguarded(retracted.db) as conn:
        conn.execute("DROP TABLE events")
    table_named(failed(retracted), "events", "table events is missing")


@pytest.mark.parametrize("pragma, says", [("application_id = 7", "not a ledger"),
                                          ("user_version = 99", "format version 99")])
def test_not_a_ledger_or_a_newer_format_is_exit_2(retracted: Cli, pragma: str, says: str) -> None:
    with sqlite3.connect(retracted.db) as conn:
        conn.execute(f"PRAGMA {pragma}")
    result = retracted("verify")
    assert result.exit_code == 2 and says in result.stderr and result.stderr.startswith("Error: ")


# -- what every command shows comes from the rows verify checks -----------------------------------

def test_an_edited_view_row_reaches_no_reader(retracted: Cli, tmp_path: Path) -> None:
    with sqlite3.connect(retracted.db) as conn:
        conn.execute("UPDATE records SET status = 'CURRENT', correction_count = 0 "
                     "WHERE record_id = 'SRCH:03BE3A05'")
        conn.execute("DELETE FROM notices WHERE record_id = 'SRCH:03BE3A05'")
    assert retracted.json("show", "SRCH:03BE3A05")["status"] == "RETRACTED"
    assert "RETRACTED" in retracted("render", "SRCH:03BE3A05").stdout
    exported = [orjson.loads(line) for line in retracted("export", "--format", "jsonl").stdout.splitlines()]
    assert {r.get("record_id"): r.get("status") for r in exported}["SRCH:03BE3A05"] == "RETRACTED"
    assert retracted("site", str(tmp_path / "site")).exit_code == 0
    assert "RETRACTED" in (tmp_path / "site" / "SRCH-03BE3A05.html").read_text()
    findings = failed(retracted, "audit")["findings"]
    assert any(f["check"] == "views" and f["record_id"] == "SRCH:03BE3A05" for f in findings)


# -- signatures ------------------------------------------------------------------------------------

@pytest.fixture
def signed(tmp_path: Path) -> Signed:
    ledger = Signed(tmp_path)
    assert ledger.publish("chief").exit_code == 0
    return ledger


def _key_id(vkey: str) -> int:
    return int(vkey.split("+")[1], 16)


def _key_file(path: Path, name: str, key_id: int, private: Any) -> Path:
    """Write a private key file in the documented format (PRIVATE+KEY+name+hexid+base64)."""
    encoded = base64.b64encode(b"\x01" + private.private_bytes_raw()).decode()
    path.write_text(f"PRIVATE+KEY+{name}+{key_id:08x}+{encoded}\n")
    path.chmod(0o600)
    return path


def _add_rogue_admin(signed: Signed, ranges: Callable[[int], list[tuple[Any, Any]]]) -> tuple[Any, str, int]:
    """Append, behind the ledger's back, a key.added of the attacker's own admin key (claimed
    by the chief, with a signature row whose range is given by ``ranges(seq)``), then a publish
    properly signed by the attacker's key; return the attacker's key."""
    private, vkey, key_id = attacker.new_key("rogue")
    with attacker.unguarded(signed.db) as conn:
        added = attacker.forge_next(conn, "key.added", f"KEY:{key_id:08X}", "actor-key-v1",
                                    {"record_id": f"KEY:{key_id:08X}", "name": "rogue", "vkey": vkey,
                                     "role": "admin"}, actor="chief")
        for first, last in ranges(added["seq"]):
            conn.execute("INSERT INTO signatures VALUES (?, ?, ?, ?)",
                         (first, last, _key_id(signed.vkeys["chief"]), "AAAA"))
        event = attacker.forge_next(conn, "record.published", "SRCH:00000009", "paper-manifest-v1.1",
                                    manifest("SRCH:00000009"), actor="rogue")
        conn.execute("INSERT INTO signatures VALUES (?, ?, ?, ?)", (
            event["seq"], event["seq"], key_id,
            attacker.sign_batch(private, event["seq"], event["seq"], event["hash"])))
        attacker.rebuild_tree(conn)
    return private, vkey, key_id


@pytest.mark.parametrize("shape", ["inverted", "empty", "gap", "overlap", "text"])
def test_a_malformed_signature_range_never_lets_a_rogue_key_in(signed: Signed, tmp_path: Path,
                                                              shape: str) -> None:
    ranges: dict[str, Callable[[int], list[tuple[Any, Any]]]] = {
        "inverted": lambda s: [(s, s - 1)],
        "empty": lambda s: [(s, s - 5)],
        "gap": lambda s: [(s + 5, s + 5)],
        "overlap": lambda s: [(s, s + 1)],  # the rogue publish's own row starts at s + 1
        "text": lambda s: [(s, "seven")],
    }
    events_before = orjson.loads(signed.run("verify", "--json").stdout)["events"]
    private, _, key_id = _add_rogue_admin(signed, ranges[shape])
    rogue_seq = events_before + (2 if shape == "overlap" else 1)
    report = orjson.loads(signed.run("verify", "--json").stdout)
    assert report["ok"] is False and report["first_bad_seq"] == rogue_seq, report
    assert orjson.loads(signed.run("audit", "--json").stdout)["ok"] is False
    key = _key_file(tmp_path / "rogue.key", "rogue", key_id, private)
    # the readers refuse the rogue events too (before, `log` printed them): the rogue key
    # event's signature, or the first event no signature covers
    log = signed.run("log", "--json")
    assert log.exit_code == 1 and "refusing to show the log: " in log.stderr, log.stderr
    assert log.stderr.startswith((f"Error: seq {rogue_seq}: ", f"Error: seq {rogue_seq - 1}: "))
    count = _stored_events(signed.db)
    result = signed.runner.invoke(app, [
        "--db", str(signed.db), "--key", str(key), "publish", "-"],
        input=orjson.dumps(manifest("SRCH:0000000A")).decode())
    assert result.exit_code in (1, 2) and result.stderr.startswith("Error: "), result.output
    assert _stored_events(signed.db) == count  # nothing written


def _stored_events(db: Path) -> int:
    """Return how many events the file stores, read with plain sqlite3."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])


def test_a_signature_row_beyond_the_head(signed: Signed) -> None:
    head = orjson.loads(signed.run("verify", "--json").stdout)["events"]
    with attacker.unguarded(signed.db) as conn:
        conn.execute("INSERT INTO signatures VALUES (?, ?, 1, 'AAAA')", (head + 1, head + 3))
    report = orjson.loads(signed.run("verify", "--json").stdout)
    assert report["ok"] is False and report["first_bad_seq"] == head + 1, report


# -- side tables -----------------------------------------------------------------------------------

def test_a_forged_bulk_progress_row_skips_nothing(retracted: Cli, tmp_path: Path) -> None:
    lines = [orjson.dumps({"contract": "paper-manifest-v1.1",
                           "payload": manifest(f"SRCH:0000010{i}")}) + b"\n" for i in range(4)]
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"".join(lines))
    with sqlite3.connect(retracted.db) as conn:  # "lines 1-3 were committed by an earlier run"
        conn.execute("INSERT INTO bulk_progress VALUES (?, 3, 5)",
                     (hashlib.sha256(b"".join(lines[:3])).hexdigest(),))
    result = retracted("append", "--jsonl", str(source))
    assert result.exit_code == 1 and "bulk_progress" in result.stderr and "line 1" in result.stderr
    assert retracted.json("verify")["events"] == 5  # nothing written
    assert retracted("audit").exit_code == 0  # a well-formed row cannot be told from a real one…
    with sqlite3.connect(retracted.db) as conn:  # …but one past the head is reported
        conn.execute("INSERT INTO bulk_progress VALUES (?, 9, 99)", ("0" * 64,))
    assert any(f["check"] == "bulk_progress" for f in failed(retracted, "audit")["findings"])


def test_a_genuine_resume_still_skips(retracted: Cli, tmp_path: Path) -> None:
    lines = [orjson.dumps({"contract": "paper-manifest-v1.1",
                           "payload": manifest(f"SRCH:0000020{i}")}) + b"\n" for i in range(4)]
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"".join(lines[:2]))
    assert retracted("append", "--jsonl", str(source), "--batch-size", "1").exit_code == 0
    source.write_bytes(b"".join(lines))
    result = retracted("append", "--jsonl", str(source))
    assert result.exit_code == 0 and "skipped the first 2 line(s)" in result.stdout
    assert retracted.json("verify")["events"] == 9


def test_a_tree_hash_stored_as_text(retracted: Cli) -> None:
    with attacker.unguarded(retracted.db) as conn:
        conn.execute("UPDATE tree_hashes SET hash = 'not a hash' WHERE pos = 1")
    for args in (("prove", "1"), ("prove", "2", "--json"), ("consistency", "1")):
        result = retracted(*args)
        assert result.exit_code == 1 and "tree_hashes" in result.stderr, (args, result.output)
    report = failed(retracted)  # every stored tree hash is compared: named by the seq it covers
    assert report["first_bad_seq"] == 2 and "hash #1 is 'not a hash', not a 32-byte" in report["reason"]


def test_an_interior_tree_hash_edited(retracted: Cli) -> None:
    """Position 2 (the node over leaves 0 and 1) is no part of the head's frontier: proofs that
    use it must not be given out."""
    with attacker.unguarded(retracted.db) as conn:
        conn.execute("UPDATE tree_hashes SET hash = ? WHERE pos = 2", (b"\x07" * 32,))
    for args in (("prove", "3"), ("consistency", "2"), ("consistency", "3", "4")):
        result = retracted(*args)
        assert result.exit_code == 1 and "tree_hashes" in result.stderr, (args, result.output)
    assert retracted("prove", "5").exit_code == 0  # its proof does not use the edited node
    assert "tree was edited" in failed(retracted, "audit")["verify"]["reason"]
    # `verify` compares every stored tree hash too (before, only the root: it passed this file)
    assert "tree was edited" in failed(retracted, "verify")["reason"]


def test_a_forged_checkpoint_row(retracted: Cli, tmp_path: Path) -> None:
    key = tmp_path / "pub.key"
    vkey = retracted("keygen", "publisher", "-o", str(key)).stdout.strip()
    assert retracted("checkpoint", "--key", str(key)).exit_code == 0
    with attacker.unguarded(retracted.db) as conn:
        note, root = conn.execute("SELECT note, root FROM checkpoints").fetchone()
        forged = note.replace("\n5\n", "\n4\n")  # a size this key never signed
        conn.execute("INSERT INTO checkpoints (origin, size, root, note, signed_at) VALUES "
                     "('publisher', 4, ?, ?, 'x')", (root, forged))
    result = retracted("checkpoint", "--key", str(key))
    assert result.exit_code == 1 and "checkpoints" in result.stderr
    assert any(f["check"] == "checkpoints" for f in failed(retracted, "audit")["findings"])
    assert vkey


def test_a_second_key_of_the_same_name_is_told_apart_from_a_forgery(retracted: Cli,
                                                                     tmp_path: Path) -> None:
    """Signing with a new key of a name another key already signed checkpoints for is refused
    (this ledger never signs two histories under one name), and the refusal says that another
    key of that name may have signed it, not only that the row was forged; nothing is stored."""
    first, second = tmp_path / "first.key", tmp_path / "second.key"
    assert retracted("keygen", "publisher", "-o", str(first)).exit_code == 0
    assert retracted("keygen", "publisher", "-o", str(second)).exit_code == 0
    assert retracted("checkpoint", "--key", str(first)).exit_code == 0
    result = retracted("checkpoint", "--key", str(second))
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and lines[0].startswith("Error: ")
    assert "another key of that name signed it" in lines[0] and "Traceback" not in result.stderr
    with sqlite3.connect(retracted.db) as conn:
        assert conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0] == 1


# -- a ledger large enough for the parallel path, attacked for real ---------------------------------

@pytest.fixture(scope="module")
def large_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ledger of 50,000 events (the size from which verify uses helper processes)."""
    from bench.synth import items
    from ledger.api import Ledger

    path = tmp_path_factory.mktemp("large") / "large.db"
    lines = b"".join(orjson.dumps({"contract": c, "payload": p}) + b"\n"
                     for c, p in items(verification.PARALLEL_FROM))
    source = path.with_suffix(".jsonl")
    source.write_bytes(lines)
    with Ledger.create(path) as ledger, source.open("rb") as handle:
        ledger.append_jsonl(handle, "bench")
    return path


@pytest.fixture
def large(large_source: Path, tmp_path: Path, verify_mode: str) -> Iterator[Cli]:
    if verify_mode != "one pass":
        pytest.skip("the real parallel path: default block size and threshold")
    path = tmp_path / "large.db"
    shutil.copy(large_source, path)
    yield Cli(path, tmp_path)


def test_large_a_row_before_seq_one(large: Cli) -> None:
    with attacker.unguarded(large.db) as conn:
        attacker.insert(conn, {**attacker.rows(conn)[0], "seq": 0})
    assert failed(large)["first_bad_seq"] == 0


def test_large_an_index_rewritten(large: Cli) -> None:
    with attacker.unguarded(large.db) as conn:
        real = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'events_by_record'").fetchone()[0]
        conn.execute("DROP INDEX events_by_record")
        conn.execute("CREATE INDEX events_by_record ON events(record_id, seq) WHERE seq != 30004")
        attacker.rewrite_schema(conn, "events_by_record", real)
    assert failed(large)["table"] == "events"


def test_large_an_event_changed_in_the_middle(large: Cli) -> None:
    with attacker.unguarded(large.db) as conn:
        conn.execute("UPDATE events SET actor = 'someone else' WHERE seq = 30004")
    report = failed(large)
    assert report["first_bad_seq"] == 30004 and "hash mismatch" in report["reason"]


def test_every_test_the_tamper_matrix_names_exists(verify_mode: str) -> None:
    import ast
    import re

    if verify_mode != "one pass":
        pytest.skip("once is enough")
    root = Path(__file__).parent
    matrix = (root.parent / "docs" / "tamper-matrix.md").read_text()
    named = {name for line in matrix.splitlines() if line.startswith("|")
             for name in re.findall(r"`(test_\w+)`", line.rsplit("|", 2)[-2])}
    defined = {node.name for path in root.glob("test_*.py")
               for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.FunctionDef)}
    assert len(named) > 30
    assert not named - defined, f"the tamper matrix names tests that do not exist: {named - defined}"


def test_checkpoint_refuses_to_sign_a_file_with_a_rewritten_index(retracted: Cli, tmp_path: Path) -> None:
    key = tmp_path / "pub.key"
    vkey = retracted("keygen", "publisher", "-o", str(key)).stdout.strip()
    note = tmp_path / "cp.txt"
    assert retracted("checkpoint", "--key", str(key), "-o", str(note)).exit_code == 0
    with attacker.unguarded(retracted.db) as conn:
        real = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'events_by_record'").fetchone()[0]
        conn.execute("DROP INDEX events_by_record")
        conn.execute("CREATE INDEX events_by_record ON events(record_id, seq) WHERE seq != 4")
        attacker.rewrite_schema(conn, "events_by_record", real)
    signed = retracted("checkpoint", "--key", str(key))
    assert signed.exit_code == 1 and "events" in signed.stderr
    report = failed(retracted, "verify", "--checkpoint", str(note), "--vkey", vkey)
    assert report["table"] == "events"
    with sqlite3.connect(retracted.db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0] == 1  # nothing signed


@pytest.mark.parametrize("statement, table", [
    ("INSERT INTO signatures VALUES (1, 1, 1, 'AAAA')", "signatures"),
    ("INSERT INTO view_meta VALUES ('forged', 'x')", "view_meta"),
    ("INSERT INTO bulk_progress VALUES ('short', 0, -1)", "bulk_progress"),
    ("INSERT INTO ledger_meta VALUES ('trusted', 'yes')", "ledger_meta"),
])
def test_audit_reports_side_table_rows_the_chain_does_not_justify(retracted: Cli, statement: str,
                                                                  table: str) -> None:
    with attacker.unguarded(retracted.db) as conn:
        conn.execute(statement)
    findings = failed(retracted, "audit")["findings"]
    assert any(f["check"] == table for f in findings), findings


def test_a_publishers_file_made_to_say_it_is_a_mirror_is_an_audit_finding(
        retracted: Cli, tmp_path: Path) -> None:
    """A ``mirror_of`` row written into the publisher's own file makes it refuse appends and
    ``status`` call it a mirror of another log; a mirror stores only its log's checkpoints, so
    one of another origin gives it away."""
    key = tmp_path / "pub.key"
    retracted("keygen", "publisher.example/log", "-o", str(key))
    assert retracted("checkpoint", "--key", str(key)).exit_code == 0
    with attacker.unguarded(retracted.db) as conn:
        conn.execute("INSERT INTO ledger_meta VALUES ('mirror_of', 'evil.example/log')")
    assert "a mirror of evil.example/log" in retracted("status").stdout
    findings = failed(retracted, "audit")["findings"]
    assert [f["message"] for f in findings if f["check"] == "ledger_meta"] == [
        "it says this file is a mirror of evil.example/log, but it stores no checkpoint of that "
        "log, only of publisher.example/log: `ledger monitor --mirror` stores each checkpoint of "
        "the log it verified (a mirror made before it did gets one on its next run)"]


# -- verify --extends: an auditor's earlier copy of the file ---------------------------------------

def _copy(db: Path, name: str) -> Path:
    target = db.with_name(name)
    with sqlite3.connect(db) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    return target


def _rewrite_the_retraction(db: Path) -> None:
    """As an attacker holding the file but no key: make the retraction (seq 4) an addendum and
    recompute every later hash and the tree, keeping seq 1-3 as they are."""
    with attacker.unguarded(db) as conn:
        envs = attacker.rows(conn)
        conn.execute("DELETE FROM events WHERE seq >= 4")
        envs[3]["payload"].update(kind="addendum", reason="none")
        prev = envs[2]["hash"]
        for env in envs[3:]:
            prev = attacker.insert(conn, {**env, "prev_hash": prev})["hash"]
        attacker.rebuild_tree(conn)


def test_a_history_rewritten_so_that_verify_passes_is_caught_by_the_old_copy(retracted: Cli) -> None:
    """An attacker who can write the file but holds no key rewrites the retraction (seq 4) and
    recomputes every later hash and the tree: verify alone passes, the auditor's copy does not."""
    old = _copy(retracted.db, "archive.db")
    retracted("correct", "SRCH:00000002", "--kind", "addendum", "--notice-id", "ADD-2")
    extends = retracted.json("verify", "--extends", str(old))
    with sqlite3.connect(old) as conn:
        old_head = conn.execute("SELECT hash FROM events WHERE seq = 5").fetchone()[0]
    assert extends["ok"] and extends["extends"] == {"file": str(old), "events": 5,
                                                    "head_hash": old_head}
    assert "OK: the log extends" in retracted("verify", "--extends", str(old)).output
    _rewrite_the_retraction(retracted.db)
    assert retracted.json("verify")["ok"]  # the chain alone cannot tell
    report = failed(retracted, "verify", "--extends", str(old))
    assert report["first_bad_seq"] == 4, report
    assert report["reason"] == ("the event differs from the old copy's seq 4: the history up to "
                                "seq 5 was rewritten from seq 4 on")
    text = retracted("verify", "--extends", str(old))
    assert text.exit_code == 1 and text.stderr.startswith("FAILED at seq 4: the event differs")
    # audit with the same copy fails where verify does, once the views say what the events do
    assert retracted("rebuild").exit_code == 0 and retracted("audit").exit_code == 0
    audited = failed(retracted, "audit", "--extends", str(old))
    assert audited["extends"] == report.pop("extends")
    assert audited["verify"] == report and not audited["findings"]


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "crossref-xml", "crossref-json"])
def test_an_export_an_indexer_kept_is_a_head_the_log_must_extend(retracted: Cli, tmp_path: Path,
                                                                   fmt: str) -> None:
    """An indexer keeps the snapshot it ingested, not the ledger file: its header's head (seq
    and hash, which commits to every event before it) is what ``--extends`` checks the log
    against, whatever the export's format. A history rewritten with every hash recomputed, or
    a tail cut off, fails; the export taken before of a log that only grew passes."""
    kept = tmp_path / f"ingested.{fmt}"
    assert retracted("export", "--format", fmt, "-o", str(kept)).exit_code == 0
    earlier = tmp_path / "earlier.jsonl"
    assert retracted("export", "--format", "jsonl", "--as-of", "3", "-o", str(earlier)).exit_code == 0
    retracted("correct", "SRCH:00000002", "--kind", "addendum", "--notice-id", "ADD-2")
    for command in ("verify", "audit"):
        report = retracted.json(command, "--extends", str(kept))
        assert report["ok"] and report["extends"]["events"] == 5, report
    assert f"OK: the log extends {kept} (a {fmt} export at seq 5, head hash " in \
        retracted("verify", "--extends", str(kept)).stdout
    _rewrite_the_retraction(retracted.db)
    assert retracted.json("verify")["ok"]  # the chain alone cannot tell
    assert retracted.json("verify", "--extends", str(earlier))["ok"]  # before seq 4: unchanged
    report = failed(retracted, "verify", "--extends", str(kept))
    assert report["first_bad_seq"] == 5 and report["reason"].endswith(
        "history up to seq 5 was rewritten (each event's hash commits to every event before "
        "it)"), report
    with attacker.unguarded(retracted.db) as conn:
        conn.execute("DELETE FROM events WHERE seq >= 5")
        attacker.rebuild_tree(conn)
    report = failed(retracted, "verify", "--extends", str(kept))
    assert report["first_bad_seq"] == 5 and "the log has 4 events but" in report["reason"]


def test_an_export_that_names_no_head_is_refused(retracted: Cli, tmp_path: Path) -> None:
    cases = {"rw.csv": ("retraction-watch-csv", "whose columns name no head"),
             "x.json": (None, "is neither a copy of the ledger file nor an export")}
    assert retracted("export", "--format", "retraction-watch-csv", "-o",
                     str(tmp_path / "rw.csv")).exit_code == 0
    (tmp_path / "x.json").write_text('{"header": {"head_seq": 1}}\n')
    empty = Cli(tmp_path / "empty.db", tmp_path)
    assert empty("init").exit_code == 0
    assert empty("export", "--format", "csv", "-o", str(tmp_path / "none.csv")).exit_code == 0
    cases["none.csv"] = ("csv", "a csv export with no record: it names no head")
    for name, (_, says) in cases.items():
        result = retracted("verify", "--extends", str(tmp_path / name))
        assert result.exit_code == 2 and says in result.stderr, result.output
        assert result.stderr.count("\n") == 1


def test_a_cut_tail_a_bad_copy_and_the_ledger_itself(retracted: Cli) -> None:
    old = _copy(retracted.db, "archive.db")
    with attacker.unguarded(retracted.db) as conn:  # the last event and its tree hashes gone
        conn.execute("DELETE FROM events WHERE seq = 5")
        attacker.rebuild_tree(conn)
    assert retracted.json("verify")["ok"]
    report = failed(retracted, "verify", "--extends", str(old))
    assert report["first_bad_seq"] == 5 and "this ledger has 4 events but the old copy has 5" \
        in report["reason"], report
    # what the old copy says is checked first: an edited copy is refused, not believed
    with attacker.unguarded(old) as conn:
        conn.execute("UPDATE events SET actor = 'mallory' WHERE seq = 2")
    for command in ("verify", "audit"):
        refused = retracted(command, "--extends", str(old))
        assert refused.exit_code == 2 and refused.stderr.startswith(
            "Error: the old copy does not verify (FAILED at seq 2: ")
        missing = retracted(command, "--extends", str(old.with_name("gone.db")))
        assert missing.exit_code == 2 and missing.stderr.startswith(
            f"Error: --extends {old.with_name('gone.db')}: there is no file there")
        assert not old.with_name("gone.db").exists()
    assert retracted("verify", "--extends", str(retracted.db)).stderr == (
        f"Error: --extends {retracted.db} is the ledger itself: give an earlier copy\n")
    assert "give one" in retracted("verify", "--extends", str(old), "--checkpoint", str(old),
                                   "--vkey", "x").stderr


def test_a_purge_after_the_copy_still_extends_it(retracted: Cli) -> None:
    old = _copy(retracted.db, "archive.db")
    assert retracted("correct", "SRCH:03BE3A05", "--kind", "removal", "--reason", "Court order",
                     "--purge").exit_code == 0
    assert retracted.json("verify", "--extends", str(old))["ok"]
