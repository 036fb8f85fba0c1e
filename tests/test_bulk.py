"""`ledger append --jsonl`: batches, refusals by line, idempotency, same result as single commands."""

from __future__ import annotations

import io
import re
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
from tests import test_views_property as property_ops
from tests.conftest import Cli, clock, manifest, provenance


def lines(n: int) -> list[dict[str, Any]]:
    """Return n JSONL items: a record, its provenance and a notice per group of three."""
    out: list[dict[str, Any]] = []
    for i in range(n // 3):
        rid = f"SRCH:{i:08X}"
        out += [{"contract": "paper-manifest-v1.1", "payload": manifest(rid)},
                {"contract": "source-provenance-v1", "payload": provenance(rid, claim_lineage=i)},
                {"contract": "correction-record-v1", "actor": "ed", "payload": {
                    "record_id": rid, "kind": "correction", "notice_id": f"C{i}", "reason": "r",
                    "changes": [{"path": "/review_score", "value": 5.5}]}}]
    return out


def jsonl(items: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(item) + b"\n" for item in items)


@pytest.mark.parametrize("event_format", [1, 2])
def test_bulk_equals_single_commands(tmp_path: Path, event_format: int) -> None:
    """Byte for byte in format v1; in v2 every salt is fresh, so the salts, commitments and
    hashes differ and everything else is the same."""
    items = lines(30)
    bulk_db, single_db = tmp_path / "bulk.db", tmp_path / "single.db"
    with Ledger.create(bulk_db, clock, event_format=event_format) as ledger:
        result = ledger.append_jsonl(io.BytesIO(jsonl(items)), "tester", batch_size=7)
        assert (result.appended, result.batches) == (30, 5)
    with Ledger.create(single_db, clock, event_format=event_format) as ledger:
        for item in items:
            ledger.submit(item["contract"], item["payload"], item.get("actor", "tester"))
    salted = {"salts", "commitments", "hash", "prev_hash", "last_hash", "value"}
    for table in ("events", "records", "notices", "versions", "gates", "view_meta"):
        with sqlite3.connect(bulk_db) as a, sqlite3.connect(single_db) as b:
            names = [r[1] for r in a.execute(f"PRAGMA table_info({table})")]
            if event_format == 2:
                names = [n for n in names if n not in salted]
            order = "1, 2" if len(names) > 1 else "1"
            dump = f"SELECT {', '.join(names)} FROM {table} ORDER BY {order}"
            assert a.execute(dump).fetchall() == b.execute(dump).fetchall()


def test_a_bad_line_keeps_earlier_batches_only(cli: Cli, tmp_path: Path) -> None:
    items = lines(12)
    too_high = manifest("SRCH:0000000F", review_score=12)
    items.insert(8, {"contract": "paper-manifest-v1.1", "payload": too_high})
    source = tmp_path / "in.jsonl"
    source.write_bytes(jsonl(items))
    result = cli("append", "--jsonl", str(source), "--batch-size", "4")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: LINE 9: paper-manifest-v1.1: review_score")
    assert "8 event(s) from earlier batches were kept" in result.stderr
    assert cli.json("verify")["events"] == 8
    del items[8]
    source.write_bytes(jsonl(items))
    out = cli.json("append", "--jsonl", str(source))
    assert (out["appended"], out["unchanged"], out["resumed"]) == (4, 0, 8)
    again = cli.json("append", "--jsonl", str(source), "--batch-size", "5")
    assert (again["appended"], again["resumed"]) == (0, 12)
    assert cli("audit").exit_code == 0


@pytest.mark.parametrize(("line", "says"), [
    (b"{not json", "LINE 2: malformed JSON"),
    (b'{"contract": "paper-manifest-v9", "payload": {}}', "LINE 2: unknown contract"),
    (b'{"payload": {}}', "LINE 2: expected"),
    (b'{"contract": "paper-manifest-v1.1", "payload": {}, "extra": 1}', "LINE 2: unknown key"),
    (b'{"contract": "paper-manifest-v1.1", "payload": {}, "actor": ""}',
     "LINE 2: the actor must be a non-empty string"),
    (b'{"contract": "paper-manifest-v1.1", "payload": {}, "actor": "a\\u001b[2Jb"}',
     "LINE 2: the actor's name holds U+001B, which is not printable"),
    (b'{"contract": "correction-record-v1", "payload": {"record_id": "SRCH:99999999", '
     b'"kind": "retraction", "reason": "x"}}', "LINE 2: unknown record"),
])
def test_bad_lines(cli: Cli, tmp_path: Path, line: bytes, says: str) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(jsonl(lines(3)[:1]) + line + b"\n")
    before = cli.snapshot()
    result = cli("append", "--jsonl", str(source))
    assert result.exit_code == 2 and says in result.stderr, result.stderr
    assert "nothing was written" in result.stderr
    assert cli.snapshot() == before


def test_a_different_file_is_not_skipped(cli: Cli, tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_bytes(jsonl(lines(6)))
    second.write_bytes(jsonl(lines(12)[6:]))
    assert cli.json("append", "--jsonl", str(first))["appended"] == 6
    out = cli.json("append", "--jsonl", str(second))
    assert (out["appended"], out["resumed"]) == (6, 0)
    both = tmp_path / "c.jsonl"
    both.write_bytes(jsonl(lines(12)))
    out = cli.json("append", "--jsonl", str(both))
    assert (out["appended"], out["unchanged"], out["resumed"]) == (0, 6, 6)


def test_stdin_and_blank_lines(cli: Cli) -> None:
    data = b"\n" + jsonl(lines(3)) + b"\n\n"
    result = cli("append", "--jsonl", "-", input=data)
    assert result.exit_code == 0 and result.stdout.startswith("Appended 3 event(s) in 1 batch(es)")


def test_batch_size_must_be_positive(tmp_path: Path) -> None:
    with Ledger.create(tmp_path / "l.db", clock) as ledger, pytest.raises(RefusedInput):
        ledger.append_jsonl(io.BytesIO(b""), "x", batch_size=0)


def _synthetic(n: int) -> list[dict[str, Any]]:
    from bench.synth import items as synth_items

    out = [{"contract": c, "payload": p} for c, p in synth_items(n)]
    out[5]["actor"] = "other"  # a line's own actor
    out[7]["payload"] = {**out[7]["payload"], "record_id": out[7]["payload"]["record_id"].lower()}
    return out


def test_helpers_prepare_what_the_writer_would(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same file appended with helper processes preparing its lines and without: the same
    events (but for the fresh salts), the same views; a blank line and a line the helpers cannot
    prepare (an unknown record) go the writer's way and are refused with the same message."""
    from ledger.ops import bulkprep
    from ledger.ops.batch import Batch

    prepared = []
    plain = Batch.add_prepared
    monkeypatch.setattr(Batch, "add_prepared", lambda self, p: prepared.append(p) or plain(self, p))
    items = _synthetic(700)
    source = tmp_path / "in.jsonl"
    source.write_bytes(jsonl(items[:300]) + b"\n" + jsonl(items[300:]))
    dbs = {}
    for name, threshold in (("serial", 10**9), ("helpers", 10)):
        monkeypatch.setattr(bulkprep, "PARALLEL_FROM", threshold)
        dbs[name] = tmp_path / f"{name}.db"
        with Ledger.create(dbs[name], clock) as ledger, source.open("rb") as handle:
            result = ledger.append_jsonl(handle, "tester", batch_size=97)
            assert result.appended + result.unchanged == len(items)
        assert len(prepared) == (0 if name == "serial" else len(items))
    salted = {"salts", "commitments", "hash", "prev_hash", "last_hash", "value"}
    with sqlite3.connect(dbs["serial"]) as a, sqlite3.connect(dbs["helpers"]) as b:
        for table in ("events", "records", "notices", "versions", "gates", "view_meta"):
            names = [r[1] for r in a.execute(f"PRAGMA table_info({table})") if r[1] not in salted]
            dump = f"SELECT {', '.join(names)} FROM {table} ORDER BY {'1, 2' if len(names) > 1 else '1'}"
            assert a.execute(dump).fetchall() == b.execute(dump).fetchall(), table
    with Ledger.open(dbs["helpers"], clock) as ledger:
        assert ledger.verify().ok and ledger.audit().ok
    # a refused line: the same message, line number and kept events either way
    bad = tmp_path / "bad.jsonl"
    broken = {"contract": "correction-record-v1", "payload": {
        "record_id": "SRCH:0BADBAD0", "kind": "retraction", "reason": "r"}}
    bad.write_bytes(jsonl(items[:400]) + jsonl([broken]) + jsonl(items[400:]))
    said = []
    for name, threshold in (("serial", 10**9), ("helpers", 10)):
        monkeypatch.setattr(bulkprep, "PARALLEL_FROM", threshold)
        with Ledger.create(tmp_path / f"bad-{name}.db", clock) as ledger, bad.open("rb") as handle:
            with pytest.raises(RefusedInput) as caught:
                ledger.append_jsonl(handle, "tester", batch_size=100)
            said.append(str(caught.value))
    assert said[0] == said[1] and said[0].startswith("LINE 401: unknown record SRCH:0BADBAD0")


def test_helpers_resume_an_interrupted_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ledger.ops import bulkprep

    monkeypatch.setattr(bulkprep, "PARALLEL_FROM", 10)
    items = _synthetic(600)
    source = tmp_path / "in.jsonl"
    source.write_bytes(jsonl(items[:250]))
    db = tmp_path / "l.db"
    with Ledger.create(db, clock) as ledger, source.open("rb") as handle:
        assert ledger.append_jsonl(handle, "tester", batch_size=50).appended == 250
    source.write_bytes(jsonl(items))  # the run is re-started with the whole file
    with Ledger.open(db, clock) as ledger, source.open("rb") as handle:
        again = ledger.append_jsonl(handle, "tester", batch_size=50)
        assert (again.resumed, again.appended) == (250, 350)
        assert ledger.head()[0] == 600 and ledger.audit().ok


def test_audit_replays_in_helpers_with_the_same_findings(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """audit's replay of the rules in helper processes (a large ledger) finds exactly what one
    process finds, in the same order: here view rows and search index rows edited behind the
    ledger's back, with plain sqlite3, in records at both ends of the id range."""
    from ledger.ops import audit as audit_module
    from ledger.ops.editor import search

    db = tmp_path / "l.db"
    with Ledger.create(db, clock) as ledger:
        ledger.append_jsonl(io.BytesIO(jsonl(_synthetic(400))), "tester")
        assert search(ledger.conn, "routing")  # the search index, made
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE records SET status = 'CURRENT' WHERE record_id = "
                     "(SELECT MAX(record_id) FROM records)")
        conn.execute("UPDATE records SET title = 'Forged' WHERE record_id = "
                     "(SELECT MIN(record_id) FROM records)")
        for end in ("MIN", "MAX"):
            conn.execute(f"DELETE FROM search_records WHERE record_id = "
                         f"(SELECT {end}(record_id) FROM search_records)")
    reports = {}
    plain = audit_module._start_replay
    for name, threshold in (("serial", 10**9), ("helpers", 10)):
        monkeypatch.setattr(audit_module, "PARALLEL_FROM", threshold)
        started: list[Any] = []
        monkeypatch.setattr(audit_module, "_start_replay",
                            lambda conn, started=started: started.extend(plain(conn)) or started)
        with Ledger.open(db, clock) as ledger:
            reports[name] = ledger.audit().as_json()
        assert len(started) == (0 if name == "serial" else 2)
    assert reports["serial"] == reports["helpers"]
    found = reports["serial"]["findings"]
    assert not reports["serial"]["ok"] and len(found) >= 4
    assert [f["check"] for f in found].count("search index") >= 2, found


@pytest.mark.parametrize("caller_froze", [False, True])
def test_a_bulk_append_leaves_the_cycle_collector_as_it_found_it(tmp_path: Path,
                                                                 caller_froze: bool) -> None:
    """A bulk append runs the collector less often (``bulk._collecting_less``); afterwards its
    thresholds and frozen objects are the caller's again, whether it succeeded or refused a
    line, and objects a caller froze stay frozen."""
    import gc

    threshold = gc.get_threshold()
    if caller_froze:
        gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        good = orjson.dumps({"contract": "paper-manifest-v1.1", "payload": manifest()}) + b"\n"
        with Ledger.create(tmp_path / "l.db", clock) as ledger:
            ledger.append_jsonl(io.BytesIO(good), "ed")
            assert (gc.get_threshold(), gc.get_freeze_count()) == (threshold, frozen)
            with pytest.raises(RefusedInput):
                ledger.append_jsonl(io.BytesIO(b"{not json\n"), "ed")
            assert (gc.get_threshold(), gc.get_freeze_count()) == (threshold, frozen)
    finally:
        gc.unfreeze()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(property_ops.publish, property_ops.facts, property_ops.notice,
                          property_ops.notice, property_ops.gate), max_size=30),
       st.integers(1, 12), st.integers(1, 8), st.booleans())
def test_a_bulk_append_does_what_single_submits_do(ops: list[tuple[str, dict[str, Any]]],
                                                   batch_size: int, held: int,
                                                   helpers: bool) -> None:
    """Whatever the lines and the batch size, with helpers preparing the lines or not: the lines
    single submits take (appended or no-ops), appended in bulk, give the same events (but for
    the salts) and the same views; the whole sequence is refused at the first line a single
    submit refuses, with the same reason. A bulk append holds a batch's events and inserts them
    together, so this covers what a batch reads before they are inserted: a notice id used
    earlier in the batch, a record appended to earlier in the batch (``held``: how many events
    wait at most)."""
    from ledger.ops import batch, bulkprep

    items = [{"contract": c, "payload": p, "actor": "prop"} for c, p in ops]
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as patch:
        patch.setattr(bulkprep, "PARALLEL_FROM", 1 if helpers else 10**9)
        patch.setattr(batch, "HELD_EVENTS", held)
        single, bulk, source = Path(tmp) / "s.db", Path(tmp) / "b.db", Path(tmp) / "in.jsonl"
        taken, first_refused = [], None
        with Ledger.create(single, clock) as ledger:
            for number, item in enumerate(items, start=1):
                try:
                    ledger.submit(item["contract"], item["payload"], "prop")
                    taken.append(item)
                except RefusedInput as exc:
                    first_refused = first_refused or f"LINE {number}: {exc} ("
        source.write_bytes(jsonl(taken))
        with Ledger.create(bulk, clock) as ledger, source.open("rb") as handle:
            ledger.append_jsonl(handle, "prop", batch_size=batch_size)
            assert ledger.verify().ok
        salted = {"salts", "commitments", "hash", "prev_hash", "last_hash", "value"}
        with sqlite3.connect(single) as a, sqlite3.connect(bulk) as b:
            for table in ("events", "records", "notices", "versions", "gates", "view_meta"):
                names = [r[1] for r in a.execute(f"PRAGMA table_info({table})")
                         if r[1] not in salted]
                order = "1, 2" if len(names) > 1 else "1"
                dump = f"SELECT {', '.join(names)} FROM {table} ORDER BY {order}"
                assert a.execute(dump).fetchall() == b.execute(dump).fetchall(), table
        if first_refused is not None:
            source.write_bytes(jsonl(items))
            with Ledger.create(Path(tmp) / "r.db", clock) as ledger, source.open("rb") as handle:
                with pytest.raises(RefusedInput) as caught:
                    ledger.append_jsonl(handle, "prop", batch_size=batch_size)
                assert str(caught.value).startswith(first_refused)
                assert ledger.verify().ok


def test_a_batch_holding_its_events_folds_a_record_with_them(tmp_path: Path) -> None:
    """A batch that holds its events (a bulk append's) inserts them before it reads a record
    of theirs from the events table again, so the fold sees every event appended."""
    from ledger.ops.batch import Batch
    from ledger.storage import store

    with Ledger.create(tmp_path / "l.db", clock) as ledger, store.write_transaction(ledger.conn):
        batch = Batch(ledger.conn, clock, hold_events=True)
        rid = batch.add("paper-manifest-v1.1", manifest(), "ed").record_id
        batch.add("source-provenance-v1", provenance(rid), "ed")
        assert store.record_events(ledger.conn, rid) == []  # held
        del batch.states[rid]
        state = batch.state(rid)
        assert state is not None and state.version == 1 and state.provenance is not None
        batch.flush()
        assert [e.seq for e in store.record_events(ledger.conn, rid)] == [1, 2]


def test_a_line_longer_than_any_event_is_refused_unread(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A line of more than 64 MiB (`files.DOCUMENT_MOST`) is refused by its number, with or
    without helpers, and the batches before it are kept; `/dev/zero` (one line that never ends)
    is refused the same way instead of filling the memory."""
    from ledger.ops import bulkprep
    from ledger.ops.files import DOCUMENT_MOST

    items = _synthetic(450)
    source = tmp_path / "long.jsonl"
    with source.open("wb") as out:
        out.write(jsonl(items[:400]))
        out.write(b'{"contract": "paper-manifest-v1.1", "payload": {"title": "')
        out.write(b"x" * DOCUMENT_MOST + b'"}}\n')
        out.write(jsonl(items[400:]))
    for name, threshold in (("serial", 10**9), ("helpers", 10)):
        monkeypatch.setattr(bulkprep, "PARALLEL_FROM", threshold)
        with Ledger.create(tmp_path / f"{name}.db", clock) as ledger, source.open("rb") as handle:
            with pytest.raises(RefusedInput) as caught:
                ledger.append_jsonl(handle, "tester", batch_size=100)
            assert str(caught.value).startswith("LINE 401: the line holds more than 64 MiB")
            assert "400 event(s) from earlier batches were kept" in str(caught.value)
            assert ledger.head()[0] == 400
    cli = Cli(tmp_path / "serial.db", tmp_path)
    result = cli("append", "--jsonl", "/dev/zero")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: LINE 1: the line holds more than 64 MiB")


def test_lines_read_while_looking_for_a_recorded_prefix_go_to_disk(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A re-run reads up to the longest recorded run looking for its prefix; past
    HELD_IN_MEMORY bytes the lines it holds meanwhile are in a temporary file, so a new input
    after a run of 10⁶ lines does not hold 10⁶ lines in memory. Resuming, and not resuming a
    different input, work the same way from the file."""
    from ledger.ops import bulk

    monkeypatch.setattr(bulk, "HELD_IN_MEMORY", 2048)
    rolled: list[bool] = []
    clear = bulk._Held.clear

    def clear_and_note(held: Any) -> None:
        rolled.append(held.file._rolled)
        clear(held)

    monkeypatch.setattr(bulk._Held, "clear", clear_and_note)
    items = _synthetic(300)
    first, other = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_bytes(jsonl(items[:200]))
    other.write_bytes(re.sub(rb'"N([0-9]+-[0-9]+)"', rb'"O\1"', jsonl(items[:200]))
                      .replace(b"BENCH:", b"OTHER:").replace(b"bench:", b"other:"))
    with Ledger.create(tmp_path / "l.db", clock) as ledger:
        with first.open("rb") as handle:
            assert ledger.append_jsonl(handle, "t", batch_size=100).appended == 200
        with other.open("rb") as handle:  # 200 lines held and read back: none is skipped
            assert (ledger.append_jsonl(handle, "t").appended, ledger.head()[0]) == (200, 400)
        first.write_bytes(jsonl(items))
        with first.open("rb") as handle:
            again = ledger.append_jsonl(handle, "t", batch_size=100)
        assert (again.resumed, again.appended, rolled) == (200, 100, [True, True])
        assert ledger.verify().ok and ledger.audit().ok


def test_a_full_disk_says_what_the_bulk_append_kept(tmp_path: Path) -> None:
    """SQLite's `max_page_count` stands in for a full disk: the batch that does not fit is rolled
    back, the message says how many events earlier batches kept, and a re-run continues."""
    from ledger.errors import StoreError

    source = tmp_path / "in.jsonl"
    source.write_bytes(jsonl(_synthetic(600)))
    with Ledger.create(tmp_path / "l.db", clock) as ledger:
        pages = ledger.conn.execute("PRAGMA page_count").fetchone()[0]
        ledger.conn.execute(f"PRAGMA max_page_count = {pages + 160}")
        with source.open("rb") as handle, pytest.raises(StoreError) as full:
            ledger.append_jsonl(handle, "t", batch_size=100)
        kept = ledger.head()[0]
        assert 0 < kept < 600 and kept % 100 == 0
        assert str(full.value).startswith("the disk is full: ")
        assert f"{kept} event(s) from earlier batches were kept" in str(full.value)
        ledger.conn.execute("PRAGMA max_page_count = 1073741823")
        with source.open("rb") as handle:
            again = ledger.append_jsonl(handle, "t", batch_size=100)
        assert (again.resumed, ledger.head()[0]) == (kept, 600) and ledger.verify().ok
