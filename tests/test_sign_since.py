"""Signing from the last checkpoint this key signed (``ledger tiles --key``): the events after it
get every check of ``verify``, the ones before are fixed by its signed root. It must sign exactly
what a full verification would sign, and refuse what a full verification refuses among the new
events, the stored tree and the event the old checkpoint ends at (attacks with plain sqlite3)."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.api import Ledger
from ledger.core.note import parse_signer
from ledger.errors import LedgerError
from ledger.ops.keys import generate
from tests import attacker
from tests.conftest import Cli, clock, manifest

SKEY, VKEY = generate("example.org/log")


def lines(n: int, start: int) -> bytes:
    return b"".join(orjson.dumps({"contract": "paper-manifest-v1.1",
                                  "payload": manifest(f"SRCH:{start + i:08X}", title=f"t{i}")}) + b"\n"
                    for i in range(n))


def grow(db: Path, n: int, start: int) -> None:
    with Ledger.open(db, clock) as ledger:
        ledger.append_jsonl(io.BytesIO(lines(n, start)), "ed")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.integers(0, 40), min_size=1, max_size=5))
def test_it_signs_what_a_full_verification_signs(tmp_path_factory: pytest.TempPathFactory,
                                                  steps: list[int]) -> None:
    """The log grows by each step and is signed from the last checkpoint each time; on a copy of
    the same file a full verification signs the same note (Ed25519 is deterministic)."""
    tmp = tmp_path_factory.mktemp("since")
    db, start = tmp / "l.db", 3
    with Ledger.create(db, clock) as ledger:
        ledger.append_jsonl(io.BytesIO(lines(start, 0)), "ed")
    for n in steps:
        if n:
            grow(db, n, start)
            start += n
        copy = tmp / "copy.db"
        copy.unlink(missing_ok=True)
        with sqlite3.connect(db) as source, sqlite3.connect(copy) as target:
            source.backup(target)
        with Ledger.open(copy, clock) as full:
            expected = full.checkpoint(parse_signer(SKEY))[0]
        assert sign_since(db) == expected


@pytest.fixture
def signed_twice(tmp_path: Path) -> Path:
    """A ledger of 20 events with a checkpoint of this key at 13, then 7 more events."""
    db = tmp_path / "l.db"
    with Ledger.create(db, clock) as ledger:
        ledger.append_jsonl(io.BytesIO(lines(13, 0)), "ed")
        ledger.checkpoint(parse_signer(SKEY))
    grow(db, 7, 13)
    return db


def sign_since(db: Path) -> str:
    with Ledger.open(db, clock) as ledger:
        return ledger.checkpoint(parse_signer(SKEY), since_signed=True)[0]


@pytest.mark.parametrize("seq", [13, 14, 17, 20])
def test_an_edited_event_from_the_old_checkpoint_on_is_refused(signed_twice: Path, seq: int) -> None:
    with attacker.unguarded(signed_twice) as conn:
        conn.execute("UPDATE events SET actor = 'mallory' WHERE seq = ?", (seq,))
    with pytest.raises(LedgerError, match=r"refusing to sign|tree_hashes"):
        sign_since(signed_twice)


def test_a_rewritten_tail_with_hashes_recomputed_is_refused(signed_twice: Path) -> None:
    """The tail after the old checkpoint rewritten with every hash and the tree recomputed: the
    new events verify, but the stored tree no longer gives the old checkpoint's root."""
    with attacker.unguarded(signed_twice) as conn:
        attacker.rechain(conn, lambda env: env.update(actor="mallory") if env["seq"] >= 10 else None)
        attacker.rebuild_tree(conn)
    with pytest.raises(LedgerError, match=r"tree_hashes|refusing to sign"):
        sign_since(signed_twice)


def test_an_edited_tree_hash_is_refused_where_the_signature_depends_on_it(signed_twice: Path) -> None:
    """Every stored hash the new root is computed from or checked against — the old checkpoint's
    compact range, the path of the event it ends at, every hash after it — is refused when edited.
    A hash below the old compact range is not read (the old signed root fixes those leaves): the
    note signed is then the true one, and `audit` still names the edit."""
    from ledger.core.merkle import frontier_positions, stored_count, stored_index

    with Ledger.open(signed_twice, clock) as ledger:
        true_root = ledger.verify().root
    read = [stored_index(level, index) for level, index in frontier_positions(13)]
    read += list(range(stored_count(13), stored_count(20)))
    for position in [*read, stored_index(0, 12)]:
        db = signed_twice.with_name(f"t{position}.db")
        with sqlite3.connect(signed_twice) as source, sqlite3.connect(db) as target:
            source.backup(target)
        with attacker.unguarded(db) as conn:
            conn.execute("UPDATE tree_hashes SET hash = zeroblob(32) WHERE pos = ?", (position,))
        with pytest.raises(LedgerError):
            sign_since(db)
    db = signed_twice.with_name("below.db")
    with sqlite3.connect(signed_twice) as source, sqlite3.connect(db) as target:
        source.backup(target)
    with attacker.unguarded(db) as conn:
        conn.execute("UPDATE tree_hashes SET hash = zeroblob(32) WHERE pos = 0")  # leaf 0
    note = sign_since(db)
    import base64

    assert base64.b64decode(note.split("\n")[2]) == true_root
    with Ledger.open(db, clock) as ledger:
        assert not ledger.audit().ok  # which compares every stored hash with the events


def test_a_table_at_fault_is_named_where_it_said_seq_0(cli: Cli, tmp_path: Path) -> None:
    """With a trigger dropped (plain sqlite3) after the key's last checkpoint, and nothing
    appended since, signing again finds no event at fault but the events table's schema: the
    refusal said `seq 0: refusing to sign: schema: …`, naming an event there is none of. It
    now names the table, exit 1, and stores nothing; `tiles --checkpoint` says the same."""
    published_rid = "SRCH:0000000A"
    assert cli("publish", cli.file(manifest(published_rid))).exit_code == 0
    key, vkey = tmp_path / "k.key", tmp_path / "k.vkey"
    vkey.write_text(cli("keygen", "example.org/log", "-o", str(key)).stdout)
    checkpoint = tmp_path / "cp.txt"
    assert cli("checkpoint", "--key", str(key), "-o", str(checkpoint)).exit_code == 0
    with sqlite3.connect(cli.db) as conn:
        conn.execute("DROP TRIGGER events_append_only_update")
    for args, doing in ((["checkpoint", "--key", str(key)], "refusing to sign"),
                        (["site", str(tmp_path / "site"), "--key", str(key)], "refusing to sign"),
                        (["tiles", str(tmp_path / "t"), "--checkpoint", str(checkpoint)],
                         "the log does not verify")):
        result = cli(*args)
        assert result.exit_code == 1 and result.stderr.startswith(
            f"Error: {doing}: table events: schema: trigger events_append_only_update is "
            "missing from the schema"), (args, result.output)
        assert "seq 0" not in result.stderr
    with sqlite3.connect(cli.db) as conn:
        assert conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0] == 1
