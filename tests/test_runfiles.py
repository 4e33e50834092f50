"""Run files are strict and portable (issue 11, item 5): YAML 1.2 through ruamel.yaml, ambiguous YAML 1.1
scalars and unquoted versions rejected with a quoting hint, duplicate keys, strict UTF-8, no aliases,
finite numbers and real Unicode only; and the same run written as YAML or as JSON is one record."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from provenance_ledger.core.canonical import record_id
from provenance_ledger.errors import ValidationError
from provenance_ledger.local.runfile import MAX_RUN_FILE_BYTES, load_json_file, load_run_file

OWNER = "0x" + "22" * 20
HEAD = 'model: base\nversion: "1.0"\nweights_digest: "0x' + "11" * 32 + '"\n'
USES = "datanets:\n  - {datanet: alpha, version: 1, weight_ppm: 1000000}\n"


def load(tmp_path: Path, text: str | bytes, name: str = "run.yaml") -> Any:
    p = tmp_path / name
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    return load_run_file(str(p), None, owner=OWNER)


def error(tmp_path: Path, text: str | bytes, name: str = "run.yaml") -> str:
    with pytest.raises(ValidationError) as info:
        load(tmp_path, text, name)
    return str(info.value).replace(f"{tmp_path}/", "")


def test_yaml_12_core_schema(tmp_path: Path) -> None:
    run = load(tmp_path, HEAD + USES + 'hyperparameters: {lr: 1e-7, mode: "on", perm: 0o755, count: 755, v: "1.10"}\n')
    assert run.hyperparameters == {"lr": 1e-7, "mode": "on", "perm": 0o755, "count": 755, "v": "1.10"}
    assert isinstance(run.hyperparameters["lr"], float)


@pytest.mark.parametrize(
    ("scalar", "hint"),
    [
        ("on", 'quote it ("on") or write true/false'),
        ("Off", 'quote it ("Off")'),
        ("yes", 'quote it ("yes")'),
        ("n", 'quote it ("n")'),
        ("0755", 'quote it ("0755"), drop the leading zeros, or write 0o755 for octal'),
        ("1:20", 'base-60 number to YAML 1.1 tools; quote it: "1:20"'),
        ("2024-01-02", 'is a date to YAML; quote it: "2024-01-02"'),
        ("1_000", 'quote it: "1_000"'),
        ("0b101", 'quote it: "0b101"'),
    ],
)
def test_ambiguous_plain_scalars_are_errors_saying_how_to_quote(tmp_path: Path, scalar: str, hint: str) -> None:
    message = error(tmp_path, HEAD + USES + f"hyperparameters:\n  x: {scalar}\n")
    assert message.startswith("run.yaml: line 7: hyperparameters.x: ") or "hyperparameters.x" in message
    assert hint in message


@pytest.mark.parametrize(
    ("written", "shown"),
    [("1.10", 'quote it: version: "1.10"'), ("2", 'quote it: version: "2"'), ("1.0", 'version: "1.0"')],
)
def test_an_unquoted_version_is_never_silently_a_number(tmp_path: Path, written: str, shown: str) -> None:
    message = error(tmp_path, HEAD.replace('"1.0"', written) + USES)
    assert message.endswith(shown) and "YAML reads " + written + " as the number" in message


def test_unquoted_boolean_where_a_name_is_wanted(tmp_path: Path) -> None:
    message = error(tmp_path, HEAD + USES.replace("alpha", "true"))
    assert (
        'datanets[0].datanet: must be a string, but YAML reads true as the boolean true; quote it: datanet: "true"'
        in message
    )


@pytest.mark.parametrize(
    ("text", "name", "problem"),
    [
        (HEAD + USES + "model: other\n", "run.yaml", "line 6: model: duplicate key"),
        (HEAD + USES + "hyperparameters: {a: 1, a: 2}\n", "run.yaml", "hyperparameters.a: duplicate key"),
        ('{"model": "a", "model": "b"}', "run.json", 'duplicate key "model"'),
        ('{"hyperparameters": {"a": 1, "a": 1}}', "run.json", 'duplicate key "a"'),
    ],
)
def test_duplicate_keys_are_errors(tmp_path: Path, text: str, name: str, problem: str) -> None:
    assert problem in error(tmp_path, text, name)


@pytest.mark.parametrize("name", ["run.yaml", "run.json"])
def test_files_are_strict_utf8(tmp_path: Path, name: str) -> None:
    latin1 = (HEAD + USES + "hyperparameters: {note: café}\n").encode("latin-1")
    offset = latin1.index(b"\xe9")
    assert error(tmp_path, latin1, name) == f"{name}: is not UTF-8 (byte 0xe9 at offset {offset})"
    assert error(tmp_path, bytes([0x89]) + b"PNG\r\n\x1a\n" + bytes(range(256)), name) == (
        f"{name}: is not UTF-8 (byte 0x89 at offset 0)"
    )


def test_billion_laughs_is_rejected_at_once(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    start = time.monotonic()
    message = error(tmp_path, "\n".join(lines) + "\n")
    assert time.monotonic() - start < 1
    assert "anchors and aliases (&name, *name) are not allowed in run files" in message


@pytest.mark.parametrize(
    ("text", "name", "field"),
    [
        (HEAD + USES + "hyperparameters: {lr: .nan}\n", "run.yaml", "hyperparameters.lr: must be a finite number"),
        (HEAD + USES + "hyperparameters: {lr: -.inf}\n", "run.yaml", "hyperparameters.lr: must be a finite number"),
        (HEAD + USES + "hyperparameters: {lr: 1e999}\n", "run.yaml", "hyperparameters.lr: must be a finite number"),
        ('{"hyperparameters": {"lr": NaN}}', "run.json", "run.json: hyperparameters.lr: must be a finite number"),
        ('{"hyperparameters": {"lr": [Infinity]}}', "run.json", "hyperparameters.lr[0]: must be a finite number"),
        ('{"hyperparameters": {"lr": 1e999}}', "run.json", "hyperparameters.lr: must be a finite number"),
        ('{"model": "\\ud800"}', "run.json", "run.json: model: holds a lone surrogate (\\ud800)"),
        ('{"environment": {"\\udfff": 1}}', "run.json", "environment (a key): holds a lone surrogate (\\udfff)"),
        (HEAD + USES + 'hyperparameters: {x: "\\ud800"}\n', "run.yaml", "hyperparameters.x: holds a lone surrogate"),
    ],
)
def test_non_finite_numbers_and_lone_surrogates_name_the_field(
    tmp_path: Path, text: str, name: str, field: str
) -> None:
    assert field in error(tmp_path, text, name)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "run.yaml: is empty"),
        ("# only a comment\n", "run.yaml: is empty"),
        ("- a\n- b\n", "run: must be an object, got list"),
        ("just text\n", "run: must be an object, got str"),
        ("%YAML 1.1\n---\n" + HEAD + USES, "run files are YAML 1.2"),
        (HEAD + USES + "---\nmodel: again\n", "is not valid YAML"),
        (HEAD + USES + "hyperparameters: !!python/object:os.system {}\n", "the tag"),
        (HEAD + USES + "hyperparameters: {1: x}\n", "keys must be strings; quote 1"),
        ("a: [" * 200 + "]" * 200, "nests more than 32 levels deep"),
        ("model: [unclosed\n", "is not valid YAML: line"),
    ],
)
def test_malformed_yaml_is_one_named_error(tmp_path: Path, text: str, problem: str) -> None:
    message = error(tmp_path, text)
    assert problem in message and "\n" not in message


def test_size_limit(tmp_path: Path) -> None:
    big = HEAD + USES + "hyperparameters: {pad: " + '"' + "x" * MAX_RUN_FILE_BYTES + '"}\n'
    assert error(tmp_path, big) == f"run.yaml: is larger than {MAX_RUN_FILE_BYTES:,} bytes"
    p = tmp_path / "deep.json"
    p.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValidationError, match="nests"):
        load_json_file(str(p))


# ----------------------------------------------------------------- YAML and JSON are one record

_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_NAME = st.text("abcdefghijklmnopqrstuvwxyzé0123456789-_.", min_size=1, max_size=24)
_SCALAR = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15)
    | _TEXT
)
_VALUE = st.recursive(
    _SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3), max_leaves=8
)


@st.composite
def runs(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 3))
    cuts = sorted(draw(st.lists(st.integers(1, 999_999), min_size=n - 1, max_size=n - 1, unique=True)))
    weights = [b - a for a, b in zip([0, *cuts], [*cuts, 1_000_000], strict=True)]
    return {
        "model": draw(_NAME),
        "version": draw(st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=16)),
        "weights_digest": "0x" + draw(st.binary(min_size=32, max_size=32)).hex(),
        "datanets": [
            {"datanet": f"{draw(_NAME)}-{i}", "version": draw(st.integers(1, 2**64 - 1)), "weight_ppm": w}
            for i, w in enumerate(weights)
        ],
        "hyperparameters": draw(st.dictionaries(_TEXT, _VALUE, max_size=4)),
        "environment": {"gpu": draw(_TEXT), "count": draw(st.integers(0, 64))},
        "started_at": draw(st.integers(0, 2**53 - 1)),
    }


def _yaml(data: dict[str, Any]) -> str:
    """The run through ruamel's safe dumper, every string double-quoted (the run-file quoting rule)."""
    yaml = YAML(typ="safe", pure=True)
    yaml.representer.add_representer(str, lambda rep, s: rep.represent_scalar("tag:yaml.org,2002:str", s, style='"'))
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=runs(), ascii_json=st.booleans())
def test_the_same_run_as_yaml_and_as_json_is_one_record(tmp_path: Path, data: dict[str, Any], ascii_json: bool) -> None:
    from_json = load(tmp_path, json.dumps(data, ensure_ascii=ascii_json), "run.json")
    from_yaml = load(tmp_path, _yaml(data), "run.yaml")
    assert record_id(from_yaml) == record_id(from_json)
    assert from_yaml == from_json
