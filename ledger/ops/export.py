"""The snapshot export: a header with the head seq and hash, then every record's ``show``.

The bytes depend only on the ledger's events (sorted keys, records sorted by id, no export
time), so the same ledger always exports the same bytes. Records are streamed one at a time.
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, NamedTuple

import orjson

from ledger.core.events import is_withheld
from ledger.core.progress import Progress
from ledger.errors import RefusedInput
from ledger.model.state import WITHHELD_VALUE
from ledger.storage import store, views
from ledger.storage.views import Shown

FORMATS = ("json", "jsonl", "csv", "crossref-xml", "crossref-json", "retraction-watch-csv")
EXPORT_FORMAT = "provenance-ledger-export-v1"
CSV_COLUMNS = (
    "record_id", "version", "status", "correction_count", "verification_level",
    "provenance_level", "quality_tier", "title", "submitted", "review_score",
    "source_grounded_claims", "gates", "notices", "publisher", "external_identifier",
    "last_seq", "last_hash", "head_seq", "head_hash",
)
_OPTS = orjson.OPT_SORT_KEYS


def head_as_of(conn: sqlite3.Connection, as_of: int | None) -> tuple[int, str]:
    """Return (seq, hash) of the ledger's head, or of seq ``as_of`` if given (0: the empty
    ledger); refuse a seq outside the ledger."""
    seq, hash_ = store.head(conn)
    if as_of is None:
        return seq, hash_
    if not 0 <= as_of <= seq:
        raise RefusedInput(f"--as-of {as_of} is outside the ledger (0..{seq})")
    return as_of, store.hash_at(conn, as_of)


def snapshot(conn: sqlite3.Connection, as_of: int | None = None,
             progress: Progress | None = None, since: int | None = None,
             checking: Progress | None = None) -> tuple[dict[str, Any], Iterator[Shown]]:
    """Return (header, show objects sorted by record id), as of seq ``as_of`` if given; with
    ``since``, only the records with an event after that seq (what changed after it).

    The whole log is verified first, as ``verify`` does (``checking`` counts its events): an
    event edited behind the ledger's back refuses the export (VerificationError, naming its
    seq; CorruptEvent, naming the table), before a byte is written, so what an indexer ingests
    is the history the log's hashes commit to. Every record is then folded from its events
    (the rows just verified), never read from the views, so an edited view row cannot reach an
    export either."""
    from ledger.ops.maintenance import states_by_record  # imported when used: CLI start-up
    from ledger.ops.verification import verified

    seq, hash_ = head_as_of(conn, as_of)
    if since is not None and not 0 <= since <= seq:
        raise RefusedInput(f"--since {since} is outside the ledger (0..{seq})")
    verified(conn, "refusing to export", checking)
    records = (views.show_of(s) for s in states_by_record(conn, seq, progress)
               if since is None or s.last_seq > since)
    header = {"format": EXPORT_FORMAT, "head_seq": seq, "head_hash": hash_,
              "as_of": as_of, "records": store.count_records(conn, seq, since)}
    if since is not None:
        header["since"] = since
    return header, records


def write_export(out: BinaryIO, fmt: str, header: dict[str, Any],
                 records: Iterator[Shown], conn: sqlite3.Connection | None = None) -> None:
    """Write the snapshot to ``out`` in ``fmt`` (json, jsonl, csv, or an indexer's format, for
    which ``conn`` gives the stored checkpoints that cover each notice)."""
    if fmt in ("crossref-xml", "crossref-json", "retraction-watch-csv"):
        from ledger.ops.indexers import write_indexer_export

        checkpoints = _agreeing_checkpoints(conn, int(header["head_seq"])) if conn is not None else []
        write_indexer_export(out, fmt, header, records, checkpoints)
    elif fmt == "json":
        out.write(b'{"header":' + orjson.dumps(header, option=_OPTS) + b',"records":[')
        for i, record in enumerate(records):
            out.write((b",\n" if i else b"\n") + orjson.dumps(record, option=_OPTS))
        out.write(b"\n]}\n")
    elif fmt == "jsonl":
        out.write(orjson.dumps({"header": header}, option=_OPTS) + b"\n")
        for record in records:
            out.write(orjson.dumps(record, option=_OPTS) + b"\n")
    elif fmt == "csv":
        _write_csv(out, header, records)
    else:
        raise RefusedInput(f"unknown export format {fmt!r} (use one of {', '.join(FORMATS)})")


class ExportedHead(NamedTuple):
    """The head an export was made at (its header's ``head_seq`` and ``head_hash``), and the
    format it was written in: what an indexer who ingested it holds of the log."""

    seq: int
    hash: str
    format: str


_HEAD_LINE_MOST = 1 << 20  # an export's first lines: its header (a few hundred bytes) or a record


def exported_head(path: str) -> ExportedHead:
    """Return the head the export ``path`` was made at (``head_of_export``)."""
    from ledger.ops.files import unreadable

    try:
        with open(path, "rb") as handle:
            return head_of_export(handle, path)
    except OSError as exc:
        raise unreadable(path, exc) from None


def head_of_export(handle: BinaryIO, name: str) -> ExportedHead:
    """Return the head the export ``name`` (read from ``handle``) was made at, from its first
    lines (json, jsonl, csv, crossref-xml or crossref-json, as ``write_export`` writes them; a
    csv's from its first row). Refuse a file that is none of them, or a csv or
    retraction-watch-csv that names none."""
    import csv
    import re

    def refused(why: str) -> RefusedInput:
        return RefusedInput(f"{name} is {why}")

    seq: Any
    hash_: Any
    try:
        first = handle.readline(_HEAD_LINE_MOST)
        if first.startswith(b"record_id,"):  # csv: head_seq and head_hash on every row
            if tuple(first.decode("utf-8").rstrip("\r\n").split(",")) != CSV_COLUMNS:
                raise refused("a csv file, but not with the columns of `ledger export --format "
                              "csv`")
            row = next(csv.reader(io.TextIOWrapper(handle, "utf-8", newline="")), None)
            if row is None or len(row) != len(CSV_COLUMNS):
                raise refused("a csv export with no record: it names no head (export the json "
                              "or jsonl format, whose header names it)")
            seq, hash_, fmt = row[-2], row[-1], "csv"
        else:
            seq, hash_, fmt = _head_of_lines(first, handle.readline(_HEAD_LINE_MOST), refused)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise refused(f"not an export `ledger export` wrote ({exc})") from None
    if not (type(seq) is int or (isinstance(seq, str) and seq.isascii() and seq.isdecimal())) \
            or type(seq) is bool or not isinstance(hash_, str) \
            or re.fullmatch(r"[0-9a-f]{64}", hash_) is None or int(seq) > 2**63 - 1:
        raise refused(f"a {fmt} export whose head is not a seq and a hash ({seq!r:.30}, "
                      f"{hash_!r:.80})")
    return ExportedHead(int(seq), hash_, fmt)


def _head_of_lines(first: bytes, second: bytes,
                   refused: Callable[[str], RefusedInput]) -> tuple[Any, Any, str]:
    """Return (head_seq, head_hash, format) of an export from its first two lines."""
    import re

    what = ("neither a copy of the ledger file nor an export `ledger export` wrote (json, "
            "jsonl, csv, crossref-xml or crossref-json)")
    line = first.rstrip(b"\r\n")
    try:
        if line.startswith(b'{"header":'):
            if line.endswith(b',"records":['):  # json: the header, then one record a line
                doc, fmt = orjson.loads(line[:-len(b',"records":[')] + b"}"), "json"
            else:
                doc, fmt = orjson.loads(line), "jsonl"
            header = doc["header"]
            return header["head_seq"], header["head_hash"], fmt
        if line.startswith(b'{"status":"ok","message-type":"update-list"') and \
                line.endswith(b',"items":['):
            message = orjson.loads(line[:-len(b',"items":[')] + b"}}")["message"]
            return message["head_seq"], message["head_hash"], "crossref-json"
    except (ValueError, KeyError, TypeError):
        raise refused(what) from None
    if line.startswith(b"<?xml"):
        found = re.match(rb'<crossmark_updates source="provenance-ledger" head_seq="(\d+)" '
                         rb'head_hash="([0-9a-f]{64})"', second)
        if found is not None:
            return int(found[1]), found[2].decode(), "crossref-xml"
    if line.startswith(b"Record ID,Title,"):
        raise refused("a retraction-watch-csv export, whose columns name no head: export the "
                      "json or jsonl format, whose header names it")
    raise refused(what)


def _agreeing_checkpoints(conn: sqlite3.Connection, head: int) -> list[Any]:
    """Return the stored checkpoints an export may cite: within the export's head, and whose
    root is the stored tree's root at their size (which ``verify`` proves from the events) — a
    row written behind the ledger's back with another root is not cited."""
    from ledger.core.merkle import tree_root
    from ledger.errors import LedgerError
    from ledger.ops.proofs import reader, stored_checkpoints

    read = reader(conn)
    cited = []
    for checkpoint, _note in stored_checkpoints(conn)[0]:
        try:
            if checkpoint.size <= head and tree_root(checkpoint.size, read) == checkpoint.root:
                cited.append(checkpoint)
        except LedgerError:
            continue
    return cited


def _write_csv(out: BinaryIO, header: dict[str, Any], records: Iterator[Shown]) -> None:
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for record in records:
        writer.writerow(csv_row(record, header))
        out.write(buffer.getvalue().encode("utf-8"))
        buffer.seek(0)
        buffer.truncate()
    out.write(buffer.getvalue().encode("utf-8"))


def csv_row(record: Shown, header: dict[str, Any]) -> list[Any]:
    """Return one flat CSV row for a ``show`` object."""
    m, p = record["manifest"], record["provenance"] or {}
    gates = " ".join(f"{g['gate']}:{g['status']}" for g in record["gates"])
    notices = " ".join(f"{n['notice_id']}:{n['kind']}{'' if n['in_force'] else '(lifted)'}"
                       for n in record["notices"])
    external = p.get("external_record") or {}
    return [record["record_id"], record["version"], record["status"], record["correction_count"],
            record["verification_level"], record["provenance_level"], record["quality_tier"] or "",
            *map(_cell, (m["title"], m.get("submitted"), m.get("review_score"),
                         m["source_grounded_claims"])), gates, notices,
            *map(_cell, (p.get("publisher"), external.get("identifier") or None)),
            record["last_event"]["seq"], record["last_event"]["hash"],
            header["head_seq"], header["head_hash"]]


def _cell(value: Any) -> Any:
    """A manifest or provenance member as a CSV cell: a member a removal withheld reads
    WITHHELD (as the levels it was derived into do), a missing one is empty."""
    if is_withheld(value):
        return WITHHELD_VALUE
    if isinstance(value, dict | list):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return "" if value is None else value
