"""Exports in the conventions indexers ingest corrections in: Crossref update fragments (XML) and
REST-shaped ``update-to`` JSON, and the Retraction Watch database's CSV columns.

One element, item or row per notice, records sorted by id and notices by seq; each carries the
notice event's ``seq`` and the smallest stored checkpoint that covers it (its origin, size and
root; none if no checkpoint covers it yet). The record's DOI is its manifest's ``doi``
(``paper-manifest-v1.2``), else its provenance's external identifier when that is a DOI
(``10.<registrant>/<suffix>``); a notice's DOI and URL are its own ``doi`` and ``url``
(``correction-record-v1.1``). Where a DOI is missing the value is ``unavailable`` (in the CSV)
or null (the notice's own DOI in JSON). Reason codes of the controlled vocabulary are exported
with their labels (Retraction Watch's wording), other codes as given.

Notice kinds map to Crossref's update types one to one (``expression_of_concern``,
``partial_retraction`` and the rest share their names). A reinstatement has no Crossref
counterpart: it is not exported as an update; the notice it lifts is exported with
``lifted_by`` naming it (an attribute in XML, a member in JSON). In the Retraction Watch CSV,
RetractionNature is Retraction (retraction, partial retraction, withdrawal, removal), Correction
(correction, addendum, clarification), Expression of concern, or Reinstatement.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO
from xml.sax.saxutils import escape as _escape
from xml.sax.saxutils import quoteattr as _quoteattr

import orjson

from ledger.core.checkpoint import Checkpoint
from ledger.core.escapes import bidi_visible, xml_safe
from ledger.errors import CorruptEvent
from ledger.model.contracts import REASON_CODES
from ledger.model.labels import notice_effects
from ledger.storage.views import Shown

INDEXER_FORMATS = ("crossref-xml", "crossref-json", "retraction-watch-csv")
CROSSREF_TYPES = {
    "correction": "correction", "addendum": "addendum", "clarification": "clarification",
    "expression_of_concern": "expression_of_concern", "partial_retraction": "partial_retraction",
    "retraction": "retraction", "withdrawal": "withdrawal", "removal": "removal",
}  # reinstatement: no counterpart (see the module)
LABELS = {"correction": "Correction", "addendum": "Addendum", "clarification": "Clarification",
          "expression_of_concern": "Expression of concern",
          "partial_retraction": "Partial retraction", "retraction": "Retraction",
          "withdrawal": "Withdrawal", "removal": "Removal"}
NATURE = {"retraction": "Retraction", "partial_retraction": "Retraction",
          "withdrawal": "Retraction", "removal": "Retraction", "correction": "Correction",
          "addendum": "Correction", "clarification": "Correction",
          "expression_of_concern": "Expression of concern", "reinstatement": "Reinstatement"}
RW_COLUMNS = ("Record ID", "Title", "Subject", "Institution", "Journal", "Publisher", "Country",
              "Author", "URLS", "ArticleType", "RetractionDate", "RetractionDOI",
              "RetractionPubMedID", "OriginalPaperDate", "OriginalPaperDOI",
              "OriginalPaperPubMedID", "RetractionNature", "Reason", "Paywalled", "Notes")
UNAVAILABLE = "unavailable"
_DOI = re.compile(r"10\.\d{4,9}/\S+")
_HEX_HASH = re.compile(r"[0-9a-f]{64}")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def record_doi(record: Shown) -> str | None:
    """Return the record's DOI: its manifest's, else its provenance's external identifier if
    that is a DOI."""
    own = record["manifest"].get("doi")
    if isinstance(own, str) and own:
        return own
    identifier = ((record.get("provenance") or {}).get("external_record") or {}).get("identifier")
    if isinstance(identifier, str):
        found = identifier.strip().removeprefix("https://doi.org/").removeprefix("doi:")
        if _DOI.fullmatch(found):
            return found
    return None


def covering(checkpoints: list[Checkpoint], seq: int) -> Checkpoint | None:
    """Return the smallest checkpoint (sorted by size) whose tree holds event ``seq``."""
    return next((c for c in checkpoints if c.size >= seq), None)


def _checkpoint_json(checkpoint: Checkpoint | None) -> dict[str, Any] | None:
    return None if checkpoint is None else {"origin": checkpoint.origin, "size": checkpoint.size,
                                            "root": checkpoint.root_b64}


def xml_escape(value: str) -> str:
    """Return ``value`` as XML character data (see ``escapes.xml_safe``)."""
    return _escape(xml_safe(value))


def quoteattr(value: str) -> str:
    """Return ``value`` as a quoted XML attribute value (see ``escapes.xml_safe``)."""
    return _quoteattr(xml_safe(value))


def _text(value: Any) -> str:
    """A member's text (a withheld member reads as withheld)."""
    if isinstance(value, dict) and "withheld" in value:
        return "(withheld by a removal)"
    return "" if value is None else str(value)


def neutralise(cell: str) -> str:
    """Return a CSV cell a spreadsheet will not run as a formula (a leading ' if needed)."""
    return "'" + cell if cell.startswith(_FORMULA) else cell


def write_indexer_export(out: BinaryIO, fmt: str, header: dict[str, Any],
                         records: Iterator[Shown], checkpoints: list[Checkpoint]) -> None:
    """Write the notices of ``records`` in ``fmt`` (one of INDEXER_FORMATS), streaming."""
    checkpoints = sorted(checkpoints, key=lambda c: c.size)
    if fmt == "crossref-xml":
        _crossref_xml(out, header, records, checkpoints)
    elif fmt == "crossref-json":
        _crossref_json(out, header, records, checkpoints)
    else:
        _retraction_watch(out, records, checkpoints)


def _notices(records: Iterator[Shown]) -> Iterator[tuple[Shown, dict[str, Any]]]:
    for record in records:
        for notice in sorted(record["notices"], key=lambda n: int(n["seq"])):
            yield record, notice


def _crossref_xml(out: BinaryIO, header: dict[str, Any], records: Iterator[Shown],
                  checkpoints: list[Checkpoint]) -> None:
    out.write(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(f'<crossmark_updates source="provenance-ledger" head_seq="{header["head_seq"]}" '
              f'head_hash="{header["head_hash"]}">\n'.encode())
    for record, notice in _notices(records):
        kind = notice["kind"]
        if kind not in CROSSREF_TYPES:
            continue
        cp = covering(checkpoints, int(notice["seq"]))
        attrs = {"record_id": record["record_id"], "notice_id": str(notice["notice_id"]),
                 "seq": str(notice["seq"]), "checkpoint_origin": cp.origin if cp else "",
                 "checkpoint_size": str(cp.size) if cp else "",
                 "checkpoint_root": cp.root_b64 if cp else ""}
        if notice.get("lifted_by"):
            attrs["lifted_by"] = str(notice["lifted_by"])
        for key in ("doi", "url"):
            if notice.get(key):
                attrs[f"notice_{key}"] = str(notice[key])
        doi = record_doi(record) or UNAVAILABLE
        out.write(("  <notice " + " ".join(f"{k}={quoteattr(v)}" for k, v in attrs.items())
                   + ">\n    <crossmark><updates><update type=" + quoteattr(CROSSREF_TYPES[kind])
                   + " date=" + quoteattr(str(notice["effective_date"])) + ">"
                   + xml_escape(doi) + "</update></updates></crossmark>\n  </notice>\n").encode())
    out.write(b"</crossmark_updates>\n")


def _updated(date: str) -> dict[str, Any]:
    day = dt.date.fromisoformat(date)
    moment = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return {"date-parts": [[day.year, day.month, day.day]],
            "date-time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "timestamp": int(moment.timestamp() * 1000)}


def _crossref_json(out: BinaryIO, header: dict[str, Any], records: Iterator[Shown],
                   checkpoints: list[Checkpoint]) -> None:
    out.write(b'{"status":"ok","message-type":"update-list","message":{"head_seq":'
              + str(header["head_seq"]).encode() + b',"head_hash":"' + header["head_hash"].encode()
              + b'","items":[')
    first = True
    for record, notice in _notices(records):
        kind = notice["kind"]
        if kind not in CROSSREF_TYPES:
            continue
        item = {
            "DOI": notice.get("doi"), "URL": notice.get("url"),
            "record_id": record["record_id"], "notice_id": notice["notice_id"],
            "title": [f"{LABELS[kind]}: {_text(record['manifest'].get('title'))}"],
            "update-to": [{"DOI": record_doi(record) or UNAVAILABLE, "type": CROSSREF_TYPES[kind],
                           "label": LABELS[kind], "source": "publisher",
                           "updated": _updated(str(notice["effective_date"]))}],
            "seq": notice["seq"], "checkpoint": _checkpoint_json(covering(checkpoints, int(notice["seq"]))),
            "lifted_by": notice.get("lifted_by"),
        }
        out.write((b"" if first else b",") + b"\n" + orjson.dumps(item, option=orjson.OPT_SORT_KEYS))
        first = False
    out.write(b"\n]}}\n")


def _retraction_watch(out: BinaryIO, records: Iterator[Shown],
                      checkpoints: list[Checkpoint]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(RW_COLUMNS)
    for record, notice in _notices(records):
        m, p = record["manifest"], record.get("provenance") or {}
        cp = covering(checkpoints, int(notice["seq"]))
        reasons = notice.get("reason_codes") or []
        reason = ("".join(f"+{REASON_CODES.get(str(code), str(code))};" for code in reasons)
                  if isinstance(reasons, list) else _text(reasons)) or UNAVAILABLE
        covered = (f"checkpoint {cp.origin} size {cp.size} root {cp.root_b64}" if cp
                   else "no checkpoint covers it yet")
        notes = [f"ledger seq {notice['seq']}; {covered}", f"notice {notice['notice_id']}"]
        if notice.get("reason"):
            notes.append(_text(notice["reason"]))
        notes.extend(notice_effects(notice))  # a correction's changes, a partial's claims
        if notice.get("lifted_by"):
            notes.append(f"lifted by {notice['lifted_by']}")
        row = [record["record_id"], _text(m.get("title")), UNAVAILABLE, UNAVAILABLE, UNAVAILABLE,
               _text(p.get("publisher")) or UNAVAILABLE, UNAVAILABLE, UNAVAILABLE,
               _text(notice.get("url")) or UNAVAILABLE, "Research Article",
               str(notice["effective_date"]), _text(notice.get("doi")) or UNAVAILABLE,
               UNAVAILABLE, _text(m.get("submitted")) or UNAVAILABLE,
               record_doi(record) or UNAVAILABLE, UNAVAILABLE, NATURE[notice["kind"]], reason,
               "Unknown", "; ".join(notes)]
        writer.writerow([neutralise(cell) for cell in row])
        out.write(buffer.getvalue().encode("utf-8"))
        buffer.seek(0)
        buffer.truncate()
    out.write(buffer.getvalue().encode("utf-8"))


def _urn(hex_hash: str, seq: int) -> str:
    """Return a stable urn:uuid made from the hash of event ``seq`` (the first 16 bytes, as a
    v4-shaped id); refuse a stored hash that is not one (CorruptEvent)."""
    if not _HEX_HASH.fullmatch(hex_hash):
        raise CorruptEvent(f"seq {seq}: the stored event hash is not 64 hex digits: it was edited "
                           "behind the ledger's back (run `ledger verify`)")
    h = hex_hash[:32]
    return f"urn:uuid:{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:32]}"


def write_atom(out: BinaryIO, notices: list[tuple[Any, Shown]], feed_hash: str, updated: str,
               title: str, link: Callable[[str], str] | None) -> None:
    """Write an Atom feed (RFC 4287) of notices, newest first: ``notices`` is [(the notice
    event, its record's show object)]; ``feed_hash`` (the first event's hash) makes the feed's
    id, each event's hash its entry's id, so that ids never change; ``link(record id or '')``
    gives a record's page (or the index), if the site's address is known; without it, each
    entry carries its text as content too, since an entry must have a link or content."""

    def text(value: str) -> str:  # shown to readers, as a page shows it (``bidi_visible``)
        return xml_escape(bidi_visible(value))

    out.write(b'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n')
    out.write(f"  <id>{_urn(feed_hash, 1)}</id>\n  <title>{text(title)}</title>\n"
              f"  <updated>{text(updated)}</updated>\n"
              f"  <generator>provenance-ledger</generator>\n".encode())
    if link:
        out.write(f'  <link rel="alternate" href={quoteattr(link(""))}/>\n'.encode())
    for event, record in notices:
        p = event.payload
        kind = str(p.get("kind", "notice"))
        label = LABELS.get(kind, "Reinstatement" if kind == "reinstatement" else kind)
        record_title = _text(record["manifest"].get("title"))
        summary = (f"{label} of {event.record_id} ({record_title}), effective "
                   f"{p.get('effective_date')}, issued by {_text(p.get('issued_by'))}: "
                   f"{_text(p.get('reason'))}.{''.join(' ' + e for e in notice_effects(p))} Notice "
                   f"{p.get('notice_id')}, ledger seq {event.seq}; "
                   f"the record is now {record['status']}.")
        out.write(("  <entry>\n"
                   f"    <id>{_urn(event.hash, event.seq)}</id>\n"
                   f"    <title>{text(label + ': ' + record_title + ' (' + event.record_id + ')')}</title>\n"
                   f"    <updated>{text(event.recorded_at)}</updated>\n"
                   f"    <author><name>{text(_text(p.get('issued_by')) or event.actor)}</name></author>\n"
                   + (f'    <link rel="alternate" href={quoteattr(link(event.record_id))}/>\n'
                      if link else "")
                   + f'    <category term={quoteattr(kind)} label={quoteattr(label)}/>\n'
                   f"    <summary>{text(summary)}</summary>\n"
                   # RFC 4287 4.1.1: an entry with no link to a page carries its text as content
                   + ("" if link else f'    <content type="text">{text(summary)}</content>\n')
                   + "  </entry>\n").encode("utf-8"))
    out.write(b"</feed>\n")
