"""The payload contracts as strict pydantic v2 models (unknown keys are refused).

Dates and times are kept as the exact strings given (validated, never re-formatted), so that a
publisher's own values survive byte for byte into the canonical form of the event.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from ledger.core.events import TYPE_CONTRACTS
from ledger.errors import RefusedInput

RECORD_ID_RE = re.compile(r"[A-Z][A-Z0-9]*:[0-9A-F]{8}")  # fullmatch: "$" would take a final "\n"
SHA256_RE = re.compile(r"[0-9a-f]{64}")
# A record id as a file name writes it (SRCH-03BE3A05), or with another separator
_OTHER_SEPARATOR = re.compile(r"([A-Z][A-Z0-9]*)(?:[-_./ ]|%3A)([0-9A-F]{8})")

# The Literal types are the one list of each vocabulary; the tuples are read off them.
Tier = Literal["Flagship candidate", "DOI grade", "Watchlist", "Quarantine candidate"]
Grade = Literal["LOW", "MEDIUM", "HIGH"]
NoticeKind = Literal[
    "correction", "addendum", "clarification", "expression_of_concern", "partial_retraction",
    "retraction", "withdrawal", "removal", "reinstatement",
]
GateStatus = Literal["UNVERIFIED", "VERIFIED", "FAILED"]
NOTICE_KINDS, GATE_STATUSES = get_args(NoticeKind), get_args(GateStatus)


def valid_record_id(value: str) -> bool:
    """Return whether ``value`` is a record id in any case (``normalise_record_id`` takes it)."""
    return RECORD_ID_RE.fullmatch(value.upper()) is not None


def normalise_record_id(value: str) -> str:
    """Return the record id upper-cased; raise ValueError unless it is PREFIX:8HEX."""
    upper = value.upper()
    if not RECORD_ID_RE.fullmatch(upper):
        trimmed = upper.strip()
        other = _OTHER_SEPARATOR.fullmatch(trimmed)
        example = (f"; without the white space around it, it is {trimmed}"
                   if RECORD_ID_RE.fullmatch(trimmed) else
                   f"; with a colon it is {other[1]}:{other[2]}" if other else
                   ", e.g. SRCH:03BE3A05")
        raise ValueError(f"bad record id {value!r}: expected an upper-case prefix, a colon and "
                         f"8 hex digits{example}")
    return upper


_HEX = "0123456789ABCDEF"


def near_record_ids(record_id: str) -> list[str]:
    """Return the ids one typing slip away from a well-formed ``record_id``: one hex digit
    changed, or two neighbours swapped (the prefix kept; another prefix is the store's to find)."""
    prefix, digits = record_id.split(":")
    near = {digits[:i] + c + digits[i + 1:] for i in range(8) for c in _HEX if c != digits[i]}
    near |= {digits[:i] + digits[i + 1] + digits[i] + digits[i + 2:] for i in range(7)}
    near.discard(digits)
    return sorted(f"{prefix}:{d}" for d in near)


def record_id(value: str) -> str:
    """Return a record id as given on a command line or in a payload, normalised; raise
    RefusedInput (not ValueError, which is the pydantic validators' signal) if it is malformed."""
    try:
        return normalise_record_id(value)
    except ValueError as exc:
        raise RefusedInput(str(exc)) from None


DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})\Z", re.ASCII)
# RFC 3339 §5.6 date-time: "T" and "Z" may be lower case (§5.6 note); seconds are required, a
# fraction optional, and the offset is Z or ±HH:MM. Python's fromisoformat takes much more
# (week dates, the basic format, no seconds, a space), so the grammar is checked first.
TIMESTAMP_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?"
                          r"([Zz]|[+-](\d{2}):(\d{2}))\Z", re.ASCII)


def _date(value: str) -> str:
    """Check a calendar date ``YYYY-MM-DD`` (RFC 3339 full-date) and return it unchanged."""
    found = DATE_RE.match(value)
    try:
        if found is None:
            raise ValueError
        dt.date(*map(int, found.groups()))
    except ValueError:
        raise ValueError(f"{value!r} is not a date (a calendar date, YYYY-MM-DD)") from None
    return value


def _timestamp(value: str) -> str:
    """Check an RFC 3339 date-time with an offset and return it unchanged (kept as given)."""
    found = TIMESTAMP_RE.match(value)
    try:
        if found is None:
            raise ValueError
        year, month, day, hour, minute, second = map(int, found.groups()[:6])
        dt.datetime(year, month, day, hour, minute, min(second, 59))  # 60: a leap second
        if second > 60 or (found[9] is not None and (int(found[9]) > 23 or int(found[10]) > 59)):
            raise ValueError
    except ValueError:
        raise ValueError(f"{value!r} is not an RFC 3339 date-time with a time zone "
                         "(YYYY-MM-DDTHH:MM:SS[.fraction]Z or ±HH:MM)") from None
    return value


def _score(value: float) -> float:
    if Decimal(repr(value)).as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError(f"review score {value} has more than 2 decimals")
    return value


def _sha256(value: str) -> str:
    lower = value.lower()
    if not SHA256_RE.fullmatch(lower):
        raise ValueError(f"{value!r} is not a hex SHA-256 digest (64 hex digits)")
    return lower


RecordId = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9]*:[0-9A-Fa-f]{8}$"),
                     AfterValidator(normalise_record_id)]
Date = Annotated[str, Field(json_schema_extra={"format": "date"}), AfterValidator(_date)]
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"}),
                      AfterValidator(_timestamp)]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$"), AfterValidator(_sha256)]
Text = Annotated[str, StringConstraints(min_length=1)]
Score = Annotated[float, Field(ge=0, le=10, allow_inf_nan=False), AfterValidator(_score)]
Count = Annotated[int, Field(ge=0, le=2**53 - 1)]

# A DOI as Crossref and DataCite register it: "10.", a registrant code, "/", a suffix. Given bare
# (not as https://doi.org/… or doi:…), so that exports and comparisons see one spelling.
DOI_RE = re.compile(r"10\.\d{4,9}/\S+\Z")
URL_RE = re.compile(r"https?://[^\s/?#]+[^\s]*\Z")

# The reasons a notice may give in ``correction-record-v1.1`` (``reason_codes``), after the
# Retraction Watch database's reasons and COPE's retraction guidelines: code -> the label
# exported (Retraction Watch's wording where it has one). docs/contracts.md lists them.
REASON_CODES: dict[str, str] = {
    "error_in_data": "Error in Data",
    "error_in_analyses": "Error in Analyses",
    "error_in_methods": "Error in Methods",
    "error_in_results": "Error in Results and/or Conclusions",
    "error_in_text": "Error in Text",
    "error_in_references": "Error in Cites",
    "error_in_image": "Error in Image",
    "error_by_publisher": "Error by Journal/Publisher",
    "unreliable_results": "Unreliable Results",
    "results_not_reproducible": "Results Not Reproducible",
    "concerns_about_data": "Concerns/Issues About Data",
    "concerns_about_results": "Concerns/Issues About Results and/or Conclusions",
    "concerns_about_references": "Concerns/Issues about Referencing/Attributions",
    "unsupported_claims": "Concerns/Issues About Source-Grounded Claims",
    "fabrication": "Falsification/Fabrication of Data",
    "image_manipulation": "Manipulation of Images",
    "plagiarism": "Plagiarism of Article",
    "duplication": "Duplication of Article",
    "authorship": "Concerns/Issues About Authorship",
    "peer_review": "Concerns/Issues with Peer Review",
    "fake_peer_review": "Fake Peer Review",
    "paper_mill": "Paper Mill",
    "computer_generated": "Computer-Aided Content or Computer-Generated Content",
    "ethics_approval": "Lack of IRB/IACUC Approval and/or Compliance",
    "ethical_violation": "Ethical Violations by Author",
    "conflict_of_interest": "Conflict of Interest",
    "copyright": "Copyright Claims",
    "legal": "Legal Reasons/Legal Threats",
    "author_request": "Withdrawal by Author",
    "investigation": "Investigation by Journal/Publisher",
    "third_party_investigation": "Investigation by Third Party",
    "update_of_prior_notice": "Upgrade/Update of Prior Notice",
    "concerns_resolved": "Concerns Resolved",
    "other": "Other",
}


def _doi(value: str) -> str:
    if not DOI_RE.match(value):
        hint = (": give the DOI itself, 10.<registrant>/<suffix>, not a link"
                if value.lower().startswith(("http", "doi:")) else
                " (a DOI is 10.<registrant>/<suffix>, e.g. 10.5281/zenodo.20435649)")
        raise ValueError(f"{value!r} is not a DOI{hint}")
    return value


def _url(value: str) -> str:
    if not URL_RE.match(value):
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


def _reason_code(value: str) -> str:
    if value not in REASON_CODES:
        raise ValueError(f"{value!r} is not a reason code of correction-record-v1.1 (known: "
                         f"{', '.join(REASON_CODES)}; see docs/contracts.md)")
    return value


Doi = Annotated[str, Field(json_schema_extra={"pattern": r"^10\.\d{4,9}/\S+$"}), AfterValidator(_doi)]
Url = Annotated[str, Field(json_schema_extra={"pattern": r"^https?://\S+$"}), AfterValidator(_url)]
ReasonCode = Annotated[str, Field(json_schema_extra={"enum": list(REASON_CODES)}),
                       AfterValidator(_reason_code)]


class Strict(BaseModel):
    """Base: unknown keys refused, no type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


class Dimensions(Strict):
    evidence_strength: Grade | None = None
    citation_grounding: Grade | None = None
    uncertainty_disclosure: Grade | None = None
    reproducibility_status: Grade | None = None


class Quality(Strict):
    tier: Tier
    basis: str | None = None
    dimensions: Dimensions | None = None


class PaperManifest(Strict):
    """`paper-manifest-v1.1`: one version of a record."""

    record_id: RecordId
    title: Text
    research_question: str
    abstract: str
    submitted: Date | None = None  # optional: the publisher's compact page layout omits it
    review_score: Score | None = None
    source_grounded_claims: Count
    claim_record_source: str
    quality: Quality | None = None
    note: str | None = None


class PaperManifestV12(PaperManifest):
    """`paper-manifest-v1.2`: `paper-manifest-v1.1` and the record's own DOI (optional)."""

    doi: Doi | None = None


class ReportArtifact(Strict):
    available: bool
    uri: str | None = None
    sha256: Sha256 | None = None


class ExternalRecord(Strict):
    registered: bool
    identifier: str | None = None


class SourceProvenance(Strict):
    """`source-provenance-v1`: the public provenance facts of a record; the latest wins."""

    record_id: RecordId
    publisher: Text
    report_artifact: ReportArtifact
    external_record: ExternalRecord
    claim_lineage: Count
    review_method: str


class Change(Strict):
    path: Annotated[str, StringConstraints(pattern=r"^(/([^~/]|~[01])*)+$")]
    value: Any


class CorrectionRecord(Strict):
    """`correction-record-v1`: one public notice. Kind-specific keys are checked in rules."""

    record_id: RecordId
    notice_id: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")]
    kind: NoticeKind
    effective_date: Date
    issued_by: Text
    reason: str | None = None
    reason_codes: list[Text] = Field(default_factory=list)
    target_version: Annotated[int, Field(ge=1)] | None = None
    changes: list[Change] | None = None
    claim_ids: list[Text] | None = None
    lifts: Text | None = None


class CorrectionRecordV11(CorrectionRecord):
    """`correction-record-v1.1`: `correction-record-v1`, the notice's own DOI and URL (optional),
    and `reason_codes` from a controlled vocabulary (REASON_CODES)."""

    doi: Doi | None = None
    url: Url | None = None
    reason_codes: list[ReasonCode] = Field(default_factory=list)


class Artifact(Strict):
    kind: Text
    uri: str | None = None
    sha256: Sha256 | None = None


class GateEvaluation(Strict):
    """`gate-evaluation-v1`: one evaluation of one verification gate."""

    record_id: RecordId
    gate: Annotated[int, Field(ge=1, le=1000)]
    name: Text
    status: GateStatus
    reason: str
    evaluated_at: Timestamp
    evaluator: Text
    independent: bool
    artifacts: list[Artifact] = Field(default_factory=list)


class ActorKey(Strict):
    """`actor-key-v1`: an actor's Ed25519 verifier key, added to or revoked from the keyring."""

    record_id: RecordId  # KEY:<8 hex digits of the key id>
    name: Text
    vkey: Text
    role: Literal["admin", "writer"]
    reason: str | None = None


MemberName = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class PurgedEvent(Strict):
    seq: Annotated[int, Field(ge=1, le=2**53 - 1)]
    members: Annotated[list[MemberName], Field(min_length=1)]
    changed: list[MemberName] | None = None  # a withheld `changes`: the manifest members it set


class PurgeRecord(Strict):
    """`purge-record-v1`: the members of a record's earlier events a removal notice withholds
    (event type ``record.purged``, appended with the notice by ``correct --kind removal --purge``)."""

    record_id: RecordId
    notice_id: Text
    fields: Annotated[list[MemberName], Field(min_length=1)] | None = None
    purged: Annotated[list[PurgedEvent], Field(min_length=1)]


CONTRACTS: dict[str, type[Strict]] = {
    "paper-manifest-v1.1": PaperManifest,
    "paper-manifest-v1.2": PaperManifestV12,
    "source-provenance-v1": SourceProvenance,
    "correction-record-v1": CorrectionRecord,
    "correction-record-v1.1": CorrectionRecordV11,
    "gate-evaluation-v1": GateEvaluation,
    "actor-key-v1": ActorKey,
    "purge-record-v1": PurgeRecord,
}

# The versions of one contract, oldest first. A published version is never changed; a payload
# is stored under the oldest version (at or after the one asked for) that has every key it
# gives, so what an older version could say is still said in it, byte for byte.
MANIFEST_CONTRACTS = TYPE_CONTRACTS["record.published"]
NOTICE_CONTRACTS = TYPE_CONTRACTS["notice.issued"]
LATEST_MANIFEST = PaperManifestV12
_FAMILIES = (MANIFEST_CONTRACTS, NOTICE_CONTRACTS)


def contract_version(contract: str, raw: Any) -> str:
    """Return the contract version a payload submitted as ``contract`` is stored under: the
    oldest version of its family, from ``contract`` on, whose keys include every key given (the
    newest if none does, so that its refusal names the unknown key)."""
    family = next((f for f in _FAMILIES if contract in f), None)
    if family is None or not isinstance(raw, dict):
        return contract
    versions = family[family.index(contract):]
    return next((v for v in versions if raw.keys() <= CONTRACTS[v].model_fields.keys()),
                versions[-1])


def is_manifest(contract: str) -> bool:
    return contract in MANIFEST_CONTRACTS


def is_notice(contract: str) -> bool:
    return contract in NOTICE_CONTRACTS
