"""docs/performance.md shows a run ``make bench`` kept in ``bench/results.json``: its run number,
date and commit, and its two tables as the bench printed them, row by row. A figure typed by
hand, or left from an older run, fails here. A new ``make bench`` adds a run after it and
leaves this test green: the page moves to that run when someone keeps it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from bench.bench import once_table, table

ROOT = Path(__file__).resolve().parents[1]
def latest() -> tuple[str, int, dict[str, Any]]:
    page = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    found = re.search(r"^`make bench ARGS=--full`, (\d{4}-\d\d-\d\d) [^\n]*?: run (\d+),", page,
                      re.M)
    assert found, "docs/performance.md: no line `make bench ARGS=--full`, DATE …: run N,"
    runs = json.loads((ROOT / "bench" / "results.json").read_text(encoding="utf-8"))["runs"]
    number = int(found[2])
    assert 1 <= number <= len(runs), f"run {number} is not in bench/results.json"
    run = runs[number - 1]
    assert run["date"].startswith(found[1]), (number, run["date"], found[1])
    return page, number, run


def test_the_performance_page_names_a_kept_run_with_its_commit() -> None:
    page, number, run = latest()
    assert run["args"] == ["--full"], run["args"]
    assert f"Commit {run['commit']}" in page, run["commit"]
    assert f"(run {number}, below)" in page and f"| run {number}: 10⁴ / 10⁵ / 10⁶ events " in page
    assert f"over runs 1–{number} |" in page and f"over the {number} runs" in page


def test_the_performance_pages_tables_are_those_the_bench_printed() -> None:
    page, number, run = latest()
    results = {int(size): figures for size, figures in run["results"].items()}
    lines = set(page.splitlines())
    for line in table(results).splitlines() + once_table(run["once"]).splitlines():
        assert line in lines, f"run {number}: not on the page: {line}"


def test_where_it_stands_gives_the_kept_runs_figures_and_ranges() -> None:
    """The summary table's cells for the latest run, and the ranges over runs 1–N it gives
    without a caveat, are those of bench/results.json (the figures rounded as the page rounds)."""
    page, number, run = latest()
    runs = json.loads((ROOT / "bench" / "results.json").read_text(encoding="utf-8"))["runs"]
    kept = runs[:number]
    at: dict[str, dict[str, float]] = run["results"]
    once: dict[str, float] = run["once"]
    sizes = ("10000", "100000", "1000000")

    def each(key: str, fmt: str, over: tuple[str, ...] = sizes) -> str:
        return " / ".join(fmt.format(at[size][key]) for size in over)

    def span(key: str, fmt: str, over: tuple[str, ...] = sizes, scale: float = 1) -> str:
        values = [r["results"][size][key] / scale for r in kept for size in over
                  if isinstance(r["results"].get(size, {}).get(key), int | float)]
        return f"{fmt.format(min(values))}–{fmt.format(max(values))}"

    def span_once(key: str, fmt: str) -> str:
        values = [r["once"][key] for r in kept if isinstance(r["once"].get(key), int | float)]
        return f"{fmt.format(min(values))}–{fmt.format(max(values))}"

    def kilo(value: float) -> str:
        return f"{value / 1000:.1f}k"

    ceilings = [at[size]["ceiling_valid_eps"] / 1000 for size in sizes]
    rss = ", ".join(f"{name} {at['100000'][key]:.0f} → {at['1000000'][key]:.0f}" for name, key in (
        ("verify", "rss_verify_mb"), ("rebuild", "rss_rebuild_mb"), ("export", "rss_export_mb"),
        ("audit", "rss_audit_mb")))
    expected = {
        "bulk append ≥ 0.5× ceiling 2": [
            f"{each('bulk_valid_ratio', '{:.2f}')}×; "
            f"{' / '.join(kilo(at[size]['bulk_append_eps']) for size in sizes)} events/s "
            f"(ceiling 2 at {min(ceilings):.0f}–{max(ceilings):.0f}k)",
            f"{span('bulk_valid_ratio', '{:.2f}')}×; "
            f"{span('bulk_append_eps', '{:.1f}', scale=1000)}k events/s"],
        "verify ≥ 0.5× ceiling 1": [
            f"{each('verify_leaf_ratio', '{:.2f}', sizes[1:])}× "
            f"({at['10000']['verify_leaf_ratio']:.2f}× at 10⁴)"],
        "audit ≤ 3× verify": [f"{each('audit_verify', '{:.2f}')}×",
                              span("audit_verify", "{:.1f}") + "×"],
        "rebuild ≥ 150k": [" / ".join(f"{at[size]['rebuild_eps'] / 1000:.0f}k" for size in sizes),
                           f"{span('rebuild_eps', '{:.0f}', scale=1000)}k ("
                           f"{span('rebuild_eps', '{:.0f}', sizes[1:], 1000)}k from 10⁵)"],
        "durable single append": [f"{once['single_ratio']:.2f}×"],
        "memory constant": [f"bulk append {at['100000']['rss_bulk_mb']:.0f} → "
                            f"{at['1000000']['rss_bulk_mb']:.0f} MB, {rss}"],
        "one `ledger correct`": [f"{once['cli_ratio']:.2f}× ({once['cli_ms']:.0f} ms against "
                                 f"{once['sqlite_utils_ms']:.0f} ms)",
                                 f"{span_once('cli_ratio', '{:.2f}')}×"],
        "a site of 10⁵ records": [f"{at['1000000']['site_s']:.1f} s; "
                                  f"{at['1000000']['site_incremental_s']:.1f} s",
                                  f"{span('site_s', '{:.1f}', sizes[2:])} s; "
                                  f"{span('site_incremental_s', '{:.1f}', sizes[2:])} s"],
        "tiles ≥ 0.5×": [f"{at['1000000']['tiles_ratio']:.2f}× ({at['1000000']['tiles_s']:.1f} s "
                         f"against {at['1000000']['tiles_ceiling_s']:.1f} s)"],
        "monitor ≥ 0.5× verify": [f"{each('monitor_ratio', '{:.2f}')}× from a folder, "
                                  f"{each('monitor_served_ratio', '{:.2f}')}× from nginx"],
    }
    section = page.split("\n## Where it stands\n", 1)[1].split("\n## ", 1)[0]
    rows = {line.split(" | ")[0][2:]: line for line in section.splitlines()
            if line.startswith("| ") and f"| run {number}: " not in line}
    for target, cells in expected.items():
        found = [line for name, line in rows.items() if name.startswith(target)]
        assert len(found) == 1, f"docs/performance.md: no one row for {target!r}"
        for cell in cells:
            assert cell in found[0], f"run {number}, {target}: {cell!r} not in {found[0]!r}"
