"""Typed entries read back from the registry's event logs. Pure data, no I/O.

REPEATS. The registry cannot stop a run that was anchored in an earlier transaction from being
anchored again or recorded individually later (it keeps no slot per anchored run), so one record id
may have several RunRecorded events. Readers treat them as one record: the earliest (lowest block,
then log index) whose inclusion checks out is authoritative, the others are its :attr:`RecordedRun.repeats`,
listed and never counted twice (:func:`merge_repeats`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from provenance_ledger.core.hexutil import hexstr
from provenance_ledger.core.records import DatanetUse, Partition, TrainingRun, details_fields
from provenance_ledger.errors import VerificationError

__all__ = [
    "REASON_CODES",
    "RETRACTION_REASONS",
    "DatanetRetraction",
    "DatanetVersionInfo",
    "ModelInfo",
    "ModelRetraction",
    "RecordedRun",
    "Repeat",
    "Unreadable",
    "UnreadableRecordError",
    "merge_repeats",
    "recorded_run_json",
    "run_from_record_json",
    "short_reason",
]


@dataclass(frozen=True, kw_only=True)
class Repeat:
    """A later RunRecorded event of a record already recorded (same id, same bytes)."""

    recorder: str
    block_number: int
    tx_hash: str
    log_index: int
    anchor_root: bytes | None = None
    """Root of the anchored batch that logged it again; None if it was recorded individually."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "recorder": self.recorder,
            "block": self.block_number,
            "tx_hash": self.tx_hash,
            "log_index": self.log_index,
            "anchor_root": None if self.anchor_root is None else hexstr(self.anchor_root),
        }


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
    repeats: tuple[Repeat, ...] = ()
    """Later events of the same record (see REPEATS above), earliest first; never counted."""

    @property
    def position(self) -> tuple[int, int]:
        """(block, log index): what orders occurrences of one record."""
        return (self.block_number, self.log_index)

    def as_repeat(self) -> Repeat:
        return Repeat(
            recorder=self.recorder,
            block_number=self.block_number,
            tx_hash=self.tx_hash,
            log_index=self.log_index,
            anchor_root=self.anchor_root,
        )


@dataclass(frozen=True, kw_only=True)
class Unreadable:
    """A record that is authentically on chain under its id (its bytes hash to it, its inclusion
    checks out) but does not decode or validate: someone's hostile or broken record. Readers that
    meet it while walking records they did not ask for report it and carry on."""

    record_id: bytes
    recorder: str
    block_number: int
    tx_hash: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "record_id": hexstr(self.record_id),
            "recorder": self.recorder,
            "block": self.block_number,
            "tx_hash": self.tx_hash,
            "reason": self.reason,
        }


def short_reason(reason: str, limit: int = 200) -> str:
    """A reader's reason for an unreadable record cut to ``limit`` characters (it may quote a
    stranger's giant string)."""
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"


class UnreadableRecordError(VerificationError):
    """Raised by a reader asked for a record that is :class:`Unreadable` (carried as ``entry``)."""

    def __init__(self, entry: Unreadable) -> None:
        super().__init__(
            f"record {hexstr(entry.record_id)} (recorded by {entry.recorder}, block {entry.block_number}) "
            f"is unreadable: {short_reason(entry.reason)}"
        )
        self.entry = entry


def merge_repeats(occurrences: Iterable[RecordedRun]) -> list[RecordedRun]:
    """One :class:`RecordedRun` per record id: the earliest occurrence (block, log index), with the
    later ones (and any repeats they carried) as its ``repeats``. Records come out in the order of
    their authoritative occurrence."""
    groups: dict[bytes, list[RecordedRun]] = {}
    for occ in occurrences:
        groups.setdefault(occ.record_id, []).append(occ)
    out: list[RecordedRun] = []
    for occs in groups.values():
        occs.sort(key=lambda o: o.position)
        first = occs[0]
        seen = {first.position}
        repeats: list[Repeat] = []
        for later in [*first.repeats, *(r for o in occs[1:] for r in (o.as_repeat(), *o.repeats))]:
            key = (later.block_number, later.log_index)
            if key not in seen:
                seen.add(key)
                repeats.append(later)
        repeats.sort(key=lambda r: (r.block_number, r.log_index))
        out.append(replace(first, repeats=tuple(repeats)) if repeats or first.repeats else first)
    out.sort(key=lambda r: r.position)
    return out


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
    owner: str | None = None
    """The DataNet's owner (from DatanetRegistered), when the reader knows it."""

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


RETRACTION_REASONS = {1: "pii", 2: "licence", 3: "corrupt", 4: "superseded", 5: "other"}
"""The registry's retraction reason codes."""
REASON_CODES = {v: k for k, v in RETRACTION_REASONS.items()}


@dataclass(frozen=True, kw_only=True)
class DatanetRetraction:
    """A DatanetVersionRetracted event: the DataNet's owner retracted one of its versions."""

    datanet_id: bytes
    owner: str
    version: int
    reason: int
    """1 pii, 2 licence, 3 corrupt, 4 superseded, 5 other."""
    note: str
    """The hash or URI of an explanation (untrusted text: escape it when shown)."""
    block_number: int
    tx_hash: str
    log_index: int

    @property
    def reason_name(self) -> str:
        return RETRACTION_REASONS.get(self.reason, f"unknown ({self.reason})")

    def to_dict(self) -> dict[str, Any]:
        return {
            "datanet_id": hexstr(self.datanet_id),
            "owner": self.owner,
            "version": self.version,
            "reason": self.reason_name,
            "reason_code": self.reason,
            "note": self.note,
            "block": self.block_number,
            "tx_hash": self.tx_hash,
        }


@dataclass(frozen=True, kw_only=True)
class ModelRetraction:
    """A ModelVersionRetracted event: the model's owner retracted one of its versions."""

    model_id: bytes
    model_version_key: bytes
    owner: str
    model_version: str
    reason: int
    """1 pii, 2 licence, 3 corrupt, 4 superseded, 5 other."""
    note: str
    """The hash or URI of an explanation (untrusted text: escape it when shown)."""
    block_number: int
    tx_hash: str
    log_index: int

    @property
    def reason_name(self) -> str:
        return RETRACTION_REASONS.get(self.reason, f"unknown ({self.reason})")

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": hexstr(self.model_id),
            "owner": self.owner,
            "version": self.model_version,
            "reason": self.reason_name,
            "reason_code": self.reason,
            "note": self.note,
            "block": self.block_number,
            "tx_hash": self.tx_hash,
        }


def recorded_run_json(rec: RecordedRun) -> dict[str, Any]:
    """The JSON form of a recorded run that ``provenance show --json`` prints and
    :func:`run_from_record_json` reads back (ids and digests as 0x hex)."""
    return {
        "record_id": hexstr(rec.record_id),
        "block": rec.block_number,
        "tx_hash": rec.tx_hash,
        "recorder": rec.recorder,
        "anchor_root": None if rec.anchor_root is None else hexstr(rec.anchor_root),
        "repeats": [r.to_dict() for r in rec.repeats],
        "model_id": hexstr(rec.run.model_id),
        "version": rec.run.model_version,
        "weights_digest": hexstr(rec.run.weights_digest),
        "parents": [hexstr(p) for p in rec.run.parents],
        "relations": list(rec.run.relations),
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
    if not fields["relations"]:
        fields["relations"] = tuple(data.get("relations", ()))
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
