"""Shared vectors (tests/vectors/records.json, also read by forge): Python and Solidity agree on bytes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from provenance_ledger.chain.client import Registry
from provenance_ledger.core.canonical import decode_run, encode_run, model_version_key
from provenance_ledger.core.hashing import keccak

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors" / "records.json"


def load() -> list[dict[str, object]]:
    return json.loads(VECTORS.read_text(encoding="utf-8"))


def test_vectors_file_is_what_the_generator_writes() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from make_vectors import render

    assert VECTORS.read_text(encoding="utf-8") == render(), "run python scripts/make_vectors.py"


def test_vectors_decode_reencode_and_hash(registry: Registry) -> None:
    for v in load():
        canonical = bytes.fromhex(str(v["canonical"])[2:])
        run = decode_run(canonical)
        assert encode_run(run) == canonical, v["name"]
        assert "0x" + keccak(canonical).hex() == v["record_id"], v["name"]
        assert "0x" + model_version_key(run.model_id, run.model_version).hex() == v["model_version_key"]
        assert run.details() == v["details"]
        assert "0x" + registry.compute_record_id(run).hex() == v["record_id"], v["name"]
