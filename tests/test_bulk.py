"""Bulk submission: batches assembled from canonical bytes, sized under the limits, sent pipelined."""

from __future__ import annotations

import itertools

import pytest

from provenance_ledger.chain.bulk import MAX_TX_BYTES, BulkSender, batch_calldata, plan_batches
from provenance_ledger.chain.client import Registry
from provenance_ledger.core.canonical import encode_run, record_id, run_tuple
from tests.conftest import make_run


def chain_of(n: int, tag: str):
    runs = [make_run("base", f"{tag}.0")]
    for d in range(1, n):
        runs.append(make_run("tuned", f"{tag}.{d}", parents=(record_id(runs[-1]),), uses=[("alpha", 1, 1_000_000)]))
    return runs


def test_batch_calldata_equals_abi_encoding(registry: Registry) -> None:
    runs = chain_of(4, "x")
    fn = registry.abi.functions["anchorRuns"]
    assert batch_calldata(fn.selector, [encode_run(r) for r in runs]) == fn.encode([run_tuple(r) for r in runs])


def test_plan_respects_byte_budget() -> None:
    runs = chain_of(50, "y")
    enc = [encode_run(r) for r in runs]
    batches = plan_batches(
        enc, [(len(r.datanets), len(r.parents)) for r in runs], selector=b"\0" * 4, anchored=True, max_bytes=6_000
    )
    assert len(batches) > 1 and batches[0].start == 0 and batches[-1].stop == 50
    assert all(len(b.calldata) <= 6_000 for b in batches)
    assert all(a.stop == b.start for a, b in itertools.pairwise(batches))
    assert all(
        len(b.calldata) <= MAX_TX_BYTES for b in plan_batches(enc, [(1, 1)] * 50, selector=b"\0" * 4, anchored=True)
    )


@pytest.mark.parametrize("anchored", [True, False])
def test_pipelined_bulk_submission(registry: Registry, anchored: bool) -> None:
    runs = [r for k in range(4) for r in chain_of(5, f"{k}{anchored}")]
    enc = [encode_run(r) for r in runs]
    fn = registry.abi.functions["anchorRuns" if anchored else "recordRuns"]
    batches = plan_batches(
        enc, [(len(r.datanets), len(r.parents)) for r in runs], selector=fn.selector, anchored=anchored, max_records=5
    )
    sender = BulkSender(registry)
    for b in batches:
        sender.send(b)
    receipts = sender.wait_all()
    assert len(receipts) == len(batches) == 4
    assert all(r.gas_used <= b.gas for r, b in zip(receipts, batches, strict=False))
    last = registry.lineage("tuned", f"3{anchored}.4")
    assert len(list(last.walk())) == 5
    assert (last.runs[0].recorded.anchor_root is not None) is anchored
