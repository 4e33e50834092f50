"""The details JSON Schema (v2) shipped with the package, and validation against it. Pure.

``schemas/details-v2.schema.json`` (JSON Schema draft 2020-12) is the one description of what a
record's ``details`` may hold; the SDK validates against it before it writes a record and after it
reads one. The schema file is package data, read with :mod:`importlib.resources` (no filesystem
path is assumed); :mod:`jsonschema` is imported on first use, so neither the package import nor
``--help`` pays for it.

jsonschema costs ~0.4-0.6 ms per record (the decode of a whole record costs ~0.3 ms), which would
triple the cost of every verified read. :func:`certainly_valid` is a hand-written acceptor of the
same constraints, stricter where it is simpler to be (JSON-native Python types only, ``fullmatch``
for the digest pattern): a document it accepts is valid, and everything else, including every
rejection and its message, is decided by jsonschema. ``tests/test_schema.py`` holds it to that
(hypothesis: whatever it accepts, jsonschema accepts).
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

from provenance_ledger.errors import ValidationError

__all__ = [
    "DETAILS_SCHEMA_FILE",
    "DETAILS_SCHEMA_ID",
    "certainly_valid",
    "details_schema",
    "is_valid_details",
    "validate_details",
]

DETAILS_SCHEMA_FILE = "details-v2.schema.json"
DETAILS_SCHEMA_ID = "urn:provenance-ledger:schema:details:v2"


@cache
def details_schema() -> dict[str, Any]:
    """The parsed details schema (a fresh parse per process, shared afterwards: do not mutate)."""
    text = resources.files("provenance_ledger.core").joinpath("schemas", DETAILS_SCHEMA_FILE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    schema = details_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


_RELATIONS = frozenset(("fine-tune", "adapter", "merge", "quantisation", "distillation", "continued-pretraining"))
_TOP = frozenset(
    ("partitions", "relations", "preprocessing", "hyperparameters", "environment", "code", "started_at", "ended_at")
)
_PARTITION = frozenset(("split", "selector", "fraction_ppm", "seed"))
_STEP = frozenset(("op", "params"))
_CODE = frozenset(("repo", "commit", "dirty", "diff_sha256"))
_WHOLE = {"split": "", "selector": "", "fraction_ppm": 1_000_000, "seed": 0}
_DIGEST = re.compile(r"[0-9a-f]{64}")
_MAX_SAFE = 2**53 - 1


def _json(value: Any, integral: bool, depth: int = 0) -> bool:
    t = type(value)
    if value is None or t is bool or t is int or t is str:
        return True
    if t is float:
        return not integral or value.is_integer()
    if depth > 64:
        return False
    if t is list:
        return all(_json(v, integral, depth + 1) for v in value)
    if t is dict:
        return all(type(k) is str and _json(v, integral, depth + 1) for k, v in value.items())
    return False


def _uint(value: Any, lo: int, hi: int) -> bool:
    return type(value) is int and lo <= value <= hi


def certainly_valid(d: Any) -> bool:
    """True only for documents valid against the details schema (a fast, conservative acceptor:
    False means "ask jsonschema", not "invalid")."""
    if type(d) is not dict or not d.keys() <= _TOP:
        return False
    if "preprocessing" not in d or "hyperparameters" not in d or "environment" not in d:
        return False
    parts = d.get("partitions")
    if parts is not None:
        if type(parts) is not list or not 1 <= len(parts) <= 64:
            return False
        for p in parts:
            if type(p) is not dict or p.keys() != _PARTITION:
                return False
            if type(p["split"]) is not str or type(p["selector"]) is not str:
                return False
            if not _uint(p["fraction_ppm"], 1, 1_000_000) or not _uint(p["seed"], 0, _MAX_SAFE):
                return False
        if all(p == _WHOLE for p in parts):
            return False
    elif "partitions" in d:
        return False
    if "relations" in d:
        rel = d["relations"]
        if type(rel) is not list or not 1 <= len(rel) <= 16 or not all(type(r) is str and r in _RELATIONS for r in rel):
            return False
    steps = d["preprocessing"]
    if type(steps) is not list:
        return False
    for s in steps:
        if type(s) is not dict or s.keys() != _STEP or type(s["op"]) is not str or not s["op"]:
            return False
        if type(s["params"]) is not dict or not _json(s["params"], False):
            return False
    if type(d["hyperparameters"]) is not dict or not _json(d["hyperparameters"], False):
        return False
    if type(d["environment"]) is not dict or not _json(d["environment"], True):
        return False
    if "code" in d:
        c = d["code"]
        if type(c) is not dict or not c.keys() <= _CODE or "repo" not in c or "commit" not in c:
            return False
        if type(c["repo"]) is not str or not c["repo"] or type(c["commit"]) is not str or not c["commit"]:
            return False
        if "dirty" in c and type(c["dirty"]) is not bool:
            return False
        if "diff_sha256" in c and not (type(c["diff_sha256"]) is str and _DIGEST.fullmatch(c["diff_sha256"])):
            return False
    return all(k not in d or _uint(d[k], 0, _MAX_SAFE) for k in ("started_at", "ended_at"))


def is_valid_details(details: Any) -> bool:
    """Whether ``details`` is valid against the details schema (jsonschema decides what
    :func:`certainly_valid` does not)."""
    return certainly_valid(details) or bool(_validator().is_valid(details))


def validate_details(details: Any, field: str = "details") -> None:
    """Raise ValidationError naming the first offending path when ``details`` does not match the
    details schema (e.g. ``details.relations[0]: 'finetune' is not one of [...]``)."""
    if certainly_valid(details):
        return
    validator = _validator()
    try:
        if validator.is_valid(details):
            return
    except RecursionError:
        raise ValidationError(field, "is nested too deeply") from None
    errors = sorted(validator.iter_errors(details), key=lambda e: (len(e.absolute_path), list(map(str, e.path))))
    err = errors[0]
    where = field + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
    raise ValidationError(where, f"does not match the details schema v2: {err.message}")
