"""RFC 6962 / RFC 9162 Merkle tree: hashes, stored-hash layout, proofs and their checks.

Pure: storage comes in through a ``HashReader`` (one method: read stored hashes by position).

Leaf i (0-based) is event seq = i + 1; its data is the event's canonical bytes (see
``ledger.events``), without the event-hash prefix:

    leaf_hash(d)    = SHA-256(0x00 || d)          RFC 6962 §2.1
    node_hash(l, r) = SHA-256(0x01 || l || r)
    root(empty)     = SHA-256("")

Stored layout: every complete subtree hash, at level L (2**L leaves) and index k (leaves
k·2**L … (k+1)·2**L − 1), is stored at position ``stored_index(L, k)``: the order in which an
append-only writer produces them (leaf n's level-0 hash, then each subtree it completes), so the
table only ever grows at its end and a tree of n leaves holds exactly 2n − popcount(n) hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence

from ledger.errors import LedgerError

EMPTY_ROOT = hashlib.sha256(b"").digest()
HashReader = Callable[[Sequence[int]], list[bytes]]  # positions -> hashes, in that order


class ProofError(LedgerError):
    """A proof does not verify, or cannot be made; says what was expected. ``expected`` and
    ``computed`` are the two roots when a proof leads to another root (else empty)."""

    def __init__(self, message: str, expected: bytes = b"", computed: bytes = b"") -> None:
        self.expected, self.computed = expected, computed
        super().__init__(message)


def leaf_hash(data: bytes) -> bytes:
    """Return SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def complete_root(hashes: Sequence[bytes]) -> bytes:
    """Return the root of a complete subtree from its 2^k hashes at one height, left to right
    (RFC 6962: each pair hashed into its parent, level by level)."""
    level = list(hashes)
    while len(level) > 1:
        level = [node_hash(left, right) for left, right in zip(level[::2], level[1::2], strict=True)]
    return level[0]


def stored_index(level: int, index: int) -> int:
    """Return the position of the level-``level`` hash number ``index`` in the stored order."""
    n = ((index + 1) << level) - 1  # the last leaf under that subtree
    # Hashes stored before leaf n: n + n/2 + n/4 + … (each complete subtree below it, once),
    # which is 2n − popcount(n); then the subtree's own hashes from leaf n up to ``level``.
    return 2 * n - n.bit_count() + level


def stored_count(size: int) -> int:
    """Return how many hashes a tree of ``size`` leaves stores: 2·size − popcount(size)."""
    return 2 * size - bin(size).count("1")


class Frontier:
    """A compact range: (level, hash) of the complete subtrees of a tree, largest first.

    Everything that grows or checks the tree goes through it: an append (``append`` gives the
    hashes to store, in stored order), a verifier recomputing the tree, and the merge of the
    blocks that helper processes verify (``extend``). The hot loop of ``verify`` inlines
    ``append`` over a plain list of hashes and hands it back with ``of``.
    """

    __slots__ = ("nodes",)

    def __init__(self, nodes: Iterable[tuple[int, bytes]] = ()) -> None:
        self.nodes = list(nodes)

    @classmethod
    def of(cls, size: int, hashes: Sequence[bytes]) -> Frontier:
        """Return the frontier of a tree of ``size`` leaves whose complete subtrees, largest
        first, have ``hashes``."""
        return cls(zip(levels(size), hashes, strict=True))

    def append(self, leaf: bytes) -> list[bytes]:
        """Add a leaf hash; return the hashes a tree stores for it: the leaf, then each subtree
        it completes (as Go's ``sumdb/tlog`` does)."""
        nodes, out, h, level = self.nodes, [leaf], leaf, 0
        while nodes and nodes[-1][0] == level:
            h = node_hash(nodes.pop()[1], h)
            level += 1
            out.append(h)
        nodes.append((level, h))
        return out

    def extend(self, later: Iterable[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
        """Add the complete subtrees of the leaves that follow (a block aligned on its size,
        whose levels are below every level here), merging equal levels; return (stored
        position, hash) of each node the merging makes, in stored order."""
        nodes, made = self.nodes, []
        end = sum(1 << level for level, _ in nodes)  # leaves so far
        for level, h in later:
            nodes.append((level, h))
            end += 1 << level
            while len(nodes) > 1 and nodes[-2][0] == nodes[-1][0]:
                (lvl, left), (_, right) = nodes[-2], nodes.pop()
                nodes[-1] = (lvl + 1, node_hash(left, right))  # the subtree that ends at ``end``
                made.append((stored_index(lvl + 1, (end >> (lvl + 1)) - 1), nodes[-1][1]))
        return made

    def root(self) -> bytes:
        """Return the RFC 6962 root of the tree (SHA-256 of nothing for an empty tree)."""
        if not self.nodes:
            return EMPTY_ROOT
        h = self.nodes[-1][1]
        for _, left in reversed(self.nodes[:-1]):
            h = node_hash(left, h)
        return h

    def copy(self) -> Frontier:
        return Frontier(self.nodes)


def levels(size: int) -> list[int]:
    """Return the levels of the complete subtrees of a tree of ``size`` leaves, largest first."""
    return [level for level in range(size.bit_length() - 1, -1, -1) if size >> level & 1]


def frontier_positions(size: int) -> list[tuple[int, int]]:
    """Return (level, index) of the complete subtrees that make up a tree of ``size`` leaves."""
    out, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            out.append((level, start >> level))
            start += 1 << level
    return out


def subtree_hash(lo: int, hi: int, read: HashReader) -> bytes:
    """Return MTH(D[lo:hi]). Requires 0 <= lo < hi and lo a multiple of the largest power of
    two below hi − lo (true of every range an RFC 6962 proof asks for)."""
    parts: list[tuple[int, int]] = []
    start = lo
    while start < hi:
        level = (hi - start).bit_length() - 1
        while start & ((1 << level) - 1):
            level -= 1
        parts.append((level, start >> level))
        start += 1 << level
    hashes = read([stored_index(level, index) for level, index in parts])
    h = hashes[-1]
    for left in reversed(hashes[:-1]):
        h = node_hash(left, h)
    return h


def tree_root(size: int, read: HashReader) -> bytes:
    """Return the root of the first ``size`` leaves: O(log size) reads."""
    return EMPTY_ROOT if size == 0 else subtree_hash(0, size, read)


def _split(n: int) -> int:
    """Return the largest power of two strictly below n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_siblings(index: int, size: int) -> list[tuple[int, int, bool]]:
    """Return, leaf to root, the sibling of each node on the path from leaf ``index`` of a tree
    of ``size`` as (lo, hi, left): its range of leaves, and whether it is the left one
    (``iter_siblings``)."""
    return list(iter_siblings(index, size))


def iter_siblings(index: int, size: int) -> Iterator[tuple[int, int, bool]]:
    """Yield, leaf to root, the sibling of each node on the path from leaf ``index`` of a tree
    of ``size`` as (lo, hi, left), so that a walk may stop early.

    The nodes at height h are the aligned runs of 2^h leaves (the last one cut at ``size``); a
    node that is the last of its height and an even one has no sibling there and is carried up
    as it is (RFC 9162 §2.1.3.2 walks the same bits to verify a proof).
    """
    node, last, level = index, size - 1, 0
    while last:
        if node & 1:
            yield (node - 1) << level, node << level, True
        elif node < last:
            hi = (node + 2) << level
            yield (node + 1) << level, hi if hi < size else size, False
        node, last, level = node >> 1, last >> 1, level + 1


def prove_inclusion(index: int, size: int, read: HashReader) -> list[bytes]:
    """Return the RFC 9162 §2.1.3.1 inclusion proof of leaf ``index`` in a tree of ``size``:
    the siblings on its path (``inclusion_siblings``), leaf to root.

    Requires 0 <= index < size.
    """
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    return [subtree_hash(lo, hi, read) for lo, hi, _ in inclusion_siblings(index, size)]


def prove_consistency(old: int, new: int, read: HashReader) -> list[bytes]:
    """Return the RFC 9162 §2.1.4.1 consistency proof between tree sizes ``old`` and ``new``.

    Requires 0 < old <= new.
    """
    if not 0 < old <= new:
        raise ProofError(f"no consistency proof from size {old} to size {new}")
    proof: list[bytes] = []
    lo, hi, m, complete = 0, new, old, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            proof.append(subtree_hash(lo + k, hi, read))
            hi = lo + k
        else:
            proof.append(subtree_hash(lo, lo + k, read))
            lo, m, complete = lo + k, m - k, False
    if not complete:
        proof.append(subtree_hash(lo, hi, read))
    return proof[::-1]
