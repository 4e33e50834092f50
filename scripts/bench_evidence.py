"""Evidence bundles: size, build time and offline verification time for the demo's model.

Runs the demo (`provenance demo`'s story, real files and content roots) on a fresh anvil and on the
embedded eth-tester chain, builds the bundle of acme-support@1.1 (with its DataNet manifests), stops
anvil, then verifies the bundle offline (``verify_bundle``, pure) ``--repeat`` times.

    .venv/bin/python scripts/bench_evidence.py            # print the table
    .venv/bin/python scripts/bench_evidence.py --write    # and replace the section in BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks_md import BENCHMARKS, write_section
from rich.console import Console

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TITLE = "## Evidence bundles"


def measure(kind: str, repeat: int) -> dict[str, object]:
    from provenance_ledger.chain.abi import registry_abi
    from provenance_ledger.chain.client import Registry
    from provenance_ledger.chain.evidence import EvidenceBuilder, dumps
    from provenance_ledger.chain.rpc import EMBEDDED, connect
    from provenance_ledger.cli.demo import run_demo
    from provenance_ledger.core.evidence import load_bundle, verify_bundle
    from provenance_ledger.local.fingerprint import fingerprint
    from tests.conftest import AnvilNode

    work = Path(tempfile.mkdtemp(prefix="bench-evidence-"))
    node = AnvilNode().start() if kind == "anvil" else None
    try:
        w3 = connect(node.url if node is not None else EMBEDDED)
        facts = run_demo(Console(file=io.StringIO()), workdir=work, w3=w3)
        reg = Registry.at(w3, str(facts["registry"]), default_owner=w3.eth.accounts[0])
        manifests = {m.manifest_hash: m for m in (fingerprint(p) for p in sorted(work.glob("*-v[0-9]")))}
        t0 = time.perf_counter()
        bundle = EvidenceBuilder(reg, manifests=lambda info: manifests.get(info.manifest_hash)).lineage_bundle(
            "acme-support", "1.1"
        )
        build = time.perf_counter() - t0
        head = bytes(w3.eth.get_block("latest")["hash"])
    finally:
        if node is not None:
            node.stop()
    text = dumps(bundle)
    registry = None if bundle["state"] is not None else bytes.fromhex(reg.address[2:])
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        verify_bundle(
            load_bundle(text), trusted_blocks=[head], registry_code_hash=registry_abi().code_hash, registry=registry
        )
        times.append(time.perf_counter() - t0)
    without_manifests = len(
        json.dumps(
            {**bundle, "datanet_versions": [dict(v, manifest=None) for v in bundle["datanet_versions"]]},
            indent=1,
            sort_keys=True,
        )
    )
    return {
        "chain": kind,
        "bytes": len(text),
        "bytes_no_manifests": without_manifests,
        "headers": len(bundle["headers"]),
        "receipts": len(bundle["receipts"]),
        "slots": 0 if bundle["state"] is None else len(bundle["state"]["slots"]),
        "build_ms": build * 1000,
        "verify_ms": statistics.median(times) * 1000,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=21)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    rows = [measure(kind, args.repeat) for kind in ("anvil", "eth-tester")]
    lines = [
        f"`scripts/bench_evidence.py`: the bundle of the demo's acme-support@1.1 (2 runs, 3 DataNet versions with their "
        f"manifests); verification is the pure `verify_bundle` (median of {args.repeat}), offline, the node stopped.",
        "",
        "| chain | bundle | without manifests | headers | receipt proofs | storage proofs | build | verify |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines.extend(
        f"| {r['chain']} | {r['bytes']:,} B | {r['bytes_no_manifests']:,} B | {r['headers']} | {r['receipts']} | "
        f"{r['slots']} | {r['build_ms']:.0f} ms | {r['verify_ms']:.1f} ms |"
        for r in rows
    )
    lines += [
        "",
        "eth-tester has no `eth_getProof`: its bundles carry receipt proofs only (see docs/AUDITING.md).",
    ]
    body = "\n".join(lines)
    print(body)
    if args.write:
        write_section(BENCHMARKS, TITLE, body)


if __name__ == "__main__":
    main()
