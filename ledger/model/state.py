"""Derived state of one record: a pure left fold over that record's events, in seq order.

The same fold feeds the incrementally maintained views, ``rebuild``, ``export --as-of`` and
``audit``, so the views can only ever equal a fresh rebuild.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.core.events import KEY_TYPES, MANIFEST_TYPES, WITHHELD, Event, is_withheld
from ledger.errors import CorruptEvent, LedgerError
from ledger.model.pointer import apply_changes

# A derived value whose input a purge withheld (docs/format.md, "What a purge withholds").
WITHHELD_VALUE = "WITHHELD"

# SPEC: REMOVED > RETRACTED > WITHDRAWN > UNDER_CONCERN > CORRECTED > CURRENT
STATUS_ORDER = ("CURRENT", "CORRECTED", "UNDER_CONCERN", "WITHDRAWN", "RETRACTED", "REMOVED")
KIND_STATUS = {
    "correction": "CORRECTED", "partial_retraction": "CORRECTED",
    "expression_of_concern": "UNDER_CONCERN", "withdrawal": "WITHDRAWN",
    "retraction": "RETRACTED", "removal": "REMOVED",
}
_RANKS = {kind: STATUS_ORDER.index(status) for kind, status in KIND_STATUS.items()}


@dataclass
class Version:
    version: int
    seq: int
    type: str
    recorded_at: str
    manifest: dict[str, Any]
    manifest_json: str


@dataclass
class Notice:
    notice_id: str
    seq: int
    recorded_at: str
    payload: dict[str, Any]
    payload_json: str
    kind: str  # str(payload["kind"]), read once: the fold and the rules ask for it many times
    in_force: bool = True
    lifted_by: str | None = None


@dataclass
class GateResult:
    gate: int
    seq: int
    payload: dict[str, Any]


@dataclass
class RecordState:
    """Everything the views hold about one record."""

    record_id: str
    versions: list[Version] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] | None = None
    provenance_json: str | None = None
    notices: list[Notice] = field(default_factory=list)
    gates: dict[int, GateResult] = field(default_factory=dict)
    purges: list[int] = field(default_factory=list)  # seq of each record.purged event
    first_seq: int = 0
    last_seq: int = 0
    last_hash: str = ""
    last_recorded_at: str = ""

    @property
    def version(self) -> int:
        return len(self.versions)

    @property
    def status(self) -> str:
        """Return the most severe status among the notices in force."""
        return STATUS_ORDER[max([_RANKS.get(n.kind, 0) for n in self.notices if n.in_force],
                                default=0)]

    @property
    def correction_count(self) -> int:
        return len(self.notices)

    @property
    def verification_level(self) -> str:
        claims = self.manifest.get("source_grounded_claims", 0)
        if is_withheld(claims):
            return WITHHELD_VALUE
        return "L2" if int(claims) > 0 else "L1"

    @property
    def provenance_level(self) -> str:
        return provenance_level(self.provenance)

    @property
    def quality_tier(self) -> str | None:
        quality = self.manifest.get("quality")
        if is_withheld(quality):
            return WITHHELD_VALUE
        return None if not quality else str(quality["tier"])

    def notice(self, notice_id: str) -> Notice | None:
        """Return this record's notice with that id, or None."""
        for notice in self.notices:
            if notice.notice_id == notice_id:
                return notice
        return None


def provenance_level(facts: dict[str, Any] | None) -> str:
    """Return the highest provenance level (L1–L4) that the facts support (WITHHELD when a fact
    it depends on was withheld by a purge)."""
    if not facts:
        return "L1"
    for name, level in (("external_record", "L4"), ("claim_lineage", "L3"),
                        ("report_artifact", "L2")):
        value = facts[name]
        if is_withheld(value):
            return WITHHELD_VALUE
        if value["registered"] if level == "L4" else value > 0 if level == "L3" else value["available"]:
            return level
    return "L1"


def fold(events: Iterable[Event]) -> RecordState | None:
    """Return the state after a record's events, oldest first (None if there are none); raise
    as ``apply_event`` does (its body inlined: a rebuild folds every event of the log)."""
    state: RecordState | None = None
    for event in events:
        try:
            state = _apply(state, event, event.payload)
        except CorruptEvent:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, LedgerError) as exc:
            raise _unapplied(event, exc) from None
    return state


def fold_record(events: Sequence[Event]) -> RecordState | None:
    """Return the state of the record these events are of; None if there are none, or if they
    are the keyring's (a ``KEY:`` id holds a signed ledger's keys, not a record)."""
    return fold(events) if events and events[0].type not in KEY_TYPES else None


def apply_event(state: RecordState | None, event: Event,
                payload: dict[str, Any] | None = None) -> RecordState:
    """Return the state after ``event`` (mutates and returns ``state`` when given).

    ``payload`` is the event's parsed payload when the caller has it (it is then owned by the
    state). Raises CorruptEvent if a stored payload cannot be applied (a tampered file).
    """
    try:
        return _apply(state, event, event.payload if payload is None else payload)
    except CorruptEvent:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, LedgerError) as exc:
        raise _unapplied(event, exc) from None


def _unapplied(event: Event, exc: Exception) -> CorruptEvent:
    return CorruptEvent(f"seq {event.seq}: cannot apply {event.type}: {exc!r}")


def _apply(state: RecordState | None, event: Event, payload: dict[str, Any]) -> RecordState:
    if state is None:
        state = RecordState(record_id=event.record_id, first_seq=event.seq)
    if event.type in MANIFEST_TYPES:
        state.versions.append(Version(state.version + 1, event.seq, event.type,
                                      event.recorded_at, payload, event.payload_json))
        state.manifest = payload  # never mutated in place: apply_changes returns a new dict
    elif event.type == "provenance.recorded":
        state.provenance = payload
        state.provenance_json = event.payload_json
    elif event.type == "notice.issued":
        _apply_notice(state, Notice(payload["notice_id"], event.seq, event.recorded_at, payload,
                                    event.payload_json, str(payload["kind"])))
    elif event.type == "gate.evaluated":
        state.gates[int(payload["gate"])] = GateResult(int(payload["gate"]), event.seq, payload)
    elif event.type == "record.purged":
        state.purges.append(event.seq)
    else:
        raise CorruptEvent(f"seq {event.seq}: unknown event type {event.type!r}")
    state.last_seq, state.last_hash, state.last_recorded_at = event.seq, event.hash, event.recorded_at
    return state


def _apply_notice(state: RecordState, notice: Notice) -> None:
    payload, kind = notice.payload, notice.kind
    changes: Any = payload.get("changes")
    if kind == "correction" and is_withheld(changes):
        # The values are gone; the members they set are withheld in the current manifest too.
        inner = {k: v for k, v in changes[WITHHELD].items() if k != "changed"}
        state.manifest = {**state.manifest, **{name: {WITHHELD: inner}
                                               for name in changes[WITHHELD].get("changed", [])}}
    elif kind == "correction" and changes:
        state.manifest = apply_changes(state.manifest, changes)
    if kind == "reinstatement":
        lifted = state.notice(str(payload["lifts"]))
        if lifted is not None:
            lifted.in_force, lifted.lifted_by = False, notice.notice_id
    state.notices.append(notice)
