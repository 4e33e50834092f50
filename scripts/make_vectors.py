#!/usr/bin/env python3
"""Write the shared test vectors (v2), read by pytest and by forge so that Python and Solidity are held
to the same bytes. Deterministic: rerunning it must not change the files.

- tests/vectors/records.json: records -> canonical bytes -> record id and model version key, with
  owner-scoped entity ids (keccak256(abi.encode(owner, name))) for the model and DataNets
  (tests/test_vectors.py, test/forge/Vectors.t.sol).
- tests/vectors/noncanonical.json: one valid record altered in each way the registry must refuse
  (wrong head offsets, nonzero padding, out-of-range uint64/uint32, truncated data, absurd lengths).
  Each has the altered record bytes (``0x20`` + the run's tuple), which
  ``core.canonical.parse_record`` must reject, and the raw calldata of ``recordRun(run, [])`` around
  them, which the contract must reject with NonCanonicalEncoding (the run is the tail of the calldata,
  the empty proof array before it, so that truncation is truncation of the run). The first entry,
  ``control``, is the unaltered record: parse_record accepts it and the contract gets past the
  encoding check (it reverts UnknownModel on a registry where nothing is registered).

    python scripts/make_vectors.py           # (re)write both files
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from provenance_ledger.core.canonical import encode_run, entity_id, model_version_key, record_id
from provenance_ledger.core.hashing import keccak
from provenance_ledger.core.records import CodeRef, DatanetUse, Partition, PreprocessingStep, TrainingRun

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "vectors" / "records.json"
NEGATIVE_OUT = ROOT / "tests" / "vectors" / "noncanonical.json"

OWNER = "0x00000000000000000000000000000000000A11CE"
"""The registering account of every named entity in the vectors."""
OTHER = "0x0000000000000000000000000000000000000B0B"
"""A second account registering the same names: it gets different ids."""
RECORD_RUN_SELECTOR = keccak(
    b"recordRun((bytes32,string,bytes32,bytes32[],(bytes32,uint64,uint32)[],bytes),(bytes32,bytes32,bytes32[])[])"
)[:4]


def vectors() -> list[tuple[str, str, TrainingRun]]:
    """(vector name, model name, run)."""
    base = TrainingRun(
        model_id=entity_id(OWNER, "acme-base"),
        model_version="1.0",
        weights_digest=keccak(b"w"),
        datanets=(DatanetUse(datanet_id=entity_id(OWNER, "openwiki-en"), version=2, weight_ppm=1_000_000),),
    )
    full = TrainingRun(
        model_id=entity_id(OWNER, "acme-support"),
        model_version="1.1-rc.2+ünïcode",
        weights_digest=keccak(b"w2"),
        parents=(record_id(base), keccak(b"another parent")),
        relations=("fine-tune", "adapter"),
        datanets=(
            DatanetUse(
                datanet_id=entity_id(OWNER, "support-tickets"),
                version=2,
                weight_ppm=800_000,
                partition=Partition(split="train", selector="tickets/*.jsonl", fraction_ppm=800_000, seed=7),
            ),
            DatanetUse(datanet_id=entity_id(OWNER, "openwiki-en"), version=1, weight_ppm=200_000),
        ),
        preprocessing=(
            PreprocessingStep(op="dedupe", params={"method": "minhash", "threshold": 0.85, "num_perm": 128}),
            PreprocessingStep(op="length_filter", params={"min_chars": 200, "max_chars": 20_000}),
        ),
        code=CodeRef(repo="github.com/acme/train", commit="9d0e7c1", dirty=True, diff_sha256="ab" * 32),
        hyperparameters={"lr": 5e-05, "epochs": 2, "schedule": {"warmup": 0.03, "kind": "cosine"}},
        environment={"torch": "2.13.0", "gpus": "1xH100"},
        started_at=1_764_172_800,
        ended_at=1_764_180_000,
    )
    merge = TrainingRun(
        model_id=entity_id(OTHER, "acme-base"),  # the same name under another owner: another model
        model_version="2.0",
        weights_digest=keccak(b"w3"),
        parents=(record_id(base), record_id(full)),
        relations=("merge", "merge"),
        datanets=(DatanetUse(datanet_id=entity_id(OTHER, "openwiki-en"), version=1, weight_ppm=1_000_000),),
    )
    long_version = TrainingRun(
        model_id=keccak(b"raw id"),
        model_version="v" * 64,
        weights_digest=bytes(32),
        datanets=tuple(
            DatanetUse(datanet_id=keccak(bytes([i])), version=2**64 - 1 - i, weight_ppm=250_000) for i in range(4)
        ),
    )
    return [
        ("minimal", "acme-base", base),
        ("fine-tune with everything", "acme-support", full),
        ("merge under another owner", "acme-base", merge),
        ("edge values", "", long_version),
    ]


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def render() -> str:
    out = []
    for name, model_name, run in vectors():
        owner = OTHER if name.startswith("merge") else OWNER
        out.append(
            {
                "name": name,
                "owner": owner if model_name else None,
                "model_name": model_name or None,
                "canonical": _hex(encode_run(run)),
                "record_id": _hex(record_id(run)),
                "model_id": _hex(run.model_id),
                "model_version": run.model_version,
                "model_version_key": _hex(model_version_key(run.model_id, run.model_version)),
                "details": run.details(),
            }
        )
    return json.dumps(out, indent=1, ensure_ascii=False) + "\n"


# ------------------------------------------------------------------------------- negative vectors


def _word(n: int) -> bytes:
    return n.to_bytes(32, "big")


def _read(b: bytearray, at: int) -> int:
    return int.from_bytes(b[at : at + 32], "big")


def _negative_base() -> TrainingRun:
    """A valid run whose version string and details are not multiples of 32 bytes long (so both have
    padding), with a parent and two DataNet uses (so every part of the layout is present)."""
    return TrainingRun(
        model_id=entity_id(OWNER, "acme-base"),
        model_version="1.0.0",
        weights_digest=keccak(b"weights"),
        parents=(keccak(b"parent"),),
        datanets=(
            DatanetUse(datanet_id=entity_id(OWNER, "alpha"), version=3, weight_ppm=600_000),
            DatanetUse(datanet_id=entity_id(OWNER, "beta"), version=1, weight_ppm=400_000),
        ),
        hyperparameters={"lr": 0.001},
    )


def _layout(t: bytearray) -> dict[str, int]:
    """Offsets (within the run's tuple) of the canonical layout of ``t``."""
    vlen = _read(t, 0xC0)
    off_parents = _read(t, 0x60)
    n_parents = _read(t, off_parents)
    off_uses = _read(t, 0x80)
    n_uses = _read(t, off_uses)
    off_details = _read(t, 0xA0)
    return {
        "vlen": vlen,
        "parents": off_parents,
        "n_parents": n_parents,
        "uses": off_uses,
        "n_uses": n_uses,
        "details": off_details,
        "dlen": _read(t, off_details),
    }


def _set(t: bytearray, at: int, value: int) -> None:
    t[at : at + 32] = _word(value)


Mutation = Callable[[bytearray, dict[str, int]], bytearray]


def _mutations() -> list[tuple[str, str, Mutation]]:
    """(name, what is wrong, mutation of the run's tuple bytes)."""

    def at(offset_of: Callable[[dict[str, int]], int], value: Callable[[bytearray, dict[str, int]], int]) -> Mutation:
        def mutate(t: bytearray, lay: dict[str, int]) -> bytearray:
            _set(t, offset_of(lay), value(t, lay))
            return t

        return mutate

    def poke(offset_of: Callable[[dict[str, int]], int]) -> Mutation:
        def mutate(t: bytearray, lay: dict[str, int]) -> bytearray:
            t[offset_of(lay)] = 0x01
            return t

        return mutate

    def truncate(t: bytearray, lay: dict[str, int]) -> bytearray:
        return t[:-32]

    return [
        ("version offset", "head word of modelVersion is 0xe0, not 0xc0", at(lambda lay: 0x20, lambda t, lay: 0xE0)),
        (
            "parents offset",
            "head word of parents 32 bytes past its canonical place",
            at(lambda lay: 0x60, lambda t, lay: lay["parents"] + 32),
        ),
        (
            "datanets offset",
            "head word of datanets 32 bytes before its canonical place",
            at(lambda lay: 0x80, lambda t, lay: lay["uses"] - 32),
        ),
        (
            "details offset",
            "head word of details 32 bytes past its canonical place",
            at(lambda lay: 0xA0, lambda t, lay: lay["details"] + 32),
        ),
        (
            "version padding",
            "a nonzero byte in the padding after the version string",
            poke(lambda lay: 0xE0 + lay["vlen"]),
        ),
        (
            "details padding",
            "a nonzero byte in the padding after the details JSON",
            poke(lambda lay: lay["details"] + 32 + lay["dlen"]),
        ),
        (
            "uint64 out of range",
            "a DataNet version of 2**64 in its uint64 slot",
            at(lambda lay: lay["uses"] + 32 + 32, lambda t, lay: 2**64),
        ),
        (
            "uint64 high bit",
            "a DataNet version with the top bit of its word set",
            at(lambda lay: lay["uses"] + 32 + 96 + 32, lambda t, lay: 2**255 | 1),
        ),
        (
            "uint32 out of range",
            "a weight of 2**32 in its uint32 slot",
            at(lambda lay: lay["uses"] + 32 + 64, lambda t, lay: 2**32),
        ),
        ("truncated", "the last word of the details is missing", truncate),
        (
            "version length absurd",
            "a version string length of 2**255",
            at(lambda lay: 0xC0, lambda t, lay: 2**255),
        ),
        (
            "parents count absurd",
            "a parents array length of 2**32",
            at(lambda lay: lay["parents"], lambda t, lay: 2**32),
        ),
        (
            "datanets count absurd",
            "a datanets array length of 2**40",
            at(lambda lay: lay["uses"], lambda t, lay: 2**40),
        ),
        (
            "details length absurd",
            "a details length of 2**64",
            at(lambda lay: lay["details"], lambda t, lay: 2**64),
        ),
    ]


def record_run_calldata(tuple_bytes: bytes) -> bytes:
    """``recordRun(run, [])`` calldata with the empty proof array first and the run last."""
    return RECORD_RUN_SELECTOR + _word(0x60) + _word(0x40) + _word(0) + tuple_bytes


def negative_vectors() -> list[dict[str, str]]:
    canonical = encode_run(_negative_base())
    tuple_bytes = bytearray(canonical[32:])
    lay = _layout(tuple_bytes)
    out = [
        {
            "name": "control",
            "problem": "none: the canonical encoding (reverts UnknownModel, past the encoding check)",
            "record": _hex(canonical),
            "calldata": _hex(record_run_calldata(bytes(tuple_bytes))),
        }
    ]
    for name, problem, mutate in _mutations():
        bad = bytes(mutate(bytearray(tuple_bytes), lay))
        out.append(
            {
                "name": name,
                "problem": problem,
                "record": _hex(_word(0x20) + bad),
                "calldata": _hex(record_run_calldata(bad)),
            }
        )
    return out


def render_negative() -> str:
    return json.dumps(negative_vectors(), indent=1) + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    NEGATIVE_OUT.write_text(render_negative(), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)} and {NEGATIVE_OUT.relative_to(ROOT)}")
    sys.exit(0)
