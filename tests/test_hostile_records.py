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
from provenance_ledger.chain.rpc import ANVIL_DEV_KEYS, connect, load_account
from provenance_ledger.core.canonical import TRAINING_RUN_TYPE, run_tuple
from provenance_ledger.index.store import Index
from tests.conftest import AnvilNode, make_run
from tests.test_cli import Cli

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


# ----------------------------------------------------------------------- the command, on anvil

ROOT = "0x" + "11" * 32


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Any:
    node = AnvilNode().start()
    tmp = tmp_path_factory.mktemp("hostile")
    cli = Cli(tmp, node.url)
    cli("deploy")
    cli("model", "register", "m")
    cli("datanet", "register", "d")
    cli("datanet", "publish", "d", "--root", ROOT, "--spdx", "MIT", "--contributor", f"{_addr(ANVIL_DEV_KEYS[0])}:1")
    (tmp / "a.yaml").write_text(
        'model: m\nversion: "a"\nweights_digest: "0x' + "22" * 32 + '"\n'
        "datanets:\n  - {datanet: d, version: 1, weight_ppm: 1000000}\nstarted_at: 100\nended_at: 200\n"
    )
    (tmp / "ft.yaml").write_text(
        'model: m\nversion: "ft"\nweights_digest: "0x' + "33" * 32 + '"\nparents: [{ref: "m@a"}]\n'
        "datanets:\n  - {datanet: d, version: 1, weight_ppm: 1000000}\nstarted_at: 100\nended_at: 200\n"
    )
    cli("record", "a.yaml")
    cli("record", "ft.yaml")
    try:
        yield node, tmp, cli
    finally:
        node.stop()


def _addr(key: str) -> str:
    return str(load_account(private_key=key).address)


def _answers(cli: Any) -> dict[str, Any]:
    cli("index", "sync")
    return {
        "lineage_logs": cli("lineage", "m@ft", "--no-index", "--json"),
        "lineage_index": cli("lineage", "m@ft", "--json"),
        "used_logs": cli("used-by", "d", "--no-index", "--json"),
        "used_index": cli("used-by", "d", "--json"),
        "used_human": cli("used-by", "d", "--no-index"),
        "verify": cli("verify", "--json"),
    }


def test_hostile_records_through_the_command(chain: Any) -> None:
    """Each hostile class, recorded by a stranger for its own model next to the honest ones: lineage,
    used-by (logs and index), and verify give the honest answer, plus one flagged unreadable line;
    asking for the hostile record itself is one error line; no tracebacks anywhere."""
    node, tmp, cli = chain
    honest = _answers(cli)
    assert json.loads(honest["verify"].stdout)["failed"] == 0
    w3 = connect(node.url)
    address = json.loads((tmp / "config.json").read_text())["deployments"]["31337"]["address"]
    key = ANVIL_DEV_KEYS[3]
    stranger = Registry.at(w3, address, load_account(private_key=key))
    stranger.register_model("evil")
    owner = Registry.at(w3, address, default_owner=_addr(ANVIL_DEV_KEYS[0]))
    parent = bytes.fromhex(json.loads(honest["lineage_logs"].stdout)["runs"][1]["record_id"][2:])
    base = owner.runs_of("m", "a")[0].run
    bad_ids: list[str] = []
    for n, (kind, details) in enumerate(sorted(HOSTILE_DETAILS.items())):
        tup = (
            stranger.model_id("evil"),
            f"{kind}.{n}",
            keccak(text=kind),
            [parent],
            list(run_tuple(base)[4]),
            details,
        )
        sends = [stranger.abi.functions["recordRun"].encode(tup, [])]
        if kind == "names":  # also a repeat: anchored, then recorded again individually
            sends.insert(0, stranger.abi.functions["anchorRuns"].encode([tup], []))
        for data in sends:
            tx = w3.eth.send_transaction({"from": _addr(key), "to": stranger.address, "data": data, "gas": 3_000_000})
            assert w3.eth.wait_for_transaction_receipt(tx)["status"] == 1, kind
        bad_id = "0x" + keccak(encode([TRAINING_RUN_TYPE], [tup])).hex()
        bad_ids.append(bad_id)

        now = _answers(cli)
        for what in ("lineage_logs", "lineage_index", "used_logs", "used_index"):
            assert now[what].stdout == honest[what].stdout, (kind, what)
            assert "Traceback" not in now[what].stderr, (kind, what)
        for what in ("used_logs", "used_index", "used_human"):
            flagged = [line for line in now[what].stderr.splitlines() if "unreadable" in line]
            assert len(flagged) == 1 and _addr(key) in flagged[0], (kind, what, now[what].stderr)
            assert "\x1b" not in now[what].stderr and "\u202e" not in now[what].stderr
        verified = json.loads(now["verify"].stdout)
        assert verified["failed"] == 0 and verified["unreadable"] == len(bad_ids), kind
        assert {r["record_id"] for r in verified["results"] if "unreadable" in r} == set(bad_ids)
        strict = cli("verify", "--strict", ok=False)
        assert strict.returncode == 1 and "Traceback" not in strict.stderr

        for ask in (("lineage", f"{_addr(key)}/evil@{kind}.{n}"), ("show", bad_id)):
            direct = cli(*ask, ok=False)
            assert direct.returncode == 1, (kind, ask, direct.stdout)
            lines = direct.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error:") and bad_id in lines[0], (kind, ask, lines)
            assert _addr(key) in lines[0] and "\x1b" not in lines[0]


def test_a_strangers_record_naming_retracted_inputs_changes_no_honest_answer(
    w3, registry: Registry, accounts, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The last hostile class: after the owner retracts alpha@1 (pii) and base@1.0 (superseded), a
    stranger records, for its own model, a well-formed run on alpha@1 with base@1.0 as parent. The
    contract accepts it (retraction never edits or blocks the record history), so it is data: it
    shows in used-by and affected, flagged as standing on retracted inputs (its licence check is
    blocked), while the honest lineage and licence answers are exactly what they were."""
    from provenance_ledger.core.licensing import check_use
    from provenance_ledger.core.lineage import models_derived_from

    assert registry.signer is not None
    owner = registry.signer.address
    base = registry.record_run(make_run("base", "1.0", uses=[("alpha", 1, 1_000_000)])).record_id
    registry.record_run(make_run("tuned", "2.0", parents=(base,), uses=[("beta", 1, 1_000_000)]))
    registry.retract_datanet_version("alpha", 1, reason="pii", note="ipfs://incident")
    registry.retract_model_version("base", "1.0", reason="superseded")
    before_lineage = registry.lineage("tuned", "2.0").to_dict()
    before_verdict = check_use(registry.lineage("tuned", "2.0"), use="academic", at_time=1).to_dict()
    before_used = [u.to_dict() for u in registry.models_trained_on("alpha", 1)]

    stranger = _stranger(w3, registry, accounts[7])
    evil = make_run("evil", "1", parents=(base,), uses=[("alpha", 1, 1_000_000)], owner=owner)
    import dataclasses

    evil = dataclasses.replace(evil, model_id=stranger.model_id("evil"))
    evil_id = stranger.record_run(evil).record_id

    assert registry.lineage("tuned", "2.0").to_dict() == before_lineage
    assert check_use(registry.lineage("tuned", "2.0"), use="academic", at_time=1).to_dict() == before_verdict
    used = registry.models_trained_on("alpha", 1)
    assert [u.to_dict() for u in used if u.recorded.record_id != evil_id] == before_used
    assert [u.label for u in used if u.recorded.record_id == evil_id] == ["evil@1"]  # the one new line
    assert not used.unreadable
    derived = models_derived_from(registry, registry.model_id("base"), "1.0")
    assert sorted(d.label for d in derived) == ["evil@1", "tuned@2.0"]
    # the stranger's model stands on a pii-retracted DataNet version and a retracted parent: blocked
    theirs = check_use(registry.lineage(stranger.model_id("evil"), "1"), use="academic", at_time=1)
    assert theirs.decision == "blocked" and [m.model for m in theirs.model_retractions] == ["base@1.0"]

    idx = Index(tmp_path / "i.sqlite", default_owner=owner)
    idx.sync(registry)
    assert idx.lineage("tuned", "2.0").to_dict() == before_lineage
    iused = idx.models_trained_on("alpha", 1)
    assert [u.to_dict() for u in iused if u.recorded.record_id != evil_id] == before_used
    assert len(iused) == len(before_used) + 1
