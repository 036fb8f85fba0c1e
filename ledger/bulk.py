"""Bulk append from JSON Lines: ``{"contract": …, "payload": …, "actor": …}`` per line."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import orjson

from ledger import store
from ledger.batch import Batch
from ledger.clock import Clock
from ledger.contracts import CONTRACTS
from ledger.errors import RefusedInput

DEFAULT_BATCH = 10_000
LINE_KEYS = {"contract", "payload", "actor"}
Item = tuple[int, str, Any, str]  # (line number, contract, payload, actor)


@dataclass
class BulkResult:
    appended: int = 0
    unchanged: int = 0
    batches: int = 0


class BulkRefused(RefusedInput):
    """A line was refused; batches before it were committed (``kept`` events)."""

    def __init__(self, line: int, reason: str, kept: int) -> None:
        self.line, self.reason, self.kept = line, reason, kept
        tail = (f"; {kept} event(s) from earlier batches were kept" if kept
                else "; nothing was written")
        super().__init__(f"LINE {line}: {reason} (nothing of its batch was written{tail})")


def parse_lines(lines: Iterable[bytes], default_actor: str) -> Iterator[Item]:
    """Yield (line number, contract, payload, actor) per non-blank line; refuse a bad line."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise _LineError(number, f"malformed JSON: {exc.msg} (column {exc.colno})") from None
        if not isinstance(doc, dict) or not {"contract", "payload"} <= doc.keys():
            raise _LineError(number, 'expected {"contract": …, "payload": …[, "actor": …]}')
        if doc.keys() - LINE_KEYS:
            raise _LineError(number, f"unknown key(s) {sorted(doc.keys() - LINE_KEYS)}")
        actor = doc.get("actor", default_actor)
        if doc["contract"] not in CONTRACTS:
            raise _LineError(number, f"unknown contract {doc['contract']!r}")
        if not isinstance(actor, str) or not actor.strip():
            raise _LineError(number, "actor must be a non-empty string")
        yield number, doc["contract"], doc["payload"], actor


class _LineError(RefusedInput):
    def __init__(self, line: int, reason: str) -> None:
        self.line, self.reason = line, reason
        super().__init__(reason)


def append_lines(conn: sqlite3.Connection, clock: Clock, lines: IO[bytes], actor: str,
                 batch_size: int = DEFAULT_BATCH,
                 progress: Callable[[int], None] | None = None) -> BulkResult:
    """Append every line in batches of ``batch_size`` events, one transaction each."""
    if batch_size < 1:
        raise RefusedInput("--batch-size must be at least 1")
    result = BulkResult()
    items = parse_lines(lines, actor)
    while True:
        line = taken = 0
        try:
            with store.write_transaction(conn):
                batch = Batch(conn, clock)
                for item in itertools.islice(items, batch_size):
                    line, taken = item[0], taken + 1
                    outcome = batch.add(*item[1:])
                    result.unchanged += outcome.event is None
                batch.flush()
        except _LineError as exc:
            raise BulkRefused(exc.line, exc.reason, result.appended) from None
        except RefusedInput as exc:
            raise BulkRefused(line, str(exc), result.appended) from None
        if taken == 0:
            return result
        result.appended += batch.appended
        result.batches += 1
        if progress is not None:
            progress(batch.appended)
