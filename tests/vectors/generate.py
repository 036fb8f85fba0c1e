"""Write the event-hash test vectors in tests/vectors/events/ (format v1) and
tests/vectors/events-v2/ (format v2) (run: make vectors).

Each file pins, for one envelope, the exact canonical bytes and the event hash, so that an
implementation in another language can check its byte recipe; a v2 file also pins each member's
salt, committed bytes and commitment, and the leaf hash. Salts are fixed here (SHA-256 of the
case name and member name, cut to 16 bytes) so that the files are reproducible; the ledger draws
them from the operating system's random source. Do not edit the files by hand: change this
script and re-run it; tests/test_vectors.py walks every file.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ledger.core.events import (
    EVENT_HASH_PREFIX,
    EVENT_HASH_PREFIX_V2,
    GENESIS_HASH,
    MEMBER_PREFIX,
    SALT_BYTES,
    Event,
    canonical_of,
    commit_members,
    make_event,
)

OUT = Path(__file__).parent / "events"
OUT_V2 = Path(__file__).parent / "events-v2"
MANIFEST = {
    "record_id": "SRCH:03BE3A05", "title": "How do expert routing strategies affect throughput",
    "research_question": "How?", "abstract": "Abstract: …", "submitted": "2026-05-28",
    "review_score": 9.33, "source_grounded_claims": 10,
    "claim_record_source": "not publicly specified",
    "quality": {"tier": "Flagship candidate", "dimensions": {"evidence_strength": "MEDIUM"}},
}
CASES: list[tuple[str, int, str, str, dict[str, Any], str]] = [
    ("genesis-manifest", 1, "record.published", "paper-manifest-v1.1", MANIFEST, GENESIS_HASH),
    ("integral-float-score", 2, "record.revised", "paper-manifest-v1.1",
     {**MANIFEST, "review_score": 9.0}, "a" * 64),
    ("unicode-and-controls", 3, "record.revised", "paper-manifest-v1.1",
     {**MANIFEST, "title": "Ünïcode — “quotes” \\ \"q\" \t\n\u0001 \u2028 😀", "note": "é"}, "b" * 64),
    ("small-and-large-numbers", 4, "record.revised", "paper-manifest-v1.1",
     {**MANIFEST, "review_score": 0.01, "source_grounded_claims": 9007199254740991}, "c" * 64),
    ("correction-with-changes", 5, "notice.issued", "correction-record-v1",
     {"record_id": "SRCH:03BE3A05", "notice_id": "CORR-1", "kind": "correction",
      "effective_date": "2026-11-25", "issued_by": "Editorial office",
      "reason": "Score typo", "reason_codes": [], "target_version": 1,
      "changes": [{"path": "/review_score", "value": 9.1}, {"path": "/note", "value": None}]},
     "d" * 64),
    ("gate-with-artifacts", 6, "gate.evaluated", "gate-evaluation-v1",
     {"record_id": "SRCH:03BE3A05", "gate": 2, "name": "Verification", "status": "VERIFIED",
      "reason": "repro", "evaluated_at": "2026-06-10T06:30:49+00:00", "evaluator": "lab",
      "independent": True,
      "artifacts": [{"kind": "repro-script", "uri": "r.py", "sha256": "0" * 64}]}, "e" * 64),
    ("non-bmp-key-order", 7, "provenance.recorded", "source-provenance-v1",
     {"record_id": "SRCH:03BE3A05", "\U0001f600": 1, "\uffff": 2, "a": {"b": [1, 2.5, True]}},
     "f" * 64),
]


def vector(name: str, seq: int, type_: str, contract: str, payload: dict[str, Any],
           prev: str) -> dict[str, Any]:
    """Return one vector: the envelope, its canonical bytes and its hash."""
    event = make_event(seq, type_, "SRCH:03BE3A05", contract, payload, "editor",
                       "2026-11-25T10:00:00.000000Z", prev)
    envelope = event.envelope()
    del envelope["hash"]
    text = event.payload_json
    body = ('{"actor":"editor","contract":' + orjson.dumps(contract).decode() + ',"payload":' + text
            + ',"prev_hash":"' + prev + '","record_id":"SRCH:03BE3A05",'
            '"recorded_at":"2026-11-25T10:00:00.000000Z","seq":' + str(seq) + ',"type":"'
            + type_ + '"}')
    digest = hashlib.sha256(EVENT_HASH_PREFIX + body.encode()).hexdigest()
    if digest != event.hash:
        raise SystemExit(f"{name}: library hash {event.hash} differs from recipe {digest}")
    return {"desc": name, "envelope": envelope, "canonical": body,
            "prefix": EVENT_HASH_PREFIX.decode(), "hash": digest}


def jcs(value: Any) -> bytes:
    """JCS of a value, written out for the cases here (no floats in names; the library's
    canonical form is compared with it below)."""
    from ledger.core.canonical import canonical_bytes

    return canonical_bytes(value)


def fixed_salts(name: str, payload: dict[str, Any]) -> bytes:
    """Return SALT_BYTES per member, in sorted member order: SHA-256(case ‖ 0x00 ‖ member)[:16]."""
    return b"".join(hashlib.sha256(name.encode() + b"\x00" + member.encode()).digest()[:SALT_BYTES]
                    for member in sorted(payload))


def vector_v2(name: str, seq: int, type_: str, contract: str, payload: dict[str, Any],
              prev: str, withheld: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return one v2 vector: per member its salt, committed bytes and commitment; the hashed
    envelope, its canonical bytes, the event hash and the Merkle leaf hash. ``withheld`` replaces
    members by markers afterwards, as a purge does: the hashes do not change."""
    random = fixed_salts(name, payload)
    salts_json, commitments_json = commit_members(payload, random)
    members = []
    commitments = {}
    for i, member in enumerate(sorted(payload)):
        salt = random[i * SALT_BYTES:(i + 1) * SALT_BYTES]
        committed = MEMBER_PREFIX + salt + jcs(member) + jcs(payload[member])
        commitments[member] = hashlib.sha256(committed).hexdigest()
        members.append({"name": member, "salt": salt.hex(), "committed_bytes_hex": committed.hex(),
                        "commitment": commitments[member]})
    if orjson.loads(commitments_json) != commitments:
        raise SystemExit(f"{name}: library commitments differ from the recipe")
    envelope = {"actor": "editor", "commitments": commitments, "contract": contract,
                "prev_hash": prev, "record_id": "SRCH:03BE3A05",
                "recorded_at": "2026-11-25T10:00:00.000000Z", "seq": seq, "type": type_}
    body = jcs(envelope)
    digest = hashlib.sha256(EVENT_HASH_PREFIX_V2 + body).hexdigest()
    stored_payload = {**payload, **(withheld or {})}
    stored_salts = {m["name"]: m["salt"] for m in members if m["name"] not in (withheld or {})}
    event = Event(seq, type_, "SRCH:03BE3A05", contract, jcs(stored_payload).decode(), "editor",
                  "2026-11-25T10:00:00.000000Z", prev, digest, jcs(stored_salts).decode(),
                  commitments_json)
    if canonical_of(event) != body or orjson.loads(salts_json) != {m["name"]: m["salt"] for m in members}:
        raise SystemExit(f"{name}: library envelope differs from the recipe")
    return {"desc": name, "payload": stored_payload, "salts": stored_salts, "members": members,
            "withheld": sorted(withheld or {}), "envelope": envelope,
            "canonical": body.decode(), "member_prefix": MEMBER_PREFIX.decode(),
            "prefix": EVENT_HASH_PREFIX_V2.decode(), "hash": digest,
            "leaf_hash": hashlib.sha256(b"\x00" + body).hexdigest()}


MARKER = {"withheld": {"notice_id": "R1", "notice_seq": 9, "purge_seq": 10,
                       "effective_date": "2026-11-28", "reason": "Court order 2026/114"}}
CASES_V2: list[tuple[str, int, str, str, dict[str, Any], str, dict[str, Any] | None]] = [
    *((name, seq, type_, contract, payload, prev, None)
      for name, seq, type_, contract, payload, prev in CASES),
    ("manifest-after-a-purge", 8, "record.published", "paper-manifest-v1.1", MANIFEST, "1" * 64,
     {m: MARKER for m in ("abstract", "research_question", "review_score", "quality",
                          "source_grounded_claims", "claim_record_source")}),
    ("purge-event", 10, "record.purged", "purge-record-v1",
     {"record_id": "SRCH:03BE3A05", "notice_id": "R1",
      "purged": [{"seq": 8, "members": ["abstract", "claim_record_source", "quality",
                                        "research_question", "review_score",
                                        "source_grounded_claims"]}]}, "2" * 64, None),
]


def main() -> None:
    for out, cases, make in ((OUT, CASES, vector), (OUT_V2, CASES_V2, vector_v2)):
        out.mkdir(parents=True, exist_ok=True)
        for i, case in enumerate(cases):
            path = out / f"{i:02d}-{case[0]}.json"
            path.write_bytes(orjson.dumps(make(*case), option=orjson.OPT_INDENT_2) + b"\n")
            print(path)


if __name__ == "__main__":
    main()
