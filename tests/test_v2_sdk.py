"""Registry v2 through the SDK (embedded chain): names cannot be squatted, anchored runs are first-class
parents and are never sent twice, repeats sent around the SDK are read as one record by every reader,
signed records carry the trainer as recorder, retractions are readable, and only the real registry
code is accepted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak

from provenance_ledger.chain.client import Registry
from provenance_ledger.chain.rpc import Signer
from provenance_ledger.chain.signing import digest_of, recover_signer
from provenance_ledger.core.attribution import attribution, split
from provenance_ledger.core.canonical import encode_run, entity_id, record_id, run_tuple
from provenance_ledger.core.eip712 import domain_separator, record_digest
from provenance_ledger.core.lineage import build_lineage
from provenance_ledger.errors import ContractRevertError, NotFoundError, ValidationError, VerificationError
from provenance_ledger.index.store import Index
from tests.conftest import make_run


def _anchor_then(registry: Registry, tag: str) -> tuple[list[Any], bytes]:
    runs = [make_run("base", f"{tag}.{i}") for i in range(3)]
    batch = registry.anchor_runs(runs)
    assert batch.root is not None
    return runs, batch.root


# --------------------------------------------------------------------------------- squatting


def test_a_squatter_gains_nothing(w3, registry: Registry, accounts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A second account registers the victim's model and DataNet names, publishes "alpha" listing
    itself as contributor and records a run: the victim's references still name the victim's
    entities, and the victim's attribution pays the squatter nothing."""
    victim = accounts[0].address
    squatter_acct = accounts[7]
    squatter = Registry(w3, registry.address, squatter_acct)
    squat_model, _ = squatter.register_model("base")
    squat_dn, _ = squatter.register_datanet("alpha")
    for v in (1, 2):
        squatter.publish_datanet_version(
            "alpha",
            content_root=keccak(text=f"squat-{v}"),
            manifest_hash=keccak(text="m"),
            terms={"spdx": "MIT"},
            contributors=[(squatter_acct.address, 1_000)],
        )
    squatter.register_datanet("beta")
    squatter.publish_datanet_version(
        "beta", content_root=keccak(text="sb"), manifest_hash=keccak(text="m"), terms={"spdx": "MIT"}
    )
    squat_run = make_run("base", "1.0", owner=squatter_acct.address)  # same names, the squatter's ids
    squatter.record_run(squat_run)

    assert squat_model == entity_id(squatter_acct.address, "base") != registry.model_id("base")
    assert squat_dn != registry.datanet_id("alpha")
    with pytest.raises(ContractRevertError) as exc:  # nor may it record for the victim's model
        squatter.record_run(make_run("base", "6.6"))
    assert exc.value.name == "NotAuthorizedTrainer"

    base = registry.record_run(make_run()).record_id
    registry.record_run(make_run("tuned", "2.0", parents=(base,), uses=[("alpha", 1, 1_000_000)]))
    lineage = registry.lineage("base", "1.0")
    assert [n.record_id for n in lineage.runs] == [base]  # not the squatter's base@1.0
    assert lineage.runs[0].model_owner == victim
    assert {d.info.datanet_id for d in lineage.runs[0].datanets} == {
        registry.datanet_id("alpha"),
        registry.datanet_id("beta"),
    }
    tuned = registry.lineage("tuned", "2.0")
    payout = dict(split(attribution(tuned), 1_000_000))
    assert squatter_acct.address not in payout and sum(payout.values()) == 1_000_000
    assert all(s.ppm == 0 or s.recipient != squatter_acct.address for s in attribution(tuned).contributors)

    # A reader with no default owner must say whose name it means; OWNER/NAME and ids both work.
    reader = Registry(w3, registry.address)
    with pytest.raises(ValidationError, match="needs an owner"):
        reader.lineage("base", "1.0")
    assert reader.lineage(f"{victim}/base", "1.0") == lineage
    assert reader.lineage(f"{squatter_acct.address}/base", "1.0").runs[0].record_id == record_id(squat_run)
    assert {u.label for u in reader.models_trained_on(f"{victim}/alpha")} == {"base@1.0", "tuned@2.0"}
    assert {u.recorded.record_id for u in reader.models_trained_on(f"{squatter_acct.address}/alpha")} == {
        record_id(squat_run)
    }

    idx = Index(tmp_path / "i.sqlite", default_owner=victim)
    idx.sync(registry)
    assert idx.lineage("tuned", "2.0") == tuned
    assert idx.lineage(f"{squatter_acct.address}/base", "1.0").runs[0].model_owner == squatter_acct.address


# ------------------------------------------------------------------------------ anchored parents


def test_an_anchored_parent_is_proved_in_a_later_transaction(registry: Registry) -> None:
    runs, root = _anchor_then(registry, "ap")
    parent = record_id(runs[1])
    assert registry.record_block(parent) == 0  # anchored: no slot of its own
    proofs = registry.anchor_proofs([parent, record_id(runs[0])])
    assert [(p.record_id, p.root) for p in proofs] == [(parent, root), (record_id(runs[0]), root)]
    assert all(registry.verify_anchored(p.root, p.record_id, p.proof) for p in proofs)

    single = registry.record_run(make_run("tuned", "ap.1", parents=(parent,), uses=[("alpha", 1, 1_000_000)]))
    assert single.tx is not None
    batch = registry.record_runs(
        [make_run("tuned", "ap.2", parents=(record_id(runs[0]), single.record_id), uses=[("beta", 1, 1_000_000)])]
    )
    anchored = registry.anchor_runs(
        [
            make_run(
                "tuned",
                "ap.3",
                parents=(record_id(runs[2]),),
                relations=("distillation",),
                uses=[("alpha", 2, 1_000_000)],
            )
        ]
    )
    assert batch.tx is not None and anchored.root is not None
    lin = registry.lineage("tuned", "ap.3")
    assert [(d, n.record_id) for d, n in lin.walk()] == [(0, anchored.sent[0]), (1, record_id(runs[2]))]
    assert lin.runs[0].relations == ("distillation",) and lin.runs[0].parents[0].recorded.anchor_root == root
    # without the proof the registry cannot know the parent: it reverts
    with pytest.raises(ContractRevertError) as exc:
        registry._transact("recordRun", run_tuple(make_run("tuned", "ap.4", parents=(parent,))), [])
    assert exc.value.name == "UnknownParent"


def test_the_sdk_never_sends_an_anchored_run_again(registry: Registry) -> None:
    runs, _ = _anchor_then(registry, "nr")
    for r in runs:
        assert registry.record_run(r).already_recorded
    again = registry.anchor_runs([*runs, make_run("base", "nr.new")])
    assert again.already_recorded == [record_id(r) for r in runs] and len(again.sent) == 1
    assert registry.record_runs(runs).tx is None
    for r in runs:
        assert len(registry.logs("RunRecorded", None, None, record_id(r))) == 1


def test_a_lost_race_is_success_when_the_logged_bytes_match(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another sender records the run between our look-up and our send: the registry reverts
    AlreadyRecorded, and the SDK reports it as recorded once the logged bytes are this run's."""
    run, other = make_run("base", "race"), make_run("base", "race.2")
    registry.record_run(run)  # "the other sender" wins
    registry.record_run(other)
    real = registry.logged_ids
    stale = {"left": 0}

    def looked_up_too_early(ids: Any) -> set[bytes]:
        if stale["left"] > 0:
            stale["left"] -= 1
            return set()
        return real(ids)

    monkeypatch.setattr(registry, "logged_ids", looked_up_too_early)
    stale["left"] = 1
    res = registry.record_run(run)
    assert res.already_recorded and res.tx is None and res.record_id == record_id(run)
    stale["left"] = 1
    fresh = make_run("base", "race.3")
    batch = registry.record_runs([other, fresh])  # lost the race for `other`: retried without it
    assert batch.already_recorded == [record_id(other)] and batch.sent == [record_id(fresh)]
    for r in (run, other, fresh):
        assert len(registry.logs("RunRecorded", None, None, record_id(r))) == 1


# ------------------------------------------------------------------------------------ repeats


def test_a_repeat_sent_around_the_sdk_is_one_record_for_every_reader(
    w3, registry: Registry, accounts, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """An anchored run recorded again directly through the contract (recordRun and a second
    anchorRuns), bypassing the SDK's check: lineage, used-by, verify, get_run and the index agree,
    each counting it once, the earliest event authoritative and the others listed as repeats."""
    runs, root = _anchor_then(registry, "rp")
    rid = record_id(runs[1])
    child = registry.record_run(make_run("tuned", "rp.kid", parents=(rid,), uses=[("alpha", 1, 1_000_000)])).record_id
    first_block = registry.get_run(rid).block_number
    # around the SDK: the contract cannot know it was anchored earlier
    registry._transact("anchorRuns", [run_tuple(runs[1]), run_tuple(make_run("base", "rp.x"))], [])
    registry._transact("recordRun", run_tuple(runs[1]), [])  # stored individually now: recordBlock != 0
    assert registry.record_block(rid) > first_block  # the v1 bug: "stored block != logged block"

    for reader in (Registry(w3, registry.address, default_owner=accounts[0].address), registry):
        rec = reader.get_run(rid)
        assert (rec.block_number, rec.anchor_root) == (first_block, root)  # the earliest is authoritative
        assert len(rec.repeats) == 2 and rec.repeats[0].anchor_root not in (None, root)
        assert rec.repeats[1].anchor_root is None and rec.repeats[1].block_number == reader.record_block(rid)
        assert [r.record_id for r in reader.runs_of("base", "rp.1")] == [rid]
        assert [n.record_id for _, n in reader.lineage("tuned", "rp.kid").walk()] == [child, rid]
        used = [u.recorded.record_id for u in reader.models_trained_on("alpha", 2)]
        assert used.count(rid) == 1
        checked = reader.verify_runs()
        assert all(problem is None for _, _, problem in checked)
        assert [r for r, _, _ in checked].count(rid) == 1
        raws = reader.logs("RunRecorded", None, None, rid)
        assert len(raws) == 3 and all(reader.recorded(raw).record_id == rid for raw in raws)  # each checks out

    idx = Index(tmp_path / "i.sqlite", default_owner=accounts[0].address)
    assert idx.sync(registry).records == len({record_id(r) for r in runs}) + 2  # + child + rp.x, repeats not counted
    got = idx.get_run(rid)
    assert got == registry.get_run(rid)
    assert idx.status().counts["repeats"] == 2
    assert idx.lineage("tuned", "rp.kid") == registry.lineage("tuned", "rp.kid")
    assert idx.models_trained_on("alpha", 2) == registry.models_trained_on("alpha", 2)


# ------------------------------------------------------------------------------ signed records


def test_a_signed_record_keeps_the_trainer_as_recorder(w3, registry: Registry, accounts) -> None:  # type: ignore[no-untyped-def]
    trainer, relayer_acct = Account.create(), accounts[8]  # the trainer holds no funds at all
    assert w3.eth.get_balance(trainer.address) == 0
    registry.authorize_trainer("base", trainer.address)
    relayer = Registry(w3, registry.address, relayer_acct)
    signed = registry.sign_run(make_run("base", "sg.1"), trainer)
    assert recover_signer(signed) == trainer.address
    assert digest_of(signed) == registry.record_digest(signed.record_id)
    assert domain_separator(registry.chain_id, registry.address) == registry.domain_separator()
    assert record_digest(registry.chain_id, registry.address, signed.record_id) == digest_of(signed)

    res = relayer.submit_signed(signed)
    assert not res.already_recorded  # type: ignore[union-attr]
    rec = registry.get_run(signed.record_id)
    assert rec.recorder == trainer.address != relayer_acct.address
    assert relayer.submit_signed(signed).already_recorded  # type: ignore[union-attr]

    # batches, individual and anchored; one run names an anchored parent
    runs, _ = _anchor_then(registry, "sgp")
    many = [registry.sign_run(make_run("base", f"sg.b{i}"), trainer) for i in range(2)]
    many.append(registry.sign_run(make_run("tuned", "sg.b2", parents=(record_id(runs[0]),)), accounts[0]))
    batch = relayer.submit_signed(many)
    assert batch.tx is not None  # type: ignore[union-attr]
    assert [registry.get_run(s.record_id).recorder for s in many] == [trainer.address] * 2 + [accounts[0].address]
    anchored = relayer.submit_signed(
        [registry.sign_run(make_run("base", f"sg.a{i}"), trainer) for i in range(3)], anchored=True
    )
    assert anchored.root is not None  # type: ignore[union-attr]
    assert {registry.get_run(i).anchor_root for i in anchored.sent} == {anchored.root}  # type: ignore[union-attr]


def test_unauthorised_revoked_and_forged_signers_are_refused(w3, registry: Registry, accounts) -> None:  # type: ignore[no-untyped-def]
    stranger, trainer = Account.create(), Account.create()
    relayer = Registry(w3, registry.address, accounts[8])
    with pytest.raises(ContractRevertError) as exc:
        relayer.submit_signed(registry.sign_run(make_run("base", "x.1"), stranger))
    assert exc.value.name == "NotAuthorizedTrainer"
    registry.authorize_trainer("base", trainer.address)
    relayer.submit_signed(registry.sign_run(make_run("base", "x.2"), trainer))
    registry.revoke_trainer("base", trainer.address)
    with pytest.raises(ContractRevertError) as exc:
        relayer.submit_signed(registry.sign_run(make_run("base", "x.3"), trainer))
    assert exc.value.name == "NotAuthorizedTrainer"
    # a signature claimed for someone else: the owner "signs" with the stranger's key
    forged = registry.sign_run(make_run("base", "x.4"), stranger)
    forged = type(forged)(**{**forged.__dict__, "signer": accounts[0].address})
    with pytest.raises(ContractRevertError) as exc:
        relayer.submit_signed(forged)
    assert exc.value.name == "InvalidSignature"
    # signed for another registry (the address is in the EIP-712 domain): refused before sending
    other = Registry.deploy(w3, accounts[0])
    with pytest.raises(ValidationError, match="is signed for registry"):
        Registry(w3, other.address, accounts[8]).submit_signed(registry.sign_run(make_run("base", "x.5"), accounts[0]))


# --------------------------------------------------------------------------------- retractions


def test_retractions_are_readable_from_logs_and_the_index(registry: Registry, w3, accounts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    registry.record_run(make_run())
    registry.retract_datanet_version("alpha", 1, reason="pii", note="ipfs://bafy-explanation")
    registry.retract_model_version("base", "1.0", reason=2, note="sha256:" + "ab" * 32)
    d = registry.datanet_retractions("alpha")
    assert [(r.version, r.reason_name, r.note, r.owner) for r in d] == [
        (1, "pii", "ipfs://bafy-explanation", accounts[0].address)
    ]
    assert registry.datanet_retractions("alpha", 2) == [] and registry.datanet_retractions("beta") == []
    m = registry.model_retractions("base", "1.0")
    assert [(r.model_version, r.reason_name, r.reason) for r in m] == [("1.0", "licence", 2)]
    assert registry.model_retractions() == m and registry.model_retractions("base", "9.9") == []
    assert registry.get_run(record_id(make_run())).run == make_run()  # records stay readable

    idx = Index(tmp_path / "i.sqlite", default_owner=accounts[0].address)
    idx.sync(registry)
    assert idx.datanet_retractions("alpha") == d and idx.model_retractions("base", "1.0") == m

    outsider = Registry(w3, registry.address, accounts[3], default_owner=accounts[0].address)
    with pytest.raises(ContractRevertError) as exc:
        outsider.retract_datanet_version("alpha", 1, reason="other")
    assert exc.value.name == "NotDatanetOwner"
    with pytest.raises(ValidationError, match="reason"):
        registry.retract_model_version("base", "1.0", reason="bored")
    with pytest.raises(ValidationError, match="note"):
        registry.retract_model_version("base", "1.0", reason=5, note="x" * 1_025)
    with pytest.raises(ContractRevertError) as exc:
        registry.retract_datanet_version("alpha", 9, reason=3)
    assert exc.value.name == "UnknownDatanetVersion"


# -------------------------------------------------------------------------------- identity


# Runtime code answering every call with the ABI encoding of the string "2.0.0": a look-alike whose
# version() is the registry's. Init code: copy the runtime (after these 11 bytes) and return it.
_RUNTIME = bytes.fromhex("6020600052" + "6005602052" + "7f" + b"2.0.0".hex().ljust(64, "0") + "604052" + "60606000f3")
_INIT = bytes.fromhex(f"60{len(_RUNTIME):02x}80600b6000396000f3") + _RUNTIME


def test_a_look_alike_contract_is_refused(w3, registry: Registry, accounts) -> None:  # type: ignore[no-untyped-def]
    receipt = Signer(w3, accounts[1]).transact(None, _INIT)
    fake = w3.eth.get_transaction_receipt(receipt.tx_hash)["contractAddress"]  # type: ignore[arg-type]
    assert Registry(w3, fake).version() == "2.0.0"  # it even answers version() like the registry
    with pytest.raises(VerificationError, match=r"is not a ProvenanceRegistry v2: code hash 0x[0-9a-f]{64} differs"):
        Registry.at(w3, fake)
    with pytest.raises(NotFoundError, match="no contract"):
        Registry.at(w3, "0x" + "12" * 20)
    assert Registry.at(w3, registry.address).address == registry.address


def test_identity_costs_one_get_code_per_connection(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    from provenance_ledger.chain import client
    from provenance_ledger.chain.rpc import EMBEDDED, connect

    w3 = connect(EMBEDDED)
    deployed = Registry.deploy(w3, Account.from_key("0x" + "01".rjust(64, "0")))
    calls: list[str] = []

    def counted(name: str) -> Any:
        real = getattr(w3.eth, name)

        def counting(*args: Any, **kw: Any) -> Any:
            calls.append(name)
            return real(*args, **kw)

        return counting

    for name in ("get_code", "call", "get_block", "get_logs"):
        monkeypatch.setattr(w3.eth, name, counted(name))
    for _ in range(3):
        Registry.at(w3, deployed.address)  # deploy() already vouched for it: no call at all
    assert calls == []
    client._verified_code.pop(w3, None)  # as a new connection would be
    for _ in range(3):
        Registry.at(w3, deployed.address)
    assert calls == ["get_code"]  # one eth_getCode, and nothing else, for three clients


def test_reads_start_at_the_deployment_block(w3, registry: Registry) -> None:  # type: ignore[no-untyped-def]
    reader = Registry.at(w3, registry.address)
    assert reader.from_block == registry.deployed_at() == registry.from_block >= 1


def test_lineage_nodes_carry_owner_recorder_and_relations(w3, registry: Registry, accounts) -> None:  # type: ignore[no-untyped-def]
    registry.authorize_trainer("tuned", accounts[4].address)
    base = registry.record_run(make_run()).record_id
    other = registry.record_run(make_run("base", "1.5")).record_id
    trainer = Registry(w3, registry.address, accounts[4], default_owner=accounts[0].address)
    trainer.record_run(
        make_run("tuned", "3.0", parents=(base, other), relations=("merge", "merge"), uses=[("beta", 1, 1_000_000)])
    )
    lin = registry.lineage("tuned", "3.0")
    node = lin.runs[0]
    assert node.model_owner == accounts[0].address and node.recorder == accounts[4].address
    assert node.relations == ("merge", "merge")
    d = lin.to_dict()["runs"][0]
    assert d["model_owner"] == accounts[0].address and d["recorder"] == accounts[4].address
    assert d["relations"] == ["merge", "merge"] and d["repeats"] == []
    assert build_lineage(registry, registry.model_id("tuned"), "3.0") == lin
    assert encode_run(node.recorded.run) == node.recorded.record
