"""No append is planned on a record state that an edit of the file made.

Every writer (`publish`, `provenance`, `correct`, `gate`, `append --jsonl`, `import`, a
purge, a dry run, the library's ``submit``) folds the record it appends to from its stored
events, and plans on that state: the version a new manifest gets, the notice a reinstatement
lifts, the value a correction changes. It now checks those events as a reader checks what it
shows (`tests/test_tamper_show.py`): an event of the record edited with plain sqlite3 refuses
the append, exit 1, one line naming the seq (or the table), nothing written. Before, `correct`
appended on top of the edit and printed the changes as the edit made them. The attacks are
those of the readers' test, made with plain sqlite3 and ``tests/attacker.py``; the signed
ledger's are those of ``tests/test_signed_readers.py``.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from tests import attacker
from tests.conftest import manifest, provenance
from tests.test_keys import Signed
from tests.test_signed_readers import ATTACKS as SIGNED_ATTACKS
from tests.test_signed_readers import copied, signed_base
from tests.test_tamper_show import ATTACKS, RID, base, copy, run

__all__ = ["base", "copy"]  # the readers' fixtures: the same ledger, a copy per test


def _files(tmp: Path) -> dict[str, Path]:
    """The inputs of the writers below, written once per test."""
    revised = {**manifest(RID), "title": "A revised title for the record under test"}
    line = {"contract": "correction-record-v1",
            "payload": {"record_id": RID, "kind": "addendum", "reason": "Bulk addendum",
                        "notice_id": "BULK-1"}}
    paths = {"version": tmp / "v2.json", "provenance": tmp / "p.json", "lines": tmp / "l.jsonl"}
    paths["version"].write_text(json.dumps(revised))
    paths["provenance"].write_text(json.dumps(provenance(RID, claim_lineage=2)))
    paths["lines"].write_bytes(orjson.dumps(line) + b"\n")
    return paths


def writers(files: dict[str, Path]) -> list[list[str]]:
    return [
        ["correct", RID, "--kind", "clarification", "--reason", "A new clarification"],
        ["correct", RID, "--kind", "correction", "--reason", "Score again", "--set",
         "/review_score=8.7"],
        ["correct", RID, "--kind", "retraction", "--reason", "Retracted", "--dry-run"],
        ["correct", RID, "--kind", "removal", "--reason", "Court order", "--purge"],
        ["publish", str(files["version"])],
        ["provenance", str(files["provenance"])],
        ["gate", RID, "--gate", "1", "--status", "unverified", "--reason", "Not yet"],
        ["append", "--jsonl", str(files["lines"])],
    ]


def _stored(db: Path) -> list[tuple[object, ...]]:
    """Everything an append writes, read with plain sqlite3."""
    with sqlite3.connect(db) as conn:
        return [*conn.execute("SELECT * FROM events ORDER BY seq"),
                *conn.execute("SELECT * FROM tree_hashes ORDER BY pos"),
                *conn.execute("SELECT * FROM notices ORDER BY seq")]


def test_every_writer_appends_to_an_untouched_ledger(copy: Path) -> None:
    """The check refuses nothing that no one edited (each writer on a copy of its own)."""
    files = _files(copy.parent)
    for number, args in enumerate(writers(files)):
        db = copy.parent / f"w{number}.db"
        shutil.copy(copy, db)
        code, out, err = run(db, "--actor", "editor", *args)
        assert code == 0, (args, out, err)
        assert run(db, "verify")[0] == 0, args


@pytest.mark.parametrize(("edit", "says"), [(a[1], a[2]) for a in ATTACKS],
                         ids=[a[0] for a in ATTACKS])
def test_no_writer_appends_to_an_edited_record(copy: Path, edit: Callable[[Path], None],
                                               says: str) -> None:
    edit(copy)
    files = _files(copy.parent)
    before = _stored(copy)
    for args in writers(files):
        code, out, err = run(copy, "--actor", "editor", *args)
        assert code == 1, (args, code, out, err)
        assert err.startswith("Error: ") and err.count("\n") == 1, (args, err)
        assert says.format(doing="append to") in err, (args, err)
        assert "(run `ledger audit`" in err, err
        assert _stored(copy) == before, args


def test_the_library_refuses_as_the_command_does(copy: Path) -> None:
    """``Ledger.submit`` (the check is the append's, not the CLI's), and a later submit of the
    same process, which reuses the batch's states, still refuses."""
    from ledger.api import Ledger
    from ledger.errors import VerificationError

    notice = {"record_id": RID, "kind": "clarification", "reason": "Through the library"}
    ATTACKS[0][1](copy)
    with Ledger.open(copy) as ledger:
        for _ in range(2):
            with pytest.raises(VerificationError) as caught:
                ledger.submit("correction-record-v1", dict(notice), "editor")
            assert caught.value.seq == 4 and "refusing to append to" in str(caught.value)
        # another record's appends go on: the check is the record's, as a reader's is
        other = ledger.submit("correction-record-v1",
                              {**notice, "record_id": "SRCH:BF3DD431"}, "editor")
        assert other.event is not None


@pytest.fixture(scope="module")
def signed_once(tmp_path_factory: pytest.TempPathFactory) -> Signed:
    return signed_base(tmp_path_factory.mktemp("signed"))


@pytest.fixture
def signed(signed_once: Signed, tmp_path: Path) -> Signed:
    return copied(signed_once, tmp_path)


@pytest.mark.parametrize(("edit", "says", "readers_say"), [a[1:] for a in SIGNED_ATTACKS],
                         ids=[a[0] for a in SIGNED_ATTACKS])
def test_no_signed_append_builds_on_an_event_no_key_signed(
        signed: Signed, edit: Callable[..., None], says: str, readers_say: str | None) -> None:
    """A signed ledger: an event its record's readers refuse (unsigned, signed by a revoked
    key, its signature row deleted or moved) refuses an append to that record, by a key in
    force, as it refuses the readers: the new batch's signature would not vouch for it, and
    its state must not be planned on."""
    with attacker.unguarded(signed.db) as conn:
        edit(signed, conn)
        attacker.rebuild_tree(conn)
    before = _stored(signed.db)
    result = signed.run("correct", RID, "--kind", "clarification", "--reason", "On top",
                        key="chief")
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: seq ") and result.stderr.count("\n") == 1
    assert (readers_say or says) in result.stderr, result.stderr
    if readers_say is None:  # else the keyring is refused, as every append refused it before
        assert f"refusing to append to {RID}" in result.stderr, result.stderr
    assert _stored(signed.db) == before


def _notice_id_given(db: Path) -> None:
    """The other record's expression of concern (seq 5) given the id TAKEN-1 in its payload."""
    with attacker.unguarded(db) as conn:
        conn.execute("UPDATE events SET payload = json_set(payload, '$.notice_id', 'TAKEN-1') "
                     "WHERE seq = 5")


def _notice_moved(db: Path) -> None:
    """RID's correction C1 (seq 4) given a record id no record has."""
    with attacker.unguarded(db) as conn:
        conn.execute("UPDATE events SET record_id = 'SRCH:00000000' WHERE seq = 4")


@pytest.mark.parametrize(("edit", "notice_id", "seq", "owner"), [
    (_notice_id_given, "TAKEN-1", 5, "SRCH:BF3DD431"),
    (_notice_moved, "C1", 4, "SRCH:00000000"),
], ids=["payload-given-the-id", "notice-moved-off-its-record"])
def test_no_writer_refuses_a_notice_id_on_an_edited_row(
        copy: Path, edit: Callable[[Path], None], notice_id: str, seq: int, owner: str) -> None:
    """A new notice's id is looked up among the stored notices (taken by another record: the
    append is refused; the same notice re-sent: a no-op). The row found is its record's, and
    that record's events are checked before the rules decide on it: an edited row refuses the
    append naming its seq, exit 1, nothing written. Before, the edit made the answer: `Error:
    notice_id TAKEN-1 is already used by another notice on SRCH:BF3DD431`, exit 2."""
    from ledger.api import Ledger
    from ledger.errors import VerificationError

    edit(copy)
    notice = {"record_id": RID, "kind": "clarification", "reason": "Looked up",
              "notice_id": notice_id}
    lines = copy.parent / "n.jsonl"
    lines.write_bytes(orjson.dumps({"contract": "correction-record-v1", "payload": notice}) + b"\n")
    before = _stored(copy)
    for args in (["correct", RID, "--kind", "clarification", "--reason", "Looked up",
                  "--notice-id", notice_id], ["append", "--jsonl", str(lines)]):
        code, out, err = run(copy, "--actor", "editor", *args)
        assert code == 1, (args, code, out, err)
        assert err.startswith(f"Error: seq {seq}") or err.startswith("Error: line 1: seq"), err
        assert f"seq {seq}: refusing to append to {owner}" in err, err
        assert "already used" not in err and err.count("\n") == 1, err
        assert _stored(copy) == before, args
    with Ledger.open(copy) as ledger, pytest.raises(VerificationError) as caught:
        ledger.submit("correction-record-v1", dict(notice), "editor")
    assert caught.value.seq == seq
    assert _stored(copy) == before
