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
    resolve_ref,
    stderr_console,
    tx_json,
    tx_line,
)
from provenance_ledger.errors import NotFoundError, ProvenanceError, ValidationError
from provenance_ledger.report import safe

__all__ = [
    "SIGNED_FORMAT",
    "record",
    "show",
    "submit",
    "verify",
]


@click.command(
    epilog="Examples:\n\n\b\n"
    "    provenance record run.yaml\n"
    "    provenance record base.yaml tune.yaml --anchor        # one transaction, one Merkle root\n"
    "    provenance record run.json --dry-run\n"
    "    provenance record run.yaml --sign-only --out signed.json   # a trainer key with no funds\n"
    "    provenance submit signed.json                              # any funded key sends it\n\n"
    "A run file (YAML or JSON):\n\n\b\n"
    '    model: acme-support\n    version: "1.1"\n    weights_digest: "0x…"\n'
    '    parents: [{ref: "acme-base@1.0", relation: fine-tune}]\n'
    "    datanets:\n      - {datanet: support-tickets, version: 2, weight_ppm: 1000000,\n"
    '         partition: {split: train, selector: "tickets/*.jsonl", fraction_ppm: 800000, seed: 7}}\n'
    "    preprocessing:\n      - {op: dedupe, params: {method: minhash, threshold: 0.85}}\n"
    "      - {op: length_filter, params: {min_chars: 200}}\n    code: {repo: github.com/acme/train, commit: 9d0e7c1}\n"
    "    hyperparameters: {lr: 0.00005, epochs: 2}\n    started_at: 1764172800\n    ended_at: 1764180000\n\n"
    "Names: a bare name is your own (the signing key's); OWNER/NAME names another account's, OWNER being an\n"
    "address or an alias (`provenance alias add`). A parent may be an earlier file of the same command.",
)
@chain_options
@keystore_option
@click.argument(
    "run_files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False), metavar="RUN_FILE..."
)
@click.option("--dry-run", is_flag=True, help="Print the canonical bytes and record hash; send nothing.")
@click.option("--anchor", is_flag=True, help="Anchor the runs under one Merkle root (one storage slot for all).")
@click.option("--sign-only", is_flag=True, help="Sign the run(s) (EIP-712) and write them to --out; send nothing.")
@click.option("--out", type=click.Path(dir_okay=False), help="With --sign-only: the signed-runs JSON file to write.")
def record(
    env: Env,
    as_json: bool,
    keystore: str | None,
    run_files: tuple[str, ...],
    dry_run: bool,
    anchor: bool,
    sign_only: bool,
    out: str | None,
) -> None:
    """Record the training runs described in RUN_FILE... (idempotent: a run already on chain, recorded
    or anchored, is never sent again; several files go in one transaction)."""
    from provenance_ledger.core.canonical import encode_run, record_id

    if sign_only and not out:
        raise ValidationError("--out", "--sign-only writes the signed runs to a file: give --out FILE")
    if out and not sign_only:
        raise ValidationError("--out", "only with --sign-only")
    reader = functools.cache(env.registry)  # connects only if a parent is named model@version, once
    runs = _load_runs(env, run_files, reader)
    if dry_run:
        items = [
            {
                "file": f,
                "record_id": hexstr(record_id(r)),
                "canonical_bytes": hexstr(encode_run(r)),
                "size": len(encode_run(r)),
            }
            for f, r in zip(run_files, runs, strict=True)
        ]

        def show_dry() -> None:
            for item in items:
                console.print(
                    safe.markup(f"{item['file']}: record hash {item['record_id']}")
                    + f"\ncanonical bytes ({item['size']}): {item['canonical_bytes']}",
                    highlight=False,
                )

        emit(items[0] if len(items) == 1 else items, as_json, show_dry)
        return
    if sign_only:
        _sign_only(env, keystore, runs, out or "", as_json)
        return
    reg = env.registry(sign=True, keystore=keystore)
    if len(runs) == 1 and not anchor:
        res = reg.record_run(runs[0])
        data: Any = {
            "record_id": hexstr(res.record_id),
            "already_recorded": res.already_recorded,
            "tx": tx_json(res.tx),
        }

        def human() -> None:
            if res.already_recorded:
                console.print(f"Already recorded: {hexstr(res.record_id)} (nothing sent)")
            else:
                tx_line(f"Recorded run {hexstr(res.record_id)}", res.tx)

        emit(data, as_json, human)
        return
    batch = reg.anchor_runs(runs) if anchor else reg.record_runs(runs)
    _emit_batch(batch, run_files, as_json, anchor)


def _load_runs(env: Env, run_files: tuple[str, ...], reader: Any) -> list[Any]:
    """The runs of ``run_files`` in order; a parent ``model@version`` may be an earlier file's run."""
    from provenance_ledger.cli._common import _env_owner
    from provenance_ledger.core.canonical import entity_id, record_id
    from provenance_ledger.local.config import Config
    from provenance_ledger.local.runfile import load_run_file

    config = Config.load()
    owner = _env_owner()
    earlier: dict[tuple[bytes, str], bytes] = {}

    def resolve(model: str, version: str) -> bytes:
        ref = config.resolve_ref(model)
        mine = earlier.get((entity_id(owner, ref, "model"), version)) if owner or "/" in ref else None
        return mine if mine is not None else _resolve_parent(reader(), ref, version)

    runs = []
    for f in run_files:
        run = load_run_file(f, resolve, owner=owner, refs=config.resolve_ref)
        earlier[(run.model_id, run.model_version)] = record_id(run)
        runs.append(run)
    return runs


def _emit_batch(batch: Any, run_files: tuple[str, ...], as_json: bool, anchor: bool) -> None:
    results = [
        {"file": f, "record_id": hexstr(r.record_id), "already_recorded": r.already_recorded}
        for f, r in zip(run_files, batch.results, strict=True)
    ]
    data = {
        "runs": results,
        "anchored": anchor,
        "root": None if batch.root is None else hexstr(batch.root),
        "tx": tx_json(batch.tx),
    }

    def human() -> None:
        for r in results:
            state = "already on chain (not sent)" if r["already_recorded"] else ("anchored" if anchor else "recorded")
            console.print(safe.markup(f"{r['file']}: {r['record_id']}  {state}"), highlight=False)
        if batch.tx is None:
            console.print("Nothing sent: every run was already on chain")
        else:
            what = (
                f"Anchored {len(batch.sent)} run(s) under root {hexstr(batch.root)}"
                if anchor
                else f"Recorded {len(batch.sent)} run(s)"
            )
            tx_line(what, batch.tx)

    emit(data, as_json, human)


SIGNED_FORMAT = "provenance-ledger/signed-runs/1"
"""The ``format`` of the file `record --sign-only` writes and `submit` reads."""


def _sign_only(env: Env, keystore: str | None, runs: list[Any], out: str, as_json: bool) -> None:
    import os

    from provenance_ledger.chain.rpc import load_account
    from provenance_ledger.core.canonical import encode_run

    reg = env.registry()  # reads only: the chain id and the registry's address are in what is signed
    password = os.environ.get("PROVENANCE_KEYSTORE_PASSWORD")
    if keystore and password is None:
        password = click.prompt("Keystore password", hide_input=True, default="", show_default=False)
    account = load_account(keystore=keystore, password=password)
    signed = [reg.sign_run(run, account) for run in runs]
    doc = {
        "format": SIGNED_FORMAT,
        "chain_id": reg.chain_id,
        "registry": reg.address,
        "runs": [
            {
                "record_id": hexstr(s.record_id),
                "signer": s.signer,
                "signature": hexstr(s.signature),
                "record": hexstr(encode_run(s.run)),
            }
            for s in signed
        ],
    }
    try:
        Path(out).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    except OSError as exc:
        raise ValidationError(out, f"cannot be written: {exc.strerror or exc}") from None
    data = {"out": out, "signer": account.address, "record_ids": [r["record_id"] for r in doc["runs"]]}
    emit(
        data,
        as_json,
        lambda: console.print(
            safe.markup(f"Signed {len(signed)} run(s) as {account.address} for registry {reg.address}; wrote {out}"),
            highlight=False,
        ),
    )


@click.command(
    epilog="Examples:\n\n\b\n"
    "    provenance submit signed.json\n"
    "    provenance submit a.json b.json --anchor\n\n"
    "The files come from `provenance record RUN_FILE --sign-only --out FILE`: each run keeps its signer as\n"
    "recorder, and the sender (any funded key) only pays.",
)
@chain_options
@keystore_option
@click.argument(
    "signed_files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False), metavar="SIGNED..."
)
@click.option("--anchor", is_flag=True, help="Anchor the runs under one Merkle root.")
def submit(env: Env, as_json: bool, keystore: str | None, signed_files: tuple[str, ...], anchor: bool) -> None:
    """Send runs signed by their trainers (EIP-712) from any funded account; the signers stay the recorders."""
    signed = [s for f in signed_files for s in _read_signed(f)]
    reg = env.registry(sign=True, keystore=keystore)
    if len(signed) == 1 and not anchor:
        res = reg.submit_signed(signed[0])
        data = {
            "record_id": hexstr(res.record_id),
            "recorder": signed[0].signer,
            "already_recorded": res.already_recorded,
            "tx": tx_json(res.tx),
        }

        def human() -> None:
            if res.already_recorded:
                console.print(f"Already recorded: {hexstr(res.record_id)} (nothing sent)")
            else:
                tx_line(f"Recorded run {hexstr(res.record_id)} (recorder {signed[0].signer})", res.tx)

        emit(data, as_json, human)
        return
    batch = reg.submit_signed(signed, anchored=anchor)
    _emit_batch(batch, tuple(f"{hexstr(s.record_id)[:10]}…" for s in signed), as_json, anchor)


def _read_signed(path: str) -> list[Any]:
    """The signed runs of a `record --sign-only` file, each re-derived and checked: the record bytes
    decode and hash to the id (the registry checks the signature itself: EOA or ERC-1271)."""
    from provenance_ledger.chain.signing import SignedRun
    from provenance_ledger.core.canonical import decode_run
    from provenance_ledger.core.hashing import keccak
    from provenance_ledger.core.records import bytes32

    try:
        doc = json.loads(Path(path).read_bytes())
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ValidationError(path, f"is not a signed-runs JSON file: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != SIGNED_FORMAT or not isinstance(doc.get("runs"), list):
        raise ValidationError(path, f"is not a {SIGNED_FORMAT} file")
    out = []
    for i, item in enumerate(doc["runs"]):
        where = f"{path}: runs[{i}]"
        try:
            record = bytes.fromhex(str(item["record"]).removeprefix("0x"))
            signature = bytes.fromhex(str(item["signature"]).removeprefix("0x"))
            rid = bytes32(item["record_id"], "record_id")
            chain_id = int(doc["chain_id"])
            registry = str(doc["registry"])
            signer = str(item["signer"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(where, f"malformed: {exc}") from None
        if keccak(record) != rid:
            raise ValidationError(where, "the record bytes do not hash to its record_id")
        s = SignedRun(
            run=decode_run(record),
            record_id=rid,
            signer=signer,
            signature=signature,
            chain_id=chain_id,
            registry=registry,
        )
        out.append(s)
    return out


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

    rid = bytes32(record_hash, "RECORD_HASH")  # checked before connecting
    rec = env.registry().get_run(rid)
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
@click.option(
    "--strict",
    is_flag=True,
    help="Also exit 1 when an authentic record (someone's) is unreadable: malformed details, wrong schema.",
)
def verify(env: Env, as_json: bool, model_name: str | None, against: str | None, strict: bool) -> None:
    """Re-derive every record (or one model's) from the logs and check each against its on-chain
    hash; exits 1 on any mismatch.

    A mismatch is bytes that do not hash to the id, topics that disagree, or a record neither
    stored nor anchored. An authentic record that does not decode (someone's malformed record) is
    reported as unreadable, and fails only with --strict."""
    from rich.progress import Progress

    from provenance_ledger.core.canonical import record_id
    from provenance_ledger.core.entries import Unreadable, run_from_record_json
    from provenance_ledger.report import terminal as render

    items: list[Any] = []
    if against:
        from provenance_ledger.local.runfile import MAX_DEPTH, load_json_file

        data = load_json_file(against, limit=256 << 20, max_depth=2 * MAX_DEPTH)
        items = data if isinstance(data, list) else [data]
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise ValidationError(
                    against, f"must hold a record object (from `show --json`) or a list of them; item #{i} is not one"
                )
    reg = env.registry()
    results: list[dict[str, Any]] = []
    unreadable: list[Unreadable] = []
    if against:
        for i, item in enumerate(items):
            claimed = item.get("record_id", "?")
            try:
                rid = record_id(run_from_record_json(item))
                if hexstr(rid) != claimed:
                    problem = f"content hashes to {hexstr(rid)}, not to its record hash: the copy was altered"
                elif reg.record_block(rid) == 0 and not _anchored(reg, rid):
                    problem = "no such record on chain"
                else:
                    problem = None
            except (ProvenanceError, KeyError, TypeError, ValueError, AttributeError) as exc:
                problem = f"malformed record #{i}: {exc}"
            results.append({"record_id": claimed, "ok": problem is None, "problem": problem})
    else:
        with Progress(console=stderr_console(), transient=True, disable=as_json) as bar:
            task = bar.add_task("reading logs", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            checked = reg.verify_runs(resolve_ref(model_name) if model_name else None, progress=progress)
            for rid, rec, problem in checked:  # repeats of an id are merged into its earliest record
                if isinstance(rec, Unreadable):  # authentic but malformed: someone's record, not a mismatch
                    unreadable.append(rec)
                    results.append(
                        {
                            "record_id": hexstr(rid),
                            "ok": True,
                            "problem": None,
                            "repeats": [],
                            "unreadable": rec.to_dict(),
                        }
                    )
                    continue
                repeats = [] if rec is None else [r.to_dict() for r in rec.repeats]
                results.append(
                    {"record_id": hexstr(rid), "ok": problem is None, "problem": problem, "repeats": repeats}
                )
    bad = [r for r in results if not r["ok"]]

    def human() -> None:
        for r in bad:
            console.print(
                f"[red]MISMATCH[/red] {safe.markup(r['record_id'])}: {safe.markup(r['problem'])}", soft_wrap=True
            )
        repeated = sum(1 for r in results if r.get("repeats"))
        console.print(
            f"{len(results) - len(bad)} of {len(results)} records verified against the chain"
            + ("" if not bad else f"; [red]{len(bad)} failed[/red]")
            + (f" ({repeated} logged more than once: counted once, the earliest authoritative)" if repeated else "")
        )

    summary: dict[str, Any] = {"checked": len(results), "failed": len(bad)}
    if unreadable:
        summary["unreadable"] = len(unreadable)
    emit({**summary, "results": results}, as_json, human)
    for line in render.unreadable_lines(unreadable):
        stderr_console().print(line, style="yellow", highlight=False, markup=False)
    if bad or (strict and unreadable):
        sys.exit(1)


def _anchored(reg: Any, rid: bytes) -> bool:
    try:
        return reg.get_run(rid).anchor_root is not None
    except NotFoundError:
        return False
