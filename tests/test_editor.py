"""An editor's day through the real CLI: list, status, diff, search (its FTS5 index kept
up to date and dropped by a purge), completion."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cli.main import app
from tests.conftest import Cli, manifest

PAGES = Path(__file__).parent.parent / "examples" / "pages"


@pytest.fixture
def day(cli: Cli) -> Cli:
    assert cli("import", *map(str, sorted(PAGES.glob("*.txt")))).exit_code == 0
    assert cli("correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "Score typo",
               "--set", "/review_score=9.1").exit_code == 0
    assert cli("correct", "SRCH:7BAC9D19", "--kind", "retraction", "--reason",
               "Fabricated benchmark numbers").exit_code == 0
    return cli


def test_list_filters(day: Cli) -> None:
    rows = day.json("list")
    assert [r["record_id"] for r in rows] == ["SRCH:03BE3A05", "SRCH:7BAC9D19", "SRCH:BF3DD431"]
    assert [r["record_id"] for r in day.json("list", "--status", "retracted")] == ["SRCH:7BAC9D19"]
    assert [r["record_id"] for r in day.json("list", "--level", "L4")] == ["SRCH:03BE3A05"]
    assert [r["record_id"] for r in day.json("list", "--tier", "quarantine candidate")] == \
        ["SRCH:7BAC9D19", "SRCH:BF3DD431"]
    text = day("list").stdout.splitlines()
    assert len(text) == 3 and all(len(line) <= 100 for line in text)
    assert day("list", "--status", "GONE").exit_code == 2
    typo = day("list", "--tier", "flagship")  # a tier or level outside the contract: refused, not "none"
    assert typo.exit_code == 2 and "'flagship' is not one of 'flagship_candidate'" in typo.stderr
    for spelt in ("FLAGSHIP candidate", "flagship_candidate", "Flagship-Candidate"):
        assert [r["record_id"] for r in day.json("list", "--tier", spelt)] == ["SRCH:03BE3A05"]
    completed = day.runner.invoke(app, ["list", "--tier", "fl"], env={  # one word for the shell
        "_LEDGER_COMPLETE": "bash_complete", "COMP_WORDS": "ledger list --tier fl", "COMP_CWORD": "3"},
        prog_name="ledger")
    assert completed.stdout == "plain,flagship_candidate\n"
    assert day("list", "--level", "L5").exit_code == 2
    assert [r["record_id"] for r in day.json("list", "--level", "l4")] == ["SRCH:03BE3A05"]
    none = day("list", "--status", "withdrawn")  # said on stderr; stdout stays empty for scripts
    assert none.exit_code == 0 and none.stdout == "" and none.stderr == "No record matches.\n"
    assert day.json("list", "--status", "withdrawn") == []


def test_status(day: Cli, tmp_path: Path) -> None:
    report = day.json("status")
    assert report["head_seq"] == 10 and report["records"] == 3 and report["last_checkpoint"] is None
    key = tmp_path / "k.key"
    vkey = day("keygen", "pub.example", "-o", str(key)).stdout.strip()
    assert day("checkpoint", "--key", str(key)).exit_code == 0
    day("correct", "SRCH:BF3DD431", "--kind", "expression_of_concern", "--reason", "doubt")
    report = day.json("status")
    assert report["last_checkpoint"]["size"] == 10 and report["last_checkpoint"]["events_since"] == 1
    key_id = "+".join(vkey.split("+")[:2])  # the start of the verifier key: pub.example+<hex>
    assert report["last_checkpoint"]["signed_by"] == [key_id]
    said = day("status").stdout
    assert f"Last checkpoint: size 10 by pub.example, key {key_id}, no cosignature" in said
    assert said.endswith("; 1 event(s) since\nNot yet covered by a signed checkpoint: `ledger "
                         "checkpoint --key FILE`, or `ledger site`/`tiles` with --key FILE, signs "
                         "one.\n"), said
    assert day("checkpoint", "--key", str(key)).exit_code == 0
    assert day("status").stdout.endswith("; 0 event(s) since\n")  # nothing more to say


def test_diff(day: Cli) -> None:
    found = day.json("diff", "SRCH:03BE3A05")
    [notice] = day.json("show", "SRCH:03BE3A05")["notices"]  # the correction that made it
    assert found["changes"] == [{"path": "/review_score", "old": 9.33, "new": 9.1,
                                 "by": [notice["notice_id"]]}]
    assert day("diff", "SRCH:03BE3A05").stdout.endswith(
        f"  ~ /review_score: 9.33 → 9.1 (by {notice['notice_id']})\n")
    revised = {**manifest(), "title": "A new title", "note": None}
    revised.pop("note")
    assert day("publish", day.file(revised)).exit_code == 0
    between = day.json("diff", "SRCH:03BE3A05", "1", "2")
    paths = {c["path"]: c for c in between["changes"]}
    assert paths["/title"]["new"] == "A new title" and "/abstract" in paths
    assert "  ~ /title:" in day("diff", "SRCH:03BE3A05", "1", "2").stdout
    assert "by" not in paths["/title"]  # two versions: nothing to name
    since_first = {c["path"]: c for c in day.json("diff", "SRCH:03BE3A05", "1")["changes"]}
    assert since_first["/title"]["by"] == ["version 2"]  # the correction came before version 2
    # a long title changed at its end: the change is what the line shows
    long_title = "A new title " + "x" * 90 + " and its end"
    for title in (long_title, long_title + ", changed"):
        assert day("publish", day.file({**revised, "title": title})).exit_code == 0
    line = next(text for text in day("diff", "SRCH:03BE3A05", "3", "4").stdout.splitlines()
                if text.startswith("  ~ /title:"))
    assert line == ('  ~ /title: …xxxxxxxx and its end" → …xxxxxxxx and its end, changed"'
                    ), line
    refused = day("diff", "SRCH:03BE3A05", "7")
    assert refused.exit_code == 2 and "has versions 1..4" in refused.stderr


def test_search_follows_appends_and_a_purge_drops_its_text(day: Cli) -> None:
    hits = day.json("search", "expert", "routing")
    assert hits[0]["record_id"] == "SRCH:03BE3A05"
    assert [h["record_id"] for h in day.json("search", "fabricated")] == ["SRCH:7BAC9D19"]
    assert day.json("search", "plagiarism") == []
    none = day("search", "Mamba")  # the title says MambaFormer: a word matches whole words only
    assert none.stdout == "" and "No record matches. Each word matches whole words only: end it " \
        "with * for the words that begin with it (Mamba*)." in none.stderr, none.stderr
    assert day.json("search", "Mamba*")[0]["record_id"] == "SRCH:03BE3A05"
    by_id = day("search", "srch:03be3a05")  # ids are not text: the user is told where they go
    assert by_id.exit_code == 0 and by_id.stdout == "" and "No record matches. The text of " \
        "records is searched, not their ids: `ledger show SRCH:03BE3A05` shows that record." \
        in by_id.stderr, by_id.stderr
    # a typographic apostrophe, as pages show one, finds the plain one a title holds; a lone
    # letter of a query is not marked in the excerpt (`s` marked every word starting with s)
    curly = day.json("search", "ExpertFlow\u2019s")
    assert [h["record_id"] for h in curly] == ["SRCH:7BAC9D19"]
    assert "[ExpertFlow]'s" in curly[0]["snippet"] and "[s" not in curly[0]["snippet"]
    day("correct", "SRCH:BF3DD431", "--kind", "expression_of_concern", "--reason", "Plagiarism alleged")
    assert [h["record_id"] for h in day.json("search", "plagiar*")] == ["SRCH:BF3DD431"]
    assert day("verify").exit_code == 0 and day("audit").exit_code == 0  # the index is no ledger table
    abstract_words = "academic researchers still lack"  # in its abstract alone
    assert [h["record_id"] for h in day.json("search", abstract_words)] == ["SRCH:BF3DD431"]
    assert day("correct", "SRCH:BF3DD431", "--kind", "removal", "--reason", "order", "--purge",
               "--purge-field", "abstract").exit_code == 0
    with sqlite3.connect(day.db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert not any(t.startswith("search_records") for t in tables)  # dropped with the purge
    assert [h["record_id"] for h in day.json("search", "Lynx")] == ["SRCH:BF3DD431"]  # the title stays
    assert day.json("search", abstract_words) == []  # the purged abstract is not searchable
    assert day("search", '"').exit_code == 2


def test_completion_scripts() -> None:
    from click.testing import CliRunner

    from cli.main import app

    for shell, marker in (("bash", "_ledger_completion"), ("zsh", "#compdef ledger"),
                          ("fish", "complete --no-files --command ledger")):
        result = CliRunner().invoke(app, ["completion", shell])
        assert result.exit_code == 0 and marker in result.stdout, (shell, result.output)
    assert orjson.dumps(1)


def test_bash_completes_record_ids_whole(day: Cli, tmp_path: Path) -> None:
    """`ledger show SRCH:03<TAB>` completed nothing: bash splits the word at the colon, and the
    commands knew no record ids. Bash itself runs the script `ledger completion bash` prints,
    as a shell would for each TAB (the words as bash splits them)."""
    import os
    import shutil
    import subprocess
    import sys

    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    assert day("publish", day.file(manifest("ABC:03BE3A05"))).exit_code == 0
    script = tmp_path / "complete.sh"
    db = str(day.db)
    cases = {
        ("show", "SRCH", ":", "03"): "03BE3A05",
        ("show", "srch", ":", "7b"): "7BAC9D19",
        ("history", "SRCH", ":"): "03BE3A05 7BAC9D19 BF3DD431",
        ("show", ""): "ABC:03BE3A05 SRCH:03BE3A05 SRCH:7BAC9D19 SRCH:BF3DD431",
        ("render", "AB"): "ABC:03BE3A05",
        ("correct", "SRCH", ":", "BF"): "BF3DD431",
        ("log", "--record", "SRCH", ":", "7"): "7BAC9D19",
        ("show", "SRCH", ":", "FF"): "",
    }
    lines = ["source <(ledger completion bash)"]
    for words in cases:
        quoted = " ".join("'" + w + "'" for w in ("ledger", "--db", db, *words))
        lines.append(f"COMP_WORDS=({quoted}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); "
                     'COMPREPLY=(); _ledger_completion ledger; echo "${COMPREPLY[*]}"')
    lines.append(f"COMP_WORDS=(ledger --db '{tmp_path}/none.db' show SRCH : 03); COMP_CWORD=6; "
                 'COMPREPLY=(); _ledger_completion ledger; echo "[${COMPREPLY[*]}]"')
    script.write_text("\n".join(lines) + "\n")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run([bash, "--norc", str(script)], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    said = done.stdout.splitlines()
    assert said[:-1] == list(cases.values()), said
    assert said[-1] == "[]" and not (tmp_path / "none.db").exists()  # no ledger, nothing made


def test_a_repeated_status_notice_needs_force_and_warnings_name_what_they_risk(day: Cli) -> None:
    again = day("correct", "SRCH:7BAC9D19", "--kind", "retraction", "--reason", "Fabricated data")
    assert again.exit_code == 2
    assert again.stderr.startswith("Error: SRCH:7BAC9D19 already has a retraction in force: notice ")
    assert "give --force" in again.stderr and len(day.json("list", "--status", "RETRACTED")) == 1
    forced = day("correct", "SRCH:7BAC9D19", "--kind", "retraction", "--reason", "Fabricated data",
                 "--force")
    assert forced.exit_code == 0 and day("audit").exit_code == 0
    # a correction may follow a correction: only status-setting kinds are guarded
    assert day("correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "Typo 2",
               "--set", "/source_grounded_claims=11").exit_code == 0
    # a new version that undoes a correction names it
    shown = day.json("show", "SRCH:03BE3A05")
    revised = {**shown["manifest"], "review_score": 9.33, "title": shown["manifest"]["title"] + "."}
    published = day("publish", day.file(revised))
    assert published.exit_code == 0
    assert "Warning: this version sets /review_score to 9.33, which correction" in published.stderr
    assert "reverts that correction" in published.stderr
    gate = {"record_id": "SRCH:7BAC9D19", "gate": 2, "name": "Verification", "status": "VERIFIED",
            "reason": "reproduced", "evaluator": "lab", "independent": True,
            "artifacts": [{"kind": "repro-script", "uri": "https://x.invalid/r.py",
                           "sha256": "ab" * 32}]}
    verified = day("gate", "--from-file", day.file(gate))
    assert verified.exit_code == 0, verified.output
    assert "Warning: SRCH:7BAC9D19 is RETRACTED: a VERIFIED gate does not change" in verified.stderr


def test_a_correction_that_changes_nothing_or_a_path_twice_needs_force(day: Cli) -> None:
    """`--set /review_score=9.1` when it is already 9.1, or `--set /review_score=8 --set
    /review_score=9`, were appended: a correction for good that changes nothing, or a notice whose
    first change is undone by its second. The editor's command refuses both unless forced; a
    --from-file notice too. A bulk append or an import is not an editor's command: not checked."""
    before = day.snapshot()
    idle = day("correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "Score typo",
               "--set", "/review_score=9.1", "--set", "/source_grounded_claims=10")
    # the notice id was generated, not given: the refusal names the notice by what it is
    assert idle.exit_code == 2 and idle.stderr.startswith(
        "Error: the new correction of SRCH:03BE3A05: ")
    assert idle.stderr.endswith(": its changes leave the manifest of SRCH:03BE3A05 as it is "
                                "(/review_score is already 9.1; /source_grounded_claims is already "
                                "10); give --force if a correction that changes nothing is meant\n")
    twice = day("correct", "--from-file", day.file({
        "record_id": "SRCH:03BE3A05", "kind": "correction", "reason": "Score", "notice_id": "C9",
        "changes": [{"path": "/review_score", "value": 8}, {"path": "/review_score", "value": 9}]}))
    assert twice.exit_code == 2 and twice.stderr == (
        "Error: notice C9: /review_score is changed twice in its changes, and only the last value "
        "would stay: give each path once\n")
    assert day.snapshot() == before
    forced = day("correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "Score typo",
                 "--set", "/review_score=9.1", "--force")
    assert forced.exit_code == 0 and day("audit").exit_code == 0
    changed = day("correct", "SRCH:03BE3A05", "--kind", "correction", "--reason", "Score typo",
                  "--set", "/review_score=9.1", "--set", "/source_grounded_claims=11")
    assert changed.exit_code == 0, changed.output


def test_lifting_a_correction_says_its_changes_stay(day: Cli) -> None:
    """A reinstatement that lifts a correction makes the record CURRENT again, while the
    correction's changes stay in the manifest (every correction issued applies, in order): an
    editor lifting it to undo a typo fix saw CURRENT and the changed score, with no word."""
    assert day("correct", "SRCH:BF3DD431", "--kind", "correction", "--reason", "typo", "--set",
               "/review_score=7.5", "--notice-id", "C7").exit_code == 0
    lifted = day("correct", "SRCH:BF3DD431", "--kind", "reinstatement", "--reason", "undo",
                 "--lifts", "C7")
    assert lifted.exit_code == 0 and lifted.stderr == (
        "Warning: correction C7 no longer counts in the record's status, but its changes stay in "
        "the manifest (/review_score): to undo them, issue a correction that sets them back\n")
    shown = day.json("show", "SRCH:BF3DD431")
    assert shown["status"] == "CURRENT" and shown["manifest"]["review_score"] == 7.5
    # history and log name what a notice lifts and the start of its reason (they said only
    # `correction C7`, `reinstatement N-…`: an auditor had to open each one)
    lines = day("history", "SRCH:BF3DD431").stdout.splitlines()
    assert lines[-2].endswith("  correction C7: typo"), lines
    assert lines[-1].endswith(" (lifts C7): undo") and "  reinstatement N-" in lines[-1], lines
    assert day("log", "--record", "SRCH:BF3DD431").stdout.splitlines()[-2:] == lines[-2:]


def test_a_date_still_to_come_is_warned_of(day: Cli) -> None:
    """An effective date of 2099 or an evaluation at 2099 (a typo for 2026, most likely) was
    appended silently; readers see that date on the record. A warning names it; a date within a
    day (a time zone ahead of UTC) or a time within minutes (another clock) is not warned of."""
    import datetime as dt

    today = dt.datetime.now(dt.UTC)
    later = day("correct", "SRCH:03BE3A05", "--kind", "addendum", "--effective-date", "2099-01-02")
    assert later.exit_code == 0 and later.stderr == (
        "Warning: the notice's effective date 2099-01-02 is still to come (today is "
        f"{today.date().isoformat()}): it is in force from now on all the same, and every reader "
        "sees that date\n")
    gate = day("gate", "SRCH:03BE3A05", "--gate", "3", "--status", "failed", "--reason", "r",
               "--evaluated-at", "2099-01-01T00:00:00Z")
    assert gate.exit_code == 0 and gate.stderr.startswith(
        "Warning: the evaluation's time 2099-01-01T00:00:00Z is still to come (it is now ")
    near = (today + dt.timedelta(hours=14)).date().isoformat()
    soon = (today + dt.timedelta(minutes=2)).isoformat(timespec="seconds")
    assert day("correct", "SRCH:03BE3A05", "--kind", "addendum", "--effective-date", near,
               "--reason", "b").stderr == ""
    assert day("gate", "SRCH:03BE3A05", "--gate", "4", "--status", "failed", "--reason", "r",
               "--evaluated-at", soon).stderr == ""


def test_a_mistyped_command_gets_a_suggestion(cli: Cli) -> None:
    result = cli("corect", "SRCH:03BE3A05")
    assert result.exit_code == 2
    assert result.stderr == ("Error: No such command 'corect'. Did you mean 'correct'? "
                             "(`ledger --help` lists them)\n")
    assert cli("SHOW", "SRCH:03BE3A05").stderr.startswith(
        "Error: No such command 'SHOW'. Did you mean 'show'?")  # caps lock
    assert cli("help").stderr == ("Error: No such command 'help'. (`ledger --help` lists them, "
                                  "`ledger COMMAND --help` tells of one)\n")


def test_a_correction_says_what_it_changes_as_diff_does(day: Cli) -> None:
    rid = "SRCH:03BE3A05"  # its review score was corrected to 9.1
    flags = ["correct", rid, "--kind", "correction", "--reason", "Score and note",
             "--set", "/review_score=8.5", "--set", "/note=Corrected note"]
    rehearsed = day(*flags, "--dry-run")
    assert rehearsed.stdout.splitlines()[1:] == [
        '  ~ /note: "Machine-generated synthesis of existing literature. Not primary research." → '
        '"Corrected note"', "  ~ /review_score: 9.1 → 8.5"], rehearsed.stdout
    done = day(*flags, "--json")
    assert orjson.loads(done.stdout)["changes"] == [
        {"path": "/note", "old": "Machine-generated synthesis of existing literature. Not primary "
                                 "research.", "new": "Corrected note"},
        {"path": "/review_score", "old": 9.1, "new": 8.5}]
    bare = {k: v for k, v in manifest("SRCH:0000000A").items() if k != "note"}
    assert day("publish", day.file(bare)).exit_code == 0
    added = day("correct", "SRCH:0000000A", "--kind", "correction", "--reason", "Note",
                "--set", "/note=Added")
    assert added.stdout.splitlines()[1:] == ['  + /note: "Added"'], added.stdout
    assert "changes" not in orjson.loads(day("correct", rid, "--kind", "addendum", "--reason",
                                             "More", "--json").stdout)


def test_a_notice_kind_and_a_set_pointer_as_an_editor_types_them(day: Cli) -> None:
    rid = "SRCH:03BE3A05"
    for spelt in ("Expression of concern", "EXPRESSION-OF-CONCERN", "expression_of_concern"):
        shown = day.json("correct", rid, "--kind", spelt, "--reason", "Data queried", "--dry-run")
        assert shown["state"]["status"] == "UNDER_CONCERN", shown
    typo = day("correct", rid, "--kind", "retract", "--reason", "x")
    assert typo.exit_code == 2 and typo.stderr.count("\n") == 1
    assert typo.stderr.startswith("Error: Invalid value for '--kind': 'retract' is not one of ")
    assert typo.stderr.endswith(" (did you mean retraction?)\n"), typo.stderr
    assert "did you mean" not in day("correct", rid, "--kind", "zzz", "--reason", "x").stderr
    assert day("list", "--tier", "flagship").stderr.endswith("(did you mean flagship_candidate?)\n")
    for typed, meant in (("review_score=9", "/review_score=9"),
                         ("quality.tier=Watchlist", "/quality/tier=Watchlist")):
        refused = day("correct", rid, "--kind", "correction", "--reason", "x", "--set", typed)
        assert refused.exit_code == 2
        assert refused.stderr == (f"Error: --set '{typed}': expected /json/pointer=VALUE; a JSON "
                                  f"Pointer starts with /: did you mean --set {meant}?\n")
    assert day("correct", rid, "--kind", "correction", "--reason", "x", "--set",
               "/review_score").stderr.endswith("e.g. --set /review_score=9.1\n")
    for flags, meant in ((["list", "--status", "retractd"], "retracted"),
                         (["gate", rid, "--gate", "2", "--status", "verifed", "--reason", "r"],
                          "verified")):
        assert day(*flags).stderr.endswith(f"(did you mean {meant}?)\n")
    assert [r["record_id"] for r in day.json("list", "--status", "under-concern")] == \
        [r["record_id"] for r in day.json("list", "--status", "UNDER_CONCERN")]
    # a file: the contract's values stay exact, the refusal names the one meant
    notice = day("correct", "--from-file", day.file({"record_id": rid, "kind": "Retraction",
                                                     "reason": "x"}))
    assert notice.exit_code == 2 and notice.stderr.endswith(
        "kind: 'Retraction' is not one of 'correction', 'addendum', 'clarification', "
        "'expression_of_concern', 'partial_retraction', 'retraction', 'withdrawal', 'removal', "
        "'reinstatement' (did you mean 'retraction'?)\n"), notice.stderr
    tiered = manifest(rid, quality={"tier": "flagship candidate", "basis": "b",
                                    "dimensions": {"evidence_strength": "high"}})
    told = day("publish", day.file(tiered)).stderr
    assert "'flagship candidate' is not one of 'Flagship candidate', 'DOI grade', 'Watchlist', " \
           "'Quarantine candidate' (did you mean 'Flagship candidate'?)" in told, told
    assert "'high' is not one of 'LOW', 'MEDIUM', 'HIGH' (did you mean 'HIGH'?)" in told, told
    day("correct", rid, "--kind", "expression_of_concern", "--reason", "Data queried")
    again = day("correct", rid, "--kind", "expression_of_concern", "--reason", "Data queried again")
    assert again.stderr.startswith(f"Error: {rid} already has an expression_of_concern in force")


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.common import paint_status

    assert "\x1b[" in paint_status("RETRACTED")
    monkeypatch.setenv("NO_COLOR", "1")
    assert paint_status("RETRACTED", 13) == "RETRACTED    "


def test_dry_run_shows_and_writes_nothing(day: Cli) -> None:
    before = day.snapshot()
    result = day("correct", "SRCH:BF3DD431", "--kind", "expression_of_concern", "--reason",
                 "Figures under review", "--dry-run")
    assert result.exit_code == 0 and result.stdout.startswith("Dry run: would append seq 11 ")
    assert "the record would be UNDER_CONCERN" in result.stdout and "Nothing was written" in result.stdout
    doc = day.json("publish", day.file(manifest("SRCH:00000099")), "--dry-run")
    assert doc["dry_run"] is True and doc["appended"] is False and doc["state"]["status"] == "CURRENT"
    assert doc["event"]["seq"] == 11
    refused = day("correct", "SRCH:7BAC9D19", "--kind", "retraction", "--reason", "again", "--dry-run")
    assert refused.exit_code == 2  # the guards run in a dry run too
    assert day.snapshot() == before


def test_an_edited_search_index_cannot_change_what_search_shows(day: Cli) -> None:
    """The attacker can write the file: an index row is edited (and its FTS entry) with plain
    sqlite3 so that a record seems to say words it does not; search reads every hit again from
    the events and shows only what they hold."""
    assert day.json("search", "routing")
    with sqlite3.connect(day.db) as conn:
        conn.execute("UPDATE search_records SET title = 'Forged miracle cure' "
                     "WHERE record_id = 'SRCH:03BE3A05'")
        conn.execute("INSERT INTO search_records_fts(search_records_fts) VALUES ('rebuild')")
    assert day.json("search", "miracle") == []
    hits = day.json("search", "routing")
    assert hits and all("Forged" not in h["title"] and "Forged" not in h["snippet"] for h in hits)


def test_audit_progress_counts_both_passes(day: Cli) -> None:
    """The audit's bar has a true total: every event verified, then replayed (it used to sit at
    99% while the replay ran)."""
    from ledger.api import Ledger

    done: list[int] = []
    with Ledger.open(day.db) as ledger:
        events = ledger.count()
        ledger.audit(done.append)
    assert sum(done) == 2 * events  # a true total: the bar ends at 100%


def test_search_counts_the_events_it_indexes(day: Cli) -> None:
    """The first search of a large ledger makes its index from every event, silently (tens of
    seconds at 10⁵ records). Its progress callback counts each event once, so the bar the CLI
    draws (only then: its total is the ledger's events) ends at 100%; a search that finds the
    index up to date counts nothing, and draws no bar."""
    from ledger.api import Ledger
    from ledger.ops.editor import search

    done: list[int] = []
    with Ledger.open(day.db) as ledger:
        events = ledger.count()
        assert search(ledger.conn, "routing", 20, done.append)
        assert sum(done) == events
        done.clear()
        assert search(ledger.conn, "routing", 20, done.append)
        assert done == []


def test_bulk_commands_dry_run_and_write_nothing(day: Cli, tmp_path: Path) -> None:
    """--dry-run on append --jsonl, import and a purge: every check runs, the result is shown,
    and the file holds exactly what it held (events, views, the tree, bulk progress)."""

    def everything() -> tuple[Any, ...]:
        with sqlite3.connect(day.db) as conn:
            extra = tuple(tuple(conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall())
                          for t in ("tree_hashes", "bulk_progress", "checkpoints"))
        return day.snapshot() + extra

    before = everything()
    lines = tmp_path / "in.jsonl"
    lines.write_bytes(b"".join(orjson.dumps({"contract": "correction-record-v1", "payload": {
        "record_id": "SRCH:BF3DD431", "kind": "correction", "reason": "r", "notice_id": f"B{i}",
        "changes": [{"path": "/note", "value": f"n{i}"}]}}) + b"\n" for i in range(3)))
    shown = day("append", "--jsonl", str(lines), "--dry-run")
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.startswith("Dry run: would append 3 event(s) (seq 11–13), changing 1 record(s)")
    assert "SRCH:BF3DD431: would be CORRECTED, version 1, 3 notice(s)" in shown.stdout
    doc = day.json("append", "--jsonl", str(lines), "--dry-run")
    assert doc["dry_run"] and doc["would_append"] == 3 and doc["appended"] == 0
    assert doc["records"] == [{"record_id": "SRCH:BF3DD431", "status": "CORRECTED", "version": 1,
                               "correction_count": 3}]
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(lines.read_bytes() + b"{not json\n")
    refused = day("append", "--jsonl", str(bad), "--dry-run")
    assert refused.exit_code == 2 and "LINE 4" in refused.stderr
    again = day.json("import", *map(str, sorted(PAGES.glob("*.txt"))), "--dry-run")
    assert again["would_append"] == 0 and len(again["pages"]) == 3
    purge = day("correct", "SRCH:BF3DD431", "--kind", "removal", "--reason", "Court order",
                "--purge", "--dry-run")
    assert purge.exit_code == 0, purge.output
    assert "would append 2 event(s)" in purge.stdout and "would be REMOVED" in purge.stdout
    assert "it would withhold: seq " in purge.stdout and "abstract" in purge.stdout
    assert everything() == before
    assert day.json("verify")["ok"] and day.json("audit")["ok"]
    # and the real runs do what the dry runs said
    assert day.json("append", "--jsonl", str(lines))["appended"] == 3
    assert day.json("show", "SRCH:BF3DD431")["status"] == "CORRECTED"


@given(st.text(min_size=0, max_size=300), st.text(min_size=0, max_size=300))
def test_a_long_value_changed_anywhere_shows_the_change(old: str, new: str) -> None:
    """`diff` cut both sides of a changed value to their first 77 characters: a title changed
    at its end read the same on both sides. Each side is now cut around where they differ."""
    from cli.common import _around_the_change

    before, after = _around_the_change(old, new)
    assert len(before) <= 81 and len(after) <= 81
    if old != new:
        assert before != after
    if len(old) <= 80 and len(new) <= 80:
        assert (before, after) == (old, new)


def test_an_append_says_the_notice_id_a_later_lift_names(day: Cli) -> None:
    """`ledger correct` without --notice-id said only `Appended seq 9 notice.issued SRCH:…`: the
    editor looked the generated id up in `history` to lift the notice later."""
    done = day("correct", "SRCH:03BE3A05", "--kind", "expression_of_concern", "--reason", "queried")
    assert done.exit_code == 0
    notice_id = day.json("show", "SRCH:03BE3A05")["notices"][-1]["notice_id"]
    assert f": expression_of_concern {notice_id} (hash " in done.stdout, done.stdout
    lifted = day("correct", "SRCH:03BE3A05", "--kind", "reinstatement", "--reason", "cleared",
                 "--lifts", notice_id)
    assert lifted.exit_code == 0 and ": reinstatement N-" in lifted.stdout
    gate = day("gate", "SRCH:03BE3A05", "--gate", "2", "--status", "FAILED", "--reason", "none")
    assert gate.exit_code == 0 and "gate.evaluated SRCH:03BE3A05: gate 2 FAILED (hash " in gate.stdout


def test_a_search_index_made_by_sqlite_utils_as_before_is_used_as_it_is(day: Cli) -> None:
    """Earlier versions made the search index with sqlite-utils (its own quoting and layout of
    the SQL); `search` now writes the same schema itself, and compares a file's with it without
    quotes, case or spaces: an index made the old way is used as it is, not made anew, and
    `audit` finds nothing in it."""
    import sqlite_utils

    from ledger.ops.editor import record_state
    from ledger.storage import searchindex

    with sqlite3.connect(day.db) as conn:
        db = sqlite_utils.Database(conn)
        db[searchindex.TABLE].create({"record_id": str, **dict.fromkeys(searchindex.COLUMNS, str)},
                                     pk="record_id")
        db[searchindex.META].create({"key": str, "value": str}, pk="key")
        db[searchindex.TABLE].enable_fts(list(searchindex.COLUMNS), create_triggers=False,
                                         tokenize="unicode61")
        ids = [r[0] for r in conn.execute("SELECT DISTINCT record_id FROM events")]
        head = conn.execute("SELECT MAX(seq) FROM events").fetchone()[0]
        searchindex.update(conn, [searchindex.document(record_state(conn, rid)) for rid in ids],
                           head, False)
        made = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?",
                            (searchindex.FTS,)).fetchone()
        assert searchindex.usable(conn)
    assert [hit["record_id"] for hit in day.json("search", "Fabricated")] == ["SRCH:7BAC9D19"]
    with sqlite3.connect(day.db) as conn:
        assert conn.execute("SELECT sql FROM sqlite_master WHERE name = ?",
                            (searchindex.FTS,)).fetchone() == made  # not made anew
    assert day("audit").exit_code == 0


def test_a_refused_notice_is_named_as_its_sender_knows_it(day: Cli) -> None:
    """`ledger correct` without `--notice-id` generates one from the content; a refusal named
    it (`Error: notice N-9b290aed434bba05: a reason is required for kind retraction`), an id the
    editor never saw. It names the notice by kind and record then, and by the id given
    otherwise; nothing is written either way."""
    before = day.snapshot()
    for args, named in (([], "the new retraction of SRCH:03BE3A05"), (["--notice-id", "R9"],
                                                                       "notice R9")):
        refused = day("correct", "SRCH:03BE3A05", "--kind", "retraction", *args)
        assert refused.exit_code == 2
        assert refused.stderr == f"Error: {named}: a reason is required for kind retraction\n"
        lifted = day("correct", "SRCH:03BE3A05", "--kind", "reinstatement", "--reason", "r", *args)
        assert lifted.stderr.startswith(f"Error: {named.replace('retraction', 'reinstatement')}: "
                                        "a reinstatement must name the notice it lifts")
    assert day.snapshot() == before


def test_a_partial_retraction_that_names_no_claims_is_warned_of(day: Cli) -> None:
    """A partial retraction says part of the record is retracted; without claim_ids no reader
    can tell which part. It is appended (the contract leaves claim_ids optional) and warned of."""
    bare = day("correct", "SRCH:03BE3A05", "--kind", "partial_retraction", "--reason", "r")
    assert bare.exit_code == 0 and bare.stderr == (
        "Warning: this partial retraction of SRCH:03BE3A05 names no claims (`--claim-id`; "
        "`claim_ids` in a notice file): readers will not see which claims it retracts\n")
    named = day("correct", "SRCH:03BE3A05", "--kind", "partial_retraction", "--reason", "r2",
                "--claim-id", "C3")
    assert named.exit_code == 0 and named.stderr == ""
