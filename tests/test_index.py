"""The local SQLite index: same answers as the logs, incremental, reorg-safe, verified on read."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account

from provenance_ledger.chain.abi import registry_abi
from provenance_ledger.chain.client import Registry
from provenance_ledger.chain.rpc import ANVIL_DEV_KEYS, connect, dev_keys
from provenance_ledger.core.canonical import decode_run, encode_run, parse_record, record_id
from provenance_ledger.errors import NotFoundError, ValidationError, VerificationError
from provenance_ledger.index.store import Index, _run_recorded
from tests.conftest import current_owner, make_run, seed_registry
from tests.test_cli import Cli

TABLES = ("runs", "datanet_uses", "parents", "models", "datanets", "datanet_versions", "anchors", "blocks", "trainers")


def _anvil_registry(url: str) -> Registry:
    w3 = connect(url)
    reg = Registry.deploy(w3, Account.from_key(dev_keys(w3)[0]))
    seed_registry(reg)
    return reg


def _populate(reg: Registry) -> dict[str, bytes]:
    """Individually recorded runs, a recorded batch, an anchored batch (with a parent inside it), a
    trainer authorised and revoked: every event kind."""
    base = reg.record_run(make_run()).record_id
    tuned = reg.record_run(make_run("tuned", "2.0", parents=(base,), uses=[("beta", 1, 1_000_000)])).record_id
    reg.authorize_trainer("base", "0x" + "22" * 20)
    reg.revoke_trainer("base", "0x" + "22" * 20)
    b11, t21 = make_run("base", "1.1", uses=[("alpha", 1, 1_000_000)]), None
    t21 = make_run("tuned", "2.1", parents=(tuned, record_id(b11)), uses=[("alpha", 2, 500_000), ("beta", 1, 500_000)])
    reg.record_runs([b11, t21])
    a1 = make_run("base", "3.0", uses=[("alpha", 1, 1_000_000)])
    a2 = make_run("tuned", "3.1", parents=(record_id(a1), base), uses=[("beta", 1, 1_000_000)])
    a3 = make_run("tuned", "3.1", parents=(record_id(t21),), uses=[("alpha", 2, 1_000_000)], started_at=5)
    root = reg.anchor_runs([a1, a2, a3]).root
    return {
        "base": base,
        "tuned": tuned,
        "b11": record_id(b11),
        "t21": record_id(t21),
        "a1": record_id(a1),
        "a2": record_id(a2),
        "a3": record_id(a3),
        "root": root,
    }


REFS = [("base", "1.0"), ("tuned", "2.0"), ("base", "1.1"), ("tuned", "2.1"), ("base", "3.0"), ("tuned", "3.1")]
USES: list[tuple[str, int | None]] = [("alpha", None), ("alpha", 1), ("alpha", 2), ("beta", None), ("beta", 1)]


@pytest.fixture
def reg(anvil) -> Registry:
    return _anvil_registry(anvil.url)


# ------------------------------------------------------------------- same answers as the logs


@pytest.mark.anvil
def test_lineage_and_used_by_from_the_index_equal_those_from_logs(reg: Registry, tmp_path: Path) -> None:
    ids = _populate(reg)
    idx = Index(tmp_path / "i.sqlite", default_owner=current_owner)
    r = idx.sync(reg)
    assert r.records == 7 and r.rewound_to is None and r.to_block == reg.w3.eth.block_number
    for model, version in REFS:
        assert idx.lineage(model, version) == reg.lineage(model, version), (model, version)
        assert idx.runs_of(model, version) == reg.runs_of(model, version)
    for datanet, version in USES:
        assert idx.models_trained_on(datanet, version) == reg.models_trained_on(datanet, version), (datanet, version)
    for rid in ids.values():
        if rid != ids["root"]:
            assert idx.get_run(rid) == reg.get_run(rid)
            assert idx.children_of(rid) == reg.children_of(rid)
    anchored = idx.get_run(ids["a2"])
    assert anchored.anchor_root == ids["root"] and anchored.anchor_proof
    assert idx.datanet_version("alpha", 2) == reg.datanet_version("alpha", 2)
    assert idx.datanet_versions("alpha") == reg.datanet_versions("alpha")
    assert idx.model_info("tuned") == reg.model_info("tuned")
    assert idx.datanet_use_records("alpha") == reg.datanet_use_records("alpha")
    assert set(idx.ancestors("tuned", "3.1")) == {ids[k] for k in ("a2", "a3", "a1", "base", "t21", "tuned", "b11")}
    assert idx.status().counts["trainers"] == 2
    with pytest.raises(NotFoundError, match="not registered"):
        idx.lineage("nobody", "1.0")
    with pytest.raises(NotFoundError, match="no training run"):
        idx.lineage("base", "9.9")
    with pytest.raises(NotFoundError, match="not registered"):
        idx.models_trained_on("gamma")
    with pytest.raises(NotFoundError, match="has no version 7"):
        idx.datanet_version("alpha", 7)
    assert idx.is_fresh(reg)


def test_index_on_the_embedded_chain(registry: Registry, tmp_path: Path) -> None:
    _populate(registry)
    idx = Index(tmp_path / "i.sqlite", default_owner=current_owner)
    assert idx.sync(registry).records == 7
    for model, version in REFS:
        assert idx.lineage(model, version) == registry.lineage(model, version)
    assert idx.models_trained_on("alpha") == registry.models_trained_on("alpha")


def test_lineage_and_reverse_queries_scan_no_table(tmp_path: Path) -> None:
    plans = Index(tmp_path / "i.sqlite", default_owner=current_owner).query_plans()
    assert set(plans) >= {"lineage", "descendants", "descendants_of_version", "runs_of", "get_run", "uses", "children"}
    for name, plan in plans.items():
        scans = [line for line in plan if line.startswith("SCAN")]
        assert all(line.split()[1] in ("anc", "down") for line in scans), (name, plan)  # only the CTE queue
        assert any("USING" in line for line in plan), (name, plan)


# ------------------------------------------------------------------------------ incremental


@pytest.mark.anvil
def test_incremental_sync_reads_only_new_blocks(reg: Registry, tmp_path: Path) -> None:
    idx = Index(tmp_path / "i.sqlite", default_owner=current_owner)
    first = idx.sync(reg)
    assert first.records == 0 and first.events == 7  # the seed: 2 models, 2 DataNets, 3 DataNet versions
    assert idx.status().counts["datanet_versions"] == 3
    runs = [
        reg.record_run(make_run("base", f"1.{i}", uses=[("alpha", 1, 400_000), ("beta", 1, 600_000)])) for i in range(3)
    ]
    second = idx.sync(reg)
    assert second.from_block == first.to_block + 1
    assert (
        second.records == 3 and second.events == 3
    )  # each run's RunRecorded (its uses and parents come from the record)
    assert second.blocks == second.to_block - first.to_block
    assert {r.record_id for r in idx.runs_of("base", "1.2")} == {runs[2].record_id}
    third = idx.sync(reg)
    assert (third.blocks, third.events, third.records) == (0, 0, 0)
    reg.record_run(make_run("base", "9.0"))
    assert not idx.is_fresh(reg)
    assert idx.sync(reg).records == 1 and idx.is_fresh(reg)
    with Index(tmp_path / "i.sqlite", default_owner=current_owner) as reopened:  # state survives a reopen
        assert reopened.last_block == idx.last_block and reopened.status().counts == idx.status().counts


@pytest.mark.anvil
def test_an_index_serves_one_registry(reg: Registry, tmp_path: Path) -> None:
    idx = Index(tmp_path / "i.sqlite", default_owner=current_owner)
    idx.sync(reg)
    other = Registry.deploy(reg.w3, Account.from_key(ANVIL_DEV_KEYS[1]))
    assert not idx.indexes(other) and not idx.is_fresh(other)
    with pytest.raises(ValidationError, match="indexes registry"):
        idx.sync(other)


# ------------------------------------------------------------------------------------ reorgs


def _rpc(reg: Registry, method: str, *params: Any) -> Any:
    return reg.w3.provider.make_request(method, list(params))["result"]


@pytest.mark.anvil
@pytest.mark.parametrize(("n_a", "n_b"), [(3, 2), (3, 5), (20, 1), (3, 0)])
def test_reorg_drops_orphaned_records(reg: Registry, tmp_path: Path, n_a: int, n_b: int) -> None:
    idx = Index(tmp_path / "i.sqlite", default_owner=current_owner)
    idx.sync(reg)
    kept = reg.record_run(make_run("base", "keep")).record_id
    snapshot = _rpc(reg, "evm_snapshot")
    fork_block = reg.w3.eth.block_number + 1
    a = [reg.record_run(make_run("base", f"a{i}")).record_id for i in range(n_a)]
    assert idx.sync(reg).records == n_a + 1
    a_hashes = {n: reg.w3.eth.get_block(n)["hash"] for n in range(fork_block, fork_block + min(n_a, n_b))}

    assert _rpc(reg, "evm_revert", snapshot) is True
    assert reg.signer is not None
    reg.signer._nonce = None  # the chain forgot A's transactions
    b = [reg.record_run(make_run("tuned", f"b{i}", uses=[("beta", 1, 1_000_000)])).record_id for i in range(n_b)]
    assert all(reg.w3.eth.get_block(n)["hash"] != h for n, h in a_hashes.items())  # same numbers, new blocks

    r = idx.sync(reg)
    assert r.rewound_to == fork_block
    assert r.records == n_b
    for rid in a:
        with pytest.raises(NotFoundError):
            idx.get_run(rid)
    assert [x.record_id for x in (idx.get_run(rid) for rid in b)] == b
    assert idx.get_run(kept).record_id == kept
    assert idx.status().counts["runs"] == 1 + n_b
    assert idx.runs_of("base", "a0") == []
    assert idx.last_block == reg.w3.eth.block_number and idx.is_fresh(reg)
    fresh = Index(tmp_path / "fresh.sqlite", default_owner=current_owner)
    fresh.sync(reg)
    for table in TABLES:  # the rewound index equals one built from scratch on the new chain
        assert _dump(idx, table) == _dump(fresh, table), table


def _dump(idx: Index, table: str) -> list[Any]:
    cols = (
        "*"
        if table != "runs"
        else "record_id, model_id, version_key, model_version, block, tx_hash, log_index, record, recorder, anchor_root"
    )
    return sorted(idx._db.execute(f"SELECT {cols} FROM {table}").fetchall())


@pytest.mark.anvil
def test_confirmations_keep_the_newest_blocks_out(reg: Registry, tmp_path: Path) -> None:
    ids = [reg.record_run(make_run("base", f"c{i}")).record_id for i in range(4)]  # one block each
    head = reg.w3.eth.block_number
    idx = Index(tmp_path / "i.sqlite", default_owner=current_owner)
    r = idx.sync(reg, confirmations=2)
    assert r.to_block == idx.last_block == head - 2
    assert [idx.get_run(rid).record_id for rid in ids[:2]] == ids[:2]
    for rid in ids[2:]:
        with pytest.raises(NotFoundError):
            idx.get_run(rid)
    assert idx.is_fresh(reg)  # fresh with the confirmations it was synced with
    assert not idx.is_fresh(reg, confirmations=0)
    assert idx.sync(reg, confirmations=2).blocks == 0
    assert idx.sync(reg).records == 2
    assert idx.is_fresh(reg, confirmations=0)


# ------------------------------------------------------------------------ verified on read


@pytest.mark.anvil
def test_a_tampered_row_is_detected_on_read(reg: Registry, tmp_path: Path) -> None:
    ids = _populate(reg)
    path = tmp_path / "i.sqlite"
    Index(path, default_owner=current_owner).sync(reg).records  # noqa: B018
    db = sqlite3.connect(path)
    (record,) = db.execute("SELECT record FROM runs WHERE record_id = ?", (ids["base"],)).fetchone()
    forged = bytes(record).replace(b"length_filter", b"length_fi1ter")
    db.execute("UPDATE runs SET record = ? WHERE record_id = ?", (forged, ids["base"]))
    db.execute("UPDATE runs SET model_version = '9.9' WHERE record_id = ?", (ids["b11"],))
    (tree,) = db.execute("SELECT tree FROM anchors").fetchone()  # leaves a1, a2, a3, then the levels above
    db.execute("UPDATE anchors SET tree = ?", (bytes(tree)[:32] + b"\0" * 32 + bytes(tree)[64:],))
    db.commit()
    db.close()

    idx = Index(path, default_owner=current_owner)
    with pytest.raises(VerificationError, match="do not hash to its id"):
        idx.get_run(ids["base"])
    with pytest.raises(VerificationError):
        idx.lineage("tuned", "2.0")  # base is its parent
    with pytest.raises(VerificationError, match="disagree"):
        idx.get_run(ids["b11"])
    with pytest.raises(VerificationError, match="proof does not reach its anchored root"):
        idx.get_run(ids["a1"])  # its sibling was altered
    with pytest.raises(VerificationError, match="not in its anchored batch"):
        idx.get_run(ids["a2"])  # its leaf was altered
    with pytest.raises(VerificationError):
        idx.models_trained_on("alpha")
    assert idx.get_run(ids["tuned"]).record_id == ids["tuned"]  # untouched rows still read


# --------------------------------------------------------------------------- decoding helpers


def test_fast_decoders_agree_with_eth_abi() -> None:
    events = registry_abi().events
    run = make_run("tuned", "2.0-rc.1+βeta", parents=(b"\x01" * 32,))
    record = encode_run(run)
    data = abi_encode(["address", "bytes"], ["0x" + "ab" * 20, record])
    decoded = events["RunRecorded"].decode([events["RunRecorded"].topic0, b"\0" * 32, b"\0" * 32, b"\0" * 32], data)
    recorder, got = _run_recorded(data)
    assert got == bytes(decoded["record"]) == record and "0x" + recorder.hex() == decoded["recorder"].lower()
    model_id, version, weights, parents, uses, _details = parse_record(record)
    assert version == run.model_version == decode_run(record).model_version
    assert (model_id, weights, parents) == (run.model_id, run.weights_digest, run.parents)
    assert uses == tuple((u.datanet_id, u.version, u.weight_ppm) for u in run.datanets)
    with pytest.raises(ValidationError):
        parse_record(b"\x00" * 31)
    with pytest.raises(ValidationError):
        parse_record(record + b"\x00" * 32)


def test_missing_index_and_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no index"):
        Index(tmp_path / "absent.sqlite", create=False)
    idx = Index(tmp_path / "i.sqlite", default_owner=current_owner)
    assert idx.last_block is None and idx.status().counts["runs"] == 0
    with pytest.raises(NotFoundError):
        idx.get_run(b"\1" * 32)


# ------------------------------------------------------------------------------------- CLI


@pytest.mark.anvil
def test_cli_index_sync_status_and_lineage_from_the_index(anvil, tmp_path: Path) -> None:
    reg = _anvil_registry(anvil.url)
    ids = _populate(reg)
    cli = Cli(tmp_path, anvil.url)
    cli.env["PROVENANCE_REGISTRY"] = reg.address

    status = cli("index", "status", ok=False)
    assert status.returncode == 1 and "provenance index sync" in status.stderr
    synced = cli.json("index", "sync")
    assert isinstance(synced, dict) and synced["records"] == 7 and synced["to_block"] == reg.w3.eth.block_number
    assert (tmp_path / ".provenance" / "index-31337.sqlite").exists()
    st = cli.json("index", "status")
    assert isinstance(st, dict) and st["fresh"] is True and st["counts"]["runs"] == 7
    human = cli("index", "sync")
    assert "Already up to date" in human.stdout

    for args in (("lineage", "tuned@3.1"), ("used-by", "alpha")):
        assert cli.json(*args) == cli.json(*args, "--no-index"), args

    # Proof that the index is what answers: alter it, and only the index-backed read notices.
    db = sqlite3.connect(tmp_path / ".provenance" / "index-31337.sqlite")
    db.execute("UPDATE runs SET record = ? WHERE record_id = ?", (b"\0" * 64, ids["base"]))
    db.commit()
    db.close()
    broken = cli("lineage", "tuned@2.0", ok=False)
    assert broken.returncode == 1 and "do not hash to its id" in broken.stderr
    assert json.loads(cli("lineage", "tuned@2.0", "--no-index", "--json").stdout)["model"] == "tuned"

    # A few blocks behind: the index catches up first (an incremental sync), then answers.
    db = sqlite3.connect(tmp_path / ".provenance" / "index-31337.sqlite")
    db.execute("DELETE FROM runs WHERE record_id = ?", (ids["base"],))  # drop the altered row...
    db.execute("UPDATE meta SET value = ? WHERE key = 'last_block'", (str(reg.record_block(ids["base"]) - 1),))
    db.commit()  # ...and rewind, so the catch-up reads it again from the chain
    db.close()
    new = reg.record_run(make_run("base", "4.0")).record_id
    caught_up = cli.json("lineage", "base@4.0")
    assert isinstance(caught_up, dict) and caught_up["targets"] == ["0x" + new.hex()]
    st = cli.json("index", "status")
    assert isinstance(st, dict) and st["fresh"] is True and st["counts"]["runs"] == 8
    assert cli.json("lineage", "tuned@2.0") == cli.json("lineage", "tuned@2.0", "--no-index")

    # Far behind: the index is bypassed, with a note, and the logs answer.
    reg.w3.provider.make_request("anvil_mine", [hex(1_500)])
    fallback = cli("lineage", "tuned@2.0", "--json")
    assert "behind the chain" in fallback.stderr and json.loads(fallback.stdout)["model"] == "tuned"
    st = cli.json("index", "status")
    assert isinstance(st, dict) and st["fresh"] is False
    assert cli.json("index", "sync")["blocks"] == 1_500  # type: ignore[index]
    assert cli.json("index", "status")["fresh"] is True  # type: ignore[index]


def test_a_file_that_is_not_an_index_is_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ValidationError, match="not a usable index"):
        Index(junk)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 31, 250])
def test_stored_tree_levels_give_the_registry_proofs(n: int) -> None:
    from eth_utils import keccak

    from provenance_ledger.core.merkle import (
        merkle_levels_of_ids,
        merkle_proof_of_id,
        merkle_root_of_ids,
        proof_from_levels,
        verify_proof_of_id,
    )
    from provenance_ledger.index.store import _split_levels

    ids = [keccak(text=str(i)) for i in range(n)]
    levels = merkle_levels_of_ids(ids)
    assert levels[-1] == [merkle_root_of_ids(ids)]
    blob = b"".join(b"".join(level) for level in levels)
    assert _split_levels(n, blob) == levels
    assert _split_levels(n, blob + b"\0") is None and _split_levels(n + 1, blob) is None
    for i in (0, n // 2, n - 1):
        assert proof_from_levels(levels, i) == merkle_proof_of_id(ids, i)
        assert verify_proof_of_id(levels[-1][0], ids[i], proof_from_levels(levels, i))
