"""Write the event-hash test vectors in tests/vectors/events/ (run: make vectors).

Each file pins, for one envelope, the exact canonical bytes and the event hash, so that an
implementation in another language can check its byte recipe. Do not edit the files by hand:
change this script and re-run it; tests/test_vectors.py walks every file.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ledger.core.events import EVENT_HASH_PREFIX, GENESIS_HASH, make_event

OUT = Path(__file__).parent / "events"
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


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for i, case in enumerate(CASES):
        path = OUT / f"{i:02d}-{case[0]}.json"
        path.write_bytes(orjson.dumps(vector(*case), option=orjson.OPT_INDENT_2) + b"\n")
        print(path)


if __name__ == "__main__":
    main()
