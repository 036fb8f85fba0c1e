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


COSIGNATURES = sorted((VECTORS.parent / "cosignature").glob("*.json"))
POLICIES = sorted((VECTORS.parent / "policy").glob("*.json"))


def test_there_are_witness_vectors() -> None:
    assert len(COSIGNATURES) >= 3 and len(POLICIES) >= 15


@pytest.mark.parametrize("path", COSIGNATURES, ids=lambda p: p.stem)
def test_cosignature_vector(path: Path) -> None:
    """Recomputed from tlog-cosignature with hashlib and cryptography alone, then read by the
    ledger's own code."""
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ledger.core.cosignature import check_cosignature, parse_cosigner, parse_cosigner_key

    v = orjson.loads(path.read_bytes())
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(v["seed_hex"]))
    public = key.public_key().public_bytes_raw()
    assert public.hex() == v["public_key_hex"]
    preimage = v["name"].encode() + b"\n\x04" + public
    assert preimage.hex() == v["key_id_preimage_hex"]
    key_id = hashlib.sha256(preimage).digest()[:4]
    assert key_id.hex() == v["key_id_hex"]
    assert v["vkey"] == f"{v['name']}+{key_id.hex()}+" + base64.b64encode(b"\x04" + public).decode()
    message = f"cosignature/v1\ntime {v['timestamp']}\n{v['checkpoint_body']}"
    assert message == v["signed_message"]
    raw = key_id + v["timestamp"].to_bytes(8, "big") + key.sign(message.encode())
    assert v["signature_line"] == f"\u2014 {v['name']} {base64.b64encode(raw).decode()}\n"
    assert parse_cosigner(v["private_key"]).key_id == int(v["key_id_hex"], 16)
    assert check_cosignature(parse_cosigner_key(v["vkey"]), v["checkpoint_body"], raw) == v["timestamp"]


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.stem)
def test_policy_vector(path: Path) -> None:
    from ledger.core.policy import PolicyError, parse_policy

    v = orjson.loads(path.read_bytes())
    if not v["valid"]:
        with pytest.raises(PolicyError) as refused:
            parse_policy(v["policy"].encode())
        assert str(refused.value) == v["error"]
        return
    policy = parse_policy(v["policy"].encode())
    assert policy.describe() == v["quorum"]
    for check in v["checks"]:
        assert policy.satisfied(set(check["cosigned_by"])) == check["satisfied"], check


def test_witness_generator_reproduces_the_checked_in_files(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(VECTORS.parent / "generate_witness.py"), str(tmp_path)],
                   check=True, capture_output=True)
    for path in COSIGNATURES + POLICIES:
        assert (tmp_path / path.parent.name / path.name).read_bytes() == path.read_bytes(), path
