"""A record's public page from its ``show`` object: text (the full layout) and Markdown, both
importable again, and HTML. Pure."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ledger.core.events import is_withheld
from ledger.model.labels import PROVENANCE_LABELS, VERIFICATION_LABELS, earlier_version, level_text
from ledger.model.pointer import change_text
from ledger.model.purge import describe
from ledger.pages.layout import NOTICE_IDS
from ledger.storage.views import Shown

GATE_WORDS = {"UNVERIFIED": "Unverified", "VERIFIED": "Verified", "FAILED": "Failed",
              "NOT_EVALUATED": "Not evaluated"}
DIMENSIONS = (("evidence_strength", "Evidence strength"), ("citation_grounding", "Citation grounding"),
              ("uncertainty_disclosure", "Uncertainty disclosure"),
              ("reproducibility_status", "Reproducibility status"))
Section = tuple[str, list[tuple[str, str]]]  # (heading, rows); a row with label "" is prose


def _date(iso: Any) -> str:
    if is_withheld(iso):
        return describe(iso)
    return dt.date.fromisoformat(iso).strftime("%d %B %Y").lstrip("0")


def shown_value(value: Any) -> str:
    """Return a member's value as text: a withheld member as what withheld it, never empty."""
    return describe(value) if is_withheld(value) else str(value)



def header_rows(shown: Shown) -> list[tuple[str, str]]:
    """Return the header block of a page (label, value)."""
    m, p = shown["manifest"], shown["provenance"] or {}
    rows = []
    if m.get("submitted"):
        rows.append(("Submitted", _date(m["submitted"])))
    score = m.get("review_score")
    if score is not None:
        rows.append(("Review score", shown_value(score) if is_withheld(score) else f"{score:.2f}/10"))
    rows.append(("Verification", level_text(shown["verification_level"], VERIFICATION_LABELS)))
    gate2 = next((g for g in shown["gates"] if g["gate"] == 2), None)
    if gate2 is not None:
        rows.append(("Gate status", GATE_WORDS.get(gate2["status"], gate2["status"])))
    if shown["quality_tier"]:
        rows.append(("Quality tier", level_text(shown["quality_tier"], {})))
    if m["source_grounded_claims"]:
        rows.append(("Verified claims", shown_value(m["source_grounded_claims"])))
    ident = (p.get("external_record") or {}).get("identifier")
    if ident and str(ident).startswith("10."):
        rows.append(("DOI", str(ident)))
    return rows


def sections(shown: Shown) -> list[Section]:
    """Return the sections of the full layout, in the publisher's order."""
    m = shown["manifest"]
    out: list[Section] = [("Abstract", [("", shown_value(m["abstract"]))]),
                          ("Research Question", [("", shown_value(m["research_question"]))]),
                          ("Verification Level", [
                              ("Paper level", level_text(shown["verification_level"], VERIFICATION_LABELS)),
                              ("Source-grounded claims", shown_value(m["source_grounded_claims"])),
                              ("Claim record source", shown_value(m["claim_record_source"]))])]
    for gate in (g for g in shown["gates"] if g["evaluated"]):
        out.append(("Truth-Engine Gate Verdict", _gate_rows(gate)))
    quality = m.get("quality")
    if is_withheld(quality):
        out.append(("Quality Tier", [("Tier", shown_value(quality))]))
    elif quality:
        out.append(("Quality Tier", [("Tier", quality["tier"])]
                    + ([("Basis", quality["basis"])] if quality.get("basis") else [])))
        dims = quality.get("dimensions") or {}
        if any(dims.get(k) for k, _ in DIMENSIONS):
            out.append(("Quality Dimensions", [(label, dims[k]) for k, label in DIMENSIONS if dims.get(k)]))
    out.append(("Correction Record", [
        ("Status", shown["status"]), ("Correction count", str(shown["correction_count"])),
        ("Version", str(shown["version"])),
        *([("Record DOI", shown_value(m["doi"]))] if m.get("doi") else []),
        ("Manifest contract", "paper-manifest-v1.2" if "doi" in m else "paper-manifest-v1.1"),
        ("Correction contract", "correction-record-v1.1" if any(
            n.get("doi") or n.get("url") for n in shown["notices"]) else "correction-record-v1")]))
    if shown["notices"]:
        out.append(("Correction Notices", [row for n in shown["notices"]
                                           for row in _notice_rows(n, shown["version"])]))
    if shown["provenance"]:
        out.append(("Provenance", _provenance_rows(shown)))
    elif m.get("note"):
        out.append(("Provenance", [("Note", shown_value(m["note"]))]))
    return out


def _gate_rows(gate: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [("Status", GATE_WORDS[gate["status"]]), ("Gate", f"Gate {gate['gate']} — {gate['name']}"),
            ("Reason", shown_value(gate["reason"])), ("Evaluated", gate["evaluated_at"]),
            ("Evaluator", shown_value(gate["evaluator"])),
            ("Independent", "Yes" if gate["independent"] else "No")]
    if is_withheld(gate["artifacts"]):
        return [*rows, ("Artifacts", shown_value(gate["artifacts"]))]
    for a in gate["artifacts"]:
        parts = [a["kind"], a.get("uri") or "", f"sha256:{a['sha256']}" if a.get("sha256") else ""]
        rows.append(("Artifact", " ".join(p for p in parts if p)))
    return rows


def _notice_rows(n: dict[str, Any], version: int) -> list[tuple[str, str]]:
    rows = [("Notice", n["notice_id"]), ("Kind", n["kind"]), ("Effective", n["effective_date"]),
            ("Issued by", n["issued_by"])]
    about = earlier_version(n, version)  # about another version than the page shows
    if about is not None:
        rows.append(("Target version", str(about)))
    rows += [(label, str(n[key])) for key, label in NOTICE_IDS if n.get(key)]
    if n.get("reason"):
        rows.append(("Reason", shown_value(n["reason"])))
    for key, label in (("reason_codes", "Reason codes"), ("claim_ids", "Claims")):
        if n.get(key):
            rows.append((label, shown_value(n[key]) if is_withheld(n[key]) else ", ".join(n[key])))
    if n.get("lifts"):
        rows.append(("Lifts", n["lifts"]))
    changes = n.get("changes") or []
    if is_withheld(changes):
        rows.append(("Changes", shown_value(changes)))
    else:
        rows += [("Changed", change_text(change)) for change in changes]
    if not n["in_force"]:
        rows.append(("Lifted by", str(n["lifted_by"])))
    return rows


def _provenance_rows(shown: Shown) -> list[tuple[str, str]]:
    p, note = shown["provenance"] or {}, shown["manifest"].get("note")
    artifact, external = p["report_artifact"], p["external_record"]
    rows = [("Publisher", p["publisher"]),
            ("Public provenance", level_text(shown["provenance_level"], PROVENANCE_LABELS))]
    if is_withheld(artifact):
        rows.append(("Report artifact", shown_value(artifact)))
    else:
        rows.append(("Report artifact", "Available" if artifact["available"] else "Not available"))
        if artifact.get("uri"):
            rows.append(("Report artifact URI", artifact["uri"]))
        if artifact.get("sha256"):
            rows.append(("Report artifact SHA-256", artifact["sha256"]))
    rows.append(("External record", "Registered" if external["registered"] else "Not registered"))
    ident = external.get("identifier")
    if ident and not str(ident).startswith("10."):
        rows.append(("External identifier", str(ident)))
    lineage = p["claim_lineage"]
    rows += [("Claim lineage", shown_value(lineage) if is_withheld(lineage)
              else f"{lineage} aggregate source-grounded claims"),
             ("Review method", shown_value(p["review_method"])),
             ("Provenance contract", "source-provenance-v1")]
    if note:
        rows.append(("Note", shown_value(note)))
    return rows


def tables(rows: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Return a section's labelled rows as its tables: one, or one a notice (each notice's rows
    apart from the next one's, so that a reader sees where each begins)."""
    out: list[list[tuple[str, str]]] = []
    for label, value in rows:
        if not out or label == "Notice":
            out.append([])
        out[-1].append((label, value))
    return out


def render_text(shown: Shown, note: str | None = None) -> str:
    """Return the page as text in the publisher's full layout (importable again); ``note``, if
    any, is its first line (an importer looks for the record id below it)."""
    out = [note, ""] if note else []
    out += [shown["record_id"], "", shown_value(shown["manifest"]["title"]), ""]
    out += [f"{label}: {value}" for label, value in header_rows(shown)]
    for heading, rows in sections(shown):
        out += ["", heading, ""]
        out += [value for label, value in rows if not label]
        for i, table in enumerate(tables([(label, value) for label, value in rows if label])):
            out += [""] * (i > 0) + [f"{label}: {_one_line(value)}" for label, value in table]
    return "\n".join(out) + "\n"


def _one_line(value: str) -> str:
    return " ".join(value.split("\n"))


def render_markdown(shown: Shown, note: str | None = None) -> str:
    """Return the page as Markdown (importable again); ``note``, if any, quoted above it."""
    m = shown["manifest"]
    out = [f"> {note}", ""] if note else []
    out += [f"# {shown['record_id']}: {shown_value(m['title'])}", ""]
    out += [f"- **{label}:** {value}" for label, value in header_rows(shown)]
    for heading, rows in sections(shown):
        out += ["", f"## {heading}", ""]
        prose = [value for label, value in rows if not label]
        table = [(label, value) for label, value in rows if label]
        out += prose
        for i, group in enumerate(tables(table)):
            out += [""] * (i > 0) + ["| | |", "|---|---|"]
            out += [f"| {label} | {_cell(value)} |" for label, value in group]
    return "\n".join(out) + "\n"


def _cell(value: str) -> str:
    return _one_line(value).replace("|", "\\|")
