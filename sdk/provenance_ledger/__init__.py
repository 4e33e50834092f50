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

Importing this package loads neither web3, eth_account nor eth_abi: the public names are imported on
first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from provenance_ledger.errors import ChainError, NotFoundError, ProvenanceError, ValidationError, VerificationError

if TYPE_CHECKING:
    from provenance_ledger.chain.client import Registry
    from provenance_ledger.core.canonical import encode_run, entity_id, record_id
    from provenance_ledger.core.records import CodeRef, DatanetUse, Partition, PreprocessingStep, TrainingRun

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
    "entity_id",
    "record_id",
]


_LAZY = {
    "Registry": "provenance_ledger.chain.client",
    "encode_run": "provenance_ledger.core.canonical",
    "entity_id": "provenance_ledger.core.canonical",
    "record_id": "provenance_ledger.core.canonical",
    "CodeRef": "provenance_ledger.core.records",
    "DatanetUse": "provenance_ledger.core.records",
    "Partition": "provenance_ledger.core.records",
    "PreprocessingStep": "provenance_ledger.core.records",
    "TrainingRun": "provenance_ledger.core.records",
}
"""Public names imported on first use (PEP 562), so that `import provenance_ledger` and the CLI's
`--help` load neither eth_abi nor web3."""


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
