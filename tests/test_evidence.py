"""Evidence bundles (issue 13): built on anvil and on eth-tester, checked offline against trusted block hashes.

- anvil: `provenance evidence` writes a bundle with receipt and storage proofs; after the node is stopped,
  `verify-evidence` passes against the newest block hash noted before stopping and fails against another;
- the demo on anvil: `prove-contribution` for one of its DataNet's files verifies offline;
- tampering: one hex digit of any long field (record bytes, proof nodes, headers, terms, ...) changed at
  random is always caught as an EvidenceError (never another exception, so never a traceback);
- eth-tester: no eth_getProof there, so its bundles carry receipt proofs only (rebuilt from its receipts),
  and verify when the auditor names the registry.
"""

from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from provenance_ledger.chain.abi import registry_abi
from provenance_ledger.chain.client import Registry
from provenance_ledger.chain.evidence import EvidenceBuilder, dumps
from provenance_ledger.chain.rpc import ANVIL_DEV_KEYS, connect
from provenance_ledger.core.evidence import (
    EVENT_SIGNATURES,
    EvidenceError,
    event_topic,
    load_bundle,
    verify_bundle,
)
from provenance_ledger.core.manifest import file_proof
from provenance_ledger.local.fingerprint import fingerprint
from tests.conftest import AnvilNode, make_run, run_cli, seed_registry

CODE_HASH = registry_abi().code_hash


def _chain_story(reg: Registry) -> dict[str, Any]:
    """A lineage with an individually recorded parent, an anchored child, and a retraction."""
    base = reg.record_run(make_run("base", "1.0"))
    batch = reg.anchor_runs(
        [make_run("tuned", "2.0", parents=(base.record_id,), uses=[("alpha", 2, 1_000_000)]), make_run("tuned", "2.1")]
    )
    reg.retract_datanet_version("beta", 1, reason="licence", note="https://example.org/why")
    return {"base": base.record_id, "batch": batch}


def _head_hash(w3: Any) -> str:
    return "0x" + bytes(w3.eth.get_block("latest")["hash"]).hex()


def _env(tmp_path: Path, url: str, registry: str) -> dict[str, str | None]:
    return {
        "PROVENANCE_CONFIG": str(tmp_path / "config.json"),
        "PROVENANCE_RPC_URL": url,
        "PROVENANCE_REGISTRY": registry,
        "PROVENANCE_PRIVATE_KEY": ANVIL_DEV_KEYS[0],
        "PROVENANCE_MANIFESTS": str(tmp_path / "manifests"),
    }


def test_event_signatures_match_the_artifact() -> None:
    events = registry_abi().events
    for name in EVENT_SIGNATURES:
        assert event_topic(name) == events[name].topic0


# --------------------------------------------------------------------------- anvil


@pytest.mark.anvil
def test_anvil_bundle_verifies_offline_after_the_node_stops(tmp_path: Path, anvil: AnvilNode) -> None:
    w3 = connect(anvil.url)
    reg = Registry.deploy(w3, Account.from_key(ANVIL_DEV_KEYS[0]))
    seed_registry(reg)
    _chain_story(reg)
    env = _env(tmp_path, anvil.url, reg.address)
    out = tmp_path / "bundle.json"
    made = run_cli("evidence", "tuned@2.0", "--out", str(out), "--json", env=env)
    assert made.returncode == 0, made.stderr
    summary = json.loads(made.stdout)
    assert summary["storage_proofs"] > 0 and summary["receipt_proofs"] > 0 and summary["retractions"] == 1
    trusted = _head_hash(w3)  # noted before stopping
    assert summary["newest_block_hash"] == trusted
    anvil.stop()

    ok = run_cli("verify-evidence", str(out), "--trusted-block", trusted, "--json", env={"PROVENANCE_RPC_URL": None})
    assert ok.returncode == 0, ok.stderr
    result = json.loads(ok.stdout)
    assert result["verified"] is True and result["state_block"] is not None
    runs = result["lineage"]["runs"]
    assert [r["version"] for r in runs] == ["2.0", "1.0"]
    assert runs[0]["anchor_root"] is not None and runs[1]["anchor_root"] is None
    assert reg.signer is not None and runs[1]["recorder"] == reg.signer.address
    assert [r["label"] for r in result["lineage"]["retracted"]] == ["beta@1"]

    human = run_cli("verify-evidence", str(out), "--trusted-block", trusted, "--tree")
    assert human.returncode == 0 and "verified" in human.stdout and "tuned" in human.stdout

    wrong = "0x" + "ab" * 32
    bad = run_cli("verify-evidence", str(out), "--trusted-block", wrong)
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: trusted block:") and bad.stderr.count("\n") == 1
    assert "Traceback" not in bad.stderr

    # One altered digit of the record bytes: named, one line, exit 1.
    data = json.loads(out.read_text())
    rec = data["records"][0]["record"]
    data["records"][0]["record"] = rec[:100] + ("0" if rec[100] != "0" else "1") + rec[101:]
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(data))
    bad = run_cli("verify-evidence", str(tampered), "--trusted-block", trusted)
    assert bad.returncode == 1 and bad.stderr.startswith("error: record: ") and "Traceback" not in bad.stderr


@pytest.mark.anvil
def test_demo_contribution_proof_verifies_offline(tmp_path: Path, anvil: AnvilNode) -> None:
    from provenance_ledger.cli.demo import run_demo

    w3 = connect(anvil.url)
    work = tmp_path / "demo"
    work.mkdir()
    facts = run_demo(Console(file=io.StringIO()), workdir=work, w3=w3)
    folder = work / "openwiki-en-v2"
    manifest = fingerprint(folder)
    (tmp_path / "openwiki.manifest.json").write_bytes(manifest.to_json_bytes())
    file = next(folder.rglob("*.jsonl"))
    env = _env(tmp_path, anvil.url, str(facts["registry"]))
    out = tmp_path / "proof.json"
    made = run_cli(
        "prove-contribution",
        str(file),
        "--datanet",
        "openwiki-en@2",
        "--model",
        "acme-support@1.1",
        "--manifest",
        str(tmp_path / "openwiki.manifest.json"),
        "--out",
        str(out),
        "--json",
        env=env,
    )
    assert made.returncode == 0, made.stderr
    assert len(json.loads(made.stdout)["path"]) == 2  # acme-support@1.1 -> its parent acme-base@1.0
    trusted = _head_hash(w3)
    # A second provider may vouch for the block hashes (and is asked nothing else).
    second = run_cli("verify-evidence", str(out), "--rpc-url", anvil.url, "--json")
    assert second.returncode == 0, second.stderr

    # A file that is not in the version is refused before anything is written.
    stranger = tmp_path / "stranger.jsonl"
    stranger.write_text("not in the corpus\n")
    refused = run_cli(
        "prove-contribution",
        str(stranger),
        "--datanet",
        "openwiki-en@2",
        "--model",
        "acme-support@1.1",
        "--manifest",
        str(tmp_path / "openwiki.manifest.json"),
        "--out",
        str(tmp_path / "nope.json"),
        env=env,
    )
    assert refused.returncode == 1 and refused.stderr.startswith("error: ") and not (tmp_path / "nope.json").exists()
    anvil.stop()

    ok = run_cli("verify-evidence", str(out), "--trusted-block", trusted, "--json")
    assert ok.returncode == 0, ok.stderr
    c = json.loads(ok.stdout)["contribution"]
    assert c["datanet"] == "openwiki-en@2" and c["path_labels"] == ["acme-support@1.1", "acme-base@1.0"]
    assert c["file"]["path"] == file.relative_to(folder).as_posix()
    assert c["content_root"] == "0x" + manifest.root.hex()

    human = run_cli("verify-evidence", str(out), "--trusted-block", trusted)
    assert human.returncode == 0 and "contribution" in human.stdout

    # The file proof is checked: a proof of another file under this file's name fails.
    data = json.loads(out.read_text())
    other = next(f for f in manifest.files if f.path != c["file"]["path"])
    data["contribution"]["proof"] = file_proof(manifest, other.path).to_json()
    (tmp_path / "swapped.json").write_text(json.dumps(data))
    bad = run_cli("verify-evidence", str(tmp_path / "swapped.json"), "--trusted-block", trusted)
    assert bad.returncode == 1 and bad.stderr.startswith("error: file proof:")


# --------------------------------------------------------------------------- eth-tester


def test_eth_tester_bundle_has_receipt_proofs_only(registry: Registry) -> None:
    _chain_story(registry)
    bundle = EvidenceBuilder(registry).lineage_bundle("tuned", "2.0")
    assert bundle["state"] is None  # eth-tester has no eth_getProof
    assert bundle["receipts"] and all(r["proof"] for r in bundle["receipts"])
    trusted = [bytes(registry.w3.eth.get_block("latest")["hash"])]
    address = bytes.fromhex(registry.address[2:])
    result = verify_bundle(
        load_bundle(dumps(bundle)), trusted_blocks=trusted, registry_code_hash=CODE_HASH, registry=address
    )
    assert result.state_block is None and result.checks["receipts"] == len(bundle["receipts"])
    assert [n.label for _, n in result.lineage.walk()] == ["tuned@2.0", "base@1.0"]
    with pytest.raises(EvidenceError, match=r"^registry code: "):  # nothing shows the code at the address
        verify_bundle(load_bundle(dumps(bundle)), trusted_blocks=trusted, registry_code_hash=CODE_HASH)
    with pytest.raises(EvidenceError, match=r"^registry: "):
        verify_bundle(
            load_bundle(dumps(bundle)), trusted_blocks=trusted, registry_code_hash=CODE_HASH, registry=b"\x01" * 20
        )


def test_eth_tester_demo_contribution(tmp_path: Path) -> None:
    from provenance_ledger.chain.rpc import EMBEDDED
    from provenance_ledger.cli.demo import run_demo

    w3 = connect(EMBEDDED)
    facts = run_demo(Console(file=io.StringIO()), workdir=tmp_path, w3=w3)
    reg = Registry.at(w3, str(facts["registry"]), default_owner=w3.eth.accounts[0])
    folder = tmp_path / "openwiki-en-v2"
    manifest = fingerprint(folder)
    entry = manifest.files[3]
    did = reg.datanet_id("openwiki-en")
    bundle = EvidenceBuilder(
        reg, manifests=lambda info: manifest if info.datanet_id == did else None
    ).contribution_bundle(
        "acme-support", "1.1", datanet_id=did, datanet_version=2, entry=entry, proof=file_proof(manifest, entry.path)
    )
    path = tmp_path / "proof.json"
    path.write_text(dumps(bundle))
    head = "0x" + bytes(w3.eth.get_block("latest")["hash"]).hex()
    ok = run_cli("verify-evidence", str(path), "--trusted-block", head, "--registry", str(facts["registry"]), "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["contribution"]["file"]["path"] == entry.path
    no_registry = run_cli("verify-evidence", str(path), "--trusted-block", head)
    assert no_registry.returncode == 1 and no_registry.stderr.startswith("error: registry code:")


# --------------------------------------------------------------------------- tampering


@pytest.fixture(scope="module")
def anvil_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], bytes]:
    """A bundle made on anvil (storage and receipt proofs, an anchored batch, a retraction, a manifest),
    and the newest block hash; the node is stopped before any test uses them."""
    node = AnvilNode().start()
    try:
        w3 = connect(node.url)
        reg = Registry.deploy(w3, Account.from_key(ANVIL_DEV_KEYS[0]))
        seed_registry(reg)
        _chain_story(reg)
        reg.register_model("later-1")  # two blocks after the evidence: headers no proof needs
        reg.register_model("later-2")
        bundle = EvidenceBuilder(reg).lineage_bundle("tuned", "2.0")
        head = bytes(w3.eth.get_block("latest")["hash"])
    finally:
        node.stop()
    return bundle, head


@pytest.fixture(scope="module")
def demo_proof_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], bytes]:
    """A contributor's proof made on the demo's chain on anvil, with the DataNet version's manifest."""
    from provenance_ledger.cli.demo import run_demo

    work = tmp_path_factory.mktemp("demo")
    node = AnvilNode().start()
    try:
        w3 = connect(node.url)
        facts = run_demo(Console(file=io.StringIO()), workdir=work, w3=w3)
        reg = Registry.at(w3, str(facts["registry"]), default_owner=Account.from_key(ANVIL_DEV_KEYS[0]).address)
        manifest = fingerprint(work / "openwiki-en-v2")
        did = reg.datanet_id("openwiki-en")
        entry = manifest.files[-1]
        builder = EvidenceBuilder(reg, manifests=lambda info: manifest if info.datanet_id == did else None)
        bundle = builder.contribution_bundle(
            "acme-support",
            "1.1",
            datanet_id=did,
            datanet_version=2,
            entry=entry,
            proof=file_proof(manifest, entry.path),
        )
        head = bytes(w3.eth.get_block("latest")["hash"])
    finally:
        node.stop()
    return bundle, head


@pytest.fixture(scope="module")
def eth_tester_bundle() -> tuple[dict[str, Any], bytes, bytes]:
    """A receipts-only bundle from the embedded chain, its newest block hash and the registry address."""
    from provenance_ledger.chain.rpc import EMBEDDED, dev_keys

    w3 = connect(EMBEDDED)
    reg = Registry.deploy(w3, Account.from_key(dev_keys(w3)[0]))
    seed_registry(reg)
    _chain_story(reg)
    bundle = EvidenceBuilder(reg).lineage_bundle("tuned", "2.0")
    return bundle, bytes(w3.eth.get_block("latest")["hash"]), bytes.fromhex(reg.address[2:])


_HEX = re.compile(r"^(0x)?[0-9a-fA-F]{40,}$")


def _long_hex_fields(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in _long_hex_fields(v, (*path, k))]
    if isinstance(obj, list):
        return [p for i, v in enumerate(obj) for p in _long_hex_fields(v, (*path, i))]
    return [path] if isinstance(obj, str) and _HEX.match(obj) else []


def _verify(bundle: dict[str, Any], head: bytes, registry: bytes | None = None) -> Any:
    return verify_bundle(
        load_bundle(json.dumps(bundle)), trusted_blocks=[head], registry_code_hash=CODE_HASH, registry=registry
    )


@pytest.mark.anvil
def test_the_untampered_bundle_verifies(anvil_bundle: tuple[dict[str, Any], bytes]) -> None:
    bundle, head = anvil_bundle
    result = _verify(bundle, head)
    assert result.checks["storage_slots"] > 0 and result.checks["records"] == 2
    kinds = {p[0] for p in _long_hex_fields(bundle)}
    assert {"headers", "records", "receipts", "state", "datanet_versions", "models"} <= kinds


@pytest.mark.anvil
def test_the_untampered_contribution_verifies(demo_proof_bundle: tuple[dict[str, Any], bytes]) -> None:
    bundle, head = demo_proof_bundle
    result = _verify(bundle, head)
    assert result.contribution is not None and result.contribution["path_labels"][-1] == "acme-base@1.0"
    assert any(v["manifest"] is not None for v in bundle["datanet_versions"])


@pytest.mark.parametrize(
    "which",
    [
        pytest.param("anvil_bundle", marks=pytest.mark.anvil),
        pytest.param("demo_proof_bundle", marks=pytest.mark.anvil),
        "eth_tester_bundle",
    ],
)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_altered_hex_digit_is_caught(request: pytest.FixtureRequest, which: str, data: st.DataObject) -> None:
    bundle, head, *known = request.getfixturevalue(which)  # eth-tester: the auditor names the registry
    _verify(bundle, head, *known)  # untampered, it verifies (so each failure below is the alteration's)
    fields = _long_hex_fields(bundle)
    path = data.draw(st.sampled_from(fields), label="field")
    tampered = copy.deepcopy(bundle)
    parent = tampered
    for k in path[:-1]:
        parent = parent[k]
    text: str = parent[path[-1]]
    start = 2 if text.startswith("0x") else 0
    pos = data.draw(st.integers(start, len(text) - 1), label="position")
    old = int(text[pos], 16)
    new = data.draw(st.integers(0, 15).filter(lambda d: d != old), label="digit")
    parent[path[-1]] = text[:pos] + format(new, "x") + text[pos + 1 :]
    with pytest.raises(EvidenceError):
        _verify(tampered, head, *known)


@pytest.mark.anvil
def test_wrong_or_partial_trust_fails(anvil_bundle: tuple[dict[str, Any], bytes]) -> None:
    bundle, head = anvil_bundle
    with pytest.raises(EvidenceError, match=r"^trusted block: "):
        verify_bundle(load_bundle(json.dumps(bundle)), trusted_blocks=[b"\x11" * 32], registry_code_hash=CODE_HASH)
    # Several trusted blocks: each header must link to one of them.
    dropped = dict(bundle, headers=bundle["headers"][:-2] + bundle["headers"][-1:])  # a gap below the newest
    with pytest.raises(EvidenceError, match=r"^trusted block: "):
        verify_bundle(load_bundle(json.dumps(dropped)), trusted_blocks=[head], registry_code_hash=CODE_HASH)
    from provenance_ledger.core.evidence import header_fields

    below_gap = header_fields(bytes.fromhex(bundle["headers"][-3][2:]))[0]
    result = verify_bundle(
        load_bundle(json.dumps(dropped)), trusted_blocks=[head, below_gap], registry_code_hash=CODE_HASH
    )
    assert result.checks["headers"] == len(bundle["headers"]) - 1
    with pytest.raises(EvidenceError, match=r"^registry code: "):
        verify_bundle(load_bundle(json.dumps(bundle)), trusted_blocks=[head], registry_code_hash=b"\x00" * 32)


@pytest.mark.anvil
def test_storage_proofs_alone_verify_after_log_pruning(anvil_bundle: tuple[dict[str, Any], bytes]) -> None:
    """With every receipt gone (EIP-4444), the storage proofs still prove the records, names and DataNet
    versions; only the recorders and retractions (which live in logs alone) are then unknown."""
    bundle, head = anvil_bundle
    pruned = copy.deepcopy(bundle)
    pruned["receipts"], pruned["retractions"] = [], []
    for key in ("models", "datanets", "datanet_versions", "records"):
        for item in pruned[key]:
            item["log"] = None
    result = _verify(pruned, head)
    assert result.checks["receipts"] == 0 and result.checks["records"] == 2
    assert {n.recorder for _, n in result.lineage.walk()} == {"(no receipt in the bundle)"}
    assert result.lineage.retracted == []


@pytest.mark.anvil
def test_a_proof_node_off_the_path_is_refused(anvil_bundle: tuple[dict[str, Any], bytes]) -> None:
    bundle, head = anvil_bundle
    padded = copy.deepcopy(bundle)
    padded["receipts"][0]["proof"].append(bundle["receipts"][-1]["proof"][-1])  # a real node, of another key
    if padded["receipts"][0]["proof"][-1] in bundle["receipts"][0]["proof"]:
        padded["receipts"][0]["proof"].append(bundle["state"]["account_proof"][-1])
    with pytest.raises(EvidenceError, match=r"^proof: .*off the proven path"):
        _verify(padded, head)


def test_unreadable_bundles_are_one_error_line(tmp_path: Path) -> None:
    cases = {"not-json.json": "{", "wrong-format.json": json.dumps({"format": "other/1"}), "list.json": "[]"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        got = run_cli("verify-evidence", str(tmp_path / name), "--trusted-block", "0x" + "00" * 32)
        assert got.returncode == 1 and got.stderr.startswith("error: bundle: ") and got.stderr.count("\n") == 1
    missing = run_cli("verify-evidence", str(tmp_path / "absent.json"), "--trusted-block", "0x" + "00" * 32)
    assert missing.returncode == 1 and missing.stderr.startswith("error: ")
    bad_hash = run_cli("verify-evidence", str(tmp_path / "list.json"), "--trusted-block", "0x1234")
    assert bad_hash.returncode == 1 and "--trusted-block" in bad_hash.stderr
