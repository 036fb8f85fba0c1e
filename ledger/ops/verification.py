"""Verifying the stored log: the file's structure, then the chain, signatures and Merkle tree
(``verify.verify_events``), in one pass or in blocks by helper processes.

``verify``, ``audit`` and ``checkpoint`` all call ``verify_stored``, so what ``checkpoint`` signs is
exactly what ``verify`` accepts.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ledger.core.events import GENESIS_HASH
from ledger.core.merkle import stored_count, tree_root
from ledger.core.progress import Progress
from ledger.errors import LedgerError, RefusedInput, VerificationError
from ledger.ops.helpers import HELPERS, PARALLEL_FROM, Helper, HelperStopped, send
from ledger.storage import store
from ledger.storage.proofstore import (
    hashes_between,
    iter_signatures,
    iter_tree_hashes,
    log_origins,
    read_hashes,
    stored_root,
    tree_rows,
)

if TYPE_CHECKING:  # verify is loaded when a log is verified, not at every CLI start-up
    from ledger.core.checkpoint import Checkpoint
    from ledger.model.verify import VerifyReport


def verified(conn: sqlite3.Connection, refusing: str, progress: Progress | None = None) -> None:
    """Verify the stored log as ``verify`` does (every stored tree hash too), before a command makes
    something of it that a reader takes as the ledger's; raise the report's failure,
    ``{refusing}: …`` (VerificationError naming the seq, CorruptEvent the table)."""
    report = verify_stored(conn, progress)
    if not report.ok:
        raise report.failure(refusing)


def verify_stored(conn: sqlite3.Connection, progress: Progress | None = None, *,
                  every_tree_hash: bool = True, capture: Collection[int] = (),
                  thorough: bool = False) -> VerifyReport:
    """Return the verify report of the stored log: structure, chain, signatures, Merkle tree.

    First the file's structure (``check_structure``): the schema is exactly what this version
    creates, SQLite's own check passes, and the rows of ``events`` are exactly seq 1..n; only
    then is each event read, in seq order, from the table itself. With ``every_tree_hash`` each
    stored tree hash is compared with the events; otherwise only the root is, and the full
    comparison (which names the first bad seq) runs if it differs. ``thorough`` (audit) runs
    SQLite's full ``integrity_check`` instead of ``quick_check``.
    """
    from ledger.model.verify import verify_events

    broken, guards = check_structure(conn)
    if broken is not None:
        return broken

    def run(tree: bool, prog: Progress | None) -> VerifyReport:
        return verify_events(store.iter_rows(conn), prog,
                             iter_tree_hashes(conn) if tree else None, capture,
                             iter_signatures(conn))

    def scan() -> VerifyReport:
        report = None
        path, size = store.file_path(conn), store.head(conn)[0]
        if (path is not None and size >= PARALLEL_FROM and (every_tree_hash or not capture)
                and not store.is_signed(conn) and not store.pending_writes(conn)):
            with contextlib.suppress(HelperStopped):  # then the pass below, in this process
                report = verify_in_blocks(path, size, progress,
                                          conn=conn if every_tree_hash else None)
            if report is not None and report.ok and capture:  # every stored hash now checked
                read = functools.partial(read_hashes, conn)
                report = report._replace(roots={c: tree_root(c, read) for c in capture
                                                if 0 < c <= report.events})
        if report is None:
            report = run(every_tree_hash, progress)
        if not every_tree_hash and report.ok and report.root != stored_root(conn, report.events):
            report = run(True, None)
        misshapen = tree_shape_problem(conn, size) if report.ok else None
        return report if misshapen is None else _also(report, "tree_hashes", misshapen)

    try:
        report = scan()
    except sqlite3.DatabaseError as exc:  # pages SQLite cannot read: its own check names them
        if not store.is_corrupt(exc):
            raise
        from ledger.model.verify import table_failure

        return check_storage(conn, thorough) or table_failure(
            "(file)", f"SQLite finds the file corrupt while reading the log: {exc}")
    damaged = check_storage(conn, thorough)  # after the scan: its pages are in the cache then
    if damaged is not None:
        report = _also(report, str(damaged.table), str(damaged.reason))
    if guards:
        report = _also(report, guards[0][0], _schema_reason(guards))
    return report


class Kept(NamedTuple):
    """What an auditor kept from earlier moments of the log (signed checkpoints, or a copy of
    the file): the sizes the log must reach, and ``check``, which raises VerificationError
    unless the verified log (its root captured at those sizes) extends it."""

    sizes: frozenset[int]
    check: Callable[[sqlite3.Connection, VerifyReport], None]

    def extends(self, conn: sqlite3.Connection, report: VerifyReport) -> VerifyReport:
        """Return ``report``, failed where the log does not extend what was kept (a report
        already failed stays as it is)."""
        if not report.ok:
            return report
        try:
            self.check(conn, report)
        except VerificationError as exc:
            return report._replace(ok=False, first_bad_seq=exc.seq, reason=exc.reason)
        return report


def kept_checkpoints(checkpoints: Sequence[Checkpoint]) -> Kept:
    """Return what the log must extend to extend each signed checkpoint (their signatures
    checked): where it does not, the failure is the one at the earliest seq (the smallest
    checkpoint a rewritten history breaks bounds where it was rewritten)."""
    from ledger.model.verify import check_extends, split_views

    def check(conn: sqlite3.Connection, report: VerifyReport) -> None:
        origins, failed = log_origins(conn), split_views(checkpoints)
        for checkpoint in checkpoints:
            try:
                check_extends(report, checkpoint, origins)
            except VerificationError as exc:
                failed.append(exc)
        if failed:
            raise min(failed, key=lambda exc: exc.seq)

    return Kept(frozenset(c.size for c in checkpoints), check)


def kept_copy(old_conn: sqlite3.Connection, old_progress: Progress | None = None) -> Kept:
    """Return what the log must extend to extend ``old_conn``, an earlier copy of the same
    ledger (an auditor's archive), verified here first: as long, and the same Merkle root at
    the copy's size. Refuse a copy that does not verify itself: it cannot show what this log
    must extend."""
    from ledger.model.verify import check_extends_copy

    old = verify_stored(old_conn, old_progress, every_tree_hash=False)
    if not old.ok:
        raise RefusedInput(f"the old copy does not verify (FAILED at {old.where}: {old.reason}): "
                           "it cannot show what this ledger must extend")
    return Kept(frozenset({old.events}), lambda conn, report: check_extends_copy(
        report, old, lambda: _first_differing(conn, old_conn, old.events),
        (log_origins(conn), log_origins(old_conn))))


def kept_head(seq: int, head_hash: str, name: str) -> Kept:
    """Return what the log must extend to extend a head an auditor or indexer kept (seq
    ``seq`` with hash ``head_hash``, from ``name``, an export's header): the stored hash at
    that seq, which the verified chain commits to every event before it. Unlike an old copy,
    it cannot name the first event that differs, only the seq the history up to was rewritten."""

    def check(conn: sqlite3.Connection, report: VerifyReport) -> None:
        said = f"{name} was exported at seq {seq} (head hash {head_hash[:16]}…)"
        if seq > report.events:
            raise VerificationError(report.events + 1, (
                f"the log has {report.events} events but {said}: the tail of the log was "
                "truncated or deleted"), head_hash, "")
        found = store.hash_at(conn, seq)
        if found != head_hash:
            raise VerificationError(seq, (
                f"the event at seq {seq} hashes to {found[:16]}… but {said}: history up to seq "
                f"{seq} was rewritten (each event's hash commits to every event before it)"),
                head_hash, found)

    return Kept(frozenset(), check)


def verify_kept(conn: sqlite3.Connection, kept: Kept,
                progress: Progress | None = None) -> VerifyReport:
    """Return the verify report of the stored log, failed unless it extends ``kept``."""
    return kept.extends(conn, verify_stored(conn, progress, capture=kept.sizes))


def _first_differing(conn: sqlite3.Connection, old_conn: sqlite3.Connection, size: int) -> int:
    """Return the first seq at which two verified logs' events differ, up to ``size``: each
    event's hash commits to the one before, so equal hashes at a seq mean equal events up to it."""
    lo, hi = 0, size  # equal at lo (seq 0: the genesis), different at hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if store.hash_at(conn, mid) == store.hash_at(old_conn, mid):
            lo = mid
        else:
            hi = mid
    return hi


def verify_since(conn: sqlite3.Connection, base: Checkpoint, progress: Progress | None = None,
                 capture: Collection[int] = ()) -> VerifyReport:
    """Verify the log from a checkpoint this ledger signed (after verifying the whole log then):
    the file's structure (the schema, seq from 1); that the stored tree's compact range at the
    checkpoint's size gives its root; that the stored event at that size is in that tree and
    hashes to its stored hash; then every later event exactly as ``verify`` checks it, and that
    the stored tree's root at the head is the root they give. What it does not re-read: the
    events the checkpoint covers (their leaves are fixed by its signed root)."""
    from ledger.core.events import canonical_of, hash_of
    from ledger.core.merkle import (
        Frontier,
        frontier_positions,
        leaf_hash,
        prove_inclusion,
        stored_index,
    )
    from ledger.core.merkle_check import check_inclusion
    from ledger.model.verify import VerifyReport, table_failure, verify_from

    broken, guards = check_structure(conn)
    if broken is not None:
        return broken
    size, head = base.size, store.head(conn)[0]

    def read(positions: Sequence[int]) -> list[bytes]:
        return read_hashes(conn, positions)

    prev = before_prev = GENESIS_HASH
    try:
        spots = frontier_positions(size)
        nodes = list(zip((level for level, _ in spots),
                         read([stored_index(level, index) for level, index in spots]), strict=True))
        if Frontier(nodes).root() != base.root:
            return table_failure("tree_hashes", f"the stored tree at size {size} does not give the "
                                 "root of the checkpoint this key signed at that size: it was "
                                 "edited behind the ledger's back")
        if size:
            event = next(store.iter_events(conn, size - 1, size))
            if hash_of(event) != event.hash:
                return VerifyReport(False, size - 1, GENESIS_HASH, size, f"hash mismatch: stored "
                                    f"{event.hash}, computed {hash_of(event)}")
            check_inclusion(size - 1, size, leaf_hash(canonical_of(event)),
                            prove_inclusion(size - 1, size, read), base.root)
            prev, before_prev = event.hash, event.prev_hash
    except (LedgerError, StopIteration) as exc:
        return table_failure("tree_hashes", f"the event at size {size} is not the one the checkpoint "
                             f"this key signed holds ({exc or 'missing'})")
    if progress is not None and size:  # the events the signed root fixes count as done
        progress(size)
    report = verify_from(store.iter_rows(conn, size, None), size, nodes, prev, before_prev,
                         progress, capture, iter_tree_hashes(conn, stored_count(size)))
    if report.ok and report.events != head:
        report = report._replace(ok=False, first_bad_seq=report.events + 1,
                                 reason=f"the events stop at seq {report.events}, the head is {head}")
    if report.ok and stored_root(conn, head) != report.root:
        report = _also(report, "tree_hashes", "the stored Merkle tree does not give the root the "
                       "events give: it was edited behind the ledger's back")
    if guards:
        report = _also(report, guards[0][0], _schema_reason(guards))
    return report


def _also(report: VerifyReport, table: str, reason: str) -> VerifyReport:
    """Return ``report`` failed for a problem of ``table``; a problem already found (naming its
    seq) comes first and this one is added after it."""
    if not report.ok:
        return report._replace(reason=f"{report.reason}; also {reason}")
    return report._replace(ok=False, table=table, reason=reason)


def tree_shape_problem(conn: sqlite3.Connection, size: int) -> str | None:
    """Return what is wrong with the shape of the stored tree of a log of ``size`` events (a
    count that is not 2n - popcount(n), a position out of place, a hash that is not 32 bytes),
    or None. Cheap (one scan in SQLite); the values themselves are compared with the events by
    ``audit`` and by every proof before it is given out."""
    count, low, high, odd = store.tree_shape(conn)
    want = stored_count(size)
    if odd is not None:
        return (f"stored hash #{odd} is not a 32-byte hash: the tree was edited behind the "
                "ledger's back")
    if count != want or (count and (low != 0 or high != count - 1)):
        return (f"the stored tree has {count} hashes at positions {low}..{high}; a log of {size} "
                f"events has {want} at 0..{want - 1}: the tree was edited or the log truncated")
    return None


def check_storage(conn: sqlite3.Connection, thorough: bool = False) -> VerifyReport | None:
    """Return a failed report if SQLite's own check of the b-trees fails, naming the table, else
    None: every index of ``events`` against the table (so a read by record, through an index
    rewritten behind the schema's back with ``PRAGMA writable_schema``, is proven to read the
    rows of the full scan), the other tables verify reads; everything when ``thorough``."""
    from ledger.model.verify import table_failure

    try:
        damaged = store.storage_problems(conn, thorough)
    except sqlite3.DatabaseError as exc:
        return table_failure("(file)", f"SQLite's integrity check cannot run: {exc}")
    if not damaged:
        return None
    more = f" (and {len(damaged) - 1} more)" if len(damaged) > 1 else ""
    return table_failure(damaged[0][0], f"SQLite's integrity check fails: {damaged[0][1]}{more}")


def check_structure(conn: sqlite3.Connection) -> tuple[VerifyReport | None, list[tuple[str, str]]]:
    """Return (a failed report if the file's structure lets two readings of it differ, the
    changed triggers).

    An attacker who can write the file can drop the primary key, add rows with seq <= 0 or a
    second row with an existing seq, or rewrite an index so that reads by record skip an event.
    So: the schema of every ledger table, index and trigger must be exactly what this version
    creates (then ``seq`` is the rowid: an integer, unique), and the smallest seq must be 1 (the
    scan in seq order then proves 1..n, each once, nothing else); ``check_storage``, run after
    the scan, proves that every index reads the same rows.

    A dropped or added trigger changes no reading (the triggers only guard writes): the chain is
    still checked, so that an event changed after dropping them is named by its seq.
    """
    from ledger.model.verify import VerifyReport, table_failure

    try:
        version = store.event_format(conn)
        found = store.schema_problems(conn, _expected_schema(version), _legacy_schema(version))
        guards = [(table, reason) for kind, table, reason in found if kind == "trigger"]
        problems = [(table, reason) for kind, table, reason in found if kind != "trigger"]
        if problems:
            return table_failure(problems[0][0], _schema_reason(problems)), guards
        low = store.first_seq(conn)
        said = store.meta(conn, "format")
    except sqlite3.DatabaseError as exc:
        return table_failure("(file)", f"the file cannot be read as a ledger: {exc}"), []
    expected = store.format_name(version)
    if said != expected:  # what a reader with sqlite3 is told the format is
        shown = "has no format row" if said is None else f"says the format is {said!r:.80}"
        return table_failure("ledger_meta", f"it {shown}, but the file is event format {version} "
                             f"(PRAGMA user_version, which the ledger reads: expected {expected!r}): "
                             "it was changed behind the ledger's back"), guards
    if low is not None and low != 1:
        reason = (f"the events table holds a row with seq {low}, before seq 1: rows outside 1..n "
                  "were written behind the ledger's back" if low < 1 else
                  f"event seq 1 is missing: the first stored event is seq {low}")
        return VerifyReport(False, 0, GENESIS_HASH, min(int(low), 1), reason, table="events"), guards
    return None, guards


def _schema_reason(problems: Sequence[tuple[str, str]]) -> str:
    more = f" (and {len(problems) - 1} more schema change(s))" if len(problems) > 1 else ""
    return f"schema: {problems[0][1]}{more}: the file was changed behind the ledger's back"


@functools.cache
def _expected_schema(version: int) -> dict[str, store.SchemaRow]:
    from ledger.storage.views import VIEWS_SCHEMA

    return store.expected_schema(version, VIEWS_SCHEMA)


@functools.cache
def _legacy_schema(version: int) -> dict[str, store.SchemaRow]:
    """The view tables of a file made before their foreign keys: accepted as they are."""
    from ledger.storage.views import VIEWS_SCHEMA_V1

    return store.expected_schema(version, VIEWS_SCHEMA_V1)


# -- verifying in blocks, with helper processes ---------------------------------------------------

BLOCK = 1 << 13  # events per block: a complete subtree of the Merkle tree


def verify_in_blocks(path: Path, size: int, progress: Progress | None = None,
                     helpers: int | None = None, block: int | None = None,
                     conn: sqlite3.Connection | None = None) -> VerifyReport:
    """Return ``verify``'s report for the first ``size`` events, checked in blocks of ``block``
    events (a power of two; default BLOCK) by ``helpers`` processes (default HELPERS), helper i
    taking blocks i, i + helpers, ….

    Each block is checked exactly as a whole pass would check it (``verify.verify_block``,
    starting from the stored hashes of the two events before it, which the previous block
    vouches for); the blocks' reports are read in order, so the first bad block names the first
    bad seq, and their Merkle frontiers are merged into the root. With ``conn`` (the same file)
    every stored tree hash is compared too, as a whole pass with the stored tree does: each
    helper its blocks' own hashes, this process the ones that merging the blocks makes, and
    that none is stored beyond the log. Raises HelperStopped if a helper cannot start or dies:
    the caller then verifies in this process.
    """
    from ledger.core.merkle import Frontier
    from ledger.model.verify import (
        VerifyReport,
        check_made,
        finish_notes,
        tree_beyond,
    )

    helpers, block = helpers or HELPERS, block or BLOCK
    running = [Helper(block_worker, str(path), str(i), str(helpers), str(size), str(block),
                      "tree" if conn is not None else "") for i in range(helpers)]
    try:
        streams = [h.messages() for h in running]
        frontier = Frontier()
        head = GENESIS_HASH
        notes: list[Any] = []
        for number in range((size + block - 1) // block):
            message = next(streams[number % helpers], None)
            if message is None or message[1] != number:
                raise HelperStopped
            if message[0] == "bad":  # ("bad", block, first bad seq, reason, events, head)
                return VerifyReport(False, message[4], message[5], message[2], message[3])
            # ("ok", block, events, frontier, head, notes on withheld members and purges)
            _, _, events, block_frontier, head, block_notes = message
            notes.extend(block_notes)
            if events != min(block, size - number * block):  # cannot be: a block that ends
                raise HelperStopped  # short fails; but if it did, the one pass decides
            made = frontier.extend(block_frontier)
            if conn is not None:
                last = number * block + events
                try:
                    check_made(made, last, functools.partial(tree_rows, conn))
                except VerificationError as exc:  # as the whole pass: the events before seq last
                    return VerifyReport(False, last - 1, store.hash_at(conn, last - 1), exc.seq,
                                        exc.reason)
            if progress is not None:
                progress(events)
        if conn is not None:
            extra = next(iter_tree_hashes(conn, stored_count(size)), None)
            if extra is not None:
                try:
                    tree_beyond(size, extra[0])
                except VerificationError as exc:
                    return VerifyReport(False, size, head, exc.seq, exc.reason)
        return finish_notes(VerifyReport(True, size, head, None, None, frontier.root()), notes)
    finally:
        for helper in running:
            helper.close()


def block_worker(path: str, first: str, step: str, size: str, block: str, tree: str = "") -> None:
    """The helper of ``verify_in_blocks``: check blocks first, first + step, … of the log
    (``tree``: and each block's own stored tree hashes)."""
    from ledger.model.verify import verify_block

    n, width = int(size), int(block)
    conn = store.open_ledger(Path(path))
    with store.read_snapshot(conn):
        for number in range(int(first), (n + width - 1) // width, int(step)):
            lo, hi = number * width + 1, min((number + 1) * width, n)
            before = store.hashes_between(conn, lo - 2, lo - 1)
            before = [GENESIS_HASH] * (2 - len(before)) + before  # seq 1 and 2 follow zeros
            made: list[bytes] | None = [] if tree else None
            report, block_frontier, notes = verify_block(_block_rows(conn, lo, hi), lo,
                                                         before[1], before[0], made=made)
            if made is not None and not (report.ok and _tree_holds(conn, lo, made)):
                # Anything wrong: the block again with each stored hash compared as it is made
                # (the whole pass's order and words); only the block's own hashes, below its root.
                start, count = stored_count(lo - 1), hi - lo + 1
                stored = iter_tree_hashes(conn, start, start + 2 * count - count.bit_count())
                report, block_frontier, notes = verify_block(_block_rows(conn, lo, hi), lo,
                                                             before[1], before[0], stored)
            if not report.ok:
                send(("bad", number, report.first_bad_seq, report.reason, report.events,
                      report.head_hash))
                return
            send(("ok", number, report.events - lo + 1, block_frontier, report.head_hash, notes))
    send(("done",))


def _tree_holds(conn: sqlite3.Connection, lo: int, made: list[bytes]) -> bool:
    """Return whether the stored tree holds exactly ``made`` from the position of leaf ``lo``."""
    start = stored_count(lo - 1)
    return hashes_between(conn, start, start + len(made)) == made


def _block_rows(conn: sqlite3.Connection, lo: int, hi: int) -> Iterator[tuple[Any, ...]]:
    """Yield the rows with lo <= seq <= hi; if the last of them is not seq hi (events at the end
    of the block were deleted), also the next stored row, so that the block fails exactly as
    the one pass does ("event seq N is missing: the next stored event is …")."""
    last = lo - 1
    for row in store.iter_rows(conn, lo - 1, hi):
        last = row[0]
        yield row
    if last < hi:
        following = next(store.iter_rows(conn, last, None, batch=1), None)
        if following is not None:
            yield following
