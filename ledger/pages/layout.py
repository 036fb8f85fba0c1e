"""Parsing the publisher's public record pages (full and compact layouts) into facts.

Pure: text in, a ``Page`` out. Each fact keeps the line it came from, so a refusal can say
``FILE:LINE``. Real pages are untidy (truncated titles, stray characters, sections missing in
one layout, ``|`` table rows): values are kept as they are; unknown lines are ignored.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from ledger.errors import LineRefused

RECORD_ID = re.compile(r"^\s*([A-Za-z][A-Za-z0-9]*:[0-9A-Fa-f]{8})\s*$")
MD_TITLE = re.compile(r"^#\s+([A-Za-z][A-Za-z0-9]*:[0-9A-Fa-f]{8})\s*(?::\s*(.*))?$")
MD_ITEM = re.compile(r"^[-*]\s+\*\*(.+?):\*\*\s*(.*)$")
MD_RULE = re.compile(r"^\|[\s|:-]*\|$")
CELL_EDGE = re.compile(r"(?<!\\)\|")  # a cell ends at a "|" that is not escaped as "\|"
HEADINGS = ("Abstract", "Research Question", "Verification Level", "Truth-Engine Gate Verdict",
            "Gate Verdicts", "Quality Tier", "Quality Dimensions", "Correction Record",
            "Correction Notices", "Provenance")
HEADER_KEYS = ("Submitted", "Review score", "Verification", "Gate status", "Quality tier",
               "Verified claims", "DOI")
LABELS = {
    "Verification Level": ("Paper level", "Source-grounded claims", "Claim record source"),
    "Truth-Engine Gate Verdict": ("Status", "Gate", "Reason", "Evaluated", "Evaluator",
                                  "Independent", "Artifact"),
    "Quality Tier": ("Tier", "Basis"),
    "Quality Dimensions": ("Evidence strength", "Citation grounding", "Uncertainty disclosure",
                           "Reproducibility status"),
    "Correction Record": ("Status", "Correction count", "Version", "Record DOI",
                          "Manifest contract", "Correction contract"),
    "Correction Notices": ("Notice", "Kind", "Effective", "Issued by", "Reason", "Reason codes",
                           "Target version", "Lifts", "Claims", "Notice DOI", "Notice URL",
                           "Changed", "Lifted by"),
    "Provenance": ("Publisher", "Public provenance", "Report artifact", "Report artifact URI",
                   "Report artifact SHA-256", "External record", "External identifier",
                   "Claim lineage", "Review method", "Quality guide", "Provenance contract", "Note"),
}
LABELS["Gate Verdicts"] = LABELS["Truth-Engine Gate Verdict"]
# Labels that a block may repeat, one value a line: a gate's artifacts, a correction's changes.
REPEATED = ("Artifact", "Changed")
# A notice's labels that follow its others (what it changed, what lifted it): never its first.
TRAILING = ("Changed", "Lifted by")
# A notice's own identifiers (correction-record-v1.1): its payload key and its label on a page.
NOTICE_IDS = (("doi", "Notice DOI"), ("url", "Notice URL"))


class PageError(LineRefused):
    """A page that cannot be read; names the line."""


@dataclass
class Field:
    value: str
    line: int


@dataclass
class Page:
    """The facts on one page: ``fields`` by section, plus repeated blocks (gates, notices)."""

    record_id: Field
    title: Field
    layout: str
    header: dict[str, Field] = field(default_factory=dict)
    text: dict[str, Field] = field(default_factory=dict)
    sections: dict[str, dict[str, Field]] = field(default_factory=dict)
    gates: list[dict[str, Field]] = field(default_factory=list)
    notices: list[dict[str, Field]] = field(default_factory=list)


def clean(line: str) -> str:
    """Return a line with white space (non-breaking spaces too) stripped from both ends."""
    return line.strip()


def is_heading(line: str) -> bool:
    """Return whether a line is a section heading (spaces of any kind, any number)."""
    return " ".join(line.split()) in HEADINGS


def parse_page(text: str) -> Page:
    """Return the facts on a page; raise PageError naming the line if it is not a record page.

    Besides the publisher's two layouts, the Markdown form ``ledger render --format md`` writes
    is read: its ``# ID: title`` heading, ``## Section`` headings, ``- **Label:** value`` items
    and ``| label | value |`` tables are the same facts, on the same lines."""
    lines = [clean(line) for line in text.splitlines()]
    start = next((i for i, line in enumerate(lines[:5]) if MD_TITLE.match(line)), None)
    heading = None if start is None else MD_TITLE.match(lines[start])
    if heading is not None:
        lines = _unmarked(lines)
    else:
        start = next((i for i, line in enumerate(lines[:5]) if RECORD_ID.match(line)), None)
    layout = "markdown" if heading else \
        "compact" if any(line.startswith("|") for line in lines) else "full"
    if start is None:
        raise PageError(1, "no record id (like SRCH:03BE3A05) in the first lines: not a record page")
    if heading is not None and heading.group(2):  # "# ID: title": both on one line
        record_id, title_at, title = heading.group(1), start, heading.group(2)
    else:
        found = next((i for i in range(start + 1, len(lines)) if lines[i]), None)
        if found is None or is_heading(lines[found]):
            raise PageError(start + 2, "the record has no title line")
        record_id = heading.group(1) if heading is not None else lines[start]
        title_at, title = found, lines[found]
    page = Page(Field(record_id.upper(), start + 1), Field(title, title_at + 1), layout)
    section, block, blanks = "", None, 0
    for number, line in enumerate(lines[title_at + 1:], start=title_at + 2):
        if not line:
            blanks += 1
            continue
        if is_heading(line):
            section, block, blanks = " ".join(line.split()), None, 0
            continue
        if not section:
            _header_line(page, line, number)
        elif section in ("Abstract", "Research Question"):
            _text_line(page, section, line, number, blanks)
        else:
            block = _key_value(page, section, block, line, number)
        blanks = 0
    return page


def _unmarked(lines: list[str]) -> list[str]:
    """Return the lines of a Markdown page as the text layout has them, one for one: its
    headings and the header's items; any other line (prose that starts with ``#``) as it is."""
    out, sections = [], False
    for line in lines:
        plain = line.lstrip("#").strip() if line.startswith("#") else None
        item = MD_ITEM.match(line)
        if plain is not None and (is_heading(plain) or MD_TITLE.match(line)):
            sections = sections or is_heading(plain)
            out.append(plain)
        elif item is not None and not sections:
            out.append(f"{item.group(1)}: {item.group(2)}")
        else:  # a table's empty header row and its rule say nothing
            out.append("" if MD_RULE.match(line) else line)
    return out


def _header_line(page: Page, line: str, number: int) -> None:
    key, sep, value = line.partition(":")
    if sep and key.strip() in HEADER_KEYS:
        page.header[key.strip()] = Field(value.strip(), number)


def _text_line(page: Page, section: str, line: str, number: int, blanks: int) -> None:
    if section in page.text:  # blank lines inside the text are kept, around it dropped
        page.text[section].value += "\n" * (1 + blanks) + line
    else:
        page.text[section] = Field(line, number)


def _split(section: str, line: str) -> tuple[str, str] | None:
    """Return (label, value) of a ``| label | value |`` row or a ``LabelValue`` line."""
    if line.startswith("|"):
        cells = [c.strip().replace("\\|", "|") for c in CELL_EDGE.split(line.strip("|"))]
        label = cells[0]
        if label in LABELS[section]:
            return label, " | ".join(c for c in cells[1:] if c)
        return None
    for label in sorted(LABELS[section], key=len, reverse=True):
        if line.startswith(label):
            value = line[len(label):]
            return label, (value[1:] if value.startswith(":") else value).strip()
    return None


def _key_value(page: Page, section: str, block: dict[str, Field] | None, line: str,
               number: int) -> dict[str, Field] | None:
    pair = _split(section, line)
    if pair is None:
        return block  # boilerplate prose under a section: not a fact
    label, value = pair
    if section == "Correction Notices":
        if block is None and label in TRAILING:
            return block  # Markdown ``render`` wrote before 2026-12-03: above the table, prose
        if label == "Notice" or block is None:
            block = {}
            page.notices.append(block)
    elif section in ("Truth-Engine Gate Verdict", "Gate Verdicts"):
        if block is None or (label in block and label not in REPEATED):
            block = {}
            page.gates.append(block)
    else:
        block = page.sections.setdefault(section, {})
    if label in REPEATED and label in block:
        block[label].value += "\n" + value
    else:
        block[label] = Field(value, number)
    return block


def page_date(value: str, line: int) -> str:
    """Return ``28 May 2026`` or ``2026-05-28`` as ``2026-05-28`` (also ``May 28, 2026``, an
    abbreviated month with or without its point, ``Sept``)."""
    plain = re.sub(r"\bSept\b", "Sep", re.sub(r"(?<=[A-Za-z])\.", "", " ".join(value.split())))
    for fmt in ("%d %B %Y", "%d %b %Y", "%Y-%m-%d", "%B %d, %Y", "%b %d, %Y", "%d %B, %Y",
                "%d %b, %Y"):
        try:
            return dt.datetime.strptime(plain, fmt).date().isoformat()
        except ValueError:
            continue
    raise PageError(line, f"{value!r} is not a date")


def leading_int(value: str, line: int, what: str) -> int:
    """Return the integer a value starts with (``10 aggregate claims`` → 10)."""
    match = re.match(r"^\s*(\d+)", value)
    if not match:
        raise PageError(line, f"{what} {value!r} is not a whole number")
    return int(match.group(1))


def level_of(value: str) -> str:
    """Return ``L2`` from ``L2, Source-grounded claims`` ('' if none)."""
    match = re.match(r"^\s*(L[1-4])\b", value)
    return match.group(1) if match else ""
