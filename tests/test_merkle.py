"""Merkle tree: RFC 6962 vectors, property tests against a reference tree, forged proofs."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core.merkle import (
    EMPTY_ROOT,
    Frontier,
    ProofError,
    complete_root,
    inclusion_siblings,
    leaf_hash,
    node_hash,
    prove_consistency,
    prove_inclusion,
    stored_count,
    stored_index,
    tree_root,
)
from ledger.core.merkle_check import check_consistency, check_inclusion

VECTORS = Path(__file__).parent / "vectors" / "rfc6962"
INCLUSION = sorted((VECTORS / "inclusion").rglob("*.json"))
CONSISTENCY = sorted((VECTORS / "consistency").rglob("*.json"))


def b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def ids(paths: Sequence[Path]) -> list[str]:
    return [f"{p.parent.name}/{p.stem}" for p in paths]


@pytest.mark.parametrize("path", INCLUSION, ids=ids(INCLUSION))
def test_inclusion_vectors(path: Path) -> None:
    v: dict[str, Any] = orjson.loads(path.read_bytes())
    proof = [b64(p) for p in v["proof"] or []]
    args = (v["leafIdx"], v["treeSize"], b64(v["leafHash"]), proof, b64(v["root"]))
    if v["wantErr"]:
        with pytest.raises(ProofError):
            check_inclusion(*args)
    else:
        check_inclusion(*args)


@pytest.mark.parametrize("path", CONSISTENCY, ids=ids(CONSISTENCY))
def test_consistency_vectors(path: Path) -> None:
    v: dict[str, Any] = orjson.loads(path.read_bytes())
    proof = [b64(p) for p in v["proof"] or []]
    args = (v["size1"], v["size2"], b64(v["root1"]), b64(v["root2"]), proof)
    if v["wantErr"]:
        with pytest.raises(ProofError):
            check_consistency(*args)
    else:
        check_consistency(*args)


def test_there_are_many_vectors() -> None:
    assert len(INCLUSION) > 50 and len(CONSISTENCY) > 50


class Tree:
    """An in-memory tree built through the same append path the store uses."""

    def __init__(self, n: int, leaves: list[bytes] | None = None) -> None:
        self.stored: list[bytes] = []
        self.frontier = Frontier()
        self.leaves = leaves or [leaf_hash(f"leaf {i}".encode()) for i in range(n)]
        self.roots = [EMPTY_ROOT]
        for leaf in self.leaves:
            self.stored += self.frontier.append(leaf)
            self.roots.append(self.frontier.root())

    def read(self, positions: Sequence[int]) -> list[bytes]:
        return [self.stored[p] for p in positions]


def reference_root(leaves: Sequence[bytes]) -> bytes:
    """RFC 6962 MTH, recursively, straight from the definition."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))


def test_stored_layout_matches_the_append_order() -> None:
    tree = Tree(70)
    assert len(tree.stored) == stored_count(70)
    for level in range(7):
        for index in range(70 >> level):
            lo = index << level
            want = reference_root(tree.leaves[lo:lo + (1 << level)])
            assert tree.stored[stored_index(level, index)] == want


@settings(max_examples=150)
@given(st.integers(1, 300), st.data())
def test_proofs_for_random_sizes_verify(size: int, data: st.DataObject) -> None:
    tree = Tree(size)
    assert tree_root(size, tree.read) == reference_root(tree.leaves) == tree.roots[size]
    index = data.draw(st.integers(0, size - 1))
    proof = prove_inclusion(index, size, tree.read)
    check_inclusion(index, size, tree.leaves[index], proof, tree.roots[size])
    old = data.draw(st.integers(1, size))
    cproof = prove_consistency(old, size, tree.read)
    check_consistency(old, size, tree.roots[old], tree.roots[size], cproof)


@settings(max_examples=60)
@given(st.integers(2, 200), st.data())
def test_forged_proofs_fail(size: int, data: st.DataObject) -> None:
    tree = Tree(size)
    index = data.draw(st.integers(0, size - 1))
    proof = prove_inclusion(index, size, tree.read)
    for i in range(len(proof)):
        for bit in (0, 7, 255):
            forged = list(proof)
            forged[i] = bytes(b ^ (1 << (bit % 8)) if j == bit // 8 else b for j, b in enumerate(forged[i]))
            with pytest.raises(ProofError):
                check_inclusion(index, size, tree.leaves[index], forged, tree.roots[size])
    other = (index + 1) % size
    if tree.leaves[other] != tree.leaves[index]:
        with pytest.raises(ProofError):
            check_inclusion(other, size, tree.leaves[index], proof, tree.roots[size])
    old = data.draw(st.integers(1, size - 1))
    cproof = prove_consistency(old, size, tree.read)
    for i in range(len(cproof)):
        forged = list(cproof)
        forged[i] = bytes([forged[i][0] ^ 1]) + forged[i][1:]
        with pytest.raises(ProofError):
            check_consistency(old, size, tree.roots[old], tree.roots[size], forged)
    with pytest.raises(ProofError):
        check_consistency(old, size, tree.roots[old], tree.roots[size], [*cproof, cproof[0]])
    with pytest.raises(ProofError):
        check_consistency(old, size, tree.roots[old], tree.roots[size], cproof[:-1])


def test_every_bit_of_every_proof_hash_matters() -> None:
    tree = Tree(13)
    proof = prove_inclusion(5, 13, tree.read)
    for i in range(len(proof)):
        for bit in range(256):
            forged = list(proof)
            raw = bytearray(forged[i])
            raw[bit // 8] ^= 1 << (bit % 8)
            forged[i] = bytes(raw)
            with pytest.raises(ProofError):
                check_inclusion(5, 13, tree.leaves[5], forged, tree.roots[13])


@pytest.mark.parametrize("forgery", [
    "rollback: the new tree is smaller than the old one",
    "equal sizes, different roots, empty proof",
    "a valid proof replayed for other sizes",
    "a proof from the empty tree",
    "the new root swapped for the old one",
    "a proof for the right sizes against a forked history",
])
def test_forged_consistency_claims(forgery: str) -> None:
    """The immudb GHSA-672p-m5jq-mrh8 class: a server presents a 'consistency proof' whose sizes
    or roots do not correspond, to make a client accept a rewritten or rolled-back history."""
    tree = Tree(20)
    fork = Tree(20, [*tree.leaves[:3], leaf_hash(b"forged"), *tree.leaves[4:]])
    good = prove_consistency(7, 20, tree.read)
    cases = {
        "rollback: the new tree is smaller than the old one": (20, 7, tree.roots[20], tree.roots[7], good),
        "equal sizes, different roots, empty proof": (20, 20, tree.roots[20], fork.roots[20], []),
        "a valid proof replayed for other sizes": (8, 20, tree.roots[8], tree.roots[20], good),
        "a proof from the empty tree": (0, 20, EMPTY_ROOT, tree.roots[20], []),
        "the new root swapped for the old one": (7, 20, tree.roots[7], tree.roots[7], good),
        "a proof for the right sizes against a forked history": (
            7, 20, tree.roots[7], fork.roots[20], prove_consistency(7, 20, fork.read)),
    }
    with pytest.raises(ProofError):
        check_consistency(*cases[forgery])
    check_consistency(7, 20, tree.roots[7], tree.roots[20], good)


@given(sizes=st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=6))
def test_frontier_extend_merges_aligned_blocks(sizes: list[int]) -> None:
    """Blocks of 2**k leaves, each a frontier of its own, merge into the frontier of the whole."""
    leaves = [leaf_hash(bytes([i % 256, i // 256])) for i in range(sum(1 << k for k in sizes))]
    whole, merged, start = Frontier(), Frontier(), 0
    stored = [h for leaf in leaves for h in whole.append(leaf)]
    for k in sorted(sizes, reverse=True):  # larger blocks first keeps every block aligned
        block = Frontier()
        for leaf in leaves[start:start + (1 << k)]:
            block.append(leaf)
        for pos, h in merged.extend(block.nodes):  # the merges: stored where a tree stores them
            assert stored[pos] == h
        start += 1 << k
    assert merged.nodes == whole.nodes and merged.root() == whole.root()
    assert Frontier.of(len(leaves), [h for _, h in whole.nodes]).nodes == whole.nodes


@given(st.integers(0, 40), st.integers(0, 2**44))
def test_stored_index_closed_form_matches_its_definition(level: int, index: int) -> None:
    """``stored_index``'s closed form against its definition: the hashes stored before the last
    leaf n under the subtree (n + n/2 + n/4 + …), then ``level`` more."""
    n = index
    for _ in range(level):
        n = 2 * n + 1
    before, m = 0, n
    while m:
        before, m = before + m, m >> 1
    assert stored_index(level, index) == before + level


def reference_siblings(index: int, lo: int, hi: int) -> list[tuple[int, int, bool]]:
    """The siblings on leaf ``index``'s path, leaf to root, straight from RFC 9162 §2.1.3.1's
    recursion over MTH's split."""
    if hi - lo <= 1:
        return []
    k = 1 << ((hi - lo - 1).bit_length() - 1)
    if index < lo + k:
        return [*reference_siblings(index, lo, lo + k), (lo + k, hi, False)]
    return [*reference_siblings(index, lo + k, hi), (lo, lo + k, True)]


@given(st.integers(1, 2**40), st.data())
def test_inclusion_siblings_follow_the_rfc_recursion(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, size - 1))
    assert inclusion_siblings(index, size) == reference_siblings(index, 0, size)


@given(st.integers(0, 9), st.binary(min_size=1, max_size=8))
def test_complete_root_is_the_rfc_root_of_a_complete_subtree(k: int, seed: bytes) -> None:
    hashes = [leaf_hash(seed + i.to_bytes(2, "big")) for i in range(1 << k)]
    assert complete_root(hashes) == reference_root(hashes)
