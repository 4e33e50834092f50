"""The `provenance` command line: a thin layer over the library.

Only :class:`~provenance_ledger.errors.ProvenanceError` is caught: it is printed as one line on
stderr with exit code 1 (usage errors exit 2, from click). Anything else is a bug and shows a traceback.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from .errors import NotFoundError, ProvenanceError, ValidationError, VerificationError

console = Console(width=None if sys.stdout.isatty() else 160)


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def emit(data: Any, as_json: bool, human: Callable[[], None]) -> None:
    """Print ``data`` as JSON for scripts, or call ``human`` to render it for people."""
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True, default=lambda o: _hex(o) if isinstance(o, bytes) else str(o)))
    else:
        human()


class Env:
    """Lazily connected chain, registry and signer for one command."""

    def __init__(self, rpc_url: str | None, registry: str | None, page_size: int, from_block: int | None) -> None:
        from .config import Config

        self.config = Config.load()
        self.rpc_url = rpc_url or self.config.rpc_url
        self._registry_address = registry
        self.page_size = page_size
        self._from_block = from_block
        self._w3: Any = None

    @property
    def w3(self) -> Any:
        if self._w3 is None:
            from .chain import connect

            self._w3 = connect(self.rpc_url)
        return self._w3

    def registry(self, *, sign: bool = False, keystore: str | None = None) -> Any:
        from .chain import load_account
        from .client import Registry

        chain_id = str(self.w3.eth.chain_id)
        dep = self.config.deployments.get(chain_id)
        address = self._registry_address or (dep.address if dep else None)
        if address is None:
            raise NotFoundError(
                f"no registry known for chain {chain_id} at {self.rpc_url}: run `provenance deploy` or pass --registry"
            )
        from_block = self._from_block if self._from_block is not None else (dep.block if dep and dep.address == address else 0)
        account = None
        if sign:
            password = os.environ.get("PROVENANCE_KEYSTORE_PASSWORD")
            if keystore and password is None:
                password = click.prompt("Keystore password", hide_input=True, default="", show_default=False)
            account = load_account(keystore=keystore, password=password)
        return Registry.at(self.w3, address, account, page_size=self.page_size, from_block=from_block)


def chain_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--rpc-url, --registry, --page-size, --from-block and --json on every chain command."""

    @click.option("--rpc-url", envvar="PROVENANCE_RPC_URL", help="JSON-RPC URL (default: the project's, else the local node http://127.0.0.1:8545).")
    @click.option("--registry", "registry_address", envvar="PROVENANCE_REGISTRY", help="Registry address (default: the one `provenance deploy` saved for this chain).")
    @click.option("--page-size", default=10_000, show_default=True, type=click.IntRange(1), help="Blocks per eth_getLogs page (providers cap ranges; pages are halved on refusal).")
    @click.option("--from-block", type=click.IntRange(0), help="First block to scan (default: the registry's deployment block).")
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")
    @functools.wraps(fn)
    def wrapper(rpc_url: str | None, registry_address: str | None, page_size: int, from_block: int | None, as_json: bool, **kw: Any) -> Any:
        return fn(Env(rpc_url, registry_address, page_size, from_block), as_json, **kw)

    return wrapper


keystore_option = click.option(
    "--keystore", type=click.Path(dir_okay=False), envvar="PROVENANCE_KEYSTORE",
    help="Encrypted keystore (eth-account JSON); password from $PROVENANCE_KEYSTORE_PASSWORD or a prompt. "
    "Without it the key is read from $PROVENANCE_PRIVATE_KEY.",
)


def tx_line(what: str, tx: Any) -> None:
    console.print(f"{what}\n  tx {tx.tx_hash}  block {tx.block_number}  gas {tx.gas_used:,}")


def tx_json(tx: Any) -> dict[str, Any] | None:
    return None if tx is None else {"tx_hash": tx.tx_hash, "block": tx.block_number, "gas_used": tx.gas_used}


def split_ref(ref: str, what: str) -> tuple[str, str]:
    name, sep, version = ref.rpartition("@")
    if not sep or not name or not version:
        raise ValidationError(what, f"expected NAME@VERSION, got {ref!r}")
    return name, version


# ----------------------------------------------------------------------------- commands


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="provenance-ledger")
def cli() -> None:
    """Provenance Ledger: record how every ML model was trained, and answer "what exactly did this
    model train on?" from the chain alone.

    \b
    Quick start (local node):
      provenance node &                      # anvil with state persisted to .provenance/anvil-state.json
      export PROVENANCE_PRIVATE_KEY=0xac09…  # one of the dev keys `provenance node` prints
      provenance deploy
      provenance model register my-model
      provenance datanet register my-data
      provenance datanet publish my-data --root 0x… --spdx CC-BY-4.0
      provenance record run.yaml
      provenance lineage my-model@1.0 --tree
    """


@cli.command(epilog="Example:\n\n    provenance demo")
def demo() -> None:
    """Run the end-to-end story on the embedded in-process chain (nothing to start)."""
    from .demo import run_demo

    run_demo(console)


@cli.command(epilog="Example:\n\n    provenance node --port 8545 --state .provenance/anvil-state.json")
@click.option("--port", default=8545, show_default=True, type=click.IntRange(1, 65535))
@click.option("--state", "state", default=".provenance/anvil-state.json", show_default=True, type=click.Path(dir_okay=False), help="File anvil loads its chain from and saves it to on exit.")
@click.option("--block-time", type=click.IntRange(1), help="Mine every N seconds instead of on every transaction.")
def node(port: int, state: str, block_time: int | None) -> None:
    """Start a local anvil node whose chain survives restarts (Ctrl-C stops it and saves the state)."""
    from .chain import ANVIL_DEV_KEYS
    from eth_account import Account

    anvil = _anvil_binary()
    Path(state).parent.mkdir(parents=True, exist_ok=True)
    cmd = [str(anvil), "--port", str(port), "--host", "127.0.0.1", "--state", state, "--silent"]
    if block_time:
        cmd += ["--block-time", str(block_time)]
    proc = subprocess.Popen(cmd)
    console.print(f"[bold]Local node[/bold] http://127.0.0.1:{port}  (chain id 31337, state {state})")
    console.print("Funded dev accounts (public test keys; never use them on a real chain):")
    for i, key in enumerate(ANVIL_DEV_KEYS):
        console.print(f"  [{i}] {Account.from_key(key).address}  key {key}")
    console.print("Ctrl-C to stop (the chain is saved to the state file).")
    try:
        sys.exit(proc.wait())
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        console.print("node stopped; state saved")


def _anvil_binary() -> Path:
    here = Path(__file__).resolve()
    for base in [Path.cwd(), *here.parents]:
        cand = base / "node_modules" / ".bin" / "anvil"
        if cand.exists():
            return cand
    raise NotFoundError("anvil is not installed: run `make install` in the project (npm ci installs it)")


@cli.command(epilog="Example:\n\n    PROVENANCE_PRIVATE_KEY=0x… provenance deploy --rpc-url http://127.0.0.1:8545")
@chain_options
@keystore_option
def deploy(env: Env, as_json: bool, keystore: str | None) -> None:
    """Deploy a new registry and remember its address in .provenance/config.json."""
    from .chain import load_account
    from .client import Registry
    from .config import Deployment

    password = os.environ.get("PROVENANCE_KEYSTORE_PASSWORD")
    account = load_account(keystore=keystore, password=password)
    reg = Registry.deploy(env.w3, account)
    chain_id = env.w3.eth.chain_id
    env.config.rpc_url = env.rpc_url
    env.config.deployments[str(chain_id)] = Deployment(address=reg.address, chain_id=chain_id, block=reg.from_block, rpc_url=env.rpc_url)
    path = env.config.save()
    r = reg.deploy_receipt
    emit(
        {"address": reg.address, "chain_id": chain_id, "tx_hash": r.tx_hash, "block": r.block_number, "gas_used": r.gas_used, "config": str(path)},
        as_json,
        lambda: console.print(
            f"Deployed ProvenanceRegistry at [bold]{reg.address}[/bold] on chain {chain_id}\n"
            f"  tx {r.tx_hash}  block {r.block_number}  gas {r.gas_used:,}\n  saved to {path}"
        ),
    )


@cli.group()
def model() -> None:
    """Register models and authorise the trainers that may record their runs."""


@model.command("register", epilog="Example:\n\n    provenance model register acme-support")
@chain_options
@keystore_option
@click.argument("name")
def model_register(env: Env, as_json: bool, keystore: str | None, name: str) -> None:
    """Claim model NAME (first come, first owned); you become its owner."""
    reg = env.registry(sign=True, keystore=keystore)
    mid, tx = reg.register_model(name)
    emit({"model": name, "model_id": _hex(mid), **(tx_json(tx) or {})}, as_json, lambda: tx_line(f"Registered model {name} ({_hex(mid)})", tx))


@model.command("authorize", epilog="Example:\n\n    provenance model authorize acme-support 0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
@chain_options
@keystore_option
@click.argument("name")
@click.argument("trainer")
def model_authorize(env: Env, as_json: bool, keystore: str | None, name: str, trainer: str) -> None:
    """Let address TRAINER record runs for model NAME (owner only)."""
    reg = env.registry(sign=True, keystore=keystore)
    tx = reg.authorize_trainer(name, _address(trainer))
    emit({"model": name, "trainer": trainer, **(tx_json(tx) or {})}, as_json, lambda: tx_line(f"Authorised {trainer} for {name}", tx))


@model.command("revoke", epilog="Example:\n\n    provenance model revoke acme-support 0x7099…79C8")
@chain_options
@keystore_option
@click.argument("name")
@click.argument("trainer")
def model_revoke(env: Env, as_json: bool, keystore: str | None, name: str, trainer: str) -> None:
    """Stop TRAINER from recording new runs for NAME (its earlier records stay valid)."""
    reg = env.registry(sign=True, keystore=keystore)
    tx = reg.revoke_trainer(name, _address(trainer))
    emit({"model": name, "trainer": trainer, **(tx_json(tx) or {})}, as_json, lambda: tx_line(f"Revoked {trainer} for {name}", tx))


def _address(value: str) -> str:
    from eth_utils import is_address, to_checksum_address

    if not is_address(value):
        raise ValidationError("address", f"not an Ethereum address: {value!r}")
    return to_checksum_address(value)


@cli.group()
def datanet() -> None:
    """Register DataNets and publish their immutable, content-addressed versions."""


@datanet.command("register", epilog="Example:\n\n    provenance datanet register openwiki-en")
@chain_options
@keystore_option
@click.argument("name")
def datanet_register(env: Env, as_json: bool, keystore: str | None, name: str) -> None:
    """Claim DataNet NAME; you become its owner and may publish versions."""
    reg = env.registry(sign=True, keystore=keystore)
    did, tx = reg.register_datanet(name)
    emit({"datanet": name, "datanet_id": _hex(did), **(tx_json(tx) or {})}, as_json, lambda: tx_line(f"Registered DataNet {name} ({_hex(did)})", tx))


def _contributor(value: str) -> tuple[str, int]:
    addr, sep, shares = value.partition(":")
    if not sep or not shares.isdigit():
        raise ValidationError("contributor", f"expected ADDRESS:SHARES, got {value!r}")
    return _address(addr), int(shares)


@datanet.command(
    "publish",
    epilog="Examples:\n\n    provenance datanet publish openwiki-en --dir ./data/openwiki --spdx CC-BY-SA-4.0 --contributor 0xAbc…:3\n\n"
    "    provenance datanet publish openwiki-en --root 0x… --manifest-hash 0x… --terms terms.json",
)
@chain_options
@keystore_option
@click.argument("name")
@click.option("--dir", "folder", type=click.Path(exists=True), help="Fingerprint this folder: its content root and manifest hash are published.")
@click.option("--root", help="Content root (0x + 64 hex) when not using --dir.")
@click.option("--manifest-hash", help="Manifest hash (0x + 64 hex) when not using --dir.")
@click.option("--terms", "terms_file", type=click.Path(exists=True, dir_okay=False), help="License terms JSON file.")
@click.option("--spdx", help="SPDX licence id (shorthand for simple terms).")
@click.option("--contributor", "contributors", multiple=True, help="ADDRESS:SHARES (repeatable).")
def datanet_publish(env: Env, as_json: bool, keystore: str | None, name: str, folder: str | None, root: str | None,
                    manifest_hash: str | None, terms_file: str | None, spdx: str | None, contributors: tuple[str, ...]) -> None:
    """Publish the next immutable version of DataNet NAME."""
    from .records import bytes32

    if folder:
        from .cli_data import fingerprint_paths

        manifest = fingerprint_paths(folder, quiet=as_json)
        content_root, mhash = manifest.root, manifest.manifest_hash
    else:
        if not root:
            raise ValidationError("root", "give --dir DIR or --root 0x…")
        content_root = bytes32(root, "root")
        mhash = bytes32(manifest_hash, "manifest-hash") if manifest_hash else bytes(32)
    terms: dict[str, Any] = {}
    if terms_file:
        try:
            terms = json.loads(Path(terms_file).read_text())
        except ValueError as exc:
            raise ValidationError(terms_file, f"is not JSON: {exc}") from None
    if spdx:
        terms["spdx"] = spdx
    reg = env.registry(sign=True, keystore=keystore)
    version, tx = reg.publish_datanet_version(
        name, content_root=content_root, manifest_hash=mhash, terms=terms, contributors=[_contributor(c) for c in contributors]
    )
    from .cli_data import save_manifest

    saved = save_manifest(manifest) if folder else None  # local store: lets `verify-data` list precise differences
    emit(
        {"datanet": name, "version": version, "content_root": _hex(content_root), "manifest_hash": _hex(mhash), "manifest": None if saved is None else str(saved), **(tx_json(tx) or {})},
        as_json,
        lambda: tx_line(f"Published {name}@{version} (content root {_hex(content_root)})" + (f"\n  manifest saved to {saved}" if saved else ""), tx),
    )


def load_run_file(path: str, resolve: Callable[[str, str], bytes] | None) -> Any:
    from .canonical import name_id
    from .records import run_from_dict

    text = Path(path).read_text()
    try:
        if path.endswith((".yaml", ".yml")):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # yaml and json raise different types
        raise ValidationError(path, f"is not valid {'YAML' if path.endswith(('.yaml', '.yml')) else 'JSON'}: {exc}") from None
    try:
        return run_from_dict(data, name_hasher=name_id, resolve_parent=resolve)
    except ValidationError as exc:
        raise ValidationError(f"{path}: {exc.field}", exc.problem) from None


@cli.command(
    epilog="Examples:\n\n    provenance record run.yaml\n\n    provenance record run.json --dry-run\n\n"
    "A run file (YAML or JSON):\n\n\b\n"
    "    model: acme-support\n    version: \"1.1\"\n    weights_digest: \"0x…\"\n    parents: [\"acme-base@1.0\"]\n"
    "    datanets:\n      - {datanet: support-tickets, version: 2, weight_ppm: 1000000,\n"
    "         partition: {split: train, selector: \"tickets/*.jsonl\", fraction_ppm: 800000, seed: 7}}\n"
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
    from .canonical import encode_run, record_id

    reader = functools.cache(env.registry)  # connects only if a parent is named model@version, once

    def resolve(model: str, version: str) -> bytes:
        return _resolve_parent(reader(), model, version)

    run = load_run_file(run_file, resolve)
    if dry_run:
        enc = encode_run(run)
        emit(
            {"record_id": _hex(record_id(run)), "canonical_bytes": _hex(enc), "size": len(enc)},
            as_json,
            lambda: console.print(f"record hash {_hex(record_id(run))}\ncanonical bytes ({len(enc)}): {_hex(enc)}"),
        )
        return
    reg = env.registry(sign=True, keystore=keystore)
    res = reg.record_run(run)
    data = {"record_id": _hex(res.record_id), "already_recorded": res.already_recorded, "tx": tx_json(res.tx)}

    def human() -> None:
        if res.already_recorded:
            console.print(f"Already recorded: {_hex(res.record_id)} (nothing sent)")
        else:
            tx_line(f"Recorded run {_hex(res.record_id)}", res.tx)

    emit(data, as_json, human)


def _resolve_parent(reg: Any, model_name: str, version: str) -> bytes:
    runs = reg.runs_of(model_name, version)
    if not runs:
        raise NotFoundError(f"parent {model_name}@{version} has no recorded run")
    if len(runs) > 1:
        raise ValidationError("parents", f"{model_name}@{version} has {len(runs)} runs: name the record hash instead")
    return runs[0].record_id


@cli.command(epilog="Examples:\n\n    provenance lineage acme-support@1.1\n\n    provenance lineage acme-support@1.1 --tree\n\n    provenance lineage acme-support@1.1 --dot | dot -Tsvg > lineage.svg")
@chain_options
@click.argument("ref", metavar="MODEL@VERSION")
@click.option("--tree", is_flag=True, help="Show as a tree.")
@click.option("--dot", is_flag=True, help="Graphviz DOT output.")
@click.option("--no-index", is_flag=True, help="Read event logs even when an up-to-date local index exists.")
def lineage(env: Env, as_json: bool, ref: str, tree: bool, dot: bool, no_index: bool) -> None:
    """What exactly did MODEL@VERSION train on? Every run, DataNet version, weight, partition,
    preprocessing step and parent model, rebuilt from event logs (or the local index, when up to
    date) and verified against the chain."""
    from . import render
    from .cli_index import source_for

    name, version = split_ref(ref, "MODEL@VERSION")
    lin = source_for(env, use_index=not no_index).lineage(name, version)
    if dot:
        click.echo(render.lineage_dot(lin), nl=False)
        return
    emit(lin.to_dict(), as_json, lambda: console.print(render.lineage_tree(lin) if tree else render.lineage_table(lin)))


@cli.command("used-by", epilog="Examples:\n\n    provenance used-by openwiki-en\n\n    provenance used-by openwiki-en@2 --json")
@chain_options
@click.argument("ref", metavar="DATANET[@VERSION]")
@click.option("--no-index", is_flag=True, help="Read event logs even when an up-to-date local index exists.")
def used_by(env: Env, as_json: bool, ref: str, no_index: bool) -> None:
    """Which model versions used DATANET (or one version of it), directly or through fine-tunes?"""
    from . import render
    from .cli_index import source_for

    name, sep, v = ref.rpartition("@")
    if not sep:
        name, version = ref, None
    else:
        if not v.isdigit():
            raise ValidationError("DATANET@VERSION", f"version must be a number, got {v!r}")
        version = int(v)
    usages = source_for(env, use_index=not no_index).models_trained_on(name, version)
    emit([u.to_dict() for u in usages], as_json, lambda: console.print(render.usage_table(ref, usages)))


@cli.command(epilog="Example:\n\n    provenance show 0x7330b8cb…f324")
@chain_options
@click.argument("record_hash")
def show(env: Env, as_json: bool, record_hash: str) -> None:
    """Show one training-run record, verified against its on-chain hash."""
    from .records import bytes32

    rec = env.registry().get_run(bytes32(record_hash, "RECORD_HASH"))
    data = _record_json(rec)

    def human() -> None:
        console.print_json(json.dumps(data))

    emit(data, as_json, human)


def _record_json(rec: Any) -> dict[str, Any]:
    return {
        "record_id": _hex(rec.record_id),
        "block": rec.block_number,
        "tx_hash": rec.tx_hash,
        "recorder": rec.recorder,
        "anchor_root": None if rec.anchor_root is None else _hex(rec.anchor_root),
        "model_id": _hex(rec.run.model_id),
        "version": rec.run.model_version,
        "weights_digest": _hex(rec.run.weights_digest),
        "parents": [_hex(p) for p in rec.run.parents],
        "datanets": [
            {"datanet_id": _hex(u.datanet_id), "version": u.version, "weight_ppm": u.weight_ppm,
             "partition": {"split": u.partition.split, "selector": u.partition.selector, "fraction_ppm": u.partition.fraction_ppm, "seed": u.partition.seed}}
            for u in rec.run.datanets
        ],
        "details": rec.run.details(),
    }


def _run_from_record_json(data: dict[str, Any]) -> Any:
    from .records import DatanetUse, Partition, TrainingRun, details_fields

    fields = details_fields(data.get("details", {}))
    fields.pop("partitions", None)
    return TrainingRun(
        model_id=data["model_id"], model_version=data["version"], weights_digest=data["weights_digest"],
        parents=tuple(data.get("parents", [])),
        datanets=tuple(DatanetUse(datanet_id=u["datanet_id"], version=u["version"], weight_ppm=u["weight_ppm"], partition=Partition(**u.get("partition", {}))) for u in data["datanets"]),
        **fields,
    )


@cli.command(epilog="Examples:\n\n    provenance verify\n\n    provenance verify --model acme-support\n\n    provenance show 0x… --json > rec.json && provenance verify --against rec.json")
@chain_options
@click.option("--model", "model_name", help="Only this model's records.")
@click.option("--against", "against", type=click.Path(exists=True, dir_okay=False), help="A record exported with `show --json` (or a list of them): check this off-chain copy against the chain.")
def verify(env: Env, as_json: bool, model_name: str | None, against: str | None) -> None:
    """Re-derive every record (or one model's) from the logs and check each against its on-chain
    hash; exits 1 on any mismatch."""
    from rich.progress import Progress

    from .canonical import record_id

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
                rid = record_id(_run_from_record_json(item))
                if _hex(rid) != claimed:
                    problem = f"content hashes to {_hex(rid)}, not to its record hash: the copy was altered"
                elif reg.record_block(rid) == 0 and not _anchored(reg, rid):
                    problem = "no such record on chain"
                else:
                    problem = None
            except (ProvenanceError, KeyError, TypeError) as exc:
                problem = f"malformed record #{i}: {exc}"
            results.append({"record_id": claimed, "ok": problem is None, "problem": problem})
    else:
        with Progress(console=Console(stderr=True), transient=True, disable=as_json) as bar:
            task = bar.add_task("reading logs", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            raws = reg.logs("RunRecorded", *( (reg_model_id(model_name),) if model_name else ()), progress=progress)
            bar.update(task, description="verifying records", completed=0, total=len(raws))
            for raw in raws:
                try:
                    rec = reg._recorded(raw)
                    results.append({"record_id": _hex(rec.record_id), "ok": True, "problem": None})
                except VerificationError as exc:
                    results.append({"record_id": _hex(raw.args["recordId"]), "ok": False, "problem": str(exc)})
                bar.advance(task)
    bad = [r for r in results if not r["ok"]]

    def human() -> None:
        for r in bad:
            console.print(f"[red]MISMATCH[/red] {r['record_id']}: {r['problem']}")
        console.print(f"{len(results) - len(bad)} of {len(results)} records verified against the chain" + ("" if not bad else f"; [red]{len(bad)} failed[/red]"))

    emit({"checked": len(results), "failed": len(bad), "results": results}, as_json, human)
    if bad:
        sys.exit(1)


@cli.command(
    "license-check",
    epilog="Examples:\n\n    provenance license-check acme-support@1.1 --use commercial --domain medical\n\n"
    "Exit code: 0 allowed, 3 needs-review, 4 blocked.",
)
@chain_options
@click.argument("ref", metavar="MODEL@VERSION")
@click.option("--use", "use", type=click.Choice(["commercial", "non-commercial", "academic"]), required=True)
@click.option("--domain", help="Application domain, e.g. medical.")
@click.option("--at", "at_time", type=click.IntRange(0), help="Unix time to judge expiry at (default: now).")
def license_check(env: Env, as_json: bool, ref: str, use: str, domain: str | None, at_time: int | None) -> None:
    """Is USE of MODEL@VERSION allowed by the licences of every DataNet in its transitive lineage?
    The most restrictive terms win; unknown terms need review."""
    import time

    from rich.table import Table

    from .licensing import check_use

    name, version = split_ref(ref, "MODEL@VERSION")
    lin = env.registry().lineage(name, version)
    verdict = check_use(lin, use=use, domain=domain, at_time=int(time.time()) if at_time is None else at_time)

    def human() -> None:
        t = Table(title=f"{use} use of {ref}" + (f" in {domain}" if domain else ""))
        for col in ("DataNet version", "reached via", "licence", "decision", "clause"):
            t.add_column(col, overflow="fold")
        for f in verdict.findings:
            t.add_row(f.label, " → ".join(f.reached_via), str(f.spdx), f.decision, f.clause)
        console.print(t)
        for n in verdict.notice_texts:
            console.print(f"attribution owed: {n}")
        if verdict.share_alike_required:
            console.print(f"share-alike applies: {', '.join(verdict.share_alike_licences)}")
        console.print(f"[bold]verdict: {verdict.decision}[/bold]")

    emit(verdict.to_dict(), as_json, human)
    sys.exit({"allowed": 0, "needs-review": 3, "blocked": 4}[verdict.decision])


@cli.command("attribution", epilog="Examples:\n\n    provenance attribution acme-support@1.1\n\n    provenance attribution acme-support@1.1 --amount 1000003")
@chain_options
@click.argument("ref", metavar="MODEL@VERSION")
@click.option("--amount", type=click.IntRange(0), help="Split this many smallest units exactly among contributors.")
@click.option("--parent-share", default=500_000, show_default=True, type=click.IntRange(0, 1_000_000), help="Parts per million of a fine-tune's credit passed to its parent models.")
def attribution_cmd(env: Env, as_json: bool, ref: str, amount: int | None, parent_share: int) -> None:
    """Shares of MODEL@VERSION per DataNet version and per contributor (exact), and a reward split."""
    from rich.table import Table

    from .attribution import attribution, split

    name, version = split_ref(ref, "MODEL@VERSION")
    att = attribution(env.registry().lineage(name, version), parent_share_ppm=parent_share)
    payout = split(att, amount) if amount is not None else None
    data = att.to_dict() | ({"split": [{"recipient": r, "amount": a} for r, a in payout]} if payout is not None else {})

    def human() -> None:
        t = Table(title=f"Attribution of {ref}")
        t.add_column("DataNet version")
        t.add_column("share", justify="right")
        for d in att.datanets:
            t.add_row(d.label, f"{d.ppm / 10_000:.4f}%")
        console.print(t)
        c = Table(title="Contributors")
        c.add_column("recipient")
        c.add_column("share", justify="right")
        if payout is not None:
            c.add_column(f"of {amount:,}", justify="right")
        paid = dict(payout or [])
        for x in att.contributors:
            c.add_row(x.recipient, f"{x.ppm / 10_000:.4f}%", *([f"{paid.get(x.recipient, 0):,}"] if payout is not None else []))
        console.print(c)

    emit(data, as_json, human)



def reg_model_id(name: str) -> bytes:
    from .canonical import entity_id

    return entity_id(name, "model")


def _anchored(reg: Any, rid: bytes) -> bool:
    try:
        return reg.get_run(rid).anchor_root is not None
    except NotFoundError:
        return False


def main(args: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        cli.main(args=args, prog_name="provenance", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ProvenanceError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


from .cli_audit import audit as _audit  # noqa: E402

cli.add_command(_audit)

from .cli_index import index as _index  # noqa: E402

cli.add_command(_index)

from .cli_data import register as _register_data  # noqa: E402

_register_data(cli, datanet)  # datanet fingerprint, verify-data, verify-model
