"""Rebuilding the views from the events, one record at a time (constant memory).

``rebuild`` drops the view tables and inserts every record's rows again, in one transaction.
On a large ledger the reading and folding runs in helper processes (``python -c … worker_main``),
each over one range of record ids, reading the same file in its own read transaction and sending
the view rows a chunk at a time over a pipe; this process only inserts them. The helpers read
exactly what this process would (it holds the write lock, so nothing can be appended meanwhile)
and run the same ``_chunks`` code; if one cannot start or stops without a word, the rebuild is
done in this process instead.
"""

from __future__ import annotations

import contextlib
import itertools
import marshal
import operator
import os
import sqlite3
import struct
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from ledger import store, views
from ledger.errors import CorruptEvent, LedgerError
from ledger.events import Event
from ledger.state import RecordState, fold

Progress = Callable[[int], None]
CHUNK = 1000  # records per executemany batch (and per message from a helper)
PARALLEL_FROM = 50_000  # events; below this helper processes cost more than they save
HELPERS = 2  # the fold is ~60% of a rebuild; two helpers and the inserting process share 2 cores
Chunk = tuple[int, int, views.Rows]  # (events read, records built, their view rows)


def states_by_record(conn: sqlite3.Connection, upto: int | None = None,
                     progress: Progress | None = None, start: str = "",
                     stop: str | None = None) -> Iterator[RecordState]:
    """Yield every record's state folded from its events (seq <= upto), by record id.

    Only records with start <= record_id < stop (no upper bound if stop is None)."""
    events = store.iter_events_by_record(conn, upto, start, stop)
    for _rid, group in itertools.groupby(events, key=operator.attrgetter("record_id")):
        batch: list[Event] = list(group)
        state = fold(batch)
        if progress is not None:
            progress(len(batch))
        if state is not None:
            yield state


def _chunks(conn: sqlite3.Connection, start: str = "", stop: str | None = None) -> Iterator[Chunk]:
    """Yield the view rows of every record in the range, CHUNK records at a time."""
    pending: views.Rows = {}
    counted = [0]
    records = 0
    for state in states_by_record(conn, None, lambda n: counted.__setitem__(0, counted[0] + n),
                                  start, stop):
        for table, rows in views.rows_for(state).items():
            pending.setdefault(table, []).extend(rows)
        records += 1
        if records == CHUNK:
            yield counted[0], records, pending
            pending, counted[0], records = {}, 0, 0
    yield counted[0], records, pending


def rebuild(conn: sqlite3.Connection, progress: Progress | None = None,
            helpers: int | None = None) -> int:
    """Drop and rebuild every view from the events in one transaction; return records built.

    ``helpers`` processes do the folding (default: HELPERS for a ledger file of PARALLEL_FROM
    events or more, else none).
    """
    with store.write_transaction(conn):
        path = store.file_path(conn)
        if helpers is None:
            helpers = HELPERS if store.head(conn)[0] >= PARALLEL_FROM else 0
        running: list[_Helper] = []
        try:
            if helpers > 0 and path is not None:  # started first: they fold while the views drop
                cuts = ["", *views.record_splits(conn, helpers)]
                running = [_Helper(path, start, stop)
                           for start, stop in zip(cuts, [*cuts[1:], None], strict=True)]
            views.drop_views(conn)
            views.create_views(conn)
            built = None
            if running:
                try:
                    built = _insert_all(conn, _merged(running), progress)
                except _HelperStopped:
                    views.drop_views(conn)  # start again, in this process
                    views.create_views(conn)
            if built is None:
                built = _insert_all(conn, _chunks(conn), progress)
        finally:
            for helper in running:
                helper.close()
        views.set_applied(conn, *store.head(conn))
    return built


def _merged(running: list[_Helper]) -> Iterator[Chunk]:
    """Yield the helpers' chunks, taking one from each in turn."""
    streams = [h.chunks() for h in running]
    while streams:
        for stream in list(streams):
            chunk = next(stream, None)
            if chunk is None:
                streams.remove(stream)
            else:
                yield chunk


def _insert_all(conn: sqlite3.Connection, chunks: Iterator[Chunk],
                progress: Progress | None) -> int:
    built = 0
    for events, records, rows in chunks:
        views.insert_rows(conn, rows)
        built += records
        if progress is not None:
            progress(events)
    return built


# -- the helper process ------------------------------------------------------------------------

_LENGTH = struct.Struct("<Q")


class _HelperStopped(Exception):
    """The helper could not start or stopped without saying why: rebuild in this process."""


def _send(out: IO[bytes], message: tuple[Any, ...]) -> None:
    data = marshal.dumps(message)  # both ends run the same interpreter (sys.executable)
    out.write(_LENGTH.pack(len(data)))
    out.write(data)
    out.flush()


def _receive(source: IO[bytes]) -> tuple[Any, ...] | None:
    head = source.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(head)
    data = source.read(size)
    if len(data) < size:
        return None
    message: tuple[Any, ...] = marshal.loads(data)  # our own helper's output
    return message


def worker_main(path: str, start: str, stop: str | None) -> None:
    """The helper: send ("rows", events, records, rows)…, then ("done",) or ("error", kind, text)."""
    out = sys.stdout.buffer
    with contextlib.suppress(OSError):  # the inserting process is the critical path: it goes first
        os.nice(5)
    try:
        conn = store.open_ledger(Path(path))
        with store.read_snapshot(conn):
            for chunk in _chunks(conn, start, stop):
                _send(out, ("rows", *chunk))
        conn.close()
    except LedgerError as exc:
        _send(out, ("error", "CorruptEvent" if isinstance(exc, CorruptEvent) else "LedgerError",
                    str(exc)))
        return
    _send(out, ("done",))


class _Helper:
    """A running helper process and the chunks it sends."""

    def __init__(self, path: Path, start: str, stop: str | None) -> None:
        import subprocess  # only a rebuild starts helpers: not loaded at every CLI start-up
        root = str(Path(__file__).resolve().parents[1])  # so the helper imports this very code
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (root, os.environ.get("PYTHONPATH", "")) if p)}
        self.proc: subprocess.Popen[bytes] | None = None
        if not sys.executable:
            return
        with contextlib.suppress(OSError):  # no helper: this process does the work
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "import sys\nfrom ledger.maintenance import worker_main\n"
                 "worker_main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)",
                 str(path), start, *([] if stop is None else [stop])],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)

    def chunks(self) -> Iterator[Chunk]:
        if self.proc is None or self.proc.stdout is None:
            raise _HelperStopped
        while True:
            message = _receive(self.proc.stdout)
            if message is None:
                raise _HelperStopped
            if message[0] == "done":
                return
            if message[0] == "error" and message[1] == "CorruptEvent":
                raise CorruptEvent(message[2])
            if message[0] == "error":  # e.g. it could not open the file: this process will say
                raise _HelperStopped
            yield message[1], message[2], message[3]

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc.wait()
