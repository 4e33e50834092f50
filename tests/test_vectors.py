"""Shared vectors (tests/vectors/*.json, also read by forge): Python and Solidity agree on bytes, on
what is canonical, and on ids; a property test holds the Python record id to the contract's
``computeRecordId`` over random v2 records."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pytest
from eth_abi import encode as abi_encode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provenance_ledger.chain.client import Registry
from provenance_ledger.core.canonical import decode_run, encode_run, entity_id, model_version_key, parse_record
from provenance_ledger.core.hashing import keccak
from provenance_ledger.core.records import TrainingRun
from provenance_ledger.errors import ValidationError
from tests.test_records import runs

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors" / "records.json"
NEGATIVE = ROOT / "tests" / "vectors" / "noncanonical.json"
FORGE = ROOT / "test" / "forge" / "Vectors.t.sol"


def load(path: Path = VECTORS) -> list[dict[str, object]]:
    return json.loads(path.read_text(encoding="utf-8"))


def _generator():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT / "scripts"))
    import make_vectors

    return make_vectors


def test_vectors_files_are_what_the_generator_writes() -> None:
    gen = _generator()
    assert VECTORS.read_text(encoding="utf-8") == gen.render(), "run python scripts/make_vectors.py"
    assert NEGATIVE.read_text(encoding="utf-8") == gen.render_negative(), "run python scripts/make_vectors.py"


def test_forge_reads_every_vector() -> None:
    """Vectors.t.sol loops over constant counts: they must be the files' lengths."""
    text = FORGE.read_text()
    count = int(re.search(r"COUNT = (\d+);", text).group(1))  # type: ignore[union-attr]
    negative = int(re.search(r"NEGATIVE_COUNT = (\d+);", text).group(1))  # type: ignore[union-attr]
    assert (count, negative) == (len(load()), len(load(NEGATIVE)))
    assert len(load(NEGATIVE)) >= 13  # the control and at least twelve rejection paths


def test_vectors_decode_reencode_and_hash(registry: Registry) -> None:
    for v in load():
        canonical = bytes.fromhex(str(v["canonical"])[2:])
        run = decode_run(canonical)
        assert encode_run(run) == canonical, v["name"]
        assert "0x" + keccak(canonical).hex() == v["record_id"], v["name"]
        assert "0x" + model_version_key(run.model_id, run.model_version).hex() == v["model_version_key"]
        assert run.details() == v["details"]
        assert "0x" + registry.compute_record_id(run).hex() == v["record_id"], v["name"]
        if v["owner"] is not None:
            owner, name = str(v["owner"]), str(v["model_name"])
            assert entity_id(owner, name) == run.model_id == registry.compute_entity_id(owner, name)


def test_owner_scoped_ids_differ_per_owner() -> None:
    by_name = [v for v in load() if v["model_name"] == "acme-base"]
    assert len(by_name) == 2 and by_name[0]["owner"] != by_name[1]["owner"]
    assert by_name[0]["model_id"] != by_name[1]["model_id"]


@pytest.mark.parametrize("vector", load(NEGATIVE), ids=lambda v: str(v["name"]))
def test_parse_record_refuses_every_non_canonical_encoding(vector: dict[str, object]) -> None:
    record = bytes.fromhex(str(vector["record"])[2:])
    if vector["name"] == "control":
        parse_record(record)
        decode_run(record)
        return
    with pytest.raises(ValidationError, match="not a canonical ABI-encoded TrainingRun"):
        parse_record(record)


def test_the_contract_refuses_every_non_canonical_encoding(registry: Registry) -> None:
    """The forge test's check, through the SDK's revert decoding (eth_call with the raw calldata)."""
    from provenance_ledger.chain.rpc import explain
    from provenance_ledger.errors import ContractRevertError

    for v in load(NEGATIVE):
        try:
            registry.w3.eth.call({"to": registry.address, "data": str(v["calldata"])})  # type: ignore[typeddict-item]
        except Exception as exc:
            err = explain(exc)
        else:
            pytest.fail(f"{v['name']}: accepted")
        assert isinstance(err, ContractRevertError), v["name"]
        want = "UnknownModel" if v["name"] == "control" else "NonCanonicalEncoding"  # 0xA11CE registered nothing
        assert err.name == want, v["name"]


# ------------------------------------------------------------------------- Python id == Solidity id

owners = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
names = st.text(min_size=1, max_size=40).filter(lambda s: len(s.encode()) <= 128)


@st.composite
def owned_runs(draw) -> TrainingRun:  # type: ignore[no-untyped-def]
    """A random v2 record (relations, code dirty/diff, partitions...) of a random owner's model."""
    run: TrainingRun = draw(runs())
    owner, name = draw(owners), draw(names)
    return TrainingRun(**{**run.__dict__, "model_id": entity_id(owner, name)})


_budget: dict[str, float] = {}


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(run=owned_runs(), owner=owners, name=names)
def test_property_python_record_id_equals_solidity_over_500_records(
    registry: Registry, run: TrainingRun, owner: str, name: str
) -> None:
    start = _budget.setdefault("start", time.monotonic())
    assert registry.compute_record_id(run) == keccak(encode_run(run))
    assert (
        registry.compute_entity_id(owner, name)
        == entity_id(owner, name)
        == keccak(abi_encode(["address", "string"], [owner, name]))
    )
    assert time.monotonic() - start < 120, "500 examples should take well under a minute"
