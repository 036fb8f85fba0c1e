"""A ledger served by Datasette on 127.0.0.1 with the metadata `ledger metadata` writes: the
tables described and faceted, JSON columns that hold JSON, and the pages in Chromium."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import orjson
import pytest

from tests.conftest import Cli
from tests.servers import free_port, wait_for

PAGES = Path(__file__).parent / "fixtures" / "pages"


def test_datasette_serves_the_ledger(cli: Cli, tmp_path: Path) -> None:
    pytest.importorskip("datasette")
    assert cli("import", *map(str, sorted(PAGES.glob("*.txt")))).exit_code == 0
    assert cli("correct", "SRCH:7BAC9D19", "--kind", "retraction", "--reason", "Fabricated").exit_code == 0
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
