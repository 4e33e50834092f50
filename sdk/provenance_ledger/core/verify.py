"""Checks on records read back, shared by the chain client and the local index. Pure: no I/O, no web3.

A record read back, from registry logs or from an index row, is trusted only after
:func:`check_record` (or :func:`check_record_fields`, which stops before decoding the details JSON):
its bytes re-hash to its id, decode as the canonical encoding, and agree with the columns it was
filed under (the event topics, or the index's columns). An anchored record's inclusion proof is
taken from its batch's Merkle levels and checked against the batch root by :func:`prove_in_batch`.
Every failure raises :class:`~provenance_ledger.errors.VerificationError` naming the record.

What the root itself is worth (stored by ``anchorRuns`` on chain, or rebuilt from the logs when
the index was synced) is the caller's to establish.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from provenance_ledger.core.canonical import decode_run, model_version_key, parse_record
from provenance_ledger.core.hashing import keccak
from provenance_ledger.core.hexutil import hexstr
from provenance_ledger.core.merkle import leaf_hash, proof_from_levels, verify_proof_of_id
from provenance_ledger.core.records import TrainingRun
from provenance_ledger.errors import ValidationError, VerificationError

__all__ = [
    "MalformedRecordError",
    "RecordFields",
    "Source",
    "check_record",
    "check_record_fields",
    "prove_in_batch",
]

Source = Literal["log", "index"]
"""Where the bytes were read: ``"log"`` (a RunRecorded event) or ``"index"`` (a local index row)."""

RecordFields = tuple[bytes, str, bytes, tuple[bytes, ...], tuple[tuple[bytes, int, int], ...], bytes]
"""What :func:`~provenance_ledger.core.canonical.parse_record` returns: (model id, version, weights
digest, parents, DataNet uses as (id, version, weight), details JSON bytes)."""


class MalformedRecordError(VerificationError):
    """The bytes hash to the record id (so the record is authentically the one logged) but do not
    decode as a valid record: someone's hostile or broken record, not an integrity failure."""

    def __init__(self, record_id: bytes, reason: str) -> None:
        super().__init__(f"record {hexstr(record_id)}: {reason}")
        self.record_id = record_id
        self.reason = reason


def _check_hash(record_id: bytes, record_bytes: bytes, source: Source, block: int | None) -> None:
    if keccak(record_bytes) == record_id:
        return
    if source == "index":
        why = "indexed bytes do not hash to its id (the index was altered; rebuild it)"
    else:
        why = "logged bytes do not hash to its id"
    if block is not None:
        why += f" (block {block})"
    raise VerificationError(f"record {hexstr(record_id)}: {why}")


def _check_columns(
    record_id: bytes,
    got_model_id: bytes,
    got_version: str,
    *,
    model_id: bytes | None,
    version_key: bytes | None,
    model_version: str | None,
    source: Source,
) -> None:
    if (
        (model_id is not None and got_model_id != model_id)
        or (model_version is not None and got_version != model_version)
        or (version_key is not None and model_version_key(got_model_id, got_version) != version_key)
    ):
        what = "indexed model/version" if source == "index" else "event topics"
        raise VerificationError(f"record {hexstr(record_id)}: {what} disagree with the record")


def check_record(
    record_id: bytes,
    record_bytes: bytes,
    *,
    model_id: bytes | None = None,
    version_key: bytes | None = None,
    model_version: str | None = None,
    source: Source = "log",
    block: int | None = None,
) -> TrainingRun:
    """The run of ``record_bytes`` after checking that they hash to ``record_id``, decode as a
    canonical record, and agree with each given column (model id, model version key, model
    version). ``source`` words the messages; ``block`` (where the log was read) is named in a hash
    mismatch. Raises VerificationError."""
    rid, record = bytes(record_id), bytes(record_bytes)
    _check_hash(rid, record, source, block)
    try:
        run = decode_run(record)
    except ValidationError as exc:
        raise MalformedRecordError(rid, str(exc)) from None
    _check_columns(
        rid,
        run.model_id,
        run.model_version,
        model_id=model_id,
        version_key=version_key,
        model_version=model_version,
        source=source,
    )
    return run


def check_record_fields(
    record_id: bytes,
    record_bytes: bytes,
    *,
    model_id: bytes | None = None,
    version_key: bytes | None = None,
    model_version: str | None = None,
    source: Source = "log",
    block: int | None = None,
) -> RecordFields:
    """As :func:`check_record`, but returns the parsed fields without decoding the details JSON
    (a bulk reader's fast path: the ABI layout is still checked to be exactly canonical)."""
    rid, record = bytes(record_id), bytes(record_bytes)
    _check_hash(rid, record, source, block)
    try:
        fields = parse_record(record)
    except ValidationError as exc:
        raise MalformedRecordError(rid, str(exc)) from None
    _check_columns(
        rid,
        fields[0],
        fields[1],
        model_id=model_id,
        version_key=version_key,
        model_version=model_version,
        source=source,
    )
    return fields


def prove_in_batch(levels: Sequence[Sequence[bytes]], root: bytes, record_id: bytes) -> tuple[bytes, ...]:
    """The inclusion proof of ``record_id`` in the anchored batch whose Merkle ``levels`` (leaves
    first, as :func:`~provenance_ledger.core.merkle.merkle_levels_of_ids` builds them) are given,
    checked against ``root``: levels that do not lead to ``root`` yield no proof. Raises
    VerificationError when the record is not a leaf of the batch or its proof does not reach ``root``."""
    rid = bytes(record_id)
    try:
        index = levels[0].index(leaf_hash(rid))
    except ValueError:
        raise VerificationError(f"record {hexstr(rid)}: not in its anchored batch {hexstr(root)}") from None
    proof = tuple(proof_from_levels(levels, index))
    if not verify_proof_of_id(root, rid, proof):
        raise VerificationError(f"record {hexstr(rid)}: proof does not reach its anchored root")
    return proof
