"""Removal that removes (format v2): a purge withholds a record's earlier content, no byte of it
stays in the file, every hash, checkpoint and proof stays valid, and a member deleted without a
purge is caught."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest
import rfc8785

from ledger.api import Ledger
from ledger.core.checkpoint import open_checkpoint
from ledger.core.merkle import leaf_hash
from ledger.core.merkle_check import check_consistency, check_inclusion
from ledger.core.note import parse_verifier
from tests import attacker
from tests.conftest import Cli, clock, manifest, provenance
from tests.test_proofs_cli import independent_root, leaf_bytes

RID, OTHER = "SRCH:03BE3A05", "SRCH:00000002"
LONG = "Defamatory passage " + "lorem ipsum dolor " * 400  # several pages: overflow pages too
SECRETS = {  # every value the purge must take out of the file, by where it was written
    "research_question": "Which libel about Dr Example is true?",
    "abstract": LONG,
    "note": "Contains the private address 12 Secret Lane",
    "claim_record_source": "leaked-dataset-v3",
    "review_method": "Peer review by Jane Roe (confidential)",
    "report_uri": "https://example.org/private/report-77.pdf",
    "correction_value": "Corrected text naming Dr Example again",
    "eoc_reason": "Concern raised by whistleblower W. Smith",
    "gate_reason": "Reproduced with the confidential dataset X-19",
    "evaluator": "Lab of Dr Confidential",
    "v2_abstract": "Second version abstract with the libel restated",
}


def _run(cli: Cli, *args: str) -> Any:
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def history(cli: Cli, tmp_path: Path) -> dict[str, Any]:
    """A record with two versions, provenance, a correction, an expression of concern and two
    gate evaluations, another record beside it, and a checkpoint signed before any purge."""
    s = SECRETS
    _run(cli, "publish", cli.file(manifest(RID, research_question=s["research_question"],
                                           abstract=s["abstract"], note=s["note"],
                                           claim_record_source=s["claim_record_source"])))
    _run(cli, "publish", cli.file(manifest(OTHER)))
    _run(cli, "provenance", cli.file(provenance(
        RID, review_method=s["review_method"], claim_lineage=3,
        report_artifact={"available": True, "uri": s["report_uri"]})))
    _run(cli, "publish", cli.file(manifest(RID, title="Second version", abstract=s["v2_abstract"],
                                           research_question=s["research_question"],
                                           note=s["note"])))
    _run(cli, "correct", RID, "--kind", "correction", "--reason", "fix", "--notice-id", "C1",
         "--set", f"/abstract={s['correction_value']}")
    _run(cli, "correct", RID, "--kind", "expression_of_concern", "--reason", s["eoc_reason"],
         "--notice-id", "EOC1")
    _run(cli, "gate", RID, "--gate", "2", "--status", "FAILED", "--reason", s["gate_reason"],
         "--evaluator", s["evaluator"])
    _run(cli, "gate", RID, "--gate", "3", "--status", "UNVERIFIED", "--reason", "pending")
    key = tmp_path / "pub.key"
    vkey = _run(cli, "keygen", "example.org/ledger", "-o", str(key)).stdout.strip()
    old = tmp_path / "cp-before.txt"
    _run(cli, "checkpoint", "--key", str(key), "-o", str(old))
    old_bundle = tmp_path / "before.bundle.json"
    _run(cli, "bundle", RID, "--checkpoint", str(old), "-o", str(old_bundle))
    return {"key": key, "vkey": vkey, "old": old, "size": 8, "log": cli.json("log"),
            "old_bundle": old_bundle}


def purge(cli: Cli, *extra: str) -> Any:
    return cli.json("correct", RID, "--kind", "removal", "--reason", "Court order 2026/114",
                    "--notice-id", "R1", "--purge", *extra)


def raw_bytes(db: Path) -> bytes:
    """Everything SQLite keeps for the ledger on disk: the file, its WAL and shared memory."""
    return b"".join(p.read_bytes() for p in sorted(db.parent.glob(db.name + "*")))


def test_a_purge_leaves_no_byte_of_the_removed_content(cli: Cli, history: dict[str, Any]) -> None:
    before = raw_bytes(cli.db)
    # A long value spans overflow pages: look for pieces of it, each shorter than a page's payload.
    needles = [v[i:i + 40].encode() for v in SECRETS.values() for i in range(0, len(v), 997)]
    assert all(n in before for n in needles)  # the content was there (or the test is void)
    reader = sqlite3.connect(cli.db)  # another connection holds the file open, as a server would
    done = purge(cli)
    assert done["appended"] and done["purge"]["type"] == "record.purged" and done["wal_truncated"]
    assert {e["seq"] for e in done["withheld"]} == {1, 3, 4, 5, 6, 7, 8}
    withheld = {(w["seq"], m) for w in done["withheld"] for m in w["members"]}
    salts = [salt for e in history["log"] for name, salt in e["salts"].items()
             if (e["seq"], name) in withheld]
    assert len(salts) == len(withheld) == 24
    raw = raw_bytes(cli.db)
    for needle in needles:
        assert needle not in raw, needle[:40]
    for salt in salts:  # the salt goes with the value: a short value cannot be confirmed
        assert salt.encode() not in raw
    assert reader.execute("PRAGMA freelist_count").fetchone()[0] == 0
    reader.close()
    assert (cli.db.parent / (cli.db.name + "-wal")).stat().st_size == 0 if \
        (cli.db.parent / (cli.db.name + "-wal")).exists() else True
    # the other record is untouched
    assert cli.json("show", OTHER)["manifest"]["abstract"] == "Abstract: a synthesis."


def _tlog_proof_holds(text: str, vkey: str) -> bool:
    """Check a c2sp.org/tlog-proof@v1 text from the spec alone: its checkpoint's signature, and
    the inclusion of the leaf its `extra` line carries."""
    head, _, note = text.partition("\n\n")
    lines = head.split("\n")
    checkpoint = open_checkpoint(note, parse_verifier(vkey))
    leaf = leaf_hash(base64.b64decode(lines[1].removeprefix("extra ")))
    check_inclusion(int(lines[2].removeprefix("index ")), checkpoint.size, leaf,
                    [base64.b64decode(h) for h in lines[3:]], checkpoint.root)
    return True


def test_everything_still_verifies_and_says_what_is_withheld(cli: Cli, history: dict[str, Any]) -> None:
    before = cli("prove", "1", "--format", "tlog-proof", "--checkpoint", str(history["old"])).stdout
    purge(cli)
    after = cli("prove", "1", "--format", "tlog-proof", "--checkpoint", str(history["old"])).stdout
    assert before == after and _tlog_proof_holds(after, history["vkey"])
    report = cli.json("verify")
    assert report["ok"] is True and report["events"] == 10
    withheld = {(w["seq"], w["member"]) for w in report["withheld"]}
    assert (1, "abstract") in withheld and (5, "changes") in withheld and (7, "evaluator") in withheld
    assert all(w["notice_id"] == "R1" and w["notice_seq"] == 9 for w in report["withheld"])
    assert "Withheld:" in cli("verify").stdout and "notice R1 (seq 9)" in cli("verify").stdout
    assert cli("audit").exit_code == 0
    # the old checkpoint: verify --checkpoint, inclusion and consistency proofs, independently
    note, verifier = history["old"].read_text(), parse_verifier(history["vkey"])
    checkpoint = open_checkpoint(note, verifier)
    assert cli("verify", "--checkpoint", str(history["old"]), "--vkey", history["vkey"]).exit_code == 0
    log = cli.json("log")
    assert independent_root(log[:8]) == checkpoint.root  # leaves unchanged by the purge
    assert independent_root(log) == base64.b64decode(report["root"])
    for seq in range(1, 9):
        p = cli.json("prove", str(seq), "--size", "8")
        leaf = leaf_hash(leaf_bytes(log[seq - 1]))
        check_inclusion(seq - 1, 8, leaf, [base64.b64decode(h) for h in p["proof"]], checkpoint.root)
    c = cli.json("consistency", "8")
    check_consistency(8, 10, checkpoint.root, base64.b64decode(c["root"]),
                      [base64.b64decode(h) for h in c["proof"]])
    # a checkpoint after the purge, and bundles against both checkpoints
    new = history["old"].parent / "cp-after.txt"
    _run(cli, "checkpoint", "--key", str(history["key"]), "-o", str(new))
    for cp in (history["old"], new):
        out = history["old"].parent / f"{cp.stem}.bundle.json"
        _run(cli, "bundle", RID, "--checkpoint", str(cp), "-o", str(out))
        assert LONG.encode() not in out.read_bytes()
        result = cli("verify-bundle", str(out), "--vkey", history["vkey"])
        assert result.exit_code == 0, result.output
    # a bundle written before the purge stays valid (it is a file the reader kept)
    assert cli("verify-bundle", str(history["old_bundle"]), "--vkey", history["vkey"]).exit_code == 0


def test_readers_show_a_withheld_member_as_withheld(cli: Cli, history: dict[str, Any]) -> None:
    purge(cli)
    shown = cli.json("show", RID)
    assert shown["status"] == "REMOVED"
    assert shown["manifest"]["title"] == "Second version"  # kept: the record stays identifiable
    marker = shown["manifest"]["abstract"]["withheld"]
    removal = next(n for n in shown["notices"] if n["notice_id"] == "R1")
    assert marker == {"notice_id": "R1", "notice_seq": 9, "purge_seq": 10,
                      "effective_date": removal["effective_date"], "reason": "Court order 2026/114"}
    assert shown["verification_level"] == "WITHHELD" and shown["quality_tier"] == "WITHHELD"
    assert shown["provenance_level"] == "WITHHELD"  # external record not registered, lineage gone
    assert shown["gates"][0]["reason"]["withheld"]["notice_id"] == "R1"
    eoc = next(n for n in shown["notices"] if n["notice_id"] == "EOC1")
    assert eoc["reason"]["withheld"]["notice_id"] == "R1" and eoc["kind"] == "expression_of_concern"
    assert removal["reason"] == "Court order 2026/114"  # never purged
    for args in (("show", RID), ("render", RID), ("render", RID, "--format", "html"),
                 ("render", RID, "--format", "md"), ("history", RID), ("export",),
                 ("export", "--format", "csv"), ("export", "--as-of", "8")):
        result = cli(*args)
        assert result.exit_code == 0, (args, result.output)
        assert LONG[:60] not in result.output
    assert "withheld by removal notice R1 (seq 9)" in cli("render", RID).output
    assert "record.purged" in cli("history", RID).output

    assert cli("rebuild").exit_code == 0 and cli("audit").exit_code == 0


def test_purge_field_narrows_and_a_second_purge_takes_the_rest(cli: Cli, history: dict[str, Any]) -> None:
    done = purge(cli, "--purge-field", "abstract", "--purge-field", "reason")
    members = {(w["seq"], m) for w in done["withheld"] for m in w["members"]}
    # The correction's changes set the abstract: they are its content too, withheld with it.
    assert members == {(1, "abstract"), (4, "abstract"), (5, "changes"), (5, "reason"),
                       (6, "reason"), (7, "reason"), (8, "reason")}
    assert done["purge"]["payload"]["fields"] == ["abstract", "reason"]
    shown = cli.json("show", RID)
    assert shown["manifest"]["research_question"] == SECRETS["research_question"]
    assert "withheld" in shown["manifest"]["abstract"]
    assert SECRETS["correction_value"].encode() not in raw_bytes(cli.db)
    again = purge(cli)  # the same notice re-sent: a no-op for it, the rest purged now
    assert again["appended"] is False and again["purge"]["seq"] == 11
    assert SECRETS["research_question"].encode() not in raw_bytes(cli.db)
    assert cli.json("verify")["ok"] and cli("audit").exit_code == 0
    nothing = cli("correct", RID, "--kind", "removal", "--reason", "Court order 2026/114",
                  "--notice-id", "R1", "--purge")
    assert nothing.exit_code == 2 and "nothing to purge" in nothing.stderr


@pytest.mark.parametrize(("args", "says"), [
    (("--kind", "retraction", "--reason", "x", "--purge"), "--purge goes with --kind removal"),
    (("--kind", "removal", "--reason", "x", "--purge", "--purge-field", "title"), "never withheld"),
    (("--kind", "removal", "--reason", "x", "--purge", "--purge-field", "colour"), "no contract"),
    (("--kind", "removal", "--reason", "x", "--purge-field", "abstract"), "goes with --purge"),
])
def test_refused_purges_write_nothing(cli: Cli, history: dict[str, Any], args: tuple[str, ...],
                                      says: str) -> None:
    before = cli.snapshot()
    result = cli("correct", RID, *args)
    assert result.exit_code == 2 and result.stderr.startswith("Error: ") and says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert cli.snapshot() == before


def test_a_v1_ledger_cannot_purge_and_keeps_working(tmp_path: Path) -> None:
    db = tmp_path / "v1.db"
    Ledger.create(db, clock, event_format=1).close()
    cli = Cli(db, tmp_path)
    _run(cli, "publish", cli.file(manifest(RID)))
    _run(cli, "correct", RID, "--kind", "correction", "--reason", "x", "--set", "/review_score=8")
    log = cli.json("log")
    assert "salts" not in log[0] and independent_root(log)  # v1 envelopes, v1 hashes
    before = cli.snapshot()
    result = cli("correct", RID, "--kind", "removal", "--reason", "x", "--purge")
    assert result.exit_code == 2 and "format v1" in result.stderr and cli.snapshot() == before
    assert cli("correct", RID, "--kind", "removal", "--reason", "x").exit_code == 0
    assert cli.json("verify")["ok"] and cli("audit").exit_code == 0
    assert cli.json("show", RID)["status"] == "REMOVED"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1


# -- the attacker, with plain sqlite3: members deleted or replaced without a purge ------------

def _tamper(db: Path, seq: int, edit: Any) -> None:
    with attacker.unguarded(db) as conn:
        payload, salts = (json.loads(v) for v in conn.execute(
            "SELECT payload, salts FROM events WHERE seq = ?", (seq,)).fetchone())
        edit(payload, salts)
        conn.execute("UPDATE events SET payload = ?, salts = ? WHERE seq = ?",
                     (rfc8785.dumps(payload).decode(), rfc8785.dumps(salts).decode(), seq))


def _fails_at(cli: Cli, seq: int, says: str) -> None:
    result = cli("verify", "--json")
    report = orjson.loads(result.stdout)
    assert result.exit_code == 1 and report["first_bad_seq"] == seq and says in report["reason"], report
    assert cli("audit").exit_code == 1


def test_a_member_deleted_without_a_removal_is_caught(cli: Cli, history: dict[str, Any]) -> None:
    def delete(payload: dict[str, Any], salts: dict[str, Any]) -> None:
        del payload["abstract"], salts["abstract"]
    _tamper(cli.db, 4, delete)
    _fails_at(cli, 4, "payload member 'abstract' is missing")


def test_a_forged_marker_without_a_purge_is_caught(cli: Cli, history: dict[str, Any]) -> None:
    def withhold(payload: dict[str, Any], salts: dict[str, Any]) -> None:
        payload["reason"] = {"withheld": {"notice_id": "R1", "notice_seq": 9, "purge_seq": 10,
                                          "effective_date": "2026-11-25", "reason": "x"}}
        del salts["reason"]
    _tamper(cli.db, 6, withhold)  # hide the expression of concern's reason
    _fails_at(cli, 6, "no removal notice's purge covers it")


def test_a_marker_copied_to_a_member_the_purge_left_is_caught(cli: Cli, history: dict[str, Any]) -> None:
    purge(cli, "--purge-field", "abstract")
    marker = _stored_payload(cli.db, 1)["abstract"]

    def withhold(payload: dict[str, Any], salts: dict[str, Any]) -> None:
        payload["note"] = marker  # the purge withheld only the abstracts
        del salts["note"]
    _tamper(cli.db, 4, withhold)
    _fails_at(cli, 4, "'note' is withheld but no removal notice's purge covers it")


def test_a_purged_member_of_another_record_is_caught(cli: Cli, history: dict[str, Any]) -> None:
    purge(cli)
    marker = _stored_payload(cli.db, 1)["abstract"]

    def withhold(payload: dict[str, Any], salts: dict[str, Any]) -> None:
        payload["abstract"] = marker
        del salts["abstract"]
    _tamper(cli.db, 2, withhold)  # SRCH:00000002 has no removal
    _fails_at(cli, 2, "no removal notice's purge covers it")


def test_a_restored_value_with_a_guessed_salt_is_caught(cli: Cli, history: dict[str, Any]) -> None:
    purge(cli)

    def restore(payload: dict[str, Any], salts: dict[str, Any]) -> None:
        payload["note"], salts["note"] = "A different note", "00" * 16
    _tamper(cli.db, 1, restore)
    _fails_at(cli, 1, "'note' does not match its commitment")


def _stored_payload(db: Path, seq: int) -> dict[str, Any]:
    with sqlite3.connect(db) as conn:
        payload: dict[str, Any] = json.loads(
            conn.execute("SELECT payload FROM events WHERE seq = ?", (seq,)).fetchone()[0])
    return payload


def test_the_update_trigger_refuses_a_payload_change_without_a_purge(cli: Cli,
                                                                      history: dict[str, Any]) -> None:
    with sqlite3.connect(cli.db) as conn, pytest.raises(sqlite3.IntegrityError, match="only a purge"):
        conn.execute("UPDATE events SET payload = '{}' WHERE seq = 1")


def test_a_title_set_by_a_purged_correction_is_withheld_everywhere(cli: Cli, tmp_path: Path) -> None:
    """The current manifest cannot keep a title whose correction's changes are gone: it shows
    as withheld (the versions keep their own titles), and every reader copes."""
    _run(cli, "publish", cli.file(manifest(RID)))
    _run(cli, "correct", RID, "--kind", "correction", "--reason", "retitled",
         "--set", "/title=A title naming Dr Example", "--set", "/review_score=4.0",
         "--set", "/quality/tier=Quarantine candidate")
    done = purge(cli)
    assert {(w["seq"], tuple(w["members"])) for w in done["withheld"]} >= {
        (2, ("changes", "reason"))}
    assert done["purge"]["payload"]["purged"][1]["changed"] == ["quality", "review_score", "title"]
    shown = cli.json("show", RID)
    assert shown["manifest"]["title"]["withheld"]["notice_id"] == "R1"
    assert "changed" not in shown["manifest"]["title"]["withheld"]
    assert shown["quality_tier"] == "WITHHELD"
    for args in (("show", RID), ("render", RID, "--format", "html"), ("history", RID),
                 ("export", "--format", "csv"), ("site", str(tmp_path / "site")), ("audit",)):
        result = cli(*args)
        assert result.exit_code == 0, (args, result.output)
    assert "Dr Example" not in (tmp_path / "site" / "index.html").read_text()
    assert b"Dr Example" not in raw_bytes(cli.db)


def test_commitments_with_a_repeated_name_are_caught(cli: Cli) -> None:
    """A history rewritten (hash and tree recomputed over the exact stored bytes) whose last
    event's commitments name a member twice: readers that keep the first and readers that keep
    the last would bind the payload to different commitments. verify refuses the form itself."""
    _run(cli, "publish", cli.file(manifest(RID)))
    _run(cli, "correct", RID, "--kind", "expression_of_concern", "--reason", "doubt")
    with attacker.unguarded(cli.db) as conn:
        seq, commitments = conn.execute("SELECT seq, commitments FROM events ORDER BY seq DESC "
                                        "LIMIT 1").fetchone()
        doubled = '{"reason":"' + "0" * 64 + '",' + commitments[1:]  # the real one comes last
        row = dict(zip(attacker.V2_COLUMNS, conn.execute(
            "SELECT * FROM events WHERE seq = ?", (seq,)).fetchone(), strict=True))
        body = ("{" + ",".join(
            f"{rfc8785.dumps(k).decode()}:{doubled if k == 'commitments' else rfc8785.dumps(row[k]).decode()}"
            for k in attacker.V2_HASHED) + "}").encode()
        digest = hashlib.sha256(attacker.EVENT_PREFIX_V2 + body).hexdigest()
        conn.execute("UPDATE events SET commitments = ?, hash = ? WHERE seq = ?", (doubled, digest, seq))
        leaf = hashlib.sha256(b"\x00" + body).digest()
        first = conn.execute("SELECT hash FROM tree_hashes WHERE pos = 0").fetchone()[0]
        conn.execute("DELETE FROM tree_hashes WHERE pos >= 1")  # a tree of two leaves: 3 hashes
        conn.execute("INSERT INTO tree_hashes VALUES (1, ?), (2, ?)",
                     (leaf, hashlib.sha256(b"\x01" + first + leaf).digest()))
    _fails_at(cli, seq, "commitments are not in canonical form")


@pytest.mark.parametrize(("column", "rewrite"), [
    # a repeated member before the real one: SQLite's json_extract reads the first, orjson the last
    ("payload", lambda text: '{"title":"Forged title",' + text[1:]),
    ("payload", lambda text: text.replace('":', '": ')),  # the same values, other bytes
    ("payload", lambda text: json.dumps(dict(reversed(json.loads(text).items())),
                                        separators=(",", ":"), ensure_ascii=False)),
    ("salts", lambda text: '{"title":"' + "0" * 32 + '",' + text[1:]),
], ids=["a repeated member", "spaces", "members reordered", "a repeated salt"])
def test_a_payload_text_with_a_second_reading_is_caught(cli: Cli, column: str,
                                                        rewrite: Any) -> None:
    """The stored payload and salts are not hashed as text (the envelope commits to each member):
    their text must be exactly the canonical text of the members checked, or readers of the same
    row disagree — here `sqlite3`/Datasette would show the forged title and `show` the real one."""
    _run(cli, "publish", cli.file(manifest(RID)))
    with attacker.unguarded(cli.db) as conn:
        text = conn.execute(f"SELECT {column} FROM events WHERE seq = 1").fetchone()[0]
        conn.execute(f"UPDATE events SET {column} = ? WHERE seq = 1", (rewrite(text),))
        if column == "payload" and "Forged" in rewrite(text):
            assert conn.execute("SELECT json_extract(payload, '$.title') FROM events "
                                "WHERE seq = 1").fetchone()[0] == "Forged title"
    _fails_at(cli, 1, f"the stored {column} text is not in canonical form")


@pytest.mark.parametrize("rewrite", [str.upper, lambda salt: salt[:16] + "  " + salt[16:]],
                         ids=["upper case", "spaces"])
def test_a_salt_not_in_lower_case_hex_is_caught(cli: Cli, rewrite: Any) -> None:
    """A salt is 16 bytes as 32 lower-case hex digits. Python's bytes.fromhex also reads upper
    case and spaces, so the same bytes could be stored as other text — which the browser's
    verifier refuses: verify refuses it too, or the two would disagree about one file."""
    _run(cli, "publish", cli.file(manifest(RID)))
    with attacker.unguarded(cli.db) as conn:
        salts = json.loads(conn.execute("SELECT salts FROM events WHERE seq = 1").fetchone()[0])
        salts["title"] = rewrite(salts["title"])
        conn.execute("UPDATE events SET salts = ? WHERE seq = 1",
                     (rfc8785.dumps(salts).decode(),))
    _fails_at(cli, 1, "payload member 'title' does not match its commitment")
    report = orjson.loads(cli("verify", "--json").stdout)
    assert "(a malformed salt)" in report["reason"], report


def test_a_member_edited_to_a_number_json_cannot_write_canonically_is_caught(cli: Cli) -> None:
    """An integer beyond ±(2**53 − 1) has no canonical form: the ledger never writes one, so one
    in a stored member was put there behind its back — a finding at that seq (exit 1), not a
    refused input (exit 2)."""
    _run(cli, "publish", cli.file(manifest(RID)))
    with attacker.unguarded(cli.db) as conn:
        conn.execute("UPDATE events SET payload = replace(payload, '\"source_grounded_claims\":',"
                     " '\"source_grounded_claims\":900719925474099') WHERE seq = 1")
    _fails_at(cli, 1, "payload member 'source_grounded_claims' does not match its commitment")
    report = orjson.loads(cli("verify", "--json").stdout)
    assert "no canonical form" in report["reason"], report


def test_a_correction_of_a_purged_version_says_to_publish_one_first(cli: Cli,
                                                                   history: dict[str, Any]) -> None:
    """After a purge (and a reinstatement), a correction of the purged version was refused as
    `the corrected manifest would be invalid: research_question: Input should be a valid
    string; …`, naming fields the editor never touched. It is refused naming the withheld
    members, their removal and what to do; once a new version is published, it applies."""
    purge(cli)
    cli("correct", RID, "--kind", "reinstatement", "--reason", "reversed", "--lifts", "R1")
    refused = cli("correct", RID, "--kind", "correction", "--reason", "fix",
                  "--set", "/review_score=5")
    assert refused.exit_code == 2 and refused.stderr.count("\n") == 1
    assert "version 2 of SRCH:03BE3A05 has members withheld by the purge of removal notice R1 (" \
        in refused.stderr and "publish a new version with its content first" in refused.stderr
    assert "Input should be" not in refused.stderr
    _run(cli, "publish", cli.file(manifest(RID, title="Third version")))
    compared = cli("diff", RID, "2", "3").output  # as `show` says it, not the marker's JSON
    assert "~ /abstract: [withheld by removal notice R1 (seq 9) of " in compared
    assert '{"withheld"' not in compared
    _run(cli, "correct", RID, "--kind", "correction", "--reason", "fix", "--set",
         "/review_score=5")
    assert cli.json("show", RID)["manifest"]["review_score"] == 5
    assert cli("audit").exit_code == 0


def test_a_purge_whose_file_cannot_be_rewritten_says_so_and_is_finished_by_a_re_run(
        cli: Cli, history: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Another writer holding the ledger past the busy timeout (or a disk without room for the
    file's copy) when a purge, just committed, rewrites the file: the rewrite failed with only
    `the ledger stayed busy … (another writer)`, and the same command run again said `nothing to
    purge` and left copies of the purged values in the file. The failure now says what is
    committed and how to finish, and the re-run rewrites the file: no byte of them remains."""
    import sqlite3

    from ledger.storage import store

    monkeypatch.setattr(store, "BUSY_TIMEOUT_S", 0.5)
    vacuum = store.vacuum

    def contended(conn: sqlite3.Connection) -> None:  # another writer takes the lock first
        other = sqlite3.connect(cli.db, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            vacuum(conn)
        finally:
            other.execute("ROLLBACK")
            other.close()

    monkeypatch.setattr(store, "vacuum", contended)
    cut = cli("correct", RID, "--kind", "removal", "--reason", "Court order 2026/114",
              "--notice-id", "R1", "--purge")
    assert cut.exit_code == 2 and cut.stderr.count("\n") == 1, cut.output
    assert cut.stderr.startswith("Error: the removal R1 (seq 9) and its purge (seq 10) of "
                                 "SRCH:03BE3A05 are committed, but the ledger file could not be "
                                 "rewritten (")
    assert "run the same command again once it can be" in cut.stderr
    rewritten: list[int] = []
    monkeypatch.setattr(store, "vacuum", lambda conn: (rewritten.append(1), vacuum(conn)))
    assert set(cli.json("show", RID)["manifest"]["abstract"]) == {"withheld"}
    again = cli("correct", RID, "--kind", "removal", "--reason", "Court order 2026/114",
                "--notice-id", "R1", "--purge")
    assert again.exit_code == 2 and "nothing to purge" in again.stderr
    assert "the file was rewritten again: no copy of what it withheld remains" in again.stderr
    assert rewritten == [1]  # before, a re-run found nothing to purge and rewrote nothing
    assert not [k for k, v in SECRETS.items() if v.encode() in raw_bytes(cli.db)]
    assert cli.json("verify")["ok"] and cli("audit").exit_code == 0
