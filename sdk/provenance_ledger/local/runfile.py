"""Run files: the YAML or JSON description of a training run, read into a :class:`TrainingRun`.

Run files are strict so that every tool reads them the same way:

* at most :data:`MAX_RUN_FILE_BYTES`, read as bytes and decoded as strict UTF-8;
* YAML is the YAML 1.2 core schema (ruamel.yaml, safe): ``lr: 1e-7`` is a float, ``on`` is not a
  boolean. Plain (unquoted) scalars that YAML 1.1 tools read differently are errors that say how to
  quote them: ``on/off/yes/no/y/n``, leading-zero numbers (``0755``), base-60 numbers (``1:20``),
  ``1_000``, ``0b101`` and dates; so is a number where a string is wanted (``version: 1.10``);
* no anchors, aliases or tags other than ``!!str`` (no alias bombs), one document, at most
  :data:`MAX_DEPTH` levels of nesting;
* duplicate keys are errors, in YAML and in JSON;
* every string is valid Unicode (no lone surrogates) and every number finite (no NaN, Infinity, 1e999).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from provenance_ledger.core.canonical import entity_id
from provenance_ledger.core.records import TrainingRun, run_from_dict, utf8
from provenance_ledger.errors import ValidationError

__all__ = [
    "MAX_DEPTH",
    "MAX_RUN_FILE_BYTES",
    "load_json_file",
    "load_run_file",
    "read_text_file",
]

MAX_RUN_FILE_BYTES = 1 << 20
"""A run file (or a JSON input file such as ``--terms``) is at most 1 MiB."""
MAX_DEPTH = 32
"""Nesting levels of lists and mappings in a run file."""

_YAML_SUFFIXES = (".yaml", ".yml")
_BOOL_11 = re.compile(r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$")
_OCTAL_11 = re.compile(r"^[-+]?0[0-9_]+$")
_BASE60_11 = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")
_UNDERSCORE_OR_BINARY = re.compile(r"^[-+]?(?:0b[01_]+|[0-9][0-9_]*_[0-9_]*(?:\.[0-9_]*)?)$")
_CORE_TAGS = {
    "tag:yaml.org,2002:str": str,
    "tag:yaml.org,2002:int": int,
    "tag:yaml.org,2002:float": float,
    "tag:yaml.org,2002:bool": bool,
    "tag:yaml.org,2002:null": type(None),
}


def read_text_file(path: str, *, limit: int = MAX_RUN_FILE_BYTES) -> str:
    """The text of ``path``: at most ``limit`` bytes of strict UTF-8 (a leading BOM is dropped).
    Every failure is a :class:`ValidationError` naming the file."""
    try:
        with open(path, "rb") as f:
            raw = f.read(limit + 1)
    except OSError as exc:
        raise ValidationError(path, f"cannot be read: {exc.strerror or exc}") from None
    if len(raw) > limit:
        raise ValidationError(path, f"is larger than {limit:,} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(path, f"is not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise ValidationError(path, "is empty")
    return text


def load_json_file(path: str, *, limit: int = MAX_RUN_FILE_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """Parse the JSON file ``path`` strictly: :func:`read_text_file`, duplicate keys, NaN/Infinity and
    1e999, lone surrogates and deep nesting are :class:`ValidationError` naming the file (and field)."""
    text = read_text_file(path, limit=limit)
    _check_json_depth(text, path, max_depth)  # before json.loads: deep enough nesting overflows the C stack
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as exc:
        raise ValidationError(path, f"duplicate key {json.dumps(exc.key)} in a JSON object") from None
    except RecursionError:
        raise ValidationError(path, "nests too deeply") from None
    except ValueError as exc:
        raise ValidationError(path, f"is not valid JSON: {exc}") from None
    _check_values(data, path, "", 0, max_depth)
    return data


def load_run_file(
    path: str,
    resolve: Callable[[str, str], bytes] | None,
    *,
    owner: str | bytes | None = None,
    refs: Callable[[str], str] | None = None,
) -> TrainingRun:
    """Read a run file (YAML or JSON) into a :class:`TrainingRun`; errors name the file and the field.

    Models and DataNets named by a bare name are ``owner``'s (ids are scoped by owner); ``OWNER/NAME``
    and ``0x`` ids name any account's. Without ``owner``, bare names are an error. ``refs`` rewrites a
    name first (the CLI passes :meth:`Config.resolve_ref`, so ``ALIAS/NAME`` works in run files).
    See the module's docstring for what a run file may not contain."""
    plain: dict[str, tuple[str, Any]] = {}
    if path.endswith(_YAML_SUFFIXES):
        data = _load_yaml(path, read_text_file(path), plain)
    else:
        data = load_json_file(path)
    rewrite = refs or (lambda name: name)
    try:
        return run_from_dict(data, name_hasher=lambda name: entity_id(owner, rewrite(name)), resolve_parent=resolve)
    except ValidationError as exc:
        if exc.field in plain and exc.problem.startswith("must be a string"):
            source, value = plain[exc.field]
            key = exc.field.rpartition(".")[2]
            hint = f"{key}: {json.dumps(source)}" if not key.endswith("]") else json.dumps(source)
            raise ValidationError(
                f"{path}: {exc.field}",
                f"must be a string, but YAML reads {source} as {_what(value)}; quote it: {hint}",
            ) from None
        raise ValidationError(f"{path}: {exc.field}", exc.problem) from None


def _what(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    return f"the number {value!r}"


# ----------------------------------------------------------------- JSON


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def _check_json_depth(text: str, path: str, max_depth: int) -> None:
    depth = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > max_depth + 1:
            raise ValidationError(path, f"nests more than {max_depth} levels deep")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _field(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _check_values(value: Any, path: str, where: str, depth: int, max_depth: int) -> None:
    """Non-finite numbers, lone surrogates and deep nesting anywhere in parsed JSON, by field."""
    if depth > max_depth:
        raise ValidationError(f"{path}: {where or 'run'}", f"nests more than {max_depth} levels deep")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(f"{path}: {where or 'run'}", f"must be a finite number, got {value}")
    if isinstance(value, str):
        _check_text(value, path, where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_values(item, path, f"{where}[{i}]", depth + 1, max_depth)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, path, where, is_key=True)
            _check_values(item, path, _field(where, key), depth + 1, max_depth)


def _check_text(value: str, path: str, where: str, *, is_key: bool = False) -> None:
    utf8(value, f"{path}: {where or 'run'}{' (a key)' if is_key else ''}")


# ----------------------------------------------------------------- YAML


def _load_yaml(path: str, text: str, plain: dict[str, tuple[str, Any]]) -> Any:
    """Compose the single YAML 1.2 document of ``text`` and build plain JSON values from its nodes;
    ``plain`` receives the source text of each unquoted scalar that is not a string, by field."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    for line in text.splitlines():
        if line.startswith("%YAML") and line.split()[1:2] != ["1.2"]:
            raise ValidationError(path, "run files are YAML 1.2: remove the %YAML directive")
    yaml = YAML(typ="safe", pure=True)
    try:
        node = yaml.compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise ValidationError(path, f"is not valid YAML: {at}{problem}") from None
    except YAMLError as exc:
        raise ValidationError(path, f"is not valid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise ValidationError(path, "nests too deeply") from None
    if node is None:
        raise ValidationError(path, "is empty")
    return _Builder(path, yaml.constructor, plain).build(node, "", 0)


class _Builder:
    def __init__(self, path: str, constructor: Any, plain: dict[str, tuple[str, Any]]) -> None:
        self.path = path
        self.constructor = constructor
        self.plain = plain
        self.seen: set[int] = set()

    def error(self, node: Any, where: str, problem: str) -> ValidationError:
        return ValidationError(f"{self.path}: line {node.start_mark.line + 1}: {where or 'run'}", problem)

    def build(self, node: Any, where: str, depth: int) -> Any:
        from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

        if id(node) in self.seen or getattr(node, "anchor", None):
            raise self.error(node, where, "anchors and aliases (&name, *name) are not allowed in run files")
        self.seen.add(id(node))
        if depth > MAX_DEPTH:
            raise self.error(node, where, f"nests more than {MAX_DEPTH} levels deep")
        tag = str(node.tag)
        if isinstance(node, ScalarNode):
            return self.scalar(node, tag, where)
        if isinstance(node, SequenceNode) and tag == "tag:yaml.org,2002:seq":
            return [self.build(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode) and tag == "tag:yaml.org,2002:map":
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self.build(key_node, where, depth + 1)
                if not isinstance(key, str):
                    raise self.error(key_node, where, f"keys must be strings; quote {key_node.value}")
                if key in out:
                    raise self.error(key_node, _field(where, key), "duplicate key")
                out[key] = self.build(value_node, _field(where, key), depth + 1)
            return out
        raise self.error(node, where, f"the tag {tag} is not allowed in run files")

    def scalar(self, node: Any, tag: str, where: str) -> Any:
        source: str = node.value
        if node.style is None and tag == "tag:yaml.org,2002:str":
            quoted = json.dumps(source)
            if _BOOL_11.match(source):
                raise self.error(
                    node, where, f"{source} is true/false to YAML 1.1 tools; quote it ({quoted}) or write true/false"
                )
            if _BASE60_11.match(source):
                raise self.error(node, where, f"{source} is a base-60 number to YAML 1.1 tools; quote it: {quoted}")
        if tag not in _CORE_TAGS:
            if tag == "tag:yaml.org,2002:timestamp":
                raise self.error(node, where, f"{source} is a date to YAML; quote it: {json.dumps(source)}")
            raise self.error(node, where, f"the tag {tag} is not allowed in run files")
        if node.style is None and tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float"):
            quoted = json.dumps(source)
            if _OCTAL_11.match(source):
                raise self.error(
                    node,
                    where,
                    f"{source} is octal to YAML 1.1 tools and decimal to YAML 1.2; quote it ({quoted}), "
                    f"drop the leading zeros, or write 0o{source.lstrip('+-0_') or '0'} for octal",
                )
            if _UNDERSCORE_OR_BINARY.match(source):
                raise self.error(node, where, f"{source} is read differently by YAML tools; quote it: {quoted}")
        value = self.constructor.construct_object(node, deep=True)
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(node, where, f"must be a finite number, got {source}")
        if isinstance(value, str):
            try:
                _check_text(value, self.path, where)
            except ValidationError as exc:
                raise self.error(node, where, exc.problem) from None
        elif node.style is None:
            self.plain[where] = (source, value)
        return value
