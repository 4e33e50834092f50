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
    "DEFAULT_RELATION",
    "MAX_BATCH_RUNS",
    "MAX_CONTRIBUTORS",
    "MAX_DATANETS",
    "MAX_DETAILS_BYTES",
    "MAX_MODEL_VERSION_BYTES",
    "MAX_NAME_BYTES",
    "MAX_NOTE_BYTES",
    "MAX_PARENTS",
    "MAX_PROOF_DEPTH",
    "MAX_TERMS_BYTES",
    "MAX_UINT32",
    "MAX_UINT64",
    "RELATIONS",
    "RELATION_ALIASES",
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
    "is_id",
    "name_or_id",
    "plain_json",
    "run_from_dict",
    "utf8",
]

WEIGHT_TOTAL = 1_000_000
"""Weights of a run's DataNet uses are parts per million and sum to exactly this."""

# The registry's limits (IProvenanceRegistry.sol, LIMITS: TooLarge(field, size, limit)), enforced by the
# SDK before anything is sent so that a user gets a ValidationError naming the field, not a revert.
MAX_NAME_BYTES = 128
"""A model or DataNet name: 1..128 UTF-8 bytes."""
MAX_MODEL_VERSION_BYTES = 64
"""A model version string: 1..64 UTF-8 bytes."""
MAX_DETAILS_BYTES = 16_384
"""A record's canonical details JSON."""
MAX_DATANETS = 64
"""DataNet uses per run."""
MAX_PARENTS = 16
"""Parents per run."""
MAX_TERMS_BYTES = 16_384
"""A DataNet version's canonical licence terms JSON."""
MAX_CONTRIBUTORS = 256
"""Contributors per DataNet version."""
MAX_NOTE_BYTES = 1_024
"""A retraction's note."""
MAX_BATCH_RUNS = 256
"""Runs per batch (recordRuns / anchorRuns and their signed variants)."""
MAX_PROOF_DEPTH = 32
"""Sibling hashes in an anchored-parent proof."""

RELATIONS = ("fine-tune", "adapter", "merge", "quantisation", "distillation", "continued-pretraining")
"""How a run's model derives from a parent's (details.relations, aligned with parents)."""
DEFAULT_RELATION = "fine-tune"
RELATION_ALIASES = {
    "finetune": "fine-tune",
    "fine_tune": "fine-tune",
    "quantized": "quantisation",
    "quantization": "quantisation",
}
"""Hugging Face ``base_model_relation`` spellings accepted in run files, mapped to ours."""
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")

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


def is_id(value: object) -> bool:
    """Whether ``value`` is a 32-byte id as given to the SDK: 32 raw bytes or ``0x`` + 64 hex digits."""
    if isinstance(value, bytes | bytearray):
        return len(value) == 32
    return isinstance(value, str) and _HEX32.match(value) is not None


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
    utf8(value, field_name)
    return value


def utf8(value: str, field_name: str) -> bytes:
    """The UTF-8 bytes of ``value``; a lone surrogate (e.g. from a JSON ``"\\ud800"`` escape or an
    undecodable command-line byte) is a ValidationError naming the field, never a UnicodeEncodeError."""
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(
            field_name, f"holds a lone surrogate (\\u{ord(value[exc.start]):04x}), which is not Unicode text"
        ) from None


def check_json(value: Json, field_name: str, *, integral: bool = False) -> None:
    """Reject values that have no deterministic JSON form (non-finite floats, non-str keys...); with
    ``integral``, numbers with a fraction too (the details schema allows those only in
    hyperparameters and preprocessing params)."""
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        utf8(value, field_name)
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
        if integral and not value.is_integer():
            raise ValidationError(field_name, "numbers with a fraction are allowed only in hyperparameters and params")
        if 1e-4 <= abs(value) < 1e16:
            return  # printed the same by every JSON serialiser
        try:
            rfc8785.dumps(value)
        except rfc8785.CanonicalizationError as exc:
            raise ValidationError(field_name, f"has no canonical JSON form ({exc})") from None
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            check_json(item, f"{field_name}[{i}]", integral=integral)
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(field_name, f"keys must be strings, got {key!r}")
            utf8(key, f"{field_name} (a key)")
            check_json(item, f"{field_name}.{key}", integral=integral)
        return
    raise ValidationError(field_name, f"is not JSON ({type(value).__name__})")


def plain_json(value: Json) -> Json:
    """A deep copy of a checked JSON value in JSON-native types (tuples -> lists, mappings -> dicts)."""
    if isinstance(value, Mapping):
        return {k: plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(v) for v in value]
    return value


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
    """The DataNet's id: keccak256(abi.encode(owner, name))."""
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
        object.__setattr__(self, "params", plain_json(self.params))


@dataclass(frozen=True, kw_only=True)
class CodeRef:
    """Where the training code lives, and whether the working tree matched the commit."""

    repo: str
    """Repository URL or name."""
    commit: str
    """Commit hash (or tag) that was run."""
    dirty: bool | None = None
    """True when the working tree had uncommitted changes (None: not said)."""
    diff_sha256: str | None = None
    """SHA-256 (64 lower-case hex) of the uncommitted diff, when ``dirty``."""

    def __post_init__(self) -> None:
        _str(self.repo, "repo", allow_empty=False)
        _str(self.commit, "commit", allow_empty=False)
        if self.dirty is not None and not isinstance(self.dirty, bool):
            raise ValidationError("dirty", f"must be true or false, got {self.dirty!r}")
        if self.diff_sha256 is not None and not (
            isinstance(self.diff_sha256, str) and _SHA256_HEX.match(self.diff_sha256)
        ):
            raise ValidationError("diff_sha256", f"must be 64 lower-case hex digits, got {self.diff_sha256!r}")

    def to_json(self) -> dict[str, Json]:
        out: dict[str, Json] = {"repo": self.repo, "commit": self.commit}
        if self.dirty is not None:
            out["dirty"] = self.dirty
        if self.diff_sha256 is not None:
            out["diff_sha256"] = self.diff_sha256
        return out


@dataclass(frozen=True, kw_only=True)
class TrainingRun:
    """A training-run record. Its canonical bytes and id come from :mod:`provenance_ledger.canonical`."""

    model_id: bytes
    """The produced model's id: keccak256(abi.encode(owner, name))."""
    model_version: str
    """The produced model version, e.g. ``"1.0.0"``."""
    weights_digest: bytes
    """Digest (content root) of the produced weights."""
    datanets: tuple[DatanetUse, ...]
    """The DataNet versions trained on; weights sum to 1,000,000."""
    parents: tuple[bytes, ...] = ()
    """Record ids of the runs that produced the models this run started from."""
    relations: tuple[str, ...] = ()
    """How this run's model derives from each parent's (aligned with ``parents``; one of
    :data:`RELATIONS`). Left empty, every parent is a ``"fine-tune"``."""
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
        if len(self.model_version.encode()) > MAX_MODEL_VERSION_BYTES:
            raise ValidationError("model_version", f"must be at most {MAX_MODEL_VERSION_BYTES} bytes")
        object.__setattr__(self, "weights_digest", bytes32(self.weights_digest, "weights_digest"))
        object.__setattr__(self, "parents", tuple(bytes32(p, f"parents[{i}]") for i, p in enumerate(self.parents)))
        if len(set(self.parents)) != len(self.parents):
            raise ValidationError("parents", "lists the same record twice")
        if len(self.parents) > MAX_PARENTS:
            raise ValidationError("parents", f"at most {MAX_PARENTS} per run, got {len(self.parents)}")
        relations = tuple(self.relations) or (DEFAULT_RELATION,) * len(self.parents)
        if len(relations) != len(self.parents):
            raise ValidationError("relations", f"has {len(relations)} entries for {len(self.parents)} parents")
        for i, rel in enumerate(relations):
            if rel not in RELATIONS:
                raise ValidationError(f"relations[{i}]", f"must be one of {', '.join(RELATIONS)}, got {rel!r}")
        object.__setattr__(self, "relations", relations)
        datanets = tuple(self.datanets)
        if not datanets:
            raise ValidationError("datanets", "must name at least one DataNet version")
        if len(datanets) > MAX_DATANETS:
            raise ValidationError("datanets", f"at most {MAX_DATANETS} per run, got {len(datanets)}")
        seen: set[tuple[bytes, int]] = set()
        for i, use in enumerate(datanets):
            if not isinstance(use, DatanetUse):
                raise ValidationError(f"datanets[{i}]", "must be a DatanetUse")
            key = (use.datanet_id, use.version)
            if key in seen:
                raise ValidationError(f"datanets[{i}]", "uses the same DataNet version twice")
            seen.add(key)
        total = sum(u.weight_ppm for u in datanets)
        if total != WEIGHT_TOTAL:
            raise ValidationError("datanets", f"weights must sum to {WEIGHT_TOTAL:,} parts per million, got {total:,}")
        object.__setattr__(self, "datanets", datanets)
        object.__setattr__(self, "preprocessing", tuple(self.preprocessing))
        for i, step in enumerate(self.preprocessing):
            if not isinstance(step, PreprocessingStep):
                raise ValidationError(f"preprocessing[{i}]", "must be a PreprocessingStep")
        if self.code is not None and not isinstance(self.code, CodeRef):
            raise ValidationError("code", "must be a CodeRef")
        for name in ("hyperparameters", "environment"):
            value = getattr(self, name)
            if not isinstance(value, Mapping):
                raise ValidationError(name, "must be a mapping")
            check_json(value, name, integral=name == "environment")
            object.__setattr__(self, name, plain_json(value))
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
        if self.parents:
            out["relations"] = list(self.relations)
        out |= {
            "preprocessing": [{"op": s.op, "params": dict(s.params)} for s in self.preprocessing],
            "hyperparameters": dict(self.hyperparameters),
            "environment": dict(self.environment),
        }
        if self.code is not None:
            out["code"] = self.code.to_json()
        if self.started_at is not None:
            out["started_at"] = self.started_at
        if self.ended_at is not None:
            out["ended_at"] = self.ended_at
        return out


_DETAIL_KEYS = {
    "partitions",
    "relations",
    "preprocessing",
    "hyperparameters",
    "environment",
    "code",
    "started_at",
    "ended_at",
}


def details_fields(details: Mapping[str, Json]) -> dict[str, Any]:
    """Inverse of :meth:`TrainingRun.details`: keyword arguments for :class:`TrainingRun`, plus
    ``partitions`` (a tuple aligned with the DataNet uses, or None when all are whole versions).
    ``relations`` is an empty tuple when absent (the caller checks it against the parents)."""
    unknown = set(details) - _DETAIL_KEYS
    if unknown:
        raise ValidationError("details", f"unknown keys {sorted(unknown)}")
    code = details.get("code")
    partitions = details.get("partitions")
    return {
        "partitions": tuple(Partition(**p) for p in partitions) if partitions else None,
        "relations": tuple(details.get("relations") or ()),
        "preprocessing": tuple(
            PreprocessingStep(op=s["op"], params=s.get("params", {})) for s in details.get("preprocessing", [])
        ),
        "hyperparameters": details.get("hyperparameters", {}),
        "environment": details.get("environment", {}),
        "code": CodeRef(
            repo=code["repo"], commit=code["commit"], dirty=code.get("dirty"), diff_sha256=code.get("diff_sha256")
        )
        if code
        else None,
        "started_at": details.get("started_at"),
        "ended_at": details.get("ended_at"),
    }


# ----------------------------------------------------------------- run files

ParentResolver = Callable[[str, str], bytes]
"""Maps (model reference, version) to the record id that produced it. The model reference is the run
file's text before ``@``: a bare name (the resolver's default owner), ``OWNER/NAME`` or a ``0x`` id."""

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
    """A ``0x`` id is taken as is; a name (bare, or ``OWNER/NAME``) goes to ``hasher`` for its id."""
    if isinstance(value, str) and _HEX32.match(value):
        return bytes.fromhex(value[2:])
    name = _str(value, field_name, allow_empty=False)
    try:
        return hasher(name)
    except ValidationError as exc:
        raise ValidationError(field_name, exc.problem) from None


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

    Models and DataNets may be given by name (bare or ``OWNER/NAME``, made an id by ``name_hasher``)
    or ``0x`` id; parents by ``0x`` record id or ``"model@version"`` (resolved by ``resolve_parent``),
    either alone (a fine-tune) or as ``{ref: ..., relation: adapter}``. Errors name the field, e.g.
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

    parents: list[bytes] = []
    relations: list[str] = []
    for i, p in enumerate(_list(d.get("parents", []), "parents")):
        relation = DEFAULT_RELATION
        if isinstance(p, Mapping):
            entry = _mapping(p, f"parents[{i}]", {"ref", "relation"})
            if "ref" not in entry:
                raise ValidationError(f"parents[{i}].ref", "is required")
            p = entry["ref"]
            raw_rel = _str(entry.get("relation", DEFAULT_RELATION), f"parents[{i}].relation", allow_empty=False)
            relation = RELATION_ALIASES.get(raw_rel, raw_rel)
            if relation not in RELATIONS:
                raise ValidationError(
                    f"parents[{i}].relation", f"must be one of {', '.join(RELATIONS)}, got {raw_rel!r}"
                )
        if isinstance(p, str) and "@" in p and not _HEX32.match(p):
            if resolve_parent is None:
                raise ValidationError(f"parents[{i}]", "model@version parents need a chain to resolve them")
            model, _, version = p.rpartition("@")
            if not model or not version:
                raise ValidationError(f"parents[{i}]", f"expected MODEL@VERSION, got {p!r}")
            parents.append(resolve_parent(model, version))
        else:
            parents.append(bytes32(p, f"parents[{i}]"))
        relations.append(relation)

    steps = []
    for i, raw in enumerate(_list(d.get("preprocessing", []), "preprocessing")):
        s = _mapping(raw, f"preprocessing[{i}]", {"op", "params"})
        if "op" not in s:
            raise ValidationError(f"preprocessing[{i}].op", "is required")
        steps.append(_at(f"preprocessing[{i}]", PreprocessingStep, op=s["op"], params=s.get("params", {})))

    code = None
    if d.get("code") is not None:
        c = _mapping(d["code"], "code", {"repo", "commit", "dirty", "diff_sha256"})
        code = _at(
            "code",
            CodeRef,
            repo=c.get("repo", ""),
            commit=c.get("commit", ""),
            dirty=c.get("dirty"),
            diff_sha256=c.get("diff_sha256"),
        )

    return TrainingRun(
        model_id=name_or_id(d["model"], "model", name_hasher),
        model_version=_str(d["version"], "version", allow_empty=False),
        weights_digest=d["weights_digest"],
        datanets=tuple(uses),
        parents=tuple(parents),
        relations=tuple(relations),
        preprocessing=tuple(steps),
        code=code,
        hyperparameters=d.get("hyperparameters", {}),
        environment=d.get("environment", {}),
        started_at=d.get("started_at"),
        ended_at=d.get("ended_at"),
    )
