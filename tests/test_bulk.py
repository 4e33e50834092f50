"""Bulk submission: batches assembled from canonical bytes, sized under the limits, sent pipelined."""

from __future__ import annotations

import itertools

import pytest

from provenance_ledger.chain.bulk import MAX_TX_BYTES, BulkSender, batch_calldata, plan_batches
from provenance_ledger.chain.client import Registry
from provenance_ledger.core.canonical import encode_run, record_id, run_tuple
from provenance_ledger.core.merkle import AnchorProof
from tests.conftest import make_run


def chain_of(n: int, tag: str):
    runs = [make_run("base", f"{tag}.0")]
    for d in range(1, n):
        runs.append(make_run("tuned", f"{tag}.{d}", parents=(record_id(runs[-1]),), uses=[("alpha", 1, 1_000_000)]))
    return runs


def test_batch_calldata_equals_abi_encoding(registry: Registry) -> None:
    runs = chain_of(4, "x")
    fn = registry.abi.functions["anchorRuns"]
    assert batch_calldata(fn.selector, [encode_run(r) for r in runs]) == fn.encode([run_tuple(r) for r in runs], [])
    proofs = [
        AnchorProof(record_id=b"\1" * 32, root=b"\2" * 32, proof=(b"\3" * 32, b"\4" * 32)),
        AnchorProof(record_id=b"\5" * 32, root=b"\6" * 32, proof=()),
    ]
    assert batch_calldata(fn.selector, [encode_run(r) for r in runs], proofs) == fn.encode(
        [run_tuple(r) for r in runs], [p.as_tuple() for p in proofs]
    )


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


@pytest.mark.parametrize("anchored", [True, False])
def test_submit_skips_what_is_on_chain_and_proves_anchored_parents(registry: Registry, anchored: bool) -> None:
    """BulkSender.submit: runs already logged (individually or anchored) are reported and never sent
    again; a parent anchored in an earlier transaction, or in an earlier batch of the same submission,
    is named with an AnchorProof."""
    tag = f"s{anchored}"
    earlier = [make_run("base", f"{tag}.e{i}") for i in range(3)]
    old_root = registry.anchor_runs(earlier).root  # anchored in an earlier transaction
    on_chain = make_run("base", f"{tag}.solo")
    registry.record_run(on_chain)
    # two batches of 4: the second names a run of the first as parent, and every run names an earlier one
    runs = [
        make_run("tuned", f"{tag}.{i}", parents=(record_id(earlier[i % 3]),), uses=[("alpha", 1, 1_000_000)])
        for i in range(4)
    ]
    runs += [
        make_run("tuned", f"{tag}.k{i}", parents=(record_id(runs[i]),), uses=[("beta", 1, 1_000_000)]) for i in range(4)
    ]
    given = [earlier[0], on_chain, *runs, runs[0]]  # two already on chain, one repeated within the call
    result = BulkSender(registry).submit(given, anchored=anchored, max_records=4)
    assert set(result.already_recorded) == {record_id(earlier[0]), record_id(on_chain)}
    assert list(result.sent) == [record_id(r) for r in runs]
    assert [(b.start, b.stop) for b in result.batches] == [(0, 4), (4, 8)]
    assert {p.root for p in result.batches[0].proofs} == {old_root}
    second = {p.record_id for p in result.batches[1].proofs}
    assert second == ({record_id(r) for r in runs[:4]} if anchored else set())  # individual: recordBlock != 0
    for r in runs:
        got = registry.get_run(record_id(r))
        assert got.repeats == () and (got.anchor_root is not None) is anchored
    assert len(registry.logs("RunRecorded", None, None, record_id(earlier[0]))) == 1  # never sent again
    again = BulkSender(registry).submit(runs, anchored=anchored)
    assert again.sent == () and again.batches == () and set(again.already_recorded) == {record_id(r) for r in runs}
