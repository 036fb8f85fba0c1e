"""From a parsed page to contract payloads, and the values the page states about itself."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ledger.core.canonical import parse_json
from ledger.errors import RefusedInput
from ledger.pages.layout import (
    NOTICE_IDS,
    Field,
    Page,
    PageError,
    leading_int,
    level_of,
    page_date,
)

CHANGED = re.compile(r"^(/\S*)\s+to\s+(.+)$")
GATE_WORDS = {"unverified": "UNVERIFIED", "verified": "VERIFIED", "failed": "FAILED"}
PAGE_EVALUATOR = "Truth-Engine"
DIMENSIONS = {"Evidence strength": "evidence_strength", "Citation grounding": "citation_grounding",
              "Uncertainty disclosure": "uncertainty_disclosure",
              "Reproducibility status": "reproducibility_status"}


@dataclass
class PageFacts:
    """What a page says, as payloads; ``lines`` maps payload keys to page lines."""

    record_id: str
    manifest: dict[str, Any]
    provenance: dict[str, Any] | None
    gates: list[tuple[dict[str, Any], int]] = field(default_factory=list)
    notices: list[tuple[dict[str, Any], int]] = field(default_factory=list)
    stated: dict[str, Field] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    # What the page says of versions, which import does not take (a page holds one manifest):
    # the version it shows, and each notice's about another one (``Target version``).
    version: str | None = None
    about: dict[str, str] = field(default_factory=dict)


def facts_of(page: Page) -> PageFacts:
    """Return the payloads a page describes; raise PageError naming a bad line."""
    _refuse_withheld(page)
    facts = PageFacts(page.record_id.value, _manifest(page), None)
    facts.lines = _lines(page)
    facts.provenance = _provenance(page)
    facts.gates = [(_gate(page, g), next(iter(g.values())).line) for g in page.gates]
    facts.notices = [(_notice(page, n), next(iter(n.values())).line) for n in page.notices]
    facts.stated = _stated(page)
    version = _get(page, "Correction Record", "Version")
    facts.version = version.value if version is not None else None
    facts.about = {n["Notice"].value: n["Target version"].value for n in page.notices
                   if "Notice" in n and "Target version" in n}
    return facts


def _refuse_withheld(page: Page) -> None:
    """Refuse a page that shows members a removal withheld (as ``ledger render`` writes them,
    ``[withheld by removal notice …]``): their values are not on it to import."""
    blocks = [page.header, page.text, *page.sections.values(), *page.gates, *page.notices]
    found = [f for block in blocks for f in block.values() if f.value.startswith("[withheld by ")]
    if found:
        first = min(found, key=lambda f: f.line)
        raise PageError(first.line, f"the page shows {len(found)} value(s) a removal withheld "
                        f"({first.value[:40]}…): what they were is not on it, so it cannot be "
                        "imported")


def _get(page: Page, section: str, label: str) -> Field | None:
    return page.sections.get(section, {}).get(label)


NOT_SHOWN = frozenset({"", "-", "\u2013", "\u2014", "n/a", "na", "none", "not available", "not scored",
                       "not stated", "unknown"})


def _shown(page: Page, label: str) -> Field | None:
    """Return the header field ``label``, or None when the page does not show it: no such line,
    or a line that says there is no value (``Review score: —``, ``n/a``), as the compact layout
    that has no such line says it."""
    f = page.header.get(label)
    return None if f is None or f.value.strip().lower() in NOT_SHOWN else f


def _manifest(page: Page) -> dict[str, Any]:
    m: dict[str, Any] = {"record_id": page.record_id.value, "title": page.title.value}
    for key, section in (("research_question", "Research Question"), ("abstract", "Abstract")):
        m[key] = page.text[section].value if section in page.text else ""
    f = _shown(page, "Submitted")
    if f is not None:
        m["submitted"] = page_date(f.value, f.line)
    f = _shown(page, "Review score")
    if f is not None:
        match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*10)?\s*$", f.value)
        if not match:
            raise PageError(f.line, f"review score {f.value!r} is not a number out of 10")
        m["review_score"] = float(match.group(1))
    claims = (_get(page, "Verification Level", "Source-grounded claims")
              or page.header.get("Verified claims"))
    m["source_grounded_claims"] = (leading_int(claims.value, claims.line, "source-grounded claims")
                                   if claims else 0)
    source = _get(page, "Verification Level", "Claim record source")
    m["claim_record_source"] = source.value if source else ""
    tier = _get(page, "Quality Tier", "Tier") or page.header.get("Quality tier")
    if tier is not None:
        quality: dict[str, Any] = {"tier": tier.value}
        basis = _get(page, "Quality Tier", "Basis")
        if basis is not None:
            quality["basis"] = basis.value
        dims = {DIMENSIONS[k]: f.value for k, f in page.sections.get("Quality Dimensions", {}).items()}
        if dims:
            quality["dimensions"] = dims
        m["quality"] = quality
    doi = _get(page, "Correction Record", "Record DOI")  # the record's own: paper-manifest-v1.2
    if doi is not None:
        m["doi"] = doi.value
    note = _get(page, "Provenance", "Note")
    if note is not None:
        m["note"] = note.value
    return m


def _lines(page: Page) -> dict[str, int]:
    """Return the page line of each manifest key (for errors)."""
    out = {"record_id": page.record_id.line, "title": page.title.line}
    for key, section in (("research_question", "Research Question"), ("abstract", "Abstract")):
        if section in page.text:
            out[key] = page.text[section].line
    for key, label in (("submitted", "Submitted"), ("review_score", "Review score")):
        f = _shown(page, label)
        if f is not None:
            out[key] = f.line
    for key, section, label in (("source_grounded_claims", "Verification Level", "Source-grounded claims"),
                                ("claim_record_source", "Verification Level", "Claim record source"),
                                ("quality", "Quality Tier", "Tier"), ("note", "Provenance", "Note"),
                                ("doi", "Correction Record", "Record DOI")):
        f = _get(page, section, label)
        if f is not None:
            out[key] = f.line
    return out


def _yes(value: str, yes: str) -> bool:
    return value.strip().lower() == yes.lower()


def _provenance(page: Page) -> dict[str, Any] | None:
    sec = page.sections.get("Provenance")
    if not sec or "Publisher" not in sec:
        return None
    artifact: dict[str, Any] = {"available": _yes(sec["Report artifact"].value, "Available")
                                if "Report artifact" in sec else False}
    if "Report artifact URI" in sec:
        artifact["uri"] = sec["Report artifact URI"].value
    if "Report artifact SHA-256" in sec:
        artifact["sha256"] = sec["Report artifact SHA-256"].value
    external: dict[str, Any] = {"registered": _yes(sec["External record"].value, "Registered")
                                if "External record" in sec else False}
    ident = sec.get("External identifier") or page.header.get("DOI")
    if ident is not None:
        external["identifier"] = ident.value
    lineage = sec.get("Claim lineage")
    return {"record_id": page.record_id.value, "publisher": sec["Publisher"].value,
            "report_artifact": artifact, "external_record": external,
            "claim_lineage": leading_int(lineage.value, lineage.line, "claim lineage") if lineage else 0,
            "review_method": sec["Review method"].value if "Review method" in sec else ""}


def _gate(page: Page, block: dict[str, Field]) -> dict[str, Any]:
    first = next(iter(block.values())).line
    status = block.get("Status")
    word = GATE_WORDS.get(status.value.strip().lower()) if status else None
    if status is None or word is None:
        raise PageError(status.line if status else first, f"gate status {status.value if status else ''!r} "
                        "is not Unverified, Verified or Failed")
    gate_field = block.get("Gate")
    match = re.match(r"^\s*Gate\s+(\d+)\s*(?:[—–:-]\s*(.*))?$", gate_field.value if gate_field else "")
    if gate_field is None or match is None:
        raise PageError(gate_field.line if gate_field else first, "gate line is not 'Gate N — name'")
    def text(label: str, default: str) -> str:
        return block[label].value if label in block else default

    g: dict[str, Any] = {"record_id": page.record_id.value, "gate": int(match.group(1)),
                         "name": (match.group(2) or f"Gate {match.group(1)}").strip(),
                         "status": word, "reason": text("Reason", ""),
                         "evaluator": text("Evaluator", PAGE_EVALUATOR),
                         "independent": _yes(text("Independent", "No"), "Yes")}
    if "Evaluated" in block:
        g["evaluated_at"] = block["Evaluated"].value
    if "Artifact" in block:
        artifacts = block["Artifact"]
        g["artifacts"] = [_artifact(line, artifacts.line) for line in artifacts.value.split("\n")]
    return g


def _artifact(value: str, line: int) -> dict[str, Any]:
    """Return an artifact from ``kind uri [sha256:HEX]``."""
    parts = value.split()
    if not parts:
        raise PageError(line, "empty artifact line")
    out: dict[str, Any] = {"kind": parts[0]}
    for part in parts[1:]:
        if part.startswith("sha256:"):
            out["sha256"] = part.removeprefix("sha256:")
        else:
            out["uri"] = part
    return out


def _notice(page: Page, block: dict[str, Field]) -> dict[str, Any]:
    n: dict[str, Any] = {"record_id": page.record_id.value}
    keys = {"Notice": "notice_id", "Kind": "kind", "Effective": "effective_date",
            "Issued by": "issued_by", "Reason": "reason", "Lifts": "lifts",
            **{label: key for key, label in NOTICE_IDS}}  # these make it correction-record-v1.1
    for label, key in keys.items():
        if label in block:
            n[key] = block[label].value
    for label, key in (("Reason codes", "reason_codes"), ("Claims", "claim_ids")):
        if label in block:
            n[key] = [c.strip() for c in block[label].value.split(",") if c.strip()]
    if "Changed" in block:
        changes = _changes(block["Changed"].value)
        if changes:
            n["changes"] = changes
    return n


def _changes(text: str) -> list[dict[str, Any]]:
    """Return a correction's changes from its ``Changed`` lines (``/review_score to 9.1``, as
    ``render`` writes them); none unless every line is a JSON Pointer and a JSON value (an
    older page says only ``Changed /review_score``: what it changed to is not on it)."""
    out = []
    for line in text.split("\n"):
        match = CHANGED.match(line)
        if match is None:
            return []
        try:
            value = parse_json(match.group(2))
        except RefusedInput:
            return []
        out.append({"path": match.group(1), "value": value})
    return out


def _stated(page: Page) -> dict[str, Field]:
    out: dict[str, Field] = {}
    level = _get(page, "Verification Level", "Paper level") or page.header.get("Verification")
    if level is not None:
        out["verification_level"] = Field(level_of(level.value), level.line)
    prov = _get(page, "Provenance", "Public provenance")
    if prov is not None:
        out["provenance_level"] = Field(level_of(prov.value), prov.line)
    status = _get(page, "Correction Record", "Status")
    if status is not None:
        out["status"] = Field(status.value.strip().upper(), status.line)
    count = _get(page, "Correction Record", "Correction count")
    if count is not None:
        out["correction_count"] = count
    return out
