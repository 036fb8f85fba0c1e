"""Checking RFC 9162 proofs (§2.1.3.2 inclusion, §2.1.4.2 consistency). Raise ProofError."""

from __future__ import annotations

from collections.abc import Sequence

from ledger.core.merkle import ProofError, node_hash

HASH_SIZE = 32


def _check_sizes(proof: Sequence[bytes]) -> None:
    for i, h in enumerate(proof):
        if len(h) != HASH_SIZE:
            raise ProofError(f"proof[{i}] is {len(h)} bytes, not {HASH_SIZE}")


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """Return the root that ``proof`` gives for ``leaf`` at ``index`` (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    if len(leaf) != HASH_SIZE:
        raise ProofError(f"leaf hash is {len(leaf)} bytes, not {HASH_SIZE}")
    _check_sizes(proof)
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError(f"inclusion proof is too long ({len(proof)} hashes)")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError(f"inclusion proof is too short ({len(proof)} hashes)")
    return r


def check_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Raise ProofError unless ``proof`` shows ``leaf`` at ``index`` in the tree ``root``."""
    computed = root_from_inclusion(index, size, leaf, proof)
    if computed != root:
        raise ProofError(f"inclusion proof gives root {computed.hex()}, expected {root.hex()}",
                         root, computed)


def check_consistency(old: int, new: int, old_root: bytes, new_root: bytes,
                      proof: Sequence[bytes]) -> None:
    """Raise ProofError unless ``proof`` shows tree ``old_root`` is a prefix of ``new_root``."""
    if old < 1 or new < old:
        raise ProofError(f"no consistency proof from size {old} to size {new}")
    if old == new:
        if proof:
            raise ProofError("a proof between equal sizes must be empty")
        if old_root != new_root:
            raise ProofError(f"roots differ at equal size {old}: {old_root.hex()} != {new_root.hex()}")
        return
    if not proof:
        raise ProofError("consistency proof is empty")
    _check_sizes(proof)
    path = list(proof)
    if old & (old - 1) == 0:  # old is a power of two: its root is the first subtree
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError(f"consistency proof is too long ({len(proof)} hashes)")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError(f"consistency proof is too short ({len(proof)} hashes)")
    if fr != old_root:
        raise ProofError(f"consistency proof gives old root {fr.hex()}, expected {old_root.hex()}",
                         old_root, fr)
    if sr != new_root:
        raise ProofError(f"consistency proof gives new root {sr.hex()}, expected {new_root.hex()}",
                         new_root, sr)
