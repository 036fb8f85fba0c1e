"""Actor keys: a ledger created with --require-signatures refuses unsigned, unknown and revoked
keys, and verify catches events inserted behind its back with forged or missing signatures."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from cli.main import app
from ledger.core.events import make_event
from tests.conftest import manifest
from tests.test_tamper import attack, rewrite_tree


class Signed:
    def __init__(self, tmp: Path) -> None:
        self.tmp, self.db, self.runner = tmp, tmp / "signed.db", CliRunner()
        self.keys: dict[str, Path] = {}
        self.vkeys: dict[str, str] = {}
        for name in ("chief", "lab", "other"):
            self.keys[name] = tmp / f"{name}.key"
            self.vkeys[name] = self.run("keygen", name, "-o", str(self.keys[name])).stdout.strip()
        assert self.run("init", "--require-signatures", "--admin-key", str(self.keys["chief"])).exit_code == 0

    def run(self, *args: str, key: str | None = None, input: str | None = None) -> Any:
        extra = ["--key", str(self.keys[key])] if key else []
        return self.runner.invoke(app, ["--db", str(self.db), *extra, *args], input=input)

    def publish(self, key: str, rid: str = "SRCH:03BE3A05") -> Any:
        return self.run("publish", "-", key=key, input=orjson.dumps(manifest(rid)).decode())


@pytest.fixture
def signed(tmp_path: Path) -> Signed:
    ledger = Signed(tmp_path)
    assert ledger.run("key", "add", ledger.vkeys["lab"], key="chief").exit_code == 0
    assert ledger.publish("lab").exit_code == 0
    assert ledger.run("correct", "SRCH:03BE3A05", "--kind", "addendum", "--notice-id", "A1",
                      key="lab").exit_code == 0
    return ledger


def test_appends_need_a_key_in_force(signed: Signed) -> None:
    for key, says in ((None, "requires every event to be signed"),
                      ("other", "is not in this ledger's keyring: an admin adds it")):
        result = signed.publish(key, "SRCH:00000002") if key else signed.run(
            "publish", "-", input=orjson.dumps(manifest("SRCH:00000002")).decode())
        assert result.exit_code == 2 and says in result.stderr
    shown = orjson.loads(signed.run("history", "SRCH:03BE3A05", "--json").stdout)
    assert {e["actor"] for e in shown} == {"lab"}
    assert signed.run("key", "revoke", signed.vkeys["lab"], "--reason", "lost", key="chief").exit_code == 0
    refused = signed.publish("lab", "SRCH:00000003")
    assert refused.exit_code == 2 and "lab+" in refused.stderr, refused.stderr
    assert "was revoked at seq 5: it signs nothing more here" in refused.stderr
    readded = signed.run("key", "add", signed.vkeys["lab"], key="chief")
    assert readded.exit_code == 0 and "Warning: key lab+" in readded.stderr, readded.output
    assert "was revoked at seq 5: added again, it signs again" in readded.stderr
    assert signed.publish("lab", "SRCH:00000003").exit_code == 0
    assert signed.run("verify").exit_code == 0 and signed.run("audit").exit_code == 0


def test_only_admins_manage_keys(signed: Signed) -> None:
    result = signed.run("key", "add", signed.vkeys["other"], key="lab")
    assert result.exit_code == 2 and "admin key" in result.stderr
    last = signed.run("key", "revoke", signed.vkeys["chief"], key="chief")
    assert last.exit_code == 2 and "last admin" in last.stderr
    again = signed.run("key", "add", signed.vkeys["lab"], key="chief")
    assert again.exit_code == 0 and again.stdout.startswith("No change")
    promote = signed.run("key", "add", signed.vkeys["lab"], "--role", "admin", key="chief")
    assert promote.exit_code == 2 and "already in the keyring, as writer: to give it another " \
        "role, revoke it (`ledger key revoke`) and add it again with --role admin" in promote.stderr
    keys = orjson.loads(signed.run("key", "list", "--json").stdout)
    assert [(k["name"], k["role"], k["in_force"]) for k in keys] == [("chief", "admin", True),
                                                                      ("lab", "writer", True)]


def test_revoking_a_revoked_key_again_is_a_no_op(signed: Signed) -> None:
    """As adding a key in force again is: exit 0, `No change`, no event (it was exit 2, `is not
    in force`). A key the keyring never held is still refused."""
    assert signed.run("key", "revoke", signed.vkeys["lab"], key="chief").exit_code == 0
    head = orjson.loads(signed.run("status", "--json").stdout)["head_seq"]
    again = signed.run("key", "revoke", signed.vkeys["lab"], key="chief")
    assert again.exit_code == 0 and again.stdout.startswith("No change"), again.output
    assert f"was revoked at seq {head}" in again.stdout
    assert orjson.loads(signed.run("status", "--json").stdout)["head_seq"] == head
    unknown = signed.run("key", "revoke", signed.vkeys["other"], key="chief")
    assert unknown.exit_code == 2 and "not in force" in unknown.stderr


def test_key_events_say_whose_key_and_why(signed: Signed) -> None:
    """`key add` said `Appended seq N key.added KEY:…` and the log showed nothing after the
    hash: an auditor opened each key event to learn whose key it was, and why it was revoked."""
    added = signed.run("key", "add", signed.vkeys["other"], "--role", "writer", key="chief")
    assert added.exit_code == 0 and ": other writer (hash " in added.stdout, added.output
    revoked = signed.run("key", "revoke", signed.vkeys["other"], "--reason", "left the lab",
                         key="chief")
    assert revoked.exit_code == 0 and ": other writer (hash " in revoked.stdout, revoked.output
    log = signed.run("log", "--type", "key.revoked").stdout
    assert log.rstrip().endswith("other writer: left the lab"), log
    assert "chief admin: " in signed.run("history", "KEY:" + signed.vkeys["chief"].split("+")[1].upper()
                                         ).stdout


def test_an_unsigned_ledger_refuses_a_key(tmp_path: Path) -> None:
    runner = CliRunner()
    db, key = tmp_path / "l.db", tmp_path / "k.key"
    runner.invoke(app, ["keygen", "k", "-o", str(key)])
    runner.invoke(app, ["--db", str(db), "init"])
    runner.invoke(app, ["--db", str(db), "publish", "-"], input=orjson.dumps(manifest()).decode())
    result = runner.invoke(app, ["--db", str(db), "--key", str(key), "correct", "SRCH:03BE3A05",
                                 "--kind", "addendum"])
    assert result.exit_code == 2 and "does not take signatures" in result.stderr
    from_env = runner.invoke(app, ["--db", str(db), "correct", "SRCH:03BE3A05", "--kind", "addendum"],
                             env={"LEDGER_KEY": str(key)})
    assert from_env.exit_code == 2 and "drop --key (and LEDGER_KEY, if it is set)" in from_env.stderr
    mixed = runner.invoke(app, ["--db", str(tmp_path / "x.db"), "init", "--require-signatures"])
    assert mixed.exit_code == 2 and "go together" in mixed.stderr
    listed = runner.invoke(app, ["--db", str(db), "key", "list"])  # it printed nothing at all
    assert listed.exit_code == 0 and listed.stdout == "" and listed.stderr == (
        "No keys: this ledger does not take signatures (it was not created with `ledger init "
        "--require-signatures`)\n")
    assert runner.invoke(app, ["--db", str(db), "key", "list", "--json"]).stdout.strip() == "[]"


@pytest.mark.parametrize("edit", ["vkey", "role"])
def test_a_key_edited_in_the_file_is_not_trusted(signed: Signed, edit: str) -> None:
    """In format v2 an event's hash covers each payload member's commitment, not its value: an
    attacker who edits a key.added event's vkey (to a key they hold) or role (to admin) leaves
    its hash, the chain and the batch signature as they were. The keyring checks every member
    against its commitment before it trusts a key: nothing is appended, by the forged key or any
    other, and `key list` names the event instead of showing the forged key."""
    import json

    with sqlite3.connect(signed.db) as conn:
        seq, payload = conn.execute("SELECT seq, payload FROM events WHERE type = 'key.added' "
                                    "ORDER BY seq DESC LIMIT 1").fetchone()
        count = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    doc = json.loads(payload)
    assert doc["name"] == "lab" and doc["role"] == "writer"
    doc["role"] = "admin"
    if edit == "vkey":
        doc["vkey"] = signed.vkeys["other"]
    attack(signed.db, "UPDATE events SET payload = ? WHERE seq = ?",
           params=(json.dumps(doc, separators=(",", ":"), sort_keys=True), seq))
    says = f"Error: seq {seq}: the key event's payload is not the one its hash covers"
    for key, args in (("other" if edit == "vkey" else "lab", ["key", "add", signed.vkeys["other"]]),
                      ("lab", ["correct", "SRCH:03BE3A05", "--kind", "addendum"]),
                      ("chief", ["correct", "SRCH:03BE3A05", "--kind", "addendum"]),
                      (None, ["key", "list"])):
        result = signed.run(*args, key=key)
        assert result.exit_code == 1 and result.stderr.startswith(says), (args, result.output)
    with sqlite3.connect(signed.db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == count
    report = orjson.loads(signed.run("verify", "--json").stdout)
    assert report["ok"] is False and report["first_bad_seq"] == seq, report


def test_bulk_appends_are_signed_once_per_batch(signed: Signed) -> None:
    lines = "".join(orjson.dumps({"contract": "correction-record-v1", "payload": {
        "record_id": "SRCH:03BE3A05", "kind": "clarification", "notice_id": f"C{i}"}}).decode() + "\n"
        for i in range(7))
    result = signed.run("append", "--jsonl", "-", "--batch-size", "3", key="lab", input=lines)
    assert result.exit_code == 0, result.output
    with sqlite3.connect(signed.db) as conn:
        ranges = conn.execute("SELECT first_seq, last_seq FROM signatures ORDER BY 1").fetchall()
    assert ranges[-3:] == [(5, 7), (8, 10), (11, 11)]
    other = orjson.dumps({"contract": "correction-record-v1", "actor": "mallory", "payload": {
        "record_id": "SRCH:03BE3A05", "kind": "clarification", "notice_id": "M"}}).decode()
    refused = signed.run("append", "--jsonl", "-", key="lab", input=other + "\n")
    assert refused.exit_code == 2 and "not the signing key's name" in refused.stderr
    assert signed.run("verify").exit_code == 0


def forge_event(db: Path, actor: str) -> None:
    """Append an event with a valid hash, link and tree, but no signature, as an attacker would."""
    with sqlite3.connect(db) as conn:
        seq, prev = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    e = make_event(seq + 1, "notice.issued", "SRCH:03BE3A05", "correction-record-v1",
                   {"record_id": "SRCH:03BE3A05", "notice_id": "FORGED", "kind": "retraction",
                    "effective_date": "2026-11-25", "issued_by": actor, "reason": "forged"},
                   actor, "2026-11-25T10:00:00.000000Z", prev, v2=True)
    attack(db, "INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?)", params=tuple(e))
    rewrite_tree(db)


def test_an_unsigned_inserted_event_is_caught(signed: Signed) -> None:
    forge_event(signed.db, "lab")
    report = orjson.loads(signed.run("verify", "--json").stdout)
    assert report["ok"] is False and report["first_bad_seq"] == 5
    assert "no signature covers this event" in report["reason"]


def test_a_forged_signature_is_caught(signed: Signed) -> None:
    forge_event(signed.db, "lab")
    with sqlite3.connect(signed.db) as conn:
        key_id = conn.execute("SELECT key_id FROM signatures WHERE first_seq = 3").fetchone()[0]
        conn.execute("INSERT INTO signatures VALUES (5, 5, ?, ?)",
                     (key_id, base64.b64encode(bytes(64)).decode()))
    report = orjson.loads(signed.run("verify", "--json").stdout)
    assert report["first_bad_seq"] == 5 and "does not verify" in report["reason"]


def test_an_actor_changed_with_every_hash_recomputed_is_caught(signed: Signed) -> None:
    with sqlite3.connect(signed.db) as conn:
        rows = conn.execute("SELECT * FROM events ORDER BY seq").fetchall()
    prev, rewritten = "0" * 64, []
    for row in rows:
        if row[0] < 3:  # kept as they were (their salts with them)
            rewritten.append(row)
            prev = row[8]
            continue
        e = make_event(row[0], row[1], row[2], row[3], orjson.loads(row[4]),
                       "chief" if row[0] == 3 else row[5], row[6], prev, v2=True)
        rewritten.append(tuple(e))
        prev = e.hash
    attack(signed.db, "DELETE FROM events")
    with sqlite3.connect(signed.db) as conn:
        conn.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?)", rewritten)
    rewrite_tree(signed.db)
    report = orjson.loads(signed.run("verify", "--json").stdout)
    assert report["ok"] is False and report["first_bad_seq"] == 3


def test_deleted_signatures_are_caught(signed: Signed) -> None:
    attack(signed.db, "DROP TRIGGER signatures_append_only_delete",
           "DELETE FROM signatures WHERE first_seq = 2")
    report = orjson.loads(signed.run("verify", "--json").stdout)
    assert report["first_bad_seq"] == 2 and "no signature covers" in report["reason"]


def test_keygen_never_writes_a_private_key_through_a_symlink(tmp_path: Path) -> None:
    """`keygen -o` writes only a new file of that name: never over a file, never through a
    symlink (planted there, it would send the key where its maker reads). A symlink to a file
    not yet made was refused as `already exists`; it is named as a symlink, with its target."""
    runner = CliRunner()
    link, target = tmp_path / "link.key", tmp_path / "elsewhere.key"
    link.symlink_to(target)
    done = runner.invoke(app, ["keygen", "a.example/log", "-o", str(link)])
    assert done.exit_code == 2 and not target.exists()
    assert done.stderr == (f"Error: {link} is a symlink (to {target}): a private key is written "
                           "only to a new file of that name, never through a link; give the path "
                           "it names\n")
    target.write_text("precious")
    done = runner.invoke(app, ["keygen", "a.example/log", "-o", str(link)])
    assert done.exit_code == 2 and "already exists" in done.stderr
    assert target.read_text() == "precious"


def test_commands_that_append_nothing_never_read_the_signing_key(signed: Signed,
                                                                  monkeypatch: pytest.MonkeyPatch
                                                                  ) -> None:
    """LEDGER_KEY set in an editor's profile, naming a key on a drive not mounted or an
    encrypted key: `show`, `verify` and every command that appends nothing stopped with `cannot
    read key file`, or asked for the passphrase. They never read it now; appends still do."""
    monkeypatch.delenv("LEDGER_KEY_PASSPHRASE", raising=False)
    gone = signed.tmp / "mounted-no-more.key"
    encrypted = signed.tmp / "enc.key"
    made = signed.runner.invoke(app, ["keygen", "enc", "--encrypt", "-o", str(encrypted)],
                                env={"LEDGER_KEY_PASSPHRASE": "pw"})
    assert made.exit_code == 0, made.output
    reads = [["show", "SRCH:03BE3A05"], ["history", "SRCH:03BE3A05"], ["log"], ["list"],
             ["verify"], ["audit"], ["status"], ["export"], ["diff", "SRCH:03BE3A05"],
             ["search", "routing"], ["feed"], ["key", "list"], ["render", "SRCH:03BE3A05"],
             ["prove", "1"], ["consistency", "1"], ["rebuild"]]
    folder = signed.tmp / "keys"  # LEDGER_KEY naming a folder, with or without a final slash
    folder.mkdir()
    for key in (gone, encrypted, folder, f"{folder}/"):
        for args in reads:
            done = signed.runner.invoke(app, ["--db", str(signed.db), *args],
                                        env={"LEDGER_KEY": str(key)})
            assert done.exit_code in (0, 1) and "key" not in done.stderr.lower().replace(
                "key list", ""), (key, args, done.output)
            assert "Error" not in done.stderr and "passphrase" not in done.output.lower(), done.output
    appended = signed.runner.invoke(app, ["--db", str(signed.db), "correct", "SRCH:03BE3A05",
                                          "--kind", "addendum"], env={"LEDGER_KEY": str(gone)})
    assert appended.exit_code == 2 and appended.stderr.startswith(
        f"Error: cannot read key file {gone}: No such file or directory")
    asked = signed.runner.invoke(app, ["--db", str(signed.db), "correct", "SRCH:03BE3A05",
                                       "--kind", "addendum"], env={"LEDGER_KEY": str(encrypted)})
    assert asked.exit_code == 2 and "LEDGER_KEY_PASSPHRASE" in asked.stderr
