"""What a reader is shown of a record is never what an edit of the file made it: `show`,
`history`, `render`, `diff`, `search` and `log --record` check the record's own events (hash,
members, tree leaf, links to the events beside them) and that no seq is missing, and refuse
(exit 1, naming the seq or the table) rather than show an edited event; `bundle` does too, and
`export` and `list` verify the whole log first; `log` checks each event it prints. Before, `show` printed
a correction's value edited with plain sqlite3 as if it were the ledger's, and only `verify`
said otherwise. Every attack here is made with plain sqlite3 and `tests/attacker.py`."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
import rfc8785
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.main import app
from tests import attacker
from tests.conftest import manifest, provenance
from tests.test_tamper import attack

RID = "SRCH:03BE3A05"
READERS = [["show", RID], ["show", RID, "--json"], ["show", RID, "--as-of", "2"],
           ["history", RID], ["render", RID], ["render", RID, "--format", "html"],
           ["diff", RID], ["search", "routing"], ["log", "--record", RID]]
CORRECTION = 4  # seq of the correction of RID's review score (below)


def run(db: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--db", str(db), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """RID published, its provenance, another record, RID corrected (seq 4), the other under
    concern, RID clarified; a third record removed with a purge (its content withheld)."""
    tmp = tmp_path_factory.mktemp("show")
    db = tmp / "base.db"
    files = {name: tmp / f"{name}.json" for name in ("a", "ap", "b", "c")}
    files["a"].write_text(json.dumps(manifest(RID)))
    files["ap"].write_text(json.dumps(provenance(RID)))
    files["b"].write_text(json.dumps(manifest("SRCH:BF3DD431")))
    files["c"].write_text(json.dumps(manifest("SRCH:7BAC9D19")))
    steps = [["init"], ["publish", str(files["a"])], ["provenance", str(files["ap"])],
             ["publish", str(files["b"])],
             ["correct", RID, "--kind", "correction", "--reason", "Score transcribed wrongly",
              "--set", "/review_score=9.1", "--notice-id", "C1"],
             ["correct", "SRCH:BF3DD431", "--kind", "expression_of_concern", "--reason", "Untraced"],
             ["correct", RID, "--kind", "clarification", "--reason", "Parsed sections only"],
             ["publish", str(files["c"])],
             ["correct", "SRCH:7BAC9D19", "--kind", "removal", "--reason", "Court order",
              "--purge"]]
    for step in steps:
        code, out, err = run(db, "--actor", "editor", *step)
        assert code == 0, (step, out, err)
    vkey = run(db, "keygen", "log.example", "-o", str(tmp / "k.key"))[1]
    (tmp / "k.vkey").write_text(vkey)
    assert run(db, "checkpoint", "--key", str(tmp / "k.key"), "-o", str(tmp / "cp.txt"))[0] == 0
    return db


@pytest.fixture
def copy(base: Path, tmp_path: Path) -> Path:
    db = tmp_path / "t.db"
    shutil.copy(base, db)
    return db


def test_an_untouched_ledger_reads_as_before(base: Path) -> None:
    """No refusal on a ledger no one edited: a purged record and its withheld members too."""
    for args in [*READERS, ["show", "SRCH:7BAC9D19"], ["history", "SRCH:7BAC9D19"],
                 ["search", "order"]]:
        code, out, err = run(base, *args)
        assert code == 0 and out and not err, (args, err)
    assert "9.1" in run(base, "show", RID)[1]


def jcs(value: object) -> str:
    return rfc8785.dumps(value).decode()


def _remade(db: Path, seq: int, tree: bool = False) -> None:
    """The correction's value changed and the event made anew: fresh salts and commitments,
    its hash recomputed (and with ``tree``, every stored tree hash too)."""
    with attacker.unguarded(db) as conn:
        env = next(e for e in attacker.rows(conn) if e["seq"] == seq)
        env["payload"]["changes"][0]["value"] = 2.1
        attacker.recommit(env)
        env["hash"] = attacker.event_hash(env)
        conn.execute("UPDATE events SET payload = ?, salts = ?, commitments = ?, hash = ? "
                     "WHERE seq = ?", (jcs(env["payload"]), jcs(env["salts"]),
                                       jcs(env["commitments"]), env["hash"], seq))
        if tree:
            attacker.rebuild_tree(conn)


def _withheld(db: Path) -> None:
    """The correction's reason replaced by a withheld marker of a removal there is none of."""
    marker = {"withheld": {"notice_id": "REM-1", "reason": "Court order", "notice_seq": 9}}
    with attacker.unguarded(db) as conn:
        env = next(e for e in attacker.rows(conn) if e["seq"] == CORRECTION)
        env["payload"]["reason"] = marker
        del env["salts"]["reason"]
        conn.execute("UPDATE events SET payload = ?, salts = ? WHERE seq = ?",
                     (jcs(env["payload"]), jcs(env["salts"]), CORRECTION))


ATTACKS: list[tuple[str, Callable[[Path], None], str]] = [
    ("a member's value edited", lambda db: attack(
        db, f"UPDATE events SET payload = json_set(payload, '$.changes[0].value', 2.1) "
            f"WHERE seq = {CORRECTION}"),
     f"seq {CORRECTION}: refusing to {{doing}} {RID}: payload member 'changes' does not match "
     "its commitment"),
    ("the event made anew, hash and all", lambda db: _remade(db, CORRECTION),
     f"seq {CORRECTION}: refusing to {{doing}} {RID}: the Merkle tree recorded a different "
     f"event at seq {CORRECTION}"),
    ("the event made anew, and the whole tree", lambda db: _remade(db, CORRECTION, tree=True),
     f"seq {CORRECTION + 1}: refusing to {{doing}} {RID}: prev_hash does not link to seq "
     f"{CORRECTION}"),
    ("the correction deleted", lambda db: attack(db, f"DELETE FROM events WHERE seq = {CORRECTION}"),
     f"table events: refusing to {{doing}} {RID}: it holds 8 event(s) from seq 1 to seq 9, "
     "not seqs 1 to 9"),
    ("another record's event deleted", lambda db: attack(db, "DELETE FROM events WHERE seq = 3"),
     "not seqs 1 to 9: an event was deleted or added behind the ledger's back"),
    ("a member withheld with no removal", _withheld,
     f"seq {CORRECTION}: refusing to {{doing}} {RID}: payload member 'reason' is withheld but no "
     "removal notice's purge covers it"),
    ("the stored hash edited", lambda db: attack(
        db, f"UPDATE events SET hash = 'garbage' WHERE seq = {CORRECTION}"),
     f"seq {CORRECTION}: refusing to {{doing}} {RID}: the stored event hash is not 64 hex digits"),
    ("the tree's leaf edited", lambda db: attack(
        db, "UPDATE tree_hashes SET hash = zeroblob(32) WHERE pos = 0"),
     f"seq 1: refusing to {{doing}} {RID}: the Merkle tree recorded a different event at seq 1"),
]


@pytest.mark.parametrize(("edit", "says"), [(a[1], a[2]) for a in ATTACKS],
                         ids=[a[0] for a in ATTACKS])
def test_an_edited_event_is_refused_by_every_reader(base: Path, copy: Path,
                                                    edit: Callable[[Path], None],
                                                    says: str) -> None:
    edit(copy)
    for args in READERS:
        code, out, err = run(copy, *args)
        doing = {"history": "show the history of", "log": "show the history of",
                 "diff": "compare the versions of"}.get(args[0], "show")
        assert code == 1 and not out, (args, code, out, err)
        assert err.startswith("Error: ") and err.count("\n") == 1, (args, err)
        expected = says.format(doing=doing)  # a search names the first hit it reads
        assert (expected.split(RID)[-1] if args[0] == "search" else expected) in err, (args, err)
        assert "(run `ledger audit`" in err
    # a bundle is not made of such events, only for its reader to find them broken
    code, out, err = run(copy, "bundle", RID, "--checkpoint", str(base.parent / "cp.txt"),
                         "-o", str(copy.parent / "b.json"))
    assert code == 1 and not (copy.parent / "b.json").exists(), (code, out, err)
    assert says.format(doing="bundle").split(RID)[-1] in err and "refusing to bundle" in err, err
    # nor an indexer's snapshot: `export` verifies the log as `verify` does (every stored tree
    # hash too), so `verify` fails and `export` refuses every such edit, a tree leaf's off the
    # head's frontier as well (before, `verify` compared the root alone and passed it)
    code, out, err = run(copy, "verify")
    assert code == 1 and "FAILED at seq " in out + err, (code, out, err)
    # and `list`, which folds every record, verifies the log first as `export` does
    for args in (["export"], ["export", "--format", "retraction-watch-csv"],
                 ["export", "-o", str(copy.parent / "e.json")], ["list"], ["list", "--json"],
                 ["list", "--status", "corrected"]):
        code, out, err = run(copy, *args)
        assert code == 1 and not out and not (copy.parent / "e.json").exists(), (args, err)
        assert err.startswith(("Error: seq ", "Error: table events: ")), (args, err)
        doing = "export" if args[0] == "export" else "list the records"
        assert f"refusing to {doing}" in err and err.count("\n") == 1, (args, err)
    code, out, err = run(copy, "audit")  # and the audit agrees that the file was edited
    assert code == 1 and "FAILED" in out + err, out + err


def test_another_records_edited_event_leaves_this_one_readable(copy: Path) -> None:
    """The check is the record's: an edit of another record's event (not at its side) does not
    stop `show` of this one, and `show` of that one says it."""
    attack(copy, "UPDATE events SET payload = json_set(payload, '$.reason', 'x') WHERE seq = 5")
    assert run(copy, "show", RID)[0] == 0
    code, _, err = run(copy, "show", "SRCH:BF3DD431")
    assert code == 1 and "seq 5: refusing to show SRCH:BF3DD431: payload member 'reason'" in err


COLUMNS = ["type", "contract", "payload", "actor", "recorded_at", "prev_hash", "hash", "salts",
           "commitments", "seq"]
VALUES = st.one_of(
    st.sampled_from(["NULL", "X'FF00'", "''", "'garbage'", "0", "-1", "100", "1e308",
                     "'{}'", "'[]'", "'{\"a\":1}'", "upper({c})", "{c} || ' '",
                     "replace({c}, '1', '2')", "replace({c}, '9', '8')", "lower({c})",
                     "json_set({c}, '$.reason', 'edited')", "json_remove({c}, '$.reason')",
                     "substr({c}, 2)"]),
    st.text(st.characters(codec="utf-8", exclude_characters="'"), max_size=8).map(
        lambda t: f"'{t}'"))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seq=st.sampled_from([1, 2, 4, 6]), column=st.sampled_from(COLUMNS), value=VALUES)
def test_any_edit_of_a_records_event_is_refused_or_changes_nothing(
        base: Path, tmp_path_factory: pytest.TempPathFactory, seq: int, column: str,
        value: str) -> None:
    """Any value written into any column of any of the record's events (its record id aside:
    the event is then another record's, which `verify` finds): `show` either refuses, exit 1
    with one line naming a seq or the table, or shows exactly what it showed before."""
    db = tmp_path_factory.mktemp("edit") / "t.db"
    shutil.copy(base, db)
    before = run(base, "show", RID, "--json")[1]
    exported = run(base, "export")[1]
    statement = f"UPDATE events SET {column} = {value.replace('{c}', column)} WHERE seq = {seq}"
    try:
        attack(db, statement)
    except sqlite3.Error:
        return  # a seq that another row holds, a JSON function of text that is not JSON
    code, out, err = run(db, "show", RID, "--json")
    if code == 0:
        assert out == before, statement
    else:
        assert code == 1 and not out, (statement, err)
        assert err.startswith(("Error: seq ", "Error: table events: ")), (statement, err)
        assert err.count("\n") == 1, (statement, err)
    code, out, err = run(db, "export")  # what an indexer ingests: the same, or refused
    if code == 0:
        assert out == exported, statement
    else:
        assert code == 1 and not out and "refusing to export" in err, (statement, err)
        assert err.startswith(("Error: seq ", "Error: table ")), (statement, err)


@pytest.mark.parametrize("helpers", [False, True], ids=["one process", "helpers"])
@pytest.mark.parametrize(("edit", "says"), [(a[1], a[2]) for a in ATTACKS],
                         ids=[a[0] for a in ATTACKS])
def test_a_site_is_not_made_of_an_edited_event(base: Path, copy: Path, edit: Callable[[Path], None],
                                               says: str, helpers: bool,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """`site --checkpoint` (which signs nothing) makes no page of an edited event: its reader's
    browser would find the page's bundle broken, and an event after the checkpoint it could not
    check at all. A build of every page verifies the log first, as `export` does; the edit it
    lets pass (a tree leaf off the head's frontier, which changes no record) each record's
    check refuses, as `show` does, with the helper processes of a large site too. Exit 1, the
    seq or the table named, no page written."""
    from ledger.pages import site

    if helpers:
        monkeypatch.setattr(site, "PARALLEL_RECORDS", 1)
    edit(copy)
    out = copy.parent / "site"
    code, out_text, err = run(copy, "site", str(out), "--checkpoint", str(base.parent / "cp.txt"),
                              "--vkey", (base.parent / "k.vkey").read_text().strip())
    assert code == 1 and err.count("\n") == 1, (code, out_text, err)
    assert err.startswith(("Error: seq ", "Error: table events: ")), err
    assert "refusing to publish: " in err, err
    assert not any(out.iterdir())  # nothing written, not even the assets
    assert not (out / "index.html").exists() and not (out / site.page_name(RID)).exists()


def test_an_incremental_site_run_checks_the_records_it_builds_again(base: Path, copy: Path) -> None:
    """A site built, then an old event of a record edited and the record given a new event
    (with plain sqlite3: an editor's `correct` refuses to append to the edited record): the
    next run, which builds only that record's page again, refuses it, and leaves the page the
    last run made (from the events as they were)."""
    out = copy.parent / "site"
    args = ["--checkpoint", str(base.parent / "cp.txt"),
            "--vkey", (base.parent / "k.vkey").read_text().strip()]
    assert run(copy, "site", str(out), *args)[0] == 0
    from ledger.pages.site import page_name

    page = (out / page_name(RID)).read_bytes()
    attack(copy, f"UPDATE events SET payload = json_set(payload, '$.changes[0].value', 2.1) "
                 f"WHERE seq = {CORRECTION}")
    assert run(copy, "site", str(out), *args)[0] == 0  # the record's heads are as they were
    code = run(copy, "--actor", "editor", "correct", RID, "--kind", "addendum", "--reason",
               "More data")[0]
    assert code == 1
    with attacker.unguarded(copy) as conn:
        attacker.forge_next(conn, "notice.issued", RID, "correction-record-v1", {
            "record_id": RID, "kind": "addendum", "reason": "More data", "notice_id": "ADD-1",
            "issued_by": "editor", "effective_date": "2026-11-26", "target_version": 1})
        attacker.rebuild_tree(conn)
    code, _, err = run(copy, "site", str(out), *args)
    assert code == 1 and f"seq {CORRECTION}: refusing to publish {RID}: payload member" in err, err
    assert (out / page_name(RID)).read_bytes() == page


@pytest.mark.parametrize(("edit", "says"), [(a[1], a[2]) for a in ATTACKS],
                         ids=[a[0] for a in ATTACKS])
def test_the_log_shows_no_edited_event(copy: Path, edit: Callable[[Path], None],
                                       says: str) -> None:
    """`log` (of the whole ledger, not one record's) checks each event before it prints it:
    the events before the edited one print, then one line names it, exit 1; `--json` opens its
    array only with the first checked event, so a log that starts at the edit prints nothing."""
    edit(copy)
    reason = says.split(RID)[-1]  # the same reason as a record's reader gives
    for args in (["log"], ["log", "--jsonl"], ["log", "--json"], ["log", "--actor", "editor"]):
        code, out, err = run(copy, *args)
        assert code == 1 and err.startswith("Error: ") and err.count("\n") == 1, (args, err)
        assert "refusing to show the log" in err and reason in err, (args, err)
        if args[-1] == "--jsonl":  # what was printed came before the event named
            named = int(err.split("seq ")[1].split(":")[0]) if "Error: seq " in err else 1
            assert all(json.loads(line)["seq"] < named for line in out.splitlines()), (out, err)
    edited = 1 if "Error: seq 1:" in err else CORRECTION  # a log from the edited event on
    code, out, err = run(copy, "log", "--since", str(edited - 1), "--json")
    assert code == 1 and not out, (out, err)


def test_the_log_of_an_untouched_ledger_with_a_purge_prints_every_event(base: Path) -> None:
    """The purged record's withheld members are checked against its purge, and pass."""
    code, out, err = run(base, "log", "--jsonl")
    assert code == 0 and not err, err
    assert [json.loads(line)["seq"] for line in out.splitlines()] == list(range(1, 10))
    code, out, err = run(base, "log", "-n", "2", "--json")
    assert code == 0 and [e["seq"] for e in json.loads(out)] == [8, 9], err



@pytest.mark.parametrize("sql", [
    "UPDATE events SET hash = replace(hash, substr(hash, 1, 1), 'x') WHERE seq = 9",
    "UPDATE events SET payload = json_set(payload, '$.record_id', 'x') WHERE seq = 9",
    "UPDATE tree_hashes SET hash = zeroblob(32) WHERE pos = (SELECT MAX(pos) FROM tree_hashes)",
    "DELETE FROM events WHERE seq = 3"],
    ids=["the head's hash", "a member", "the head's tree leaf", "a deletion"])
def test_status_names_no_edited_head(copy: Path, sql: str) -> None:
    """`status` prints the head's hash, the value a reader pins: it checks the head event (its
    hash, members, tree leaf; the head here is a purge, checked with its record) and that no seq
    is missing, and refuses an edit of either, exit 1, naming the seq or the table."""
    assert run(copy, "status")[0] == 0
    attack(copy, sql)
    for args in (["status"], ["status", "--json"]):
        code, out, err = run(copy, *args)
        assert code == 1 and not out and "refusing to show the status" in err, (sql, err)
        assert err.startswith(("Error: seq ", "Error: table events: ")), (sql, err)
        assert err.count("\n") == 1, err


def _relabelled(db: Path, seq: int, rid: str) -> None:
    """Event ``seq`` given another record id with plain sqlite3 (the triggers put back)."""
    with attacker.unguarded(db) as conn:
        conn.execute("UPDATE events SET record_id = ? WHERE seq = ?", (rid, seq))


@pytest.mark.parametrize("to", ["SRCH:BF3DD431", "SRCH:00000000", "KEY:00000000"],
                         ids=["another record", "a new id", "a keyring id"])
@pytest.mark.parametrize("appended", [False, True], ids=["as it was", "then corrected"])
def test_an_incremental_site_run_sees_an_event_moved_off_a_record(
        base: Path, copy: Path, to: str, appended: bool) -> None:
    """A site built, then RID's correction given another record id: RID's own events all check,
    and its page would leave the correction out and verify in the browser all the same (each
    event it shows is in the log). The next run, which would build RID's page again (it has
    fewer events, or a new one), refuses: a ledger only appends, so a record has the events of
    the last run and those after its head; the page of the last run stays."""
    from ledger.pages.site import page_name

    out = copy.parent / "site"
    args = ["--checkpoint", str(base.parent / "cp.txt"),
            "--vkey", (base.parent / "k.vkey").read_text().strip()]
    assert run(copy, "site", str(out), *args)[0] == 0
    page = (out / page_name(RID)).read_bytes()
    _relabelled(copy, CORRECTION, to)
    if appended:
        assert run(copy, "--actor", "editor", "correct", RID, "--kind", "addendum",
                   "--reason", "More data")[0] == 0
    code, _, err = run(copy, "site", str(out), *args)
    assert code == 1 and err.count("\n") == 1, err
    counted = (f"Error: table events: refusing to publish {RID}: it had 4 event(s) at the last "
               f"run into {out} (up to seq 9) and has {4 if appended else 3} now")
    moved = f"Error: seq {CORRECTION}: refusing to publish {to}: hash mismatch"  # built first
    assert err.startswith(moved if to.startswith("SRCH:") and to < RID else counted), err
    assert (out / page_name(RID)).read_bytes() == page
    code, _, err = run(copy, "site", str(out), "--full", *args)  # every page: verified first
    assert code == 1 and err.startswith(f"Error: seq {CORRECTION}: refusing to publish: hash "
                                        "mismatch"), err
    assert (out / page_name(RID)).read_bytes() == page


def test_a_record_whose_events_all_moved_is_not_dropped_from_the_site(base: Path,
                                                                        copy: Path) -> None:
    """Every event of a record given the keyring's id: the record would simply drop off the
    index; a ledger never loses a record, so the next run refuses."""
    out = copy.parent / "site"
    args = ["--checkpoint", str(base.parent / "cp.txt"),
            "--vkey", (base.parent / "k.vkey").read_text().strip()]
    assert run(copy, "site", str(out), *args)[0] == 0
    with attacker.unguarded(copy) as conn:  # the keyring's id: no page would be made of it
        conn.execute("UPDATE events SET record_id = 'KEY:00000000' WHERE record_id = ?",
                     ("SRCH:BF3DD431",))
    code, _, err = run(copy, "site", str(out), *args)
    assert code == 1 and err.startswith("Error: table events: refusing to publish "
                                        "SRCH:BF3DD431: it had 2 event(s) at the last run into "
                                        f"{out} and has none now"), err


def test_a_site_checks_the_keyring_it_makes_no_page_of(tmp_path: Path) -> None:
    """A signed ledger: a notice given the id of the keyring's record (whose first event is a
    key's) was left out of its record's page: the keyring's events were read and not checked."""
    admin = tmp_path / "admin.key"
    vkey = run(tmp_path / "x.db", "keygen", "admin.example", "-o", str(admin))[1].strip()
    db = tmp_path / "s.db"
    assert run(db, "init", "--require-signatures", "--admin-key", str(admin))[0] == 0
    (tmp_path / "a.json").write_text(json.dumps(manifest(RID)))
    for step in (["publish", str(tmp_path / "a.json")],
                 ["correct", RID, "--kind", "retraction", "--reason", "Fabricated"]):
        code, _, err = run(db, "--key", str(admin), *step)
        assert code == 0, err
    assert run(db, "checkpoint", "--key", str(admin), "-o", str(tmp_path / "cp.txt"))[0] == 0
    with sqlite3.connect(db) as conn:
        keyring = conn.execute("SELECT record_id FROM events WHERE seq = 1").fetchone()[0]
        retraction = conn.execute("SELECT seq FROM events WHERE type = 'notice.issued'").fetchone()[0]
    assert keyring.startswith("KEY:")
    _relabelled(db, retraction, keyring)
    assert "CURRENT" in run(db, "show", RID)[1]  # what the record's own events say (see below)
    code, _, err = run(db, "site", str(tmp_path / "site"), "--checkpoint",
                       str(tmp_path / "cp.txt"), "--vkey", vkey)
    assert code == 1 and f"seq {retraction}: refusing to publish" in err, err
    assert run(db, "verify")[0] == 1


@pytest.mark.parametrize("to", ["SRCH:BF3DD431", "SRCH:00000000"], ids=["another record", "a new id"])
def test_no_bundle_is_made_short_of_an_event_moved_off_its_record(base: Path, copy: Path,
                                                                    to: str) -> None:
    """RID's correction given another record id: RID's own events all check, and a bundle of
    them would verify offline with the correction left out. `bundle` verifies the log first."""
    _relabelled(copy, CORRECTION, to)
    bundle = copy.parent / "b.json"
    code, _, err = run(copy, "bundle", RID, "--checkpoint", str(base.parent / "cp.txt"),
                       "-o", str(bundle))
    assert code == 1 and not bundle.exists(), err
    assert err.startswith(f"Error: seq {CORRECTION}: refusing to bundle {RID}: hash mismatch"), err


def _bundle_of(db: Path, rid: str, out: Path) -> dict[str, object]:
    code, _, err = run(db, "bundle", rid, "--checkpoint", str(db.parent / "cp.txt"), "-o", str(out))
    assert code == 0, err
    loaded: dict[str, object] = json.loads(out.read_text())
    return loaded


def _restated(bundle: dict[str, object], vkey: str) -> None:
    """The bundle's ``state`` made again from the events left in it, as its verifier folds them
    (the fold is public: whoever forges a bundle can run it)."""
    from ledger.core.checkpoint import open_checkpoint
    from ledger.model.purge import as_checkable
    from ledger.model.state import fold
    from ledger.ops import bundle as bundles
    from ledger.ops.keys import read_verifier
    from ledger.storage.views import show_of

    checkpoint = open_checkpoint(str(bundle["checkpoint"]), read_verifier(vkey))
    items = bundle["events"]
    assert isinstance(items, list)
    events = [bundles._check_item(item, checkpoint, str(bundle["record_id"]), n)
              for n, item in enumerate(items)]
    state = fold(as_checkable(events, checkpoint.size))
    assert state is not None
    bundle["state"] = show_of(state)


@pytest.mark.parametrize("left_out", [CORRECTION, 6], ids=["a notice in the middle", "the last event"])
def test_a_bundle_short_of_an_event_is_found_against_the_log(base: Path, copy: Path,
                                                             left_out: int) -> None:
    """A bundle of RID with one of its events left out and its state restated from the rest:
    every event left in it is proven, so it verifies on its own (what no bundle can prove:
    docs/tamper-matrix.md). `verify-bundle --against` the log names the event left out, and
    passes the genuine bundle, also against a log that grew after its checkpoint."""
    vkey = str(base.parent / "k.vkey")
    made = _bundle_of(base, RID, copy.parent / "genuine.json")
    forged = dict(made)
    items = made["events"]
    assert isinstance(items, list)
    forged["events"] = [item for item in items if item["event"]["seq"] != left_out]
    assert len(forged["events"]) == len(items) - 1
    _restated(forged, vkey)
    path = copy.parent / "forged.json"
    path.write_text(json.dumps(forged))
    code, out, err = run(copy, "verify-bundle", str(path), "--vkey", vkey)
    assert code == 0 and out.startswith(f"OK: {len(items) - 1} event(s) of {RID}"), err
    code, out, err = run(copy, "verify-bundle", str(path), "--vkey", vkey, "--against", str(base))
    assert code == 1 and not out, out
    assert err.startswith(f"Error: seq {left_out}: the bundle leaves out seq {left_out} "), err
    assert run(copy, "--actor", "editor", "correct", RID, "--kind", "clarification",
               "--reason", "After the checkpoint")[0] == 0
    for rid in (RID, "SRCH:7BAC9D19"):  # the second removed with a purge: its members withheld
        genuine = copy.parent / f"{rid[5:]}.json"
        _bundle_of(base, rid, genuine)
        code, out, err = run(copy, "verify-bundle", str(genuine), "--vkey", vkey,
                             "--against", str(copy))
        assert code == 0 and f"every event of the record in {copy}" in out, err
        later = f"Note: {copy} holds 1 later event(s) of {rid}, after the checkpoint"
        assert (later in out) == (rid == RID), out
        assert ", notice.issued" in out.split("Note:")[-1] or rid != RID, out


def test_a_bundle_is_not_checked_against_an_edited_log(base: Path, copy: Path) -> None:
    """The log a bundle is checked against is verified first: with RID's correction given
    another record id, the log would show the bundle short of nothing it holds as RID's."""
    vkey = str(base.parent / "k.vkey")
    genuine = copy.parent / "genuine.json"
    _bundle_of(base, RID, genuine)
    _relabelled(copy, CORRECTION, "SRCH:00000000")
    code, out, err = run(base, "verify-bundle", str(genuine), "--vkey", vkey, "--against", str(copy))
    assert code == 1 and not out, out
    assert err.startswith(f"Error: seq {CORRECTION}: refusing to check bundles against the "
                          "ledger: hash mismatch"), err


def test_a_bundle_is_compared_with_the_very_log_verified(
        base: Path, copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An auditor's file edited between the log's verification and the comparison (RID's
    correction given another record id with plain sqlite3, right after the log verified) would
    have let a bundle short of that correction pass as complete: the comparison read the file
    again. Both run in one read transaction now, so what is compared is what was verified."""
    from ledger.ops import bundle as bundles

    vkey = str(base.parent / "k.vkey")
    made = _bundle_of(base, RID, copy.parent / "a.json")
    items = made["events"]
    assert isinstance(items, list)
    short = dict(made, events=[item for item in items if item["event"]["seq"] != CORRECTION])
    _restated(short, vkey)
    forged = copy.parent / "short.json"
    forged.write_text(json.dumps(short))
    verified = bundles.verify_log_extends

    def then_edited(*args: object, **kwargs: object) -> None:
        verified(*args, **kwargs)  # type: ignore[arg-type]
        _relabelled(copy, CORRECTION, "SRCH:00000000")

    monkeypatch.setattr(bundles, "verify_log_extends", then_edited)
    for files in ([str(forged)], [str(forged), str(copy.parent / "a.json")]):
        code, out, err = run(copy, "verify-bundle", *files, "--vkey", vkey, "--against", str(copy))
        assert code == 1, out + err
        assert f"seq {CORRECTION}: the bundle leaves out seq {CORRECTION}" in out + err, out + err
        with attacker.unguarded(copy) as conn:  # back as it was, for the next run
            conn.execute("UPDATE events SET record_id = ? WHERE seq = ?", (RID, CORRECTION))


def test_a_folder_of_bundles_is_checked_against_one_verification_of_the_log(
        base: Path, copy: Path) -> None:
    """A site's bundles checked at once (`verify-bundle DIR --against`): one line each, the
    short one and a file that is no bundle named, the others verified; exit 1 if any fails.
    --json gives one object per file. stdin is only ever given alone."""
    vkey = str(base.parent / "k.vkey")
    folder = copy.parent / "bundles"
    folder.mkdir()
    made = _bundle_of(base, RID, folder / "a.json")
    _bundle_of(base, "SRCH:BF3DD431", folder / "b.json")
    items = made["events"]
    assert isinstance(items, list)
    forged = dict(made, events=[item for item in items if item["event"]["seq"] != CORRECTION])
    _restated(forged, vkey)
    (folder / "c.json").write_text(json.dumps(forged))
    (folder / "d.js").write_text("not a bundle")
    (folder / "notes.txt").write_text("not looked at")
    code, out, err = run(copy, "verify-bundle", str(folder), "--vkey", vkey, "--against", str(base))
    assert code == 1, err
    lines = out.splitlines()
    assert lines[0].startswith(f"{folder / 'a.json'}: OK: {len(items)} event(s) of {RID}"), out
    assert any(line.startswith(f"{folder / 'b.json'}: OK: ") for line in lines), out
    assert f"{folder / 'c.json'}: FAILED: seq {CORRECTION}: the bundle leaves out" in out, out
    assert f"{folder / 'd.js'}: FAILED: malformed JSON" in out, out
    assert lines[-1] == "2 of 4 bundle(s) verified, 2 FAILED", out
    code, out, err = run(copy, "verify-bundle", str(folder / "a.json"), str(folder / "c.json"),
                         "--vkey", vkey, "--against", str(base), "--json")
    assert code == 1, err
    assert [(r["file"][-6:], r["ok"]) for r in json.loads(out)] == [("a.json", True),
                                                                    ("c.json", False)]
    # streamed, a file's object at a time (memory holds one bundle): one object a line
    assert [json.loads(line.rstrip(","))["file"][-6:] for line in out.splitlines()[1:-1]] == [
        "a.json", "c.json"], out
    code, out, err = run(copy, "verify-bundle", str(folder / "a.json"), str(folder / "b.json"),
                         "--vkey", vkey)
    assert code == 0 and out.splitlines()[-1] == "2 of 2 bundle(s) verified", out + err
    code, _, err = run(copy, "verify-bundle", str(folder), "-", "--vkey", vkey)
    assert code == 2 and err.startswith("Error: - (a bundle on stdin) is given alone"), err
