"""A ``metadata.json`` for Datasette (``ledger metadata``): the ledger's tables described for a
SQL reader — titles, what each table and column holds, label columns, facets, sort orders.

The view tables are derived data: ``ledger audit`` checks them against a rebuild from the events,
and ``show``/``export`` never read them. The ``events`` table is the history itself."""

from __future__ import annotations

from typing import Any

COLUMNS: dict[str, dict[str, str]] = {
    "events": {
        "seq": "Position in the log, from 1; the Merkle leaf index is seq − 1",
        "type": "record.published, record.revised, provenance.recorded, notice.issued, "
                "gate.evaluated, record.purged, key.added, key.revoked",
        "record_id": "The record the event is about", "contract": "The payload's contract",
        "payload": "The payload as canonical JSON (a withheld member reads {\"withheld\": …})",
        "actor": "Who appended it", "recorded_at": "When it was appended (RFC 3339, UTC)",
        "prev_hash": "The hash of the event before", "hash": "This event's hash",
        "salts": "Format v2: each member's salt (hex), none for a withheld member",
        "commitments": "Format v2: each member's commitment (hex), what the hash covers"},
    "records": {
        "record_id": "Record id", "version": "Current version number",
        "status": "CURRENT, CORRECTED, UNDER_CONCERN, WITHDRAWN, RETRACTED or REMOVED",
        "correction_count": "Notices issued", "verification_level": "L1–L4 (gates)",
        "provenance_level": "L1–L4 (provenance facts)", "quality_tier": "Tier of the manifest",
        "title": "Title", "review_score": "Review score (0–10)",
        "gate_verdicts": "gate:status of each evaluated gate", "first_seq": "First event",
        "last_seq": "Last event", "last_hash": "Hash of the last event",
        "last_recorded_at": "When the last event was appended",
        "manifest": "The current manifest, corrections applied (JSON)",
        "provenance": "The latest provenance facts (JSON)"},
    "versions": {
        "record_id": "Record id", "version": "Version number", "seq": "The event",
        "type": "record.published or record.revised", "recorded_at": "When",
        "title": "Title of that version", "manifest": "The manifest as published (JSON)"},
    "notices": {
        "notice_id": "Notice id", "record_id": "Record id", "seq": "The event",
        "kind": "correction, addendum, clarification, expression_of_concern, partial_retraction, "
                "retraction, withdrawal, removal or reinstatement",
        "effective_date": "Effective date", "issued_by": "Issuer", "reason": "Reason",
        "target_version": "Version the notice is about", "in_force": "1 unless a reinstatement lifted it",
        "lifted_by": "The reinstatement that lifted it", "recorded_at": "When it was appended",
        "payload": "The notice (JSON)"},
    "gates": {
        "record_id": "Record id", "gate": "Gate number", "seq": "The latest evaluation's event",
        "name": "Gate name", "status": "UNVERIFIED, VERIFIED or FAILED", "reason": "Reason",
        "evaluated_at": "When evaluated", "evaluator": "Who evaluated",
        "independent": "1 if the evaluator is independent of the producer",
        "artifacts": "Artifacts behind the verdict (JSON)"},
}
TABLES: dict[str, dict[str, Any]] = {
    "events": {"description": "The append-only, hash-chained history: one row per event. "
                              "`ledger verify` recomputes every hash, link and the Merkle tree.",
               "sort_desc": "seq", "facets": ["type", "actor"]},
    "records": {"description": "Each record's current state, derived from its events (a view: "
                               "`ledger audit` checks it against a rebuild).",
                "label_column": "title", "sort": "record_id",
                "facets": ["status", "provenance_level", "verification_level", "quality_tier"]},
    "versions": {"description": "Every published version of every record (a view).",
                 "label_column": "title", "sort": "record_id", "facets": ["type"]},
    "notices": {"description": "Every correction notice and whether it is in force (a view).",
                "label_column": "notice_id", "sort_desc": "seq", "facets": ["kind", "in_force"]},
    "gates": {"description": "The latest evaluation of each gate of each record (a view).",
              "sort": "record_id", "facets": ["status", "gate", "independent"]},
}
HIDDEN = ("view_meta", "ledger_meta", "bulk_progress", "tree_hashes", "signatures",
          "search_records", "search_records_meta")


def metadata(database: str, title: str = "Research records and their correction history"
             ) -> dict[str, Any]:
    """Return Datasette metadata for a ledger file served as ``database`` (its file stem)."""
    tables: dict[str, Any] = {}
    for name, table in TABLES.items():
        tables[name] = {**table, "columns": COLUMNS[name]}
    for name in HIDDEN:
        tables[name] = {"hidden": True}
    tables["checkpoints"] = {"description": "Signed C2SP checkpoints of the log (with witness "
                                            "cosignatures when a policy was met)",
                             "sort_desc": "size"}
    return {"title": title,
            "description": "A provenance and correction ledger: every record version, correction "
                           "notice, provenance fact and gate evaluation as a hash-chained event.",
            "license": "", "source": "provenance-ledger",
            "databases": {database: {"tables": tables}}}
