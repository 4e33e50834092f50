"""`provenance demo`: the whole story on the embedded chain, with real files and real content roots.

Two DataNets with two versions each; a base model trained on a weighted mix; a fine-tune of it on a
filtered, partitioned DataNet version; then the two questions this product exists to answer.
"""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

from eth_account import Account
from rich.console import Console
from rich.panel import Panel
from web3 import Web3

from provenance_ledger.chain.client import Registry
from provenance_ledger.chain.rpc import EMBEDDED, connect, dev_keys
from provenance_ledger.core.attribution import attribution, split
from provenance_ledger.core.canonical import encode_run, entity_id
from provenance_ledger.core.licensing import check_use
from provenance_ledger.core.records import CodeRef, DatanetUse, Partition, PreprocessingStep, TrainingRun
from provenance_ledger.local.fingerprint import fingerprint
from provenance_ledger.report import terminal as render
from provenance_ledger.report.safe import markup

__all__ = [
    "run_demo",
]

# Fixed inputs: the demo is deterministic (same files, same roots, same record hashes every run).
_SEED = 20261124
_T0 = 1_764_000_000


def _write_corpus(root: Path, name: str, version: int, n_files: int, rng: random.Random) -> Path:
    """Generate a small, deterministic DataNet version as JSONL files."""
    folder = root / f"{name}-v{version}"
    for i in range(n_files):
        sub = folder / ("tickets" if "ticket" in name else "articles")
        sub.mkdir(parents=True, exist_ok=True)
        lines = []
        for j in range(20 + rng.randrange(20)):
            words = " ".join(
                rng.choice(["model", "data", "token", "support", "refund", "wiki", "river", "graph"])
                for _ in range(30 + rng.randrange(200))
            )
            lines.append(json.dumps({"id": f"{name}-{version}-{i}-{j}", "text": words}))
        (sub / f"part-{i:04d}.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def _weights(root: Path, name: str, rng: random.Random) -> Path:
    folder = root / "weights" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.safetensors").write_bytes(rng.randbytes(256 * 1024))
    (folder / "config.json").write_text(json.dumps({"arch": "decoder", "layers": 12}))
    return folder


def run_demo(console: Console | None = None, workdir: Path | None = None, w3: Web3 | None = None) -> dict[str, object]:
    """Run the demo (on ``w3``, by default a fresh embedded chain); returns the key facts (used by the tests)."""
    console = console or Console()
    rng = random.Random(_SEED)
    tmp = tempfile.TemporaryDirectory(prefix="provenance-demo-") if workdir is None else None
    root = Path(tmp.name) if tmp is not None else Path(workdir)  # type: ignore[arg-type]
    say = console.print

    say(Panel.fit("Provenance Ledger demo: an in-process EVM (eth-tester + py-evm), nothing to install or start"))
    w3 = connect(EMBEDDED) if w3 is None else w3
    keys = dev_keys(w3)
    owner, trainer, alice, bob, carol = (Account.from_key(k) for k in keys[:5])
    registry = Registry.deploy(w3, owner)
    say(
        f"Deployed ProvenanceRegistry {registry.version()} at {registry.address} (gas {registry.deploy_receipt.gas_used:,})"
    )

    # --- DataNets: two, each with two versions built from real files -----------------------
    licenses = {
        "openwiki-en": {
            "spdx": "CC-BY-SA-4.0",
            "commercial_use": True,
            "attribution_required": True,
            "attribution_notice": "Contains text from OpenWiki contributors, CC BY-SA 4.0",
            "share_alike": True,
        },
        "support-tickets": {
            "spdx": "CC-BY-4.0",
            "commercial_use": True,
            "attribution_required": True,
            "attribution_notice": "Support tickets (c) Acme Corp, CC BY 4.0",
            "share_alike": False,
            "prohibited_domains": ["surveillance"],
        },
    }
    contributors = {"openwiki-en": [(alice.address, 3), (bob.address, 1)], "support-tickets": [(carol.address, 1)]}
    published: dict[str, list[tuple[int, str]]] = {}
    for name in ("openwiki-en", "support-tickets"):
        registry.register_datanet(name)
        for version in (1, 2):
            folder = _write_corpus(root, name, version, 6 + 3 * version, rng)
            manifest = fingerprint(folder)
            v, tx = registry.publish_datanet_version(
                name,
                content_root=manifest.root,
                manifest_hash=manifest.manifest_hash,
                terms=licenses[name],
                contributors=contributors[name],
            )
            published.setdefault(name, []).append((v, "0x" + manifest.root.hex()))
            say(
                f"Published DataNet [bold]{name}@{v}[/bold]: {len(manifest.files)} files, content root 0x{manifest.root.hex()[:16]}…  (gas {tx.gas_used:,})"
            )

    # --- Models ------------------------------------------------------------------------------
    base_id, _ = registry.register_model("acme-base")
    tuned_id, _ = registry.register_model("acme-support")
    registry.authorize_trainer("acme-base", trainer.address)
    registry.authorize_trainer("acme-support", trainer.address)
    say(f"Registered models acme-base and acme-support; authorised trainer {trainer.address}")
    pipeline = Registry(w3, registry.address, trainer, from_block=registry.from_block, default_owner=owner.address)

    base_run = TrainingRun(
        model_id=base_id,
        model_version="1.0",
        weights_digest=fingerprint(_weights(root, "acme-base", rng)).root,
        datanets=(
            DatanetUse(
                datanet_id=entity_id(owner.address, "openwiki-en"),
                version=2,
                weight_ppm=700_000,
                partition=Partition(split="train"),
            ),
            DatanetUse(
                datanet_id=entity_id(owner.address, "support-tickets"),
                version=1,
                weight_ppm=300_000,
                partition=Partition(split="train"),
            ),
        ),
        preprocessing=(PreprocessingStep(op="dedupe", params={"method": "exact-sha256"}),),
        code=CodeRef(repo="git@example.org:acme/trainer.git", commit="4f1c2ab"),
        hyperparameters={"lr": 0.0003, "epochs": 3, "batch_size": 512},
        environment={"torch": "2.13.0", "gpus": "8xH100"},
        started_at=_T0,
        ended_at=_T0 + 86_400,
    )
    r1 = pipeline.record_run(base_run)
    assert r1.tx is not None
    say(
        f"Recorded base run acme-base@1.0: record {render.hx(r1.record_id)} block {r1.tx.block_number} gas {r1.tx.gas_used:,}"
    )

    tuned_run = TrainingRun(
        model_id=tuned_id,
        model_version="1.1",
        weights_digest=fingerprint(_weights(root, "acme-support", rng)).root,
        parents=(r1.record_id,),
        datanets=(
            DatanetUse(
                datanet_id=entity_id(owner.address, "support-tickets"),
                version=2,
                weight_ppm=1_000_000,
                partition=Partition(split="train", selector="tickets/*.jsonl", fraction_ppm=800_000, seed=7),
            ),
        ),
        preprocessing=(
            PreprocessingStep(op="dedupe", params={"method": "minhash", "threshold": 0.85, "num_perm": 128}),
            PreprocessingStep(op="length_filter", params={"min_chars": 200, "max_chars": 20_000}),
            PreprocessingStep(op="pii_scrub", params={"entities": ["email", "phone"]}),
        ),
        code=CodeRef(repo="git@example.org:acme/trainer.git", commit="9d0e7c1"),
        hyperparameters={"lr": 0.00005, "epochs": 2, "lora_rank": 16},
        environment={"torch": "2.13.0", "gpus": "1xH100"},
        started_at=_T0 + 172_800,
        ended_at=_T0 + 180_000,
    )
    r2 = pipeline.record_run(tuned_run)
    assert r2.tx is not None
    say(
        f"Recorded fine-tune acme-support@1.1: record {render.hx(r2.record_id)} block {r2.tx.block_number} gas {r2.tx.gas_used:,}"
    )
    again = pipeline.record_run(tuned_run)
    say(
        f"Recorded the same fine-tune again: same hash {again.record_id == r2.record_id}, "
        f"new transaction: {again.tx is not None} (records are write-once; the SDK is idempotent)"
    )
    say(f"Canonical record: {len(encode_run(tuned_run))} bytes, hash {render.hx(r2.record_id)}\n")

    # --- The questions -------------------------------------------------------------------------
    say(
        Panel.fit(
            "Q1: what exactly did acme-support@1.1 train on?  (rebuilt from event logs alone, every record re-hashed)"
        )
    )
    auditor = Registry(w3, registry.address, from_block=registry.from_block, default_owner=owner.address)
    lineage = auditor.lineage("acme-support", "1.1")
    say(render.lineage_table(lineage))
    say(render.lineage_tree(lineage))

    say(Panel.fit("Q2: which models used openwiki-en?  (reverse query, transitive through fine-tunes)"))
    usages = auditor.models_trained_on("openwiki-en")
    say(render.usage_table("openwiki-en", usages))

    say(Panel.fit("Q3: may acme-support@1.1 be used commercially in the medical domain?  (most restrictive terms win)"))
    verdict = check_use(lineage, use="commercial", domain="medical", at_time=_T0 + 200_000)
    for f in verdict.findings:
        say(f"  {markup(f.label):<20} via {markup(' → '.join(f.reached_via)):<34} {f.decision:<13} {markup(f.clause)}")
    for notice in verdict.notice_texts:
        say(f"  attribution owed: {markup(notice)}")
    if verdict.share_alike_required:
        say(f"  share-alike applies: {markup(', '.join(verdict.share_alike_licences))}")
    say(f"  [bold]verdict: {verdict.decision}[/bold]")

    say(Panel.fit("Q4: who gets what of a 1,000,003-unit reward for acme-support@1.1?  (exact integers)"))
    att = attribution(lineage)
    for d in att.datanets:
        say(f"  {markup(d.label):<20} {d.ppm / 10_000:>8.4f}%")
    payout = split(att, 1_000_003)
    for recipient, amount in payout:
        say(f"  {recipient}  {amount:>9,}")
    say(f"  total {sum(a for _, a in payout):,}")

    if tmp is not None:
        tmp.cleanup()
    return {
        "registry": registry.address,
        "base_record": r1.record_id,
        "tuned_record": r2.record_id,
        "duplicate_tx": again.tx,
        "lineage": lineage,
        "usages": usages,
        "published": published,
        "verdict": verdict,
        "payout": payout,
    }
