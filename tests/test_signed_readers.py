"""The readers of a signed ledger check the signatures of what they show, as `verify` does.

In a ledger created with --require-signatures no one without a key in force can append: that is
its promise. Someone who can write the file but holds no such key could still add an event with
plain sqlite3 whose hash, link and tree are right (a retraction, say): `verify` named it (no
signature covers it), while `show`, `history`, `log`, `status`, `render` and `diff`, which check
a record's own events, printed it as the ledger's. Now each of them also checks that every event
it shows is covered by a batch signature that verifies, by a key in force when the batch began,
over an unaltered chain to the batch's last event, whose actor is that key's name; and none of
them refuses a ledger that verifies (keys revoked and added again, bulk batches, purges).
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests import attacker
from tests.conftest import manifest
from tests.test_keys import Signed

RID = "SRCH:03BE3A05"
ROGUE: list[Any] = []  # the private key and key id of a key the base ledger added, then revoked
READERS = [["show", RID], ["history", RID], ["log"], ["log", "--record", RID],
           ["render", RID], ["diff", RID], ["log", "--json"], ["history", RID, "--json"]]


def _retraction(notice: str) -> dict[str, Any]:
    return {"record_id": RID, "kind": "retraction", "reason": "forged", "notice_id": notice,
            "issued_by": "x", "effective_date": "2026-11-26", "target_version": 1}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Signed:
    return signed_base(tmp_path_factory.mktemp("signed"))


def signed_base(tmp: Path) -> Signed:
    """A signed ledger that verifies, with what a reader's check must not trip on: a writer's
    key revoked and added again, a record published before and after, a batch of bulk appends
    signed once, a removal whose purge withholds members of earlier events, and a rogue key
    added and revoked (kept for the attacks below)."""
    ledger = Signed(tmp)
    assert ledger.run("key", "add", ledger.vkeys["lab"], key="chief").exit_code == 0
    assert ledger.publish("lab").exit_code == 0
    assert ledger.run("correct", RID, "--kind", "addendum", "--notice-id", "A1",
                      "--reason", "first", key="lab").exit_code == 0
    assert ledger.run("key", "revoke", ledger.vkeys["lab"], key="chief").exit_code == 0
    assert ledger.run("key", "add", ledger.vkeys["lab"], key="chief").exit_code == 0
    assert ledger.publish("lab", "SRCH:0000000B").exit_code == 0
    lines = b"".join(orjson.dumps({"contract": "paper-manifest-v1.1",
                                   "payload": manifest(f"SRCH:000000{i:02X}")}) + b"\n"
                     for i in range(16, 21))
    source = ledger.tmp / "bulk.jsonl"
    source.write_bytes(lines)
    bulk = ledger.run("append", "--jsonl", str(source), "--batch-size", "2", key="chief")
    assert bulk.exit_code == 0, bulk.output
    assert ledger.run("correct", "SRCH:0000000B", "--kind", "removal", "--reason", "legal",
                      "--purge", key="chief").exit_code == 0
    private, vkey, key_id = attacker.new_key("rogue")
    assert ledger.run("key", "add", vkey, key="chief").exit_code == 0
    assert ledger.run("key", "revoke", vkey, key="chief").exit_code == 0
    ROGUE[:] = [private, key_id]
    assert ledger.run("verify").exit_code == 0, ledger.run("verify").output
    return ledger


@pytest.fixture
def copy(base: Signed, tmp_path: Path) -> Signed:
    return copied(base, tmp_path)


def copied(base: Signed, tmp_path: Path) -> Signed:
    """The ledger ``base`` copied into ``tmp_path``, its keys shared."""
    shutil.copy(base.db, tmp_path / "signed.db")
    ledger = Signed.__new__(Signed)
    ledger.tmp, ledger.db, ledger.runner = base.tmp, tmp_path / "signed.db", base.runner
    ledger.keys, ledger.vkeys = base.keys, base.vkeys
    return ledger


def test_every_reader_shows_a_signed_ledger_that_verifies(copy: Signed) -> None:
    """No reader refuses what verifies: every record, the log, the status, the feed."""
    records = [r["record_id"] for r in orjson.loads(copy.run("list", "--json").stdout)]
    assert len(records) == 7 and RID in records
    for rid in records:
        for args in (["show", rid], ["history", rid], ["render", rid], ["log", "--record", rid]):
            result = copy.run(*args)
            assert result.exit_code == 0, (args, result.output)
    for args in (["log"], ["status"], ["feed"], ["log", "-n", "3"], ["search", "Mamba"]):
        result = copy.run(*args)
        assert result.exit_code == 0, (args, result.output)


def _unsigned(ledger: Signed, conn: sqlite3.Connection) -> None:
    attacker.forge_next(conn, "notice.issued", RID, "correction-record-v1", _retraction("F1"),
                        actor="lab")


def _signed_by(actor: str) -> Callable[[Signed, sqlite3.Connection], None]:
    def forge(ledger: Signed, conn: sqlite3.Connection) -> None:
        event = attacker.forge_next(conn, "notice.issued", RID, "correction-record-v1",
                                    _retraction("F2"), actor=actor)
        private, key_id = ROGUE
        conn.execute("INSERT INTO signatures VALUES (?, ?, ?, ?)", (
            event["seq"], event["seq"], key_id,
            attacker.sign_batch(private, event["seq"], event["seq"], event["hash"])))
    return forge


def _signature_deleted(ledger: Signed, conn: sqlite3.Connection) -> None:
    seq = conn.execute("SELECT seq FROM events WHERE record_id = ? AND type = 'notice.issued'",
                       (RID,)).fetchone()[0]
    conn.execute("DELETE FROM signatures WHERE first_seq <= ? AND last_seq >= ?", (seq, seq))


def _signature_moved(ledger: Signed, conn: sqlite3.Connection) -> None:
    """The correction's own signature row given to the event after it (its range shifted)."""
    seq = conn.execute("SELECT seq FROM events WHERE record_id = ? AND type = 'notice.issued'",
                       (RID,)).fetchone()[0]
    conn.execute("DELETE FROM signatures WHERE first_seq = ?", (seq + 1,))
    conn.execute("UPDATE signatures SET first_seq = ?, last_seq = ? WHERE first_seq = ?",
                 (seq + 1, seq + 1, seq))


# (the attack, what verify and the readers say; the readers: None if they say it as verify
# does, at its seq, else what they say: the moved row leaves the key event after the record's
# event uncovered, and a reader checks the keyring first, at that event's seq)
ATTACKS = [
    ("an unsigned retraction at the head", _unsigned, "no signature covers this event", None),
    ("a retraction signed by a key revoked before it", _signed_by("rogue"),
     "which was not in the keyring at that point", None),
    ("the signature of a record's event deleted", _signature_deleted, "no signature covers",
     None),
    ("the signature row of a record's event moved to the next", _signature_moved,
     "no signature covers", "the key event's signature (seq 5..5) does not verify"),
]


@pytest.mark.parametrize(("edit", "says", "readers_say"), [a[1:] for a in ATTACKS],
                         ids=[a[0] for a in ATTACKS])
def test_no_reader_shows_an_event_verify_finds_unsigned(copy: Signed, edit: Callable[..., None],
                                                        says: str, readers_say: str | None) -> None:
    with attacker.unguarded(copy.db) as conn:
        edit(copy, conn)
        attacker.rebuild_tree(conn)
    verify = orjson.loads(copy.run("verify", "--json").stdout)
    assert verify["ok"] is False and says in verify["reason"], verify
    for args in READERS:
        result = copy.run(*args)
        assert result.exit_code == 1, (args, result.output)
        at = "" if readers_say else f"{verify['first_bad_seq']}: "
        assert result.stderr.startswith(f"Error: seq {at}"), (args, result.stderr)
        assert "refusing to " in result.stderr and result.stderr.count("\n") == 1, result.stderr
        assert (readers_say or says) in result.stderr, (args, result.stderr)
        assert "RETRACTED" not in result.stdout, (args, result.stdout)
    if edit not in (_signature_deleted, _signature_moved):  # the forged event is the head
        status = copy.run("status")
        assert status.exit_code == 1 and says in status.stderr, status.output


def test_an_incremental_site_run_checks_the_signatures_of_what_it_builds_again(
        copy: Signed, tmp_path: Path) -> None:
    """A site built, then an unsigned retraction added to a record: the next run, which builds
    that record's page again, refuses it and writes nothing of it."""
    out = tmp_path / "site"
    assert copy.run("site", str(out)).exit_code == 0
    page = (out / "SRCH-03BE3A05.html").read_bytes()
    with attacker.unguarded(copy.db) as conn:
        _unsigned(copy, conn)
        attacker.rebuild_tree(conn)
    result = copy.run("site", str(out))
    assert result.exit_code == 1 and "no signature covers this event" in result.stderr, result.output
    assert "refusing to publish SRCH:03BE3A05" in result.stderr
    assert (out / "SRCH-03BE3A05.html").read_bytes() == page


def test_the_library_reads_the_same(copy: Signed) -> None:
    """Through the API too (``Ledger.show``): the check is the reading's, not the CLI's."""
    from ledger.api import Ledger
    from ledger.errors import VerificationError

    with attacker.unguarded(copy.db) as conn:
        _unsigned(copy, conn)
        attacker.rebuild_tree(conn)
    with Ledger.open(copy.db) as ledger, pytest.raises(VerificationError) as caught:
        ledger.show(RID)
    assert "no signature covers this event" in str(caught.value)


OPERATIONS = st.lists(st.sampled_from(["publish", "correct", "revoke", "add", "bulk", "other"]),
                      min_size=1, max_size=8)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(OPERATIONS, st.integers(1, 4))
@example(["revoke", "add", "publish", "bulk", "revoke", "correct"], 2)  # a key's second period
def test_any_signed_history_that_verifies_is_shown(tmp_path_factory: pytest.TempPathFactory,
                                                   operations: list[str], batch: int) -> None:
    """Whatever keys were added, revoked and added again, and whoever signed what in batches of
    any size, a signed ledger that verifies is shown by every reader: the readers' check of
    each event's signature never refuses what `verify` accepts."""
    ledger = Signed(tmp_path_factory.mktemp("any"))
    assert ledger.run("key", "add", ledger.vkeys["lab"], key="chief").exit_code == 0
    lab_in_force, records = True, 0
    for n, op in enumerate(operations):
        signer = "lab" if lab_in_force else "chief"
        if op == "publish" or (op == "correct" and records == 0):
            assert ledger.publish(signer, f"SRCH:{records:08X}").exit_code == 0
            records += 1
        elif op == "correct":
            result = ledger.run("correct", f"SRCH:{n % records:08X}", "--kind", "addendum",
                                "--notice-id", f"N{n}", "--reason", "r", key=signer)
            assert result.exit_code == 0, result.output
        elif op in ("revoke", "add") and (op == "revoke") == lab_in_force:
            assert ledger.run("key", op, ledger.vkeys["lab"], key="chief").exit_code == 0
            lab_in_force = not lab_in_force
        elif op == "other":
            added = ledger.run("key", "add", ledger.vkeys["other"], "--role", "admin", key="chief")
            assert added.exit_code == 0, added.output
        else:
            source = ledger.tmp / f"bulk{n}.jsonl"
            source.write_bytes(b"".join(orjson.dumps({
                "contract": "paper-manifest-v1.1",
                "payload": manifest(f"SRCH:{records + i:08X}")}) + b"\n" for i in range(3)))
            result = ledger.run("append", "--jsonl", str(source), "--batch-size", str(batch),
                                key=signer)
            assert result.exit_code == 0, result.output
            records += 3
    assert ledger.run("verify").exit_code == 0
    for rid in [f"SRCH:{i:08X}" for i in range(records)]:
        for args in (["show", rid], ["history", rid]):
            result = ledger.run(*args)
            assert result.exit_code == 0, (operations, args, result.output)
    for args in (["log"], ["status"], ["key", "list"]):
        assert ledger.run(*args).exit_code == 0, (operations, args)
