"""Typed entries read back from the registry's event logs. Pure data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .records import TrainingRun


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
