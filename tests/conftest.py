"""Shared fixtures: a fresh ledger file in tmp_path, the real CLI, example payloads."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result

from cli.main import app
from ledger.api import Ledger

pytest_plugins = ["tests.servers"]  # the nginx fixture

FIXED = dt.datetime(2026, 11, 25, 10, 0, 0, tzinfo=dt.UTC)


def manifest(rid: str = "SRCH:03BE3A05", **overrides: Any) -> dict[str, Any]:
    """Return a valid paper-manifest-v1.1 payload."""
    doc: dict[str, Any] = {
        "record_id": rid, "title": "How do routing strategies affect throughput",
        "research_question": "How do routing strategies affect throughput?",
        "abstract": "Abstract: a synthesis.", "submitted": "2026-05-28", "review_score": 9.33,
        "source_grounded_claims": 10, "claim_record_source": "not publicly specified",
        "quality": {"tier": "Flagship candidate", "basis": "thresholds met",
                    "dimensions": {"evidence_strength": "MEDIUM"}},
        "note": "Machine-generated synthesis.",
    }
    doc.update(overrides)
    return doc


def provenance(rid: str = "SRCH:03BE3A05", **overrides: Any) -> dict[str, Any]:
    """Return a valid source-provenance-v1 payload (L1 unless overridden)."""
    doc: dict[str, Any] = {
        "record_id": rid, "publisher": "Assignee Research",
        "report_artifact": {"available": False}, "external_record": {"registered": False},
        "claim_lineage": 0, "review_method": "Automated multi-reviewer assessment",
    }
    doc.update(overrides)
    return doc


def clock() -> dt.datetime:
    return FIXED


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Return the path of a freshly created, empty ledger."""
    path = tmp_path / "ledger.db"
    Ledger.create(path, clock).close()
    return path


@pytest.fixture
def ledger(db: Path) -> Iterator[Ledger]:
    with Ledger.open(db, clock) as opened:
        yield opened


class Cli:
    """Runs the real CLI against one ledger file."""

    def __init__(self, db: Path, tmp: Path) -> None:
        self.db, self.tmp, self.runner = db, tmp, CliRunner()
        self.n = 0

    def __call__(self, *args: str, input: str | bytes | None = None) -> Result:
        return self.runner.invoke(app, ["--db", str(self.db), "--actor", "tester", *args],
                                  input=input, catch_exceptions=False)

    def file(self, payload: Any) -> str:
        """Write a payload to a JSON file and return its path."""
        self.n += 1
        path = self.tmp / f"payload-{self.n}.json"
        path.write_bytes(orjson.dumps(payload))
        return str(path)

    def json(self, *args: str) -> Any:
        result = self(*args, "--json")
        assert result.exit_code == 0, result.output
        return orjson.loads(result.stdout)

    def snapshot(self) -> tuple[Any, ...]:
        """Return everything stored (events and views), to prove nothing was written."""
        with sqlite3.connect(self.db) as conn:
            return tuple(tuple(conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall())
                         for t in ("events", "records", "notices", "gates", "versions",
                                   "view_meta"))


@pytest.fixture
def cli(db: Path, tmp_path: Path) -> Cli:
    return Cli(db, tmp_path)


@pytest.fixture
def published(cli: Cli) -> Callable[..., str]:
    """Publish a manifest via the CLI and return its record id."""

    def publish(rid: str = "SRCH:03BE3A05", **overrides: Any) -> str:
        result = cli("publish", cli.file(manifest(rid, **overrides)))
        assert result.exit_code == 0, result.output
        return rid

    return publish
