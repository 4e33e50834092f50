"""Canonical bytes and ids: exactly what the registry contract derives. Pure: no I/O, no web3.

- details  -> RFC 8785 JSON bytes (``rfc8785``)
- record   -> ``abi.encode(TrainingRun)`` bytes; record id = keccak256 of them
- names    -> model / DataNet id = keccak256(utf-8 name)
- versions -> model version key = keccak256(abi.encode(modelId, version))
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import rfc8785

from provenance_ledger.core.hashing import keccak
from provenance_ledger.core.records import DatanetUse, Json, Partition, TrainingRun, bytes32, details_fields
from provenance_ledger.errors import ValidationError

__all__ = [
    "CONTRIBUTOR_TYPE",
    "DATANET_USE_TYPE",
    "TRAINING_RUN_TYPE",
    "canonical_json",
    "contributors_hash",
    "decode_run",
    "encode_run",
    "entity_id",
    "is_canonical_json",
    "model_version_key",
    "name_id",
    "parse_record",
    "record_id",
    "run_from_tuple",
    "run_tuple",
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


def name_id(name: str) -> bytes:
    """Model or DataNet id: keccak256 of the UTF-8 name (as ``registerModel``/``registerDatanet``)."""
    if not name:
        raise ValidationError("name", "must not be empty")
    return keccak(name.encode("utf-8"))


def entity_id(value: str | bytes, field: str) -> bytes:
    """A model or DataNet given by name, ``0x`` id or raw 32 bytes -> its 32-byte id."""
    if isinstance(value, bytes) or (value.startswith("0x") and len(value) == 66):
        return bytes32(value, field)
    return name_id(value)


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


def run_tuple(run: TrainingRun) -> tuple[Any, ...]:
    """The record as the ABI tuple the contract receives."""
    return (
        run.model_id,
        run.model_version,
        run.weights_digest,
        list(run.parents),
        [_use_tuple(u) for u in run.datanets],
        canonical_json(run.details()),
    )


def encode_run(run: TrainingRun) -> bytes:
    """Canonical record bytes: ``abi.encode(run)`` exactly as Solidity computes it."""
    from eth_abi.abi import encode as abi_encode  # pure; imported on first use (~0.1 s) so reads start fast

    return abi_encode([TRAINING_RUN_TYPE], [run_tuple(run)])


def record_id(run: TrainingRun) -> bytes:
    """The record id: keccak256 of the canonical record bytes."""
    return keccak(encode_run(run))


def run_from_tuple(value: tuple[Any, ...]) -> TrainingRun:
    """Inverse of :func:`run_tuple` (details must be canonical JSON)."""
    model_id, version, weights, parents, uses, details = value
    try:
        parsed = json.loads(bytes(details).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError("details", f"is not JSON: {exc}") from None
    if not isinstance(parsed, Mapping):
        raise ValidationError("details", "must be a JSON object")
    if not is_canonical_json(parsed, bytes(details)):
        raise ValidationError("details", "is not in RFC 8785 canonical form")
    fields = details_fields(parsed)
    partitions: tuple[Partition, ...] = fields.pop("partitions") or tuple(Partition() for _ in uses)
    if len(partitions) != len(uses):
        raise ValidationError("details.partitions", f"has {len(partitions)} entries for {len(uses)} DataNets")
    return TrainingRun(
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
