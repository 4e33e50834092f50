"""Lineage reconstruction: model version -> runs -> DataNet versions -> parent models, and back.

Pure graph logic over a :class:`LedgerSource` (the RPC client, or a local index), which supplies
verified entries. No web3 here.

Retractions: a source that also has ``datanet_retractions()`` and ``model_retractions()`` (the
client and the index do) has them attached to the lineage: :attr:`UsedDatanet.retraction` for a
retracted DataNet version, :attr:`RunNode.retraction` for a retracted model version (the first
retraction event of that version; later ones, if any, change nothing). Retraction is append-only:
a retracted version stays in the lineage, marked. :func:`models_derived_from` is the reverse walk
from a model version (``provenance affected --model``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from provenance_ledger.core.entries import (
    DatanetRetraction,
    DatanetVersionInfo,
    ModelRetraction,
    RecordedRun,
    Unreadable,
    UnreadableRecordError,
)
from provenance_ledger.core.hexutil import hexstr
from provenance_ledger.core.records import DatanetUse
from provenance_ledger.errors import NotFoundError

__all__ = [
    "Descendant",
    "DescendantList",
    "LedgerSource",
    "Lineage",
    "RunNode",
    "Usage",
    "UsageList",
    "UsedDatanet",
    "build_lineage",
    "models_derived_from",
    "models_trained_on",
    "readable_runs",
    "retraction_dict",
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
    retraction: DatanetRetraction | None = None
    """The version's retraction by its DataNet's owner, None if it is not retracted."""


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
    retraction: ModelRetraction | None = None
    """The retraction of this run's model version by the model's owner, None if not retracted."""

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
            "retracted": retraction_dict(self.retraction),
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
                    "retracted": retraction_dict(d.retraction),
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

    @property
    def retracted(self) -> list[dict[str, Any]]:
        """Every retracted model version and DataNet version of the lineage, once, in walk order:
        ``{"kind": "model" | "datanet", "label": "name@version", "reason", "note", ...}``."""
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for _, node in self.walk():
            if node.retraction is not None:
                out.setdefault(("model", node.label), {"kind": "model", "label": node.label} | _rd(node.retraction))
            for d in node.datanets:
                if d.retraction is not None:
                    key = ("datanet", d.info.label)
                    out.setdefault(key, {"kind": "datanet", "label": d.info.label} | _rd(d.retraction))
        return list(out.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "version": self.model_version,
            "targets": [hexstr(r.record_id) for r in self.runs],
            "retracted": self.retracted,
            "runs": [dict(node.to_dict(), depth=depth) for depth, node in self.walk()],
        }


def retraction_dict(r: DatanetRetraction | ModelRetraction | None) -> dict[str, Any] | None:
    """The JSON form of a retraction (reason, reason code, note, owner, block, tx), None if none."""
    return None if r is None else _rd(r)


def _rd(r: DatanetRetraction | ModelRetraction) -> dict[str, Any]:
    return {
        "reason": r.reason_name,
        "reason_code": r.reason,
        "note": r.note,
        "owner": r.owner,
        "block": r.block_number,
        "tx_hash": r.tx_hash,
    }


def _retractions(
    source: object,
) -> tuple[dict[tuple[bytes, int], DatanetRetraction], dict[tuple[bytes, str], ModelRetraction]]:
    """Every retraction the source knows, by (datanet id, version) and (model id, version); the
    first event of a version wins. Sources without retraction reads give none."""
    datanets: dict[tuple[bytes, int], DatanetRetraction] = {}
    models: dict[tuple[bytes, str], ModelRetraction] = {}
    read_d = getattr(source, "datanet_retractions", None)
    read_m = getattr(source, "model_retractions", None)
    for d in read_d() if read_d is not None else ():
        datanets.setdefault((bytes(d.datanet_id), int(d.version)), d)
    for m in read_m() if read_m is not None else ():
        models.setdefault((bytes(m.model_id), str(m.model_version)), m)
    return datanets, models


def build_lineage(source: LedgerSource, model_id: bytes, version: str) -> Lineage:
    """Rebuild the lineage of ``model@version`` from verified entries."""
    runs = source.runs_of(model_id, version)
    name = source.model_name(model_id)
    if not runs:
        raise NotFoundError(f"no training run recorded for {name}@{version}")
    memo: dict[bytes, RunNode] = {}
    versions: dict[tuple[bytes, int], DatanetVersionInfo] = {}
    d_retracted, m_retracted = _retractions(source)

    def node(rec: RecordedRun) -> RunNode:
        if rec.record_id in memo:
            return memo[rec.record_id]
        used = []
        for use in rec.run.datanets:
            key = (use.datanet_id, use.version)
            if key not in versions:
                versions[key] = source.datanet_version(use.datanet_id, use.version)
            used.append(UsedDatanet(use=use, info=versions[key], retraction=d_retracted.get(key)))
        parents = tuple(node(source.get_run(p)) for p in rec.run.parents)
        built = RunNode(
            recorded=rec,
            model_name=source.model_name(rec.run.model_id),
            datanets=tuple(used),
            parents=parents,
            model_owner=source.model_owner_of(rec.run.model_id),
            retraction=m_retracted.get((rec.run.model_id, rec.run.model_version)),
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
    retraction: ModelRetraction | None = None
    """The retraction of this model version by its owner, None if it is not retracted."""

    @property
    def label(self) -> str:
        return f"{self.model_name}@{self.recorded.run.model_version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "model_id": hexstr(self.recorded.run.model_id),
            "model_owner": self.model_owner,
            "retracted": retraction_dict(self.retraction),
            "recorder": self.recorded.recorder,
            "version": self.recorded.run.model_version,
            "record_id": hexstr(self.recorded.record_id),
            "block": self.recorded.block_number,
            "datanet_version": self.datanet_version,
            "weight_ppm": self.weight_ppm,
            "depth": self.depth,
            "via": [hexstr(v) for v in self.via],
        }


class UsageList(list[Usage]):
    """The answer of :func:`models_trained_on`: the usages, plus the records met on the way that are
    authentic but unreadable (someone's malformed record), reported and otherwise left out."""

    unreadable: tuple[Unreadable, ...] = ()


def readable_runs(
    get_runs: Callable[[Sequence[bytes]], dict[bytes, RecordedRun]],
    get_run: Callable[[bytes], RecordedRun],
    ids: Sequence[bytes],
    unreadable: dict[bytes, Unreadable],
) -> dict[bytes, RecordedRun]:
    """The readable records of ``ids``; the unreadable ones are added to ``unreadable``."""
    try:
        return get_runs(ids)
    except UnreadableRecordError:
        out: dict[bytes, RecordedRun] = {}
        for rid in dict.fromkeys(ids):
            try:
                out[rid] = get_run(rid)
            except UnreadableRecordError as exc:
                unreadable.setdefault(rid, exc.entry)
        return out


def models_trained_on(source: LedgerSource, datanet_id: bytes, version: int | None = None) -> UsageList:
    """Every model version that used ``datanet_id`` (optionally one version), transitively.

    Breadth first, one level at a time; sources with bulk reads (``get_runs``, ``children_of_many``)
    answer each level in a few queries instead of one per record.
    """
    bulk = getattr(source, "get_runs", None) or (lambda ids: {i: source.get_run(i) for i in ids})
    children_many = getattr(source, "children_of_many", None) or (lambda ids: {i: source.children_of(i) for i in ids})
    bad: dict[bytes, Unreadable] = {}
    _, m_retracted = _retractions(source)

    def get_runs(ids: Sequence[bytes]) -> dict[bytes, RecordedRun]:
        return readable_runs(bulk, source.get_run, ids, bad)

    out = UsageList()
    seen: set[tuple[bytes, int]] = set()
    level: list[tuple[bytes, int, int, tuple[bytes, ...]]] = []  # (record, datanet version, weight, via)
    direct = [(rid, v) for rid, v in source.datanet_use_records(datanet_id) if version is None or v == version]
    runs = get_runs([rid for rid, _ in direct])
    for rid, v in direct:
        if rid not in runs:
            continue
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
        fresh = [item for item in fresh if item[0] in runs]
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
                    retraction=m_retracted.get((rec.run.model_id, rec.run.model_version)),
                )
            )
        kids = children_many([rid for rid, *_ in fresh])
        level = [(child, v, weight, (*via, child)) for rid, v, weight, via in fresh for child in kids[rid]]
        depth += 1
    out.unreadable = tuple(bad.values())
    return out


@dataclass(frozen=True, kw_only=True)
class Descendant:
    """A model version derived from another one (fine-tune, adapter, distillation...), transitively."""

    recorded: RecordedRun
    model_name: str
    depth: int
    """1 = a run listing one of the start's runs as a parent; n = through n - 1 more derivations."""
    via: tuple[bytes, ...]
    """Record ids from the start's run down to this one (both included)."""
    path: tuple[str, ...]
    """``name@version`` labels along ``via``."""
    model_owner: str | None = None
    retraction: ModelRetraction | None = None
    """The retraction of this model version by its owner, None if it is not retracted."""

    @property
    def label(self) -> str:
        return f"{self.model_name}@{self.recorded.run.model_version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "model_id": hexstr(self.recorded.run.model_id),
            "model_owner": self.model_owner,
            "retracted": retraction_dict(self.retraction),
            "version": self.recorded.run.model_version,
            "record_id": hexstr(self.recorded.record_id),
            "block": self.recorded.block_number,
            "depth": self.depth,
            "path": list(self.path),
            "via": [hexstr(v) for v in self.via],
        }


class DescendantList(list[Descendant]):
    """The answer of :func:`models_derived_from`: the descendants, plus the records met on the way
    that are authentic but unreadable (someone's malformed record), reported and otherwise left out."""

    unreadable: tuple[Unreadable, ...] = ()


def models_derived_from(source: LedgerSource, model_id: bytes, version: str) -> DescendantList:
    """Every model version whose lineage contains a run of ``model_id@version``, breadth first,
    each run once (by its shortest path); the start's own runs are not listed. Each carries its
    model version's retraction, if any."""
    get_runs = getattr(source, "get_runs", None) or (lambda ids: {i: source.get_run(i) for i in ids})
    children_many = getattr(source, "children_of_many", None) or (lambda ids: {i: source.children_of(i) for i in ids})
    names: dict[bytes, str] = {}

    def name(mid: bytes) -> str:
        if mid not in names:
            names[mid] = source.model_name(mid)
        return names[mid]

    starts = source.runs_of(model_id, version)
    seen = {r.record_id for r in starts}
    start_label = f"{name(model_id)}@{version}"
    level: list[tuple[bytes, tuple[bytes, ...], tuple[str, ...]]] = [
        (r.record_id, (r.record_id,), (start_label,)) for r in starts
    ]
    out = DescendantList()
    bad: dict[bytes, Unreadable] = {}
    _, m_retracted = _retractions(source)
    depth = 0
    while level:
        depth += 1
        kids = children_many([rid for rid, *_ in level])
        fresh: list[tuple[bytes, tuple[bytes, ...], tuple[str, ...]]] = []
        for rid, via, path in level:
            for child in kids[rid]:
                if child not in seen:
                    seen.add(child)
                    fresh.append((child, (*via, child), path))
        runs = readable_runs(get_runs, source.get_run, [c for c, *_ in fresh], bad)
        level = []
        for child, via, path in fresh:
            if child not in runs:
                continue
            rec = runs[child]
            label = f"{name(rec.run.model_id)}@{rec.run.model_version}"
            out.append(
                Descendant(
                    recorded=rec,
                    model_name=name(rec.run.model_id),
                    depth=depth,
                    via=via,
                    path=(*path, label),
                    model_owner=source.model_owner_of(rec.run.model_id),
                    retraction=m_retracted.get((rec.run.model_id, rec.run.model_version)),
                )
            )
            level.append((child, via, (*path, label)))
    out.unreadable = tuple(bad.values())
    return out
