"""`provenance evidence`, `verify-evidence` and `prove-contribution`: lineages checked offline.

A bundle (``provenance-evidence/1``, docs/AUDITING.md) holds record bytes, anchored runs' Merkle paths,
receipt proofs, storage proofs and block headers; `verify-evidence` checks it with no node, against
block hashes the auditor trusts. Building is in :mod:`provenance_ledger.chain.evidence`, checking in
:mod:`provenance_ledger.core.evidence`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import click

from provenance_ledger.cli._common import Env, chain_options, console, emit, split_ref, stderr_console
from provenance_ledger.errors import NotFoundError, ProvenanceError, ValidationError
from provenance_ledger.report import safe

__all__ = [
    "evidence",
    "prove_contribution",
    "verify_evidence",
]


def _progress(quiet: bool) -> Any:
    def say(msg: str) -> None:
        if not quiet:
            stderr_console().print(f"{msg}…", style="dim", highlight=False, markup=False)

    return say


def _write(out: str, bundle: dict[str, Any]) -> int:
    from provenance_ledger.chain.evidence import dumps

    text = dumps(bundle)
    try:
        Path(out).write_text(text, encoding="ascii")
    except OSError as exc:
        raise ValidationError("--out", f"cannot write {out}: {exc.strerror or exc}") from None
    return len(text)


def _manifest_lookup(files: tuple[str, ...]) -> Any:
    from provenance_ledger.local.manifests import published_manifest, read_manifest

    given = [(f, read_manifest(f)) for f in files]

    def lookup(info: Any) -> Any:
        return published_manifest(info, given)[0]

    return lookup


def _summary(out: str, size: int, bundle: dict[str, Any]) -> dict[str, Any]:
    state = bundle["state"]
    newest, newest_hash = _newest(bundle)
    return {
        "out": out,
        "bytes": size,
        "format": bundle["format"],
        "kind": bundle["kind"],
        "model": bundle["target"]["model"],
        "version": bundle["target"]["version"],
        "records": len(bundle["records"]),
        "datanet_versions": len(bundle["datanet_versions"]),
        "manifests": sum(1 for v in bundle["datanet_versions"] if v["manifest"] is not None),
        "retractions": len(bundle["retractions"]),
        "receipt_proofs": len(bundle["receipts"]),
        "storage_proofs": 0 if state is None else len(state["slots"]),
        "headers": len(bundle["headers"]),
        "state_block": None if state is None else state["block"],
        "newest_block": newest,
        "newest_block_hash": newest_hash,
    }


def _print_summary(data: dict[str, Any]) -> None:
    console.print(
        f"wrote {safe.markup(data['out'])}: {data['bytes']:,} bytes, {data['records']} record(s), "
        f"{data['datanet_versions']} DataNet version(s) ({data['manifests']} with manifest), "
        f"{data['retractions']} retraction(s)",
        highlight=False,
    )
    storage = (
        f"{data['storage_proofs']} storage proofs at block {data['state_block']}"
        if data["state_block"] is not None
        else "no storage proofs (the node has no eth_getProof)"
    )
    console.print(
        f"proofs: {data['receipt_proofs']} receipt proofs, {storage}, {data['headers']} headers", highlight=False
    )
    console.print(
        f"newest header: block {data['newest_block']} {data['newest_block_hash']}\n"
        "check it with: provenance verify-evidence "
        f"{safe.markup(data['out'])} --trusted-block HASH (a hash you got from a source you trust)",
        highlight=False,
        soft_wrap=True,
    )


def _newest(bundle: dict[str, Any]) -> tuple[int, str]:
    from provenance_ledger.core.evidence import header_fields
    from provenance_ledger.core.hexutil import hexstr

    best = max((header_fields(bytes.fromhex(h[2:])) for h in bundle["headers"]), key=lambda f: f[4])
    return best[4], hexstr(best[0])


@click.command(
    epilog="Examples:\n\n    provenance evidence acme-support@1.1 --out acme-support-1.1.evidence.json\n\n"
    "    provenance evidence acme-support@1.1 --out bundle.json --block 19000000 --manifest openwiki.manifest.json\n\n"
    "The bundle is checked offline by `provenance verify-evidence` (or by hand: docs/AUDITING.md)."
)
@chain_options
@click.argument("ref", metavar="MODEL@VERSION")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Write the bundle (JSON) here.")
@click.option(
    "--block",
    type=click.IntRange(0),
    help="Block whose state the storage proofs are taken at, and newest header (default: the head).",
)
@click.option(
    "--manifest",
    "manifests",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="A DataNet version's manifest to include (repeatable; the local store is searched too).",
)
@click.option(
    "--max-headers",
    default=10_000,
    show_default=True,
    type=click.IntRange(1),
    help="Chain at most this many headers; beyond it only the evidence blocks (each must then be trusted).",
)
def evidence(
    env: Env, as_json: bool, ref: str, out: str, block: int | None, manifests: tuple[str, ...], max_headers: int
) -> None:
    """Write an evidence bundle of MODEL@VERSION: everything needed to check its whole lineage offline."""
    from provenance_ledger.chain.evidence import EvidenceBuilder

    name, version = split_ref(ref, "MODEL@VERSION")
    reg = env.registry()
    builder = EvidenceBuilder(
        reg, block=block, max_headers=max_headers, manifests=_manifest_lookup(manifests), progress=_progress(as_json)
    )
    bundle = builder.lineage_bundle(name, version)
    size = _write(out, bundle)
    data = _summary(out, size, bundle)
    emit(data, as_json, lambda: _print_summary(data))


def _hash32(value: str) -> bytes:
    try:
        raw = bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ValidationError("--trusted-block", f"expected a 32-byte block hash in hex, got {value!r}")
    return raw


def _fetched_hashes(url: str, bundle: Any) -> list[bytes]:
    """The hashes, per a second provider, of the bundle's header blocks (only block hashes are asked)."""
    from provenance_ledger.chain.jsonrpc import JsonRpc
    from provenance_ledger.core.evidence import header_fields

    rpc = JsonRpc(url)
    if rpc.head().chain_id != bundle.chain_id:
        raise ValidationError("--rpc-url", f"{url} is not chain {bundle.chain_id}")
    out = []
    for raw in bundle.headers:
        number = header_fields(raw)[4]
        h = rpc.block_hash(number)
        if h is not None:
            out.append(h)
    return out


@click.command(
    "verify-evidence",
    epilog="Examples:\n\n    provenance verify-evidence bundle.json --trusted-block 0x5c1d…e4\n\n"
    "    provenance verify-evidence bundle.json --rpc-url https://another-provider.example --json\n\n"
    "No network is used, except --rpc-url, from which only block hashes are read. Exit code 0 when every "
    "check passes; 1 with `error: CHECK: ...` naming the first that failed.",
)
@click.argument("bundle_file", metavar="BUNDLE", type=click.Path(dir_okay=False))
@click.option(
    "--trusted-block",
    "trusted",
    multiple=True,
    metavar="HASH",
    help="A block hash you trust (repeatable); every header must link to one through parent hashes.",
)
@click.option("--rpc-url", help="A second provider to read the headers' block hashes from (nothing else).")
@click.option(
    "--registry",
    "registry_address",
    help="The registry address you trust; required for a bundle without storage proofs (eth-tester).",
)
@click.option("--tree", is_flag=True, help="Show the lineage as a tree.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")
def verify_evidence(
    bundle_file: str,
    trusted: tuple[str, ...],
    rpc_url: str | None,
    registry_address: str | None,
    tree: bool,
    as_json: bool,
) -> None:
    """Check an evidence bundle offline against trusted block hashes and print the verified lineage."""
    from provenance_ledger.chain.abi import registry_abi
    from provenance_ledger.core.evidence import load_bundle, verify_bundle
    from provenance_ledger.report import terminal as render

    hashes = [_hash32(t) for t in trusted]
    try:
        text = Path(bundle_file).read_bytes()
    except OSError as exc:
        raise ValidationError("BUNDLE", f"cannot read {bundle_file}: {exc.strerror or exc}") from None
    bundle = load_bundle(text)
    if rpc_url:
        hashes += _fetched_hashes(rpc_url, bundle)
    if not hashes:
        raise ValidationError("--trusted-block", "give at least one trusted block hash (or --rpc-url)")
    registry = None
    if registry_address is not None:
        try:
            registry = bytes.fromhex(registry_address.removeprefix("0x"))
        except ValueError:
            registry = b""
        if len(registry) != 20:
            raise ValidationError("--registry", f"not an address: {registry_address!r}")
    result = verify_bundle(
        bundle, trusted_blocks=hashes, registry_code_hash=registry_abi().code_hash, registry=registry
    )

    def human() -> None:
        c = result.checks
        state = (
            f"{c['storage_slots']} storage slots at block {result.state_block}"
            if result.state_block is not None
            else "no storage proofs (registry taken on trust: --registry)"
        )
        console.print(
            f"[green]verified[/green]: {c['headers']} headers linked to a trusted block, {c['receipts']} receipts "
            f"({c['logs']} logs), {state}, {c['records']} records",
            highlight=False,
        )
        lin = result.lineage
        console.print(render.lineage_tree(lin) if tree else render.lineage_table(lin))
        if result.contribution is not None:
            k = result.contribution
            console.print(
                f"[green]contribution[/green]: {safe.markup(k['file']['path'])} ({k['file']['size']:,} bytes, sha256 "
                f"{k['file']['sha256']}) is in {safe.markup(k['datanet'])} (content root {k['content_root']}); "
                f"{safe.markup(' → '.join(k['path_labels']))} trained on it with weight {k['weight_ppm']:,} ppm",
                highlight=False,
                soft_wrap=True,
            )

    emit(result.to_dict(), as_json, human)


def _file_entry(file: str) -> tuple[int, bytes]:
    h = hashlib.sha256()
    try:
        with open(file, "rb") as f:
            size = 0
            while chunk := f.read(1 << 20):
                h.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise ValidationError("FILE", f"cannot read {file}: {exc.strerror or exc}") from None
    return size, h.digest()


@click.command(
    "prove-contribution",
    epilog="Examples:\n\n    provenance prove-contribution data/articles/part-0003.jsonl --datanet openwiki-en@2 "
    "--model acme-support@1.1 --out proof.json\n\n"
    "    provenance verify-evidence proof.json --trusted-block HASH\n\n"
    "The DataNet version's manifest is needed (--manifest FILE, or the local store that "
    "`provenance datanet publish --dir` fills).",
)
@chain_options
@click.argument("file", metavar="FILE", type=click.Path(dir_okay=False, exists=True))
@click.option("--datanet", "datanet_ref", required=True, metavar="DATANET@VERSION", help="The DataNet version.")
@click.option("--model", "model_ref", required=True, metavar="MODEL@VERSION", help="The model version.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Write the proof bundle (JSON) here.")
@click.option(
    "--manifest",
    "manifests",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="The DataNet version's manifest (repeatable; the local store is searched too).",
)
@click.option("--path", "member", help="The file's path in the manifest (default: found by its content).")
def prove_contribution(
    env: Env,
    as_json: bool,
    file: str,
    datanet_ref: str,
    model_ref: str,
    out: str,
    manifests: tuple[str, ...],
    member: str | None,
) -> None:
    """Prove that FILE is in DATANET@VERSION and that MODEL@VERSION trained on it: a bundle verify-evidence accepts."""
    from provenance_ledger.chain.evidence import EvidenceBuilder
    from provenance_ledger.core.manifest import file_proof

    d_name, d_version = split_ref(datanet_ref, "DATANET@VERSION")
    if not d_version.isdigit():
        raise ValidationError("--datanet", f"version must be a number, got {d_version!r}")
    m_name, m_version = split_ref(model_ref, "MODEL@VERSION")
    reg = env.registry()
    did = reg.datanet_id(d_name)
    info = reg.datanet_version(did, int(d_version))
    manifest = _manifest_lookup(manifests)(info)
    if manifest is None:
        raise NotFoundError(
            f"no published manifest of {info.label} at hand: pass --manifest FILE (its hash must be 0x{info.manifest_hash.hex()})"
        )
    size, digest = _file_entry(file)
    if member is not None:
        try:
            entry = manifest.entry(member)
        except ProvenanceError:
            raise NotFoundError(f"{member} is not a file of {info.label}") from None
        if (entry.size, entry.sha256) != (size, digest):
            raise ValidationError("FILE", f"{file} is not the file {member} of {info.label} (its content differs)")
    else:
        matches = [f for f in manifest.files if f.size == size and f.sha256 == digest]
        if not matches:
            raise NotFoundError(f"{file} is not in {info.label}: no file of its manifest has its content")
        base = os.path.basename(file)
        entry = next((f for f in matches if f.path.rsplit("/", 1)[-1] == base), matches[0])
    proof = file_proof(manifest, entry.path)
    builder = EvidenceBuilder(reg, manifests=_manifest_lookup(manifests), progress=_progress(as_json))
    bundle = builder.contribution_bundle(
        m_name, m_version, datanet_id=did, datanet_version=info.version, entry=entry, proof=proof
    )
    size_out = _write(out, bundle)
    data = _summary(out, size_out, bundle) | {
        "file": entry.path,
        "datanet": info.label,
        "path": bundle["contribution"]["path"],
    }

    def human() -> None:
        console.print(
            f"{safe.markup(entry.path)} is file {proof.index + 1} of {proof.count} in {safe.markup(info.label)}; "
            f"{safe.markup(model_ref)} reached it through {len(data['path'])} run(s)",
            highlight=False,
            soft_wrap=True,
        )
        _print_summary(data)

    emit(data, as_json, human)
