"""Realistic synthetic ledger input: about one record per 10 events, every notice kind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ledger.api import Ledger

KIND_CYCLE = ["correction", "addendum", "clarification", "partial_retraction", "withdrawal",
              "retraction", "removal"]


def manifest(rid: str, i: int, revision: int = 0) -> dict[str, Any]:
    score = round(3.0 + (i * 37 % 70) / 10, 2)
    return {
        "record_id": rid, "title": f"Synthetic synthesis {i} on expert routing, revision {revision}",
        "research_question": f"How does routing strategy {i % 17} affect throughput per FLOP?",
        "abstract": "Abstract: " + "Mixture-of-experts routing and throughput. " * 8,
        "submitted": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}", "review_score": score,
        "source_grounded_claims": i % 12, "claim_record_source": "parsed source sections",
        "quality": {"tier": "Quarantine candidate" if score < 5 else "Watchlist",
                    "basis": "Synthetic thresholds.",
                    "dimensions": {"evidence_strength": "MEDIUM", "citation_grounding": "LOW"}},
        "note": "Machine-generated synthesis of existing literature. Not primary research.",
    }


def record_items(i: int) -> list[tuple[str, dict[str, Any]]]:
    """Return the 10 submissions of synthetic record number i."""
    rid = f"BENCH:{i:08X}"
    kind = KIND_CYCLE[i % len(KIND_CYCLE)]
    notice: dict[str, Any] = {"record_id": rid, "notice_id": f"N{i}-2", "kind": kind, "reason": "r"}
    if kind == "correction":
        notice["changes"] = [{"path": "/note", "value": "Corrected note."}]
    return [
        ("paper-manifest-v1.1", manifest(rid, i)),
        ("source-provenance-v1", {"record_id": rid, "publisher": "Assignee Research",
                                  "report_artifact": {"available": True},
                                  "external_record": {"registered": i % 3 == 0,
                                                      "identifier": f"10.5281/zenodo.{i}"},
                                  "claim_lineage": i % 12, "review_method": "Automated"}),
        ("gate-evaluation-v1", {"record_id": rid, "gate": 2, "status": "UNVERIFIED", "reason": "pending",
                                "evaluated_at": "2026-06-10T06:30:49+00:00", "evaluator": "engine",
                                "independent": False, "name": "Verification"}),
        ("correction-record-v1", {"record_id": rid, "notice_id": f"N{i}-1", "kind": "expression_of_concern",
                                  "reason": "Figures under review", "effective_date": "2026-07-01",
                                  "issued_by": "Editorial office"}),
        ("correction-record-v1", {**notice, "effective_date": "2026-07-02", "issued_by": "Editorial office"}),
        ("paper-manifest-v1.1", manifest(rid, i, revision=1)),
        ("gate-evaluation-v1", {"record_id": rid, "gate": 2, "status": "VERIFIED", "reason": "repro",
                                "evaluated_at": "2026-08-10T06:30:49+00:00", "evaluator": "lab",
                                "independent": True, "name": "Verification",
                                "artifacts": [{"kind": "repro-script", "uri": f"https://x.invalid/{i}.py",
                                               "sha256": f"{i:064x}"}]}),
        ("correction-record-v1", {"record_id": rid, "notice_id": f"N{i}-3", "kind": "reinstatement",
                                  "reason": "Review closed", "lifts": f"N{i}-1",
                                  "effective_date": "2026-08-11", "issued_by": "Editorial office"}),
        ("gate-evaluation-v1", {"record_id": rid, "gate": 3, "status": "FAILED", "reason": "no proof",
                                "evaluated_at": "2026-08-12T06:30:49+00:00", "evaluator": "lab",
                                "independent": True, "name": "Formal proof"}),
        ("correction-record-v1", {"record_id": rid, "notice_id": f"N{i}-4", "kind": "clarification",
                                  "effective_date": "2026-08-13", "issued_by": "Editorial office"}),
    ]


def items(n_events: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield about n_events submissions (10 per record)."""
    for i in range(max(1, n_events // 10)):
        yield from record_items(i)


def addenda(count: int, records: int) -> list[dict[str, Any]]:
    """The durable appends' payloads: ``count`` addenda over ``records`` records, in turn."""
    return [{"record_id": f"BENCH:{i % records:08X}", "kind": "addendum", "notice_id": f"D{i}",
             "effective_date": "2026-11-25", "issued_by": "Editorial office"}
            for i in range(count)]


def published(ledger: Ledger, records: int) -> None:
    """Publish the first version of each of ``records`` bench records, one append each."""
    for contract, payload in items(10 * records):
        if contract == "paper-manifest-v1.1":
            ledger.submit(contract, payload, "bench")
