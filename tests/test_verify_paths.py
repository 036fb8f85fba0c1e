"""verify's tight loop and its general loop accept the same logs and compute the same tree.

The tight loop hands over to the general loop at the first event it cannot take plainly (here:
an actor with a quote or a backslash, whose JSON needs escaping) and resumes nothing: the
general loop finishes. Every root at every size must equal the RFC 6962 root of the leaves.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.api import Ledger
from ledger.core.events import Event, canonical_of
from ledger.model.verify import verify_events
from ledger.ops import verification
from ledger.storage import proofstore, store
from tests.conftest import clock, manifest
from tests.test_merkle import reference_root

COLUMNS_TO_EDIT = ["type", "record_id", "actor", "recorded_at", "prev_hash", "hash", "payload",
                   "delete", "delete", "delete", "move", "move"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(["ed", 'ed "quoted"', "back\\slash", "ünïcode ed"]),
                min_size=1, max_size=40))
def test_both_loops_agree_on_every_root(actors: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "l.db"
        with Ledger.create(db, clock) as ledger:
            for i, actor in enumerate(actors):
                ledger.submit("paper-manifest-v1.1", manifest(f"SRCH:{i:08X}"), actor)
        conn = sqlite3.connect(db)
        events = [Event(*row) for row in store.iter_rows(conn)]
        sizes = set(range(1, len(events) + 1))
        leaves = [hashlib.sha256(b"\x00" + canonical_of(e)).digest() for e in events]
        fast = verify_events(iter(events), capture=sizes)  # the tight loop, then the general one
        general = verify_events(iter(events), capture=sizes,  # the general loop only
                                stored_tree=proofstore.iter_tree_hashes(conn))
        conn.close()
    assert fast.ok and general.ok, (fast.reason, general.reason)
    assert fast == general
    assert all(fast.roots[n] == reference_root(leaves[:n]) for n in sizes)
    assert fast.root == reference_root(leaves)


def test_a_bad_event_after_the_tight_loop_is_named_the_same_way(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    with Ledger.create(db, clock) as ledger:
        for i in range(12):
            ledger.submit("paper-manifest-v1.1", manifest(f"SRCH:{i:08X}"), "ed")
    with sqlite3.connect(db) as conn:  # as an attacker would
        conn.execute("DROP TRIGGER events_append_only_update")
        conn.execute("UPDATE events SET actor = 'mallory' WHERE seq = 9")
    conn = sqlite3.connect(db)
    events = [Event(*row) for row in store.iter_rows(conn)]
    fast = verify_events(iter(events))
    general = verify_events(iter(events), stored_tree=proofstore.iter_tree_hashes(conn))
    conn.close()
    assert (fast.ok, fast.first_bad_seq, fast.events) == (False, 9, 8)
    assert (fast.first_bad_seq, fast.reason, fast.head_hash) == \
           (general.first_bad_seq, general.reason, general.head_hash)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 40), st.sampled_from([1, 2, 4, 8, 64]), st.integers(1, 3),
       st.one_of(st.none(), st.tuples(st.integers(1, 40), st.sampled_from(COLUMNS_TO_EDIT))))
def test_blocks_by_helpers_give_the_one_pass_report(
        n: int, block: int, helpers: int, edit: tuple[int, str] | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "l.db"
        with Ledger.create(db, clock) as ledger:
            for i in range(n):
                ledger.submit("paper-manifest-v1.1", manifest(f"SRCH:{i:08X}"), "ed")
        if edit is not None and edit[0] <= n:
            with sqlite3.connect(db) as conn:  # as an attacker would
                conn.execute("DROP TRIGGER events_append_only_update")
                conn.execute("DROP TRIGGER events_append_only_delete")
                if edit[1] == "delete":
                    conn.execute("DELETE FROM events WHERE seq = ?", (edit[0],))
                elif edit[1] == "move":  # renumbered past the end of the log
                    conn.execute("UPDATE events SET seq = seq + 1000 WHERE seq = ?", (edit[0],))
                else:
                    conn.execute(f"UPDATE events SET {edit[1]} = {edit[1]} || 'x' "
                                 "WHERE seq = ?", (edit[0],))
        conn = sqlite3.connect(db)
        one_pass = verify_events(store.iter_rows(conn))
        conn.close()
        with sqlite3.connect(db) as conn:
            size = conn.execute("SELECT MAX(seq) FROM events").fetchone()[0] or 0
        blocks = verification.verify_in_blocks(db, size, helpers=helpers, block=block)
    assert blocks._replace(roots={}) == one_pass._replace(roots={})


TREE_EDITS = ["hash", "text", "delete", "extra", "event"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 40), st.sampled_from([1, 2, 4, 8]), st.integers(1, 2),
       st.one_of(st.none(), st.tuples(st.integers(0, 120), st.sampled_from(TREE_EDITS))))
def test_blocks_compare_every_stored_tree_hash_as_one_pass(
        n: int, block: int, helpers: int, edit: tuple[int, str] | None) -> None:
    """With the connection (audit, checkpoint, verify --checkpoint), the blocks compare every
    stored tree hash — the helpers each block's own, the caller those the merging makes, and
    none beyond the log — and name the same seq, reason and valid prefix as one pass with the
    stored tree, whichever hash an attacker edits (plain sqlite3), deletes or adds."""
    with tempfile.TemporaryDirectory() as tmp:
        db = _edited_log(Path(tmp), n, edit)
        conn = sqlite3.connect(db)
        one_pass = verify_events(store.iter_rows(conn), stored_tree=proofstore.iter_tree_hashes(conn))
        blocks = verification.verify_in_blocks(db, n, helpers=helpers, block=block, conn=conn)
        conn.close()
    assert blocks._replace(roots={}) == one_pass._replace(roots={})


def _edited_log(tmp: Path, n: int, edit: tuple[int, str] | None) -> Path:
    """Return a ledger of ``n`` events in ``tmp`` whose tree is edited as an attacker would (plain
    sqlite3): a stored hash forged, stored as text, deleted, one added past the end, or an
    event's actor."""
    db = tmp / "l.db"
    with Ledger.create(db, clock) as ledger:
        for i in range(n):
            ledger.submit("paper-manifest-v1.1", manifest(f"SRCH:{i:08X}"), "ed")
    if edit is None:
        return db
    pos, how = edit
    with sqlite3.connect(db) as conn:
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"
                                    ).fetchall():
            conn.execute(f"DROP TRIGGER {name}")
        total = conn.execute("SELECT COUNT(*) FROM tree_hashes").fetchone()[0]
        pos %= total
        if how == "hash":
            conn.execute("UPDATE tree_hashes SET hash = ? WHERE pos = ?",
                         (hashlib.sha256(b"forged").digest(), pos))
        elif how == "text":
            conn.execute("UPDATE tree_hashes SET hash = hex(hash) WHERE pos = ?", (pos,))
        elif how == "delete":
            conn.execute("DELETE FROM tree_hashes WHERE pos = ?", (pos,))
        elif how == "extra":
            conn.execute("INSERT INTO tree_hashes (pos, hash) VALUES (?, ?)",
                         (total + pos % 3, hashlib.sha256(b"x").digest()))
        else:
            conn.execute("UPDATE events SET actor = 'mallory' WHERE seq = ?", (pos % n + 1,))
    return db


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 40), st.sampled_from([1, 2, 3, 5, 8, 4096]),
       st.one_of(st.none(), st.tuples(st.integers(0, 120), st.sampled_from(TREE_EDITS))),
       st.sets(st.integers(1, 40), max_size=4))
def test_the_tight_loop_compares_the_stored_tree_as_the_general_loop(
        n: int, chunk: int, edit: tuple[int, str] | None, capture: set[int]) -> None:
    """One pass with the stored tree (verify, audit) runs the tight loop over chunks of events
    and compares each chunk's tree hashes with the stored ones at once; a chunk that differs is
    checked again by the general loop. Whatever the chunk size and the edit, the report (seq,
    reason, valid prefix, head, roots) and the progress counted are the general loop's."""
    from ledger.model import verify

    with tempfile.TemporaryDirectory() as tmp:
        db = _edited_log(Path(tmp), n, edit)
        conn = sqlite3.connect(db)
        reports, counts = [], []
        saved = verify.CHUNK, verify._fast_prefix_against
        try:
            for general in (False, True):
                verify.CHUNK = chunk
                if general:  # the general loop only, as before the tight loop compared chunks
                    verify._fast_prefix_against = lambda rest, walk, progress: rest
                counted: list[int] = []
                reports.append(verify_events(store.iter_rows(conn), counted.append,
                                             proofstore.iter_tree_hashes(conn), capture))
                counts.append(sum(counted))
        finally:
            verify.CHUNK, verify._fast_prefix_against = saved
        conn.close()
    assert reports[0] == reports[1]
    assert counts[0] == counts[1] == reports[0].events


def test_helpers_are_not_asked_while_this_connection_has_writes_pending(tmp_path: Path) -> None:
    """Helper processes open the file again and see only what is committed: a connection that
    wrote in its open transaction verifies in its own process."""
    db = tmp_path / "l.db"
    with Ledger.create(db, clock) as ledger:
        ledger.submit("paper-manifest-v1.1", manifest("SRCH:00000001"), "ed")
    conn = store.open_ledger(db)
    assert not store.pending_writes(conn)
    with store.read_snapshot(conn):
        assert not store.pending_writes(conn)
    with store.write_transaction(conn):
        assert not store.pending_writes(conn)
        store.set_meta(conn, "note", "written, not committed")
        assert store.pending_writes(conn)
    raw = sqlite3.connect(db)  # not the ledger's connection: nothing is known of its writes
    raw.execute("BEGIN")
    assert store.pending_writes(raw)
    raw.close()
    conn.close()


@pytest.mark.parametrize("events", [5, 1030, 2043])
@pytest.mark.parametrize("helpers", [False, True])
def test_progress_reaches_its_true_total(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         events: int, helpers: bool) -> None:
    """The bars of verify, audit (verify, then the rules' replay), rebuild and export each end
    at exactly their total, in one process and with helper processes. verify counted in steps
    of 1,024 and never the last, short stretch: a log of 1,030 events stopped its bar at 1,024,
    one of 14 never moved it (audit made up for it; the tiles' and `checkpoint`'s did not)."""
    import io

    from bench.synth import items
    from ledger.ops import audit, maintenance

    if helpers:
        for module in (verification, maintenance):
            monkeypatch.setattr(module, "PARALLEL_FROM", 1)
        monkeypatch.setattr(audit, "PARALLEL_FROM", 1)
    lines = b"".join(orjson.dumps({"contract": c, "payload": p}) + b"\n" for c, p in items(events))
    with Ledger.create(tmp_path / "l.db", clock) as ledger:
        ledger.append_jsonl(io.BytesIO(lines), "ed")
        n = ledger.count()  # the synthetic records come ten events at a time: 10, 1,030, 2,040
        for name, run, total in (
                ("verify", ledger.verify, n), ("audit", ledger.audit, 2 * n),
                ("rebuild", ledger.rebuild, n),
                ("export", lambda p: ledger.export(io.BytesIO(), "json", None, p), n)):
            counted: list[int] = []
            run(counted.append)
            assert sum(counted) == total, (name, counted)
