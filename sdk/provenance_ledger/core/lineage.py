"""Lineage reconstruction: model version -> runs -> DataNet versions -> parent models, and back.

Pure graph logic over a :class:`LedgerSource` (the RPC client, or a local index), which supplies
verified entries. No web3 here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from provenance_ledger.core.entries import DatanetVersionInfo, RecordedRun
from provenance_ledger.core.hexutil import hexstr
from provenance_ledger.core.records import DatanetUse
from provenance_ledger.errors import NotFoundError

__all__ = [
    "LedgerSource",
    "Lineage",
    "RunNode",
    "Usage",
    "UsedDatanet",
    "build_lineage",
    "models_trained_on",
]


class LedgerSource(Protocol):
    """What lineage needs to read; every returned record must already be verified."""

    def runs_of(self, model: bytes, version: str) -> list[RecordedRun]: ...
    def get_run(self, record_id: bytes) -> RecordedRun: ...
    def datanet_version(self, datanet: bytes, version: int) -> DatanetVersionInfo: ...
    def model_name(self, model_id: bytes) -> str: ...
    def model_owner_of(self, model_id: bytes) -> str | None: ...
    def datanet_use_records(self, datanet: bytes) -> list[tuple[bytes, int]]: ...
    def children_of(self, record_id: bytes) -> list[bytes]: ...


@dataclass(frozen=True, kw_only=True)
class UsedDatanet:
    """A DataNet version as used by one run: the use (weight, partition) and the published version."""

    use: DatanetUse
    info: DatanetVersionInfo


@dataclass(frozen=True, kw_only=True)
class RunNode:
    """One training run in a lineage, with its DataNets and the runs of its parent models.

    ``recorded.recorder`` is the account whose authority the record carries (the sender, or the
    EIP-712 signer); ``model_owner`` is who registered the model (None if the reader has no
    ModelRegistered event for it); ``recorded.repeats`` lists later events of the same record."""

    recorded: RecordedRun
    model_name: str
    datanets: tuple[UsedDatanet, ...]
    parents: tuple[RunNode, ...]
    model_owner: str | None = None

    @property
    def recorder(self) -> str:
        return self.recorded.recorder

    @property
    def relations(self) -> tuple[str, ...]:
        """How this run's model derives from each parent (aligned with ``parents``)."""
        return self.recorded.run.relations

    @property
    def record_id(self) -> bytes:
        return self.recorded.record_id

    @property
    def label(self) -> str:
        return f"{self.model_name}@{self.recorded.run.model_version}"

    def to_dict(self) -> dict[str, Any]:
        run = self.recorded.run
        return {
            "model": self.model_name,
            "model_id": hexstr(run.model_id),
            "model_owner": self.model_owner,
            "version": run.model_version,
            "record_id": hexstr(self.record_id),
            "block": self.recorded.block_number,
            "tx_hash": self.recorded.tx_hash,
            "recorder": self.recorded.recorder,
            "anchor_root": None if self.recorded.anchor_root is None else hexstr(self.recorded.anchor_root),
            "repeats": [r.to_dict() for r in self.recorded.repeats],
            "weights_digest": hexstr(run.weights_digest),
            "datanets": [
                {
                    "datanet": d.info.name,
                    "datanet_id": hexstr(d.info.datanet_id),
                    "version": d.use.version,
                    "weight_ppm": d.use.weight_ppm,
                    "partition": {
                        "split": d.use.partition.split,
                        "selector": d.use.partition.selector,
                        "fraction_ppm": d.use.partition.fraction_ppm,
                        "seed": d.use.partition.seed,
                    },
                    "content_root": hexstr(d.info.content_root),
                    "manifest_hash": hexstr(d.info.manifest_hash),
                    "license": d.info.terms,
                    "contributors": [{"account": a, "shares": s} for a, s in d.info.contributors],
                }
                for d in self.datanets
            ],
            "details": run.details(),
            "parents": [hexstr(p.record_id) for p in self.parents],
            "relations": list(run.relations),
        }


@dataclass(frozen=True, kw_only=True)
class Lineage:
    """Everything that went into ``model@version``: its runs and, transitively, their parents."""

    model_name: str
    model_version: str
    runs: tuple[RunNode, ...]

    def walk(self) -> Iterator[tuple[int, RunNode]]:
        """Every run once, depth first from the target (depth 0), parents after children."""
        seen: set[bytes] = set()
        stack = [(0, r) for r in reversed(self.runs)]
        while stack:
            depth, node = stack.pop()
            if node.record_id in seen:
                continue
            seen.add(node.record_id)
            yield depth, node
            stack.extend((depth + 1, p) for p in reversed(node.parents))

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "version": self.model_version,
            "targets": [hexstr(r.record_id) for r in self.runs],
            "runs": [dict(node.to_dict(), depth=depth) for depth, node in self.walk()],
        }


def build_lineage(source: LedgerSource, model_id: bytes, version: str) -> Lineage:
    """Rebuild the lineage of ``model@version`` from verified entries."""
    runs = source.runs_of(model_id, version)
    name = source.model_name(model_id)
    if not runs:
        raise NotFoundError(f"no training run recorded for {name}@{version}")
    memo: dict[bytes, RunNode] = {}
    versions: dict[tuple[bytes, int], DatanetVersionInfo] = {}

    def node(rec: RecordedRun) -> RunNode:
        if rec.record_id in memo:
            return memo[rec.record_id]
        used = []
        for use in rec.run.datanets:
            key = (use.datanet_id, use.version)
            if key not in versions:
                versions[key] = source.datanet_version(use.datanet_id, use.version)
            used.append(UsedDatanet(use=use, info=versions[key]))
        parents = tuple(node(source.get_run(p)) for p in rec.run.parents)
        built = RunNode(
            recorded=rec,
            model_name=source.model_name(rec.run.model_id),
            datanets=tuple(used),
            parents=parents,
            model_owner=source.model_owner_of(rec.run.model_id),
        )
        memo[rec.record_id] = built
        return built

    return Lineage(model_name=name, model_version=version, runs=tuple(node(r) for r in runs))


@dataclass(frozen=True, kw_only=True)
class Usage:
    """A model version that used a DataNet, directly or through the models it was fine-tuned from."""

    recorded: RecordedRun
    model_name: str
    datanet_version: int
    """The DataNet version reached."""
    weight_ppm: int
    """The direct weight of the DataNet in the run that used it."""
    depth: int
    """0 = trained on it directly; n = through n fine-tunes."""
    via: tuple[bytes, ...]
    """Record ids from the run that used the DataNet directly down to this one."""
    model_owner: str | None = None
    """Who registered the model (None if the reader has no ModelRegistered event for it)."""

    @property
    def label(self) -> str:
        return f"{self.model_name}@{self.recorded.run.model_version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "model_id": hexstr(self.recorded.run.model_id),
            "model_owner": self.model_owner,
            "recorder": self.recorded.recorder,
            "version": self.recorded.run.model_version,
            "record_id": hexstr(self.recorded.record_id),
            "block": self.recorded.block_number,
            "datanet_version": self.datanet_version,
            "weight_ppm": self.weight_ppm,
            "depth": self.depth,
            "via": [hexstr(v) for v in self.via],
        }


def models_trained_on(source: LedgerSource, datanet_id: bytes, version: int | None = None) -> list[Usage]:
    """Every model version that used ``datanet_id`` (optionally one version), transitively.

    Breadth first, one level at a time; sources with bulk reads (``get_runs``, ``children_of_many``)
    answer each level in a few queries instead of one per record.
    """
    get_runs = getattr(source, "get_runs", None) or (lambda ids: {i: source.get_run(i) for i in ids})
    children_many = getattr(source, "children_of_many", None) or (lambda ids: {i: source.children_of(i) for i in ids})
    out: list[Usage] = []
    seen: set[tuple[bytes, int]] = set()
    level: list[tuple[bytes, int, int, tuple[bytes, ...]]] = []  # (record, datanet version, weight, via)
    direct = [(rid, v) for rid, v in source.datanet_use_records(datanet_id) if version is None or v == version]
    runs = get_runs([rid for rid, _ in direct])
    for rid, v in direct:
        weight = sum(u.weight_ppm for u in runs[rid].run.datanets if u.datanet_id == datanet_id and u.version == v)
        level.append((rid, v, weight, (rid,)))
    depth = 0
    while level:
        fresh: list[tuple[bytes, int, int, tuple[bytes, ...]]] = []
        for item in level:
            if (item[0], item[1]) not in seen:
                seen.add((item[0], item[1]))
                fresh.append(item)
        runs = get_runs([rid for rid, *_ in fresh])
        for rid, v, weight, via in fresh:
            rec = runs[rid]
            out.append(
                Usage(
                    recorded=rec,
                    model_name=source.model_name(rec.run.model_id),
                    datanet_version=v,
                    weight_ppm=weight,
                    depth=depth,
                    via=via,
                    model_owner=source.model_owner_of(rec.run.model_id),
                )
            )
        kids = children_many([rid for rid, *_ in fresh])
        level = [(child, v, weight, (*via, child)) for rid, v, weight, via in fresh for child in kids[rid]]
        depth += 1
    return out
