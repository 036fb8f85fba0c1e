"""For any generated sequence of submissions, the incrementally maintained views equal a fresh
rebuild row for row, and ``export --as-of k`` equals the export taken right after event k."""

from __future__ import annotations

import io
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.api import Ledger
from ledger.errors import RefusedInput
from ledger.storage import views
from ledger.storage.views import VIEW_TABLES
from tests.conftest import clock, manifest, provenance

RIDS = ["SRCH:00000001", "SRCH:00000002", "SRCH:0000000A"]
KINDS = ["correction", "addendum", "clarification", "expression_of_concern", "partial_retraction",
         "retraction", "withdrawal", "removal", "reinstatement"]

rid = st.sampled_from(RIDS)
publish = st.builds(lambda r, score, claims, title: ("paper-manifest-v1.1", manifest(
    r, review_score=score, source_grounded_claims=claims, title=title)),
    rid, st.sampled_from([4.0, 7.5, 9.33]), st.integers(0, 3), st.sampled_from(["A", "B"]))
facts = st.builds(lambda r, avail, lineage, reg: ("source-provenance-v1", provenance(
    r, report_artifact={"available": avail}, claim_lineage=lineage,
    external_record={"registered": reg})), rid, st.booleans(), st.integers(0, 2), st.booleans())
notice = st.builds(lambda r, kind, n, lifts, score: ("correction-record-v1", {
    "record_id": r, "kind": kind, "notice_id": f"N{n}", "reason": "because",
    **({"lifts": f"N{lifts}"} if kind == "reinstatement" else {}),
    **({"changes": [{"path": "/review_score", "value": score}]} if kind == "correction" else {}),
}), rid, st.sampled_from(KINDS), st.integers(0, 6), st.integers(0, 6), st.sampled_from([1.5, 8.0]))
gate = st.builds(lambda r, g, status: ("gate-evaluation-v1", {
    "record_id": r, "gate": g, "status": status, "reason": "r",
    "artifacts": [{"kind": "repro-script", "sha256": "ab" * 32}] if status == "VERIFIED" else [],
}), rid, st.integers(1, 3), st.sampled_from(["UNVERIFIED", "VERIFIED", "FAILED"]))
operations = st.lists(st.one_of(publish, publish, facts, notice, notice, gate), max_size=25)


def view_rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in VIEW_TABLES}


def export(ledger: Ledger, as_of: int | None = None) -> bytes:
    out = io.BytesIO()
    ledger.export(out, "jsonl", as_of)
    return out.getvalue().split(b"\n", 1)[1]  # without the header line


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_incremental_views_equal_rebuild(ops: list[tuple[str, dict[str, Any]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "l.db"
        exports: dict[int, bytes] = {}
        with Ledger.create(db, clock) as ledger:
            exports[0] = export(ledger)
            for contract, payload in ops:
                try:
                    result = ledger.submit(contract, payload, "prop")
                except RefusedInput:
                    continue
                if result.event is not None:
                    exports[result.event.seq] = export(ledger)
            incremental = view_rows(db)
            ledger.rebuild()
            assert view_rows(db) == incremental
            for seq, expected in exports.items():
                assert export(ledger, as_of=seq) == expected
            assert ledger.audit().findings == [] or all(
                f.check == "tiers" for f in ledger.audit().findings)
            assert ledger.verify().ok


def test_an_append_writes_only_changed_rows_and_mends_tampered_ones(tmp_path: Path) -> None:
    """The append path writes the difference between the record's stored view rows and its
    fresh rows; a row deleted, edited or added behind the ledger's back for the record it
    touches ends equal to a fresh rebuild."""
    db = tmp_path / "l.db"
    with Ledger.create(db, clock) as ledger:
        for r in RIDS[:2]:
            ledger.submit("paper-manifest-v1.1", manifest(r), "ed")
            ledger.submit("correction-record-v1", {"record_id": r, "kind": "addendum",
                                                   "notice_id": f"A-{r}", "reason": "x"}, "ed")
    with sqlite3.connect(db) as conn:  # as an attacker would
        conn.execute("DELETE FROM records WHERE record_id = ?", (RIDS[0],))
        conn.execute("UPDATE notices SET reason = 'edited' WHERE notice_id = ?", (f"A-{RIDS[0]}",))
        conn.execute("INSERT INTO notices SELECT 'N9', record_id, 999, kind, effective_date, "
                     "issued_by, reason, target_version, in_force, lifted_by, recorded_at, payload "
                     "FROM notices WHERE notice_id = ?", (f"A-{RIDS[1]}",))
        conn.execute("INSERT INTO versions SELECT record_id, 7, seq, type, recorded_at, title, "
                     "manifest FROM versions WHERE record_id = ?", (RIDS[0],))
    with Ledger.open(db, clock) as ledger:
        assert len(ledger.audit().findings) >= 3
        ledger.submit("correction-record-v1", {"record_id": RIDS[0], "kind": "correction",
                                               "notice_id": "N9", "reason": "y",
                                               "changes": [{"path": "/review_score", "value": 5.5}]},
                      "ed")
        incremental = view_rows(db)
        assert ledger.audit().findings == []
        ledger.rebuild()
    assert incremental == view_rows(db)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 2), st.one_of(publish, facts, notice, notice, gate)),
                max_size=30))
def test_two_handles_appending_in_turn_keep_the_views_exact(
        ops: list[tuple[int, tuple[str, dict[str, Any]]]]) -> None:
    """Each handle reuses what its last commit knew only while the head is unchanged: events
    appended through the other handle (or the bulk path) in between are always seen."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "l.db"
        with Ledger.create(db, clock) as a, Ledger.open(db, clock) as b:
            for who, (contract, payload) in ops:
                try:
                    if who == 2:  # the bulk path, which never uses a handle's carried state
                        line = orjson.dumps({"contract": contract, "payload": payload}) + b"\n"
                        a.append_jsonl(io.BytesIO(line), "bulk")
                    else:
                        (a, b)[who].submit(contract, payload, f"handle {who}")
                except RefusedInput:
                    continue
            incremental = view_rows(db)
            a.rebuild()
            assert view_rows(db) == incremental


def test_a_refused_submit_drops_what_the_handle_carried(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    with Ledger.create(db, clock) as ledger:
        ledger.submit("paper-manifest-v1.1", manifest(RIDS[0]), "ed")
        assert ledger._carry is not None
        with pytest.raises(RefusedInput):
            ledger.submit("correction-record-v1", {"record_id": RIDS[0], "kind": "reinstatement",
                                                   "notice_id": "R1", "lifts": "nothing"}, "ed")
        assert ledger._carry is None
        ledger.submit("correction-record-v1", {"record_id": RIDS[0], "kind": "retraction",
                                               "notice_id": "X1", "reason": "r"}, "ed")
        assert ledger.state(RIDS[0]).status == "RETRACTED"  # type: ignore[union-attr]
        incremental = view_rows(db)
        ledger.rebuild()
        assert view_rows(db) == incremental


def test_the_column_table_matches_the_schema(tmp_path: Path) -> None:
    """``views.COLUMNS`` (used to update rows in place) names every column in table order."""
    from ledger.storage.views import COLUMNS, PRIMARY_KEYS, create_views

    with sqlite3.connect(tmp_path / "v.db") as conn:
        create_views(conn)
        for table, columns in COLUMNS.items():
            info = conn.execute(f"PRAGMA table_info({table})").fetchall()
            assert tuple(r[1] for r in info) == columns
            keys = sorted((r[5], r[1]) for r in info if r[5])  # pk position, name
            assert tuple(columns.index(name) for _, name in keys) == PRIMARY_KEYS[table]


gate_row = st.builds(lambda g, seq, status: views.GateRow(RIDS[0], g, seq, "Gate", status, "r",
                                                          "2026-11-25T10:00:00Z", "ed", 0, "[]"),
                     st.integers(1, 5), st.integers(1, 3), st.sampled_from(["PASSED", "FAILED"]))


def _unique_gates(rows: list[views.GateRow]) -> list[views.GateRow]:
    return sorted({r.gate: r for r in rows}.values(), key=lambda r: r.gate)


@settings(max_examples=150, deadline=None)
@given(st.lists(gate_row, max_size=6).map(_unique_gates),
       st.lists(gate_row, max_size=6).map(_unique_gates))
def test_write_rows_leaves_exactly_the_new_rows(before: list[views.GateRow],
                                                after: list[views.GateRow]) -> None:
    """Whatever a record's table held (rows kept, edited, gone or new), writing the difference
    leaves exactly the new rows."""
    conn = sqlite3.connect(":memory:")
    views.create_views(conn)
    views.insert_rows(conn, {"gates": before})
    views.write_rows(conn, {"gates": before}, {"gates": after})
    assert conn.execute("SELECT * FROM gates ORDER BY gate").fetchall() == [tuple(r) for r in after]


def test_a_carried_handle_rewrites_the_row_of_a_notice_it_lifts(tmp_path: Path) -> None:
    """A handle reuses the view rows it made for what did not change (``views.rows_for``'s
    cache); a reinstatement changes the lifted notice's row, which is rewritten."""
    db = tmp_path / "l.db"
    with Ledger.create(db, clock) as ledger:
        ledger.submit("paper-manifest-v1.1", manifest(RIDS[0]), "ed")
        for n, kind in enumerate(["addendum", "retraction", "clarification"]):
            ledger.submit("correction-record-v1", {"record_id": RIDS[0], "kind": kind,
                                                   "notice_id": f"N{n}", "reason": "r"}, "ed")
        ledger.submit("correction-record-v1", {"record_id": RIDS[0], "kind": "reinstatement",
                                               "notice_id": "R1", "lifts": "N1", "reason": "r"},
                      "ed")
        ledger.submit("gate-evaluation-v1", {"record_id": RIDS[0], "gate": 1, "status": "FAILED",
                                             "reason": "r", "artifacts": []}, "ed")
        assert ledger._carry is not None  # every submit above went through the carried state
        incremental = view_rows(db)
        assert ("N1", RIDS[0]) in [(r[0], r[1]) for r in incremental["notices"] if r[8] == 0]
        ledger.rebuild()
        assert view_rows(db) == incremental


def test_a_view_row_edited_under_a_carried_handle_is_found_by_audit(tmp_path: Path) -> None:
    """An attacker who edits a view row with plain sqlite3 while a handle carries the rows it
    wrote: the handle's next append does not read the edit back (it writes what changed), and
    ``audit`` names it; ``rebuild`` gives the rows the events say."""
    db = tmp_path / "l.db"
    with Ledger.create(db, clock) as ledger:
        ledger.submit("paper-manifest-v1.1", manifest(RIDS[0]), "ed")
        ledger.submit("correction-record-v1", {"record_id": RIDS[0], "kind": "addendum",
                                               "notice_id": "A1", "reason": "x"}, "ed")
        with sqlite3.connect(db) as conn:  # as an attacker would
            conn.execute("UPDATE notices SET reason = 'edited' WHERE notice_id = 'A1'")
        ledger.submit("correction-record-v1", {"record_id": RIDS[0], "kind": "clarification",
                                               "notice_id": "A2", "reason": "y"}, "ed")
        assert ledger._carry is not None
        assert any("notices" in str(f) for f in ledger.audit().findings)
        ledger.rebuild()
        assert ledger.audit().findings == []
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT reason FROM notices WHERE notice_id = 'A1'").fetchone() == ("x",)


def test_a_handle_carries_the_records_it_touched_last(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A handle carries the states of the records it touched last, two here
    (``Batch.carry``'s bound): a record it dropped is folded again when it comes back, and
    the views stay those a rebuild gives."""
    from ledger.ops.batch import Batch

    monkeypatch.setattr(Batch.carry, "__defaults__", (2,))
    db = tmp_path / "l.db"
    with Ledger.create(db, clock) as ledger:
        for rid in RIDS:
            ledger.submit("paper-manifest-v1.1", manifest(rid), "ed")
        assert ledger._carry is not None
        assert list(ledger._carry.states) == RIDS[1:]
        assert set(ledger._carry.stored_rows) <= set(RIDS[1:])
        ledger.submit("correction-record-v1", {"record_id": RIDS[0], "kind": "retraction",
                                               "notice_id": "X1", "reason": "r"}, "ed")
        assert list(ledger._carry.states) == [RIDS[2], RIDS[0]]
        assert ledger.state(RIDS[0]).status == "RETRACTED"  # type: ignore[union-attr]
        incremental = view_rows(db)
        ledger.rebuild()
        assert view_rows(db) == incremental
