"""Record validation names the bad field; canonical bytes are deterministic and round-trip."""

from __future__ import annotations

import pytest
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance_ledger.core.canonical import decode_run, encode_run, entity_id, record_id
from provenance_ledger.core.records import (
    RELATIONS,
    CodeRef,
    DatanetUse,
    Partition,
    PreprocessingStep,
    TrainingRun,
    run_from_dict,
)
from provenance_ledger.errors import ProvenanceError, ValidationError
from tests.conftest import OWNER, make_run


def test_error_hierarchy_is_pinned() -> None:
    assert issubclass(ValidationError, ProvenanceError) and issubclass(ValidationError, ValueError)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["datanets"][0].update(weight_ppm=1), "datanets"),
        (lambda d: d["datanets"][1].update(weight_ppm="x"), "datanets[1].weight_ppm"),
        (lambda d: d["datanets"][0].update(version=0), "datanets[0].version"),
        (lambda d: d["datanets"][0].update(partition={"fraction_ppm": 0}), "datanets[0].partition.fraction_ppm"),
        (lambda d: d["datanets"][0].update(partition={"colour": 1}), "datanets[0].partition"),
        (lambda d: d.update(weights_digest="0x12"), "weights_digest"),
        (lambda d: d.update(version=""), "version"),
        (lambda d: d.pop("model"), "model"),
        (lambda d: d.update(hyperparameters={"lr": float("nan")}), "hyperparameters.lr"),
        (lambda d: d.update(preprocessing=[{"params": {}}]), "preprocessing[0].op"),
        (lambda d: d.update(started_at=10, ended_at=5), "ended_at"),
        (lambda d: d.update(parents=["0x1234"]), "parents[0]"),
        (lambda d: d.update(extra=1), "run"),
    ],
)
def test_run_file_errors_name_the_field(mutate, field) -> None:
    data = {
        "model": "base",
        "version": "1.0",
        "weights_digest": "0x" + "ab" * 32,
        "datanets": [
            {"datanet": "alpha", "version": 1, "weight_ppm": 600_000},
            {"datanet": "beta", "version": 1, "weight_ppm": 400_000},
        ],
    }
    mutate(data)
    with pytest.raises(ValidationError) as exc:
        run_from_dict(data, name_hasher=lambda n: entity_id(OWNER, n))
    assert exc.value.field == field, str(exc.value)
    assert str(exc.value).startswith(field)


def test_same_run_same_bytes_regardless_of_key_order() -> None:
    a = make_run(hyperparameters={"lr": 0.001, "batch": 32, "opt": {"b1": 0.9, "b2": 0.99}})
    b = make_run(hyperparameters={"opt": {"b2": 0.99, "b1": 0.9}, "batch": 32, "lr": 0.001})
    assert encode_run(a) == encode_run(b)
    assert record_id(a) == record_id(b) == keccak(encode_run(a))


def test_any_field_changes_the_id() -> None:
    base = make_run()
    assert record_id(base) != record_id(make_run(version="1.1"))
    assert record_id(base) != record_id(make_run(code=CodeRef(repo="r", commit="c")))
    assert record_id(base) != record_id(make_run(started_at=1))


def test_decode_rejects_non_canonical_details() -> None:
    run = make_run()
    enc = bytearray(encode_run(run))
    pos = enc.find(b'"preprocessing"')
    enc[pos : pos + 1] = b" "  # break JSON canonical form without changing length
    with pytest.raises(ValidationError):
        decode_run(bytes(enc))


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53) + 1, 2**53 - 1),
    st.floats(min_value=-1e15, max_value=1e15),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3), max_leaves=8
)
integral_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=12),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
    max_leaves=6,
)


@st.composite
def runs(draw) -> TrainingRun:
    n = draw(st.integers(1, 4))
    cuts = sorted(draw(st.lists(st.integers(1, 999_999), min_size=n - 1, max_size=n - 1, unique=True)))
    bounds = [0, *cuts, 1_000_000]
    ids = draw(st.lists(st.binary(min_size=32, max_size=32), min_size=n, max_size=n, unique=True))
    uses = tuple(
        DatanetUse(
            datanet_id=ids[i],
            version=draw(st.integers(1, 2**64 - 1)),
            weight_ppm=bounds[i + 1] - bounds[i],
            partition=draw(
                st.builds(
                    Partition,
                    split=st.text(max_size=8),
                    selector=st.text(max_size=8),
                    fraction_ppm=st.integers(1, 1_000_000),
                    seed=st.integers(0, 2**53 - 1),
                )
            ),
        )
        for i in range(n)
    )
    started = draw(st.none() | st.integers(0, 2**40))
    parents = tuple(draw(st.lists(st.binary(min_size=32, max_size=32), max_size=3, unique=True)))
    relations = tuple(draw(st.sampled_from(RELATIONS)) for _ in parents)
    return TrainingRun(
        model_id=draw(st.binary(min_size=32, max_size=32)),
        model_version=draw(st.text(min_size=1, max_size=20).filter(lambda s: len(s.encode()) <= 64)),
        weights_digest=draw(st.binary(min_size=32, max_size=32)),
        parents=parents,
        relations=relations,
        datanets=uses,
        preprocessing=tuple(
            draw(
                st.lists(
                    st.builds(
                        PreprocessingStep,
                        op=st.text(min_size=1, max_size=8),
                        params=st.dictionaries(st.text(max_size=6), json_values, max_size=3),
                    ),
                    max_size=3,
                )
            )
        ),
        code=draw(
            st.none()
            | st.builds(
                CodeRef,
                repo=st.text(min_size=1, max_size=10),
                commit=st.text(min_size=1, max_size=10),
                dirty=st.none() | st.booleans(),
                diff_sha256=st.none() | st.text("0123456789abcdef", min_size=64, max_size=64),
            )
        ),
        hyperparameters=draw(st.dictionaries(st.text(max_size=6), json_values, max_size=4)),
        environment=draw(st.dictionaries(st.text(max_size=6), integral_json, max_size=3)),
        started_at=started,
        ended_at=None if started is None else started + draw(st.integers(0, 10**6)),
    )


@settings(max_examples=300, deadline=None)
@given(runs())
def test_decode_encode_roundtrip(run: TrainingRun) -> None:
    enc = encode_run(run)
    again = decode_run(enc)
    assert encode_run(again) == enc
    assert again == run or encode_run(again) == enc  # floats like -0.0 canonicalise to 0


any_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300)
    | st.text(max_size=6),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
    max_leaves=10,
)


@settings(max_examples=1000, deadline=None)
@given(any_json)
def test_fast_canonical_json_check_agrees_with_rfc8785(value) -> None:
    import rfc8785

    from provenance_ledger.core.canonical import is_canonical_json

    try:
        canon = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        return
    assert is_canonical_json(value, canon)
    assert not is_canonical_json(value, canon + b" ")


@given(st.binary(max_size=300))
def test_fast_keccak_backend_is_keccak256(data: bytes) -> None:
    from eth_utils import keccak as reference

    from provenance_ledger.core.hashing import keccak as fast

    assert fast(data) == reference(data)


@given(st.binary(min_size=32, max_size=32), st.text(max_size=80))
def test_model_version_key_matches_abi_encoding(model_id: bytes, version: str) -> None:
    from eth_abi import encode

    from provenance_ledger.core.canonical import model_version_key

    assert model_version_key(model_id, version) == keccak(encode(["bytes32", "string"], [model_id, version]))
