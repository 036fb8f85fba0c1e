"""Chain verification: recompute every hash and link, name the first bad ``seq``.

Pure over an iterator of stored events; the caller streams them from the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from ledger.errors import VerificationError
from ledger.events import GENESIS_HASH, Event, canonical_of, event_hash

Progress = Callable[[int], None]


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of ``verify`` (keys of ``verify --json``)."""

    ok: bool
    events: int
    head_hash: str
    first_bad_seq: int | None
    reason: str | None

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": self.events, "head_hash": self.head_hash,
                "first_bad_seq": self.first_bad_seq, "reason": self.reason}


def hash_as(event: Event, seq: int) -> str:
    """Return the hash ``event`` would have if it were stored at ``seq``."""
    return event_hash(canonical_of(replace(event, seq=seq)))


def check_event(event: Event, expected: int, prev: str, before_prev: str) -> None:
    """Raise VerificationError unless ``event`` is the valid event number ``expected``."""
    if event.seq != expected:
        raise VerificationError(expected, f"event seq {expected} is missing: the next stored "
                                f"event is seq {event.seq} (an event was deleted)",
                                str(expected), str(event.seq))
    computed = event_hash(canonical_of(event))
    if computed != event.hash:
        _explain_mismatch(event, computed, before_prev)
    if event.prev_hash != prev:
        raise VerificationError(event.seq, f"prev_hash does not link to seq {event.seq - 1}: "
                                f"expected {prev}, found {event.prev_hash} (events reordered, "
                                "replaced or inserted)", prev, event.prev_hash)


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


def verify_events(events: Iterable[Event], progress: Progress | None = None) -> VerifyReport:
    """Return the report for a stream of stored events, stopping at the first bad one.

    On failure ``events`` and ``head_hash`` describe the valid prefix that was checked.
    """
    expected, prev, before_prev = 1, GENESIS_HASH, GENESIS_HASH
    try:
        for event in events:
            check_event(event, expected, prev, before_prev)
            before_prev, prev = prev, event.hash
            expected += 1
            if progress is not None and expected % 1024 == 0:
                progress(1024)
    except VerificationError as exc:
        return VerifyReport(False, expected - 1, prev, exc.seq, str(exc))
    return VerifyReport(True, expected - 1, prev, None, None)
