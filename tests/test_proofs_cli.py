"""Keys, checkpoints, proofs and bundles through the real CLI; truncation and rewrite caught."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.api import Ledger
from ledger.core.checkpoint import open_checkpoint
from ledger.core.events import make_event
from ledger.core.merkle import EMPTY_ROOT, leaf_hash, node_hash
from ledger.core.merkle_check import check_consistency, check_inclusion
from ledger.core.note import parse_verifier
from ledger.errors import CorruptEvent, LedgerError
from ledger.ops.proofs import Prover
from ledger.storage import store
from tests import attacker
from tests.conftest import Cli, manifest
from tests.test_tamper import attack, rewrite_tree

RID = "SRCH:03BE3A05"


@pytest.fixture
def signed(cli: Cli, published: Callable[..., str], tmp_path: Path) -> dict[str, Any]:
    """A ledger of 5 events with a key pair and a checkpoint at size 5."""
    published()
    published("SRCH:00000002")
    cli("correct", RID, "--kind", "expression_of_concern", "--reason", "doubt", "--notice-id", "E1")
    cli("gate", RID, "--gate", "2", "--status", "FAILED", "--reason", "no repro")
    cli("correct", "SRCH:00000002", "--kind", "addendum", "--notice-id", "A1")
    key = tmp_path / "pub.key"
    result = cli("keygen", "example.org/ledger", "-o", str(key))
    assert result.exit_code == 0
    vkey = result.stdout.strip()
    checkpoint = tmp_path / "cp5.txt"
    assert cli("checkpoint", "--key", str(key), "-o", str(checkpoint)).exit_code == 0
    return {"key": key, "vkey": vkey, "checkpoint": checkpoint}


def independent_root(events: list[dict[str, Any]]) -> bytes:
    """RFC 6962 root from `ledger log --json`, using only rfc8785 and hashlib."""
    def mth(leaves: list[bytes]) -> bytes:
        if not leaves:
            return EMPTY_ROOT
        if len(leaves) == 1:
            return leaves[0]
        k = 1 << ((len(leaves) - 1).bit_length() - 1)
        return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()
    return mth([hashlib.sha256(b"\x00" + leaf_bytes(e)).digest() for e in events])


def leaf_bytes(e: dict[str, Any]) -> bytes:
    """Return the Merkle leaf bytes of an envelope of `ledger log --json`, checking its hash and
    (format v2) every member's commitment, from docs/format.md alone."""
    if "commitments" not in e:
        body = rfc8785.dumps({k: v for k, v in e.items() if k != "hash"})
        assert hashlib.sha256(b"provenance-ledger/event/v1\n" + body).hexdigest() == e["hash"]
        return body
    assert set(e["payload"]) == set(e["commitments"])
    for name, value in e["payload"].items():
        if name not in e["salts"]:  # withheld by a purge: a marker, no salt, nothing to hash
            assert set(value) == {"withheld"}
            continue
        salt = bytes.fromhex(e["salts"][name])
        member = (b"provenance-ledger/member/v2\n" + salt + rfc8785.dumps(name)
                  + rfc8785.dumps(value))
        assert hashlib.sha256(member).hexdigest() == e["commitments"][name]
    body = rfc8785.dumps({k: e[k] for k in ("actor", "commitments", "contract", "prev_hash",
                                             "record_id", "recorded_at", "seq", "type")})
    assert hashlib.sha256(b"provenance-ledger/event/v2\n" + body).hexdigest() == e["hash"]
    return body


def test_keygen_writes_0600_and_prints_the_verifier(signed: dict[str, Any]) -> None:
    assert os.stat(signed["key"]).st_mode & 0o777 == 0o600
    assert signed["key"].read_text().startswith("PRIVATE+KEY+example.org/ledger+")
    verifier = parse_verifier(signed["vkey"])
    assert verifier.name == "example.org/ledger"


@pytest.mark.parametrize(("args", "said"), [
    (("checkpoint", "--key", "{key}"), "the checkpoint of size 5"),
    (("bundle", RID, "--checkpoint", "{checkpoint}"),
     f"the bundle of {RID} (3 event(s), checkpoint of size 5)"),
    (("prove", "2", "--checkpoint", "{checkpoint}", "--format", "tlog-proof"),
     "the inclusion proof of seq 2 in the tree of size 5 (tlog-proof)"),
    (("prove", "2", "--json"), "the inclusion proof of seq 2 in the tree of size 5 (json)"),
    (("feed",), "an Atom feed of 2 notice(s)"),
    (("metadata",), "Datasette's metadata"),
    (("render", RID.lower(), "--format", "md"), f"the md page of {RID}"),
])
def test_a_document_written_to_a_file_is_named_on_stderr(
        cli: Cli, signed: dict[str, Any], tmp_path: Path, args: tuple[str, ...], said: str) -> None:
    """`-o FILE` writes the document and says, on stderr only, what went where."""
    out = tmp_path / "out.doc"
    result = cli(*(a.format(**signed) for a in args), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines()[0] == f"Wrote {said} to {out}"
    printed = cli(*(a.format(**signed) for a in args))
    if args[0] != "checkpoint":  # a second checkpoint of the same size says it was signed before
        assert out.read_text() == printed.stdout
        assert printed.stderr == ""


def test_checkpoint_matches_an_independent_root(cli: Cli, signed: dict[str, Any]) -> None:
    note = signed["checkpoint"].read_text()
    checkpoint = open_checkpoint(note, parse_verifier(signed["vkey"]))
    assert checkpoint.size == 5
    assert checkpoint.root == independent_root(cli.json("log"))
    assert base64.b64decode(cli.json("verify")["root"]) == checkpoint.root
    with sqlite3.connect(cli.db) as conn:
        assert conn.execute("SELECT size, note FROM checkpoints").fetchall() == [(5, note)]
    again = cli("checkpoint", "--key", str(signed["key"]))
    assert again.exit_code == 0 and again.stdout == note and "already signed" in again.stderr


def test_proofs_verify_against_the_checkpoint(cli: Cli, signed: dict[str, Any]) -> None:
    cli("correct", RID, "--kind", "reinstatement", "--reason", "ok", "--lifts", "E1")
    checkpoint = open_checkpoint(signed["checkpoint"].read_text(), parse_verifier(signed["vkey"]))
    events = cli.json("log")
    for seq in range(1, 6):
        p = cli.json("prove", str(seq), "--size", "5")
        assert (p["index"], p["size"]) == (seq - 1, 5)
        leaf = leaf_hash(leaf_bytes(events[seq - 1]))
        assert base64.b64decode(p["leaf_hash"]) == leaf
        check_inclusion(seq - 1, 5, leaf, [base64.b64decode(h) for h in p["proof"]], checkpoint.root)
    c = cli.json("consistency", "5")
    assert (c["old_size"], c["size"]) == (5, 6)
    check_consistency(5, 6, checkpoint.root, base64.b64decode(c["root"]),
                      [base64.b64decode(h) for h in c["proof"]])
    assert cli("prove", "7").exit_code == 2
    assert cli("consistency", "7").exit_code == 2


def test_tlog_proof_format(cli: Cli, signed: dict[str, Any]) -> None:
    text = cli("prove", "3", "--format", "tlog-proof", "--checkpoint", str(signed["checkpoint"])).stdout
    head, _, note = text.partition("\n\n")
    lines = head.split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1" and lines[1].startswith("extra ")
    assert lines[2] == "index 2"
    checkpoint = open_checkpoint(note, parse_verifier(signed["vkey"]))
    leaf = leaf_hash(base64.b64decode(lines[1].removeprefix("extra ")))
    check_inclusion(2, checkpoint.size, leaf, [base64.b64decode(h) for h in lines[3:]], checkpoint.root)
    # -o FILE without --format: its name says which (`-o seq3.json` wrote the text form)
    out = cli.db.parent
    assert cli("prove", "3", "-o", str(out / "p.tlog-proof"), "--checkpoint",
               str(signed["checkpoint"])).exit_code == 0
    assert (out / "p.tlog-proof").read_text() == text
    assert cli("prove", "3", "-o", str(out / "p.json")).exit_code == 0
    assert (out / "p.json").read_text() == cli("prove", "3", "--json").stdout
    assert cli("prove", "3", "-o", str(out / "p.txt")).exit_code == 0
    assert (out / "p.txt").read_text() == cli("prove", "3").stdout
    refused = cli("prove", "3", "-o", str(out / "q.tlog-proof"))
    assert refused.exit_code == 2 and "needs --checkpoint FILE" in refused.stderr
    assert not (out / "q.tlog-proof").exists()


def test_verify_against_checkpoint(cli: Cli, signed: dict[str, Any]) -> None:
    args = ("verify", "--checkpoint", str(signed["checkpoint"]), "--vkey", signed["vkey"])
    cli("correct", RID, "--kind", "clarification", "--notice-id", "C1")
    result = cli(*args)
    assert result.exit_code == 0 and "extends the checkpoint of size 5" in result.stdout
    report = cli.json(*args)
    assert report["ok"] and report["checkpoint"]["size"] == 5


def test_a_truncated_tail_is_caught(cli: Cli, signed: dict[str, Any]) -> None:
    attack(cli.db, "DELETE FROM events WHERE seq >= 4", "DROP TRIGGER tree_append_only_delete",
           "DELETE FROM tree_hashes WHERE pos >= 4", "UPDATE view_meta SET value = '3' "
           "WHERE key = 'applied_seq'")
    assert cli("verify").exit_code == 0  # the chain alone cannot see it
    result = cli("verify", "--checkpoint", str(signed["checkpoint"]), "--vkey", signed["vkey"])
    assert result.exit_code == 1
    assert "has 3 events but the checkpoint" in result.stderr and "truncated" in result.stderr


def test_audit_checks_the_kept_checkpoint_as_verify_does(cli: Cli, signed: dict[str, Any]) -> None:
    """An auditor runs ``audit`` with the checkpoint they kept: it fails exactly where ``verify``
    with the same checkpoint does, even when the attacker also deleted the checkpoints the file
    stored (which plain ``audit`` reads)."""
    kept = ("--checkpoint", str(signed["checkpoint"]), "--vkey", signed["vkey"])
    cli("correct", RID, "--kind", "clarification", "--notice-id", "C1")
    text = cli("audit", *kept)
    assert text.exit_code == 0, text.output
    assert "kept:    OK: the log extends the checkpoint of size 5 signed by example.org/ledger" \
        in text.stdout
    assert cli.json("audit", *kept)["checkpoint"]["size"] == 5
    attack(cli.db, "DELETE FROM events WHERE seq >= 4", "DELETE FROM tree_hashes WHERE pos >= 4",
           "DELETE FROM checkpoints", "DELETE FROM view_meta",
           "INSERT INTO view_meta SELECT 'applied_seq', 3 UNION ALL "
           "SELECT 'applied_hash', hash FROM events WHERE seq = 3")
    cli("rebuild")
    assert cli("audit").exit_code == 0  # the chain, views and rules alone cannot see it
    result = cli("verify", "--json", *kept)
    assert result.exit_code == 1
    verified = orjson.loads(result.stdout)
    result = cli("audit", "--json", *kept)
    assert result.exit_code == 1
    audited = orjson.loads(result.stdout)
    assert audited["checkpoint"] == verified.pop("checkpoint")
    assert not audited["ok"] and audited["verify"] == verified and not audited["findings"]
    assert verified["first_bad_seq"] == 4 and "has 3 events but the checkpoint" in verified["reason"]
    text = cli("audit", *kept)
    assert text.exit_code == 1
    assert "chain:   FAILED: 3 events verified; first bad seq 4: the log has 3 events" in text.stdout
    assert "audit: FAILED (0 finding(s) and a broken chain)" in text.stdout
    for args, says in ((("--vkey", signed["vkey"]), "--checkpoint and --vkey go together"),
                       (("--policy", str(signed["checkpoint"])), "--policy checks a checkpoint")):
        refused = cli("audit", *args)
        assert refused.exit_code == 2 and refused.stderr.startswith(f"Error: {says}")


def test_the_state_a_monitor_kept_is_a_checkpoint_to_check(cli: Cli, signed: dict[str, Any],
                                                           tmp_path: Path) -> None:
    """An auditor who followed the published log with ``monitor --state`` gives that state file
    as the checkpoint they kept: ``verify``, ``audit`` and ``prove`` read its last checkpoint, and
    a file cut back behind what the monitor saw fails as with the checkpoint itself."""
    out, state = tmp_path / "site-log", tmp_path / "seen.json"
    assert cli("tiles", str(out), "--checkpoint", str(signed["checkpoint"])).exit_code == 0
    assert cli("monitor", str(out), "--vkey", signed["vkey"], "--state", str(state),
               "--check-only").exit_code == 0
    kept = ("--checkpoint", str(state), "--vkey", signed["vkey"])
    result = cli("verify", *kept)
    assert result.exit_code == 0, result.output
    assert "OK: the log extends the checkpoint of size 5 signed by example.org/ledger" in result.stdout
    assert cli("prove", "2", "--checkpoint", str(state), "--json").exit_code == 0
    attack(cli.db, "DELETE FROM events WHERE seq >= 4", "DELETE FROM tree_hashes WHERE pos >= 4",
           "DELETE FROM checkpoints")
    for command in ("verify", "audit"):
        result = cli(command, "--json", *kept)
        report = orjson.loads(result.stdout)
        report = report.get("verify", report)
        assert result.exit_code == 1 and report["first_bad_seq"] == 4, result.output
        assert "has 3 events but the checkpoint of example.org/ledger commits to 5" in report["reason"]
    other = tmp_path / "other.json"
    other.write_text('{"size": 5}\n')
    refused = cli("verify", "--checkpoint", str(other), "--vkey", signed["vkey"])
    assert refused.exit_code == 2 and refused.stderr == (
        f"Error: {other} is neither a signed checkpoint note nor a bundle or a state file "
        "`ledger monitor --state` wrote: it has no member 'origin'\n")
    other.write_text('{"a":' + "[" * 200_000 + "]" * 200_000 + "}")  # was a RecursionError
    for args in (("verify", "--checkpoint", str(other), "--vkey", signed["vkey"]),
                 ("monitor", str(out), "--vkey", signed["vkey"], "--state", str(other))):
        refused = cli(*args)
        assert refused.exit_code == 2 and refused.stderr.startswith("Error: "), refused.output
        assert "depth limit exceeded" in refused.stderr and "\n" not in refused.stderr.rstrip()


def test_a_tlog_proof_or_a_bundle_a_reader_kept_is_a_checkpoint_to_check(
        cli: Cli, signed: dict[str, Any], tmp_path: Path) -> None:
    """The signed checkpoint in a tlog-proof or a bundle someone kept (or a site's bundle script)
    is a checkpoint the log must extend: ``verify`` reads it from each, and fails a truncated
    tail against it."""
    cp = str(signed["checkpoint"])
    proof, bundle = tmp_path / "seq2.tlog-proof", tmp_path / "rec.bundle.json"
    assert cli("prove", "2", "--format", "tlog-proof", "--checkpoint", cp, "-o",
               str(proof)).exit_code == 0
    assert cli("bundle", RID, "--checkpoint", cp, "-o", str(bundle)).exit_code == 0
    script = tmp_path / "rec.js"  # as a site's bundles/<id>.<digest>.js holds it
    script.write_text(f"globalThis.LedgerBundle = {bundle.read_text().strip()};\n")
    kept = [("--checkpoint", str(f), "--vkey", signed["vkey"]) for f in (proof, bundle, script)]
    for args in kept:
        result = cli("verify", *args)
        assert result.exit_code == 0 and "extends the checkpoint of size 5" in result.stdout
    attack(cli.db, "DELETE FROM events WHERE seq >= 4", "DELETE FROM tree_hashes WHERE pos >= 4",
           "DELETE FROM checkpoints")
    assert cli("verify").exit_code == 0  # the file alone cannot show it
    for args in kept:
        result = cli("verify", "--json", *args)
        report = orjson.loads(result.stdout)
        assert result.exit_code == 1 and report["first_bad_seq"] == 4, report
        assert "has 3 events but the checkpoint of example.org/ledger commits to 5" in report["reason"]
    torn = tmp_path / "torn.json"
    torn.write_text('{"format": "provenance-ledger-bundle-v1", "events": []}')
    refused = cli("verify", "--checkpoint", str(torn), "--vkey", signed["vkey"])
    assert refused.exit_code == 2
    assert refused.stderr == f"Error: {torn} is a bundle without a checkpoint note\n"


def test_several_kept_checkpoints_are_checked_in_one_pass(cli: Cli, signed: dict[str, Any],
                                                          tmp_path: Path) -> None:
    """``verify`` and ``audit`` take ``--checkpoint`` again for each checkpoint an auditor kept:
    one pass, each checked (the same one given twice counted once), and a failure names the
    earliest seq any of them fails at."""
    cp5 = str(signed["checkpoint"])
    cli("correct", RID, "--kind", "clarification", "--notice-id", "C1")
    cli("correct", RID, "--kind", "clarification", "--notice-id", "C2")
    cp7 = str(tmp_path / "cp7.txt")
    assert cli("checkpoint", "--key", str(signed["key"]), "-o", cp7).exit_code == 0
    both = ("--checkpoint", cp7, "--checkpoint", cp5, "--checkpoint", cp5, "--vkey", signed["vkey"])
    for command in ("verify", "audit"):
        result = cli(command, *both)
        assert result.exit_code == 0, result.output
        assert "OK: the log extends the 2 checkpoints of sizes 5, 7 signed by example.org/ledger" \
            in result.stdout
        report = cli.json(command, *both)
        assert [c["size"] for c in report["checkpoints"]] == [5, 7]
        assert report["checkpoint"]["size"] == 7
    assert "checkpoints" not in cli.json("verify", "--checkpoint", cp5, "--checkpoint", cp5,
                                         "--vkey", signed["vkey"])  # one: as before
    attack(cli.db, "DELETE FROM events WHERE seq >= 6", "DELETE FROM tree_hashes WHERE pos >= 8",
           "DELETE FROM checkpoints")
    for command in ("verify", "audit"):
        result = cli(command, "--json", *both)
        report = orjson.loads(result.stdout)
        report = report.get("verify", report)
        assert result.exit_code == 1 and report["first_bad_seq"] == 6, report
        assert "the log has 5 events but the checkpoint of example.org/ledger commits to 7" in \
            report["reason"]
    assert cli("verify", "--checkpoint", cp5, "--vkey", signed["vkey"]).exit_code == 0


def test_a_folder_of_kept_checkpoints_is_each_of_its_files(cli: Cli, signed: dict[str, Any],
                                                           tmp_path: Path) -> None:
    """``--checkpoint DIR`` checks every file the folder holds (not hidden ones, nor those of
    its subfolders), in one pass; a file in it that holds no checkpoint is refused by name, and
    a folder with no file is refused: it would check nothing."""
    kept = tmp_path / "kept"
    (kept / "sub").mkdir(parents=True)
    shutil.copy(signed["checkpoint"], kept / "checkpoint-5")
    cli("correct", RID, "--kind", "clarification", "--notice-id", "C1")
    cli("correct", RID, "--kind", "clarification", "--notice-id", "C2")
    assert cli("checkpoint", "--key", str(signed["key"]), "-o", str(kept / "7.txt")).exit_code == 0
    (kept / ".DS_Store").write_bytes(b"\x00\x01")
    shutil.copy(cli.db, kept / "mirror.db")  # a database kept beside them is not a checkpoint
    (kept / "mirror.db-wal").write_bytes(b"\x37\x7f\x06\x82")
    (kept / "sub" / "notes.txt").write_text("not a checkpoint\n")
    for command in ("verify", "audit"):
        result = cli(command, "--checkpoint", f"{kept}/", "--vkey", signed["vkey"])
        assert result.exit_code == 0, result.output
        assert "OK: the log extends the 2 checkpoints of sizes 5, 7" in result.stdout
    attack(cli.db, "DELETE FROM events WHERE seq >= 6", "DELETE FROM tree_hashes WHERE pos >= 8",
           "DELETE FROM checkpoints")
    report = orjson.loads(cli("verify", "--json", "--checkpoint", str(kept), "--vkey",
                              signed["vkey"]).stdout)
    assert report["ok"] is False and report["first_bad_seq"] == 6, report
    (kept / "notes.txt").write_text("not a checkpoint\n")
    result = cli("verify", "--checkpoint", str(kept), "--vkey", signed["vkey"])
    assert result.exit_code == 2 and result.output.startswith(
        f"Error: {kept / 'notes.txt'} is not a signed checkpoint note"), result.output
    (tmp_path / "none").mkdir()
    result = cli("audit", "--checkpoint", str(tmp_path / "none"), "--vkey", signed["vkey"])
    assert result.exit_code == 2 and "is a folder that holds no file" in result.output
    shutil.copy(cli.db, tmp_path / "none" / "ledger.db")
    result = cli("verify", "--checkpoint", str(tmp_path / "none"), "--vkey", signed["vkey"])
    assert result.exit_code == 2 and "holds no file but databases" in result.output



def test_a_database_given_as_a_checkpoint_is_named(cli: Cli, signed: dict[str, Any],
                                                   tmp_path: Path) -> None:
    """A ledger file or a witness's state file given as --checkpoint to a command that takes
    one checkpoint is refused naming what it is and what reads it, not as text that is not
    UTF-8; ``verify`` takes a witness's state file, and refuses one that witnessed no checkpoint
    by the key given."""
    from ledger.storage import witnessdb

    witnessdb.open_witness_db(tmp_path / "w.db").close()
    witness = tmp_path / "w.db"
    for database, args, says in (
            (cli.db, ["verify", "--checkpoint", str(cli.db), "--vkey", signed["vkey"]],
             "it is a ledger file: `--extends` checks"),
            (cli.db, ["prove", "1", "--checkpoint", str(cli.db)], "it is a ledger file"),
            (witness, ["prove", "1", "--checkpoint", str(witness)],
             "it is a witness's state file, whose checkpoints `verify` and `audit` take as "
             "--checkpoint; `ledger witness status"),
            (witness, ["verify", "--checkpoint", str(witness), "--vkey", signed["vkey"]],
             "is a witness's state file that holds no checkpoint signed by example.org/ledger+"
             f"{signed['vkey'].split('+')[1]}: it has cosigned no log yet")):
        result = cli(*args)
        assert result.exit_code == 2 and says in result.stderr, (database, result.output)


def test_a_witness_state_file_in_a_folder_of_kept_checkpoints(cli: Cli, signed: dict[str, Any],
                                                             tmp_path: Path) -> None:
    """A folder given to --checkpoint reads a witness's state file it holds as a named one is
    read; one that holds no checkpoint by the key (another log's witness) is passed over, as
    the folder's other files are the checkpoints kept; a folder of nothing else checks nothing
    and is refused."""
    import shutil

    from ledger.storage import witnessdb

    kept, lone = tmp_path / "kept", tmp_path / "lone"
    kept.mkdir()
    lone.mkdir()
    for folder in (kept, lone):
        witnessdb.open_witness_db(folder / "w.db").close()  # it has cosigned no log
    shutil.copy(signed["checkpoint"], kept / "cp5.txt")
    # another application's SQLite file in write-ahead mode, closed: read, never written beside
    # (asking SQLite of its header would have made its -wal and -shm here)
    other = sqlite3.connect(kept / "notes.db")
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE t (x)")
    other.close()
    before = sorted(p.name for p in kept.iterdir())
    result = cli("verify", "--checkpoint", str(kept), "--vkey", signed["vkey"])
    assert result.exit_code == 0 and "extends the checkpoint of size 5" in result.stdout, result.output
    named = cli("verify", "--checkpoint", str(kept / "notes.db"), "--vkey", signed["vkey"])
    assert named.exit_code == 2 and "is not a signed checkpoint note: it is an SQLite file" in \
        named.stderr, named.output
    assert sorted(p.name for p in kept.iterdir()) == before
    refused = cli("verify", "--checkpoint", str(lone), "--vkey", signed["vkey"])
    assert refused.exit_code == 2 and refused.stderr == (
        f"Error: {lone} holds no checkpoint signed by example.org/ledger+"
        f"{signed['vkey'].split('+')[1]}: it checks nothing\n"), refused.output


@given(st.lists(st.tuples(st.sampled_from(["a.example/log", "b.example/log"]),
                          st.integers(1, 4), st.sampled_from([b"\x01" * 32, b"\x02" * 32]))))
def test_split_views_are_the_sizes_with_two_roots(kept: list[tuple[str, int, bytes]]) -> None:
    from ledger.core.checkpoint import Checkpoint
    from ledger.model.verify import split_views

    found = {(e.seq, e.reason.split(" signed at")[0].split(" of ")[1])
             for e in split_views([Checkpoint(*c) for c in kept])}
    roots: dict[tuple[int, str], set[bytes]] = {}
    for origin, size, root in kept:
        roots.setdefault((size, origin), set()).add(root)
    assert found == {key for key, seen in roots.items() if len(seen) > 1}


def test_two_kept_checkpoints_of_one_size_and_two_roots_are_a_split_view(
        cli: Cli, signed: dict[str, Any], tmp_path: Path) -> None:
    """Two checkpoints an auditor kept, both signed by the log's key at one size with different
    roots, are the evidence of a split view: the failure says so, whichever one the file
    extends."""
    other = Cli(tmp_path / "other.db", tmp_path)
    assert other("init").exit_code == 0
    for n in range(1, 6):
        assert other("publish", other.file(manifest(f"SRCH:0000020{n}"))).exit_code == 0
    forked = tmp_path / "forked-5.txt"
    assert other("checkpoint", "--key", str(signed["key"]), "-o", str(forked)).exit_code == 0
    result = cli("verify", "--json", "--checkpoint", str(signed["checkpoint"]), "--checkpoint",
                 str(forked), "--vkey", signed["vkey"])
    report = orjson.loads(result.stdout)
    assert result.exit_code == 1 and report["first_bad_seq"] == 5, report
    assert report["reason"].startswith("2 checkpoints of example.org/ledger signed at size 5 give "
                                       "different roots (")
    assert "its key signed more than one history, a split view" in report["reason"]


def test_a_checkpoint_of_another_log_is_not_called_a_rewrite(cli: Cli, signed: dict[str, Any],
                                                              tmp_path: Path) -> None:
    """An auditor who gives another log's checkpoint (or old copy) gets a failure (exit 1) that
    says it may be that, not only that this ledger's history was rewritten or its tail
    truncated: a file names its log by its stored checkpoints (or, for a mirror, the log it
    mirrors)."""
    other, key = Cli(tmp_path / "other.db", tmp_path), str(tmp_path / "o.key")
    assert other("init").exit_code == 0
    vkey = other("keygen", "other.example/log", "-o", key).stdout.strip()
    notes = []
    for n in range(1, 8):
        assert other("publish", other.file(manifest(f"SRCH:0000010{n}"))).exit_code == 0
        if n in (3, 7):
            notes.append(tmp_path / f"other-{n}.txt")
            assert other("checkpoint", "--key", key, "-o", str(notes[-1])).exit_code == 0
    hint = ("or the checkpoint is another log's: this ledger file names its log "
            "example.org/ledger, not other.example/log")
    for note, says in ((notes[0], "history up to seq 3 was rewritten, "),
                       (notes[1], "the tail of the log was truncated or deleted, ")):
        for command in ("verify", "audit"):
            result = cli(command, "--json", "--checkpoint", str(note), "--vkey", vkey)
            report = orjson.loads(result.stdout)
            report = report.get("verify", report)
            assert result.exit_code == 1 and report["reason"].endswith(says + hint), report
    result = cli("verify", "--extends", str(other.db))  # likewise an old copy of another log
    assert result.exit_code == 1 and result.stderr.rstrip().endswith(
        "the tail of the log was truncated or deleted, or the old copy is another log's: it names "
        "its log other.example/log, and this ledger file example.org/ledger"), result.stderr
    attack(cli.db, "DELETE FROM checkpoints")  # the file names no log: no hint, the same failure
    result = cli("verify", "--checkpoint", str(notes[0]), "--vkey", vkey)
    assert result.exit_code == 1 and result.stderr.rstrip().endswith("history up to seq 3 was rewritten")


def test_a_rewritten_history_is_caught(cli: Cli, signed: dict[str, Any]) -> None:
    with sqlite3.connect(cli.db) as conn:
        rows = conn.execute("SELECT * FROM events ORDER BY seq").fetchall()
    prev, rewritten = "0" * 64, []
    for row in rows:
        payload = orjson.loads(row[4])
        if row[0] == 3:
            payload["reason"] = "nothing to see here"
        e = make_event(row[0], row[1], row[2], row[3], payload, row[5], row[6], prev, v2=True)
        rewritten.append(tuple(e))
        prev = e.hash
    attack(cli.db, "DELETE FROM events")
    with sqlite3.connect(cli.db) as conn:
        conn.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?)", rewritten)
    rewrite_tree(cli.db)
    assert cli("verify").exit_code == 0  # every hash was recomputed
    result = cli("verify", "--checkpoint", str(signed["checkpoint"]), "--vkey", signed["vkey"])
    assert result.exit_code == 1 and "rewritten" in result.stderr
    refused = cli("checkpoint", "--key", str(signed["key"]))
    assert refused.exit_code == 1 and "checkpoint" in refused.stderr  # never sign inconsistent


def test_a_checkpoint_by_another_key_or_edited_is_refused(cli: Cli, signed: dict[str, Any],
                                                          tmp_path: Path) -> None:
    other = cli("keygen", "example.org/ledger", "-o", str(tmp_path / "other.key")).stdout.strip()
    assert cli("verify", "--checkpoint", str(signed["checkpoint"]), "--vkey", other).exit_code == 1
    note = signed["checkpoint"].read_bytes()
    verifier = parse_verifier(signed["vkey"])
    for i in range(len(note)):
        changed = bytearray(note)
        changed[i] = (changed[i] + 1) % 256
        try:
            text = changed.decode()
        except UnicodeDecodeError:
            continue
        with pytest.raises(LedgerError):
            open_checkpoint(text, verifier)


def test_bundles(cli: Cli, signed: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    assert cli("bundle", RID, "--checkpoint", str(signed["checkpoint"]), "-o", str(out)).exit_code == 0
    result = cli("verify-bundle", str(out), "--vkey", signed["vkey"])
    assert result.exit_code == 0, result.output
    assert "verified against checkpoint of size 5" in result.stdout
    assert "status UNDER_CONCERN" in result.stdout
    doc = orjson.loads(out.read_bytes())
    assert [e["event"]["seq"] for e in doc["events"]] == [1, 3, 4]
    data = out.read_bytes()
    for i in range(0, len(data), 7):
        changed = bytearray(data)
        changed[i] = (changed[i] + 1) % 128 or 1
        bad = tmp_path / "bad.json"
        bad.write_bytes(bytes(changed))
        if bytes(changed) == data:
            continue
        result = cli("verify-bundle", str(bad), "--vkey", signed["vkey"])
        assert result.exit_code in (1, 2), (i, result.output)
        assert result.stderr.startswith("Error: ")


def test_checkpoint_to_a_file_it_cannot_write_stores_none(cli: Cli, signed: dict[str, Any],
                                                          tmp_path: Path) -> None:
    """`checkpoint -o out/cp.txt` where `out` does not exist signed and stored the checkpoint,
    then was refused (exit 2): a refusal that had written. It is refused first now."""
    cli("correct", RID, "--kind", "addendum", "--notice-id", "A9")
    before = cli.snapshot(), sqlite3.connect(cli.db).execute(
        "SELECT count(*) FROM checkpoints").fetchone()
    result = cli("checkpoint", "--key", str(signed["key"]), "-o", str(tmp_path / "out" / "cp.txt"))
    assert result.exit_code == 2 and result.stderr == (
        f"Error: cannot write {tmp_path / 'out' / 'cp.txt'}: there is no folder {tmp_path / 'out'}\n")
    assert (cli.snapshot(), sqlite3.connect(cli.db).execute(
        "SELECT count(*) FROM checkpoints").fetchone()) == before


def test_private_key_readable_by_others_is_refused(cli: Cli, signed: dict[str, Any]) -> None:
    signed["key"].chmod(0o644)
    result = cli("checkpoint", "--key", str(signed["key"]))
    assert result.exit_code == 2 and "chmod 600" in result.stderr


def test_the_wrong_kind_of_key_file_is_named(cli: Cli, signed: dict[str, Any], tmp_path: Path) -> None:
    """A verifier key file (often mode 0644) given for --key was told to `chmod 600` it; a
    witness's key given to sign a checkpoint, or a log's key given to a witness, gave a line about
    key types; a witness's verifier key given for --vkey or to `key add`, `not an Ed25519 key`.
    Each names what the file is and which file is wanted; nothing is written."""
    vkey = tmp_path / "pub.vkey"
    vkey.write_text(signed["vkey"] + "\n")  # mode 0644, as a shell writes it
    other = tmp_path / "notes.txt"
    other.write_text("not a key\n")
    witness = tmp_path / "w.key"
    assert cli("witness", "keygen", "w.example", "-o", str(witness)).exit_code == 0
    logs = tmp_path / "logs"
    logs.write_text(signed["vkey"] + "\n")
    cases = [
        (["checkpoint", "--key", str(vkey)], f"{vkey} holds a verifier key (the public half of a key "
                                             "pair), where a private key is wanted"),
        (["--key", str(vkey), "correct", RID, "--kind", "addendum"], "holds a verifier key"),
        (["checkpoint", "--key", str(other)], f"{other} is not a private key file, where a "
                                              "private key is wanted"),
        (["checkpoint", "--key", str(witness)], f"{witness} is a witness's key (`ledger witness "
                                                "keygen`), where a log's signing key is wanted"),
        (["witness", "serve", "--key", str(signed["key"]), "--logs", str(logs), "--db",
          str(tmp_path / "w.db")], f"{signed['key']} is a log's signing key (`ledger keygen`), "
                                   "where a witness's key is wanted"),
    ]
    witness_vkey = tmp_path / "w.vkey"
    witness_vkey.write_text(cli("witness", "keygen", "w2.example", "-o",
                                str(tmp_path / "w2.key")).stdout)
    cases += [(args, f"{witness_vkey} holds a witness's verifier key (`ledger witness keygen`, "
                     "cosignature/v1), where one `ledger keygen` printed is wanted")
              for args in (["verify", "--checkpoint", str(signed["checkpoint"]), "--vkey",
                            str(witness_vkey)],
                           ["site", str(tmp_path / "out"), "--checkpoint", str(signed["checkpoint"]),
                            "--vkey", str(witness_vkey)],
                           ["key", "add", str(witness_vkey)])]
    before = cli.snapshot()
    for args, says in cases:
        result = cli(*args)
        assert result.exit_code == 2 and result.stderr.count("\n") == 1, (args, result.output)
        assert result.stderr.startswith("Error: ") and says in result.stderr, result.stderr
        assert "chmod" not in result.stderr
    assert cli.snapshot() == before and not (tmp_path / "w.db").exists()
    assert not (tmp_path / "out").exists()


def test_key_files_that_are_not_text_are_refused(cli: Cli, signed: dict[str, Any],
                                                 tmp_path: Path) -> None:
    """A binary file given as a key (a DER key, a .gpg file): one Error line, exit 2."""
    binary = tmp_path / "binary.key"
    binary.write_bytes(b"\xff\x00\x00" + signed["key"].read_bytes())
    binary.chmod(0o600)
    verifier = tmp_path / "binary+vkey"  # a '+' in the name: read as a file only if it is one
    verifier.write_bytes(b"\xff\x00\x00" + signed["vkey"].encode())
    before = cli.snapshot()
    for args in (["checkpoint", "--key", str(binary)],
                 ["--key", str(binary), "correct", "SRCH:03BE3A05", "--kind", "addendum"],
                 ["verify", "--checkpoint", str(signed["checkpoint"]), "--vkey", str(verifier)]):
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
        assert "not UTF-8 text" in result.stderr, result.stderr
    assert cli.snapshot() == before


@pytest.mark.parametrize("command", ["verify-proof", "verify-bundle"])
def test_input_that_is_not_text_is_refused(cli: Cli, signed: dict[str, Any], command: str,
                                           tmp_path: Path) -> None:
    """A proof or bundle is read as UTF-8 whatever the locale, from stdin (``-``) or a file:
    other bytes are one Error line naming where, exit 2."""
    result = cli(command, "-", "--vkey", signed["vkey"], input=b"\xff\x00{}")
    assert result.exit_code == 2, result.output
    assert result.stderr == "Error: stdin is not UTF-8 text (byte 0)\n", result.stderr
    result = cli(command, "-", "--vkey", signed["vkey"], input=b"\xff\xfe{\x00}\x00")  # UTF-16
    assert result.exit_code == 2 and result.stderr.startswith(
        "Error: stdin: it is UTF-16 text, not UTF-8"), result.stderr
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"{}\xff\xfe")
    result = cli(command, str(binary), "--vkey", signed["vkey"])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"Error: {binary} is not UTF-8 text (byte 2)\n", result.stderr


def test_node_hash_domain() -> None:
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()


def test_encrypted_key_files(cli: Cli, published: Callable[..., str], tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    published()
    key = tmp_path / "enc.key"
    monkeypatch.setenv("LEDGER_KEY_PASSPHRASE", "correct horse")
    vkey = cli("keygen", "enc.example", "--encrypt", "-o", str(key)).stdout.strip()
    text = key.read_text()
    assert text.startswith("provenance-ledger encrypted key v1\n") and "PRIVATE+KEY" not in text
    assert os.stat(key).st_mode & 0o777 == 0o600
    note = cli("checkpoint", "--key", str(key))
    assert note.exit_code == 0
    assert open_checkpoint(note.stdout, parse_verifier(vkey)).size == 1
    monkeypatch.setenv("LEDGER_KEY_PASSPHRASE", "wrong")
    wrong = cli("checkpoint", "--key", str(key))
    assert wrong.exit_code == 2 and "wrong passphrase" in wrong.stderr
    monkeypatch.delenv("LEDGER_KEY_PASSPHRASE")
    missing = cli("checkpoint", "--key", str(key))
    assert missing.exit_code == 2 and "LEDGER_KEY_PASSPHRASE" in missing.stderr


@pytest.fixture(scope="module")
def forty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ledger of 40 events (four records of ten), made once: the property test edits copies."""
    db = tmp_path_factory.mktemp("forty") / "l.db"
    with Ledger.create(db) as ledger:
        for i in range(40):
            ledger.submit("paper-manifest-v1.1", manifest(f"SRCH:{i % 4:08X}", title=f"v{i}"), "t")
    return db


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(0, 78), value=st.binary(min_size=32, max_size=32), size=st.integers(1, 40))
def test_every_proof_given_out_holds_whatever_hash_was_edited(
        forty: Path, tmp_path: Path, position: int, value: bytes, size: int) -> None:
    """The prover of the site and bundles checks each proof against the root and memoises the
    nodes it has checked: with any one stored hash edited (plain sqlite3), every proof it gives
    out still verifies against the true root of that size, or it refuses naming the table."""
    db = tmp_path / f"e{position}-{size}.db"
    with sqlite3.connect(forty) as source, sqlite3.connect(db) as target:
        source.backup(target)
    with sqlite3.connect(forty) as conn:
        true_root = Prover(conn, size).root
    with attacker.unguarded(db) as conn:
        conn.execute("UPDATE tree_hashes SET hash = ? WHERE pos = ?", (value, position))
    with Ledger.open(db) as ledger:
        conn = ledger.conn
        events = list(store.iter_events(conn, 0, size))
        try:
            prover = Prover(conn, size)
            proofs = [p for i in range(0, size, 7) for p in prover.prove_all(events[i:i + 7])]
            # Again one by one, last first: walks that end on nodes proved above give the same.
            again = [prover.prove(event) for event in reversed(events)]
            # And all at once in passes of 3, the memo cleared past 8 nodes: the same again.
            small = Prover(conn, size)
            small.BATCH, small.PROVED = 3, 8
            passes = small.prove_all(events[:size])
        except CorruptEvent as exc:
            assert "tree_hashes" in str(exc) or "Merkle leaf" in str(exc)
            return
    assert prover.root == true_root
    for proof in proofs:
        check_inclusion(proof.seq - 1, size, proof.leaf, proof.proof, true_root)
    assert [p.proof for p in reversed(again)] == [p.proof for p in proofs]
    assert [p.proof for p in passes] == [p.proof for p in proofs]
