"""core/verify: the one check of records read back (used by the chain client and the index)."""

from __future__ import annotations

import pytest

from provenance_ledger.core.canonical import encode_run, model_version_key, record_id
from provenance_ledger.core.hashing import keccak
from provenance_ledger.core.merkle import merkle_levels_of_ids
from provenance_ledger.core.verify import check_record, check_record_fields, prove_in_batch
from provenance_ledger.errors import VerificationError
from tests.conftest import make_run


def test_check_record_returns_the_run_and_checks_each_given_column() -> None:
    run = make_run()
    rid, data = record_id(run), encode_run(run)
    key = model_version_key(run.model_id, run.model_version)
    assert check_record(rid, data, model_id=run.model_id, version_key=key, model_version="1.0") == run
    assert check_record_fields(rid, data, model_id=run.model_id, version_key=key)[:2] == (run.model_id, "1.0")
    with pytest.raises(VerificationError, match="event topics disagree with the record"):
        check_record(rid, data, version_key=b"\0" * 32)
    with pytest.raises(VerificationError, match="indexed model/version disagree with the record"):
        check_record(rid, data, model_version="9.9", source="index")
    with pytest.raises(VerificationError, match="logged bytes do not hash to its id"):
        check_record(b"\1" * 32, data)
    with pytest.raises(VerificationError, match=r"do not hash to its id \(block 7\)"):
        check_record_fields(b"\1" * 32, data, block=7)
    with pytest.raises(VerificationError, match=r"indexed bytes do not hash to its id \(the index was altered"):
        check_record(b"\1" * 32, data, source="index")
    broken = data[:-1] + b"\1"  # nonzero padding after the details JSON
    with pytest.raises(VerificationError, match="not a canonical ABI-encoded TrainingRun"):
        check_record(keccak(broken), broken)


def test_prove_in_batch_proves_members_and_rejects_the_rest() -> None:
    ids = [bytes([i]) * 32 for i in range(1, 6)]
    levels = merkle_levels_of_ids(ids)
    root = levels[-1][0]
    for rid in ids:
        assert prove_in_batch(levels, root, rid)
    with pytest.raises(VerificationError, match="not in its anchored batch"):
        prove_in_batch(levels, root, bytes([9]) * 32)
    with pytest.raises(VerificationError, match="proof does not reach its anchored root"):
        prove_in_batch(levels, b"\0" * 32, ids[0])
