"""Chain verification: recompute every hash and link, name the first bad ``seq``.

Pure over an iterator of stored events; the caller streams them from the store.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ledger.errors import CorruptEvent, KeyFormatError, VerificationError
from ledger.events import GENESIS_HASH, Event, canonical_of, event_hash
from ledger.merkle import EMPTY_ROOT, leaf_hash, new_hashes, root_from_frontier, stored_count

if TYPE_CHECKING:
    from ledger.keyring import SignatureCheck

Progress = Callable[[int], None]


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of ``verify`` (keys of ``verify --json``)."""

    ok: bool
    events: int
    head_hash: str
    first_bad_seq: int | None
    reason: str | None
    root: bytes = EMPTY_ROOT
    roots: dict[int, bytes] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": self.events, "head_hash": self.head_hash,
                "first_bad_seq": self.first_bad_seq, "reason": self.reason,
                "root": base64.b64encode(self.root).decode()}


def hash_as(event: Event, seq: int) -> str:
    """Return the hash ``event`` would have if it were stored at ``seq``."""
    return event_hash(canonical_of(event._replace(seq=seq)))


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
    computed = event_hash(canonical)
    if computed != event.hash:
        _explain_mismatch(event, computed, before_prev)
    if event.prev_hash != prev:
        raise VerificationError(event.seq, f"prev_hash does not link to seq {event.seq - 1}: "
                                f"expected {prev}, found {event.prev_hash} (events reordered, "
                                "replaced or inserted)", prev, event.prev_hash)
    return canonical


def _explain_mismatch(event: Event, computed: str, before_prev: str) -> None:
    """Raise the most precise VerificationError for an event whose hash does not match."""
    seq = event.seq
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
    """Recomputes the Merkle tree from the events and compares it with the stored hashes."""

    def __init__(self, stored: Iterator[tuple[int, bytes]] | None, capture: Collection[int]) -> None:
        self.frontier: list[tuple[int, bytes]] = []
        self.stored, self.capture = stored, capture
        self.roots: dict[int, bytes] = {}

    def add(self, event: Event, canonical: bytes) -> None:
        size = event.seq - 1
        hashes = new_hashes(size, leaf_hash(canonical), self.frontier)
        if self.stored is not None:
            for offset, computed in enumerate(hashes):
                self._compare(event.seq, stored_count(size) + offset, computed)
        if event.seq in self.capture:
            self.roots[event.seq] = root_from_frontier(self.frontier)

    def _compare(self, seq: int, pos: int, computed: bytes) -> None:
        if self.stored is None:
            return
        found = next(self.stored, None)
        if found is None or found[0] != pos:
            raise VerificationError(seq, f"the stored Merkle tree lacks hash #{pos}", "", "")
        if found[1] != computed and pos == stored_count(seq - 1):
            raise VerificationError(seq, f"the Merkle tree recorded a different event at seq {seq} "
                                    f"(leaf hash {found[1].hex()}, this event gives "
                                    f"{computed.hex()}): an event was inserted or replaced here, "
                                    "or the tree was edited", found[1].hex(), computed.hex())
        if found[1] != computed:
            raise VerificationError(seq, f"stored Merkle tree hash #{pos} is {found[1].hex()}, "
                                    f"the events give {computed.hex()}: the tree was edited",
                                    found[1].hex(), computed.hex())

    def finish(self, size: int) -> None:
        extra = None if self.stored is None else next(self.stored, None)
        if extra is not None:
            raise VerificationError(size + 1, f"the stored Merkle tree has hashes beyond the "
                                    f"{size} events of the log (#{extra[0]}): the tail of the "
                                    "log was truncated", str(size), "")


def verify_events(events: Iterable[Event], progress: Progress | None = None,
                  stored_tree: Iterator[tuple[int, bytes]] | None = None,
                  capture: Collection[int] = (),
                  signatures: Iterator[tuple[int, int, int, str]] | None = None) -> VerifyReport:
    """Return the report for a stream of stored events, stopping at the first bad one.

    Also recomputes the Merkle tree: compares it with ``stored_tree`` (position, hash) when
    given, and records the root at every size in ``capture``. On failure ``events`` and
    ``head_hash`` describe the valid prefix that was checked.
    """
    expected, prev, before_prev = 1, GENESIS_HASH, GENESIS_HASH
    tree = _Tree(stored_tree, capture)
    signed: SignatureCheck | None = None
    try:
        for event in events:
            tree.add(event, check_event(event, expected, prev, before_prev))
            if event.seq == 1 and event.type == "key.added":  # a signed ledger (see keyring)
                from ledger.keyring import SignatureCheck  # loads cryptography: signed only

                signed = SignatureCheck(signatures if signatures is not None else iter(()))
            if signed is not None:
                signed.add(event)
            before_prev, prev = prev, event.hash
            expected += 1
            if progress is not None and expected % 1024 == 0:
                progress(1024)
        tree.finish(expected - 1)
        if signed is not None:
            signed.finish(expected - 1)
    except (CorruptEvent, KeyFormatError) as exc:
        return VerifyReport(False, expected - 1, prev, expected, str(exc))
    except VerificationError as exc:
        return VerifyReport(False, expected - 1, prev, exc.seq, exc.reason)
    return VerifyReport(True, expected - 1, prev, None, None,
                        root_from_frontier(tree.frontier), tree.roots)
