"""Purges (format v2): which payload members a removal notice may withhold, the markers that
stand in for them, and the check that every withheld member is covered by a purge.

A purge is the ``record.purged`` event (contract ``purge-record-v1``) that ``correct --kind
removal --purge`` appends right after its removal notice. It lists, per earlier event of the
record, the members withheld; their values and salts are then deleted from the file and each
value replaced by a marker ``{"withheld": {...}}`` naming the notice. The envelope's commitments
are unchanged, so every hash, checkpoint and proof stays valid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.core.canonical import canonical_bytes
from ledger.core.events import MANIFEST_TYPES, WITHHELD, Event, is_withheld
from ledger.errors import RefusedInput, VerificationError

PURGE_TYPE, PURGE_CONTRACT = "record.purged", "purge-record-v1"

# Members never withheld, per contract: they keep the record identifiable and its history
# readable (and its status derivable: a notice's kind and what it lifts stay).
_KEPT = {
    "paper-manifest-v1.1": frozenset({"record_id", "title", "submitted"}),
    "source-provenance-v1": frozenset({"record_id", "publisher", "external_record"}),
    "correction-record-v1": frozenset({"record_id", "notice_id", "kind", "effective_date",
                                       "issued_by", "target_version", "lifts"}),
    "gate-evaluation-v1": frozenset({"record_id", "gate", "name", "status", "evaluated_at",
                                     "independent"}),
}
# Every member a purge may withhold (the members of each contract above that are not kept).
_PURGEABLE = {
    "paper-manifest-v1.1": frozenset({"research_question", "abstract", "review_score",
                                      "source_grounded_claims", "claim_record_source",
                                      "quality", "note"}),
    "source-provenance-v1": frozenset({"report_artifact", "claim_lineage", "review_method"}),
    "correction-record-v1": frozenset({"reason", "reason_codes", "changes", "claim_ids"}),
    "gate-evaluation-v1": frozenset({"reason", "evaluator", "artifacts"}),
}
# Later versions keep what they add: identifiers (a record's or a notice's DOI, a notice's URL).
KEPT: Mapping[str, frozenset[str]] = {
    **_KEPT, "paper-manifest-v1.2": _KEPT["paper-manifest-v1.1"] | {"doi"},
    "correction-record-v1.1": _KEPT["correction-record-v1"] | {"doi", "url"},
}
PURGEABLE: Mapping[str, frozenset[str]] = {
    **_PURGEABLE, "paper-manifest-v1.2": _PURGEABLE["paper-manifest-v1.1"],
    "correction-record-v1.1": _PURGEABLE["correction-record-v1"],
}
ALL_PURGEABLE = frozenset().union(*PURGEABLE.values())
ALL_KEPT = frozenset().union(*KEPT.values()) - ALL_PURGEABLE


def is_notice(contract: str) -> bool:
    """``contracts.is_notice``, imported when first asked: ``verify`` and its helpers load this
    module and never need the contract models (about 0.1 s to import)."""
    from ledger.model.contracts import is_notice as notice

    return notice(contract)


def purgeable(contract: str, payload: Mapping[str, Any]) -> bool:
    """Return whether an event of that contract and payload may have members withheld: never
    a removal notice (the reason for the purge stays public), a purge or a key event."""
    if contract not in PURGEABLE:
        return False
    return not (is_notice(contract) and payload.get("kind") == "removal")


def may_withhold(contract: str, payload: Mapping[str, Any], name: str) -> bool:
    """Return whether a purge may withhold member ``name`` of an event of that contract and
    payload: never a kept member (a notice's kind, what it lifts: the status derives from them),
    never a member of a removal notice, a purge or a key event."""
    return purgeable(contract, payload) and name in PURGEABLE[contract]


def check_withheld_member(seq: int, contract: str, payload: Mapping[str, Any], name: str,
                          value: Any, size: int) -> bool:
    """Check one withheld member of event ``seq`` as a reader holding the log up to ``size``
    events (a checkpoint's) sees it: raise VerificationError unless a purge may withhold it.
    Return whether its marker names a purge after ``size``, which the reader cannot check it
    against: accepted only if the marker's removal notice is after ``size`` too (a removal and
    its purge are appended together). Such a marker may hide a value a purge may withhold,
    never one the status derives from; every other marker must be covered by a purge the reader
    holds (``Withholdings``)."""
    if not may_withhold(contract, payload, name):
        raise VerificationError(seq, f"payload member {name!r} is withheld, but no purge "
                                f"withholds it from a {contract} event (the record's status "
                                "and history derive from it)", "", "")
    inner = value[WITHHELD] if is_withheld(value) else {}
    purge_seq, notice_seq = inner.get("purge_seq"), inner.get("notice_seq")
    if not (type(purge_seq) is int and purge_seq > size):
        return False
    if not (type(notice_seq) is int and size < notice_seq < purge_seq):
        raise VerificationError(seq, f"payload member {name!r} is withheld by a purge after the "
                                f"checkpoint (seq {purge_seq}) whose removal notice (seq "
                                f"{notice_seq!r}) is not after it too, as a removal and its purge "
                                "always are", "", "")
    return True


def as_checkable(events: Sequence[Event], size: int) -> list[Event]:
    """Return a record's events as a reader holding the log only up to ``size`` (a checkpoint's)
    folds them. A marker naming a purge after ``size`` cannot be checked against it
    (``check_withheld_member``): whoever serves the events could write any notice id, date or
    reason into it, so it is replaced by a marker that says only that (``{"withheld":
    {"after_checkpoint": size}}``). On a correction's ``changes`` such a marker also carried the
    list of the members the changes set: emptied, the corrected members would read as before
    the correction; it is widened to every member a manifest of the record has (but
    ``record_id``) and those it named, so each reads as withheld until a checkpoint covers the
    purge. ``ledger bundle`` and ``ledger site`` state what this gives, and both verifiers
    (``verify-bundle``, the page's ``verify.js``) fold it."""
    if not any('"withheld"' in event.payload_json for event in events):
        return list(events)  # the common case: nothing withheld, nothing to read
    names: set[str] = set()
    out = []
    for event in events:
        if event.type in MANIFEST_TYPES:
            names.update(event.payload)
        if event.commitments is not None and '"withheld"' in event.payload_json:
            payload, changed = event.payload, False
            for name, value in payload.items():
                purge_seq = value[WITHHELD].get("purge_seq") if is_withheld(value) else None
                if not (type(purge_seq) is int and purge_seq > size):
                    continue
                inner: dict[str, Any] = {"after_checkpoint": size}
                if name == "changes" and event.type == "notice.issued":
                    listed = value[WITHHELD].get("changed")
                    listed = {str(n) for n in listed} if isinstance(listed, list) else set()
                    inner["changed"] = sorted((names | listed) - {"record_id"})
                payload[name], changed = {WITHHELD: inner}, True
            if changed:
                event = event._replace(payload_json=canonical_bytes(payload).decode("utf-8"))
        out.append(event)
    return out


def check_fields(fields: Iterable[str]) -> list[str]:
    """Return ``--purge-field`` names sorted; raise RefusedInput for a name that is kept or
    that no contract has."""
    names = sorted(set(fields))
    for name in names:
        if name in ALL_KEPT:
            raise RefusedInput(f"--purge-field {name}: {name} is never withheld (it keeps the "
                               "record identifiable and its history readable)")
        if name not in ALL_PURGEABLE:
            raise RefusedInput(f"--purge-field {name}: no contract has a member {name!r} that a "
                               f"purge may withhold (these may: {', '.join(sorted(ALL_PURGEABLE))})")
    return names


def marker(notice_id: str, notice_seq: int, purge_seq: int, notice: Mapping[str, Any],
           changed: list[str] | None = None) -> dict[str, Any]:
    """Return the marker that stands in for a withheld member: the removal notice's id, seq,
    effective date and reason, the purge's seq, and (for a correction's ``changes``) the
    manifest members those changes set."""
    inner: dict[str, Any] = {"notice_id": notice_id, "notice_seq": notice_seq,
                             "purge_seq": purge_seq,
                             "effective_date": notice.get("effective_date"),
                             "reason": notice.get("reason")}
    if changed is not None:
        inner["changed"] = changed
    return {WITHHELD: inner}


def changed_members(changes: Any) -> list[str]:
    """Return the top-level manifest members a correction's ``changes`` set."""
    names = set()
    for change in changes if isinstance(changes, list) else []:
        path = str(change.get("path", "")) if isinstance(change, dict) else ""
        names.add(path[1:].split("/")[0].replace("~1", "/").replace("~0", "~"))
    return sorted(n for n in names if n)


def describe(value: Mapping[str, Any]) -> str:
    """Return a withheld marker as one line of text."""
    inner = value.get(WITHHELD) or {}
    if "after_checkpoint" in inner:  # as_checkable's: what a later purge's marker says is unchecked
        return f"[withheld by a removal after the checkpoint of size {inner['after_checkpoint']}]"
    reason = inner.get("reason")
    return (f"[withheld by removal notice {inner.get('notice_id')} (seq {inner.get('notice_seq')})"
            f" of {inner.get('effective_date')}{': ' + str(reason) if reason else ''}]")


@dataclass
class Withholdings:
    """Checks, in seq order, that every withheld member is covered: a later ``record.purged``
    event of the same record lists it, follows a removal notice of that record, and the marker
    stored for the member is exactly the one that purge gives. Only the (rare) withheld
    members and removal notices are held in memory."""

    pending: dict[tuple[int, str], tuple[str, Any]] = field(default_factory=dict)
    removals: dict[str, tuple[int, str, Mapping[str, Any]]] = field(default_factory=dict)
    covered: list[tuple[int, str, str, int]] = field(default_factory=list)

    def withheld(self, seq: int, record_id: str, members: Mapping[str, Any]) -> None:
        for name, value in members.items():
            self.pending[(seq, name)] = (record_id, value)

    def removal(self, seq: int, record_id: str, payload: Mapping[str, Any]) -> None:
        self.removals.setdefault(str(payload.get("notice_id")), (seq, record_id, payload))

    def purge(self, seq: int, record_id: str, payload: Mapping[str, Any]) -> None:
        """Check one purge event; resolve the members it covers."""
        nid = str(payload.get("notice_id"))
        found = self.removals.get(nid)
        if found is None or found[1] != record_id:
            raise VerificationError(seq, f"the purge names notice {nid!r}, which is not a removal "
                                    f"notice of {record_id} issued before it", nid, "")
        notice_seq, _, notice = found
        entries = payload.get("purged")
        if not isinstance(entries, list):
            raise VerificationError(seq, "the purge lists no events", "purged", "")
        for entry in entries:
            target = entry.get("seq") if isinstance(entry, dict) else None
            if type(target) is not int or not 0 < target < notice_seq:
                raise VerificationError(seq, f"the purge lists seq {target!r}, which is not an "
                                        f"event before its removal notice (seq {notice_seq})",
                                        f"< {notice_seq}", str(target))
            changed = entry.get("changed")
            for name in entry.get("members") or []:
                held = self.pending.pop((target, str(name)), None)
                if held is None:
                    continue  # still stored: audit reports a purge that was not carried out
                want = marker(nid, notice_seq, seq, notice,
                              changed if name == "changes" and changed is not None else None)
                if held[0] != record_id or held[1] != want:
                    raise VerificationError(target, f"payload member {name!r} is withheld with a "
                                            f"marker that purge seq {seq} does not give (the marker "
                                            "was written behind the ledger's back)", str(want),
                                            str(held[1]))
                self.covered.append((target, str(name), nid, notice_seq))

    def finish(self) -> None:
        """Raise VerificationError for the first withheld member no purge covers."""
        if self.pending:
            seq, name = min(self.pending)
            raise VerificationError(seq, f"payload member {name!r} is withheld but no removal "
                                    "notice's purge covers it: its value was deleted behind the "
                                    "ledger's back", "a covering purge", "none")


def note_event(notes: list[tuple[Any, ...]], seq: int, type_: str, record_id: str,
               payload: Mapping[str, Any], withheld: Mapping[str, Any]) -> None:
    """Append what ``Withholdings`` needs to know of one v2 event to ``notes`` (nothing for
    most events)."""
    if withheld:
        notes.append(("withheld", seq, record_id, dict(withheld)))
    if type_ == "notice.issued" and payload.get("kind") == "removal":
        notes.append(("removal", seq, record_id, dict(payload)))
    elif type_ == PURGE_TYPE:
        notes.append(("purge", seq, record_id, dict(payload)))


def replay(notes: Iterable[tuple[Any, ...]]) -> Withholdings:
    """Return the ``Withholdings`` after the notes of a whole log, in seq order (raises
    VerificationError at the first problem; ``finish`` is the caller's)."""
    held = Withholdings()
    for kind, seq, record_id, data in notes:
        getattr(held, kind)(seq, record_id, data)
    return held



def purge_problems(purge: Mapping[str, Any],
                   events: Mapping[int, tuple[str, Mapping[str, Any]]]) -> list[str]:
    """Return what is wrong with a purge (``audit``): ``events`` maps the seq of each earlier
    event of the record to (contract, payload as stored). Every listed event must be one of the
    record's, before the removal notice the purge names, one a purge may touch; every listed
    member one it may withhold, and withheld (a purge that was not carried out leaves content
    the log says is gone)."""
    nid = purge.get("notice_id")
    notice = next((seq for seq, (contract, p) in events.items()
                   if is_notice(contract) and p.get("notice_id") == nid
                   and p.get("kind") == "removal"), None)
    if notice is None:
        return [f"the purge names {nid!r}, which is not a removal notice of this record"]
    problems = []
    for entry in purge.get("purged") or []:
        seq = entry.get("seq")
        found = events.get(seq) if isinstance(seq, int) else None
        if found is None or seq >= notice:
            problems.append(f"the purge lists seq {seq}, which is not an event of this record "
                            f"before its removal notice (seq {notice})")
            continue
        contract, payload = found
        if not purgeable(contract, payload):
            problems.append(f"the purge lists seq {seq}, whose {contract} members are never purged")
            continue
        for name in entry.get("members") or []:
            if name not in PURGEABLE[contract]:
                problems.append(f"the purge withholds {name!r} of seq {seq}, which is kept")
            elif name in payload and not is_withheld(payload[name]):
                problems.append(f"the purge lists {name!r} of seq {seq}, which is still stored: "
                                "the purge was not carried out")
    return problems
