"""Provenance Ledger SDK: canonical training-run records, the registry client, lineage queries.

Layers (each imports only the ones above it in this list):

- :mod:`provenance_ledger.errors`: the one exception hierarchy.
- :mod:`provenance_ledger.core`: pure logic (records, canonical encoding, lineage, licensing,
  attribution, Merkle trees, manifests, partitions, record verification). No web3, no I/O.
- :mod:`provenance_ledger.local`: this machine's files (project config, fingerprinting folders,
  the manifest store, run files).
- :mod:`provenance_ledger.chain`: chain I/O (RPC and signer, ABI, log reader, registry client, bulk sender).
- :mod:`provenance_ledger.index`: the local SQLite index (a verified cache of the chain).
- :mod:`provenance_ledger.report`: renderers (terminal, DOT, HTML audit report) and output safety.
- :mod:`provenance_ledger.cli`: the ``provenance`` command.

Importing this package loads neither web3 nor eth_account: :class:`Registry` is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from provenance_ledger.core.canonical import encode_run, name_id, record_id
from provenance_ledger.core.records import CodeRef, DatanetUse, Partition, PreprocessingStep, TrainingRun
from provenance_ledger.errors import ChainError, NotFoundError, ProvenanceError, ValidationError, VerificationError

if TYPE_CHECKING:
    from provenance_ledger.chain.client import Registry

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


def __getattr__(name: str) -> Any:
    if name == "Registry":  # chain I/O: loads web3 only when asked for
        from provenance_ledger.chain.client import Registry

        return Registry
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
