"""Anchored records: proofs verify on chain and in OpenZeppelin's JavaScript library; tampering fails."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from eth_utils import keccak

from provenance_ledger.chain.client import Registry
from provenance_ledger.core.canonical import record_id
from provenance_ledger.core.merkle import merkle_proof_of_id, merkle_root_of_ids, verify_proof_of_id
from tests.conftest import make_run

OZ = Path(__file__).resolve().parent / "js" / "oz_verify.js"


def oz_verify(cases: list[dict[str, object]]) -> list[bool]:
    out = subprocess.run(["node", str(OZ)], input=json.dumps(cases), capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_anchored_proofs_verify_on_chain_and_in_openzeppelin(registry: Registry, n: int) -> None:
    runs = [make_run(version=f"5.{n}.{i}") for i in range(n)]
    ids = [record_id(r) for r in runs]
    root = registry.anchor_runs(runs).root
    assert root == merkle_root_of_ids(ids)
    cases, tampered = [], []
    for i, rid in enumerate(ids):
        proof = merkle_proof_of_id(ids, i)
        assert verify_proof_of_id(root, rid, proof)
        assert registry._call("verifyAnchored", root, rid, proof)[0] is True
        cases.append({"root": _hex(root), "recordId": _hex(rid), "proof": [_hex(p) for p in proof]})
        # a tampered record (another id) and, where there is one, a tampered proof
        bad_id = keccak(rid)
        assert registry._call("verifyAnchored", root, bad_id, proof)[0] is False
        tampered.append({"root": _hex(root), "recordId": _hex(bad_id), "proof": [_hex(p) for p in proof]})
        if proof:
            bad_proof = [keccak(proof[0]), *proof[1:]]
            assert registry._call("verifyAnchored", root, rid, bad_proof)[0] is False
            tampered.append({"root": _hex(root), "recordId": _hex(rid), "proof": [_hex(p) for p in bad_proof]})
    assert oz_verify(cases) == [True] * len(cases)
    assert oz_verify(tampered) == [False] * len(tampered)


def test_unknown_root_never_verifies(registry: Registry) -> None:
    rid = record_id(make_run())
    assert registry._call("verifyAnchored", keccak(keccak(rid)), rid, [])[0] is False
