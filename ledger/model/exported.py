"""The published shape of what the ledger hands readers: the export snapshot
(``provenance-ledger-export-v1``: its header, then one record object per record), the record
object itself, which ``show --json`` prints, and the bundle (``provenance-ledger-bundle-v1``),
whose state is that object as of its checkpoint.

The record object's members come from the contracts (``contracts``): the current manifest, the
latest provenance facts, each notice and each gate's latest evaluation, with the members a
removal's purge withheld reading as their marker (``{"withheld": {…}}``, ``purge.marker``). The
models are derived from the contract versions named below and ``purge``'s lists;
``ledger.ops.schemas`` writes their JSON Schema into ``schemas/`` and a test checks every
export, ``show --json`` and bundle against them. A published schema is never changed: a new
contract version shown in the record object makes new formats (a test names the versions these
show, and pins the schemas' bytes).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, create_model
from pydantic.fields import FieldInfo

from ledger.core.events import SALT_BYTES
from ledger.model.contracts import (
    CONTRACTS,
    SHA256_RE,
    Count,
    RecordId,
    Strict,
    Tier,
)
from ledger.model.purge import KEPT

Seq = Annotated[int, Field(ge=1, le=2**53 - 1)]
Hash = Annotated[str, Field(pattern=f"^{SHA256_RE.pattern}$")]  # lower case, as stored
Status = Literal["CURRENT", "CORRECTED", "UNDER_CONCERN", "WITHDRAWN", "RETRACTED", "REMOVED"]
# A derived value whose input a purge withheld reads WITHHELD (``state.WITHHELD_VALUE``).
VerificationLevel = Literal["L1", "L2", "WITHHELD"]
ProvenanceLevel = Literal["L1", "L2", "L3", "L4", "WITHHELD"]


class WithheldBy(Strict):
    """What a marker says of the removal that withheld the member."""

    notice_id: str
    notice_seq: Seq
    purge_seq: Seq
    effective_date: str | None
    reason: str | None
    changed: list[str] | None = Field(
        default=None, description="on a correction's withheld `changes`: the manifest members "
                                  "they set (each reads as withheld in the current manifest)")


class Withheld(Strict):
    """A member withheld by a removal's purge: its value and salt are gone from the file."""

    withheld: WithheldBy


def _shown(name: str, contracts: tuple[str, ...], kept: frozenset[str] | None, marker: Any,
           dropped: frozenset[str] = frozenset(), **added: Any) -> type[Strict]:
    """Return a model of one family of contract versions as the record object shows it: every
    member any version has (the oldest version's type where versions differ, so that what an
    older version could say still validates), each one not in ``kept`` also a ``marker``
    (``kept`` None: only ``record_id`` is never withheld), without ``dropped``, with ``added``."""
    fields: dict[str, Any] = {}
    for contract in contracts:
        for field_name, info in CONTRACTS[contract].model_fields.items():
            if field_name in fields or field_name in dropped:
                continue
            extra = [Field(json_schema_extra=info.json_schema_extra)] if info.json_schema_extra else []
            kind: Any = (Annotated[(info.annotation, *info.metadata, *extra)]
                         if info.metadata or extra else info.annotation)
            if field_name != "record_id" and (kept is None or field_name not in kept):
                kind = Union[kind, marker]  # noqa: UP007 (a runtime union of computed types)
            fields[field_name] = (kind, _default(info))
    return create_model(name, __base__=Strict, **fields, **added)


def _default(info: FieldInfo) -> Any:
    if info.is_required():
        return ...
    if info.default_factory is not None:
        return Field(default_factory=info.default_factory)
    return info.default


# The contract versions this format shows (a newer one would be a new format).
MANIFEST_VERSIONS = ("paper-manifest-v1.1", "paper-manifest-v1.2")
NOTICE_VERSIONS = ("correction-record-v1", "correction-record-v1.1")
_NOTICE_KEPT = frozenset().union(*(KEPT[c] for c in NOTICE_VERSIONS))
_GATE_KEPT = KEPT["gate-evaluation-v1"]


class GateNotEvaluated(Strict):
    """A gate every record lists (``labels.DEFAULT_GATES``) that no evaluation has reached."""

    gate: int
    name: str
    status: Literal["NOT_EVALUATED"]
    evaluated: Literal[False]


class LastEvent(Strict):
    seq: Seq
    hash: Hash
    recorded_at: str


def _record_state(marker: Any, doc: str) -> type[Strict]:
    """Return the model of the record object whose withheld members read as ``marker``."""
    # A manifest member that a withheld correction set reads as withheld too, kept or not.
    manifest = _shown("Manifest", MANIFEST_VERSIONS, None, marker)
    provenance = _shown("Provenance", ("source-provenance-v1",), KEPT["source-provenance-v1"],
                        marker)
    notice = _shown("Notice", NOTICE_VERSIONS, _NOTICE_KEPT, marker, frozenset({"record_id"}),
                    seq=(Seq, ...), recorded_at=(str, ...), in_force=(bool, ...),
                    lifted_by=(str | None, ...))
    gate = _shown("EvaluatedGate", ("gate-evaluation-v1",), _GATE_KEPT, marker,
                  frozenset({"record_id"}), evaluated=(Literal[True], ...), seq=(Seq, ...))
    fields: dict[str, Any] = {
        "record_id": (RecordId, ...), "version": (Seq, ...), "status": (Status, ...),
        "correction_count": (Count, ...), "verification_level": (VerificationLevel, ...),
        "provenance_level": (ProvenanceLevel, ...),
        "quality_tier": (Tier | Literal["WITHHELD"] | None, ...),
        "gates": (list[gate | GateNotEvaluated], ...),  # type: ignore[valid-type]
        "manifest": (manifest, ...), "provenance": (provenance | None, ...),
        "notices": (list[notice], ...),  # type: ignore[valid-type]
        "last_event": (LastEvent, ...)}
    return create_model("RecordState", __base__=Strict, __doc__=doc, **fields)


RecordState = _record_state(Withheld, "One record's current state, folded from its events: "
                            "``show --json`` and each record of\nan export.")


class WithheldAfter(Strict):
    """What a marker naming a purge after a bundle's checkpoint says in its state (``purge.
    as_checkable``): only that, since nothing else it says can be checked against that
    checkpoint."""

    after_checkpoint: Annotated[int, Field(ge=0, le=2**53 - 1)]
    changed: list[str] | None = None


class WithheldAfterCheckpoint(Strict):
    """A member withheld by a purge after the bundle's checkpoint."""

    withheld: WithheldAfter


class ExportHeader(Strict):
    """The first line of an export (``jsonl``), or its ``header`` (``json``)."""

    format: Literal["provenance-ledger-export-v1"]
    head_seq: Annotated[int, Field(ge=0, le=2**53 - 1)]
    head_hash: Hash
    as_of: Annotated[int, Field(ge=0)] | None
    records: Count
    since: Annotated[int, Field(ge=0)] | None = None


class Export(Strict):
    """``provenance-ledger-export-v1`` as ``export --format json`` writes it; ``jsonl`` writes
    its header, then each record, one a line."""

    header: ExportHeader
    records: list[RecordState]  # type: ignore[valid-type]


BundleState = _record_state(Withheld | WithheldAfterCheckpoint, """A record's state as a bundle
states it: folded from its events up to the checkpoint, each member a later purge withheld
read as ``{"withheld": {"after_checkpoint": N}}``.""")


class Envelope(Strict):
    """One event as a bundle carries it: its envelope, the payload (and a format v2 event's
    salts and commitments) parsed."""

    seq: Seq
    type: str
    record_id: str
    contract: str
    payload: dict[str, Any]
    actor: str
    recorded_at: str
    prev_hash: Hash
    hash: Hash
    salts: dict[str, Annotated[str, Field(pattern=f"^[0-9a-f]{{{2 * SALT_BYTES}}}$")]] | None = None
    commitments: dict[str, Hash] | None = None


class BundledEvent(Strict):
    event: Envelope
    index: Annotated[int, Field(ge=0, le=2**53 - 2)]
    proof: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9+/]{43}=$")]]


class Bundle(Strict):
    """``provenance-ledger-bundle-v1``: one record's events up to a signed checkpoint, each
    with its inclusion proof, and the state they fold to (``ledger bundle``)."""

    format: Literal["provenance-ledger-bundle-v1"]
    record_id: RecordId
    checkpoint: str
    events: Annotated[list[BundledEvent], Field(min_length=1)]
    state: BundleState  # type: ignore[valid-type]
