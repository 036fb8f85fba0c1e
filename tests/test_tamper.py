"""Tampering with the file using plain sqlite3, as an attacker would; verify/audit name it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from ledger.core.events import make_event
from ledger.ops import verification
from tests import attacker
from tests.conftest import Cli, manifest, provenance

COLUMNS = ["type", "record_id", "contract", "payload", "actor", "recorded_at", "prev_hash", "hash"]


@pytest.fixture(autouse=True, params=["one pass", "blocks"])
def verify_mode(request: pytest.FixtureRequest,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Every tamper test runs twice: verify in one pass, and verify in blocks of two events by
    helper processes (what a large ledger gets), which must name the same seq and reason."""
    outcomes: list[str] = []
    if request.param == "blocks":
        real = verification.verify_in_blocks

        def spy(*args: Any, **kwargs: Any) -> Any:
            try:
                report = real(*args, **kwargs)
            except verification.HelperStopped:
                outcomes.append("helpers stopped")
                raise
            outcomes.append("blocks")
            return report

        monkeypatch.setattr(verification, "PARALLEL_FROM", 1)
        monkeypatch.setattr(verification, "BLOCK", 2)
        monkeypatch.setattr(verification, "verify_in_blocks", spy)
    yield str(request.param)
    assert "helpers stopped" not in outcomes  # the blocks really did the checking
    if request.param == "blocks" and "full" in request.fixturenames:
        assert "blocks" in outcomes


@pytest.fixture
def full(cli: Cli, published: Callable[..., str]) -> Cli:
    """A ledger with 8 events over 2 records."""
    published()
    published("SRCH:00000002", review_score=4.0, quality={"tier": "Quarantine candidate"})
    cli("provenance", cli.file(provenance(claim_lineage=2)))
    cli("correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "x", "--set", "/review_score=8")
    cli("correct", "SRCH:00000002", "--kind", "expression_of_concern", "--reason", "y", "--notice-id", "E1")
    cli("gate", "SRCH:03BE3A05", "--gate", "2", "--status", "FAILED", "--reason", "z")
    cli("correct", "SRCH:00000002", "--kind", "reinstatement", "--reason", "ok", "--lifts", "E1")
    cli("publish", cli.file(manifest(title="Second version")))
    assert cli.json("verify")["events"] == 8
    return cli


def attack(db: Path, *statements: str, params: tuple[Any, ...] = ()) -> None:
    """Drop every trigger (the guards), run the statements, put the guards back as they were (a
    careful attacker leaves the schema as they found it)."""
    with sqlite3.connect(db) as conn:
        guards = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
        for name, _ in guards:
            conn.execute(f"DROP TRIGGER {name}")
        for statement in statements:
            if not statement.startswith("DROP TRIGGER"):  # already dropped
                conn.execute(statement, params if "?" in statement else ())
        for _, sql in guards:
            conn.execute(sql)


def rewrite_tree(db: Path) -> None:
    """Recompute the stored Merkle tree from the (tampered) events, as a thorough attacker would
    (with ``tests.attacker``, not the project's own tree code)."""
    with attacker.unguarded(db) as conn:
        attacker.rebuild_tree(conn)


def bad(cli: Cli, seq: int, says: str = "") -> dict[str, Any]:
    result = cli("verify", "--json")
    assert result.exit_code == 1
    report: dict[str, Any] = orjson.loads(result.stdout)
    assert report["ok"] is False
    assert report["first_bad_seq"] == seq, report
    assert says in report["reason"]
    text = cli("verify")
    assert text.exit_code == 1 and f"FAILED at seq {seq}" in text.stderr
    assert cli("audit").exit_code == 1
    return report


def insert_sql(event: tuple[Any, ...]) -> str:
    return f"INSERT INTO events VALUES ({','.join('?' * len(event))})"


def test_triggers_refuse_update_and_delete(full: Cli) -> None:
    with sqlite3.connect(full.db) as conn:
        for statement in ("UPDATE events SET actor = 'x' WHERE seq = 3", "DELETE FROM events WHERE seq = 8",
                          "UPDATE events SET payload = '{}' WHERE seq = 3",  # no purge covers it
                          "UPDATE events SET salts = '{}', payload = '{}' WHERE seq = 3",
                          "INSERT INTO events VALUES (5, 'a','b','c','{}','d','e','f','g','{}','{}')",
                          "INSERT INTO events VALUES (9, 'a','b','c','{}','d','e','f','g','{}','{}')"):
            with pytest.raises(sqlite3.IntegrityError):
                conn.execute(statement)


@pytest.mark.parametrize("seq", [1, 4, 8])
@pytest.mark.parametrize("column", COLUMNS)
def test_any_changed_field_of_any_event(full: Cli, seq: int, column: str) -> None:
    value = {"payload": '{"record_id":"SRCH:03BE3A05"}', "prev_hash": "1" * 64, "hash": "2" * 64}
    attack(full.db, f"UPDATE events SET {column} = ? WHERE seq = {seq}",
           params=(value.get(column, "tampered"),))
    bad(full, seq)


def test_a_one_character_edit_of_the_payload(full: Cli) -> None:
    attack(full.db, "UPDATE events SET payload = replace(payload, '\"value\":8', "
                    "'\"value\":9') WHERE seq = 4")
    bad(full, 4, "payload member 'changes' does not match its commitment")


def test_a_deleted_event(full: Cli) -> None:
    attack(full.db, "DELETE FROM events WHERE seq = 5")
    bad(full, 5, "missing")


def test_a_deleted_event_with_renumbering(full: Cli) -> None:
    attack(full.db, "DELETE FROM events WHERE seq = 5", "UPDATE events SET seq = seq - 1 WHERE seq > 5")
    bad(full, 5, "deleted")


def test_a_swapped_pair(full: Cli) -> None:
    attack(full.db, "UPDATE events SET seq = -1 WHERE seq = 4", "UPDATE events SET seq = 4 WHERE seq = 5",
           "UPDATE events SET seq = 5 WHERE seq = -1")
    bad(full, 4)


def test_an_inserted_event_with_a_valid_hash(full: Cli) -> None:
    with sqlite3.connect(full.db) as conn:
        prev = conn.execute("SELECT hash FROM events WHERE seq = 3").fetchone()[0]
    forged = make_event(4, "notice.issued", "SRCH:03BE3A05", "correction-record-v1",
                        {"record_id": "SRCH:03BE3A05", "notice_id": "FORGED", "kind": "removal",
                         "effective_date": "2026-01-01", "issued_by": "x", "reason": "forged"},
                        "mallory", "2026-11-25T10:00:00.000000Z", prev, v2=True)
    attack(full.db, "UPDATE events SET seq = seq + 100 WHERE seq >= 4",
           "UPDATE events SET seq = seq - 99 WHERE seq >= 104", insert_sql(forged),
           params=tuple(forged))
    bad(full, 4, "inserted")


def test_an_appended_event_with_a_bad_link(full: Cli) -> None:
    forged = make_event(9, "record.revised", "SRCH:03BE3A05", "paper-manifest-v1.1",
                        manifest(title="Forged"), "mallory", "2026-11-25T10:00:00.000000Z", "0" * 64,
                        v2=True)
    attack(full.db, insert_sql(forged), params=tuple(forged))
    bad(full, 9, "prev_hash does not link")


@pytest.mark.parametrize(("statement", "says"), [
    ("UPDATE records SET status = 'CURRENT' WHERE record_id = 'SRCH:03BE3A05'",
     "view table records: status of the row of record_id 'SRCH:03BE3A05': stored 'CURRENT'"),
    ("UPDATE records SET review_score = 9.9", "view table records: review_score of the row of"),
    ("UPDATE notices SET in_force = 1 WHERE notice_id = 'E1'",
     "view table notices: in_force of the row of notice_id 'E1': stored 1, derived 0"),
    ("DELETE FROM gates", "view table gates: the row of record_id 'SRCH:03BE3A05', gate "),
    ("DELETE FROM versions WHERE version = 1",
     "view table versions: the row of record_id 'SRCH:03BE3A05', version 1 is missing"),
    ("INSERT INTO gates SELECT record_id, 7, seq, name, status, reason, evaluated_at, evaluator, "
     "independent, artifacts FROM gates WHERE record_id = 'SRCH:03BE3A05' LIMIT 1",
     "view table gates: the row of record_id 'SRCH:03BE3A05', gate 7 is extra"),
    ("INSERT INTO records SELECT 'SRCH:99999999', version, status, correction_count, "
     "verification_level, provenance_level, quality_tier, title, review_score, gate_verdicts, "
     "first_seq, last_seq, last_hash, last_recorded_at, manifest, provenance FROM records LIMIT 1",
     "has no events"),
    ("UPDATE view_meta SET value = '3' WHERE key = 'applied_seq'", "views reflect seq 3"),
])
def test_audit_catches_edited_view_rows(full: Cli, statement: str, says: str) -> None:
    with sqlite3.connect(full.db) as conn:
        conn.execute(statement)
    assert full("verify").exit_code == 0
    result = full("audit", "--json")
    assert result.exit_code == 1
    report = orjson.loads(result.stdout)
    assert any(says in f["message"] for f in report["findings"]), report["findings"]
    text = full("audit").stdout
    if all(f["check"] == "views" for f in report["findings"]):  # the auditor is told what to run
        assert "`ledger rebuild` writes them again from the events" in text, text
    assert full("rebuild").exit_code == 0
    assert full("audit").exit_code == 0


def test_audit_names_every_row_of_a_record_edited_behind_its_back(full: Cli) -> None:
    """Five notice rows of one record edited, deleted or forged: the finding quotes the first
    three by their keys and counts the rest, so the auditor sees how far the edit went."""
    for i in range(4):
        assert full("correct", "SRCH:03BE3A05", "--kind", "addendum", "--notice-id",
                    f"AD{i}").exit_code == 0
    with sqlite3.connect(full.db) as conn:
        conn.execute("UPDATE notices SET reason = 'forged' WHERE notice_id = 'AD0'")
        conn.execute("DELETE FROM notices WHERE notice_id = 'AD1'")
        conn.execute("UPDATE notices SET issued_by = 'x' WHERE notice_id IN ('AD2', 'AD3')")
        conn.execute("INSERT INTO notices SELECT 'FORGED', record_id, 999, kind, effective_date, "
                     "issued_by, reason, target_version, in_force, lifted_by, recorded_at, "
                     "payload FROM notices WHERE notice_id = 'AD0'")
    report = orjson.loads(full("audit", "--json").stdout)
    [finding] = [f for f in report["findings"] if f["check"] == "views"]
    assert finding["message"] == (
        "view table notices: reason of the row of notice_id 'AD0': stored 'forged', derived "
        "None; the row of notice_id 'AD1' is missing; issued_by of the row of notice_id 'AD2': "
        "stored 'x', derived 'tester'; and 2 more row(s) differ"), finding
    # the record's next append compares the rows it writes with those stored, and mends them
    assert full("correct", "SRCH:03BE3A05", "--kind", "addendum", "--notice-id", "AD4").exit_code == 0
    assert full("audit").exit_code == 0
    with sqlite3.connect(full.db) as conn:
        conn.execute("UPDATE notices SET reason = 'forged' WHERE notice_id = 'AD0'")
    assert full("rebuild").exit_code == 0
    assert full("audit").exit_code == 0


def test_audit_catches_a_rewritten_history_that_breaks_the_rules(full: Cli) -> None:
    """Every hash recomputed after a forbidden edit: verify passes, audit names the rule."""
    with sqlite3.connect(full.db) as conn:
        rows = conn.execute("SELECT * FROM events ORDER BY seq").fetchall()
    prev = "0" * 64
    rewritten = []
    for row in rows:
        payload = orjson.loads(row[4])
        if row[0] == 6:
            payload.update(status="VERIFIED", reason="no artifact at all")
        event = make_event(row[0], row[1], row[2], row[3], payload, row[5], row[6], prev, v2=True)
        rewritten.append(tuple(event))
        prev = event.hash
    attack(full.db, "DELETE FROM events")
    with sqlite3.connect(full.db) as conn:
        conn.executemany(insert_sql(rewritten[0]), rewritten)
    rewrite_tree(full.db)
    assert full("verify").exit_code == 0
    report = orjson.loads(full("audit", "--json").stdout)
    assert report["ok"] is False
    assert any(f["seq"] == 6 and "VERIFIED requires" in f["message"] for f in report["findings"])


def test_audit_flags_a_tier_that_contradicts_the_score(cli: Cli, published: Callable[..., str]) -> None:
    """Editorial policy, not integrity: a warning (exit 0), an error only with --strict."""
    told = cli("publish", cli.file(manifest(review_score=4.5)))
    assert told.exit_code == 0 and told.stderr == (  # said when appended, and audit says it too
        "Warning: review score 4.5 is below 5.0 but the tier is 'Flagship candidate', not "
        "'Quarantine candidate': `ledger audit` will flag it (the tier is set in the manifest's "
        "quality.tier)\n")
    result = cli("audit", "--json")
    report = orjson.loads(result.stdout)
    assert result.exit_code == 0 and report["ok"] is True and report["findings"] == []
    assert [f["check"] for f in report["warnings"]] == ["tiers"]
    assert "below 5.0" in report["warnings"][0]["message"]
    strict = cli("audit", "--strict")
    assert strict.exit_code == 1 and "warning (tiers): seq 1 SRCH:03BE3A05: review score" in strict.stdout
    mended = cli("correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "Tier follows score",
                 "--set", "/quality/tier=Quarantine candidate")
    assert mended.exit_code == 0 and mended.stderr == ""
    assert orjson.loads(cli("audit", "--json").stdout)["warnings"] == []
    lowered = cli("correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "Score typo",
                  "--set", "/review_score=9", "--set", "/quality/tier=Watchlist", "--dry-run")
    assert lowered.exit_code == 0 and lowered.stderr == ""  # the two changes agree
    raised = cli("correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "Tier",
                 "--set", "/quality/tier=Watchlist")
    assert raised.stderr.endswith("not 'Quarantine candidate': `ledger audit` will flag it (the "
                                  "tier is set with --set '/quality/tier=Quarantine candidate')\n")


def test_audit_warns_of_a_clock_that_went_back(tmp_path: Path) -> None:
    """recorded_at is hashed, so no one can change it, but a machine whose clock went back
    records an event before the one before it, and `--as-of DATE` then names a seq with later
    events recorded earlier. Not an integrity finding: a warning, an error only with --strict."""
    import datetime as dt

    from ledger.api import Ledger

    now = [dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)]
    with Ledger.create(tmp_path / "l.db", lambda: now[0]) as ledger:
        ledger.submit("paper-manifest-v1.1", manifest(), "ed")
        now[0] = now[0].replace(hour=11)
        ledger.submit("source-provenance-v1", provenance(), "ed")
        for hour, reason in ((10, "first"), (12, "second")):
            now[0] = now[0].replace(hour=hour)
            ledger.submit("correction-record-v1", {"record_id": "SRCH:03BE3A05",
                                                   "kind": "addendum", "reason": reason}, "ed")
    cli = Cli(tmp_path / "l.db", tmp_path)
    report = orjson.loads(cli("audit", "--json").stdout)
    assert report["ok"] is True and report["findings"] == []
    assert report["warnings"] == [{
        "check": "clock", "seq": 3, "record_id": None,
        "message": "recorded at 2026-06-01T10:00:00.000000Z, before seq 2 "
                   "(2026-06-01T11:00:00.000000Z): the clock of the machine that appended it went "
                   "back, so `--as-of DATE` and `log --since DATE`, which read recorded_at, see "
                   "the events out of their order here"}]
    text = cli("audit")
    assert text.exit_code == 0 and "warning (clock): seq 3: recorded at 2026-06-01T10" in text.stdout
    assert text.stdout.endswith("audit: OK; 1 editorial warning(s)\n")
    assert cli("audit", "--strict").exit_code == 1
    # As of 10:30, the last event recorded by then is seq 3, after seq 2 of 11:00: the first
    # line says so, not only audit; by 09:30 no clock went back, and the line says nothing more.
    first = cli("show", "SRCH:03BE3A05", "--as-of", "2026-06-01T10:30:00Z").stdout.splitlines()[0]
    assert first.startswith("As of seq 3 (the last event recorded by 2026-06-01T10:30:00Z; 1 "
                            "event(s) before it were recorded after 2026-06-01T10:30:00Z, a clock "
                            "having gone back (`ledger audit` names it)): 1 later event(s)")
    first = cli("show", "SRCH:03BE3A05", "--as-of", "2026-06-01T09:30:00Z").stdout.splitlines()[0]
    assert first.startswith("As of seq 1 (the last event recorded by 2026-06-01T09:30:00Z): ")


def test_a_backdated_event_cannot_move_what_as_of_a_date_shows(full: Cli, tmp_path: Path) -> None:
    """`--as-of DATE` picks its seq by recorded_at, read with plain SQL. An attacker who moves
    the last correction's recorded_at back a day (triggers dropped, plain sqlite3) changes
    what `show --as-of` that day shows; `verify` then names that event. One who rehashes the
    whole chain to hide it (the attacker's rehash salts every event anew) is found against an
    auditor's earlier copy (`verify --extends`)."""
    import shutil

    old = tmp_path / "auditor-copy.db"
    shutil.copy(full.db, old)
    events = full.json("log")
    last = events[-1]  # seq 8, recorded today: the record's second version
    day_before = "2000-01-01"
    assert full.json("log", "--until", day_before) == []
    with attacker.unguarded(full.db) as conn:
        conn.execute("UPDATE events SET recorded_at = ? WHERE seq = ?",
                     (f"{day_before}T12:00:00.000000Z", last["seq"]))
    shown = full("log", "--until", day_before, "--json")  # the moved event: checked, refused
    assert shown.exit_code == 1 and not shown.stdout, shown.output
    assert shown.stderr.startswith(f"Error: seq {last['seq']}: refusing to show the log: hash "
                                   "mismatch"), shown.stderr
    report = orjson.loads(full("verify", "--json").stdout)
    assert report["ok"] is False and report["first_bad_seq"] == last["seq"]
    with attacker.unguarded(full.db) as conn:  # the careful attacker: every hash recomputed
        attacker.rechain(conn)
    assert full("verify").exit_code == 0  # no key, no copy: the chain alone cannot tell
    extends = full("verify", "--extends", str(old))
    assert extends.exit_code == 1 and extends.output.startswith("FAILED at seq ")  # re-salted
    assert f"the history up to seq {last['seq']} was rewritten from seq " in extends.output


def test_edited_tree_hashes(full: Cli) -> None:
    """A stored Merkle hash edited: verify sees a wrong root, audit names the event."""
    attack(full.db, "DROP TRIGGER tree_append_only_update",
           "UPDATE tree_hashes SET hash = zeroblob(32) WHERE pos = 0")
    report = orjson.loads(full("audit", "--json").stdout)
    assert report["ok"] is False and report["verify"]["first_bad_seq"] == 1
    assert "Merkle tree recorded a different event at seq 1" in report["verify"]["reason"]
    attack(full.db, "UPDATE tree_hashes SET hash = zeroblob(32) WHERE pos = 14")  # the root of 8
    result = full("verify", "--json")
    assert result.exit_code == 1 and orjson.loads(result.stdout)["first_bad_seq"] == 1


def test_deleted_tree_tail(full: Cli) -> None:
    attack(full.db, "DROP TRIGGER tree_append_only_delete", "DELETE FROM tree_hashes WHERE pos > 10")
    result = full("verify", "--json")
    assert result.exit_code == 1 and orjson.loads(result.stdout)["first_bad_seq"] == 8


def test_a_blob_in_a_text_column(full: Cli) -> None:
    attack(full.db, "UPDATE events SET actor = X'00ff' WHERE seq = 3")
    report = bad(full, 3, "wrong type")
    assert report["events"] == 2


def test_readers_survive_a_blob(full: Cli) -> None:
    attack(full.db, "UPDATE events SET payload = X'7b7d' WHERE seq = 2")
    for args in (("log", "--json"), ("history", "SRCH:00000002", "--json"), ("log",),
                 ("export",), ("rebuild",), ("show", "SRCH:00000002")):
        result = full(*args)
        assert result.exit_code in (0, 1), result.output
        if result.exit_code == 1:
            assert result.stderr.startswith("Error: seq 2: "), result.stderr
            assert ("the stored payload is not JSON" in result.stderr
                    or "holds a value of the wrong type (payload is not text)" in result.stderr)
    assert full("audit").exit_code == 1
    assert "FAILED at seq 2: a column of this event holds a value of the wrong type" in full("verify").stderr


@pytest.mark.parametrize("statement", ["DROP TABLE records", "DROP TABLE gates",
                                       "ALTER TABLE notices DROP COLUMN reason"])
def test_an_append_to_a_file_whose_tables_were_changed_says_so(full: Cli, statement: str) -> None:
    """A view table dropped or altered with plain sqlite3: an append said only `SQLite: no such
    table: records`; it now says the tables were changed, and what to run."""
    rid = orjson.loads(full("list", "--json").stdout)[0]["record_id"]
    with sqlite3.connect(full.db) as conn:
        conn.execute(statement)
    listed = full("list")  # which verifies the file's tables first, as `export` does
    assert listed.exit_code == 1 and "refusing to list the records" in listed.stderr
    for args in (["correct", rid, "--kind", "addendum", "--reason", "r"],
                 ["gate", rid, "--gate", "1", "--status", "FAILED", "--reason", "r"]):
        result = full(*args)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("Error: the ledger file's tables are not the ones `ledger "
                                        "init` made"), result.stderr
        assert "`ledger audit` says what changed" in result.stderr
    with sqlite3.connect(full.db) as conn:
        assert conn.execute("SELECT max(seq) FROM events").fetchone()[0] == 8  # nothing appended
    assert full("audit").exit_code == 1
