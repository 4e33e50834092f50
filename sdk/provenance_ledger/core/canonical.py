"""Canonical bytes and ids: exactly what the registry contract derives. Pure: no I/O, no web3.

- details  -> RFC 8785 JSON bytes (``rfc8785``), valid against the details schema v2 (:mod:`.schema`)
- record   -> ``abi.encode(TrainingRun)`` bytes; record id = keccak256 of them
- names    -> model / DataNet id = keccak256(abi.encode(address owner, string name)) (owner-scoped)
- versions -> model version key = keccak256(abi.encode(modelId, version))
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import rfc8785

from provenance_ledger.core.hashing import keccak
from provenance_ledger.core.records import (
    MAX_DETAILS_BYTES,
    MAX_NAME_BYTES,
    DatanetUse,
    Json,
    Partition,
    TrainingRun,
    bytes32,
    details_fields,
    is_id,
    utf8,
)
from provenance_ledger.core.schema import validate_details
from provenance_ledger.errors import ValidationError

__all__ = [
    "CONTRIBUTOR_TYPE",
    "DATANET_USE_TYPE",
    "TRAINING_RUN_TYPE",
    "canonical_json",
    "check_name",
    "contributors_hash",
    "decode_run",
    "details_bytes",
    "encode_run",
    "entity_id",
    "is_canonical_json",
    "model_version_key",
    "owner_bytes",
    "parse_record",
    "record_id",
    "run_from_tuple",
    "run_tuple",
    "split_owner",
]

DATANET_USE_TYPE = "(bytes32,uint64,uint32)"
TRAINING_RUN_TYPE = f"(bytes32,string,bytes32,bytes32[],{DATANET_USE_TYPE}[],bytes)"
CONTRIBUTOR_TYPE = "(address,uint64)"


def canonical_json(value: Json) -> bytes:
    """RFC 8785 (JCS) bytes of a JSON value."""
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:
        raise ValidationError("details", f"cannot be canonicalised: {exc}") from None


def _plain(value: Json) -> bool:
    """True when Python's compact, key-sorted JSON of ``value`` is already its RFC 8785 form: only
    ASCII strings (so code-point and UTF-16 key order agree), integers within 2**53, and floats in
    [1e-4, 1e16) that are not whole (where repr and ECMAScript print the same digits)."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return abs(value) <= 2**53 - 1
    if isinstance(value, float):
        return 1e-4 <= abs(value) < 1e16 and not value.is_integer()
    if isinstance(value, str):
        return value.isascii()
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(k.isascii() and _plain(v) for k, v in value.items())
    return False


def is_canonical_json(value: Json, raw: bytes) -> bool:
    """Whether ``raw`` is exactly the RFC 8785 form of ``value`` (fast path for plain values)."""
    if _plain(value):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode() == raw
    return canonical_json(value) == raw


_ADDRESS = re.compile(r"^0[xX][0-9a-fA-F]{40}$")


def owner_bytes(owner: str | bytes, field: str = "owner") -> bytes:
    """A 20-byte address from raw bytes or ``0x`` hex (any case; checksums are not enforced here)."""
    if isinstance(owner, bytes | bytearray):
        if len(owner) != 20:
            raise ValidationError(field, f"must be a 20-byte address, got {len(owner)} bytes")
        return bytes(owner)
    if isinstance(owner, str) and _ADDRESS.match(owner):
        return bytes.fromhex(owner[2:])
    raise ValidationError(field, f"must be a 0x-prefixed 20-byte address, got {owner!r}")


def split_owner(ref: str) -> tuple[str | None, str]:
    """``"0xOWNER/NAME"`` -> (owner, name); anything else (``"NAME"``, ``"org/model"``) -> (None, ref)."""
    head, sep, tail = ref.partition("/")
    if sep and _ADDRESS.match(head):
        return head, tail
    return None, ref


def check_name(name: str, field: str = "name") -> bytes:
    """The UTF-8 bytes of a model or DataNet name (1..128 bytes), or ValidationError."""
    if not isinstance(name, str):
        raise ValidationError(field, f"must be a string, got {type(name).__name__}")
    data = utf8(name, field)
    if not data:
        raise ValidationError(field, "must not be empty")
    if len(data) > MAX_NAME_BYTES:
        raise ValidationError(field, f"must be at most {MAX_NAME_BYTES} bytes, got {len(data)}")
    return data


def entity_id(owner: str | bytes | None, name: str | bytes, field: str = "name") -> bytes:
    """The id ``owner`` gets for a model or DataNet named ``name``: keccak256(abi.encode(owner, name)),
    as ``registerModel`` / ``registerDatanet`` / ``computeEntityId`` derive it.

    ``name`` may also be an id already (32 raw bytes or ``0x`` + 64 hex), which passes through
    unchanged, or ``"0xOWNER/NAME"``, which names that owner's entity whatever ``owner`` is. A bare name
    needs an ``owner``: ids are scoped by owner, so a name alone names nothing (ValidationError)."""
    if is_id(name) or isinstance(name, bytes | bytearray):
        return bytes32(name, field)
    named_owner, bare = split_owner(name)
    if named_owner is not None:
        owner = named_owner
    if owner is None:
        raise ValidationError(
            field, f"{name!r} needs an owner: ids are scoped by owner (give OWNER/NAME, the 0x id, or a default owner)"
        )
    data = check_name(bare, field)
    pad = -len(data) % 32
    word = b"\0" * 12 + owner_bytes(owner)
    return keccak(word + _OFFSET_0X40 + len(data).to_bytes(32, "big") + data + b"\0" * pad)


def model_version_key(model_id: bytes, version: str) -> bytes:
    """keccak256(abi.encode(modelId, modelVersion)): the indexed topic of a model version.

    Encoded by hand (bytes32 ‖ offset 0x40 ‖ length ‖ UTF-8 padded to 32 bytes): the index computes
    this for every record it syncs, and eth_abi takes ~45 us a call."""
    data = version.encode("utf-8")
    pad = -len(data) % 32
    return keccak(bytes(model_id) + _OFFSET_0X40 + len(data).to_bytes(32, "big") + data + b"\0" * pad)


_OFFSET_0X40 = (0x40).to_bytes(32, "big")


def _use_tuple(u: DatanetUse) -> tuple[Any, ...]:
    return (u.datanet_id, u.version, u.weight_ppm)


def details_bytes(run: TrainingRun) -> bytes:
    """The record's ``details``: RFC 8785 JSON of :meth:`TrainingRun.details`, checked against the
    details schema v2 and the registry's size limit (ValidationError otherwise)."""
    details = run.details()
    validate_details(details)
    raw = canonical_json(details)
    if len(raw) > MAX_DETAILS_BYTES:
        raise ValidationError(
            "details", f"must be at most {MAX_DETAILS_BYTES:,} bytes of canonical JSON, got {len(raw):,}"
        )
    return raw


def run_tuple(run: TrainingRun) -> tuple[Any, ...]:
    """The record as the ABI tuple the contract receives (details validated, see :func:`details_bytes`)."""
    return (
        run.model_id,
        run.model_version,
        run.weights_digest,
        list(run.parents),
        [_use_tuple(u) for u in run.datanets],
        details_bytes(run),
    )


def encode_run(run: TrainingRun) -> bytes:
    """Canonical record bytes: ``abi.encode(run)`` exactly as Solidity computes it."""
    from eth_abi.abi import encode as abi_encode  # pure; imported on first use (~0.1 s) so reads start fast

    return abi_encode([TRAINING_RUN_TYPE], [run_tuple(run)])


def record_id(run: TrainingRun) -> bytes:
    """The record id: keccak256 of the canonical record bytes."""
    return keccak(encode_run(run))


def run_from_tuple(value: tuple[Any, ...]) -> TrainingRun:
    """Inverse of :func:`run_tuple`. The details must be RFC 8785 JSON valid against the details
    schema v2, with ``relations`` aligned with the parents and ``partitions`` with the DataNet uses,
    and in exactly the form :meth:`TrainingRun.details` writes (so that the run re-encodes to the
    same bytes and the same id). Raises ValidationError otherwise."""
    model_id, version, weights, parents, uses, details = value
    raw = bytes(details)
    if len(raw) > MAX_DETAILS_BYTES:
        raise ValidationError("details", f"is {len(raw):,} bytes, over the limit of {MAX_DETAILS_BYTES:,}")
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValidationError("details", f"is not JSON: {exc}") from None
    if not isinstance(parsed, Mapping):
        raise ValidationError("details", "must be a JSON object")
    validate_details(parsed)
    fields = details_fields(parsed)
    partitions: tuple[Partition, ...] = fields.pop("partitions") or tuple(Partition() for _ in uses)
    if len(partitions) != len(uses):
        raise ValidationError("details.partitions", f"has {len(partitions)} entries for {len(uses)} DataNets")
    if len(fields["relations"]) != len(parents):
        raise ValidationError("details.relations", f"has {len(fields['relations'])} entries for {len(parents)} parents")
    run = TrainingRun(
        model_id=bytes(model_id),
        model_version=version,
        weights_digest=bytes(weights),
        parents=tuple(bytes(p) for p in parents),
        datanets=tuple(
            DatanetUse(datanet_id=bytes(d[0]), version=d[1], weight_ppm=d[2], partition=p)
            for d, p in zip(uses, partitions, strict=True)
        ),
        **fields,
    )
    # The RFC 8785 form of what was read, in the shape TrainingRun.details() writes it, must be the
    # bytes read: no other spelling (whitespace, key order, number forms, optional keys) of the record.
    if not is_canonical_json(run.details(), raw):
        raise ValidationError("details", "is not the RFC 8785 canonical form of the record's details")
    return run


def _ceil32(n: int) -> int:
    return (n + 31) & ~31


def parse_record(
    record: bytes,
) -> tuple[bytes, str, bytes, tuple[bytes, ...], tuple[tuple[bytes, int, int], ...], bytes]:
    """Split canonical record bytes into (model id, version, weights digest, parents, DataNet uses
    as (id, version, weight), details JSON bytes), checking that the layout is exactly the canonical
    ABI encoding (every offset where canonical encoding puts it, zero padding, value ranges, length).

    Equivalent to ``eth_abi`` decoding plus a re-encoding comparison, without either: a record read
    from the registry is parsed in microseconds. Raises ValidationError("record", ...) otherwise.
    """
    b = bytes(record)

    def fail(why: str) -> ValidationError:
        return ValidationError("record", f"is not a canonical ABI-encoded TrainingRun ({why})")

    def word(off: int) -> int:
        if off + 32 > len(b):
            raise fail("truncated")
        return int.from_bytes(b[off : off + 32], "big")

    def zero_padded(start: int, n: int) -> None:
        if any(b[start + n : start + _ceil32(n)]):
            raise fail("nonzero padding")

    if word(0) != 32:
        raise fail("bad head offset")
    p = 32
    if word(p + 32) != 0xC0:
        raise fail("bad version offset")
    vlen = word(p + 0xC0)
    if vlen > len(b):
        raise fail("truncated")
    zero_padded(p + 0xE0, vlen)
    off_parents = 0xE0 + _ceil32(vlen)
    if word(p + 96) != off_parents:
        raise fail("bad parents offset")
    n_parents = word(p + off_parents)
    if n_parents > len(b) // 32:
        raise fail("truncated")
    off_uses = off_parents + 32 + 32 * n_parents
    if word(p + 128) != off_uses:
        raise fail("bad datanets offset")
    n_uses = word(p + off_uses)
    if n_uses > len(b) // 96:
        raise fail("truncated")
    off_details = off_uses + 32 + 96 * n_uses
    if word(p + 160) != off_details:
        raise fail("bad details offset")
    dlen = word(p + off_details)
    if p + off_details + 32 + _ceil32(dlen) != len(b):
        raise fail("wrong length")
    zero_padded(p + off_details + 32, dlen)
    parents = tuple(b[p + off_parents + 32 + 32 * i : p + off_parents + 64 + 32 * i] for i in range(n_parents))
    uses = []
    for i in range(n_uses):
        u = p + off_uses + 32 + 96 * i
        version, weight = word(u + 32), word(u + 64)
        if version >= 2**64 or weight >= 2**32:
            raise fail("value out of range")
        uses.append((b[u : u + 32], version, weight))
    try:
        model_version = b[p + 0xE0 : p + 0xE0 + vlen].decode("utf-8")
    except UnicodeDecodeError:
        raise fail("version is not UTF-8") from None
    details = b[p + off_details + 32 : p + off_details + 32 + dlen]
    return b[p : p + 32], model_version, b[p + 64 : p + 96], parents, tuple(uses), details


def decode_run(record: bytes) -> TrainingRun:
    """Parse canonical record bytes back into a :class:`TrainingRun`; rejects non-canonical input."""
    return run_from_tuple(parse_record(record))


def contributors_hash(contributors: list[tuple[str, int]]) -> bytes:
    """keccak256(abi.encode(Contributor[])) as stored for a DataNet version."""
    from eth_abi.abi import encode as abi_encode

    return keccak(abi_encode([f"{CONTRIBUTOR_TYPE}[]"], [contributors]))
