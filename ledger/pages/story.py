"""What a record page says first and how its history reads: the status banner and the timeline
as sentences. Pure; ``assets/page.js`` says the same in the reader's browser from the verified
events (``tests/test_fold_js.py`` checks that the two agree)."""

from __future__ import annotations

import contextlib
from typing import Any

from ledger.core.canonical import canonical_bytes
from ledger.core.events import Event, is_withheld
from ledger.errors import LedgerError
from ledger.model.labels import notice_effects
from ledger.model.pointer import apply_changes, parse_pointer
from ledger.pages.render import shown_value
from ledger.storage.views import Shown

KIND_WORDS = {
    "correction": "Correction", "addendum": "Addendum", "clarification": "Clarification",
    "expression_of_concern": "Expression of concern", "partial_retraction": "Partial retraction",
    "retraction": "Retraction", "withdrawal": "Withdrawal", "removal": "Removal",
    "reinstatement": "Reinstatement",
}
BANNER_WORDS = {"REMOVED": "This record was removed", "RETRACTED": "This record was retracted",
                "WITHDRAWN": "This record was withdrawn",
                "UNDER_CONCERN": "This record is under an expression of concern",
                "CORRECTED": "This record was corrected"}
STATUS_KINDS = {"REMOVED": ("removal",), "RETRACTED": ("retraction",), "WITHDRAWN": ("withdrawal",),
                "UNDER_CONCERN": ("expression_of_concern",),
                "CORRECTED": ("correction", "partial_retraction")}


def value_text(value: Any) -> str:
    """Return a value as a reader sees it: text as is, a withheld member as what withheld it,
    anything else as compact JSON; an absent value as ``(none)``."""
    if value is None:
        return "(none)"
    if isinstance(value, str) or is_withheld(value):
        return shown_value(value)
    return canonical_bytes(value).decode("utf-8")


def banner(shown: Shown) -> dict[str, Any] | None:
    """Return the status banner: the status in words and the notice that gives it (kind, id,
    date, issuer, reason), and what reinstatements lifted; None for a current record that no
    notice ever touched."""
    status = shown["status"]
    lifted = [n for n in shown["notices"] if not n["in_force"]]
    lines = []
    cause = next((n for n in reversed(shown["notices"])
                  if n["in_force"] and n["kind"] in STATUS_KINDS.get(status, ())), None)
    if cause is not None:
        reason = f" Reason: {value_text(cause['reason'])}" if cause.get("reason") else ""
        lines.append(f"{KIND_WORDS[cause['kind']]} {cause['notice_id']}, effective "
                     f"{cause['effective_date']}, issued by {cause['issued_by']}.{reason}")
        lines += notice_effects(cause, shown["version"])  # what it did (unless withheld)
    by_id = {n["notice_id"]: n for n in shown["notices"]}
    for n in lifted:
        lifter = by_id.get(str(n["lifted_by"]), {})
        lines.append(f"Reinstated: {KIND_WORDS[n['kind']].lower()} {n['notice_id']} was lifted by "
                     f"{n['lifted_by']}, effective {lifter.get('effective_date', '?')}.")
    if cause is None and not lines:
        return None
    title = BANNER_WORDS.get(status, "This record is current")
    return {"status": status, "title": title, "lines": lines}


def timeline(events: list[Event]) -> list[dict[str, Any]]:
    """Return the record's history as sentences, oldest first: one item per event with its seq,
    time, actor, sentence and hash."""
    items = []
    manifest: dict[str, Any] = {}
    versions = 0
    for event in events:
        p = event.payload
        if event.type in ("record.published", "record.revised"):
            versions += 1
            verb = "Published" if event.type == "record.published" else "Revised:"
            text = f"{verb} version {versions}: “{value_text(p.get('title'))}”"
            manifest = p
        elif event.type == "provenance.recorded":
            text = f"Provenance recorded: publisher {value_text(p.get('publisher'))}"
        elif event.type == "notice.issued":
            text, manifest = _notice_sentence(p, manifest)
        elif event.type == "gate.evaluated":
            text = (f"Gate {p.get('gate')} ({value_text(p.get('name'))}) evaluated "
                    f"{p.get('status')} by {value_text(p.get('evaluator'))}: "
                    f"{value_text(p.get('reason'))}")
        elif event.type == "record.purged":
            purged = p.get("purged") or []
            text = (f"Purge for removal {p.get('notice_id')}: "
                    f"{sum(len(x.get('members') or []) for x in purged)} member(s) of "
                    f"{len(purged)} earlier event(s) withheld")
        else:
            text = event.type
        items.append({"seq": event.seq, "when": event.recorded_at, "actor": event.actor,
                      "text": text, "hash": event.hash})
    return items


def _notice_sentence(p: dict[str, Any], manifest: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    kind = str(p.get("kind"))
    text = (f"{KIND_WORDS.get(kind, kind)} {p.get('notice_id')} issued by "
            f"{value_text(p.get('issued_by'))}, effective {p.get('effective_date')}")
    if kind == "reinstatement":
        text += f"; lifts {p.get('lifts')}"
    if p.get("reason"):
        text += f": {value_text(p.get('reason'))}"
    changes = p.get("changes")
    if kind == "correction" and is_withheld(changes):
        text += f" — its changes are {value_text(changes)}"
    elif kind == "correction" and changes:
        described = [f"{c['path']} from {value_text(_at(manifest, str(c['path'])))} to "
                     f"{value_text(c['value'])}" for c in changes]
        text += " — changed " + "; ".join(described)
        with contextlib.suppress(LedgerError):  # cannot be: the log was verified
            manifest = apply_changes(manifest, changes)
    return text, manifest


def _at(doc: Any, path: str) -> Any:
    """Return the value at a JSON Pointer, or None if there is none."""
    for token in parse_pointer(path):
        if isinstance(doc, dict) and token in doc:
            doc = doc[token]
        elif isinstance(doc, list) and token.isdigit() and int(token) < len(doc):
            doc = doc[int(token)]
        else:
            return None
    return doc
