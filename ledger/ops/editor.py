"""An editor's read commands: ``list`` (records by status, tier, level), ``status`` (the head, the
last checkpoint and its cosignatures, what came since) and ``diff`` (a record's manifest, field by
field, between versions and with its corrections). All fold from the events, as ``show`` does."""

from __future__ import annotations

import itertools
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ledger.core.events import Event, hash_of, is_withheld
from ledger.core.progress import Progress
from ledger.errors import (
    CorruptEvent,
    LedgerError,
    RefusedInput,
    UnknownRecord,
    VerificationError,
)
from ledger.model.contracts import RECORD_ID_RE, near_record_ids
from ledger.model.pointer import pointer
from ledger.model.purge import PURGE_TYPE
from ledger.model.state import RecordState, fold_record
from ledger.model.verify import check_record
from ledger.storage import searchindex, store, views
from ledger.storage.views import Shown

if TYPE_CHECKING:  # keys load cryptography: only for a signed ledger
    from ledger.model.keyring import Keyring

LEVELS = ("L1", "L2", "L3", "L4")


def list_records(conn: sqlite3.Connection, status: str | None = None, tier: str | None = None,
                 level: str | None = None, checking: Progress | None = None,
                 progress: Progress | None = None) -> Iterator[Shown]:
    """Yield the show object of every record that matches, by record id (``level`` matches the
    provenance level or the verification level). Every record is folded from its events, so
    the whole log is verified first, as ``export`` verifies it (``checking`` counts its
    events, ``progress`` those folded): an event edited behind the ledger's back refuses the
    list before a record is yielded (VerificationError naming the seq, CorruptEvent the table),
    so no status in it is one an edit of the file made. Call it in one read transaction."""
    from ledger.ops.maintenance import states_by_record
    from ledger.ops.verification import verified

    verified(conn, "refusing to list the records", checking)
    for state in states_by_record(conn, None, progress):
        shown = views.show_of(state)
        if status is not None and shown["status"] != status:
            continue
        if tier is not None and (shown["quality_tier"] or "").lower() != tier.lower():
            continue
        if level is not None and level not in (shown["provenance_level"], shown["verification_level"]):
            continue
        yield shown


def status_report(conn: sqlite3.Connection) -> dict[str, Any]:
    """Return the head, the counts, the last stored checkpoint with the key ids that signed it
    for its origin (what a reader compares with the key a site's page names) and the names of
    the other keys that signed it (witnesses' cosignatures), all unchecked here (`verify
    --checkpoint`, `--policy` check them), and how many events came after it. The head event
    is checked as ``log`` checks an event (VerificationError, CorruptEvent: ``checked_log``)."""
    from ledger.core.note import key_label, signature_lines
    from ledger.ops.proofs import stored_checkpoints

    seq, head_hash = store.head(conn)
    # the head it names is the head event's own hash, never an edit of the file's
    list(checked_log(conn, itertools.islice(store.iter_events_back(conn, 0, seq, 1), 1),
                     "show the status"))
    good, problems = stored_checkpoints(conn)
    last = None
    if good:
        checkpoint, note = max(good, key=lambda item: item[0].size)
        _, lines = signature_lines(note)
        last = {"origin": checkpoint.origin, "size": checkpoint.size, "root": checkpoint.root_b64,
                "signed_by": sorted({key_label(name, int.from_bytes(raw[:4], "big"))
                                     for name, raw in lines
                                     if name == checkpoint.origin}),
                "cosigned_by": sorted({name for name, _ in lines if name != checkpoint.origin}),
                "events_since": seq - checkpoint.size}
    return {"head_seq": seq, "head_hash": head_hash, "event_format": store.event_format(conn),
            "records": store.count_records(conn, seq), "checkpoints": len(good),
            "last_checkpoint": last, "checkpoint_problems": problems,
            "mirror_of": store.meta(conn, "mirror_of")}


Span = tuple[int, Any, Any]  # (events, least seq, greatest seq): ``store.seq_span``


def checked_events(conn: sqlite3.Connection, record_id: str, doing: str,
                   span: Span | None = None) -> list[Event]:
    """Return a record's events, oldest first, each checked as far as it can be without reading
    the whole log (``verify.check_record``): what a reader is shown of a record is never what
    an edit of the file behind the ledger's back made it, as far as that can be told without
    reading every event: an event of the record edited, deleted or moved is found; one given
    another record id is found by ``verify``. Raise VerificationError naming the seq
    (CorruptEvent naming the table, for a seq missing elsewhere in the log), ``refusing to
    {doing} {record_id}: …``, on one such edit. ``span``: the table's, when the caller read
    it in the same read transaction (one pass over an index: read once for many records)."""
    events = store.record_events(conn, record_id)
    check_events(conn, record_id, events, doing, span)
    return events


def check_events(conn: sqlite3.Connection, record_id: str, events: Sequence[Event], doing: str,
                 span: Span | None = None, signatures: bool | Signing = True) -> None:
    """Check a record's events, read by the caller (all of them, oldest first), as
    ``checked_events`` does; raise as it does. ``signatures=False``: the caller verified the
    whole log in this read transaction, its signatures with it; a ``Signing``: of the
    caller's keyring, read and checked as an append checks it (a writer's batch)."""
    refusing = f"refusing to {doing} {record_id}"
    head = _whole_table(conn, span, refusing)[2]
    links, leaves = store.record_links(conn, [event.seq for event in events])
    _check(events, links, leaves, head, refusing)
    if signatures is not False:
        _check_signed(conn, events, refusing,
                      _signing(conn, refusing) if signatures is True else signatures)


def _whole_table(conn: sqlite3.Connection, span: Span | None, refusing: str) -> Span:
    """Return the table's span (read now if not given), refusing (CorruptEvent) a table that
    does not hold exactly seqs 1 to its head."""
    count, least, head = span or store.seq_span(conn)
    if count and (least, head) != (1, count):
        raise CorruptEvent(f"table events: {refusing}: it holds {count} event(s) from seq "
                           f"{least} to seq {head}, not seqs 1 to {head}: an event was deleted "
                           "or added behind the ledger's back (run `ledger audit`, which names "
                           "it)", table="events")
    return count, least, head


def _check(events: Sequence[Event], links: dict[int, Any], leaves: dict[int, Any],
           head: Any, refusing: str, members: bool = True) -> None:
    """``check_record``, its VerificationError said as ``{refusing}: {reason}``."""
    try:
        check_record(events, links, leaves, head or 0, members)
    except VerificationError as exc:
        raise VerificationError(exc.seq, f"{refusing}: {exc.reason} (run `ledger audit`)",
                                exc.expected, exc.computed) from None


def checked_log(conn: sqlite3.Connection, events: Iterable[Event],
                doing: str = "show the log") -> Iterator[Event]:
    """Yield ``events`` (any of the log's, in seq order), each checked before it is yielded as
    ``checked_events`` checks a record's (its hash, members, tree leaf, the next event's link;
    the table holding seqs 1 to the head, once): what ``log`` prints of an event is never what
    an edit of the file made it. An event with a withheld member is checked with its whole
    record, whose purge must withhold it, and so is a purge, with the removal it names. Raise
    as ``checked_events`` does, ``refusing to {doing}: …``."""
    span = _whole_table(conn, None, f"refusing to {doing}")
    signing = _signing(conn, f"refusing to {doing}")
    purged: set[str] = set()  # records checked whole, for their withheld members
    for batch in _batches(events, 400):
        links, leaves = store.record_links(conn, [event.seq for event in batch])
        for event in batch:
            payload = event.payload if isinstance(event.payload, dict) else {}
            if event.type == PURGE_TYPE or any(is_withheld(v) for v in payload.values()):
                if event.record_id not in purged:
                    check_events(conn, event.record_id, store.record_events(conn, event.record_id),
                                 f"{doing} of", span)
                    purged.add(event.record_id)
            else:
                _check([event], links, leaves, span[2], f"refusing to {doing}")
            if signing is not None:
                _check_signed(conn, [event], f"refusing to {doing}", signing)
            yield event


@dataclass
class Signing:
    """What checks a signed ledger's events for a reader: its keyring (each key event checked as
    an append checks it), whose history says which key was in force when, and the batches
    proven so far, {first seq: last}."""

    keyring: Keyring
    proven: dict[int, int] = field(default_factory=dict)


def _signing(conn: sqlite3.Connection, refusing: str) -> Signing | None:
    """Return what checks the signatures of this ledger's events, None if it takes none (its
    seq 1, checked as a record's event is, is no ``key.added``): the same for every record of one
    reading (a site's, a log's), so it is kept with the connection while the file is unchanged
    (``store.file_state``)."""
    state = store.file_state(conn)
    kept = getattr(conn, "derived", None)
    if kept is not None and kept[0] == state and (kept[1] is None or isinstance(kept[1], Signing)):
        return kept[1]
    seq = state[0]
    first = next(store.iter_events(conn, 0, 1), None)
    signing = None
    if first is not None:  # seq 1 says whether signatures are required: no edit turns them off
        links, leaves = store.record_links(conn, [1])
        _check([first], links, leaves, seq, refusing, members=False)
    if first is not None and first.type == "key.added":
        from ledger.ops.batch import load_keyring

        try:  # every key event's payload and signature, as an append checks them
            signing = Signing(load_keyring(conn))
        except CorruptEvent as exc:  # its words start with the key event's seq
            said = str(exc).removeprefix(f"seq {exc.seq}: ").replace(", nothing is appended", "")
            raise CorruptEvent(f"seq {exc.seq}: {refusing}: {said}" if exc.seq is not None
                               else f"{refusing}: {exc}", exc.seq) from None
    if isinstance(conn, store.LedgerConnection):
        conn.derived = (state, signing)
    return signing


def _check_signed(conn: sqlite3.Connection, events: Sequence[Event], refusing: str,
                  signing: Signing | None) -> None:
    """In a signed ledger, check that each of ``events`` (each checked by ``_check`` already) is
    signed as ``verify`` requires: covered by a batch signature that verifies, by a key in force
    when the batch began, over a chain of unaltered events from it to the batch's last, whose
    actors are that key's name. A record's events do not show that an event was appended
    without a key (its hash, link and tree right): this does. Raise VerificationError naming
    the seq, ``{refusing}: …``. ``signing``: ``_signing``'s (None: the ledger takes none)."""
    if signing is None:
        return
    from ledger.model.keyring import (
        UNSIGNED,
        batch_unproven,
        entry_at,
        signature_holds,
        signer_problem,
        well_formed,
    )
    from ledger.storage.proofstore import signature_covering

    for event in events:
        row = signature_covering(conn, event.seq)
        if row is None or not well_formed(row) or not row[0] <= event.seq <= row[1]:
            raise VerificationError(event.seq, f"{refusing}: {UNSIGNED} (run `ledger audit`)")
        first, last, key_id, signature = row
        entry = entry_at(signing.keyring, key_id, first)
        problem = signer_problem(entry, event, key_id, False)
        if problem is not None:
            raise VerificationError(event.seq, f"{refusing}: {problem} (run `ledger audit`)")
        if signing.proven.get(first) != last:
            chain = list(store.iter_events(conn, first - 1, last))
            if not (len(chain) == last - first + 1 and chain[0].seq == first
                    and chain[-1].seq == last
                    and all(b.prev_hash == a.hash for a, b in itertools.pairwise(chain))
                    and all(hash_of(e) == e.hash for e in chain)
                    and signature_holds(entry, first, last, chain[-1].hash, signature)):
                raise VerificationError(event.seq, f"{refusing}: "
                                        f"{batch_unproven(first, last)} (run `ledger audit`)")
            signing.proven[first] = last


def _batches(items: Iterable[Event], size: int) -> Iterator[list[Event]]:
    """``items`` in lists of ``size`` (the last shorter): ``itertools.batched`` before 3.12."""
    it = iter(items)
    while batch := list(itertools.islice(it, size)):
        yield batch


def record_state(conn: sqlite3.Connection, record_id: str, doing: str = "show",
                 span: Span | None = None) -> RecordState:
    """Return a record's current state, folded from its checked events (``checked_events``)."""
    state = fold_record(checked_events(conn, record_id, doing, span))
    if state is None:
        raise unknown_record(conn, record_id)
    return state


HEX_DIGITS = re.compile(r"[0-9A-Fa-f]{8}")  # fullmatch: a record id's digits alone


def records_with_digits(conn: sqlite3.Connection, digits: str) -> list[str]:
    """Return the ids of the ledger's records whose 8 hex digits are ``digits``, any prefix."""
    return store.existing_record_ids(conn, [f"{p}:{digits.upper()}"
                                            for p in store.record_prefixes(conn)])


def with_the_digits(conn: sqlite3.Connection, exc: RefusedInput, given: object) -> RefusedInput:
    """Return the refusal of a malformed record id ``given``, naming the ledger's records whose
    digits it is when it is only the 8 hex digits (`ledger show 03BE3A05`)."""
    if isinstance(given, str) and HEX_DIGITS.fullmatch(given.strip()):
        found = records_with_digits(conn, given.strip())
        if found:
            return RefusedInput(f"{exc}; in this ledger: {' or '.join(found)}")
    return exc


def unknown_record(conn: sqlite3.Connection, record_id: str, then: str = "") -> UnknownRecord:
    """The refusal of a record id no event names, with the ids of the ledger's records one typing
    slip away from it (a digit changed or two swapped, or the same digits under another
    prefix): an editor who typed SRCH:03BE3A0F is told of SRCH:03BE3A05."""
    if not RECORD_ID_RE.fullmatch(record_id):  # read from a cache the file's writer may edit
        return UnknownRecord(record_id, (), then)
    similar = store.existing_record_ids(conn, near_record_ids(record_id))
    similar += [rid for rid in records_with_digits(conn, record_id.split(":")[1])
                if rid != record_id]
    return UnknownRecord(record_id, tuple(similar[:3]), then)


def diff(state: RecordState, old: int | None = None, new: int | None = None
         ) -> tuple[str, str, list[dict[str, Any]]]:
    """Return (what the old side is, what the new side is, changes) for a record's manifest.

    No version: the latest published version against the current manifest (what corrections
    changed since); ``old`` alone: that version against the current manifest; both: the two
    published versions. A change is {"path": JSON Pointer, "old": …, "new": …}, ``old`` or ``new``
    absent when the member was added or removed; against the current manifest, "by" lists what
    since the old side touched that member, in order: corrections (their notice ids) and later
    versions (``version 2``)."""
    count = state.version

    def version(n: int) -> dict[str, Any]:
        if not 1 <= n <= count:
            raise RefusedInput(f"{state.record_id} has versions 1..{count}, not {n}")
        return state.versions[n - 1].manifest

    if old is None:
        left, left_label = version(count), f"version {count} as published"
    else:
        left, left_label = version(old), f"version {old} as published"
    if new is None:
        right, right_label = state.manifest, f"the current manifest (version {count} with its corrections)"
    else:
        right, right_label = version(new), f"version {new} as published"
    changes = list(manifest_changes(left, right))
    if new is None:  # which corrections (and later versions) since the old side touched each
        start = old or count
        since = state.versions[start - 1].seq
        touched = [(n.seq, n.notice_id, [str(c.get("path")) for c in n.payload["changes"]
                                         if isinstance(c, dict)])
                   for n in state.notices
                   if n.seq > since and isinstance(n.payload.get("changes"), list)]
        touched += [(v.seq, f"version {v.version}",
                     [str(c["path"]) for c in manifest_changes(version(v.version - 1), v.manifest)])
                    for v in state.versions[start:]]
        touched.sort(key=lambda t: t[0])
        for change in changes:
            by = [who for _seq, who, paths in touched
                  if any(_nested(p, change["path"]) for p in paths)]
            if by:
                change["by"] = by
    return left_label, right_label, changes


def _nested(a: str, b: str) -> bool:
    """Return whether JSON Pointers ``a`` and ``b`` are the same member or one holds the other."""
    return a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/")


def manifest_changes(old: Any, new: Any, path: str = "") -> Iterator[dict[str, Any]]:
    """Yield what differs between two manifests, member by member: {"path": JSON Pointer,
    "old": …, "new": …}, ``old`` or ``new`` absent when the member was added or removed."""
    if isinstance(old, dict) and isinstance(new, dict) and not is_withheld(old) and not is_withheld(new):
        for key in sorted(set(old) | set(new)):
            where = path + pointer([key])
            if key not in new:
                yield {"path": where, "old": old[key]}
            elif key not in old:
                yield {"path": where, "new": new[key]}
            else:
                yield from manifest_changes(old[key], new[key], where)
    elif old != new or type(old) is not type(new):
        yield {"path": path or "/", "old": old, "new": new}


def search(conn: sqlite3.Connection, text: str, limit: int = 20,
           progress: Progress | None = None) -> list[dict[str, Any]]:
    """Return the records whose title, research question, abstract or notice reasons hold every
    word of ``text`` (SQLite FTS5; a word may end in * for a prefix), best first. The index is
    brought up to date first (inside a write transaction: it is a table of the file);
    ``progress`` counts the events read when it is made anew from all of them."""
    words = [w for w in text.split() if w.strip('"*')]
    if not words:
        raise RefusedInput("search: give at least one word")
    query = " ".join('"' + w.rstrip("*").replace('"', '""') + '"' + ("*" if w.endswith("*") else "")
                     for w in words)
    if store.is_read_only(conn):  # a copy on read-only media: the index is made in memory
        with store.read_snapshot(conn):
            return _verified_hits(conn, _in_memory_hits(conn, query, limit, progress), words, limit)
    with store.write_transaction(conn):
        try:
            found = _stored_hits(conn, query, limit, progress)
        except sqlite3.DatabaseError:  # a table of the index edited so that SQLite cannot use it
            try:
                searchindex.drop(conn)
                found = _stored_hits(conn, query, limit, progress)
            except sqlite3.DatabaseError:  # nor drop it (its module renamed): made in memory
                found = _in_memory_hits(conn, query, limit, progress)
        return _verified_hits(conn, found, words, limit)


def _in_memory_hits(conn: sqlite3.Connection, query: str, limit: int,
                    progress: Progress | None) -> list[dict[str, Any]]:
    """Search an index made anew in memory from the events (nothing written to the file)."""
    index = searchindex.in_memory()
    try:
        _made_anew(conn, index, store.head(conn)[0], progress)
        return searchindex.search(index, query, limit * 2)
    finally:
        index.close()


def _made_anew(conn: sqlite3.Connection, index: sqlite3.Connection, head: int,
               progress: Progress | None) -> None:
    """Make the search index in ``index`` anew from every record's events up to ``head``."""
    from ledger.ops.maintenance import states_by_record
    states = states_by_record(conn, head, progress)
    searchindex.update(index, map(searchindex.document, states), head, True)


def _stored_hits(conn: sqlite3.Connection, query: str, limit: int,
                 progress: Progress | None) -> list[dict[str, Any]]:
    """Search the file's index, brought up to date first (inside the caller's write
    transaction)."""
    head = store.head(conn)[0]
    indexed = searchindex.indexed_seq(conn)
    if indexed is not None and not searchindex.usable(conn):
        indexed = None  # its tables changed: it might find nothing, or something else
    if indexed is None or indexed > head:
        _made_anew(conn, conn, head, progress)
    elif indexed < head:
        changed = sorted({e.record_id for e in store.iter_events(conn, indexed, head)
                          if not e.record_id.startswith("KEY:")})
        # the index is a cache whose every hit is read again, checked (``_verified_hits``)
        searchindex.update(conn, (searchindex.document(state) for rid in changed
                                  if (state := fold_record(store.record_events(conn, rid)))),
                           head, False)
    found = searchindex.search(conn, query, limit * 2)
    named = [hit["record_id"] for hit in found]
    if not all(isinstance(rid, str) for rid in named) or (
            len(store.existing_record_ids(conn, named)) != len(set(named))):
        # An index brought up to date names only records: this one was edited. Made anew
        # from the events, it finds what the edit hid.
        _made_anew(conn, conn, head, progress)
        found = searchindex.search(conn, query, limit * 2)
    return found


def _verified_hits(conn: sqlite3.Connection, found: list[dict[str, Any]], words: list[str],
                   limit: int) -> list[dict[str, Any]]:
    """The index is a table anyone who can write the file can edit: each hit is read again from
    its events, and kept only if that verified text holds every word (titles and snippets too)."""
    hits, span = [], store.seq_span(conn)
    for hit in found:
        try:
            state = record_state(conn, str(hit["record_id"]), span=span)
        except (VerificationError, CorruptEvent):
            raise  # an event edited behind the ledger's back: said, not a hit silently left out
        except LedgerError:
            continue
        doc = searchindex.document(state)
        snippet = _snippet(doc, _tokens(words))
        if snippet is not None:
            hits.append({"record_id": state.record_id, "title": doc["title"], "snippet": snippet,
                         "rank": hit["rank"]})
    return hits[:limit]


def _tokens(words: list[str]) -> list[str]:
    """The words of a query as the index's tokenizer (FTS5 unicode61) reads them: letters and
    digits, in lower case, split at anything else, so that `ExpertFlow’s` with a typographic
    apostrophe, as a page shows it, finds the `ExpertFlow's` a manifest holds."""
    return [token for word in words for token in re.findall(r"\w+", word.lower())]


def _snippet(doc: dict[str, Any], words: list[str]) -> str | None:
    """Return a short excerpt of the first field holding the first word, the words bracketed,
    or None unless every word (as a prefix of a word) is in the record's text."""
    text = " ".join(doc[c] for c in ("title", "research_question", "abstract", "reasons"))
    lowered = text.lower()
    if not all(re.search(r"\b" + re.escape(w), lowered) for w in words):
        return None
    first = re.search(r"\b" + re.escape(words[0]), lowered)
    assert first is not None
    start = max(0, first.start() - 60)
    excerpt = text[start:first.start() + 100]
    for word in (w for w in words if len(w) > 1):  # a lone letter would mark half the words
        excerpt = re.sub(r"\b(" + re.escape(word) + r"\w*)", r"[\1]", excerpt, flags=re.IGNORECASE)
    return ("…" if start else "") + excerpt.strip() + ("…" if first.start() + 100 < len(text) else "")
