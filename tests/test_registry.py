"""The SDK against a real EVM (eth-tester + py-evm): writes, every revert, idempotence, lineage."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from provenance_ledger.chain.client import Registry
from provenance_ledger.core.canonical import encode_run, record_id, run_tuple
from provenance_ledger.errors import ContractRevertError, NotFoundError, VerificationError
from tests.conftest import eid, make_run


def test_python_id_equals_contract_id(registry: Registry) -> None:
    run = make_run()
    assert registry.compute_record_id(run) == record_id(run)


def test_record_then_read_back(registry: Registry, accounts) -> None:
    run = make_run(started_at=100, ended_at=200)
    res = registry.record_run(run)
    assert res.tx is not None and res.tx.gas_used > 21_000
    assert registry.record_block(res.record_id) == res.tx.block_number
    got = registry.get_run(res.record_id)
    assert got.run == run and got.record == encode_run(run)
    assert got.recorder == accounts[0].address


def test_recording_twice_is_idempotent(registry: Registry) -> None:
    run = make_run()
    first = registry.record_run(run)
    second = registry.record_run(run)
    assert second.record_id == first.record_id and second.already_recorded and second.tx is None
    assert len(registry.runs_of("base", "1.0")) == 1


def test_contract_rejects_a_duplicate_sent_directly(registry: Registry) -> None:
    run = make_run()
    registry.record_run(run)
    with pytest.raises(ContractRevertError) as exc:
        registry._transact("recordRun", run_tuple(run), [])
    assert exc.value.name == "AlreadyRecorded" and exc.value.args_ == (record_id(run),)


def test_batch_records_parent_in_same_batch_and_skips_known(registry: Registry) -> None:
    base = make_run()
    tuned = make_run("tuned", "2.0", parents=(record_id(base),), uses=[("alpha", 1, 1_000_000)])
    first = registry.record_runs([base, tuned])
    assert first.tx is not None and all(not r.already_recorded for r in first.results)
    again = registry.record_runs([base, tuned])
    assert again.tx is None and all(r.already_recorded for r in again.results)
    assert again.already_recorded == [record_id(base), record_id(tuned)]


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda: make_run(uses=[("alpha", 3, 1_000_000)]), "UnknownDatanetVersion"),
        (lambda: make_run(uses=[("gamma", 1, 1_000_000)]), "UnknownDatanetVersion"),
        (lambda: make_run(parents=(keccak(text="nope"),)), "UnknownParent"),
        (lambda: make_run("unregistered"), "UnknownModel"),
    ],
)
def test_each_rejection_is_decoded(registry: Registry, build, error) -> None:
    with pytest.raises(ContractRevertError) as exc:
        registry.record_run(build())
    assert exc.value.name == error
    assert error in str(exc.value)


def test_weights_checked_on_chain_too(registry: Registry) -> None:
    t = list(run_tuple(make_run()))
    t[4] = [(eid("alpha"), 1, 999_999)]
    with pytest.raises(ContractRevertError) as exc:
        registry._transact("recordRun", tuple(t), [])
    assert exc.value.name == "WeightsDoNotSum" and exc.value.args_ == (999_999,)


def test_only_owner_or_trainer_can_record(w3, registry: Registry, accounts) -> None:
    outsider = Registry(w3, registry.address, accounts[3])
    with pytest.raises(ContractRevertError) as exc:
        outsider.record_run(make_run())
    assert exc.value.name == "NotAuthorizedTrainer"
    registry.authorize_trainer("base", accounts[3].address)
    assert outsider.record_run(make_run()).tx is not None
    registry.revoke_trainer("base", accounts[3].address)
    with pytest.raises(ContractRevertError):
        outsider.record_run(make_run(version="9"))
    with pytest.raises(ContractRevertError) as exc:
        outsider.authorize_trainer(registry.model_id("base"), accounts[4].address)
    assert exc.value.name == "NotModelOwner"


def test_names_are_first_come(registry: Registry) -> None:
    with pytest.raises(ContractRevertError) as exc:
        registry.register_model("base")
    assert exc.value.name == "ModelAlreadyRegistered"
    with pytest.raises(ContractRevertError) as exc:
        registry.register_datanet("alpha")
    assert exc.value.name == "DatanetAlreadyRegistered"


def test_lineage_forward_and_reverse(registry: Registry) -> None:
    base = registry.record_run(make_run()).record_id
    tuned = registry.record_run(make_run("tuned", "2.0", parents=(base,), uses=[("alpha", 1, 1_000_000)])).record_id
    lin = registry.lineage("tuned", "2.0")
    nodes = [n for _, n in lin.walk()]
    assert [n.record_id for n in nodes] == [tuned, base]
    assert [(d.info.label, d.use.weight_ppm) for d in nodes[1].datanets] == [("alpha@2", 700_000), ("beta@1", 300_000)]
    assert nodes[0].datanets[0].info.content_root == keccak(text="alpha-1")
    assert nodes[1].recorded.run.preprocessing[0].params == {"min_chars": 200}

    used = registry.models_trained_on("beta")
    assert [(u.label, u.depth) for u in used] == [("base@1.0", 0), ("tuned@2.0", 1)]
    assert [u.label for u in registry.models_trained_on("alpha", 1)] == ["tuned@2.0"]
    with pytest.raises(NotFoundError):
        registry.lineage("tuned", "7.0")
    with pytest.raises(NotFoundError):
        registry.models_trained_on("no-such-datanet")


def test_altered_log_copy_is_detected(registry: Registry) -> None:
    rid = registry.record_run(make_run()).record_id
    raw = registry.logs("RunRecorded", None, None, rid)[0]
    record = bytearray(raw.args["record"])
    record[-40] ^= 1
    raw.args["record"] = bytes(record)
    with pytest.raises(VerificationError):
        registry._recorded(raw)


def test_anchored_batch_is_verified_like_recorded_runs(registry: Registry) -> None:
    runs_ = [make_run(version=f"3.{i}") for i in range(5)]
    batch = registry.anchor_runs(runs_)
    root = batch.root
    assert root is not None and batch.tx is not None
    assert registry.anchor_block(root) == batch.tx.block_number
    got = registry.get_run(record_id(runs_[3]))
    assert got.anchor_root == root and got.anchor_proof
    assert registry.record_block(record_id(runs_[3])) == 0
    assert registry.lineage("base", "3.4").runs[0].recorded.anchor_root == root


def record_run_calldata(registry: Registry, record: bytes) -> bytes:
    """Raw calldata of ``recordRun(run, [])`` around a record's bytes (``0x20`` + the run's tuple), with
    the (empty) proofs before the run so that the run is the tail of the calldata."""
    tuple_bytes = record[32:]
    head = (0x60).to_bytes(32, "big") + (0x40).to_bytes(32, "big")
    return registry.abi.functions["recordRun"].selector + head + bytes(32) + tuple_bytes


def test_non_canonical_calldata_is_rejected(registry: Registry) -> None:
    """Only the canonical encoding is accepted, so one run can never be recorded under two ids."""
    run = make_run()
    enc = bytearray(encode_run(run))  # 0x20 ‖ tuple
    dirty = bytearray(enc)
    vlen = int.from_bytes(enc[32 + 0xC0 : 32 + 0xE0], "big")
    dirty[32 + 0xE0 + vlen] = 0x01  # a nonzero byte in the version string's padding
    with pytest.raises(ContractRevertError) as exc:
        registry.signer.transact(registry.address, record_run_calldata(registry, bytes(dirty)))  # type: ignore[union-attr]
    assert exc.value.name == "NonCanonicalEncoding"
    moved = bytearray(enc)
    moved[32 + 0x20 : 32 + 0x40] = (0xC0 + 32).to_bytes(32, "big")  # version offset off its canonical place
    with pytest.raises(ContractRevertError) as exc:
        registry.signer.transact(registry.address, record_run_calldata(registry, bytes(moved)))  # type: ignore[union-attr]
    assert exc.value.name == "NonCanonicalEncoding"
    registry.signer.transact(registry.address, record_run_calldata(registry, bytes(enc)))  # type: ignore[union-attr]
    assert registry.record_block(record_id(run)) != 0
