"""Hostile records are data, not crashes: a stranger records (for its own model) runs whose details
bytes the SDK would never write — the contract cannot parse JSON — citing the honest owner's DataNet
and naming the honest run as parent. Every honest answer stays the same apart from one flagged
unreadable record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import encode
from eth_utils import keccak

from provenance_ledger.chain.client import Registry
from provenance_ledger.core.canonical import TRAINING_RUN_TYPE, run_tuple
from provenance_ledger.index.store import Index
from tests.conftest import make_run

HOSTILE_DETAILS: dict[str, bytes] = {
    "shape": json.dumps({"preprocessing": 5}).encode(),
    "types": b'{"schema":"provenance-ledger/run-details","version":"one"}',
    "not-json": b"\xff\xfe not json at all \x00",
    "unknown-schema": b'{"schema":"someone-else/v9","version":1}',
    "giant": json.dumps({"hyperparameters": {"x": "A" * 16_000}}).encode(),
    "names": json.dumps({"framework": "\x1b[31mEVIL\x1b[0m\r\n\u202e", "code_ref": "\x07"}).encode(),
}


def _stranger(w3: Any, registry: Registry, acct: Any) -> Registry:
    stranger = Registry(w3, registry.address, acct)
    stranger.register_model("evil")
    return stranger


def _send_raw(w3: Any, stranger: Registry, tup: tuple[Any, ...]) -> None:
    stranger._transact("recordRun", tup, [])


def _hostile_tuple(stranger: Registry, details: bytes, *, parents: tuple[bytes, ...] = ()) -> tuple[Any, ...]:
    assert stranger.signer is not None
    honest = make_run("base", "6.6", parents=parents, uses=[("alpha", 1, 1_000_000)])  # the owner's DataNet
    tup = list(run_tuple(honest))
    tup[0] = stranger.model_id("evil")  # the stranger's own model
    tup[5] = details
    return tuple(tup)


@pytest.mark.parametrize("kind", sorted(HOSTILE_DETAILS))
def test_a_strangers_hostile_record_changes_no_honest_answer(
    w3, registry: Registry, accounts, tmp_path: Path, kind: str
) -> None:  # type: ignore[no-untyped-def]
    assert registry.signer is not None
    owner = registry.signer.address
    base = registry.record_run(make_run("base", "1.0", uses=[("alpha", 1, 1_000_000)])).record_id
    tuned = registry.record_run(make_run("tuned", "2.0", parents=(base,), uses=[("beta", 1, 1_000_000)])).record_id
    before_lineage = registry.lineage("tuned", "2.0").to_dict()
    before_used = [u.to_dict() for u in registry.models_trained_on("alpha")]
    stranger = _stranger(w3, registry, accounts[7])
    tup = _hostile_tuple(stranger, HOSTILE_DETAILS[kind], parents=(base,))
    _send_raw(w3, stranger, tup)
    bad_id = keccak(encode([TRAINING_RUN_TYPE], [tup]))

    assert registry.lineage("tuned", "2.0").to_dict() == before_lineage
    used = registry.models_trained_on("alpha")
    assert [u.to_dict() for u in used] == before_used
    assert [u.record_id for u in used.unreadable] == [bad_id]
    assert used.unreadable[0].recorder == accounts[7].address

    idx = Index(tmp_path / "i.sqlite", default_owner=owner)
    idx.sync(registry)
    assert idx.lineage("tuned", "2.0").to_dict() == before_lineage
    iused = idx.models_trained_on("alpha")
    assert [u.to_dict() for u in iused] == before_used
    assert [u.record_id for u in iused.unreadable] == [bad_id]
    assert tuned
