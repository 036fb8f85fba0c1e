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

from ledger.core.events import EVENT_HASH_PREFIX, Event, canonical_of, check_members, hash_of, make_event

VECTORS = Path(__file__).parent / "vectors" / "events"
FILES = sorted(VECTORS.glob("*.json"))
FILES_V2 = sorted((VECTORS.parent / "events-v2").glob("*.json"))


def test_there_are_vectors() -> None:
    assert len(FILES) >= 7 and len(FILES_V2) >= 9


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


@pytest.mark.parametrize("path", FILES_V2, ids=[p.stem for p in FILES_V2])
def test_vector_v2(path: Path) -> None:
    """Recompute every hash of a v2 vector from the documented recipe alone (hashlib, rfc8785)."""
    vector: dict[str, Any] = orjson.loads(path.read_bytes())
    member_prefix, prefix = vector["member_prefix"].encode(), vector["prefix"].encode()
    assert member_prefix == b"provenance-ledger/member/v2\n"
    assert prefix == b"provenance-ledger/event/v2\n"
    envelope = vector["envelope"]
    for member in vector["members"]:
        name, salt = member["name"], bytes.fromhex(member["salt"])
        assert len(salt) == 16
        committed = bytes.fromhex(member["committed_bytes_hex"])
        assert hashlib.sha256(committed).hexdigest() == member["commitment"]
        assert envelope["commitments"][name] == member["commitment"]
        if name in vector["withheld"]:
            assert name not in vector["salts"] and set(vector["payload"][name]) == {"withheld"}
            continue
        value = vector["payload"][name]
        assert committed == member_prefix + salt + rfc8785.dumps(name) + rfc8785.dumps(value)
        assert vector["salts"][name] == member["salt"]
    assert set(envelope["commitments"]) == set(vector["payload"])
    canonical = vector["canonical"].encode("utf-8")
    assert rfc8785.dumps(envelope) == canonical
    assert hashlib.sha256(prefix + canonical).hexdigest() == vector["hash"]
    assert hashlib.sha256(b"\x00" + canonical).hexdigest() == vector["leaf_hash"]
    event = Event(envelope["seq"], envelope["type"], envelope["record_id"], envelope["contract"],
                  rfc8785.dumps(vector["payload"]).decode(), envelope["actor"],
                  envelope["recorded_at"], envelope["prev_hash"], vector["hash"],
                  rfc8785.dumps(vector["salts"]).decode(),
                  rfc8785.dumps(envelope["commitments"]).decode())
    assert canonical_of(event) == canonical and hash_of(event) == vector["hash"]
    assert set(check_members(event)) == set(vector["withheld"])


def test_generator_reproduces_the_checked_in_files(tmp_path: Path) -> None:
    before = {str(p.relative_to(VECTORS.parent)): p.read_bytes() for p in FILES + FILES_V2}
    subprocess.run([sys.executable, str(VECTORS.parent / "generate.py")], check=True,
                   capture_output=True)
    after = {str(p.relative_to(VECTORS.parent)): p.read_bytes()
             for p in sorted(VECTORS.parent.glob("events*/*.json"))}
    assert after == before
