"""Rebuilding the views from the events, one record at a time (constant memory).

``rebuild`` folds every record's events again and makes its view rows, in one transaction.
Where the view tables are exactly as the ledger creates them and SQLite's own check of them
passes, each record's rows are compared with the stored ones and only the records whose rows
differ are written again (their stored rows deleted first), as are the rows of record ids that
have no events: the views end exactly as dropping them and inserting every row would leave
them, without writing the rows that are already right. Otherwise (or when asked: ``drop``) the
view tables are dropped and every row inserted.

On a large ledger the reading, folding and comparing runs in helper processes
(``ledger.helpers``), each over one range of record ids, reading the same file in its own read
transaction and sending the rows to write a chunk at a time over a pipe; this process only
writes them. The helpers read exactly what this process would (it holds the write lock, so
nothing can be appended meanwhile, and they read the views as they were before it writes) and
run the same ``_chunks`` code; if one cannot start or stops without a word, this process does
the work instead: compares through a second connection of its own (``_read_apart``), or, when
dropping, drops the views again and inserts every row itself.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

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
# (events read, records built, the view rows to insert, the record ids whose stored rows to
# delete first: those whose rows differ, and ones with view rows but no record)
Chunk = tuple[int, int, views.Rows, list[str]]


class Rebuilt(NamedTuple):
    """What a rebuild did: ``records`` built from the events, of which ``written`` had rows
    that differed from the stored ones (all of them when the views were dropped); ``strays``:
    record ids whose view rows were deleted because they have no events."""

    records: int
    written: int
    strays: int


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


def _chunks(conn: sqlite3.Connection, start: str = "", stop: str | None = None,
            compare: bool = False) -> Iterator[Chunk]:
    """Yield the view rows of every record in the range, CHUNK records at a time (``compare``:
    only those of the records whose rows differ from the stored ones, which ``conn`` reads as
    they were before the rebuild)."""
    pending: views.Rows = {}
    clear: list[str] = []
    events = records = 0
    stored = views.StoredRows(conn, start, stop) if compare else None

    def count(n: int) -> None:
        nonlocal events
        events += n

    for state in states_by_record(conn, None, count, start, stop):
        rows = views.rows_for(state)
        if stored is not None:
            before = stored.take(state.record_id)
            clear.extend(stored.strays)
            stored.strays.clear()
            if before == rows:
                rows = views.EMPTY_ROWS
            elif any(before.values()):
                clear.append(state.record_id)
        for table, table_rows in rows.items():
            pending.setdefault(table, []).extend(table_rows)  # plain tuples, as marshal takes them
        records += 1
        if records == CHUNK:
            yield events, records, pending, clear
            pending, clear, events, records = {}, [], 0, 0
    if stored is not None:
        stored.take(None)
        clear.extend(stored.strays)
    yield events, records, pending, clear


def rebuild(conn: sqlite3.Connection, progress: Progress | None = None,
            helpers: int | None = None, drop: bool = False) -> Rebuilt:
    """Rebuild every view from the events in one transaction, writing only the records whose
    rows differ (``drop``, or view tables not as created or failing SQLite's check: drop the
    view tables and insert every row); return what was done.

    ``helpers`` processes do the folding (default: HELPERS for a ledger file of PARALLEL_FROM
    events or more, else none).
    """
    with store.foreign_keys_unchecked(conn), store.write_transaction(conn):
        path = store.file_path(conn)
        if helpers is None:
            helpers = HELPERS if store.head(conn)[0] >= PARALLEL_FROM else 0
        done = None
        if not drop and path is not None and views.schema_intact(conn):
            with contextlib.suppress(_Damaged):  # then dropped and written anew
                try:
                    done = _written(conn, _compared(conn, path, helpers), progress)
                except HelperStopped:  # compared again in this process (a record written
                    done = _written(conn, _compared(conn, path, 0), progress)  # twice: same rows)
        if done is None:
            done = _dropped(conn, path, helpers, progress)
        _drop_search_index(conn)
        store.check_count(conn, done[1], None)  # every event was read, by helpers or here
        views.set_applied(conn, *store.head(conn))
    return done[0]


class _Damaged(Exception):
    """The stored views fail SQLite's own check: they are dropped and rebuilt instead."""


def _compared(conn: sqlite3.Connection, path: Path, helpers: int) -> Iterator[Chunk]:
    """Yield the chunks of the records whose rows differ from the stored ones, made by helpers
    (or by a second connection of this process, reading the views as they were); raise
    _Damaged, before any chunk, if the stored views fail SQLite's own check."""
    running: list[_Helper] = []
    try:
        running = _started(conn, path, helpers, compare=True)
        try:  # the helpers fold meanwhile
            intact = views.storage_intact(conn)
        except sqlite3.DatabaseError:
            intact = False
        if not intact:
            raise _Damaged
        yield from _merged(running) if running else _read_apart(path)
    finally:
        for helper in running:
            helper.close()


def _read_apart(path: Path) -> Iterator[Chunk]:
    """Yield the compared chunks of every record, read by a second connection of this process
    in one read transaction: the views as they were before this rebuild writes."""
    reader = store.open_ledger(path)
    try:
        with store.read_snapshot(reader):
            yield from _chunks(reader, compare=True)
    finally:
        reader.close()


def _written(conn: sqlite3.Connection, chunks: Iterator[Chunk],
             progress: Progress | None) -> tuple[Rebuilt, int]:
    """Write the compared chunks: the stored rows of each record id to clear deleted, then the
    chunk's rows inserted; last, the rows whose record id is not text. Return what was done
    and the events read."""
    built = written = strays = read = 0
    for events, records, rows, clear in chunks:
        views.clear_records(conn, clear)
        views.insert_rows(conn, rows)
        made = [row[0] for row in rows.get("records", ())]
        written, strays = written + len(made), strays + len(set(clear).difference(made))
        built, read = built + records, read + events
        if progress is not None:
            progress(events)
    views.clear_untexted(conn)
    return Rebuilt(built, written, strays), read


def _dropped(conn: sqlite3.Connection, path: Path | None, helpers: int,
             progress: Progress | None) -> tuple[Rebuilt, int]:
    """Drop the view tables and insert every record's rows; return what was done and the
    events read."""
    running: list[_Helper] = []
    try:
        if path is not None:  # started first: they fold while the views drop
            running = _started(conn, path, helpers)
        views.drop_views(conn)
        views.create_views(conn)
        built = None
        if running:
            try:
                built = _insert_all(conn, _merged(running), progress)
            except HelperStopped:
                views.drop_views(conn)  # start again, in this process
                views.create_views(conn)
        if built is None:
            built = _insert_all(conn, _chunks(conn), progress)
    finally:
        for helper in running:
            helper.close()
    return Rebuilt(built[0], built[0], 0), built[1]


def _started(conn: sqlite3.Connection, path: Path, helpers: int,
             compare: bool = False) -> list[_Helper]:
    """Start ``helpers`` helpers, each over one range of record ids (cut where the records view
    has about as many records on each side)."""
    if helpers <= 0:
        return []
    cuts = ["", *views.record_splits(conn, helpers)]
    return [_Helper(path, start, stop, compare)
            for start, stop in zip(cuts, [*cuts[1:], None], strict=True)]


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
    for events, records, rows, _clear in chunks:
        views.insert_rows(conn, rows)
        built, read = built + records, read + events
        if progress is not None:
            progress(events)
    return built, read


# -- the helper process ------------------------------------------------------------------------


def worker_main(path: str, start: str, stop: str = "", compare: str = "") -> None:
    """The helper (see ``ledger.helpers``): fold the records with start <= record_id < stop
    (no upper bound if stop is empty) and send ("rows", events, records, rows, clear)…, then
    ("done",) or ("error", kind, text); ``compare``: the rows of the records whose rows differ
    from the stored ones only (``_chunks``)."""
    try:
        conn = store.open_ledger(Path(path))
        with store.read_snapshot(conn):
            for chunk in _chunks(conn, start, stop or None, compare=bool(compare)):
                send(("rows", *chunk))
        conn.close()
    except LedgerError as exc:
        send(("error", "CorruptEvent" if isinstance(exc, CorruptEvent) else "LedgerError",
                      str(exc)))
        return
    send(("done",))


class _Helper(Helper):
    """A helper folding one range of record ids."""

    def __init__(self, path: Path, start: str, stop: str | None, compare: bool = False) -> None:
        super().__init__(worker_main, str(path), start, stop or "", "compare" if compare else "")

    def chunks(self) -> Iterator[Chunk]:
        for message in self.messages():
            if message[0] == "error" and message[1] == "CorruptEvent":
                raise CorruptEvent(message[2])
            if message[0] == "error":  # e.g. it could not open the file: this process will say
                raise HelperStopped
            yield message[1], message[2], message[3], message[4]
