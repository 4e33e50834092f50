"""The details JSON Schema v2: shipped as package data, valid draft 2020-12, enforced on write and on
read; the fast acceptor never accepts what jsonschema rejects; relations from run files; the
registry's limits as ValidationErrors before anything is sent."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from provenance_ledger.core.canonical import (
    TRAINING_RUN_TYPE,
    canonical_json,
    decode_run,
    encode_run,
    entity_id,
    record_id,
)
from provenance_ledger.core.records import (
    MAX_DATANETS,
    MAX_DETAILS_BYTES,
    MAX_PARENTS,
    RELATIONS,
    CodeRef,
    DatanetUse,
    TrainingRun,
    run_from_dict,
)
from provenance_ledger.core.schema import (
    DETAILS_SCHEMA_ID,
    certainly_valid,
    details_schema,
    is_valid_details,
    validate_details,
)
from provenance_ledger.errors import ValidationError
from tests.conftest import OWNER, make_run
from tests.test_records import runs

VALIDATOR = Draft202012Validator(details_schema())


def test_the_schema_ships_with_the_package_and_is_draft_2020_12() -> None:
    text = resources.files("provenance_ledger.core").joinpath("schemas", "details-v2.schema.json").read_text()
    schema = json.loads(text)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == DETAILS_SCHEMA_ID
    Draft202012Validator.check_schema(schema)
    assert set(schema["$defs"]["relation"]["enum"]) == set(RELATIONS)
    with open("pyproject.toml") as fh:
        assert '"core/schemas/*.json"' in fh.read()  # package data: installed with the wheel


@settings(max_examples=300, deadline=None)
@given(runs())
def test_every_record_the_sdk_writes_is_valid(run: TrainingRun) -> None:
    details = run.details()
    assert VALIDATOR.is_valid(details)
    assert certainly_valid(details)  # the fast path takes every record the SDK writes
    assert decode_run(encode_run(run)).details() == json.loads(canonical_json(details))


def _mutations() -> st.SearchStrategy[Any]:
    leaf = st.none() | st.booleans() | st.integers(-3, 2**64) | st.floats(allow_nan=False) | st.text(max_size=70)
    return st.recursive(leaf, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=12), c, max_size=3))


KEYS = [
    "partitions",
    "relations",
    "preprocessing",
    "hyperparameters",
    "environment",
    "code",
    "started_at",
    "ended_at",
    "extra",
]


@settings(max_examples=1500, deadline=None)
@given(runs(), st.lists(st.tuples(st.sampled_from(KEYS), st.integers(0, 4), _mutations()), max_size=3))
def test_the_fast_acceptor_never_accepts_what_jsonschema_rejects(run: TrainingRun, edits: list[Any]) -> None:
    """Documents near valid ones (a key replaced, dropped, or one level inside it altered)."""
    doc: dict[str, Any] = copy.deepcopy(json.loads(canonical_json(run.details())))
    for key, how, value in edits:
        if how == 0:
            doc.pop(key, None)
        elif how == 1 or not isinstance(doc.get(key), dict | list) or not doc.get(key):
            doc[key] = value
        elif isinstance(doc[key], dict):
            inner = doc[key]
            inner[sorted(inner)[0] if how == 2 else "x"] = value
        else:
            doc[key][0 if how == 2 else -1] = value
    if certainly_valid(doc):
        assert VALIDATOR.is_valid(doc), doc
    assert is_valid_details(doc) == VALIDATOR.is_valid(doc)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d.update(relations=["finetune"]), "details.relations[0]"),
        (lambda d: d.update(relations=[]), "details.relations"),
        (lambda d: d.pop("environment"), "details"),
        (lambda d: d.update(environment={"gpus": 1.5}), "details.environment.gpus"),
        (lambda d: d.update(code={"repo": "r", "commit": "c", "dirty": "yes"}), "details.code.dirty"),
        (lambda d: d.update(code={"repo": "r", "commit": "c", "diff_sha256": "AB" * 32}), "details.code.diff_sha256"),
        (lambda d: d.update(started_at=-1), "details.started_at"),
        (lambda d: d.update(preprocessing=[{"op": "x"}]), "details.preprocessing[0]"),
        (lambda d: d.update(colour="blue"), "details"),
        (
            lambda d: d.update(partitions=[{"split": "", "selector": "", "fraction_ppm": 1_000_000, "seed": 0}]),
            "details.partitions",
        ),
    ],
)
def test_invalid_details_name_the_path(change: Any, where: str) -> None:
    doc = make_run(parents=(b"\1" * 32,)).details()
    change(doc)
    with pytest.raises(ValidationError) as exc:
        validate_details(doc)
    assert exc.value.field == where and "details schema v2" in exc.value.problem


def _record_with_details(details: dict[str, Any], *, parents: tuple[bytes, ...] = ()) -> bytes:
    run = make_run(owner=OWNER)
    value = (
        run.model_id,
        run.model_version,
        run.weights_digest,
        list(parents),
        [(u.datanet_id, u.version, u.weight_ppm) for u in run.datanets],
        canonical_json(details),
    )
    return abi_encode([TRAINING_RUN_TYPE], [value])


def test_reading_rejects_records_the_schema_rejects() -> None:
    good = make_run(owner=OWNER, parents=(b"\1" * 32,)).details()
    assert decode_run(_record_with_details(good, parents=(b"\1" * 32,))).relations == ("fine-tune",)
    bad_relation = dict(good, relations=["sideways"])
    with pytest.raises(ValidationError, match=r"details.relations\[0\]"):
        decode_run(_record_with_details(bad_relation, parents=(b"\1" * 32,)))
    with pytest.raises(ValidationError, match="relations: has 1 entries for 2 parents"):
        decode_run(_record_with_details(good, parents=(b"\1" * 32, b"\2" * 32)))
    no_relations = {k: v for k, v in good.items() if k != "relations"}
    with pytest.raises(ValidationError, match="relations: has 0 entries for 1 parents"):
        decode_run(_record_with_details(no_relations, parents=(b"\1" * 32,)))
    with pytest.raises(ValidationError, match="details"):
        decode_run(_record_with_details({"preprocessing": [], "hyperparameters": {}}))  # no environment
    # valid JSON, valid schema, but not the SDK's form of this record (a float where an int is written)
    odd = abi_encode(
        [TRAINING_RUN_TYPE],
        [
            (
                b"\3" * 32,
                "1",
                b"\4" * 32,
                [],
                [(b"\5" * 32, 1, 1_000_000)],
                b'{"environment":{},"hyperparameters":{},"preprocessing":[],"started_at":1.0}',
            )
        ],
    )
    with pytest.raises(ValidationError):
        decode_run(odd)


def test_relations_from_run_files() -> None:
    p1, p2, p3 = ("0x" + c * 64 for c in "123")
    data = {
        "model": "base",
        "version": "2.0",
        "weights_digest": "0x" + "ab" * 32,
        "datanets": [{"datanet": "alpha", "version": 1, "weight_ppm": 1_000_000}],
        "parents": [p1, {"ref": p2, "relation": "adapter"}, {"ref": p3, "relation": "quantized"}],
        "code": {"repo": "r", "commit": "c", "dirty": True, "diff_sha256": "cd" * 32},
    }
    run = run_from_dict(data, name_hasher=lambda n: entity_id(OWNER, n))
    assert run.relations == ("fine-tune", "adapter", "quantisation")  # HF's "quantized" spelled ours
    assert run.details()["relations"] == ["fine-tune", "adapter", "quantisation"]
    assert run.details()["code"] == {"repo": "r", "commit": "c", "dirty": True, "diff_sha256": "cd" * 32}
    assert decode_run(encode_run(run)) == run
    resolved = run_from_dict(
        {**data, "parents": ["base@1.0", {"ref": "other@2", "relation": "merge"}]},
        name_hasher=lambda n: entity_id(OWNER, n),
        resolve_parent=lambda model, version: keccak(text=f"{model}@{version}"),
    )
    assert resolved.parents == (keccak(text="base@1.0"), keccak(text="other@2"))
    assert resolved.relations == ("fine-tune", "merge")
    for bad, field in (
        ({"ref": p1, "relation": "sideways"}, "parents[0].relation"),
        ({"relation": "adapter"}, "parents[0].ref"),
        ({"ref": p1, "kind": "x"}, "parents[0]"),
    ):
        with pytest.raises(ValidationError) as exc:
            run_from_dict({**data, "parents": [bad]}, name_hasher=lambda n: entity_id(OWNER, n))
        assert exc.value.field == field


def test_entity_ids_are_owner_scoped() -> None:
    other = "0x" + "22" * 20
    assert entity_id(OWNER, "base") == keccak(abi_encode(["address", "string"], [OWNER, "base"]))
    assert entity_id(OWNER, "base") != entity_id(other, "base")
    assert entity_id(None, f"{other}/base") == entity_id(OWNER, f"{other}/base") == entity_id(other, "base")
    assert entity_id(None, "0x" + "ab" * 32) == bytes.fromhex("ab" * 32)  # an id passes through
    assert entity_id(None, b"\7" * 32) == b"\7" * 32
    assert entity_id(OWNER, "org/model") == keccak(abi_encode(["address", "string"], [OWNER, "org/model"]))
    with pytest.raises(ValidationError, match="needs an owner"):
        entity_id(None, "base")
    with pytest.raises(ValidationError, match="at most 128 bytes"):
        entity_id(OWNER, "x" * 129)
    with pytest.raises(ValidationError, match="must not be empty"):
        entity_id(OWNER, "")


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: make_run(version="v" * 65), "model_version"),
        (lambda: make_run(parents=tuple(keccak(bytes([i])) for i in range(MAX_PARENTS + 1))), "parents"),
        (
            lambda: TrainingRun(
                model_id=b"\1" * 32,
                model_version="1",
                weights_digest=b"\2" * 32,
                datanets=tuple(
                    DatanetUse(
                        datanet_id=keccak(bytes([i])), version=1, weight_ppm=1 if i else 1_000_000 - MAX_DATANETS
                    )
                    for i in range(MAX_DATANETS + 1)
                ),
            ),
            "datanets",
        ),
        (lambda: make_run(uses=[("alpha", 1, 500_000), ("alpha", 1, 500_000)]), "datanets[1]"),
        (lambda: make_run(parents=(b"\1" * 32,), relations=("sideways",)), "relations[0]"),
        (lambda: make_run(parents=(b"\1" * 32,), relations=("merge", "merge")), "relations"),
        (lambda: CodeRef(repo="r", commit="c", diff_sha256="x" * 64), "diff_sha256"),
        (lambda: make_run(environment={"load": 0.5}), "environment.load"),
    ],
)
def test_limits_and_shapes_are_validation_errors(build: Any, field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        build()
    assert exc.value.field == field


def test_oversize_details_are_refused_before_sending() -> None:
    big = make_run(hyperparameters={"blob": "y" * MAX_DETAILS_BYTES})
    with pytest.raises(ValidationError, match="details: must be at most 16,384 bytes"):
        encode_run(big)
    with pytest.raises(ValidationError):
        record_id(big)
