"""Provenance Ledger SDK: canonical training-run records, the registry client, lineage queries."""

from .canonical import encode_run, name_id, record_id
from .client import Registry
from .errors import ChainError, NotFoundError, ProvenanceError, ValidationError, VerificationError
from .records import CodeRef, DatanetUse, Partition, PreprocessingStep, TrainingRun

__all__ = [
    "ChainError",
    "CodeRef",
    "DatanetUse",
    "NotFoundError",
    "Partition",
    "PreprocessingStep",
    "ProvenanceError",
    "Registry",
    "TrainingRun",
    "ValidationError",
    "VerificationError",
    "encode_run",
    "name_id",
    "record_id",
]
