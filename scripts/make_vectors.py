#!/usr/bin/env python3
"""Write tests/vectors/records.json: records -> canonical bytes -> record id and version key.

Read by pytest (tests/test_vectors.py) and by forge (test/forge/Vectors.t.sol), so that Python and
Solidity are held to the same bytes. Deterministic: rerunning it must not change the file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from provenance_ledger.core.canonical import encode_run, model_version_key, name_id, record_id
from provenance_ledger.core.hashing import keccak
from provenance_ledger.core.records import CodeRef, DatanetUse, Partition, PreprocessingStep, TrainingRun

OUT = Path(__file__).resolve().parent.parent / "tests" / "vectors" / "records.json"


def vectors() -> list[tuple[str, TrainingRun]]:
    base = TrainingRun(
        model_id=name_id("acme-base"),
        model_version="1.0",
        weights_digest=keccak(b"w"),
        datanets=(DatanetUse(datanet_id=name_id("openwiki-en"), version=2, weight_ppm=1_000_000),),
    )
    full = TrainingRun(
        model_id=name_id("acme-support"),
        model_version="1.1-rc.2+ünïcode",
        weights_digest=keccak(b"w2"),
        parents=(record_id(base), keccak(b"another parent")),
        datanets=(
            DatanetUse(
                datanet_id=name_id("support-tickets"),
                version=2,
                weight_ppm=800_000,
                partition=Partition(split="train", selector="tickets/*.jsonl", fraction_ppm=800_000, seed=7),
            ),
            DatanetUse(datanet_id=name_id("openwiki-en"), version=1, weight_ppm=200_000),
        ),
        preprocessing=(
            PreprocessingStep(op="dedupe", params={"method": "minhash", "threshold": 0.85, "num_perm": 128}),
            PreprocessingStep(op="length_filter", params={"min_chars": 200, "max_chars": 20_000}),
        ),
        code=CodeRef(repo="github.com/acme/train", commit="9d0e7c1"),
        hyperparameters={"lr": 5e-05, "epochs": 2, "schedule": {"warmup": 0.03, "kind": "cosine"}},
        environment={"torch": "2.13.0", "gpus": "1xH100"},
        started_at=1_764_172_800,
        ended_at=1_764_180_000,
    )
    long_version = TrainingRun(
        model_id=keccak(b"raw id"),
        model_version="v" * 64,
        weights_digest=bytes(32),
        datanets=tuple(
            DatanetUse(datanet_id=keccak(bytes([i])), version=2**64 - 1 - i, weight_ppm=250_000) for i in range(4)
        ),
    )
    return [("minimal", base), ("fine-tune with everything", full), ("edge values", long_version)]


def render() -> str:
    out = []
    for name, run in vectors():
        out.append(
            {
                "name": name,
                "canonical": "0x" + encode_run(run).hex(),
                "record_id": "0x" + record_id(run).hex(),
                "model_id": "0x" + run.model_id.hex(),
                "model_version": run.model_version,
                "model_version_key": "0x" + model_version_key(run.model_id, run.model_version).hex(),
                "details": run.details(),
            }
        )
    return json.dumps(out, indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
    sys.exit(0)
