"""Bulk submission for high-volume producers (sweeps, checkpoints, continuous retraining).

Records are encoded once (their canonical bytes), packed into batches that stay under the mempool's
128 KB transaction limit and the 16,777,216 per-transaction gas cap (EIP-7825), and sent pipelined:
nonces are managed locally and receipts are awaited once at the end, never per transaction.

:meth:`BulkSender.submit` is the whole path: runs that already have a RunRecorded event are skipped
(reported as already recorded, never sent again), and every batch carries the AnchorProofs of the
parents it names that were anchored outside it (in an earlier transaction, or in an earlier batch of
the same submission: that proof is computed from the planned batch, whose root is stored before the
batch that needs it is executed, nonces being sequential).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from eth_abi.abi import encode as abi_encode

from provenance_ledger.chain.client import Registry
from provenance_ledger.chain.rpc import OutcomeUnknownError, Receipt, patience_of, quantity
from provenance_ledger.core.canonical import encode_run
from provenance_ledger.core.hashing import keccak
from provenance_ledger.core.merkle import AnchorProof, merkle_levels_of_ids, proof_from_levels
from provenance_ledger.core.records import MAX_BATCH_RUNS, TrainingRun
from provenance_ledger.errors import ChainError, ProvenanceError, ValidationError

__all__ = [
    "ANCHOR_PROOF_TYPE",
    "MAX_TX_BYTES",
    "MAX_TX_GAS",
    "PROOF_RESERVE_BYTES",
    "PROOF_RESERVE_GAS",
    "Batch",
    "BulkResult",
    "BulkSender",
    "Progress",
    "ProofsFor",
    "batch_calldata",
    "calldata_gas",
    "plan_batches",
    "proof_gas",
    "record_gas",
]

ANCHOR_PROOF_TYPE = "(bytes32,bytes32,bytes32[])[]"
PROOF_RESERVE_BYTES = 32 * 14
"""Calldata reserved per parent while cutting batches: an AnchorProof of depth <= 9 and its offset."""
PROOF_RESERVE_GAS = 9_000
"""Gas reserved per parent for its proof (calldata, a cold anchorBlock read, hashing, a transient mark)."""

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


def batch_calldata(selector: bytes, encoded: Sequence[bytes], proofs: Sequence[AnchorProof] = ()) -> bytes:
    """Calldata of ``f(TrainingRun[] runs, AnchorProof[] anchoredParents)`` assembled from canonical
    record bytes (no re-encoding of the runs).

    Each record's canonical bytes are ``abi.encode(run)`` = a 0x20 offset word + the tuple; an array
    of dynamic tuples is its length, one offset per element, then the tuples. The two arguments' head
    is their offsets; the proofs follow the runs.
    """
    tuples = [bytes(e[32:]) for e in encoded]
    offsets = []
    pos = 32 * len(tuples)
    for t in tuples:
        offsets.append(pos)
        pos += len(t)
    runs = len(tuples).to_bytes(32, "big") + b"".join(o.to_bytes(32, "big") for o in offsets) + b"".join(tuples)
    tail = abi_encode([ANCHOR_PROOF_TYPE], [[p.as_tuple() for p in proofs]])[32:]
    head = abi_encode(["uint256", "uint256"], [64, 64 + len(runs)])
    return selector + head + runs + tail


def proof_gas(proof: AnchorProof) -> int:
    """A conservative gas estimate for checking one AnchorProof on chain."""
    return 16 * 32 * (4 + len(proof.proof)) + 2_100 + 200 + 100 * len(proof.proof) + 1_000


@dataclass(frozen=True, kw_only=True)
class Batch:
    start: int
    stop: int
    calldata: bytes
    gas: int
    proofs: tuple[AnchorProof, ...] = ()


ProofsFor = Callable[[int, int], Sequence[AnchorProof]]
"""Given a batch's (start, stop) record indexes, the AnchorProofs it must carry; called once per
batch, in batch order."""


def plan_batches(
    encoded: Sequence[bytes],
    shapes: Sequence[tuple[int, int]],
    *,
    selector: bytes,
    anchored: bool,
    max_bytes: int = MAX_TX_BYTES,
    max_gas: int = MAX_TX_GAS,
    max_records: int | None = None,
    proofs_for: ProofsFor | None = None,
    proof_counts: Sequence[int] | None = None,
) -> list[Batch]:
    """Cut records into batches under the byte and gas budgets (and the registry's 256 runs per
    batch). ``shapes[i]`` = (uses, parents); ``proofs_for`` (if given) supplies each batch's
    AnchorProofs when it is closed, and room is reserved for ``proof_counts[i]`` proofs per record
    (default: none).

    A record's parents must be recorded earlier, or sit earlier in the same batch or in an earlier
    batch; the caller orders records so (e.g. a fine-tune chain kept together).
    """
    if len(encoded) != len(shapes):
        raise ValidationError("shapes", "must have one (uses, parents) pair per record")
    cap = MAX_BATCH_RUNS if max_records is None else min(max_records, MAX_BATCH_RUNS)
    batches: list[Batch] = []

    def close(start: int, stop: int, gas: int) -> None:
        proofs = tuple(proofs_for(start, stop)) if proofs_for is not None else ()
        gas += sum(proof_gas(p) for p in proofs)
        calldata = batch_calldata(selector, encoded[start:stop], proofs)
        batches.append(Batch(start=start, stop=stop, calldata=calldata, gas=gas, proofs=proofs))

    start, size, budget, gas = 0, 4 + 128, 60_000, 60_000  # budget: gas with room for the proofs
    for i, (enc, (uses, parents)) in enumerate(zip(encoded, shapes, strict=True)):
        reserve = proof_counts[i] if proof_counts is not None else 0
        rec_bytes = len(enc) + reserve * PROOF_RESERVE_BYTES
        work = record_gas(enc, uses=uses, parents=parents, anchored=anchored)
        rec_budget = work + reserve * PROOF_RESERVE_GAS
        if rec_bytes + 132 > max_bytes or rec_budget + 60_000 > max_gas:
            raise ValidationError(f"records[{i}]", "is too large for one transaction")
        full = i > start and (size + rec_bytes > max_bytes or budget + rec_budget > max_gas or i - start >= cap)
        if full:
            close(start, i, gas)
            start, size, budget, gas = i, 4 + 128, 60_000, 60_000
        size += rec_bytes
        budget += rec_budget
        gas += work
    if start < len(encoded):
        close(start, len(encoded), gas)
    return batches


@dataclass(frozen=True, kw_only=True)
class BulkResult:
    """What :meth:`BulkSender.submit` did."""

    record_ids: tuple[bytes, ...]
    """The id of each run given, in order."""
    sent: tuple[bytes, ...]
    """Ids sent (once each, in order)."""
    already_recorded: tuple[bytes, ...]
    """Ids skipped: they already had a RunRecorded event (never sent again)."""
    batches: tuple[Batch, ...]
    receipts: tuple[Receipt, ...]
    roots: tuple[bytes, ...] = field(default=())
    """Merkle root of each anchored batch (empty for individual batches)."""


class BulkSender:
    """Sends planned batches back to back with local nonces; waits for all receipts at the end."""

    def __init__(self, registry: Registry) -> None:
        if registry.signer is None:
            raise ValidationError("key", "bulk submission needs a signing account")
        self.registry = registry
        self.signer = registry.signer
        self.pending: list[tuple[Batch, str]] = []

    def submit(
        self,
        runs: Sequence[TrainingRun],
        *,
        anchored: bool = True,
        max_records: int | None = None,
        progress: Progress | None = None,
    ) -> BulkResult:
        """Record ``runs`` in pipelined batches (``anchorRuns`` or ``recordRuns``), skipping every run
        that already has a RunRecorded event and every repeat within ``runs``; each batch carries the
        AnchorProofs of its anchored parents outside it. Waits for every receipt."""
        reg = self.registry
        encoded_all = [encode_run(r) for r in runs]
        ids_all = [keccak(e) for e in encoded_all]
        logged = reg.logged_ids(ids_all)
        keep: dict[bytes, int] = {}
        for k, rid in enumerate(ids_all):
            if rid not in logged and rid not in keep:
                keep[rid] = k
        ids = list(keep)
        chosen = [runs[k] for k in keep.values()]
        encoded = [encoded_all[k] for k in keep.values()]
        position = {rid: n for n, rid in enumerate(ids)}
        external = [p for r in chosen for p in r.parents if p not in position]
        chain_proofs = {p.record_id: p for p in reg.anchor_proofs(external)} if external else {}
        batch_of: dict[bytes, tuple[int, int]] = {}
        levels_of: dict[tuple[int, int], list[list[bytes]]] = {}

        def proofs_for(start: int, stop: int) -> list[AnchorProof]:
            inside = set(ids[start:stop])
            out: dict[bytes, AnchorProof] = {}
            for r in chosen[start:stop]:
                for p in r.parents:
                    if p in inside or p in out:
                        continue
                    if p in position:  # in an earlier batch of this submission
                        if anchored:
                            span = batch_of[p]
                            levels = levels_of.get(span)
                            if levels is None:
                                levels = levels_of[span] = merkle_levels_of_ids(ids[span[0] : span[1]])
                            path = proof_from_levels(levels, position[p] - span[0])
                            out[p] = AnchorProof(record_id=p, root=levels[-1][0], proof=tuple(path))
                    elif p in chain_proofs:
                        out[p] = chain_proofs[p]
            for rid in ids[start:stop]:
                batch_of[rid] = (start, stop)
            return list(out.values())

        fn = reg.abi.functions["anchorRuns" if anchored else "recordRuns"]
        batches = plan_batches(
            encoded,
            [(len(r.datanets), len(r.parents)) for r in chosen],
            selector=fn.selector,
            anchored=anchored,
            max_records=max_records,
            proofs_for=proofs_for,
            # a parent outside the submission may need a proof; one inside it, when anchored in an earlier batch
            proof_counts=[sum(1 for p in r.parents if anchored or p not in position) for r in chosen],
        )
        for b in batches:
            self.send(b)
        receipts = self.wait_all(progress=progress)
        roots = tuple(levels_of.get((b.start, b.stop)) or merkle_levels_of_ids(ids[b.start : b.stop]) for b in batches)
        return BulkResult(
            record_ids=tuple(ids_all),
            sent=tuple(ids),
            already_recorded=tuple(dict.fromkeys(r for r in ids_all if r in logged)),
            batches=tuple(batches),
            receipts=tuple(receipts),
            roots=tuple(lv[-1][0] for lv in roots) if anchored else (),
        )

    def send(self, batch: Batch) -> str:
        tx = self.signer.send(self.registry.address, batch.calldata, batch.gas)
        self.pending.append((batch, tx))
        return tx

    def wait_all(self, *, progress: Progress | None = None, timeout: float | None = None) -> list[Receipt]:
        """Receipts of every pending batch, read raw (web3's per-log formatting of a receipt with
        hundreds of logs costs more than the whole send). Waits at most ``timeout`` seconds (default
        the connection's patience, else 600) for each; a receipt not seen is
        :class:`~provenance_ledger.chain.rpc.OutcomeUnknownError`."""
        if timeout is None:
            patience = patience_of(self.registry.w3)
            timeout = 600.0 if patience is None else patience.seconds
        receipts = []
        total = len(self.pending)
        provider = self.registry.w3.provider
        for k, (batch, tx) in enumerate(self.pending):
            deadline = time.monotonic() + timeout
            while True:
                try:
                    raw = provider.make_request("eth_getTransactionReceipt", [tx]).get("result")  # type: ignore[arg-type]
                except ProvenanceError as exc:
                    raise OutcomeUnknownError(tx, f"batch of records {batch.start}..{batch.stop - 1}: {exc}") from None
                if raw:
                    break
                if time.monotonic() > deadline:
                    raise OutcomeUnknownError(
                        tx, f"batch of records {batch.start}..{batch.stop - 1}: not mined within {timeout:g} s"
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
