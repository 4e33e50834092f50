"""`provenance record`, `provenance show` and `provenance verify`: write a run, read one, check them all."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

import click

from provenance_ledger.cli._common import (
    Env,
    chain_options,
    console,
    emit,
    hexstr,
    keystore_option,
    reg_model_id,
    stderr_console,
    tx_json,
    tx_line,
)
from provenance_ledger.errors import NotFoundError, ProvenanceError, ValidationError, VerificationError
from provenance_ledger.report import safe

__all__ = [
    "record",
    "show",
    "verify",
]


@click.command(
    epilog="Examples:\n\n    provenance record run.yaml\n\n    provenance record run.json --dry-run\n\n"
    "A run file (YAML or JSON):\n\n\b\n"
    '    model: acme-support\n    version: "1.1"\n    weights_digest: "0x…"\n    parents: ["acme-base@1.0"]\n'
    "    datanets:\n      - {datanet: support-tickets, version: 2, weight_ppm: 1000000,\n"
    '         partition: {split: train, selector: "tickets/*.jsonl", fraction_ppm: 800000, seed: 7}}\n'
    "    preprocessing:\n      - {op: dedupe, params: {method: minhash, threshold: 0.85}}\n"
    "      - {op: length_filter, params: {min_chars: 200}}\n    code: {repo: github.com/acme/train, commit: 9d0e7c1}\n"
    "    hyperparameters: {lr: 0.00005, epochs: 2}\n    started_at: 1764172800\n    ended_at: 1764180000",
)
@chain_options
@keystore_option
@click.argument("run_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Print the canonical bytes and record hash; send nothing.")
def record(env: Env, as_json: bool, keystore: str | None, run_file: str, dry_run: bool) -> None:
    """Record the training run described in RUN_FILE (idempotent: re-recording returns the same hash)."""
    from provenance_ledger.core.canonical import encode_run, record_id

    reader = functools.cache(env.registry)  # connects only if a parent is named model@version, once

    def resolve(model: str, version: str) -> bytes:
        return _resolve_parent(reader(), model, version)

    from provenance_ledger.local.runfile import load_run_file

    run = load_run_file(run_file, resolve)
    if dry_run:
        enc = encode_run(run)
        emit(
            {"record_id": hexstr(record_id(run)), "canonical_bytes": hexstr(enc), "size": len(enc)},
            as_json,
            lambda: console.print(f"record hash {hexstr(record_id(run))}\ncanonical bytes ({len(enc)}): {hexstr(enc)}"),
        )
        return
    reg = env.registry(sign=True, keystore=keystore)
    res = reg.record_run(run)
    data = {"record_id": hexstr(res.record_id), "already_recorded": res.already_recorded, "tx": tx_json(res.tx)}

    def human() -> None:
        if res.already_recorded:
            console.print(f"Already recorded: {hexstr(res.record_id)} (nothing sent)")
        else:
            tx_line(f"Recorded run {hexstr(res.record_id)}", res.tx)

    emit(data, as_json, human)


def _resolve_parent(reg: Any, model_name: str, version: str) -> bytes:
    runs = reg.runs_of(model_name, version)
    if not runs:
        raise NotFoundError(f"parent {model_name}@{version} has no recorded run")
    if len(runs) > 1:
        raise ValidationError("parents", f"{model_name}@{version} has {len(runs)} runs: name the record hash instead")
    return bytes(runs[0].record_id)


@click.command(epilog="Example:\n\n    provenance show 0x7330b8cb…f324")
@chain_options
@click.argument("record_hash")
def show(env: Env, as_json: bool, record_hash: str) -> None:
    """Show one training-run record, verified against its on-chain hash."""
    from provenance_ledger.core.entries import recorded_run_json
    from provenance_ledger.core.records import bytes32

    rec = env.registry().get_run(bytes32(record_hash, "RECORD_HASH"))
    data = recorded_run_json(rec)

    def human() -> None:
        console.print_json(json.dumps(data), ensure_ascii=True)  # controls and bidi characters as \u escapes

    emit(data, as_json, human)


@click.command(
    epilog="Examples:\n\n    provenance verify\n\n    provenance verify --model acme-support\n\n    provenance show 0x… --json > rec.json && provenance verify --against rec.json"
)
@chain_options
@click.option("--model", "model_name", help="Only this model's records.")
@click.option(
    "--against",
    "against",
    type=click.Path(exists=True, dir_okay=False),
    help="A record exported with `show --json` (or a list of them): check this off-chain copy against the chain.",
)
def verify(env: Env, as_json: bool, model_name: str | None, against: str | None) -> None:
    """Re-derive every record (or one model's) from the logs and check each against its on-chain
    hash; exits 1 on any mismatch."""
    from rich.progress import Progress

    from provenance_ledger.core.canonical import record_id
    from provenance_ledger.core.entries import run_from_record_json

    reg = env.registry()
    results: list[dict[str, Any]] = []
    if against:
        try:
            data = json.loads(Path(against).read_text())
        except ValueError as exc:
            raise ValidationError(against, f"is not JSON: {exc}") from None
        items = data if isinstance(data, list) else [data]
        for i, item in enumerate(items):
            claimed = item.get("record_id", "?") if isinstance(item, dict) else "?"
            try:
                rid = record_id(run_from_record_json(item))
                if hexstr(rid) != claimed:
                    problem = f"content hashes to {hexstr(rid)}, not to its record hash: the copy was altered"
                elif reg.record_block(rid) == 0 and not _anchored(reg, rid):
                    problem = "no such record on chain"
                else:
                    problem = None
            except (ProvenanceError, KeyError, TypeError) as exc:
                problem = f"malformed record #{i}: {exc}"
            results.append({"record_id": claimed, "ok": problem is None, "problem": problem})
    else:
        with Progress(console=stderr_console(), transient=True, disable=as_json) as bar:
            task = bar.add_task("reading logs", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            raws = reg.logs("RunRecorded", *((reg_model_id(model_name),) if model_name else ()), progress=progress)
            bar.update(task, description="verifying records", completed=0, total=len(raws))
            for raw in raws:
                try:
                    rec = reg.recorded(raw)
                    results.append({"record_id": hexstr(rec.record_id), "ok": True, "problem": None})
                except VerificationError as exc:
                    results.append({"record_id": hexstr(raw.args["recordId"]), "ok": False, "problem": str(exc)})
                bar.advance(task)
    bad = [r for r in results if not r["ok"]]

    def human() -> None:
        for r in bad:
            console.print(
                f"[red]MISMATCH[/red] {safe.markup(r['record_id'])}: {safe.markup(r['problem'])}", soft_wrap=True
            )
        console.print(
            f"{len(results) - len(bad)} of {len(results)} records verified against the chain"
            + ("" if not bad else f"; [red]{len(bad)} failed[/red]")
        )

    emit({"checked": len(results), "failed": len(bad), "results": results}, as_json, human)
    if bad:
        sys.exit(1)


def _anchored(reg: Any, rid: bytes) -> bool:
    try:
        return reg.get_run(rid).anchor_root is not None
    except NotFoundError:
        return False
