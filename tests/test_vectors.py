"""The event byte recipe is pinned by tests/vectors/events/*.json (made by generate.py)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
import rfc8785

from ledger.core.events import EVENT_HASH_PREFIX, make_event

VECTORS = Path(__file__).parent / "vectors" / "events"
FILES = sorted(VECTORS.glob("*.json"))


def test_there_are_vectors() -> None:
    assert len(FILES) >= 7


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_vector(path: Path) -> None:
    vector: dict[str, Any] = orjson.loads(path.read_bytes())
    envelope = vector["envelope"]
    canonical = vector["canonical"].encode("utf-8")
    assert rfc8785.dumps(envelope) == canonical
    assert vector["prefix"].encode() == EVENT_HASH_PREFIX
    assert hashlib.sha256(EVENT_HASH_PREFIX + canonical).hexdigest() == vector["hash"]
    event = make_event(envelope["seq"], envelope["type"], envelope["record_id"],
                       envelope["contract"], envelope["payload"], envelope["actor"],
                       envelope["recorded_at"], envelope["prev_hash"])
    assert event.hash == vector["hash"]


def test_generator_reproduces_the_checked_in_files(tmp_path: Path) -> None:
    before = {p.name: p.read_bytes() for p in FILES}
    subprocess.run([sys.executable, str(VECTORS.parent / "generate.py")], check=True,
                   capture_output=True)
    after = {p.name: p.read_bytes() for p in sorted(VECTORS.glob("*.json"))}
    assert after == before
