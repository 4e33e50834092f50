"""`provenance model ...` and `provenance datanet register|publish`: names, trainers and DataNet versions."""

from __future__ import annotations

from typing import Any

import click

from provenance_ledger.cli._common import Env, address, chain_options, emit, hexstr, keystore_option, tx_json, tx_line
from provenance_ledger.cli.data import datanet_fingerprint
from provenance_ledger.errors import ValidationError
from provenance_ledger.report.safe import visible

__all__ = [
    "REASONS",
    "datanet",
    "datanet_publish",
    "datanet_register",
    "datanet_retract",
    "model",
    "model_authorize",
    "model_register",
    "model_retract",
    "model_revoke",
]


@click.group(
    epilog="Examples:\n\n\b\n"
    "    provenance model register acme-support\n"
    "    provenance model authorize acme-support 0x70997970C51812dc3A010C7d01b50e0d17dc79C8\n"
    "    provenance model revoke acme-support 0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
)
def model() -> None:
    """Register models and authorise the trainers that may record their runs."""


@model.command("register", epilog="Example:\n\n    provenance model register acme-support")
@chain_options
@keystore_option
@click.argument("name")
def model_register(env: Env, as_json: bool, keystore: str | None, name: str) -> None:
    """Register model NAME in your own name space (its id is keccak256(abi.encode(you, NAME))); you own it."""
    _new_name(name)
    reg = env.registry(sign=True, keystore=keystore)
    mid, tx = reg.register_model(name)
    emit(
        {"model": name, "model_id": hexstr(mid), **(tx_json(tx) or {})},
        as_json,
        lambda: tx_line(f"Registered model {visible(name)} ({hexstr(mid)})", tx),
    )


@model.command(
    "authorize",
    epilog="Example:\n\n    provenance model authorize acme-support 0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
)
@chain_options
@keystore_option
@click.argument("name")
@click.argument("trainer")
def model_authorize(env: Env, as_json: bool, keystore: str | None, name: str, trainer: str) -> None:
    """Let address TRAINER record runs for model NAME (owner only)."""
    who = address(trainer)  # checked before anything is sent
    reg = env.registry(sign=True, keystore=keystore)
    tx = reg.authorize_trainer(name, who)
    emit(
        {"model": name, "trainer": trainer, **(tx_json(tx) or {})},
        as_json,
        lambda: tx_line(f"Authorised {visible(trainer)} for {visible(name)}", tx),
    )


@model.command("revoke", epilog="Example:\n\n    provenance model revoke acme-support 0x7099…79C8")
@chain_options
@keystore_option
@click.argument("name")
@click.argument("trainer")
def model_revoke(env: Env, as_json: bool, keystore: str | None, name: str, trainer: str) -> None:
    """Stop TRAINER from recording new runs for NAME (its earlier records stay valid)."""
    who = address(trainer)
    reg = env.registry(sign=True, keystore=keystore)
    tx = reg.revoke_trainer(name, who)
    emit(
        {"model": name, "trainer": trainer, **(tx_json(tx) or {})},
        as_json,
        lambda: tx_line(f"Revoked {visible(trainer)} for {visible(name)}", tx),
    )


@click.group(
    epilog="Examples:\n\n\b\n"
    "    provenance datanet register openwiki-en\n"
    "    provenance datanet fingerprint ./data/openwiki\n"
    "    provenance datanet publish openwiki-en --dir ./data/openwiki --spdx CC-BY-SA-4.0"
)
def datanet() -> None:
    """Register DataNets and publish their immutable, content-addressed versions."""


@datanet.command("register", epilog="Example:\n\n    provenance datanet register openwiki-en")
@chain_options
@keystore_option
@click.argument("name")
def datanet_register(env: Env, as_json: bool, keystore: str | None, name: str) -> None:
    """Register DataNet NAME in your own name space; you own it and may publish versions."""
    _new_name(name)
    reg = env.registry(sign=True, keystore=keystore)
    did, tx = reg.register_datanet(name)
    emit(
        {"datanet": name, "datanet_id": hexstr(did), **(tx_json(tx) or {})},
        as_json,
        lambda: tx_line(f"Registered DataNet {visible(name)} ({hexstr(did)})", tx),
    )


def _new_name(name: str) -> None:
    """A name this account may register and then address on the command line: 1..128 UTF-8 bytes, not
    starting with ``0xADDRESS/`` (which reads as another owner's name). Checked before anything is sent."""
    import re

    from provenance_ledger.core.canonical import check_name

    check_name(name, "NAME")
    if re.match(r"0x[0-9a-fA-F]{40}/", name):
        raise ValidationError("NAME", "must not start with 0xADDRESS/ (that reads as another owner's name)")


def _check_note(note: str) -> None:
    from provenance_ledger.core.records import MAX_NOTE_BYTES

    if len(note.encode("utf-8", "surrogatepass")) > MAX_NOTE_BYTES:
        raise ValidationError(
            "note", f"must be at most {MAX_NOTE_BYTES:,} bytes, got {len(note.encode('utf-8', 'surrogatepass')):,}"
        )


def _contributor(value: str) -> tuple[str, int]:
    from provenance_ledger.core.records import MAX_UINT64

    addr, sep, shares = value.rpartition(":")
    if not sep or not shares.isascii() or not shares.isdigit():
        raise ValidationError("contributor", f"expected ADDRESS:SHARES, got {value!r}")
    if int(shares) > MAX_UINT64:
        raise ValidationError("contributor", f"shares must be at most 2**64-1 (a uint64), got {shares}")
    return address(addr), int(shares)


def _json_kind(value: Any) -> str:
    return {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")


@datanet.command(
    "publish",
    epilog="Examples:\n\n    provenance datanet publish openwiki-en --dir ./data/openwiki --spdx CC-BY-SA-4.0 --contributor 0xAbc…:3\n\n"
    "    provenance datanet publish openwiki-en --root 0x… --manifest-hash 0x… --terms terms.json",
)
@chain_options
@keystore_option
@click.argument("name")
@click.option(
    "--dir",
    "folder",
    type=click.Path(exists=True),
    help="Fingerprint this folder: its content root and manifest hash are published.",
)
@click.option("--root", help="Content root (0x + 64 hex) when not using --dir.")
@click.option("--manifest-hash", help="Manifest hash (0x + 64 hex) when not using --dir.")
@click.option("--terms", "terms_file", type=click.Path(exists=True, dir_okay=False), help="License terms JSON file.")
@click.option("--spdx", help="SPDX licence id (shorthand for simple terms).")
@click.option("--contributor", "contributors", multiple=True, help="ADDRESS:SHARES (repeatable).")
@click.option(
    "--unchecked-terms",
    is_flag=True,
    help="Publish terms the licence checker cannot judge (unknown fields, a non-SPDX licence): every use "
    "of the version will need review. Without it such terms are refused.",
)
def datanet_publish(
    env: Env,
    as_json: bool,
    keystore: str | None,
    name: str,
    folder: str | None,
    root: str | None,
    manifest_hash: str | None,
    terms_file: str | None,
    spdx: str | None,
    contributors: tuple[str, ...],
    unchecked_terms: bool,
) -> None:
    """Publish the next immutable version of DataNet NAME."""
    from provenance_ledger.core.records import bytes32

    if folder:
        from provenance_ledger.cli._common import fingerprint_paths

        manifest = fingerprint_paths(folder, quiet=as_json)
        content_root, mhash = manifest.root, manifest.manifest_hash
    else:
        if not root:
            raise ValidationError("root", "give --dir DIR or --root 0x…")
        content_root = bytes32(root, "root")
        mhash = bytes32(manifest_hash, "manifest-hash") if manifest_hash else bytes(32)
    terms: dict[str, Any] = {}
    if terms_file:
        from provenance_ledger.core.records import MAX_TERMS_BYTES
        from provenance_ledger.local.runfile import load_json_file

        terms = load_json_file(terms_file, limit=4 * MAX_TERMS_BYTES)
        if not isinstance(terms, dict):
            raise ValidationError(terms_file, f"must hold a JSON object of licence terms, got {_json_kind(terms)}")
    if spdx:
        terms["spdx"] = spdx
    if (
        terms and not unchecked_terms
    ):  # our own publisher's terms must be judgeable: a typo would make them "unknown" forever
        from provenance_ledger.core.licensing import parse_terms

        parse_terms(terms)  # ValidationError names the field ("terms: ...")
    shares = [_contributor(c) for c in contributors]
    reg = env.registry(sign=True, keystore=keystore)
    version, tx = reg.publish_datanet_version(
        name,
        content_root=content_root,
        manifest_hash=mhash,
        terms=terms,
        contributors=shares,
    )
    from provenance_ledger.local.manifests import save_manifest

    saved = save_manifest(manifest) if folder else None  # local store: lets `verify-data` list precise differences
    emit(
        {
            "datanet": name,
            "version": version,
            "content_root": hexstr(content_root),
            "manifest_hash": hexstr(mhash),
            "manifest": None if saved is None else str(saved),
            **(tx_json(tx) or {}),
        },
        as_json,
        lambda: tx_line(
            f"Published {visible(name)}@{version} (content root {hexstr(content_root)})"
            + (f"\n  manifest saved to {visible(saved)}" if saved else ""),
            tx,
        ),
    )


REASONS = ("pii", "licence", "corrupt", "superseded", "other")
"""Retraction reasons, codes 1..5 in the registry (see IProvenanceRegistry.sol, RETRACTIONS)."""


def _split_version(ref: str, what: str) -> tuple[str, str]:
    from provenance_ledger.cli._common import split_ref

    return split_ref(ref, what)


@model.command(
    "retract",
    epilog="Examples:\n\n\b\n"
    "    provenance model retract acme-support@1.1 --reason pii --note https://acme.example/incidents/42\n"
    "    provenance model retract acme-support@1.0 --reason superseded",
)
@chain_options
@keystore_option
@click.argument("ref", metavar="NAME@VERSION")
@click.option("--reason", required=True, type=click.Choice(REASONS), help="Why the version is retracted.")
@click.option("--note", default="", help="The hash or URI of an explanation (at most 1,024 bytes; public).")
def model_retract(env: Env, as_json: bool, keystore: str | None, ref: str, reason: str, note: str) -> None:
    """Retract one of your model versions: an append-only event with a reason; its records stay readable
    and every later answer flags it."""
    name, version = _split_version(ref, "NAME@VERSION")
    _check_note(note)
    reg = env.registry(sign=True, keystore=keystore)
    tx = reg.retract_model_version(name, version, reason=reason, note=note)
    emit(
        {"model": name, "version": version, "reason": reason, "note": note, **(tx_json(tx) or {})},
        as_json,
        lambda: tx_line(f"Retracted model {visible(name)}@{visible(version)} ({reason})", tx),
    )


@datanet.command(
    "retract",
    epilog="Examples:\n\n\b\n"
    "    provenance datanet retract support-tickets@3 --reason pii --note sha256:9f2c…\n"
    "    provenance datanet retract openwiki-en@1 --reason licence",
)
@chain_options
@keystore_option
@click.argument("ref", metavar="NAME@VERSION")
@click.option("--reason", required=True, type=click.Choice(REASONS), help="Why the version is retracted.")
@click.option("--note", default="", help="The hash or URI of an explanation (at most 1,024 bytes; public).")
def datanet_retract(env: Env, as_json: bool, keystore: str | None, ref: str, reason: str, note: str) -> None:
    """Retract one of your DataNet versions (e.g. it contained PII): an append-only event with a reason;
    nothing is deleted, and the models trained on it are flagged."""
    name, v = _split_version(ref, "NAME@VERSION")
    if not v.isdigit() or int(v) < 1:
        raise ValidationError("NAME@VERSION", f"a DataNet version is a positive number, got {visible(v)!r}")
    _check_note(note)
    reg = env.registry(sign=True, keystore=keystore)
    tx = reg.retract_datanet_version(name, int(v), reason=reason, note=note)
    emit(
        {"datanet": name, "version": int(v), "reason": reason, "note": note, **(tx_json(tx) or {})},
        as_json,
        lambda: tx_line(f"Retracted DataNet {visible(name)}@{v} ({reason})", tx),
    )


datanet.add_command(datanet_fingerprint)
