"""Bulk append from JSON Lines: ``{"contract": …, "payload": …, "actor": …}`` per line."""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import itertools
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

import orjson

from ledger.core.canonical import canonical_bytes
from ledger.core.clock import Clock
from ledger.errors import CorruptEvent, LedgerError, LineRefused, RefusedInput, StoreError
from ledger.model.contracts import contract_version
from ledger.model.rules import validate
from ledger.ops import bulkprep
from ledger.ops.batch import Batch, record_id_of
from ledger.ops.bulkprep import Item, parse_line, prepared_stream
from ledger.ops.files import LINE_TOO_LONG, lines_at_most
from ledger.storage import store

if TYPE_CHECKING:
    from ledger.core.note import Signer

DEFAULT_BATCH = 10_000


@dataclass
class BulkResult:
    appended: int = 0
    unchanged: int = 0
    batches: int = 0
    resumed: int = 0  # input lines skipped: an earlier run had committed them


class BulkRefused(LineRefused):
    """A line was refused; batches before it were committed (``kept`` events)."""

    def __init__(self, line: int, reason: str, kept: int) -> None:
        super().__init__(line, reason)
        self.kept = kept
        written = (f"nothing of its batch was written; {kept} event(s) from earlier batches "
                   "were kept" if kept else "nothing was written")
        self.args = (f"LINE {line}: {reason} ({written})",)


def parse_lines(lines: Iterable[tuple[int, bytes]], default_actor: str) -> Iterator[Item]:
    """Yield (line number, contract, payload, actor) per non-blank line; refuse a bad line."""
    for number, line in lines:
        item = parse_line(number, line, default_actor)
        if item is not None:
            yield item


class Resume:
    """Skips the input lines that an earlier, interrupted run already committed.

    Every committed batch records SHA-256 over the raw input lines consumed so far (the
    prefix), their number and the head seq after the batch. A re-run hashes its lines the same
    way; the lines up to the last recorded prefix it meets were committed and are skipped,
    whatever the batch sizes were. The lines read while looking for the next recorded prefix
    are held in a spooled file (in memory up to ``HELD_IN_MEMORY`` bytes, on disk past it), so
    a new input read up to the longest recorded run stays in constant memory.

    ``bulk_progress`` is input like any other (anyone who can write the file can add a row), so
    no line is skipped on its word alone: each line to be skipped must be in the chain, at or
    before the head seq its row records — an event of that record and contract whose stored
    payload is what the line gives, with only defaults the ledger fills added — or nothing is
    skipped and the run is refused (``CommittedLineMissing``).

    A run is the only bulk append of its ledger while it runs: ``check_alone``, at the start of
    every batch, refuses to go on once another run has recorded a batch since this one looked
    (that run may have committed the very lines this one is about to send, and a superseded
    version sent again is a new event, not a no-op).
    """

    def __init__(self, conn: sqlite3.Connection, lines: IO[bytes]) -> None:
        self.conn = conn
        rows = store.bulk_progress_rows(conn)
        self.rows = len(rows)  # the rows there are, with this run's own
        self.recorded = {str(p): (n, h) for p, n, h in rows}
        self.horizon = max((n for n, _ in self.recorded.values() if type(n) is int), default=0)
        self.lines = lines_at_most(lines)
        self.skipped = 0
        self.consumed = hashlib.sha256()  # over the lines handed on (and skipped), in order
        self.count = 0

    def __iter__(self) -> Iterator[bytes]:
        search, held = hashlib.sha256(), _Held()
        with held:
            for number, line in enumerate(self.lines, start=1):
                if line is None:
                    raise LineRefused(number, LINE_TOO_LONG)
                search.update(line)
                held.append(line)
                found = self.recorded.get(search.hexdigest())
                if found is not None and found[0] == number:
                    self._confirm(held, number - len(held) + 1, found[1])
                    self.skipped = self.count = number
                    held.clear()
                    self.consumed = search.copy()
                if number >= self.horizon:
                    break
            for line in itertools.chain(held, self.lines):
                if line is None:
                    raise LineRefused(self.count + 1, LINE_TOO_LONG)
                self.consumed.update(line)
                self.count += 1
                yield line

    def _confirm(self, lines: Iterable[bytes], first: int, head_seq: Any) -> None:
        """Raise CommittedLineMissing unless every line (numbered from ``first``) is in the chain
        at a seq <= ``head_seq``, which must be an event of this ledger."""
        head = store.head(self.conn)[0]
        if type(head_seq) is not int or not 0 <= head_seq <= head:
            raise CommittedLineMissing(first, f"its row records head seq {head_seq!r}, but the "
                                       f"log has {head} events")
        stored = functools.lru_cache(maxsize=1024)(
            lambda rid: store.record_events(self.conn, rid, head_seq))
        for number, line in enumerate(lines, start=first):
            try:
                for _, asked, payload, _actor in parse_lines([(number, line)], "-"):
                    contract = contract_version(asked, payload)
                    if not any(e.contract == contract and
                               _committed_as(contract, payload, e.payload_json)
                               for e in stored(record_id_of(payload))):
                        raise CommittedLineMissing(number, f"no event at or before seq "
                                                   f"{head_seq} holds what the line gives")
            except RefusedInput as exc:
                why = exc.reason if isinstance(exc, LineRefused) else str(exc)
                raise CommittedLineMissing(number, f"the line is refused ({why})") from None

    def check_alone(self, conn: sqlite3.Connection, kept: int) -> None:
        """Raise AnotherBulkAppend if bulk_progress holds a row this run did not see or write
        (call inside the batch's write transaction, before its first line)."""
        if store.bulk_progress_count(conn) != self.rows:
            raise AnotherBulkAppend(self.count, kept)

    def mark(self, conn: sqlite3.Connection, head_seq: int) -> None:
        """Record, inside the batch's transaction, that the lines consumed so far are committed."""
        self.rows += store.mark_bulk_progress(conn, self.consumed.hexdigest(), self.count, head_seq)


HELD_IN_MEMORY = 8 << 20


class _Held:
    """Lines held in order: in memory up to HELD_IN_MEMORY bytes, then in a temporary file."""

    def __init__(self) -> None:
        self.file = tempfile.SpooledTemporaryFile(max_size=HELD_IN_MEMORY)  # noqa: SIM115 (__exit__)
        self.count = 0

    def __enter__(self) -> _Held:
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.close()

    def __len__(self) -> int:
        return self.count

    def append(self, line: bytes) -> None:
        self.file.write(len(line).to_bytes(8, "big"))
        self.file.write(line)
        self.count += 1

    def clear(self) -> None:
        self.file.seek(0)
        self.file.truncate()
        self.count = 0

    def __iter__(self) -> Iterator[bytes]:
        """Yield the held lines, oldest first (appending while iterating is not supported)."""
        self.file.seek(0)
        for _ in range(self.count):
            yield self.file.read(int.from_bytes(self.file.read(8), "big"))


class AnotherBulkAppend(RefusedInput):
    """Another bulk append recorded a batch in this ledger while this one ran."""

    def __init__(self, lines: int, kept: int) -> None:
        where = f"after input line {lines}" if lines else "before its first batch"
        tail = (f"{kept} event(s) from this run's earlier batches were kept" if kept
                else "nothing was written")
        super().__init__(
            f"another `ledger append --jsonl` committed a batch to this ledger while this one ran "
            f"(table bulk_progress gained a row): stopped {where}, since the other may have "
            f"committed the same lines, and a line sent twice can be a new event; {tail}. "
            "Run this again once the other has finished: it skips every line either run committed")


def _committed_as(contract: str, given: Any, stored_json: str) -> bool:
    """Return whether a stored payload is what ``given`` was appended as: the given members laid
    over the stored payload normalise back to exactly the stored payload (defaults the ledger
    filled in are kept; any member that differs, or is extra, makes it differ)."""
    try:
        stored = orjson.loads(stored_json)
        return canonical_bytes(validate(contract, {**stored, **given})).decode() == stored_json
    except (LedgerError, orjson.JSONDecodeError, TypeError):
        return False


class CommittedLineMissing(CorruptEvent):
    """``bulk_progress`` says a line was committed, but the chain does not hold it."""

    def __init__(self, line: int, why: str) -> None:
        super().__init__(f"table bulk_progress says input line {line} was committed by an "
                         f"earlier run, but {why}: the table was edited behind the ledger's "
                         "back; refusing to skip any line (nothing was written)")


def append_lines(conn: sqlite3.Connection, clock: Clock, lines: IO[bytes], actor: str,
                 batch_size: int = DEFAULT_BATCH,
                 progress: Callable[[int], None] | None = None,
                 signer: Signer | None = None) -> BulkResult:
    """Append every line in batches of ``batch_size`` events, one transaction each."""
    if batch_size < 1:
        raise RefusedInput("--batch-size must be at least 1")
    result = BulkResult()
    resume = Resume(conn, lines)
    numbered = ((resume.skipped + n, line) for n, line in enumerate(resume, start=1))
    path = _parallel_source(conn, lines)
    items: Iterator[Item | PreparedItem]
    if path is None:
        items = parse_lines(numbered, actor)
    else:
        stream = prepared_stream(path, actor)
        items = _with_prepared(numbered, stream, actor)
    try:
        with _collecting_less():
            return _append_batches(conn, clock, items, resume, result, batch_size, progress,
                                   signer, actor)
    finally:
        if path is not None:
            stream.close()


@contextlib.contextmanager
def _collecting_less() -> Iterator[None]:
    """Run a bulk append with fewer runs of Python's cycle collector, its settings put back
    afterwards: the objects that exist already are set aside from its scans (``gc.freeze``),
    and it runs once per 20,000 new objects rather than 700. A bulk append makes millions of
    short-lived objects and few cycles; the collector cost its writer ~8% of its time (10.8 µs
    per event, timed with ``gc.callbacks`` over 4·10⁴ bench events). A caller that froze objects
    of its own keeps them frozen: nothing is frozen or unfrozen then."""
    threshold, ours = gc.get_threshold(), gc.get_freeze_count() == 0
    if ours:
        gc.freeze()
    gc.set_threshold(max(threshold[0], 20_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        if ours:
            gc.unfreeze()


def _parallel_source(conn: sqlite3.Connection, lines: IO[bytes]) -> str | None:
    """Return the path of the input file if helpers should prepare its lines: a regular file,
    read from its start, of at least bulkprep.PARALLEL_FROM lines, for a format v2 ledger."""
    name = getattr(lines, "name", None)
    if store.event_format(conn) < 2 or not isinstance(name, str) or not os.path.isfile(name):
        return None
    try:
        if lines.tell() != 0 or os.path.getsize(name) < bulkprep.PARALLEL_FROM * 64:
            return None
        with open(name, "rb") as handle:
            count = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
    except OSError:
        return None
    return name if count >= bulkprep.PARALLEL_FROM else None


PreparedItem = tuple[int, str, Any, str, "bulkprep.Prepared"]


def _with_prepared(numbered: Iterable[tuple[int, bytes]],
                   stream: Iterator[bulkprep.Prepared | str | None],
                   actor: str) -> Iterator[Item | PreparedItem]:
    """Yield the writer's items: a prepared line as (number, contract, payload, actor, prepared),
    any other line as ``parse_lines`` gives it (which refuses a bad one exactly as ever)."""
    at = 0  # lines of the stream consumed: the stream starts at line 1
    for number, line in numbered:
        prepared: bulkprep.Prepared | str | None = None
        while at < number:
            prepared = next(stream)
            at += 1
        if isinstance(prepared, tuple) and prepared[6] == hashlib.sha256(line).digest():
            yield number, prepared[0], prepared[2], prepared[1], prepared
        else:
            yield from parse_lines([(number, line)], actor)


def _append_batches(conn: sqlite3.Connection, clock: Clock,
                    items: Iterator[Item | PreparedItem], resume: Resume, result: BulkResult,
                    batch_size: int, progress: Callable[[int], None] | None,
                    signer: Signer | None, actor: str) -> BulkResult:
    carry = None  # what the batch before leaves the next: the table found whole, its head
    while True:
        line = taken = 0
        try:
            with store.write_transaction(conn):
                resume.check_alone(conn, result.appended)
                batch = Batch(conn, clock, signer, carry, hold_events=True)
                for item in itertools.islice(items, batch_size):
                    line, taken = item[0], taken + 1
                    if signer is not None and item[3] not in (actor, signer.name):
                        raise RefusedInput(f"actor {item[3]!r} is not the signing key's name "
                                           f"{signer.name!r}")
                    outcome = (batch.add_prepared(item[4]) if len(item) == 5
                               else batch.add(*item[1:4]))
                    result.unchanged += outcome.event is None
                batch.flush()
                if taken:
                    resume.mark(conn, batch.seq)
        except LineRefused as exc:
            raise BulkRefused(exc.line, exc.reason, result.appended) from None
        except AnotherBulkAppend:
            raise
        except StoreError as exc:  # the disk is full, the file read-only or busy: say what stays
            kept = (f"{result.appended} event(s) from earlier batches were kept" if result.appended
                    else "nothing was written")
            raise StoreError(f"{exc} (nothing of the batch being written was kept; {kept}: run "
                             "the same input again to continue)") from None
        except RefusedInput as exc:
            raise BulkRefused(line, str(exc), result.appended) from None
        if taken == 0:
            result.resumed = resume.skipped
            return result
        # valid while no one else appends (``Batch`` compares the head); no record's state: a
        # batch of thousands would keep ~20 KB each for records an input seldom comes back to
        carry = batch.carry(records=0)
        result.appended += batch.appended
        result.batches += 1
        if progress is not None:
            progress(batch.appended)
