"""Typed training-run records and their validation. Pure: no I/O, no clock, no web3.

A :class:`TrainingRun` is what a pipeline records: the model version it produced, the DataNet
versions it trained on (with integer weights in parts per million and a partition each), the
parent records it was fine-tuned from, and free-form details (preprocessing, code, hyper-parameters,
environment, start and end times) that are canonicalised as RFC 8785 JSON.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

import rfc8785

from provenance_ledger.errors import ValidationError

__all__ = [
    "MAX_UINT32",
    "MAX_UINT64",
    "WEIGHT_TOTAL",
    "CodeRef",
    "DatanetUse",
    "Json",
    "ParentResolver",
    "Partition",
    "PreprocessingStep",
    "TrainingRun",
    "bytes32",
    "check_json",
    "details_fields",
    "name_or_id",
    "run_from_dict",
]

WEIGHT_TOTAL = 1_000_000
"""Weights of a run's DataNet uses are parts per million and sum to exactly this."""

MAX_UINT32 = 2**32 - 1
MAX_UINT64 = 2**64 - 1
_HEX32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
_P = ParamSpec("_P")
_T = TypeVar("_T")

Json = Any
"""A JSON value: None, bool, int, float (finite), str, list of Json, dict of str -> Json."""


def bytes32(value: object, field_name: str) -> bytes:
    """Parse ``value`` (32 raw bytes or a ``0x`` + 64 hex string) into 32 bytes."""
    if isinstance(value, bytes | bytearray):
        if len(value) != 32:
            raise ValidationError(field_name, f"must be 32 bytes, got {len(value)}")
        return bytes(value)
    if isinstance(value, str) and _HEX32.match(value):
        return bytes.fromhex(value[2:])
    raise ValidationError(field_name, f"must be a 0x-prefixed 32-byte hex string, got {value!r}")


def _int(value: object, field_name: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field_name, f"must be an integer, got {value!r}")
    if not lo <= value <= hi:
        raise ValidationError(field_name, f"must be between {lo:,} and {hi:,}, got {value:,}")
    return value


def _str(value: object, field_name: str, *, allow_empty: bool = True) -> str:
    if not isinstance(value, str):
        raise ValidationError(field_name, f"must be a string, got {value!r}")
    if not allow_empty and not value:
        raise ValidationError(field_name, "must not be empty")
    return value


def check_json(value: Json, field_name: str) -> None:
    """Reject values that have no deterministic JSON form (non-finite floats, non-str keys...)."""
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        if abs(value) > 2**53 - 1:
            raise ValidationError(field_name, "integers beyond 2**53-1 are not portable JSON; use a string")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(field_name, "must be a finite number")
        if value.is_integer() and abs(value) > 2**53 - 1:
            raise ValidationError(field_name, "whole numbers beyond 2**53-1 do not survive JSON; use a string")
        if 1e-4 <= abs(value) < 1e16:
            return  # printed the same by every JSON serialiser
        try:
            rfc8785.dumps(value)
        except rfc8785.CanonicalizationError as exc:
            raise ValidationError(field_name, f"has no canonical JSON form ({exc})") from None
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            check_json(item, f"{field_name}[{i}]")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(field_name, f"keys must be strings, got {key!r}")
            check_json(item, f"{field_name}.{key}")
        return
    raise ValidationError(field_name, f"is not JSON ({type(value).__name__})")


@dataclass(frozen=True, kw_only=True)
class Partition:
    """Which part of a DataNet version a run used (reproducible from the manifest)."""

    split: str = ""
    """Split name such as ``"train"``; empty for the whole version."""
    selector: str = ""
    """Selector over the manifest's paths (a glob such as ``"en/*.jsonl"``); empty for all files."""
    fraction_ppm: int = WEIGHT_TOTAL
    """Fraction of the selected items sampled, in parts per million (1,000,000 = all)."""
    seed: int = 0
    """Seed of the deterministic sampling (0 .. 2**53-1: it must survive JSON)."""

    def __post_init__(self) -> None:
        _str(self.split, "split")
        _str(self.selector, "selector")
        _int(self.fraction_ppm, "fraction_ppm", 1, WEIGHT_TOTAL)
        _int(self.seed, "seed", 0, 2**53 - 1)


@dataclass(frozen=True, kw_only=True)
class DatanetUse:
    """One DataNet version in a run's training mixture."""

    datanet_id: bytes
    """keccak256 of the DataNet's name."""
    version: int
    """1-based published version number."""
    weight_ppm: int
    """Share of the mixture in parts per million."""
    partition: Partition = field(default_factory=Partition)
    """The part of the version used."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "datanet_id", bytes32(self.datanet_id, "datanet_id"))
        _int(self.version, "version", 1, MAX_UINT64)
        _int(self.weight_ppm, "weight_ppm", 1, WEIGHT_TOTAL)
        if not isinstance(self.partition, Partition):
            raise ValidationError("partition", "must be a Partition")


@dataclass(frozen=True, kw_only=True)
class PreprocessingStep:
    """One preprocessing operation with its parameters, e.g. ``length_filter(min_chars=200)``."""

    op: str
    """Name of the operation (``"dedupe"``, ``"length_filter"``, ...)."""
    params: Mapping[str, Json] = field(default_factory=dict)
    """Its parameters, thresholds included (JSON values)."""

    def __post_init__(self) -> None:
        _str(self.op, "op", allow_empty=False)
        if not isinstance(self.params, Mapping):
            raise ValidationError("params", "must be a mapping")
        check_json(self.params, "params")
        object.__setattr__(self, "params", dict(self.params))


@dataclass(frozen=True, kw_only=True)
class CodeRef:
    """Where the training code lives."""

    repo: str
    """Repository URL or name."""
    commit: str
    """Commit hash (or tag) that was run."""

    def __post_init__(self) -> None:
        _str(self.repo, "repo", allow_empty=False)
        _str(self.commit, "commit", allow_empty=False)


@dataclass(frozen=True, kw_only=True)
class TrainingRun:
    """A training-run record. Its canonical bytes and id come from :mod:`provenance_ledger.canonical`."""

    model_id: bytes
    """keccak256 of the produced model's name."""
    model_version: str
    """The produced model version, e.g. ``"1.0.0"``."""
    weights_digest: bytes
    """Digest (content root) of the produced weights."""
    datanets: tuple[DatanetUse, ...]
    """The DataNet versions trained on; weights sum to 1,000,000."""
    parents: tuple[bytes, ...] = ()
    """Record ids of the runs that produced the models this run fine-tuned."""
    preprocessing: tuple[PreprocessingStep, ...] = ()
    """Preprocessing steps in the order applied."""
    code: CodeRef | None = None
    """Training code reference."""
    hyperparameters: Mapping[str, Json] = field(default_factory=dict)
    """Hyper-parameters (JSON values)."""
    environment: Mapping[str, Json] = field(default_factory=dict)
    """Environment: hardware, library versions... (JSON values)."""
    started_at: int | None = None
    """Start time, Unix seconds, given by the caller (never read from the clock)."""
    ended_at: int | None = None
    """End time, Unix seconds, given by the caller."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "model_id", bytes32(self.model_id, "model_id"))
        _str(self.model_version, "model_version", allow_empty=False)
        if len(self.model_version.encode()) > 128:
            raise ValidationError("model_version", "must be at most 128 bytes")
        object.__setattr__(self, "weights_digest", bytes32(self.weights_digest, "weights_digest"))
        object.__setattr__(self, "parents", tuple(bytes32(p, f"parents[{i}]") for i, p in enumerate(self.parents)))
        if len(set(self.parents)) != len(self.parents):
            raise ValidationError("parents", "lists the same record twice")
        datanets = tuple(self.datanets)
        if not datanets:
            raise ValidationError("datanets", "must name at least one DataNet version")
        for i, use in enumerate(datanets):
            if not isinstance(use, DatanetUse):
                raise ValidationError(f"datanets[{i}]", "must be a DatanetUse")
        total = sum(u.weight_ppm for u in datanets)
        if total != WEIGHT_TOTAL:
            raise ValidationError("datanets", f"weights must sum to {WEIGHT_TOTAL:,} parts per million, got {total:,}")
        object.__setattr__(self, "datanets", datanets)
        object.__setattr__(self, "preprocessing", tuple(self.preprocessing))
        for name in ("hyperparameters", "environment"):
            value = getattr(self, name)
            if not isinstance(value, Mapping):
                raise ValidationError(name, "must be a mapping")
            check_json(value, name)
            object.__setattr__(self, name, dict(value))
        for name in ("started_at", "ended_at"):
            value = getattr(self, name)
            if value is not None:
                _int(value, name, 0, 2**53 - 1)
        if self.started_at is not None and self.ended_at is not None and self.ended_at < self.started_at:
            raise ValidationError("ended_at", "is before started_at")

    def details(self) -> dict[str, Json]:
        """The free-form part of the record as a JSON object (canonicalised by RFC 8785)."""
        out: dict[str, Json] = {}
        if any(u.partition != Partition() for u in self.datanets):
            out["partitions"] = [
                {
                    "split": u.partition.split,
                    "selector": u.partition.selector,
                    "fraction_ppm": u.partition.fraction_ppm,
                    "seed": u.partition.seed,
                }
                for u in self.datanets
            ]
        out |= {
            "preprocessing": [{"op": s.op, "params": dict(s.params)} for s in self.preprocessing],
            "hyperparameters": dict(self.hyperparameters),
            "environment": dict(self.environment),
        }
        if self.code is not None:
            out["code"] = {"repo": self.code.repo, "commit": self.code.commit}
        if self.started_at is not None:
            out["started_at"] = self.started_at
        if self.ended_at is not None:
            out["ended_at"] = self.ended_at
        return out


_DETAIL_KEYS = {"partitions", "preprocessing", "hyperparameters", "environment", "code", "started_at", "ended_at"}


def details_fields(details: Mapping[str, Json]) -> dict[str, Any]:
    """Inverse of :meth:`TrainingRun.details`: keyword arguments for :class:`TrainingRun`, plus
    ``partitions`` (a tuple aligned with the DataNet uses, or None when all are whole versions)."""
    unknown = set(details) - _DETAIL_KEYS
    if unknown:
        raise ValidationError("details", f"unknown keys {sorted(unknown)}")
    code = details.get("code")
    partitions = details.get("partitions")
    return {
        "partitions": tuple(Partition(**p) for p in partitions) if partitions else None,
        "preprocessing": tuple(
            PreprocessingStep(op=s["op"], params=s.get("params", {})) for s in details.get("preprocessing", [])
        ),
        "hyperparameters": details.get("hyperparameters", {}),
        "environment": details.get("environment", {}),
        "code": CodeRef(repo=code["repo"], commit=code["commit"]) if code else None,
        "started_at": details.get("started_at"),
        "ended_at": details.get("ended_at"),
    }


# ----------------------------------------------------------------- run files

ParentResolver = Callable[[str, str], bytes]
"""Maps (model name, version) to the record id that produced it."""

_RUN_KEYS = {
    "model",
    "version",
    "weights_digest",
    "datanets",
    "parents",
    "preprocessing",
    "code",
    "hyperparameters",
    "environment",
    "started_at",
    "ended_at",
}
_USE_KEYS = {"datanet", "version", "weight_ppm", "partition"}
_PARTITION_KEYS = {"split", "selector", "fraction_ppm", "seed"}


def name_or_id(value: object, field_name: str, hasher: Callable[[str], bytes]) -> bytes:
    """A ``0x`` id is taken as is; a name is hashed to its id."""
    if isinstance(value, str) and _HEX32.match(value):
        return bytes.fromhex(value[2:])
    return hasher(_str(value, field_name, allow_empty=False))


def _mapping(value: object, field_name: str, keys: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(field_name, f"must be an object, got {type(value).__name__}")
    unknown = set(value) - keys
    if unknown:
        raise ValidationError(field_name, f"unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    return value


def _list(value: object, field_name: str) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        raise ValidationError(field_name, f"must be a list, got {type(value).__name__}")
    return value


def _at(prefix: str, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """``fn(*args, **kwargs)``, with the field of a ValidationError it raises put under ``prefix``."""
    try:
        return fn(*args, **kwargs)
    except ValidationError as exc:
        raise ValidationError(f"{prefix}.{exc.field}" if exc.field else prefix, exc.problem) from None


def _datanet_use(u: Mapping[str, Any], part: Mapping[str, Any], datanet_id: bytes) -> DatanetUse:
    return DatanetUse(
        datanet_id=datanet_id,
        version=u["version"],
        weight_ppm=u["weight_ppm"],
        partition=_at("partition", lambda: Partition(**part)),
    )


def run_from_dict(
    data: object, *, name_hasher: Callable[[str], bytes], resolve_parent: ParentResolver | None = None
) -> TrainingRun:
    """Build a :class:`TrainingRun` from a run file's parsed JSON/YAML.

    Models and DataNets may be given by name or ``0x`` id; parents by ``0x`` record id or
    ``"model@version"`` (resolved by ``resolve_parent``). Errors name the field, e.g.
    ``datanets[1].weight_ppm: must be an integer``.
    """
    d = _mapping(data, "run", _RUN_KEYS)
    for key in ("model", "version", "weights_digest", "datanets"):
        if key not in d:
            raise ValidationError(key, "is required")

    uses = []
    for i, raw in enumerate(_list(d["datanets"], "datanets")):
        u = _mapping(raw, f"datanets[{i}]", _USE_KEYS)
        for key in ("datanet", "version", "weight_ppm"):
            if key not in u:
                raise ValidationError(f"datanets[{i}].{key}", "is required")
        part = _mapping(u.get("partition", {}), f"datanets[{i}].partition", _PARTITION_KEYS)
        datanet_id = name_or_id(u["datanet"], f"datanets[{i}].datanet", name_hasher)
        uses.append(_at(f"datanets[{i}]", _datanet_use, u, part, datanet_id))

    parents = []
    for i, p in enumerate(_list(d.get("parents", []), "parents")):
        if isinstance(p, str) and "@" in p and not _HEX32.match(p):
            if resolve_parent is None:
                raise ValidationError(f"parents[{i}]", "model@version parents need a chain to resolve them")
            model, _, version = p.rpartition("@")
            parents.append(resolve_parent(model, version))
        else:
            parents.append(bytes32(p, f"parents[{i}]"))

    steps = []
    for i, raw in enumerate(_list(d.get("preprocessing", []), "preprocessing")):
        s = _mapping(raw, f"preprocessing[{i}]", {"op", "params"})
        if "op" not in s:
            raise ValidationError(f"preprocessing[{i}].op", "is required")
        steps.append(_at(f"preprocessing[{i}]", PreprocessingStep, op=s["op"], params=s.get("params", {})))

    code = None
    if d.get("code") is not None:
        c = _mapping(d["code"], "code", {"repo", "commit"})
        code = _at("code", CodeRef, repo=c.get("repo", ""), commit=c.get("commit", ""))

    return TrainingRun(
        model_id=name_or_id(d["model"], "model", name_hasher),
        model_version=_str(d["version"], "version", allow_empty=False),
        weights_digest=d["weights_digest"],
        datanets=tuple(uses),
        parents=tuple(parents),
        preprocessing=tuple(steps),
        code=code,
        hyperparameters=d.get("hyperparameters", {}),
        environment=d.get("environment", {}),
        started_at=d.get("started_at"),
        ended_at=d.get("ended_at"),
    )
