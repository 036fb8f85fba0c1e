"""Rebuilding the views from the events, one record at a time (constant memory)."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Iterator

from ledger import store, views
from ledger.events import Event
from ledger.state import RecordState, fold

Progress = Callable[[int], None]
CHUNK = 2000  # records per executemany batch


def states_by_record(conn: sqlite3.Connection, upto: int | None = None,
                     progress: Progress | None = None) -> Iterator[RecordState]:
    """Yield every record's state folded from its events (seq <= upto), by record id."""
    events = store.iter_events_by_record(conn, upto)
    for _rid, group in itertools.groupby(events, key=lambda e: e.record_id):
        batch: list[Event] = list(group)
        state = fold(batch)
        if progress is not None:
            progress(len(batch))
        if state is not None:
            yield state


def rebuild(conn: sqlite3.Connection, progress: Progress | None = None) -> int:
    """Drop and rebuild every view from the events in one transaction; return records built."""
    built = 0
    pending: views.Rows = {}
    with store.write_transaction(conn):
        views.drop_views(conn)
        views.create_views(conn)
        for state in states_by_record(conn, progress=progress):
            for table, rows in views.rows_for(state).items():
                pending.setdefault(table, []).extend(rows)
            built += 1
            if built % CHUNK == 0:
                views.insert_rows(conn, pending)
                pending = {}
        views.insert_rows(conn, pending)
        views.set_applied(conn, *store.head(conn))
    return built
