"""Hand-built lineages for the pure licensing, attribution and audit tests (no chain needed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import rfc8785
from eth_utils import keccak

from provenance_ledger.core.entries import DatanetVersionInfo, RecordedRun
from provenance_ledger.core.lineage import Lineage, RunNode, UsedDatanet
from provenance_ledger.core.records import DatanetUse, TrainingRun

MIT = {"spdx": "MIT"}


def h(text: str) -> bytes:
    return keccak(text=text)


def make_datanet(
    name: str, *, version: int = 1, terms: Any = MIT, contributors: Sequence[tuple[str, int]] = ()
) -> DatanetVersionInfo:
    return DatanetVersionInfo(
        datanet_id=h(name),
        name=name,
        version=version,
        content_root=h(f"root {name}@{version}"),
        manifest_hash=h(f"manifest {name}@{version}"),
        terms=terms,
        terms_bytes=b"" if terms is None else rfc8785.dumps(terms),
        contributors=tuple(contributors),
        block_number=1,
    )


def run(
    model: str, version: str, uses: Sequence[tuple[DatanetVersionInfo, int]], parents: Sequence[RunNode] = ()
) -> RunNode:
    training = TrainingRun(
        model_id=h(model),
        model_version=version,
        weights_digest=h(f"weights {model}@{version}"),
        datanets=tuple(DatanetUse(datanet_id=i.datanet_id, version=i.version, weight_ppm=w) for i, w in uses),
        parents=tuple(p.record_id for p in parents),
    )
    recorded = RecordedRun(
        record_id=h(f"record {model}@{version}"),
        run=training,
        record=b"",
        recorder="0x" + "11" * 20,
        block_number=1,
        tx_hash="0x" + "22" * 32,
        log_index=0,
    )
    return RunNode(
        recorded=recorded,
        model_name=model,
        datanets=tuple(UsedDatanet(use=u, info=i) for u, (i, _) in zip(training.datanets, uses, strict=True)),
        parents=tuple(parents),
    )


def lineage_of(*runs: RunNode) -> Lineage:
    return Lineage(model_name=runs[0].model_name, model_version=runs[0].recorded.run.model_version, runs=runs)
