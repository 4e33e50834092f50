"""The registry's Merkle tree over anchored record ids. Pure: no I/O, no web3.

This reproduces ``ProvenanceRegistry.anchorRuns`` / ``verifyAnchored`` exactly (OpenZeppelin
``MerkleProof`` convention):

- leaf(id)     = keccak256(keccak256(abi.encode(bytes32 id))) = keccak(keccak(id)) for a 32-byte id;
- node(a, b)   = keccak256(min(a, b) || max(a, b)) (the pair is sorted as bytes, so a proof carries
  no left/right flags);
- the tree is built level by level in the given leaf order; at every level an odd last node is
  carried up unchanged (it gets no sibling, so its proof has one element fewer).

:func:`merkle_root`, :func:`merkle_proof` and :func:`verify_proof` work on leaves that are already
hashed; the ``*_of_ids`` / ``*_of_id`` helpers take the raw 32-byte record ids and apply the leaf
hash. Leaves are not deduplicated: the same id twice is two leaves, as on chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from provenance_ledger.core.hashing import keccak
from provenance_ledger.errors import ValidationError

__all__ = [
    "MAX_PROOF_DEPTH",
    "AnchorProof",
    "hash_pair",
    "leaf_hash",
    "merkle_levels",
    "merkle_levels_of_ids",
    "merkle_proof",
    "merkle_proof_of_id",
    "merkle_root",
    "merkle_root_of_ids",
    "proof_from_levels",
    "verify_proof",
    "verify_proof_of_id",
]

MAX_PROOF_DEPTH = 32
"""Sibling hashes in an anchored-parent proof (the registry's limit)."""


def _check32(value: object, field: str) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        got = f"{len(value)} bytes" if isinstance(value, bytes | bytearray) else repr(value)
        raise ValidationError(field, f"must be 32 bytes, got {got}")
    return bytes(value)


def _check_leaves(leaves: Iterable[object], field: str) -> list[bytes]:
    if isinstance(leaves, bytes | bytearray | str):
        raise ValidationError(field, "must be a sequence of 32-byte values, not a single value")
    out = [_check32(x, f"{field}[{i}]") for i, x in enumerate(leaves)]
    if not out:
        raise ValidationError(field, "must not be empty")
    return out


def leaf_hash(value: bytes) -> bytes:
    """The leaf of a 32-byte value: ``keccak256(keccak256(abi.encode(bytes32 value)))``."""
    return keccak(keccak(_check32(value, "value")))


def hash_pair(a: bytes, b: bytes) -> bytes:
    """An internal node: keccak256 of the two 32-byte children, smaller (as bytes) first."""
    return keccak(a + b) if a < b else keccak(b + a)


def _next_level(level: list[bytes]) -> list[bytes]:
    up = [hash_pair(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
    if len(level) % 2:
        up.append(level[-1])  # odd last node carried up unchanged
    return up


def merkle_levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the tree over already-hashed ``leaves``: the leaves first, ``[root]`` last."""
    levels = [_check_leaves(leaves, "leaves")]
    while len(levels[-1]) > 1:
        levels.append(_next_level(levels[-1]))
    return levels


def proof_from_levels(levels: Sequence[Sequence[bytes]], index: int) -> list[bytes]:
    """Sibling hashes from leaf ``index`` up to the root (levels where the node is carried up add none)."""
    width = len(levels[0])
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < width:
        raise ValidationError("index", f"must be an integer in 0..{width - 1}, got {index!r}")
    proof: list[bytes] = []
    for level in levels[:-1]:
        if index ^ 1 < len(level):
            proof.append(level[index ^ 1])
        index //= 2
    return proof


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """Root of already-hashed 32-byte ``leaves`` in the given order (a single leaf is its own root)."""
    return merkle_levels(leaves)[-1][0]


def merkle_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """Sibling hashes from leaf ``index`` up to the root (levels where the node is carried up add none)."""
    return proof_from_levels(merkle_levels(leaves), index)


def verify_proof(root: bytes, leaf: bytes, proof: Sequence[bytes]) -> bool:
    """True when folding ``proof`` into the already-hashed ``leaf`` with sorted pairs yields ``root``."""
    node = _check32(leaf, "leaf")
    for i, sibling in enumerate(proof):
        node = hash_pair(node, _check32(sibling, f"proof[{i}]"))
    return node == _check32(root, "root")


def merkle_levels_of_ids(ids: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the tree ``anchorRuns`` builds over raw record ids (leaf-hashed first)."""
    return merkle_levels([leaf_hash(x) for x in _check_leaves(ids, "ids")])


def merkle_root_of_ids(ids: Sequence[bytes]) -> bytes:
    """Root of raw 32-byte record ids, as ``anchorRuns`` stores it."""
    return merkle_root([leaf_hash(x) for x in _check_leaves(ids, "ids")])


def merkle_proof_of_id(ids: Sequence[bytes], index: int) -> list[bytes]:
    """Proof for ``ids[index]`` under :func:`merkle_root_of_ids` (what ``verifyAnchored`` takes)."""
    return merkle_proof([leaf_hash(x) for x in _check_leaves(ids, "ids")], index)


def verify_proof_of_id(root: bytes, record_id: bytes, proof: Sequence[bytes]) -> bool:
    """Off-chain ``verifyAnchored`` (without the anchored-on-chain check): ``record_id`` is under ``root``."""
    return verify_proof(root, leaf_hash(record_id), proof)


@dataclass(frozen=True, kw_only=True)
class AnchorProof:
    """The registry's ``AnchorProof``: ``record_id`` is under the anchored ``root`` by ``proof``
    (sibling hashes from the leaf up). Passed as ``anchoredParents`` when a run names an anchored parent."""

    record_id: bytes
    root: bytes
    proof: tuple[bytes, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "record_id", _check32(self.record_id, "record_id"))
        object.__setattr__(self, "root", _check32(self.root, "root"))
        object.__setattr__(self, "proof", tuple(_check32(p, f"proof[{i}]") for i, p in enumerate(self.proof)))
        if len(self.proof) > MAX_PROOF_DEPTH:
            raise ValidationError("proof", f"at most {MAX_PROOF_DEPTH} hashes, got {len(self.proof)}")

    def verify(self) -> bool:
        """Whether the proof reaches the root (off chain; whether the root is anchored is the chain's)."""
        return verify_proof_of_id(self.root, self.record_id, self.proof)

    def as_tuple(self) -> tuple[bytes, bytes, list[bytes]]:
        """The ABI tuple ``(bytes32 recordId, bytes32 root, bytes32[] proof)``."""
        return (self.record_id, self.root, list(self.proof))
