"""The benchmark (``make bench``), run small: its durable-append measurement alternates its
sides and counts the pages one append writes from the write-ahead log; a run's figures are set
beside the runs before."""

from __future__ import annotations

import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.bench import (
    against_history,
    bulk_append,
    child,
    cli_call,
    durable_appends,
    leaf_ceiling,
    median_rounds,
    rehash_ceiling,
    tiles_bench,
    write_jsonl,
)
from bench.instructions import counted, measure
from ledger.api import Ledger
from ledger.core.merkle import Frontier, leaf_hash
from tests.conftest import manifest


def test_durable_appends_count_the_pages_an_append_writes(tmp_path: Path) -> None:
    found = durable_appends(tmp_path, n=5, rounds=1)
    # at least a page each of events, tree_hashes, records, notices and view_meta
    assert 5 <= found["single_pages"] <= 20, found
    assert found["single_ratio"] == found["single_append_eps"] / found["fsync_ceiling_eps"]
    assert found["same_pages_eps"] > 0 and found["fsync_ceiling_eps"] > 0
    assert found["single_cpu_ms"] > 0
    assert found["fsync_ceiling_ms"] == 1000 / found["fsync_ceiling_eps"]


def test_one_cli_call_is_timed_beside_sqlite_utils(tmp_path: Path) -> None:
    """Both commands really run (a failing one stops the bench), in turn, and the ratio is of
    the two medians."""
    found = cli_call(tmp_path, runs=3)
    assert found["cli_ratio"] == found["cli_ms"] / found["sqlite_utils_ms"]
    assert found["cli_ms"] > 0 and found["sqlite_utils_ms"] > 0
    with sqlite3.connect(tmp_path / "cli.db") as conn:  # each round's notice was appended
        assert {r[0] for r in conn.execute("SELECT notice_id FROM notices")} >= {
            "CLI-0", "CLI-1", "CLI-2"}


def test_the_sides_of_a_group_run_in_turn_and_each_keeps_its_median_round() -> None:
    """Bulk append with its ceilings, verify with its ceilings and audit, rebuild, one CLI call
    beside sqlite-utils: each side runs once per round, the sides one after the other in every
    round (so that a drift of the VM's speed falls on all of them alike), and each keeps its
    median round by its seconds, whether a side gives the seconds alone or a tuple that starts
    with them."""
    order: list[str] = []
    times = {"verify": iter([(3.0, "a"), (1.0, "b"), (2.0, "c")]), "ceiling": iter([0.5, 0.9, 0.1])}

    def side(name: str) -> Any:
        order.append(name)
        return next(times[name])

    got = median_rounds({"verify": lambda: side("verify"), "ceiling": lambda: side("ceiling")}, 3)
    assert order == ["verify", "ceiling"] * 3
    assert got == {"verify": (2.0, "c"), "ceiling": 0.5}


def test_each_round_of_bulk_append_writes_a_new_ledger_in_place_of_the_last(tmp_path: Path) -> None:
    """Bulk append runs in rounds too: a round replaces the ledger of the round before (its file,
    write-ahead log and shared memory), so the ledger every later stage reads holds the input's
    events once."""
    source, db = tmp_path / "in.jsonl", tmp_path / "l.db"
    events = write_jsonl(source, 30)
    for _ in range(2):
        seconds, writer_cpu, helpers_cpu = bulk_append(db, source)
        assert seconds > 0 and writer_cpu > 0 and helpers_cpu >= 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == events
    with Ledger.open(db) as ledger:
        assert ledger.verify().ok


def test_bulk_appends_peak_memory_is_measured_in_a_process_of_its_own(tmp_path: Path) -> None:
    """The bulk append's peak RSS comes from a run in a child process, into a new ledger of its
    own: that ledger holds every line's event, and it verifies."""
    source, db = tmp_path / "in.jsonl", tmp_path / "m.db"
    events = write_jsonl(source, 50)
    seconds, _, peak_kib, cpu, _ = child("bulk", db, str(source))
    assert seconds > 0 and cpu > 0 and 10_000 < peak_kib < 2_000_000
    with Ledger.open(db) as ledger:
        assert ledger.head()[0] == events and ledger.verify().ok


def test_the_tiles_and_their_ceiling_run_in_rounds_into_folders_of_their_own(tmp_path: Path) -> None:
    """The tiles and the plain-file ceiling are timed in turn, a round each into new folders,
    and each keeps its median; the monitor follows the last round's tiles; nothing the stage
    wrote is left behind, and the ledger it was given is not changed (it works on a copy)."""
    source, db = tmp_path / "in.jsonl", tmp_path / "l.db"
    events = write_jsonl(source, 200)
    bulk_append(db, source)
    before = sorted(tmp_path.iterdir())
    found = tiles_bench(db, tmp_path, rounds=2)
    assert len(found["tiles_each_s"]) == len(found["tiles_ceiling_each_s"]) == 2
    assert found["tiles_s"] in found["tiles_each_s"]
    assert found["tiles_ratio"] == found["tiles_ceiling_s"] / found["tiles_s"]
    assert found["tiles_s"] > 0 and found["tiles_ceiling_s"] > 0 and found["monitor_s"] > 0
    assert found["tiles_files"] >= 3 and found["tiles_mb"] > 0  # entries, a hash tile, checkpoint
    assert found["tiles_incremental_files"] > 0
    assert sorted(tmp_path.iterdir()) == before
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == events

def test_a_regression_is_named_against_the_runs_before() -> None:
    """`make bench` prints each tracked figure beside the run before and the range of every
    earlier run of that size, and names one worse (or better) than all of them."""
    def run(bulk: float, audit: float, single: float) -> dict[str, Any]:
        return {"results": {"10000": {"bulk_valid_ratio": bulk, "audit_verify": audit}},
                "once": {"single_ratio": single}}

    history = [run(0.15, 2.5, 0.35), run(0.17, 2.0, 0.3)]
    shown = against_history({10_000: {"bulk_valid_ratio": 0.11, "audit_verify": 1.5,
                                      "tiles_ratio": 0.4}},
                            {"single_ratio": 0.31, "cli_ratio": 1.2}, history)
    rows = {tuple(cell.strip() for cell in line.split("|")[1:3]): line for line in shown.splitlines()}
    assert rows[("bulk append / ceiling 2", "10,000")].endswith(
        "| 0.11 | 0.17 | 0.15–0.17 (2) | worse than every earlier run |")
    assert rows[("audit / verify", "10,000")].endswith(
        "| 1.50 | 2.00 | 2.00–2.50 (2) | better than every earlier run |")
    assert rows[("tiles / plain files", "10,000")].endswith("| - | - | the first |")
    assert rows[("durable single append / fsync ceiling", "-")].endswith(
        "| 0.31 | 0.30 | 0.30–0.35 (2) |  |")
    assert ("verify / ceiling 1", "10,000") not in rows  # this run has no such figure


@pytest.mark.parametrize("event_format", [1, 2])
def test_the_verify_ceiling_hashes_every_stored_field_into_the_tree(tmp_path: Path,
                                                                    event_format: int) -> None:
    """Ceiling 1 does the work it stands for: its root is the RFC 6962 root over one leaf per
    event of that event's stored fields, each size from 1 to 9 (every shape of the frontier)."""
    db = tmp_path / "l.db"
    with Ledger.create(db, event_format=event_format) as ledger:
        for size in range(1, 10):
            ledger.submit(*(("paper-manifest-v1.1", manifest()) if size == 1 else (
                "correction-record-v1", {"record_id": "SRCH:03BE3A05", "kind": "addendum",
                                         "notice_id": f"A{size}", "reason": "r"})), "bench")
            column = "commitments" if event_format == 2 else "payload"
            conn = sqlite3.connect(db)
            frontier = Frontier()
            for row in conn.execute(f"SELECT seq, type, record_id, contract, {column}, actor, "
                                    "recorded_at, prev_hash FROM events ORDER BY seq"):
                frontier.append(leaf_hash("".join(map(str, row)).encode()))
            conn.close()
            assert leaf_ceiling(db)[1] == frontier.root()
    assert rehash_ceiling(db) > 0


needs_valgrind = pytest.mark.skipif(shutil.which("valgrind") is None,
                                    reason="valgrind is not installed (.ci/run installs it)")


@needs_valgrind
def test_a_command_that_fails_under_valgrind_gives_no_count() -> None:
    assert counted([sys.executable, "-S", "-c", "pass"]) > 0
    with pytest.raises(RuntimeError, match="exit 3"):
        counted([sys.executable, "-S", "-c", "raise SystemExit(3)"])


@needs_valgrind
def test_instructions_per_event_are_the_difference_of_two_sizes() -> None:
    """Verify of 100 and of 300 bench events: start-up cancels out, the per-event figure is the
    work of an event (hundreds of thousands of instructions, not the interpreter's millions),
    and counting again gives it within 1% (the hash seed fixed, only the salts differ)."""
    first, again = measure("verify", 100, 300), measure("verify", 100, 300)
    assert 50_000 < first < 2_000_000, first
    assert abs(first - again) < 0.01 * first, (first, again)
