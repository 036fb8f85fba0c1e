"""Preparing JSON Lines in helper processes while one writer appends (``append --jsonl``).

Every line's work that does not depend on the ledger is done by helpers, each taking every
HELPERS-th chunk of CHUNK lines of the input file: parse the line (``parse_line``, as the writer
parses the lines it does itself), choose the contract version, fill the defaults, validate the
payload with its contract model, and make each payload member's canonical text, salt and
commitment (format v2). Only defaults that depend on the record's state, the moment or the actor
(DEFERRED) are filled with stand-ins for the validation, and left for the writer: their real
values are valid as they are (a date, an RFC 3339 time, the actor's name, a version >= 1), and
validation checks each member on its own, so the members the helper made are what the writer's
validation would make.

The writer (``bulk.append_lines``) keeps everything that depends on the ledger or on order:
the record's state, the rules (``plan``), the chain, the Merkle tree, the views, resumability
and the line numbers in errors. A line the helper could not prepare — any refusal, any
unusual contract — is sent as None and goes through the writer's ordinary path, which gives
the exact error. Each prepared line carries the SHA-256 of the line it was made from: the
writer uses it only for the very same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Generator
from pathlib import Path
from typing import Any

from ledger.core.canonical import JsonInputError, parse_json
from ledger.core.events import MadeRuns, made_runs
from ledger.errors import LedgerError, LineRefused
from ledger.model.contracts import (
    CONTRACTS,
    MANIFEST_CONTRACTS,
    NOTICE_CONTRACTS,
    contract_version,
)
from ledger.model.defaults import fill_defaults
from ledger.model.rules import actor_problem, filed_with, stored_event, validate
from ledger.ops.batch import record_id_of
from ledger.ops.files import UTF8_BOM, UTF16_BOMS, UTF16_TEXT, lines_at_most
from ledger.ops.helpers import Helper, HelperStopped, send

CHUNK = 256  # lines per message
LINE_KEYS = {"contract", "payload", "actor"}
Item = tuple[int, str, Any, str]  # (line number, contract, payload, actor)
HELPERS = 2
PARALLEL_FROM = 5_000  # input lines: below this, starting helpers costs more than they save
DEFERRED = frozenset({"effective_date", "issued_by", "target_version", "evaluated_at", "evaluator"})
PREPARED_CONTRACTS = frozenset({*MANIFEST_CONTRACTS, "source-provenance-v1", *NOTICE_CONTRACTS,
                                "gate-evaluation-v1"})
_STAND_IN_NOW = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
# (contract, actor, validated payload with stand-ins, deferred keys (in member order), the keys
# fill_defaults filled, every member but the deferred ones made as runs between them
# (``events.MadeRuns``), SHA-256 of the line)
Prepared = tuple[str, str, dict[str, Any], list[str], frozenset[str], MadeRuns, bytes]


def parse_line(number: int, line: bytes, default_actor: str) -> Item | None:
    """Return (line number, contract, payload, actor) of one line, None for a blank line;
    refuse a bad line (LineRefused)."""
    if not line.strip():
        return None
    try:
        doc = parse_json(line)
    except JsonInputError as exc:
        if line.startswith(UTF16_BOMS):
            raise LineRefused(number, f"the file {UTF16_TEXT.removeprefix('it ')}") from None
        if line.startswith(UTF8_BOM):
            raise LineRefused(number, "the line starts with a byte order mark (U+FEFF): save "
                              "the file as UTF-8 without one") from None
        where = f" (column {exc.column})" if exc.column else ""
        opened = line.strip() in (b"{", b"[")  # the first line of a JSON document written out
        raise LineRefused(number, f"{'malformed JSON: ' if exc.line else ''}{exc.message}"
                          f"{where}" + (": JSON Lines holds each document on one line of its "
                                        "own; a file of one JSON document is appended with "
                                        "`ledger publish`, `provenance`, `correct --from-file` "
                                        "or `gate --from-file`" if opened else "")) from None
    if not isinstance(doc, dict) or not {"contract", "payload"} <= doc.keys():
        found = filed_with(doc)
        raise LineRefused(number, 'expected {"contract": …, "payload": …[, "actor": …]}' + (
            f': this line has the keys of a {found[0]} document; give it as {{"contract": '
            f'"{found[0]}", "payload": {{…}}}}' if found else ""))
    if doc.keys() - LINE_KEYS:
        event = stored_event(doc)
        if event is not None:
            raise LineRefused(number, f"this line is a stored event ({event}), as `ledger log "
                              '--jsonl` prints it: a line to append holds only "contract", '
                              '"payload" and "actor" (`jq -c \'{contract, payload, actor}\'`), '
                              "and each appended event gets its own seq, time and hash")
        raise LineRefused(number, f"unknown key(s) {sorted(doc.keys() - LINE_KEYS)}")
    actor = doc.get("actor", default_actor)
    if doc["contract"] not in CONTRACTS:
        raise LineRefused(number, f"unknown contract {doc['contract']!r}")
    problem = actor_problem(actor)
    if problem is not None:
        raise LineRefused(number, problem)
    return number, doc["contract"], doc["payload"], actor


def prepare_line(number: int, line: bytes, default_actor: str) -> Prepared | str | None:
    """Return the prepared line, "blank" for a blank line, or None (the writer's path)."""
    try:
        item = parse_line(number, line, default_actor)
        if item is None:
            return "blank"
        _, asked, raw, actor = item
        contract = contract_version(asked, raw)
        if contract not in PREPARED_CONTRACTS or record_id_of(raw).startswith("KEY:"):
            return None
        doc, filled = fill_defaults(contract, raw, 1, actor, _STAND_IN_NOW)
        payload = validate(contract, doc)
    except (LedgerError, ValueError, TypeError, KeyError):
        return None
    deferred = sorted(filled & DEFERRED)
    made = made_runs(payload, later=deferred)
    return contract, actor, payload, deferred, filled, made, hashlib.sha256(line).digest()


def run_prepare(path: str, index: str, helpers: str, default_actor: str) -> None:
    """Helper: prepare chunks index, index + helpers, … of the file; send each as
    ("chunk", first line number, [prepared…]), then ("done",)."""
    mine, every = int(index), int(helpers)
    with Path(path).open("rb") as handle:
        chunk: list[Any] = []
        for number, line in enumerate(lines_at_most(handle), start=1):
            if ((number - 1) // CHUNK) % every != mine:
                continue
            chunk.append(None if line is None else prepare_line(number, line, default_actor))
            if len(chunk) == CHUNK:
                send(("chunk", number - CHUNK + 1, chunk))
                chunk = []
        if chunk:
            send(("chunk", number - len(chunk) + 1, chunk))
    send(("done",))


def prepared_stream(path: str, default_actor: str,
                    helpers: int = HELPERS) -> Generator[Prepared | str | None, None, None]:
    """Yield, line by line from line 1, what the helpers prepared (None for every line once a
    helper stops, so the writer does the rest itself). Stops the helpers when closed."""
    running = [Helper(run_prepare, path, str(i), str(helpers), default_actor)
               for i in range(helpers)]
    try:
        streams = [h.messages() for h in running]
        turn = 0
        while True:
            try:
                message = next(streams[turn % helpers])
            except (StopIteration, HelperStopped):
                break
            yield from message[2]
            turn += 1
        while True:
            yield None
    finally:
        for helper in running:
            helper.close()
