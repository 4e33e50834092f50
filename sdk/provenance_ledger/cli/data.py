"""Reproducibility commands: `provenance datanet fingerprint`, `provenance verify-data`, `provenance verify-model`.

Added to the CLI's groups by :mod:`provenance_ledger.cli.app` through :func:`register`.

A local *manifest store* (``.provenance/manifests/<manifest hash hex>.json`` under the current
directory; ``$PROVENANCE_MANIFESTS`` overrides the folder) keeps the manifests that
``provenance datanet publish --dir`` published. Only the content root and the manifest hash are on
chain; with the manifest at hand, ``verify-data`` can list exactly which files differ and check a
run's partition.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from provenance_ledger.cli._common import chain_options, console, emit, fingerprint_paths, split_ref, stderr_console
from provenance_ledger.errors import NotFoundError, ValidationError
from provenance_ledger.local.manifests import check_given, published_manifest, read_manifest
from provenance_ledger.report import safe

if TYPE_CHECKING:
    from provenance_ledger.core.entries import DatanetVersionInfo
    from provenance_ledger.core.manifest import Diff, FileEntry, Manifest

__all__ = [
    "FINGERPRINT_EPILOG",
    "VERIFY_DATA_EPILOG",
    "VERIFY_MODEL_EPILOG",
    "ZERO",
    "datanet_fingerprint",
    "diff_json",
    "verify_data",
    "verify_model",
]

ZERO = bytes(32)


def _hex(b: bytes) -> str:
    return "0x" + bytes(b).hex()


def _note(text: str) -> None:
    stderr_console().print(safe.visible(text), highlight=False, markup=False)


def _esc(text: object) -> str:
    """A path, name or label (from the chain, a manifest or the command line) inside a markup string."""
    return safe.markup(text)


def _parse_datanet_ref(ref: str) -> tuple[str, int]:
    name, v = split_ref(ref, "--datanet")
    if not v.isdigit() or int(v) < 1:
        raise ValidationError("--datanet", f"version must be a positive number, got {v!r} in {ref!r}")
    return name, int(v)


def _datanet_version(reg: Any, name: str, version: int) -> DatanetVersionInfo:
    owner, count = reg.datanet_state(name)
    if owner is None:
        raise NotFoundError(f"DataNet {name} is not registered")
    if version > count:
        raise NotFoundError(
            f"DataNet {name} has no version {version} (latest is {count})"
            if count
            else f"DataNet {name} has no published version"
        )
    info: DatanetVersionInfo = reg.datanet_version(name, version)
    return info


# ----------------------------------------------------------------------------- diff rendering


def _entry_json(f: FileEntry) -> dict[str, Any]:
    return f.to_json()


def diff_json(d: Diff) -> dict[str, Any]:
    """Added / removed / changed / renamed paths. Renamed pairs (same size and content, new path) are
    listed only under ``renamed``, not again under ``added`` and ``removed``."""
    renamed = d.renamed
    moved_from = {r.path for r, _ in renamed}
    moved_to = {a.path for _, a in renamed}
    return {
        "added": [f.path for f in d.added if f.path not in moved_to],
        "removed": [f.path for f in d.removed if f.path not in moved_from],
        "changed": [
            {"path": c.path, "expected": _entry_json(c.expected), "actual": _entry_json(c.actual)} for c in d.changed
        ],
        "renamed": [{"from": r.path, "to": a.path} for r, a in renamed],
    }


def _print_diff(console: Any, dj: dict[str, Any]) -> None:
    for c in dj["changed"]:
        e, a = c["expected"], c["actual"]
        console.print(
            f"  [yellow]changed[/yellow]  {_esc(c['path'])}  ({e['size']:,} bytes sha256 {e['sha256'][:12]}… → {a['size']:,} bytes sha256 {a['sha256'][:12]}…)"
        )
    for r in dj["renamed"]:
        console.print(f"  [cyan]renamed[/cyan]  {_esc(r['from'])} → {_esc(r['to'])}")
    for p in dj["added"]:
        console.print(f"  [green]added[/green]    {_esc(p)}")
    for p in dj["removed"]:
        console.print(f"  [red]removed[/red]  {_esc(p)}")


# ----------------------------------------------------------------------------- datanet fingerprint

FINGERPRINT_EPILOG = (
    "Examples:\n\n\b\n"
    "    provenance datanet fingerprint ./data/openwiki\n"
    "    provenance datanet fingerprint ./data/openwiki --out openwiki.manifest.json --json\n"
    "    provenance datanet fingerprint shards/a.jsonl shards/b.jsonl --base shards\n\n"
    "The manifest lists every file's path, size and SHA-256; publish the content root and manifest hash "
    "with `provenance datanet publish NAME --dir DIR` (which keeps the manifest in .provenance/manifests/), "
    "and give the manifest to verifiers (`provenance verify-data --manifest`)."
)


def _out_inside(out: str, paths: Sequence[str]) -> str | None:
    """The input that ``out`` would be part of, if any."""
    target = os.path.realpath(out)
    for p in paths:
        real = os.path.realpath(p)
        if target == real or (os.path.isdir(real) and target.startswith(real.rstrip(os.sep) + os.sep)):
            return p
    return None


@click.command("fingerprint", epilog=FINGERPRINT_EPILOG)
@click.argument("paths", nargs=-1, required=True, metavar="DIR_OR_FILES...")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Write the canonical manifest JSON to this file (outside the fingerprinted folder).",
)
@click.option(
    "--base",
    type=click.Path(file_okay=False),
    help="Name files relative to this folder (default: a folder names its own content; several inputs: their deepest common folder).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output (no progress bar).")
def datanet_fingerprint(paths: tuple[str, ...], out: str | None, base: str | None, as_json: bool) -> None:
    """Fingerprint a DataNet version's files: content root, manifest hash, file count and bytes.

    Nothing is sent; no chain is needed."""

    if out:
        inside = _out_inside(out, paths)
        if inside is not None:
            raise ValidationError(
                "--out",
                f"{out} is inside {inside}, which is being fingerprinted: the manifest would change its content root. Write it elsewhere.",
            )
    manifest = fingerprint_paths(paths[0] if len(paths) == 1 else list(paths), quiet=as_json, base=base)
    if out:
        try:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            Path(out).write_bytes(manifest.to_json_bytes())
        except OSError as exc:
            raise ValidationError(out, f"cannot be written: {exc.strerror or exc}") from None
    data = {
        "content_root": _hex(manifest.root),
        "manifest_hash": _hex(manifest.manifest_hash),
        "files": len(manifest.files),
        "bytes": manifest.total_size,
        "manifest": out,
    }

    def human() -> None:
        console.print(f"content root   {data['content_root']}", highlight=False)
        console.print(f"manifest hash  {data['manifest_hash']}", highlight=False)
        console.print(f"files          {data['files']:,} ({data['bytes']:,} bytes)", highlight=False)
        if out:
            console.print(f"manifest       {_esc(out)}", highlight=False)

    emit(data, as_json, human)


# ----------------------------------------------------------------------------- verify-data

VERIFY_DATA_EPILOG = (
    "Examples:\n\n\b\n"
    "    provenance verify-data ./openwiki --datanet openwiki-en@2\n"
    "    provenance verify-data ./openwiki --datanet openwiki-en@2 --manifest openwiki.manifest.json\n"
    "    provenance verify-data ./openwiki --datanet openwiki-en@2 --file en/part-0001.jsonl --json > proof.json\n"
    "    provenance verify-data ./train-subset --model acme-support@1.1 --transitive\n\n"
    "Exit code 0 when DIR matches (or the file's proof verifies), 1 otherwise. Precise file lists need the "
    "published manifest: --manifest FILE (checked against the on-chain manifest hash) or the local store "
    ".provenance/manifests/ that `datanet publish --dir` fills."
)


def _verify_datanet(
    env: Any, as_json: bool, folder: str, ref: str, given: list[tuple[str, Manifest]], file: str | None
) -> int:
    from provenance_ledger.core.manifest import diff

    name, version = _parse_datanet_ref(ref)
    info = _datanet_version(env.registry(), name, version)
    for f, m in given:
        check_given(f, m, info)
    published, source = published_manifest(info, given)
    if file is not None:
        return _verify_file(as_json, folder, info, published, source, file)

    local = fingerprint_paths(folder, quiet=as_json)
    match = local.root == info.content_root
    dj = None if match or published is None else diff_json(diff(published, local))
    data = {
        "dir": folder,
        "datanet": name,
        "version": version,
        "match": match,
        "local_root": _hex(local.root),
        "content_root": _hex(info.content_root),
        "manifest_hash": _hex(info.manifest_hash),
        "files": len(local.files),
        "bytes": local.total_size,
        "manifest": source,
        "diff": dj,
    }

    def human() -> None:
        if match:
            console.print(
                f"[green]{_esc(folder)} is exactly {_esc(info.label)}[/green] ({len(local.files):,} files, content root {_hex(info.content_root)})",
                highlight=False,
            )
            return
        console.print(
            f"[red]{_esc(folder)} differs from {_esc(info.label)}[/red]: content root {_hex(local.root)}, on chain {_hex(info.content_root)}",
            highlight=False,
        )
        if dj is None:
            console.print(
                "  No published manifest at hand, so the differing files cannot be listed. For a precise list pass the "
                f"version's manifest with --manifest FILE (its hash must be {_hex(info.manifest_hash)}), "
                "or run this where `provenance datanet publish --dir` saved it (.provenance/manifests/).",
                highlight=False,
            )
        else:
            console.print(f"  compared with the published manifest {_esc(str(source))}:", highlight=False)
            _print_diff(console, dj)

    emit(data, as_json, human)
    return 0 if match else 1


def _member(folder: str, file: str) -> str:
    """``file`` as a manifest path inside ``folder`` (given relative to the folder, or as a path to it)."""
    from provenance_ledger.core.manifest import check_path

    if not os.path.isabs(file) and os.path.isfile(os.path.join(folder, file)):
        rel = os.path.normpath(file)
    elif os.path.isfile(file):
        rel = os.path.relpath(os.path.abspath(file), os.path.abspath(folder))
        if rel == os.pardir or rel.startswith(os.pardir + os.sep):
            raise ValidationError("--file", f"{file} is not inside {folder}")
    else:
        raise ValidationError("--file", f"no file {file!r} in {folder}")
    return check_path(rel.replace(os.sep, "/"), "--file")


def _verify_file(
    as_json: bool, folder: str, info: DatanetVersionInfo, published: Manifest | None, source: str | None, file: str
) -> int:
    from provenance_ledger.core.manifest import file_proof, verify_file_proof

    path = _member(folder, file)
    if published is not None:  # hash only this file; the tree comes from the published manifest
        entry = fingerprint_paths(os.path.join(folder, *path.split("/")), quiet=as_json, base=folder).entry(path)
        tree, tree_source = published, source
    else:  # no manifest: the folder's own tree, which can only verify when the folder is that version
        local = fingerprint_paths(folder, quiet=as_json)
        entry, tree, tree_source = local.entry(path), local, "local folder"
    try:
        proof = file_proof(tree, path)
    except NotFoundError:
        raise NotFoundError(f"{path} is not a file of {info.label} (per its published manifest {source})") from None
    ok = verify_file_proof(info.content_root, entry, proof)
    reason = None
    if not ok:
        if published is not None:
            want = published.entry(path)
            reason = f"the file differs from the one in {info.label}: {entry.size:,} bytes sha256 {entry.sha256.hex()}, published {want.size:,} bytes sha256 {want.sha256.hex()}"
        else:
            reason = (
                f"{folder} is not exactly {info.label}, and without the published manifest (--manifest FILE) the proof "
                "can only be built from the local folder"
            )
    data = {
        "datanet": info.name,
        "version": info.version,
        "content_root": _hex(info.content_root),
        "path": path,
        "file": entry.to_json(),
        "proof": proof.to_json(),
        "proof_from": tree_source,
        "verified": ok,
        "problem": reason,
    }

    def human() -> None:
        if ok:
            console.print(
                f"[green]{_esc(path)} is in {_esc(info.label)}[/green]: its proof verifies against the on-chain content root {_hex(info.content_root)}",
                highlight=False,
            )
        else:
            console.print(
                f"[red]{_esc(path)}: the proof does not verify against the on-chain content root of {_esc(info.label)}[/red] ({_esc(str(reason))})",
                highlight=False,
            )
        click.echo(
            json.dumps(
                {"content_root": data["content_root"], "file": data["file"], "proof": data["proof"]},
                indent=2,
                ensure_ascii=True,
            )
        )

    emit(data, as_json, human)
    return 0 if ok else 1


def _verify_model_data(
    env: Any, as_json: bool, folder: str, ref: str, given: list[tuple[str, Manifest]], transitive: bool
) -> int:
    from rich.table import Table

    from provenance_ledger.core.manifest import content_root
    from provenance_ledger.core.partition import PPM, select_partition

    name, version = split_ref(ref, "--model")
    lin = env.registry().lineage(name, version)
    nodes = [n for _, n in lin.walk()] if transitive else list(lin.runs)
    local = fingerprint_paths(folder, quiet=as_json)
    rows: list[dict[str, Any]] = []
    used_manifests: set[str] = set()
    for node in nodes:
        for d in node.datanets:
            info, part = d.info, d.use.partition
            published, source = published_manifest(info, given)
            if source is not None:
                used_manifests.add(source)
            whole = part.selector == "" and part.fraction_ppm == PPM
            matches_version = local.root == info.content_root
            partition_files = partition_root = matches_partition = None
            if not whole and published is not None:
                selected = select_partition(published, part)
                partition_files = len(selected)
                if selected:
                    sub = content_root(selected)
                    partition_root = _hex(sub)
                    matches_partition = local.root == sub
                else:
                    matches_partition = False
            rows.append(
                {
                    "run": node.label,
                    "record_id": _hex(node.record_id),
                    "datanet": info.name,
                    "version": info.version,
                    "content_root": _hex(info.content_root),
                    "partition": {
                        "split": part.split,
                        "selector": part.selector,
                        "fraction_ppm": part.fraction_ppm,
                        "seed": part.seed,
                    },
                    "whole_version_used": whole,
                    "matches_version": matches_version,
                    "partition_files": partition_files,
                    "partition_root": partition_root,
                    "matches_partition": matches_partition,
                    "manifest": source,
                }
            )
    for f, _ in given:
        if f not in used_manifests:
            _note(f"note: {f} is the manifest of none of the DataNet versions checked")
    matched = [r for r in rows if r["matches_version"] or r["matches_partition"]]
    data = {
        "dir": folder,
        "model": name,
        "version": version,
        "transitive": transitive,
        "local_root": _hex(local.root),
        "files": len(local.files),
        "bytes": local.total_size,
        "match": bool(matched),
        "datanets": rows,
    }

    def yes_no(v: bool | None, missing: str) -> str:
        return missing if v is None else ("[green]match[/green]" if v else "no")

    def human() -> None:
        t = Table(
            title=safe.text(
                f"{folder} against the DataNet versions {'in the lineage of' if transitive else 'used by'} {ref}"
            )
        )
        for col in ("DataNet version", "used by", "partition", "whole version", "partition subset"):
            t.add_column(col, overflow="fold")
        for r in rows:
            p = r["partition"]
            ptxt = (
                "all files"
                if r["whole_version_used"]
                else f"selector={p['selector'] or '*'} fraction={p['fraction_ppm'] / 10_000:g}% seed={p['seed']}"
            )
            sub = "n/a" if r["whole_version_used"] else yes_no(r["matches_partition"], "unknown (no manifest)")
            if r["partition_files"] is not None:
                sub += f" ({r['partition_files']:,} files)"
            t.add_row(
                safe.text(f"{r['datanet']}@{r['version']}"),
                safe.text(r["run"]),
                safe.text(ptxt),
                yes_no(r["matches_version"], "?"),
                sub,
            )
        console.print(t)
        for r in matched:
            what = "the whole version" if r["matches_version"] else f"the partition used by {r['run']}"
            console.print(
                f"[green]{_esc(folder)} matches {_esc(r['datanet'])}@{r['version']}[/green] ({_esc(what)})",
                highlight=False,
            )
        if not matched:
            console.print(
                f"[red]{_esc(folder)} matches none of the {len(rows)} DataNet use(s) of {_esc(ref)}[/red] (content root {_hex(local.root)})",
                highlight=False,
            )
            if any(not r["whole_version_used"] and r["matches_partition"] is None for r in rows):
                console.print(
                    "  Partitions without a published manifest at hand were not checked: pass --manifest FILE.",
                    highlight=False,
                )
            if not transitive and any(n.parents for n in nodes):
                console.print("  Parent models' DataNets were not checked: add --transitive.", highlight=False)

    emit(data, as_json, human)
    return 0 if matched else 1


def _verify_data(
    env: Any,
    as_json: bool,
    folder: str,
    datanet_ref: str | None,
    model_ref: str | None,
    manifests: tuple[str, ...],
    file: str | None,
    transitive: bool,
) -> None:
    """Is the local folder DIR exactly a published DataNet version, or exactly what a model trained on?

    Fingerprints DIR and compares its content root with the on-chain one. With --datanet, lists the
    added, removed, changed and renamed files when the published manifest is at hand, and with --file
    prints one file's inclusion proof checked against the on-chain content root. With --model, checks
    each DataNet version the model version's run(s) used: the whole version and the run's partition."""
    if (datanet_ref is None) == (model_ref is None):
        raise ValidationError("verify-data", "give exactly one of --datanet NAME@VERSION and --model NAME@VERSION")
    if file is not None and datanet_ref is None:
        raise ValidationError("--file", "needs --datanet NAME@VERSION")
    if transitive and model_ref is None:
        raise ValidationError("--transitive", "needs --model NAME@VERSION")
    if datanet_ref is not None and len(manifests) > 1:
        raise ValidationError("--manifest", "give one manifest with --datanet")
    given = [(f, read_manifest(f)) for f in manifests]
    if datanet_ref is not None:
        code = _verify_datanet(env, as_json, folder, datanet_ref, given, file)
    else:
        assert model_ref is not None
        code = _verify_model_data(env, as_json, folder, model_ref, given, transitive)
    sys.exit(code)


_VERIFY_DATA_PARAMS: tuple[Callable[[Any], Any], ...] = (
    click.argument("folder", metavar="DIR"),
    click.option(
        "--datanet", "datanet_ref", metavar="NAME@VERSION", help="Compare DIR with this published DataNet version."
    ),
    click.option(
        "--model",
        "model_ref",
        metavar="NAME@VERSION",
        help="Compare DIR with each DataNet version (and partition) this model version trained on.",
    ),
    click.option(
        "--manifest",
        "manifests",
        multiple=True,
        type=click.Path(dir_okay=False),
        help="Published manifest JSON (checked against the on-chain hash); repeatable with --model.",
    ),
    click.option(
        "--file",
        "file",
        metavar="PATH",
        help="With --datanet: print and verify the inclusion proof of this file of DIR (path relative to DIR).",
    ),
    click.option(
        "--transitive", is_flag=True, help="With --model: also the DataNets of its parent models, recursively."
    ),
)


# ----------------------------------------------------------------------------- verify-model

VERIFY_MODEL_EPILOG = (
    "Example:\n\n\b\n"
    "    provenance verify-model ./checkpoints/acme-support-1.1 --model acme-support@1.1\n\n"
    "The digest is the content root of every file in DIR (config, tokenizer, shards), paths relative to DIR. "
    "Exit code 0 when it equals the weights_digest of a recorded run of that version, 1 otherwise."
)


def _verify_model(env: Any, as_json: bool, folder: str, model_ref: str) -> None:
    """Are the weights in DIR the ones recorded for MODEL@VERSION? Compares weights_digest(DIR) with
    the weights_digest of the version's recorded run(s)."""

    name, version = split_ref(model_ref, "--model")
    reg = env.registry()
    reg.model_info(name)  # NotFoundError names an unregistered model
    runs = reg.runs_of(name, version)
    if not runs:
        raise NotFoundError(f"no training run recorded for {name}@{version}")
    digest = fingerprint_paths(folder, quiet=as_json).root
    recorded = [
        {
            "record_id": _hex(r.record_id),
            "weights_digest": _hex(r.run.weights_digest),
            "match": r.run.weights_digest == digest,
        }
        for r in runs
    ]
    match = any(r["match"] for r in recorded)
    data = {
        "dir": folder,
        "model": name,
        "version": version,
        "weights_digest": _hex(digest),
        "match": match,
        "runs": recorded,
    }

    def human() -> None:
        if match:
            rid = next(r["record_id"] for r in recorded if r["match"])
            console.print(
                f"[green]{_esc(folder)} holds the weights of {_esc(name)}@{_esc(version)}[/green]: weights digest {_hex(digest)} (run {rid})",
                highlight=False,
            )
            return
        console.print(
            f"[red]{_esc(folder)} does not hold the weights recorded for {_esc(name)}@{_esc(version)}[/red]",
            highlight=False,
        )
        console.print(f"  local weights digest     {_hex(digest)}", highlight=False)
        for r in recorded:
            console.print(f"  recorded weights digest  {r['weights_digest']}  (run {r['record_id']})", highlight=False)

    emit(data, as_json, human)
    sys.exit(0 if match else 1)


# ----------------------------------------------------------------------------- registration


def _decorate(fn: Callable[..., Any], params: Sequence[Callable[[Any], Any]]) -> Callable[..., Any]:
    for param in reversed(params):
        fn = param(fn)
    return fn


verify_data: click.Command = click.command("verify-data", epilog=VERIFY_DATA_EPILOG, help=_verify_data.__doc__)(
    chain_options(_decorate(_verify_data, _VERIFY_DATA_PARAMS))
)
"""``provenance verify-data``."""

verify_model: click.Command = click.command("verify-model", epilog=VERIFY_MODEL_EPILOG, help=_verify_model.__doc__)(
    chain_options(
        _decorate(
            _verify_model,
            (
                click.argument("folder", metavar="DIR"),
                click.option(
                    "--model",
                    "model_ref",
                    required=True,
                    metavar="NAME@VERSION",
                    help="The model version whose recorded weights_digest to compare with.",
                ),
            ),
        )
    )
)
"""``provenance verify-model``."""
