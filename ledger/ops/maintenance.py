"""Rebuilding the views from the events, one record at a time (constant memory).

``rebuild`` drops the view tables and inserts every record's rows again, in one transaction.
On a large ledger the reading and folding runs in helper processes (``ledger.helpers``), each
over one range of record ids, reading the same file in its own read transaction and sending
the view rows a chunk at a time over a pipe; this process only inserts them. The helpers read
exactly what this process would (it holds the write lock, so nothing can be appended meanwhile)
and run the same ``_chunks`` code; if one cannot start or stops without a word, the rebuild is
done in this process instead.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from ledger.core.events import KEY_TYPES, Event
from ledger.core.progress import Progress
from ledger.errors import CorruptEvent, LedgerError
from ledger.model.state import RecordState, fold
from ledger.ops.helpers import HELPERS, PARALLEL_FROM, Helper, HelperStopped, send
from ledger.storage import searchindex, store, views

# Records per executemany batch, and per message from a helper: ~4 KB of view rows per bench
# record, so that a message fits in the helper's pipe (helpers.PIPE_BYTES) and the helper goes on
# folding while this process inserts (1,000 records, ~3.9 MB, made it wait for each read).
CHUNK = 200
Chunk = tuple[int, int, views.Rows]  # (events read, records built, their view rows)


def states_by_record(conn: sqlite3.Connection, upto: int | None = None,
                     progress: Progress | None = None, start: str = "",
                     stop: str | None = None) -> Iterator[RecordState]:
    """Yield every record's state folded from its events (seq <= upto), by record id.

    Only records with start <= record_id < stop (no upper bound if stop is None). A read of
    every record is checked against the table: as many events as a scan of the table counts.
    (The fold reads no salt or commitment: ``verify`` checks those.)"""
    events = store.iter_events_by_record(conn, upto, start, stop, members=False)
    read = 0
    for _rid, group in itertools.groupby(events, key=operator.attrgetter("record_id")):
        batch: list[Event] = list(group)
        read += len(batch)
        if progress is not None:  # every event read, the keyring's too (rebuild counts them all)
            progress(len(batch))
        if batch[0].type in KEY_TYPES:  # the keyring: no record state
            continue
        state = fold(batch)
        if state is not None:
            yield state
    if not start and stop is None:
        store.check_count(conn, read, upto)


def _chunks(conn: sqlite3.Connection, start: str = "", stop: str | None = None) -> Iterator[Chunk]:
    """Yield the view rows of every record in the range, CHUNK records at a time."""
    pending: views.Rows = {}
    events = records = 0

    def count(n: int) -> None:
        nonlocal events
        events += n

    for state in states_by_record(conn, None, count, start, stop):
        for table, rows in views.rows_for(state).items():
            pending.setdefault(table, []).extend(rows)  # plain tuples, as marshal takes them
        records += 1
        if records == CHUNK:
            yield events, records, pending
            pending, events, records = {}, 0, 0
    yield events, records, pending


def rebuild(conn: sqlite3.Connection, progress: Progress | None = None,
            helpers: int | None = None) -> int:
    """Drop and rebuild every view from the events in one transaction; return records built.

    ``helpers`` processes do the folding (default: HELPERS for a ledger file of PARALLEL_FROM
    events or more, else none).
    """
    with store.foreign_keys_unchecked(conn), store.write_transaction(conn):
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
            _drop_search_index(conn)
            built = None
            if running:
                try:
                    built = _insert_all(conn, _merged(running), progress)
                except HelperStopped:
                    views.drop_views(conn)  # start again, in this process
                    views.create_views(conn)
            if built is None:
                built = _insert_all(conn, _chunks(conn), progress)
            store.check_count(conn, built[1], None)  # every event was read, by helpers or here
        finally:
            for helper in running:
                helper.close()
        views.set_applied(conn, *store.head(conn))
    return built[0]


def _drop_search_index(conn: sqlite3.Connection) -> None:
    """Drop the search index too (a cache ``audit`` compares with the events; the next search
    makes it anew), unless SQLite cannot: its table's schema names no module SQLite has."""
    with contextlib.suppress(sqlite3.DatabaseError):  # `search` then makes its index in
        searchindex.drop(conn)  # memory, and `audit` names the table; drop is all or nothing


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
                progress: Progress | None) -> tuple[int, int]:
    """Insert every chunk's rows; return (records built, events read)."""
    built = read = 0
    for events, records, rows in chunks:
        views.insert_rows(conn, rows)
        built, read = built + records, read + events
        if progress is not None:
            progress(events)
    return built, read


# -- the helper process ------------------------------------------------------------------------


def worker_main(path: str, start: str, stop: str = "") -> None:
    """The helper (see ``ledger.helpers``): fold the records with start <= record_id < stop
    (no upper bound if stop is empty) and send ("rows", events, records, rows)…, then ("done",)
    or ("error", kind, text)."""
    try:
        conn = store.open_ledger(Path(path))
        with store.read_snapshot(conn):
            for chunk in _chunks(conn, start, stop or None):
                send(("rows", *chunk))
        conn.close()
    except LedgerError as exc:
        send(("error", "CorruptEvent" if isinstance(exc, CorruptEvent) else "LedgerError",
                      str(exc)))
        return
    send(("done",))


class _Helper(Helper):
    """A helper folding one range of record ids."""

    def __init__(self, path: Path, start: str, stop: str | None) -> None:
        super().__init__(worker_main, str(path), start, stop or "")

    def chunks(self) -> Iterator[Chunk]:
        for message in self.messages():
            if message[0] == "error" and message[1] == "CorruptEvent":
                raise CorruptEvent(message[2])
            if message[0] == "error":  # e.g. it could not open the file: this process will say
                raise HelperStopped
            yield message[1], message[2], message[3]
