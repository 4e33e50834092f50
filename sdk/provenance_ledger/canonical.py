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
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak

from .errors import ValidationError
from .records import DatanetUse, Json, Partition, TrainingRun, details_fields

DATANET_USE_TYPE = "(bytes32,uint64,uint32)"
TRAINING_RUN_TYPE = f"(bytes32,string,bytes32,bytes32[],{DATANET_USE_TYPE}[],bytes)"
CONTRIBUTOR_TYPE = "(address,uint64)"


def canonical_json(value: Json) -> bytes:
    """RFC 8785 (JCS) bytes of a JSON value."""
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:
        raise ValidationError("details", f"cannot be canonicalised: {exc}") from None


def name_id(name: str) -> bytes:
    """Model or DataNet id: keccak256 of the UTF-8 name (as ``registerModel``/``registerDatanet``)."""
    if not name:
        raise ValidationError("name", "must not be empty")
    return keccak(name.encode("utf-8"))


def model_version_key(model_id: bytes, version: str) -> bytes:
    """keccak256(abi.encode(modelId, modelVersion)): the indexed topic of a model version."""
    return keccak(abi_encode(["bytes32", "string"], [model_id, version]))


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
    if canonical_json(parsed) != bytes(details):
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


def decode_run(record: bytes) -> TrainingRun:
    """Parse canonical record bytes back into a :class:`TrainingRun`; rejects non-canonical input."""
    try:
        (value,) = abi_decode([TRAINING_RUN_TYPE], record)
    except Exception as exc:  # eth_abi raises several unrelated types
        raise ValidationError("record", f"is not an ABI-encoded TrainingRun: {exc}") from None
    run = run_from_tuple(value)
    if encode_run(run) != bytes(record):
        raise ValidationError("record", "is not in canonical ABI form")
    return run


def contributors_hash(contributors: list[tuple[str, int]]) -> bytes:
    """keccak256(abi.encode(Contributor[])) as stored for a DataNet version."""
    return keccak(abi_encode([f"{CONTRIBUTOR_TYPE}[]"], [contributors]))
