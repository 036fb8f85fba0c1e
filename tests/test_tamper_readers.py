"""Every command on a file edited with plain sqlite3: any value, in any column of any table the
ledger keeps, gives an answer or one clear error, never a traceback (a sweep of 12,192 such runs
found three: the feed on an event hash that is not hex, audit on a view row whose record id is a
BLOB, audit on a ``view_meta`` value that is not a number; then 18,125 runs of deleted rows,
dropped tables and indexes and edited last rows found two more: ``prove`` of a deleted event,
``search`` on an index whose meta row is not a seq)."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.main import app
from ledger.api import Ledger
from tests.conftest import Cli, clock, manifest, provenance
from tests.test_tamper import attack

TABLES = ["events", "records", "versions", "notices", "gates", "view_meta", "tree_hashes",
          "checkpoints", "signatures", "ledger_meta", "search_records", "search_records_meta"]
VALUES = ["NULL", "X'FF00'", "'garbage'", "-1", "1e308", "''", "'{\"a\":1}'", "'[]'",
          "'SRCH:03BE3A05'", "'0000000000000000000000000000000000000000000000000000000000000000'"]
RID = "SRCH:03BE3A05"
COMMANDS = [["verify"], ["audit"], ["audit", "--json"], ["show", RID], ["show", RID, "--json"],
            ["list"], ["list", "--json"], ["history", RID], ["log"], ["log", "--json"], ["export"],
            ["export", "--format", "csv"], ["export", "--format", "crossref-json"], ["status"],
            ["search", "routing"], ["diff", RID],
            ["bundle", RID, "-o", "{tmp}/bundle.json"], ["render", RID],
            ["feed", "--base-url", "https://x.example/", "-o", "{tmp}/feed.atom"], ["prove", "1"],
            ["consistency", "1", "2"], ["correct", RID, "--kind", "addendum"],
            ["checkpoint", "--key", "{tmp}/t.key"], ["metadata", "-o", "{tmp}/m.json"], ["rebuild"],
            ["site", "{tmp}/site"], ["tiles", "{tmp}/tiles", "--key", "{tmp}/t.key"]]


Base = tuple[Path, dict[str, list[str]], list[str]]  # the file, its tables' columns, CLI options


@pytest.fixture(scope="module", params=["unsigned", "signed"])
def base(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Base:
    """A ledger of every kind of event (and in a signed one, key events of two keys), with a
    checkpoint and a search index; its tables' columns; the options its appends need."""
    tmp = tmp_path_factory.mktemp("readers")
    db, runner = tmp / "base.db", CliRunner()
    assert runner.invoke(app, ["keygen", "example.org/log", "-o", str(tmp / "t.key")]).exit_code == 0
    options = ["--actor", "tester"]
    if request.param == "signed":
        admin, writer = tmp / "admin.key", tmp / "writer.key"
        runner.invoke(app, ["keygen", "chief", "-o", str(admin)])
        vkey = runner.invoke(app, ["keygen", "lab", "-o", str(writer)]).stdout.strip()
        assert runner.invoke(app, ["--db", str(db), "init", "--require-signatures",
                                   "--admin-key", str(admin)]).exit_code == 0
        assert runner.invoke(app, ["--db", str(db), "--key", str(admin), "key", "add", vkey,
                                   "--role", "writer"]).exit_code == 0
        options = ["--key", str(writer)]
    else:
        Ledger.create(db, clock).close()

    def cli(*args: str) -> None:
        result = runner.invoke(app, ["--db", str(db), *options, *args])
        assert result.exit_code == 0, (args, result.output)

    files = Cli(db, tmp)
    cli("publish", files.file(manifest()))
    cli("publish", files.file(manifest("SRCH:00000002", review_score=4.0)))
    cli("provenance", files.file(provenance(claim_lineage=2)))
    cli("correct", RID, "--kind", "correction", "--reason", "x", "--set", "/review_score=8")
    cli("correct", "SRCH:00000002", "--kind", "expression_of_concern", "--reason", "y",
        "--notice-id", "E1")
    cli("gate", RID, "--gate", "2", "--status", "FAILED", "--reason", "z")
    cli("correct", "SRCH:00000002", "--kind", "reinstatement", "--reason", "ok", "--lifts", "E1")
    cli("correct", "SRCH:00000002", "--kind", "removal", "--reason", "court", "--purge")
    cli("checkpoint", "--key", str(tmp / "t.key"))
    cli("search", "routing")
    with sqlite3.connect(db) as conn:
        columns = {t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")] for t in TABLES}
    assert all(columns.values()), columns
    return db, columns, options


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_command_breaks_on_an_edited_value(base: Base, tmp_path: Path,
                                              data: st.DataObject) -> None:
    db_file, columns, options = base
    table = data.draw(st.sampled_from(TABLES))
    column = data.draw(st.sampled_from(columns[table]))
    value = data.draw(st.sampled_from(VALUES))
    which = data.draw(st.sampled_from(["", " WHERE rowid = (SELECT MIN(rowid) FROM {t})",
                                       " WHERE rowid = (SELECT MAX(rowid) FROM {t})"]))
    edit = data.draw(st.sampled_from([f"UPDATE {table} SET {column} = {value}{which}",
                                      f"DELETE FROM {table}{which}", f"DROP TABLE {table}"]))
    edit = edit.replace("{t}", table)
    command = data.draw(st.sampled_from(COMMANDS))
    work = tmp_path / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    db = work / "t.db"
    shutil.copy(db_file, db)
    shutil.copy(db_file.parent / "t.key", work / "t.key")
    (work / "t.key").chmod(0o600)
    try:
        attack(db, edit)
    except sqlite3.Error:  # a key or constraint the edit would break: nothing to read
        return
    args = [a.replace("{tmp}", str(work)) for a in command]
    result = CliRunner().invoke(app, ["--db", str(db), *options, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        (edit, args, repr(result.exception))
    assert result.exit_code in (0, 1, 2), (edit, args, result.output)
    if result.exit_code == 2:
        assert result.stderr.startswith("Error: "), (edit, args, result.stderr)


@pytest.mark.parametrize("value", ["NULL", "X'FF00'", "'garbage'", "1.5", "'-1'"])
def test_a_search_index_that_says_no_seq_is_made_anew(base: Base,
                                                      tmp_path: Path, value: str) -> None:
    """The search index is a cache beside the ledger: one whose meta row was edited is made
    again from the events, and finds what it found before."""
    db = tmp_path / "t.db"
    shutil.copy(base[0], db)
    before = CliRunner().invoke(app, ["--db", str(db), "search", "routing", "--json"])
    attack(db, f"UPDATE search_records_meta SET value = {value}")
    after = CliRunner().invoke(app, ["--db", str(db), "search", "routing", "--json"])
    assert before.exit_code == after.exit_code == 0, after.output
    assert after.stdout == before.stdout and "SRCH:03BE3A05" in after.stdout
    with sqlite3.connect(db) as conn:
        head = conn.execute("SELECT MAX(seq) FROM events").fetchone()[0]
        assert conn.execute("SELECT value FROM search_records_meta").fetchall() == [(str(head),)]


HIDE_WORDS = ("INSERT INTO search_records_fts (search_records_fts, rowid, title, research_question, "
              "abstract, reasons) SELECT 'delete', rowid, title, research_question, abstract, "
              f"reasons FROM search_records WHERE record_id = '{RID}'")
UNUSABLE_INDEX = ["DROP TABLE search_records_fts", "DROP TABLE search_records",
                  "DROP TABLE search_records_fts_data", "DROP TABLE search_records_fts_config",
                  "DELETE FROM search_records_fts_data", "UPDATE search_records_fts_config SET v = 99",
                  "ALTER TABLE search_records_fts_docsize RENAME TO docsize",
                  "ALTER TABLE search_records DROP COLUMN abstract",
                  "PRAGMA writable_schema = 1; UPDATE sqlite_master SET sql = 'CREATE VIRTUAL TABLE "
                  "search_records_fts USING nomodule(x)' WHERE name = 'search_records_fts'",
                  # SQLite can use these, and they find nothing (or something else)
                  "DROP TABLE search_records_fts; CREATE TABLE search_records_fts(search_records_fts,"
                  " rank, title, research_question, abstract, reasons)",
                  "DROP TABLE search_records; CREATE VIEW search_records AS SELECT record_id, title, "
                  "'' AS research_question, '' AS abstract, '' AS reasons FROM records",
                  "DROP TABLE search_records_meta; CREATE VIEW search_records_meta AS SELECT 'seq' "
                  "AS key, CAST((SELECT MAX(seq) FROM events) AS TEXT) AS value",
                  "CREATE TABLE other(title, research_question, abstract, reasons); PRAGMA "
                  "writable_schema = 1; UPDATE sqlite_master SET sql = replace(sql, "
                  "'content=\"search_records\"', 'content=\"other\"') WHERE name = "
                  "'search_records_fts'",
                  "CREATE INDEX search_records_by_title ON search_records(title)"]


def _runs(db: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--db", str(db), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


@pytest.mark.parametrize("edit", UNUSABLE_INDEX)
def test_a_search_index_sqlite_cannot_use_is_made_anew(base: Base, tmp_path: Path,
                                                       edit: str) -> None:
    """The search index is a cache: tables of it dropped or edited so that SQLite cannot use
    it stopped every later `search` (`the ledger file's tables are not the ones ledger init
    made`, `SQLite: SQL logic error`, `the ledger file is one SQLite cannot read`), and neither
    `audit` (OK) nor `rebuild` (the views only) helped; replaced by a plain table or a view it
    found nothing, without a word. Now `search` makes it anew unless its schema is the one it
    makes (an FTS5 table SQLite cannot open is dropped after its own tables are written again
    as an empty one has them), or keeps one in memory when SQLite cannot drop it; `audit` says
    so, and `rebuild` drops the index."""
    db = tmp_path / "t.db"
    shutil.copy(base[0], db)
    before = _runs(db, "search", "routing", "--json")
    assert before[0] == 0 and RID in before[1]
    attack(db, *edit.split("; "))
    code, output = _runs(db, "audit")
    assert code == 1 and "search index" in output, output
    assert _runs(db, "search", "routing", "--json") == before
    assert _runs(db, "search", "routing", "--json") == before  # and again, on what it left
    assert _runs(db, "rebuild")[0] == 0
    assert _runs(db, "search", "routing", "--json") == before
    code, output = _runs(db, "audit")
    if "nomodule" in edit:  # SQLite cannot drop it: audit says so, and what search does
        assert code == 1 and "SQLite cannot drop it" in output, output
    else:
        assert code == 0, output
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


@pytest.mark.parametrize(("edit", "said"), [
    (HIDE_WORDS, "table search_records_fts: SQLite's check of the full-text index against its "
                 "rows fails"),
    (f"UPDATE search_records SET abstract = 'nothing' WHERE record_id = '{RID}'",
     f"table search_records: abstract of the row of record_id '{RID}': stored 'nothing', derived"),
    (f"DELETE FROM search_records WHERE record_id = '{RID}'",
     f"table search_records has no row of record_id '{RID}'"),
    (f"UPDATE search_records SET record_id = 'SRCH:0000000F' WHERE record_id = '{RID}'",
     "table search_records has a row for 'SRCH:0000000F', which has no events"),
])
def test_audit_finds_a_search_index_edited_to_hide_a_record(base: Base, tmp_path: Path,
                                                             edit: str, said: str) -> None:
    """Words deleted from the full-text index (its rows left as they were) hid a record from
    `search` while `audit` said OK: hits are read again from the events, so an edit cannot add
    words, but a miss was never checked. `audit` now compares each row of the index with the
    record's events, looks for rows of no record, and has SQLite check the full-text index
    against its rows (inside a write transaction it rolls back); `rebuild` drops the index, and
    the next search finds the record again."""
    db = tmp_path / "t.db"
    shutil.copy(base[0], db)
    before = _runs(db, "search", "routing", "--json")
    attack(db, edit)
    if edit == HIDE_WORDS:
        assert RID not in _runs(db, "search", "routing", "--json")[1]  # the attack works
    code, output = _runs(db, "audit")
    assert code == 1 and said in output, output
    assert "search index: " in output and "`ledger rebuild` drops it" in output
    assert output.splitlines()[-2].startswith("The events verify; only the search index")
    code, report = _runs(db, "audit", "--json")
    assert code == 1 and "search index" in report
    assert _runs(db, "rebuild")[0] == 0
    assert _runs(db, "audit")[0] == 0
    assert _runs(db, "search", "routing", "--json") == before


def test_audit_checks_a_search_index_behind_the_head_as_search_would_trust_it(
        base: Base, tmp_path: Path) -> None:
    """An index behind the head is brought up to date by the next search for the records with
    later events only: audit compares the rows of the others (an edit of one is a finding), not
    the rows the next search writes again (this record's, whose notice reasons it lacks)."""
    db = tmp_path / "t.db"
    shutil.copy(base[0], db)
    _, _, options = base
    result = CliRunner().invoke(app, ["--db", str(db), *options, "correct", RID, "--kind",
                                      "addendum", "--reason", "a later note"])
    assert result.exit_code == 0, result.output
    assert _runs(db, "audit")[0] == 0
    attack(db, "UPDATE search_records SET title = 'stale' WHERE record_id = 'SRCH:00000002'")
    code, output = _runs(db, "audit")
    assert code == 1 and "record_id 'SRCH:00000002': stored 'stale'" in output, output


@pytest.mark.parametrize("value", ["NULL", "'SRCH'", "'SRCH:'", "'SRCH:03BE3A0F'", "1"])
def test_a_search_index_row_whose_record_id_was_edited_is_made_anew(base: Base, tmp_path: Path,
                                                                    value: str) -> None:
    """A search index row whose record id was edited named no record: `search` dropped the hit
    (hits are checked against the events), so the record it was about could not be found; and
    naming the records a typing slip away from an unknown id (this stop) stopped on `NULL`.
    An index brought up to date names only records, so such a row means an edit: the index is
    made anew from the events and finds what it found before."""
    db = tmp_path / "t.db"
    shutil.copy(base[0], db)
    before = CliRunner().invoke(app, ["--db", str(db), "search", "routing", "--json"])
    assert before.exit_code == 0 and "SRCH:03BE3A05" in before.stdout
    attack(db, f"UPDATE search_records SET record_id = {value} "
               "WHERE record_id = 'SRCH:03BE3A05'")
    after = CliRunner().invoke(app, ["--db", str(db), "search", "routing", "--json"])
    assert after.exception is None or isinstance(after.exception, SystemExit), after.exception
    assert after.exit_code == 0 and after.stdout == before.stdout, after.output
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM search_records WHERE record_id = "
                            "'SRCH:03BE3A05'").fetchone() == (1,)


@pytest.mark.parametrize("value", ["X'FF00'", "7", "1.5", "'garbage'", "'SRCH'"])
def test_naming_close_records_ends_whatever_the_record_ids_hold(base: Base, tmp_path: Path,
                                                                 value: str) -> None:
    """The close records of an unknown id are looked for one record prefix at a time; a record
    id edited into a BLOB (which sorts after every text) was found again at each step, and the
    refusal never ended, its list of prefixes growing until the memory ran out (a Hypothesis run
    of `test_no_command_breaks_on_an_edited_value` held 6 GB). Each command runs in a process of
    its own with a deadline."""
    import subprocess
    import sys

    db_file, _, options = base
    work = tmp_path / "work"
    work.mkdir()
    db = work / "t.db"
    shutil.copy(db_file, db)
    attack(db, f"UPDATE events SET record_id = {value} WHERE seq = (SELECT MAX(seq) FROM events)")
    for args in (["correct", "SRCH:0000000F", "--kind", "addendum", "--reason", "r"],
                 ["show", "00000002"], ["history", "SRCH:00000003"]):
        done = subprocess.run([sys.executable, "-c", "from cli.main import main; main()",
                               "--db", str(db), *options, *args], capture_output=True, text=True,
                              timeout=120, cwd=Path(__file__).resolve().parents[1])
        assert done.returncode in (1, 2) and "Traceback" not in done.stderr, (args, done.stderr)
        assert done.stderr.startswith("Error: "), (args, done.stderr)


@pytest.mark.parametrize(("statement", "args", "says"), [
    ("UPDATE events SET hash = X'FF00' WHERE seq = 1", ["feed"],  # as `show` reads events too
     ": the stored event hash is not 64 hex digits"),
    ("UPDATE events SET hash = 'garbage' WHERE seq = "
     "(SELECT MIN(seq) FROM events WHERE type = 'notice.issued')", ["feed"],
     ": the stored event hash is not 64 hex digits"),
    ("UPDATE notices SET record_id = X'FF00'", ["audit"], "view table notices has rows for b'"),
    ("UPDATE notices SET record_id = X'FF00'", ["audit", "--json"],
     "view table notices has rows for b'"),
    ("UPDATE view_meta SET value = 'garbage'", ["audit"], "table view_meta: the seq and hash"),
    ("UPDATE view_meta SET value = '1e3' WHERE key = 'applied_seq'", ["audit"],
     "table view_meta: the seq and hash"),
    ("DELETE FROM events WHERE seq = 1", ["prove", "1"],
     "seq 1: table events does not hold this event"),
])
def test_what_the_sweep_found(base: Base, tmp_path: Path,
                              statement: str, args: list[str], says: str) -> None:
    """Each is one clear sentence naming what was edited, exit 1."""
    db = tmp_path / "t.db"
    shutil.copy(base[0], db)
    attack(db, statement)
    result = CliRunner().invoke(app, ["--db", str(db), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert result.exit_code == 1, result.output
    assert says in result.stderr + result.stdout, result.output


INDEX_TABLES = ["search_records", "search_records_meta", "search_records_fts_data",
                "search_records_fts_idx", "search_records_fts_docsize", "search_records_fts_config"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_an_edit_that_hides_a_record_from_search_fails_the_audit(base: Base, tmp_path: Path,
                                                                 data: st.DataObject) -> None:
    """Any edits of the search index's tables (values, deleted rows, dropped tables, words
    deleted from the full-text index): if `search` then misses a record it found before,
    `audit` fails; and after `rebuild` `search` finds what it found before, and `audit` passes.
    (A script running 1,250 such cases found nothing; this keeps it so.)"""
    import json

    work = tmp_path / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    db = work / "t.db"
    shutil.copy(base[0], db)
    before = {word: _runs(db, "search", word, "--json") for word in ("routing", "court")}
    assert RID in before["routing"][1] and "SRCH:00000002" in before["court"][1]
    with sqlite3.connect(db) as conn:
        for _ in range(data.draw(st.integers(1, 3))):
            table = data.draw(st.sampled_from(INDEX_TABLES))
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")] or ["rowid"]
            which = data.draw(st.sampled_from(["", f" WHERE rowid = (SELECT MIN(rowid) FROM {table})",
                                               f" WHERE rowid = (SELECT MAX(rowid) FROM {table})"]))
            edit = data.draw(st.sampled_from([
                f"UPDATE {table} SET {data.draw(st.sampled_from(columns))} = "
                f"{data.draw(st.sampled_from([*VALUES, 'randomblob(8)', '0', '10']))}{which}",
                f"DELETE FROM {table}{which}", f"DROP TABLE {table}", HIDE_WORDS]))
            with contextlib.suppress(sqlite3.Error):  # a constraint it would break
                conn.execute(edit)
    for word, (_, found) in before.items():
        now = _runs(db, "search", word, "--json")
        if now[0] == 0 and {h["record_id"] for h in json.loads(now[1])} != {
                h["record_id"] for h in json.loads(found)}:
            assert _runs(db, "audit")[0] == 1, (word, now)
    assert _runs(db, "rebuild")[0] == 0
    for word, result in before.items():
        assert _runs(db, "search", word, "--json") == result
    assert _runs(db, "audit")[0] == 0
