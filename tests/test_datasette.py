"""A ledger served by Datasette on 127.0.0.1 with the metadata `ledger metadata` writes: the
tables described and faceted, JSON columns that hold JSON, and the pages in Chromium."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import orjson
import pytest

from tests.conftest import Cli
from tests.servers import free_port, wait_for

PAGES = Path(__file__).parent.parent / "examples" / "pages"


def test_datasette_serves_the_ledger(cli: Cli, tmp_path: Path) -> None:
    pytest.importorskip("datasette")
    assert cli("import", *map(str, sorted(PAGES.glob("*.txt")))).exit_code == 0
    assert cli("correct", "SRCH:7BAC9D19", "--kind", "retraction", "--reason", "Fabricated").exit_code == 0
    assert cli("search", "routing").exit_code == 0  # the search index, which Datasette searches
    meta = tmp_path / "metadata.json"
    assert cli("metadata", "-o", str(meta)).exit_code == 0
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "datasette", "serve", str(cli.db), "--metadata",
                               str(meta), "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(port, 30)
        base = f"http://127.0.0.1:{port}/{cli.db.stem}"
        records = httpx.get(f"{base}/records.json?_shape=array", timeout=20).json()
        assert {r["record_id"]: r["status"] for r in records}["SRCH:7BAC9D19"] == "RETRACTED"
        for row in records:  # view columns that hold JSON hold JSON
            orjson.loads(row["manifest"])
            assert row["provenance"] is None or isinstance(orjson.loads(row["provenance"]), dict)
        notices = httpx.get(f"{base}/notices.json?_shape=array&kind=retraction", timeout=20).json()
        assert [n["record_id"] for n in notices] == ["SRCH:7BAC9D19"]
        for table, column in (("notices", "payload"), ("gates", "artifacts"), ("versions", "manifest")):
            for row in httpx.get(f"{base}/{table}.json?_shape=array", timeout=20).json():
                orjson.loads(row[column])
        faceted = httpx.get(f"{base}/records.json?_facet=status", timeout=20).json()
        assert {f["value"] for f in faceted["facet_results"]["status"]["results"]} >= {"RETRACTED"}
        page = httpx.get(f"{base}/records", timeout=20).text
        assert "derived from its events" in page  # the table's description
        # foreign keys: a version's record_id is a link to its record, labelled with its title
        titles = {r["record_id"]: r["title"] for r in records}
        versions = httpx.get(f"{base}/versions.json?_labels=on&_shape=array", timeout=20).json()
        for row in versions:
            assert row["record_id"] == {"value": row["record_id"]["value"],
                                        "label": titles[row["record_id"]["value"]]}
        lifted = httpx.get(f"{base}/notices.json?_labels=on&_shape=array", timeout=20).json()
        assert all(isinstance(n["record_id"], dict) for n in lifted)
        incoming = httpx.get(f"{base}/records/SRCH~3A7BAC9D19.json?_extras=foreign_key_tables",
                             timeout=20).json()
        assert {t["other_table"] for t in incoming["foreign_key_tables"]} >= {
            "versions", "notices", "gates"}
        found = httpx.get(f"{base}/search_records.json?_search=Fabricated&_shape=array",
                          timeout=20).json()  # Datasette finds the FTS5 table of the index
        assert [r["record_id"] for r in found] == ["SRCH:7BAC9D19"], found
        row_page = httpx.get(f"{base}/versions", timeout=20).text
        assert f'href="/{cli.db.stem}/records/SRCH~3A7BAC9D19"' in row_page
        chromium = shutil.which("chromium")
        if chromium is not None:  # the page a reader sees, its scripts run
            with tempfile.TemporaryDirectory() as profile:
                dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                                      f"--user-data-dir={profile}", "--virtual-time-budget=5000",
                                      "--dump-dom", f"{base}/records?status=RETRACTED"],
                                     capture_output=True, text=True, timeout=120, check=True).stdout
            assert "SRCH:7BAC9D19" in dom and "SRCH:03BE3A05" not in dom
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_a_file_made_before_the_foreign_keys_verifies_and_rebuild_adds_them(
        cli: Cli, tmp_path: Path) -> None:
    """View tables as an earlier version made them (no REFERENCES) are accepted by verify;
    `ledger rebuild` recreates them with the foreign keys; a view table with any other change
    is still refused."""
    from ledger.storage.views import VIEWS_SCHEMA_V1

    assert cli("import", *map(str, sorted(PAGES.glob("*.txt")))).exit_code == 0
    with sqlite3.connect(cli.db) as conn:
        saved = {t: conn.execute(f"SELECT * FROM {t}").fetchall()
                 for t in ("records", "versions", "notices", "gates", "view_meta")}
        for table in ("versions", "notices", "gates", "records", "view_meta"):
            conn.execute(f"DROP TABLE {table}")
        conn.executescript(VIEWS_SCHEMA_V1)
        for table, rows in saved.items():
            if rows:
                marks = ",".join("?" * len(rows[0]))
                conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    assert cli.json("verify")["ok"] and cli.json("audit")["ok"]
    assert cli("rebuild").exit_code == 0
    with sqlite3.connect(cli.db) as conn:
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'versions'").fetchone()[0]
        assert "REFERENCES records(record_id)" in sql
        conn.execute("ALTER TABLE gates ADD COLUMN forged TEXT")
    refused = cli("verify", "--json")
    assert refused.exit_code == 1 and "table gates was changed" in refused.stdout
