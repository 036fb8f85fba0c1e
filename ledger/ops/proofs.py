"""Signing checkpoints and building proofs from an open ledger connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from ledger.core.checkpoint import (
    Checkpoint,
    format_checkpoint,
    open_checkpoint,
    parse_checkpoint,
)
from ledger.core.encoding import b64
from ledger.core.events import Event, canonical_of
from ledger.core.merkle import (
    HashReader,
    iter_siblings,
    leaf_hash,
    node_hash,
    prove_consistency,
    stored_index,
    subtree_hash,
    tree_root,
)
from ledger.core.merkle_check import check_consistency, check_inclusion
from ledger.core.note import Signer, Verifier, sign_note
from ledger.core.policy import Policy
from ledger.core.progress import Progress
from ledger.errors import CorruptEvent, LedgerError, RefusedInput, SignatureError, VerificationError
from ledger.model.verify import check_extends
from ledger.ops import verification
from ledger.storage import proofstore, store

TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"


StoredCheckpoint = tuple[Checkpoint, str]  # (checkpoint, its signed note)


def stored_checkpoints(conn: sqlite3.Connection) -> tuple[list[StoredCheckpoint], list[str]]:
    """Return the stored checkpoints whose columns agree with their note's body, oldest first,
    and a problem for each row that does not (a row is input: anyone can write the file)."""
    good, problems = [], []
    for row_id, origin, size, root, note in proofstore.checkpoint_rows(conn):
        try:
            if not isinstance(note, str):
                raise SignatureError("the note is not text")
            checkpoint = checkpoint_of_note(note)
        except (SignatureError, RefusedInput) as exc:
            problems.append(f"table checkpoints, row {row_id}: the stored note is not a signed "
                            f"checkpoint ({exc})")
            continue
        if (origin, size, root) != (checkpoint.origin, checkpoint.size, checkpoint.root_b64):
            problems.append(f"table checkpoints, row {row_id}: columns ({origin!r:.40}, {size!r}, "
                            f"{root!r:.50}) differ from its note's ({checkpoint.origin}, "
                            f"{checkpoint.size}, {checkpoint.root_b64})")
            continue
        good.append((checkpoint, note))
    return good, problems


def sign_checkpoint(conn: sqlite3.Connection, signer: Signer, signed_at: str,
                    progress: Progress | None = None, store_it: bool = True,
                    since_signed: bool = False,
                    accept: Callable[[Checkpoint], object] | None = None) -> tuple[str, bool]:
    """Return (signed checkpoint note, whether it is new), inside the caller's write transaction
    (``store_it`` False: a read snapshot will do, and a new note is not stored). ``accept`` is
    given the checkpoint before it is signed or stored and may refuse it (a folder that serves
    another log's, say), so that a refused command stores nothing.

    Verifies the whole log first (chain, and the stored tree against the events) and refuses
    to sign unless the log extends every checkpoint signed before, so this ledger never signs
    two inconsistent checkpoints. A stored checkpoint of this key is trusted only if its
    signature verifies with this key; a stored note is handed out again only then.
    """
    earlier, problems = stored_checkpoints(conn)
    if problems:
        raise CorruptEvent(f"refusing to sign: {problems[0]}: it was edited behind the ledger's back")
    own = Verifier(signer.name, signer.key_id, signer.key.public_key())
    for checkpoint, note in earlier:
        if checkpoint.origin == signer.name:
            try:
                open_checkpoint(note, own)
            except SignatureError as exc:
                raise CorruptEvent(f"refusing to sign: table checkpoints holds a checkpoint of "
                                   f"size {checkpoint.size} for {signer.name} that this key did "
                                   f"not sign ({exc}): another key of that name signed it, "
                                   "or it was forged (sign with the key that signed it, or give "
                                   "this key another name with `ledger keygen`)") from None
    own_sizes = [c.size for c, _ in earlier if c.origin == signer.name]
    head = store.head(conn)[0]
    if since_signed and own_sizes and max(own_sizes) <= head and not store.is_signed(conn):
        # From the last checkpoint this key signed (the whole log was verified then): the
        # events after it, every check of verify; the ones before are fixed by its signed root.
        base = next(c for c, _ in earlier if c.origin == signer.name and c.size == max(own_sizes))
        later = [c for c, _ in earlier if c.size > base.size]
        report = verification.verify_since(conn, base, progress, capture={c.size for c in later})
        read = reader(conn)
        for older, _ in earlier:  # each a prefix of the base, by a proof from the stored tree
            if 0 < older.size <= base.size and older != base:
                try:
                    check_consistency(older.size, base.size, older.root, base.root,
                                      prove_consistency(older.size, base.size, read))
                except LedgerError as exc:
                    raise VerificationError(older.size, f"refusing to sign: the checkpoint of "
                                            f"size {older.size} of {older.origin} is not a prefix "
                                            f"of the one this key signed at {base.size} ({exc})") from None
    else:
        report = verification.verify_stored(conn, progress, capture={c.size for c, _ in earlier})
        later = [c for c, _ in earlier]
    if not report.ok:
        raise report.failure("refusing to sign")
    for stored in later:
        check_extends(report, stored)
    checkpoint = Checkpoint(signer.name, report.events, report.root)
    if accept is not None:
        accept(checkpoint)
    for stored, note in earlier:
        if stored == checkpoint:
            return note, False
    note = sign_note(signer, format_checkpoint(checkpoint))
    if store_it:
        proofstore.insert_checkpoint(conn, checkpoint.origin, checkpoint.size, checkpoint.root_b64,
                                     note, signed_at)
    return note, True


def store_cosigned(conn: sqlite3.Connection, note: str, signed_at: str) -> bool:
    """Store a cosigned checkpoint note (inside a write transaction); return False, storing
    nothing, if a checkpoint of that origin and size is stored already."""
    checkpoint = checkpoint_of_note(note)
    good, _ = stored_checkpoints(conn)
    if any((c.origin, c.size) == (checkpoint.origin, checkpoint.size) for c, _ in good):
        return False
    proofstore.insert_checkpoint(conn, checkpoint.origin, checkpoint.size, checkpoint.root_b64,
                                 note, signed_at)
    return True


def reader(conn: sqlite3.Connection) -> HashReader:
    """Return a HashReader over the stored tree."""
    return lambda positions: proofstore.read_hashes(conn, positions)


def tree_size(conn: sqlite3.Connection, size: int | None) -> int:
    """Return ``size`` (default: the head), refusing one beyond the log."""
    head, _ = store.head(conn)
    if size is None:
        return head
    if not 0 <= size <= head:
        raise RefusedInput(f"size {size} is outside the log (0..{head})")
    return size


@dataclass(frozen=True)
class Inclusion:
    seq: int
    size: int
    leaf: bytes
    proof: list[bytes]
    root: bytes
    canonical: bytes

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "index": self.seq - 1, "size": self.size,
                "leaf_hash": b64(self.leaf), "proof": [b64(h) for h in self.proof],
                "root": b64(self.root)}


def prove(conn: sqlite3.Connection, seq: int, size: int | None = None) -> Inclusion:
    """Return the inclusion proof of event ``seq`` in the tree of ``size`` (default: head)."""
    prover = Prover(conn, size)
    if not 1 <= seq <= prover.size:
        raise RefusedInput(f"seq {seq} is not in a tree of size {prover.size}")
    event = next(store.iter_events(conn, seq - 1, seq), None)
    if event is None:
        raise CorruptEvent(f"seq {seq}: table events does not hold this event (run `ledger verify`)")
    return prover.prove(event)


class Prover:
    """Inclusion proofs of many events in the tree of one size (a site's bundles), inside the
    caller's read snapshot: the stored root at that size is checked against the head once, and
    the stored hashes the proofs share are read once (a bounded cache)."""

    CACHE = 200_000  # hashes kept; the cache starts afresh when it is full
    PROVED = 50_000  # proved nodes kept, each with the siblings above it (at most ~40 hashes)
    BATCH = 2_048  # events proved per pass: the nodes kept grow by at most this many paths

    def __init__(self, conn: sqlite3.Connection, size: int | None = None) -> None:
        self.conn, self.size = conn, tree_size(conn, size)
        self.cache: dict[int, bytes] = {}
        self.subtrees: dict[tuple[int, int], bytes] = {}
        # Nodes a proof led to the root through: (lo, hi) -> (hash, the siblings above it).
        self.proved: dict[tuple[int, int], tuple[bytes, tuple[bytes, ...]]] = {}
        self.memo: dict[bytes, str] = {}  # base64 texts of hashes
        self.root = tree_root(self.size, self.read)
        _check_against_head(conn, self.size, self.root, self.read, lambda: None)

    def read(self, positions: Sequence[int]) -> list[bytes]:
        missing = [p for p in positions if p not in self.cache]
        if missing:
            if len(self.cache) > self.CACHE:
                self.cache.clear()
            self.cache.update(zip(missing, proofstore.read_hashes(self.conn, missing), strict=True))
        return [self.cache[p] for p in positions]

    def text(self, digest: bytes) -> str:
        """Return the base64 text of a hash, memoised (the proofs of a site share most)."""
        found = self.memo.get(digest)
        if found is None:
            if len(self.memo) > self.CACHE:
                self.memo.clear()
            found = self.memo[digest] = b64(digest)
        return found

    def subtree(self, lo: int, hi: int) -> bytes:
        """Return MTH(D[lo:hi]) from the stored hashes, memoised (a bounded cache)."""
        found = self.subtrees.get((lo, hi))
        if found is None:
            if len(self.subtrees) > self.CACHE:
                self.subtrees.clear()
            found = self.subtrees[(lo, hi)] = subtree_hash(lo, hi, self.read)
        return found

    def prove(self, event: Event) -> Inclusion:
        """Return the inclusion proof of a stored event (seq <= size), checked against the
        root; raise CorruptEvent if the stored tree does not hold this event or disagrees."""
        return self.prove_all([event])[0]

    def prove_all(self, events: Sequence[Event]) -> list[Inclusion]:
        """Return the inclusion proofs of stored events (each seq <= size), as ``prove`` does,
        reading their stored leaves in one query.

        Each proof is checked against the root, bottom-up; a node that an earlier proof of this
        prover already led to the root ends the walk when it is met with the same hash, and the
        rest of the proof is that node's (it is the same). Neighbouring events, such as those of
        records next to each other, share all but the lowest few levels."""
        if len(events) > self.BATCH:  # a record of many events: in passes, memory bounded
            return [proof for i in range(0, len(events), self.BATCH)
                    for proof in self.prove_all(events[i:i + self.BATCH])]
        size, root, proved, known = self.size, self.root, self.proved, self.subtrees
        if len(proved) > self.PROVED:  # never within a pass: the walks below rely on it
            proved.clear()
        stored = proofstore.read_hashes(self.conn, [stored_index(0, ev.seq - 1) for ev in events])
        walks = []  # each path's siblings up to the first node already proved (or the root)
        for event in events:
            lo, hi = event.seq - 1, event.seq
            walk = []
            if (lo, hi) not in proved:
                for step in iter_siblings(lo, size):
                    walk.append(step)
                    if step[2]:
                        lo = step[0]
                    else:
                        hi = step[1]
                    if (lo, hi) in proved:
                        break
            walks.append(walk)
        self._prefetch([(lo, hi) for walk in walks for lo, hi, _ in walk])
        subtree, proofs = self.subtree, []
        for event, stored_leaf, walk in zip(events, stored, walks, strict=True):
            seq, canonical = event.seq, canonical_of(event)
            leaf = leaf_hash(canonical)
            if stored_leaf != leaf:
                raise CorruptEvent(f"seq {seq}: the stored Merkle leaf does not match the event: "
                                   "run `ledger verify`")
            h, lo, hi = leaf, seq - 1, seq
            proof: list[bytes] = []
            path = [((lo, hi), h, 0)]  # the nodes this proof leads to the root through
            found = proved.get((lo, hi))
            if found is None:
                for slo, shi, left in walk:
                    sibling = known.get((slo, shi)) or subtree(slo, shi)
                    proof.append(sibling)
                    if left:
                        h, lo = node_hash(sibling, h), slo
                    else:
                        h, hi = node_hash(h, sibling), shi
                    found = proved.get((lo, hi))
                    if found is not None:
                        break
                    path.append(((lo, hi), h, len(proof)))
            if not (h == root if found is None else found[0] == h):
                raise CorruptEvent(f"table tree_hashes: the inclusion proof of seq {seq} built from "
                                   "the stored Merkle tree does not lead to its root: it was edited "
                                   "behind the ledger's back (run `ledger verify`)")
            if found is not None:
                proof += found[1]
            for node, node_h, below in path:
                proved[node] = (node_h, tuple(proof[below:]))
            proofs.append(Inclusion(seq, size, leaf, proof, root, canonical))
        return proofs

    def texts(self, hashes: Sequence[bytes]) -> list[str]:
        """Return the base64 texts of hashes (``text``)."""
        memo, text = self.memo, self.text
        return [memo.get(h) or text(h) for h in hashes]

    def _prefetch(self, ranges: list[tuple[int, int]]) -> None:
        """Read in one query the stored hashes of the complete subtrees among ``ranges`` that are
        not memoised yet (a proof's siblings are complete subtrees but on the right edge)."""
        wanted = {}
        subtrees = self.subtrees
        for lo, hi in ranges:
            width = hi - lo
            if width & (width - 1) == 0 and (lo, hi) not in subtrees:
                level = width.bit_length() - 1
                wanted[(lo, hi)] = stored_index(level, lo >> level)
        if wanted:
            if len(subtrees) > self.CACHE:
                subtrees.clear()
            subtrees.update(zip(wanted, proofstore.read_hashes(self.conn, list(wanted.values())),
                                strict=True))


def _check_against_head(conn: sqlite3.Connection, size: int, root: bytes, read: HashReader,
                        check: Callable[[], None], head_checked: bool = False) -> None:
    """Run ``check`` (a proof against ``root``, the stored root at ``size``) and check that
    root against the stored root of the whole log, which ``verify`` compares with the events:
    a proof built from stored hashes is given out only if it agrees with what verify checks.
    Raises CorruptEvent naming the table otherwise (an interior hash was edited)."""
    head, _ = store.head(conn)
    try:
        check()
        if 0 < size < head and not head_checked:  # every tree extends the empty one
            head_root = tree_root(head, read)
            check_consistency(size, head, root, head_root, prove_consistency(size, head, read))
    except LedgerError as exc:
        raise CorruptEvent(f"table tree_hashes: the stored Merkle tree does not agree with "
                           f"itself ({exc}): it was edited behind the ledger's back (run "
                           "`ledger verify`)") from None


def consistency(conn: sqlite3.Connection, old: int, new: int | None = None) -> dict[str, Any]:
    """Return the consistency proof between tree sizes ``old`` and ``new`` (default: head)."""
    new = tree_size(conn, new)
    if not 1 <= old <= new:
        raise RefusedInput(f"no consistency proof from size {old} to size {new} (need 1 <= OLD <= NEW)")
    read = reader(conn)
    old_root, new_root = tree_root(old, read), tree_root(new, read)
    proof = prove_consistency(old, new, read)
    _check_against_head(conn, new, new_root, read,
                        lambda: check_consistency(old, new, old_root, new_root, proof))
    return {"old_size": old, "size": new, "old_root": b64(old_root), "root": b64(new_root),
            "proof": [b64(h) for h in proof]}


def tlog_proof(inclusion: Inclusion, note: str) -> str:
    """Return the C2SP tlog-proof text: header, extra (the event's canonical bytes), index,
    the proof hashes, a blank line, then the signed checkpoint."""
    lines = [TLOG_PROOF_HEADER, f"extra {b64(inclusion.canonical)}", f"index {inclusion.seq - 1}",
             *(b64(h) for h in inclusion.proof)]
    return "\n".join(lines) + "\n\n" + note


def verify_tlog_proof(text: str, verifier: Verifier, policy: Policy | None = None,
                      ) -> tuple[Checkpoint, int, dict[str, Any], list[str], str | None]:
    """Verify a tlog-proof this ledger wrote: the checkpoint's signature (and with ``policy``,
    its witness quorum), that the extra data is an event envelope at that index (seq = index +
    1), and the inclusion proof of its leaf. Return (checkpoint, index, envelope, witnesses that
    cosigned, the latest time one did: ``policy.witnessed_at``); raise SignatureError or
    VerificationError otherwise."""
    from ledger.core.policy import open_witnessed
    from ledger.core.tlogproof import parse_tlog_proof

    proof = parse_tlog_proof(text)
    checkpoint = open_checkpoint(proof.note, verifier)
    cosigned: list[str] = []
    witnessed = None
    if policy is not None:
        _, cosigned, witnessed = open_witnessed(proof.note, policy, verifier)
    if proof.extra is None:
        raise VerificationError(proof.index + 1, "the tlog-proof has no extra line: the event's "
                                "bytes are needed to compute its leaf")
    try:
        envelope = orjson.loads(proof.extra)
    except orjson.JSONDecodeError:
        envelope = None
    if not isinstance(envelope, dict) or envelope.get("seq") != proof.index + 1:
        raise VerificationError(proof.index + 1, f"the extra data is not the envelope of the event "
                                f"at index {proof.index} (seq {proof.index + 1})")
    try:
        check_inclusion(proof.index, checkpoint.size, leaf_hash(proof.extra), proof.proof,
                        checkpoint.root)
    except LedgerError as exc:
        raise VerificationError(proof.index + 1, f"the inclusion proof against the checkpoint of "
                                f"size {checkpoint.size} fails: {exc}") from None
    return checkpoint, proof.index, envelope, cosigned, witnessed


def checkpoint_of_note(note: str) -> Checkpoint:
    """Return the checkpoint in a signed note without checking the signature."""
    text, sep, _ = note.rpartition("\n\n")
    if not sep:
        raise RefusedInput("not a signed checkpoint note")
    return parse_checkpoint(text + "\n")


def check_root(inclusion: Inclusion, checkpoint: Checkpoint) -> None:
    """Raise VerificationError if the proof's root is not the checkpoint's root."""
    if inclusion.root != checkpoint.root:
        raise VerificationError(checkpoint.size, f"the log's root at size {checkpoint.size} is "
                                f"{b64(inclusion.root)}, the checkpoint says {checkpoint.root_b64}: "
                                "the log does not extend this checkpoint")
