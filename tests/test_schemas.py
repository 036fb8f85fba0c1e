"""The checked-in JSON Schemas (of the contracts and of the export) are what the models generate."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.ops.schemas import SCHEMAS as PUBLISHED
from ledger.ops.schemas import schema_bytes

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_schema_is_up_to_date(name: str) -> None:
    path = SCHEMAS / f"{name}.json"
    assert path.exists(), f"missing {path}: run `make schemas`"
    assert path.read_bytes() == schema_bytes(name), f"{path} is stale: run `make schemas`"


def test_no_stray_schema_files() -> None:
    assert {p.stem for p in SCHEMAS.glob("*.json")} == set(PUBLISHED)
