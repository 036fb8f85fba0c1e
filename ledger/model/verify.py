"""Chain verification: recompute every hash and link, name the first bad ``seq``.

Pure over an iterator of stored events; the caller streams them from the store.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from hashlib import sha256
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn

from ledger.core.canonical import is_canonical_object
from ledger.core.checkpoint import Checkpoint
from ledger.core.encoding import b64
from ledger.core.events import (
    EVENT_HASH_PREFIX,
    EVENT_HASH_PREFIX_V2,
    GENESIS_HASH,
    Event,
    canonical_of,
    check_members,
    envelope_bytes,
    envelope_v2_bytes,
    event_hash,
    event_of,
)
from ledger.core.merkle import EMPTY_ROOT, Frontier, stored_count
from ledger.core.progress import Progress
from ledger.errors import CorruptEvent, KeyFormatError, VerificationError
from ledger.model.purge import PURGE_TYPE, note_event, replay

if TYPE_CHECKING:
    from ledger.model.keyring import SignatureCheck

_HEX_HASH = re.compile("[0-9a-f]{64}")
Row = tuple[Any, ...]  # an event row as stored: the fields of ``Event``, in its order


class VerifyReport(NamedTuple):
    """The outcome of ``verify`` (keys of ``verify --json``)."""

    ok: bool
    events: int
    head_hash: str
    first_bad_seq: int | None
    reason: str | None
    root: bytes = EMPTY_ROOT
    roots: Mapping[int, bytes] = MappingProxyType({})  # the root at each size asked for
    table: str | None = None  # the table at fault, when the problem is not one event's
    # (seq, member, removal notice id, its seq) of every payload member a purge withholds
    withheld: tuple[tuple[int, str, str, int], ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": self.events, "head_hash": self.head_hash,
                "first_bad_seq": self.first_bad_seq, "reason": self.reason,
                "root": b64(self.root), "table": self.table,
                "withheld": [{"seq": s, "member": m, "notice_id": n, "notice_seq": q}
                             for s, m, n, q in self.withheld]}

    @property
    def where(self) -> str:
        """Where the problem is, for a one-line message: ``seq 4`` or ``table events``."""
        return f"seq {self.first_bad_seq}" if self.first_bad_seq is not None else f"table {self.table}"

    def failure(self, doing: str) -> VerificationError | CorruptEvent:
        """Return the error (exit 1) of a failed report, for a command that was ``doing``
        something with the log (``refusing to sign``): a bad event by its seq; a table at fault
        by its name, where it said ``seq 0``, an event there is none of."""
        if self.first_bad_seq is not None:
            return VerificationError(self.first_bad_seq, f"{doing}: {self.reason}")
        return CorruptEvent(f"{doing}: {self.where}: {self.reason}")


def table_failure(table: str, reason: str) -> VerifyReport:
    """Return the report of a problem with a whole table (its schema or storage), not an event."""
    return VerifyReport(False, 0, GENESIS_HASH, None, reason, table=table)


def damage_report(exc: CorruptEvent) -> VerifyReport | None:
    """Return the report of the damaged table a CorruptEvent names (its words without the
    ``table T:`` they start with), or None if it names no table."""
    if exc.table is None:
        return None
    return table_failure(exc.table, str(exc).removeprefix(f"table {exc.table}: "))


def hash_as(event: Event, seq: int) -> str:
    """Return the hash ``event`` would have if it were stored at ``seq``."""
    return event_hash(canonical_of(event._replace(seq=seq)), event.commitments is not None)


def check_event(event: Event, expected: int, prev: str, before_prev: str) -> bytes:
    """Return canonical(event); raise VerificationError unless it is valid event ``expected``."""
    if event.seq != expected:
        raise VerificationError(expected, f"event seq {expected} is missing: the next stored "
                                f"event is seq {event.seq} (an event was deleted)",
                                str(expected), str(event.seq))
    try:
        canonical = canonical_of(event)
    except (TypeError, AttributeError, UnicodeEncodeError) as exc:
        raise VerificationError(event.seq, f"a column of this event holds a value of the wrong "
                                f"type ({exc}): it was written behind the ledger's back") from None
    computed = event_hash(canonical, event.commitments is not None)
    if computed != event.hash:
        _explain_mismatch(event, computed, before_prev)
    if event.prev_hash != prev:
        raise VerificationError(event.seq, f"prev_hash does not link to seq {event.seq - 1}: "
                                f"expected {prev}, found {event.prev_hash} (events reordered, "
                                "replaced or inserted)", prev, event.prev_hash)
    if event.commitments is None and not is_canonical_object(event.payload_json):
        # The hash is over the stored text, so it matches; but canonical(e) is JCS of the
        # envelope, and a text that is not is either not one object or has two readings.
        raise VerificationError(event.seq, "the stored payload is not a JSON object in canonical "
                                "form (RFC 8785): the event was written with bytes that readers "
                                "could read as other values (a repeated member name?) or not at "
                                "all, and its hash is not the one its values give", "", "")
    return canonical


def check_record(events: Sequence[Event], links: Mapping[int, Any], leaves: Mapping[int, Any],
                 head: int, members: bool = True) -> None:
    """Check one record's events as far as they can be without reading the whole log: each
    event's hash is the one its content gives, its members match their commitments (a member
    withheld only by a purge of the record), the Merkle tree's stored leaf at its seq is its,
    and the event after it in the log exists (unless it is at the ``head``) and links to it.
    ``links``: {seq: the ``prev_hash`` stored by event seq + 1}, for those that have one;
    ``leaves``: {seq: the stored leaf hash}. Raise VerificationError naming the first bad seq.
    ``members=False``: the envelopes only (what the hash covers), not the stored members, which
    only the whole record shows right where a purge withheld some.

    What it cannot see is an event of the record given another record id (it is then not
    among ``events``; ``verify`` finds its hash broken), or a history rewritten from an event
    to the head, tree and all (``verify --checkpoint`` finds that)."""
    notes: list[tuple[Any, ...]] = []
    for event in events:
        canonical = check_event(event, event.seq, event.prev_hash, "")  # its own link: below
        if members and event.commitments is not None:
            withheld = check_members(event)
            note_event(notes, event.seq, event.type, event.record_id, event.payload, withheld)
        leaf, stored = sha256(b"\x00" + canonical).digest(), leaves.get(event.seq)
        if stored != leaf:
            pos = stored_count(event.seq - 1)
            tree_mismatch(event.seq, pos, None if stored is None else (pos, stored), leaf, leaf=True)
        after = links.get(event.seq)
        if after is None and event.seq < head:
            raise VerificationError(event.seq + 1, f"event seq {event.seq + 1} is missing: the "
                                    f"log's head is seq {head} (an event was deleted)",
                                    str(event.seq + 1), "")
        if after is not None and after != event.hash:
            raise VerificationError(event.seq + 1, f"prev_hash does not link to seq {event.seq}: "
                                    f"expected {event.hash}, found {after} (events reordered, "
                                    "replaced or inserted)", event.hash, str(after))
    held = replay(notes)
    held.finish()


def _explain_mismatch(event: Event, computed: str, before_prev: str) -> None:
    """Raise the most precise VerificationError for an event whose hash does not match."""
    seq = event.seq
    if not (type(event.hash) is str and _HEX_HASH.fullmatch(event.hash)):
        raise VerificationError(seq, f"the stored event hash is not 64 hex digits "
                                f"({event.hash!s:.40}, the event gives {computed}): it was "
                                "edited behind the ledger's back", str(event.hash), computed)
    if seq > 1 and hash_as(event, seq - 1) == event.hash and event.prev_hash == before_prev:
        raise VerificationError(seq - 1, f"an event was inserted at seq {seq - 1}: the event "
                                f"stored at seq {seq} is the original seq {seq - 1}",
                                event.hash, computed)
    if hash_as(event, seq + 1) == event.hash:
        raise VerificationError(seq, f"event seq {seq} was deleted: the event stored at seq "
                                f"{seq} is the original seq {seq + 1}", event.hash, computed)
    raise VerificationError(seq, f"hash mismatch: stored {event.hash}, computed {computed} "
                            "(the event's content was changed)", event.hash, computed)


class _Tree:
    """Recomputes the Merkle tree from the events (a ``Frontier``) and compares each hash it
    would store with the next stored (position, hash) row."""

    def __init__(self, stored: Iterator[tuple[int, bytes]] | None, capture: Collection[int]) -> None:
        self.frontier = Frontier()
        self.stored, self.capture = stored, capture
        self.roots: dict[int, bytes] = {}
        self.pos = 0  # the stored position of the next hash
        self.made: list[bytes] | None = None  # when a list: every hash made, in stored order

    def add(self, seq: int, canonical: bytes) -> None:
        new = self.frontier.append(sha256(b"\x00" + canonical).digest())
        if self.made is not None:
            self.made += new
        if self.stored is not None:
            for i, h in enumerate(new):
                found = next(self.stored, None)
                if found is None or found[0] != self.pos + i or found[1] != h:
                    tree_mismatch(seq, self.pos + i, found, h, leaf=i == 0)
        self.pos += len(new)
        if seq in self.capture:
            self.roots[seq] = self.frontier.root()

    def finish(self, size: int) -> None:
        extra = None if self.stored is None else next(self.stored, None)
        if extra is not None:
            tree_beyond(size, extra[0])


def tree_mismatch(seq: int, pos: int, found: tuple[int, Any] | None, computed: bytes,
                  leaf: bool) -> NoReturn:
    """Raise the VerificationError for stored tree hash #``pos`` (made when seq was added):
    missing, or not the hash the events give."""
    if found is None or found[0] != pos:
        raise VerificationError(seq, f"the stored Merkle tree lacks hash #{pos}", "", "")
    if type(found[1]) is not bytes or len(found[1]) != 32:
        raise VerificationError(seq, f"stored Merkle tree hash #{pos} is {found[1]!r:.80}, not a "
                                f"32-byte hash (the events give {computed.hex()}): the tree was "
                                "edited", repr(found[1])[:80], computed.hex())
    stored = found[1]
    if leaf:
        raise VerificationError(seq, f"the Merkle tree recorded a different event at seq {seq} "
                                f"(leaf hash {stored.hex()}, this event gives "
                                f"{computed.hex()}): an event was inserted or replaced here, "
                                "or the tree was edited", stored.hex(), computed.hex())
    raise VerificationError(seq, f"stored Merkle tree hash #{pos} is {stored.hex()}, "
                            f"the events give {computed.hex()}: the tree was edited",
                            stored.hex(), computed.hex())


def tree_beyond(size: int, pos: int) -> NoReturn:
    """Raise the VerificationError for a stored tree hash #``pos`` beyond a log of ``size``."""
    raise VerificationError(size + 1, f"the stored Merkle tree has hashes beyond the "
                            f"{size} events of the log (#{pos}): the tail of the "
                            "log was truncated", str(size), "")


def verify_events(events: Iterable[Row], progress: Progress | None = None,
                  stored_tree: Iterator[tuple[int, bytes]] | None = None,
                  capture: Collection[int] = (),
                  signatures: Iterator[tuple[Any, ...]] | None = None) -> VerifyReport:
    """Return the report for a stream of stored events (``Event`` or plain rows in its field
    order), stopping at the first bad one.

    Also recomputes the Merkle tree: compares it with ``stored_tree`` (position, hash) when
    given, and records the root at every size in ``capture``. On failure ``events`` and
    ``head_hash`` describe the valid prefix that was checked.
    """
    return _verify(_Walk(stored_tree, capture), events, progress, signatures)


def verify_block(events: Iterable[Row], first: int, prev: str, before_prev: str,
                 stored_tree: Iterator[tuple[int, bytes]] | None = None,
                 made: list[bytes] | None = None,
                 ) -> tuple[VerifyReport, list[tuple[int, bytes]], list[tuple[Any, ...]]]:
    """Verify the events of one block of the log, which starts at seq ``first`` (one more than a
    multiple of the block size, a power of two) after events whose stored hashes are ``prev``
    and ``before_prev``; return the report and the block's own Merkle frontier (level, hash).

    The checks are exactly ``verify_events``'s: a block is as valid as the same events are in a
    whole pass, given that the events before it are (their own block says so). Withheld members
    and purges are returned as notes (``purge.note_event``), for the caller to check over the
    whole log with ``finish_notes``.

    The block's own tree hashes (below its root) are compared with ``stored_tree`` (position,
    hash, from ``stored_count(first - 1)``) as a whole pass compares them, when given; or each
    hash the block makes is added to ``made``, in stored order, for the caller to compare.
    """
    walk = _Walk(stored_tree, ())
    walk.expected, walk.prev, walk.before_prev, walk.base = first, prev, before_prev, first - 1
    walk.tree.pos, walk.tree.made = stored_count(first - 1), made
    return _verify(walk, events, None, None, resolve=False), walk.tree.frontier.nodes, walk.notes


def check_made(made: Sequence[tuple[int, bytes]], seq: int,
               stored: Callable[[list[int]], Mapping[int, Any]]) -> None:
    """Compare the (position, hash) the events give when leaf ``seq`` is added (e.g. those
    ``Frontier.extend`` makes merging a block that ends at ``seq``) with the stored ones
    (``stored`` gives {position: hash} of those that exist), raising VerificationError as a
    whole pass would."""
    found = stored([pos for pos, _ in made]) if made else {}
    for pos, h in made:
        if found.get(pos) != h:
            tree_mismatch(seq, pos, (pos, found[pos]) if pos in found else None, h, leaf=False)


def verify_from(events: Iterable[Row], size: int, frontier: list[tuple[int, bytes]], prev: str,
                before_prev: str, progress: Progress | None = None,
                capture: Collection[int] = (),
                stored_tree: Iterator[tuple[int, bytes]] | None = None) -> VerifyReport:
    """Verify the events after the first ``size`` of a log whose compact range at ``size`` is
    ``frontier`` and whose event ``size`` has the stored hash ``prev`` (and prev_hash
    ``before_prev``) — all of which the caller has checked against a checkpoint it trusts. The
    checks are exactly ``verify_events``'s; the report's root is the whole log's. Withheld
    members are not resolved against purges (they do not change a leaf). With ``stored_tree``
    (position, hash from ``stored_count(size)`` on) each stored hash is compared too."""
    walk = _Walk(stored_tree, capture)
    walk.expected, walk.prev, walk.before_prev = size + 1, prev, before_prev
    walk.tree.frontier = Frontier(frontier)
    walk.tree.pos = stored_count(size)  # ``stored_tree`` starts there: every later hash compared
    return _verify(walk, events, progress, None, resolve=False)


def finish_notes(report: VerifyReport, notes: Iterable[tuple[Any, ...]]) -> VerifyReport:
    """Return ``report`` with the withheld members of a whole log checked against its purges
    (a failure names the member's seq)."""
    try:
        held = replay(notes)
        held.finish()
    except VerificationError as exc:
        return report._replace(ok=False, first_bad_seq=exc.seq, reason=exc.reason, withheld=())
    return report._replace(withheld=tuple(held.covered))


def _verify(walk: _Walk, events: Iterable[Row], progress: Progress | None,
            signatures: Iterator[tuple[Any, ...]] | None, resolve: bool = True) -> VerifyReport:
    walk.reported = walk.expected - 1  # progress counts the events this pass reads
    try:
        return _verify_walk(walk, events, progress, signatures, resolve)
    finally:
        if progress is not None and walk.expected - 1 > walk.reported:
            progress(walk.expected - 1 - walk.reported)  # the last, short stretch: a true total


def _verify_walk(walk: _Walk, events: Iterable[Row], progress: Progress | None,
                 signatures: Iterator[tuple[Any, ...]] | None, resolve: bool) -> VerifyReport:
    stored_tree = walk.tree.stored
    rest: Iterator[Row] = iter(events)
    if stored_tree is None:  # the common case: run the tight loop as far as it goes
        stopped = _fast_prefix(rest, walk, progress)
        if stopped is not None:
            rest = itertools.chain((stopped,), rest)
    elif walk.tree.made is None:  # the tight loop too, each stored tree hash compared by chunks
        rest = _fast_prefix_against(rest, walk, progress)
    signed: SignatureCheck | None = None
    try:
        for row in rest:
            event = row if type(row) is Event else event_of(row)
            walk.event(event)
            if event.seq == 1 and event.type == "key.added":  # a signed ledger (see keyring)
                from ledger.model.keyring import SignatureCheck  # loads cryptography: signed only

                signed = SignatureCheck(signatures if signatures is not None else iter(()))
            if signed is not None:
                signed.add(event)
            walk.tick(progress)
        walk.finish()
        if signed is not None:
            signed.finish(walk.expected - 1)
    except (CorruptEvent, KeyFormatError, VerificationError) as exc:
        return walk.failed(exc)
    return finish_notes(walk.report(), walk.notes) if resolve else walk.report()


def _fast_prefix(events: Iterator[Row], walk: _Walk, progress: Progress | None) -> Row | None:
    """Check events with locals only while each is plainly valid; return the first that is not
    (or that starts a signed ledger) for the general loop, with ``walk`` brought up to date.

    Accepts exactly what ``_Walk.event`` accepts: same seq, link and hash checks, the same tree
    (leaf number i merges once per trailing 1 bit of i, as in ``merkle.Frontier.append``).
    """
    expected, prev, before, base = walk.expected, walk.prev, walk.before_prev, walk.base
    hashes = [h for _, h in walk.tree.frontier.nodes]
    capture, roots, prefix = walk.tree.capture, walk.tree.roots, EVENT_HASH_PREFIX
    notes, made = walk.notes, walk.tree.made
    stopped = None
    for event in events:
        seq = event[0]
        if seq != expected or event[7] != prev or (seq == 1 and event[1] == "key.added"):
            stopped = event
            break
        try:
            if len(event) == 9:
                canonical = envelope_bytes(*event[:8])
                good = (sha256(prefix + canonical).hexdigest() == event[8]
                        and is_canonical_object(event[4]))
            else:  # format v2: the envelope commits to the members, each checked here
                canonical = envelope_v2_bytes(event[0], event[1], event[2], event[3], event[10],
                                              event[5], event[6], event[7])
                good = (sha256(EVENT_HASH_PREFIX_V2 + canonical).hexdigest() == event[8]
                        and _members_hold(event, notes))
        except (TypeError, AttributeError, UnicodeEncodeError):
            good = False
        if not good:
            stopped = event
            break
        h, n = sha256(b"\x00" + canonical).digest(), seq - 1 - base  # leaf number in the tree
        if made is None:
            while n & 1:
                h = sha256(b"\x01" + hashes.pop() + h).digest()
                n >>= 1
        else:  # every hash made, in stored order, for the caller to compare with the stored tree
            made.append(h)
            while n & 1:
                h = sha256(b"\x01" + hashes.pop() + h).digest()
                made.append(h)
                n >>= 1
        hashes.append(h)
        before, prev, expected = prev, event[8], expected + 1
        if capture and seq in capture:
            roots[seq] = Frontier.of(seq - base, hashes).root()
        if progress is not None and expected % 1024 == 0:
            progress(expected - 1 - walk.reported)
            walk.reported = expected - 1
    walk.expected, walk.prev, walk.before_prev = expected, prev, before
    walk.tree.frontier = Frontier.of(expected - 1 - base, hashes)
    walk.tree.pos = stored_count(expected - 1)
    return stopped


def rows_hold(rows: Sequence[tuple[int, Any]], start: int, made: Sequence[bytes]) -> bool:
    """Return whether stored tree rows (position, hash), read in position order from ``start``,
    are exactly the hashes ``made`` at positions start, start + 1, …: as many, the first and last
    at their places (positions are the table's INTEGER PRIMARY KEY: distinct, so none between is
    missing), each hash equal."""
    return (len(rows) == len(made)
            and (not rows or (rows[0][0] == start and rows[-1][0] == start + len(rows) - 1))
            and [h for _, h in rows] == made)


CHUNK = 4096  # events whose tree hashes the tight loop makes before they are compared at once


def _fast_prefix_against(events: Iterator[Row], walk: _Walk,
                         progress: Progress | None) -> Iterator[Row]:
    """``_fast_prefix`` for a pass that compares every stored tree hash: the events in chunks of
    CHUNK, each checked by the tight loop, its tree hashes made and then compared with the next
    stored ones in one go. Return the events the general loop is to check: those from where the
    tight loop stopped; or, if a chunk's hashes differ from the stored ones, the whole chunk
    again, ``walk`` put back as it was before it and the stored hashes read handed back, so that
    the general loop names the first bad seq and hash as it always does."""
    tree = walk.tree
    while True:
        chunk = list(itertools.islice(events, CHUNK))
        if not chunk:
            return iter(())
        expected, prev, before_prev, start = walk.expected, walk.prev, walk.before_prev, tree.pos
        nodes, notes, roots = list(tree.frontier.nodes), len(walk.notes), dict(tree.roots)
        made: list[bytes] = []
        tree.made = made
        try:
            todo = iter(chunk)
            stopped = _fast_prefix(todo, walk, None)
        finally:
            tree.made = None
        stored = tree.stored
        assert stored is not None
        rows = list(itertools.islice(stored, len(made)))
        if not rows_hold(rows, start, made):
            walk.expected, walk.prev, walk.before_prev = expected, prev, before_prev
            tree.frontier, tree.pos, tree.roots = Frontier(nodes), start, roots
            del walk.notes[notes:]
            tree.stored = itertools.chain(rows, stored)
            return itertools.chain(chunk, events)
        if progress is not None and walk.expected - 1 > walk.reported:
            progress(walk.expected - 1 - walk.reported)
            walk.reported = walk.expected - 1
        if stopped is not None:
            return itertools.chain((stopped,), todo, events)
        if len(chunk) < CHUNK:
            return iter(())


def _members_hold(row: Row, notes: list[tuple[Any, ...]]) -> bool:
    """Return whether a v2 event row's members match its commitments (noting what a purge
    must cover); False sends the row to the general loop, which names the problem."""
    event = event_of(row)
    try:
        withheld = check_members(event)
        if withheld or row[1] == PURGE_TYPE or (row[1] == "notice.issued" and '"removal"' in row[4]):
            note_event(notes, row[0], row[1], row[2], event.payload, withheld)
    except (CorruptEvent, VerificationError):
        return False
    return True


class _Walk:
    """The state of a verification pass: the next expected seq, the last two hashes, the tree,
    and the notes on withheld members and purges (checked once the whole log is read)."""

    def __init__(self, stored_tree: Iterator[tuple[int, bytes]] | None,
                 capture: Collection[int]) -> None:
        self.expected, self.prev, self.before_prev = 1, GENESIS_HASH, GENESIS_HASH
        self.base = 0  # leaves before the tree this pass builds (a block's first seq - 1)
        self.reported = 0  # the events before seq reported + 1 were counted in the progress
        self.tree = _Tree(stored_tree, capture)
        self.notes: list[tuple[Any, ...]] = []

    def event(self, event: Event) -> None:
        """Check one event (``check_event``, and a v2 event's members) and add it to the tree;
        raise if it is bad."""
        canonical = check_event(event, self.expected, self.prev, self.before_prev)
        if event.commitments is not None:
            withheld = check_members(event)
            note_event(self.notes, event.seq, event.type, event.record_id, event.payload, withheld)
        self.tree.add(self.expected, canonical)
        self.before_prev, self.prev = self.prev, event.hash
        self.expected += 1

    def tick(self, progress: Progress | None) -> None:
        if progress is not None and self.expected % 1024 == 0:
            progress(self.expected - 1 - self.reported)
            self.reported = self.expected - 1

    def finish(self) -> None:
        self.tree.finish(self.expected - 1)

    def failed(self, exc: Exception) -> VerifyReport:
        if isinstance(exc, VerificationError):
            return VerifyReport(False, self.expected - 1, self.prev, exc.seq, exc.reason)
        return VerifyReport(False, self.expected - 1, self.prev, self.expected,
                            str(exc).removeprefix(f"seq {self.expected}: "))

    def report(self) -> VerifyReport:
        return VerifyReport(True, self.expected - 1, self.prev, None, None,
                            self.tree.frontier.root(), self.tree.roots)


def root_at(report: VerifyReport, size: int) -> bytes | None:
    """Return the root the verified events give at ``size`` (None if not captured)."""
    return EMPTY_ROOT if size == 0 else report.roots.get(size)


def _logs(origins: Collection[str], most: int = 3) -> str:
    """Return the origins a file names for its log, as a failure says them (a few at most: the
    file is the attacker's to write)."""
    named = sorted(origins)
    more = f" and {len(named) - most} more" if len(named) > most else ""
    return ", ".join(named[:most]) + more


def check_extends(report: VerifyReport, checkpoint: Checkpoint,
                  log_origins: Collection[str] = ()) -> None:
    """Raise VerificationError unless the verified log extends ``checkpoint``. ``log_origins``:
    the origins the ledger file names for its log (``proofstore.log_origins``); when the
    checkpoint's is not among them, the failure says that it may be another log's (the file's
    word, so only a hint: the failure stands either way, and an auditor given the wrong file is
    not told that the history was rewritten, and nothing else)."""
    other = ""
    if log_origins and checkpoint.origin not in log_origins:
        other = (", or the checkpoint is another log's: this ledger file names its log "
                 f"{_logs(log_origins)}, not {checkpoint.origin}")
    if report.events < checkpoint.size:
        raise VerificationError(report.events + 1, f"the log has {report.events} events but the "
                                f"checkpoint of {checkpoint.origin} commits to {checkpoint.size}: "
                                f"the tail of the log was truncated or deleted{other}",
                                str(checkpoint.size), str(report.events))
    computed = root_at(report, checkpoint.size)
    if computed != checkpoint.root:
        got = b64(computed or b"")
        raise VerificationError(checkpoint.size, f"the log's Merkle root at size {checkpoint.size} "
                                f"is {got} but the checkpoint of {checkpoint.origin} says "
                                f"{checkpoint.root_b64}: history up to seq {checkpoint.size} was "
                                f"rewritten{other}", checkpoint.root_b64, got)


def split_views(checkpoints: Iterable[Checkpoint]) -> list[VerificationError]:
    """Return a failure for each size at which the checkpoints of one origin (each signature
    verified) give more than one root: its key signed more than one history."""
    by_size: dict[tuple[str, int], list[Checkpoint]] = {}
    for checkpoint in checkpoints:
        same = by_size.setdefault((checkpoint.origin, checkpoint.size), [])
        if checkpoint not in same:
            same.append(checkpoint)
    return [VerificationError(size, (
        f"{len(same)} checkpoints of {origin} signed at size {size} give different roots "
        f"({', '.join(c.root_b64 for c in same)}): its key signed more than one history, a split "
        "view; the log can extend at most one of them"))
        for (origin, size), same in by_size.items() if len(same) > 1]


def check_extends_copy(report: VerifyReport, old: VerifyReport,
                       first_differing: Callable[[], int],
                       origins: tuple[Collection[str], Collection[str]] = ((), ())) -> None:
    """Raise VerificationError unless the verified log extends ``old``, the verify report of an
    earlier copy of it: as long, and the same Merkle root at the copy's size (so the same
    events up to it); ``first_differing`` names the first event that differs when not.
    ``origins``: the origins this file and the old copy name for their logs
    (``proofstore.log_origins``); when each names some and none is the same, the failure says
    that the copy may be another log's (the files' word, so only a hint, as ``check_extends``)."""
    mine, theirs = origins
    other = ""
    if mine and theirs and not set(mine) & set(theirs):
        other = (", or the old copy is another log's: it names its log "
                 f"{_logs(theirs)}, and this ledger file {_logs(mine)}")
    if report.events < old.events:
        raise VerificationError(report.events + 1, f"this ledger has {report.events} events but "
                                f"the old copy has {old.events}: the tail of the log was "
                                f"truncated or deleted{other}", str(old.events), str(report.events))
    if root_at(report, old.events) != old.root:
        seq = first_differing()
        raise VerificationError(seq, f"the event differs from the old copy's seq {seq}: the "
                                f"history up to seq {old.events} was rewritten from seq {seq} "
                                f"on{other}")
