"""The benchmark's durable-append measurement (``make bench``), run small: it alternates its
sides and counts the pages one append writes from the write-ahead log."""

from __future__ import annotations

from pathlib import Path

from bench.bench import durable_appends


def test_durable_appends_count_the_pages_an_append_writes(tmp_path: Path) -> None:
    found = durable_appends(tmp_path, n=5, rounds=1)
    # at least a page each of events, tree_hashes, records, notices and view_meta
    assert 5 <= found["single_pages"] <= 20, found
    assert found["single_ratio"] == found["single_append_eps"] / found["fsync_ceiling_eps"]
    assert found["same_pages_eps"] > 0 and found["fsync_ceiling_eps"] > 0
    assert found["single_cpu_ms"] > 0
    assert found["fsync_ceiling_ms"] == 1000 / found["fsync_ceiling_eps"]
