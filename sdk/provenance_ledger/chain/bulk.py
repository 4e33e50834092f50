"""Bulk submission for high-volume producers (sweeps, checkpoints, continuous retraining).

Records are encoded once (their canonical bytes), packed into batches that stay under the mempool's
128 KB transaction limit and the 16,777,216 per-transaction gas cap (EIP-7825), and sent pipelined:
nonces are managed locally and receipts are awaited once at the end, never per transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eth_abi.abi import encode as abi_encode

from provenance_ledger.chain.client import Registry
from provenance_ledger.chain.rpc import Receipt, quantity
from provenance_ledger.errors import ChainError, ValidationError

__all__ = [
    "MAX_TX_BYTES",
    "MAX_TX_GAS",
    "Batch",
    "BulkSender",
    "Progress",
    "batch_calldata",
    "calldata_gas",
    "plan_batches",
    "record_gas",
]

MAX_TX_BYTES = 120_000
"""Calldata budget per transaction: under the 128 KB mempool limit, with room for the envelope."""
MAX_TX_GAS = 15_000_000
"""Gas budget per transaction: under the 16,777,216 cap of EIP-7825."""

Progress = Callable[[int, int], None]


def calldata_gas(data: bytes) -> int:
    zeros = data.count(0)
    return 4 * zeros + 16 * (len(data) - zeros)


def record_gas(encoded: bytes, *, uses: int, parents: int, anchored: bool) -> int:
    """A conservative gas estimate for one record inside a batch (calldata, logs, checks, slot)."""
    floor = 10 * (encoded.count(0) + 4 * (len(encoded) - encoded.count(0)))  # EIP-7623 floor
    work = (
        calldata_gas(encoded)
        + 2_000
        + 8 * len(encoded)  # RunRecorded
        + 14 * len(encoded)  # canonical re-encoding and copying
        + 2_600 * uses  # DatanetUsed + version check
        + 2_100 * parents  # ParentUsed + parent check (transient)
        + 6_000  # authorisation, duplicate check, hashing
        + (2_300 if anchored else 22_100)  # transient mark + leaf hashing, or a storage slot
    )
    return max(floor, work)


def batch_calldata(selector: bytes, encoded: Sequence[bytes]) -> bytes:
    """Calldata of ``f(TrainingRun[])`` assembled from canonical record bytes (no re-encoding).

    Each record's canonical bytes are ``abi.encode(run)`` = a 0x20 offset word + the tuple; an array
    of dynamic tuples is its length, one offset per element, then the tuples.
    """
    tuples = [bytes(e[32:]) for e in encoded]
    offsets = []
    pos = 32 * len(tuples)
    for t in tuples:
        offsets.append(pos)
        pos += len(t)
    head = abi_encode(["uint256", "uint256"], [32, len(tuples)]) + b"".join(o.to_bytes(32, "big") for o in offsets)
    return selector + head + b"".join(tuples)


@dataclass(frozen=True, kw_only=True)
class Batch:
    start: int
    stop: int
    calldata: bytes
    gas: int


def plan_batches(
    encoded: Sequence[bytes],
    shapes: Sequence[tuple[int, int]],
    *,
    selector: bytes,
    anchored: bool,
    max_bytes: int = MAX_TX_BYTES,
    max_gas: int = MAX_TX_GAS,
    max_records: int | None = None,
) -> list[Batch]:
    """Cut records into batches under the byte and gas budgets. ``shapes[i]`` = (uses, parents).

    A record's parents must be recorded earlier, or sit earlier in the same anchored batch; the
    caller orders records so (e.g. a fine-tune chain kept together).
    """
    if len(encoded) != len(shapes):
        raise ValidationError("shapes", "must have one (uses, parents) pair per record")
    batches: list[Batch] = []
    start, size, gas = 0, 4 + 64, 60_000
    for i, (enc, (uses, parents)) in enumerate(zip(encoded, shapes, strict=True)):
        rec_bytes = len(enc) - 32 + 32
        rec_gas = record_gas(enc, uses=uses, parents=parents, anchored=anchored)
        if rec_bytes + 68 > max_bytes or rec_gas + 60_000 > max_gas:
            raise ValidationError(f"records[{i}]", "is too large for one transaction")
        full = i > start and (
            size + rec_bytes > max_bytes
            or gas + rec_gas > max_gas
            or (max_records is not None and i - start >= max_records)
        )
        if full:
            batches.append(Batch(start=start, stop=i, calldata=batch_calldata(selector, encoded[start:i]), gas=gas))
            start, size, gas = i, 4 + 64, 60_000
        size += rec_bytes
        gas += rec_gas
    if start < len(encoded):
        batches.append(
            Batch(start=start, stop=len(encoded), calldata=batch_calldata(selector, encoded[start:]), gas=gas)
        )
    return batches


class BulkSender:
    """Sends planned batches back to back with local nonces; waits for all receipts at the end."""

    def __init__(self, registry: Registry) -> None:
        if registry.signer is None:
            raise ValidationError("key", "bulk submission needs a signing account")
        self.registry = registry
        self.signer = registry.signer
        self.pending: list[tuple[Batch, str]] = []

    def send(self, batch: Batch) -> str:
        tx = self.signer.send(self.registry.address, batch.calldata, batch.gas)
        self.pending.append((batch, tx))
        return tx

    def wait_all(self, *, progress: Progress | None = None, timeout: float = 600.0) -> list[Receipt]:
        """Receipts of every pending batch, read raw (web3's per-log formatting of a receipt with
        hundreds of logs costs more than the whole send)."""
        receipts = []
        total = len(self.pending)
        deadline = time.monotonic() + timeout
        provider = self.registry.w3.provider
        for k, (batch, tx) in enumerate(self.pending):
            while True:
                raw = provider.make_request("eth_getTransactionReceipt", [tx]).get("result")  # type: ignore[arg-type]
                if raw:
                    break
                if time.monotonic() > deadline:
                    raise ChainError(
                        f"batch of records {batch.start}..{batch.stop - 1}: {tx} not mined within {timeout:.0f} s"
                    )
                time.sleep(0.01)
            if quantity(raw["status"]) != 1:
                raise ChainError(f"batch of records {batch.start}..{batch.stop - 1}: transaction {tx} reverted")
            block = raw.get("blockNumber", raw.get("block_number"))  # the in-process tester says block_number
            gas = raw.get("gasUsed", raw.get("gas_used"))
            receipts.append(Receipt(tx, quantity(block), quantity(gas), ()))
            if progress is not None:
                progress(k + 1, total)
        self.pending.clear()
        return receipts
