"""Typed entries read back from the registry's event logs. Pure data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provenance_ledger.core.hexutil import hexstr
from provenance_ledger.core.records import DatanetUse, Partition, TrainingRun, details_fields

__all__ = [
    "DatanetVersionInfo",
    "ModelInfo",
    "RecordedRun",
    "recorded_run_json",
    "run_from_record_json",
]


@dataclass(frozen=True, kw_only=True)
class RecordedRun:
    """A training-run record as found on chain, after its bytes were re-hashed and checked."""

    record_id: bytes
    """keccak256 of the canonical record bytes (checked)."""
    run: TrainingRun
    """The decoded record."""
    record: bytes
    """The canonical record bytes exactly as logged."""
    recorder: str
    """Address that recorded it (the model owner or an authorised trainer)."""
    block_number: int
    tx_hash: str
    log_index: int
    anchor_root: bytes | None = None
    """Merkle root of the anchored batch it belongs to; None if recorded individually."""
    anchor_proof: tuple[bytes, ...] = ()
    """Inclusion proof of the record id under ``anchor_root``."""


@dataclass(frozen=True, kw_only=True)
class DatanetVersionInfo:
    """A published DataNet version as logged (and stored) by the registry."""

    datanet_id: bytes
    name: str
    version: int
    content_root: bytes
    manifest_hash: bytes
    terms: dict[str, Any] | None
    """License terms (decoded RFC 8785 JSON), None if the logged bytes are not JSON."""
    terms_bytes: bytes
    contributors: tuple[tuple[str, int], ...]
    """(address, integer shares) pairs."""
    block_number: int

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True, kw_only=True)
class ModelInfo:
    """A registered model."""

    model_id: bytes
    name: str
    owner: str
    block_number: int


def recorded_run_json(rec: RecordedRun) -> dict[str, Any]:
    """The JSON form of a recorded run that ``provenance show --json`` prints and
    :func:`run_from_record_json` reads back (ids and digests as 0x hex)."""
    return {
        "record_id": hexstr(rec.record_id),
        "block": rec.block_number,
        "tx_hash": rec.tx_hash,
        "recorder": rec.recorder,
        "anchor_root": None if rec.anchor_root is None else hexstr(rec.anchor_root),
        "model_id": hexstr(rec.run.model_id),
        "version": rec.run.model_version,
        "weights_digest": hexstr(rec.run.weights_digest),
        "parents": [hexstr(p) for p in rec.run.parents],
        "datanets": [
            {
                "datanet_id": hexstr(u.datanet_id),
                "version": u.version,
                "weight_ppm": u.weight_ppm,
                "partition": {
                    "split": u.partition.split,
                    "selector": u.partition.selector,
                    "fraction_ppm": u.partition.fraction_ppm,
                    "seed": u.partition.seed,
                },
            }
            for u in rec.run.datanets
        ],
        "details": rec.run.details(),
    }


def run_from_record_json(data: dict[str, Any]) -> TrainingRun:
    """The :class:`TrainingRun` of a :func:`recorded_run_json` copy (raises KeyError/TypeError on a wrong shape)."""
    fields = details_fields(data.get("details", {}))
    fields.pop("partitions", None)
    return TrainingRun(
        model_id=data["model_id"],
        model_version=data["version"],
        weights_digest=data["weights_digest"],
        parents=tuple(data.get("parents", [])),
        datanets=tuple(
            DatanetUse(
                datanet_id=u["datanet_id"],
                version=u["version"],
                weight_ppm=u["weight_ppm"],
                partition=Partition(**u.get("partition", {})),
            )
            for u in data["datanets"]
        ),
        **fields,
    )
