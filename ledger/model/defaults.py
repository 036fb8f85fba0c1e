"""Defaults the ledger fills into a submitted payload before it is validated.

Each filled key is reported, so an idempotent re-send (which gets a fresh default such as
today's date) still compares equal to what was stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from ledger.core.canonical import canonical_bytes
from ledger.core.clock import rfc3339_seconds
from ledger.model.contracts import is_notice
from ledger.model.labels import DEFAULT_GATES


def fill_defaults(
    contract: str, raw: dict[str, Any], version: int | None, actor: str, now: dt.datetime,
) -> tuple[dict[str, Any], frozenset[str]]:
    """Return (payload with defaults filled, the keys that were filled); ``version``: the
    record's number of versions (None for an unknown record)."""
    doc = dict(raw)
    filled: set[str] = set()

    def fill(key: str, value: Any) -> None:
        if doc.get(key) is None:
            doc[key] = value
            filled.add(key)

    if is_notice(contract):
        if doc.get("notice_id") is None:
            fill("notice_id", generated_notice_id(raw))
        fill("effective_date", now.astimezone(dt.UTC).date().isoformat())
        fill("issued_by", actor)
        if version is not None:
            fill("target_version", version)
    elif contract == "gate-evaluation-v1":
        fill("evaluated_at", rfc3339_seconds(now))
        fill("evaluator", actor)
        fill("independent", False)
        gate = doc.get("gate")
        if isinstance(gate, int) and not isinstance(gate, bool):
            fill("name", DEFAULT_GATES.get(gate, f"Gate {gate}"))
    return doc, frozenset(filled)


def generated_notice_id(raw: dict[str, Any]) -> str:
    """Return a notice id derived from the notice's content, so a retried command reuses it.

    ``N-`` followed by the first 16 hex digits of SHA-256("provenance-ledger/notice-id/v1\\n" ||
    JCS(the notice as given, without notice_id)).
    """
    content = {k: v for k, v in raw.items() if k != "notice_id"}
    digest = hashlib.sha256(b"provenance-ledger/notice-id/v1\n" + canonical_bytes(content))
    return "N-" + digest.hexdigest()[:16]
