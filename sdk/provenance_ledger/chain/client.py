"""The registry client: deploy, register, publish, record, retract, and read everything back from logs.

Writes go through :class:`~provenance_ledger.chain.Signer` (raw transactions, cached selectors). A
record is never sent when its id already has a RunRecorded event (looked up by the indexed recordId
topic first), in any mode; a parent that was anchored is named with an AnchorProof rebuilt from its
batch. Reads use ``eth_getLogs`` in block-range pages (split in half when a provider refuses a page)
and decode raw logs with ``eth_abi``. Every record read back is re-hashed and checked against the
chain, and repeats of one record id are read as one record (the earliest authoritative, see
:func:`provenance_ledger.core.entries.merge_repeats`).

:meth:`Registry.at` identifies the registry by its code: keccak256(eth_getCode) must equal the
keccak256 of the shipped artifact's runtime code (the contract has no immutables), checked once per
connection and address.
"""

from __future__ import annotations

import contextlib
import json
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.providers import JSONBaseProvider
from web3.types import RPCEndpoint

from provenance_ledger.chain.abi import Event, registry_abi
from provenance_ledger.chain.rpc import Receipt, RPCTransportError, Signer, explain, quantity
from provenance_ledger.chain.signing import SignedRun, sign_run
from provenance_ledger.core.canonical import (
    canonical_json,
    check_name,
    encode_run,
    entity_id,
    model_version_key,
    run_tuple,
)
from provenance_ledger.core.entries import (
    REASON_CODES,
    DatanetRetraction,
    DatanetVersionInfo,
    ModelInfo,
    ModelRetraction,
    RecordedRun,
    Unreadable,
    UnreadableRecordError,
    merge_repeats,
)
from provenance_ledger.core.hashing import keccak
from provenance_ledger.core.hexutil import hexstr
from provenance_ledger.core.lineage import Lineage, UsageList, build_lineage, models_trained_on
from provenance_ledger.core.merkle import AnchorProof
from provenance_ledger.core.records import (
    MAX_BATCH_RUNS,
    MAX_CONTRIBUTORS,
    MAX_MODEL_VERSION_BYTES,
    MAX_NOTE_BYTES,
    MAX_TERMS_BYTES,
    TrainingRun,
    bytes32,
)
from provenance_ledger.core.verify import MalformedRecordError, check_record, prove_in_batch
from provenance_ledger.errors import (
    ChainError,
    ContractRevertError,
    NotFoundError,
    ValidationError,
    VerificationError,
)

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "LOOKUP_PAGE_SIZE",
    "BatchResult",
    "Progress",
    "RawLog",
    "RecordResult",
    "Registry",
    "TxResult",
    "check_registry_code",
]

Progress = Callable[[int, int], None]
"""Called with (blocks done, blocks total) while reading logs."""

DEFAULT_PAGE_SIZE = 10_000
LOOKUP_PAGE_SIZE = 1_000_000
"""Blocks per eth_getLogs page for lookups by an indexed id (few results: a provider that refuses the
range gets it halved, as every page)."""
_ID_CHUNK = 500
"""Ids per topic OR-filter."""


@dataclass(frozen=True, kw_only=True)
class TxResult:
    """What a write did on chain."""

    tx_hash: str
    block_number: int
    gas_used: int


@dataclass(frozen=True, kw_only=True)
class RecordResult:
    """Outcome of recording one run: its id, and the transaction (None if it was already recorded:
    the run already had a RunRecorded event, so nothing was sent for it)."""

    record_id: bytes
    tx: TxResult | None
    already_recorded: bool


@dataclass(frozen=True, kw_only=True)
class BatchResult:
    """Outcome of a batch: one :class:`RecordResult` per run given (in order), the transaction (None
    when every run was already recorded), and the Merkle root of an anchored batch."""

    results: tuple[RecordResult, ...]
    tx: TxResult | None
    root: bytes | None = None

    @property
    def sent(self) -> list[bytes]:
        """Ids sent in this batch's transaction (in batch order)."""
        return [r.record_id for r in self.results if not r.already_recorded]

    @property
    def already_recorded(self) -> list[bytes]:
        """Ids skipped because they already had a RunRecorded event."""
        return [r.record_id for r in self.results if r.already_recorded]


@dataclass(frozen=True)
class RawLog:
    event: Event
    args: dict[str, Any]
    block_number: int
    tx_hash: str
    log_index: int


_verified_code: weakref.WeakKeyDictionary[Web3, set[str]] = weakref.WeakKeyDictionary()
"""Registry addresses whose code hash was checked, per connection (one eth_getCode each)."""


def _reason(reason: int | str) -> int:
    code = REASON_CODES.get(reason) if isinstance(reason, str) else reason
    if isinstance(code, bool) or not isinstance(code, int) or not 1 <= code <= 5:
        raise ValidationError("reason", f"must be 1..5 or one of {', '.join(REASON_CODES)}, got {reason!r}")
    return code


def _note(note: str) -> str:
    if not isinstance(note, str):
        raise ValidationError("note", "must be a string")
    if len(note.encode("utf-8")) > MAX_NOTE_BYTES:
        raise ValidationError("note", f"must be at most {MAX_NOTE_BYTES:,} bytes")
    return note


class Registry:
    """A deployed ProvenanceRegistry on some chain, optionally with a signing account.

    Models and DataNets are named by id, by ``OWNER/NAME``, or by a bare name, which is
    ``default_owner``'s (by default the signing account's): ids are scoped by owner, so a name alone
    names nothing (ValidationError when there is no default owner)."""

    def __init__(
        self,
        w3: Web3,
        address: str,
        account: LocalAccount | None = None,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        from_block: int | None = None,
        default_owner: str | None = None,
    ) -> None:
        self.w3 = w3
        self.address = to_checksum_address(address)
        self.abi = registry_abi()
        self.signer = Signer(w3, account) if account is not None else None
        self.page_size = page_size
        self._from_block = from_block
        self.default_owner = (
            to_checksum_address(default_owner)
            if default_owner is not None
            else (account.address if account is not None else None)
        )
        self._models: dict[bytes, ModelInfo | None] = {}
        self._datanets: dict[bytes, tuple[str, str] | None] = {}
        self._runs: dict[bytes, RecordedRun] = {}
        """Records read during the current query (lineage, used-by): a walk reads each once. Outside
        a query every read goes to the chain, so that a later repeat is never missed."""
        self._querying = False
        self._stored: dict[bytes, int] = {}
        self._name_misses = 0
        self._receipts: dict[str, Any] = {}
        self._roots_ok: set[bytes] = set()
        self._trees: dict[tuple[str, int], list[list[bytes]]] = {}
        self._versions: dict[tuple[bytes, int], DatanetVersionInfo] = {}
        self._deploy_receipt: Receipt | None = None
        self._chain_id: int | None = None

    # ------------------------------------------------------------- lifecycle

    @property
    def from_block(self) -> int:
        """First block scanned for events: given, else the registry's ``deployedAt()`` (read once)."""
        if self._from_block is None:
            self._from_block = self.deployed_at()
        return self._from_block

    @from_block.setter
    def from_block(self, value: int) -> None:
        self._from_block = value

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    @classmethod
    def deploy(cls, w3: Web3, account: LocalAccount, **kwargs: Any) -> Registry:
        """Deploy a new registry with ``account`` and return a client for it."""
        signer = Signer(w3, account)
        receipt = signer.transact(None, registry_abi().bytecode)
        tx = w3.eth.get_transaction_receipt(receipt.tx_hash)  # type: ignore[arg-type]
        address = tx["contractAddress"]
        if address is None:
            raise ChainError("deployment produced no contract")
        kwargs.setdefault("from_block", receipt.block_number)
        registry = cls(w3, address, account, **kwargs)
        registry._deploy_receipt = receipt
        _mark_verified(w3, registry.address)
        return registry

    @property
    def deploy_receipt(self) -> Receipt:
        """The receipt of the deployment transaction, for a client returned by :meth:`deploy`
        (AttributeError for one made by :meth:`at` or the constructor)."""
        if self._deploy_receipt is None:
            raise AttributeError("deploy_receipt: this client did not deploy its registry (see Registry.deploy)")
        return self._deploy_receipt

    @classmethod
    def at(cls, w3: Web3, address: str, account: LocalAccount | None = None, **kwargs: Any) -> Registry:
        """A client for an existing registry. The code at ``address`` must be this SDK's registry:
        keccak256 of its runtime code must equal that of the shipped artifact (NotFoundError when there
        is no code, VerificationError for any other contract). Checked once per connection and address."""
        try:
            checksum = to_checksum_address(address)
        except ValueError:
            raise ValidationError("address", f"not an address: {address!r}") from None
        if checksum not in _verified_code.get(w3, ()):
            check_registry_code(w3, checksum)
            _mark_verified(w3, checksum)
        return cls(w3, checksum, account, **kwargs)

    # ----------------------------------------------------------------- ids

    def model_id(self, model: str | bytes) -> bytes:
        """The id of a model given by id, ``OWNER/NAME`` or a bare name (``default_owner``'s)."""
        return entity_id(self.default_owner, model, "model")

    def datanet_id(self, datanet: str | bytes) -> bytes:
        """The id of a DataNet given by id, ``OWNER/NAME`` or a bare name (``default_owner``'s)."""
        return entity_id(self.default_owner, datanet, "datanet")

    def _label(self, ref: str | bytes, entity: bytes) -> str:
        return ref if isinstance(ref, str) else hexstr(entity)

    # ----------------------------------------------------------------- calls

    def _call(self, fn: str, *args: Any) -> tuple[Any, ...]:
        f = self.abi.functions[fn]
        try:
            out = self.w3.eth.call({"to": self.address, "data": f.encode(*args)})
        except Exception as exc:
            raise explain(exc, f"eth_call {fn} failed") from None
        try:
            return f.decode_output(bytes(out))
        except Exception:
            raise ChainError(f"call {fn} returned undecodable data (is this a ProvenanceRegistry?)") from None

    def _transact(self, fn: str, *args: Any) -> Receipt:
        if self.signer is None:
            raise ValidationError("key", "this registry client has no signing account")
        return self.signer.transact(self.address, self.abi.functions[fn].encode(*args))

    @staticmethod
    def _result(r: Receipt) -> TxResult:
        return TxResult(tx_hash=r.tx_hash, block_number=r.block_number, gas_used=r.gas_used)

    def version(self) -> str:
        return str(self._call("version")[0])

    def deployed_at(self) -> int:
        """The block the registry was deployed in (``deployedAt()``)."""
        return int(self._call("deployedAt")[0])

    def record_block(self, record_id: bytes) -> int:
        return int(self._call("recordBlock", record_id)[0])

    def _stored_block(self, record_id: bytes) -> int:
        """``recordBlock``, cached once non-zero (a record is stored individually at most once)."""
        block = self._stored.get(record_id)
        if block is None:
            block = self.record_block(record_id)
            if block:
                self._stored[record_id] = block
        return block

    def anchor_block(self, root: bytes) -> int:
        return int(self._call("anchorBlock", root)[0])

    def verify_anchored(self, root: bytes, record_id: bytes, proof: Sequence[bytes]) -> bool:
        return bool(self._call("verifyAnchored", root, record_id, list(proof))[0])

    def model_owner(self, model: str | bytes) -> str | None:
        owner = self._call("modelOwner", self.model_id(model))[0]
        return None if int(owner, 16) == 0 else to_checksum_address(owner)

    def can_record(self, model: str | bytes, account: str) -> bool:
        return bool(self._call("canRecord", self.model_id(model), account)[0])

    def datanet_state(self, datanet: str | bytes) -> tuple[str | None, int]:
        owner, count = self._call("datanet", self.datanet_id(datanet))
        return (None if int(owner, 16) == 0 else to_checksum_address(owner)), int(count)

    def compute_record_id(self, run: TrainingRun) -> bytes:
        """The id the contract derives (an eth_call; used to cross-check the Python encoding)."""
        return bytes(self._call("computeRecordId", run_tuple(run))[0])

    def compute_entity_id(self, owner: str, name: str) -> bytes:
        """The id the contract derives for ``owner``'s ``name`` (an eth_call)."""
        return bytes(self._call("computeEntityId", to_checksum_address(owner), name)[0])

    def domain_separator(self) -> bytes:
        return bytes(self._call("domainSeparator")[0])

    def record_digest(self, record_id: bytes) -> bytes:
        """The EIP-712 digest a trainer signs for ``record_id`` (the contract's ``recordDigest``)."""
        return bytes(self._call("recordDigest", record_id)[0])

    # ---------------------------------------------------------------- writes

    def _owner_for_write(self) -> str:
        if self.signer is None:
            raise ValidationError("key", "this registry client has no signing account")
        return self.signer.address

    def register_model(self, name: str) -> tuple[bytes, TxResult]:
        """Register ``name`` under the signing account; returns (model id, tx)."""
        check_name(name, "name")
        r = self._transact("registerModel", name)
        return entity_id(self._owner_for_write(), name), self._result(r)

    def authorize_trainer(self, model: str | bytes, trainer: str) -> TxResult:
        return self._result(self._transact("authorizeTrainer", self.model_id(model), trainer))

    def revoke_trainer(self, model: str | bytes, trainer: str) -> TxResult:
        return self._result(self._transact("revokeTrainer", self.model_id(model), trainer))

    def register_datanet(self, name: str) -> tuple[bytes, TxResult]:
        """Register ``name`` under the signing account; returns (DataNet id, tx)."""
        check_name(name, "name")
        r = self._transact("registerDatanet", name)
        return entity_id(self._owner_for_write(), name), self._result(r)

    def publish_datanet_version(
        self,
        datanet: str | bytes,
        *,
        content_root: bytes,
        manifest_hash: bytes,
        terms: dict[str, Any],
        contributors: Sequence[tuple[str, int]] = (),
    ) -> tuple[int, TxResult]:
        """Publish the next version; returns (version number, tx)."""
        datanet_id = self.datanet_id(datanet)
        contribs = [(to_checksum_address(a), int(s)) for a, s in contributors]
        if len(contribs) > MAX_CONTRIBUTORS:
            raise ValidationError("contributors", f"at most {MAX_CONTRIBUTORS} per version, got {len(contribs)}")
        terms_bytes = canonical_json(terms)
        if len(terms_bytes) > MAX_TERMS_BYTES:
            raise ValidationError("terms", f"must be at most {MAX_TERMS_BYTES:,} bytes of canonical JSON")
        r = self._transact(
            "publishDatanetVersion",
            datanet_id,
            bytes32(content_root, "content_root"),
            bytes32(manifest_hash, "manifest_hash"),
            terms_bytes,
            contribs,
        )
        ev = self.abi.events["DatanetVersionPublished"]
        for log in r.logs:
            if bytes(log["topics"][0]) == ev.topic0:
                return int(ev.decode(log["topics"], log["data"])["version"]), self._result(r)
        raise ChainError("publish transaction emitted no DatanetVersionPublished event")

    def retract_datanet_version(
        self, datanet: str | bytes, version: int, *, reason: int | str, note: str = ""
    ) -> TxResult:
        """Retract a published version of one of the signer's DataNets (append-only: it stays readable).
        ``reason``: 1 pii, 2 licence, 3 corrupt, 4 superseded, 5 other (a code or its name)."""
        return self._result(
            self._transact(
                "retractDatanetVersion", self.datanet_id(datanet), int(version), _reason(reason), _note(note)
            )
        )

    def retract_model_version(self, model: str | bytes, version: str, *, reason: int | str, note: str = "") -> TxResult:
        """Retract a version of one of the signer's models (its records stay readable)."""
        if not version or len(version.encode("utf-8")) > MAX_MODEL_VERSION_BYTES:
            raise ValidationError("version", f"must be 1..{MAX_MODEL_VERSION_BYTES} bytes")
        return self._result(
            self._transact("retractModelVersion", self.model_id(model), version, _reason(reason), _note(note))
        )

    # ---------------------------------------------------------- run writes

    def logged_ids(self, record_ids: Iterable[bytes]) -> set[bytes]:
        """The ids among ``record_ids`` that already have a RunRecorded event (recorded individually
        or anchored), found by their indexed recordId topic (one eth_getLogs per 500 ids)."""
        ids = list(dict.fromkeys(bytes(r) for r in record_ids))
        found: set[bytes] = set()
        for i in range(0, len(ids), _ID_CHUNK):
            chunk = ids[i : i + _ID_CHUNK]
            for raw in self.logs("RunRecorded", None, None, chunk, page=LOOKUP_PAGE_SIZE):
                found.add(bytes(raw.args["recordId"]))
        return found

    def _logged_bytes_match(self, record_id: bytes, encoded: bytes) -> bool:
        raws = self.logs("RunRecorded", None, None, record_id, page=LOOKUP_PAGE_SIZE)
        return any(bytes(r.args["record"]) == encoded and keccak(encoded) == record_id for r in raws)

    def anchor_proofs(self, parents: Iterable[bytes], *, exclude: Iterable[bytes] = ()) -> list[AnchorProof]:
        """AnchorProofs for the ``parents`` that are anchored and not recorded individually
        (``recordBlock == 0``), leaving out those in ``exclude`` (runs of the same transaction). Each
        parent's earliest anchored RunRecorded event is found by its recordId topic; its batch is
        rebuilt from the transaction's receipt and the proof checked against the stored root. A parent
        with no event gets no proof (the registry then reverts UnknownParent)."""
        skip = {bytes(x) for x in exclude}
        wanted = [p for p in dict.fromkeys(bytes(x) for x in parents) if p not in skip]
        need = [p for p in wanted if self._stored_block(p) == 0]
        if not need:
            return []
        by_id: dict[bytes, list[RawLog]] = {}
        for i in range(0, len(need), _ID_CHUNK):
            for raw in self.logs("RunRecorded", None, None, need[i : i + _ID_CHUNK], page=LOOKUP_PAGE_SIZE):
                by_id.setdefault(bytes(raw.args["recordId"]), []).append(raw)
        proofs: list[AnchorProof] = []
        for p in need:
            for raw in sorted(by_id.get(p, ()), key=lambda r: (r.block_number, r.log_index)):
                try:
                    root, proof = self._anchor_proof(raw, p)
                except VerificationError:
                    continue
                proofs.append(AnchorProof(record_id=p, root=root, proof=proof))
                break
        return proofs

    def record_run(self, run: TrainingRun) -> RecordResult:
        """Record one run (with AnchorProofs for its anchored parents). Never sends a run that already
        has a RunRecorded event: it returns its id and no transaction. Losing a race to another sender
        of the same run (AlreadyRecorded) is success when the logged bytes are this run's."""
        encoded = encode_run(run)
        rid = keccak(encoded)
        if self.logged_ids([rid]):
            return RecordResult(record_id=rid, tx=None, already_recorded=True)
        proofs = self.anchor_proofs(run.parents)
        try:
            r = self._transact("recordRun", run_tuple(run), [p.as_tuple() for p in proofs])
        except ContractRevertError as exc:
            if exc.name == "AlreadyRecorded" and self._logged_bytes_match(rid, encoded):
                return RecordResult(record_id=rid, tx=None, already_recorded=True)
            raise
        return RecordResult(record_id=rid, tx=self._result(r), already_recorded=False)

    def _fresh(self, runs: Sequence[TrainingRun]) -> tuple[list[bytes], list[tuple[bytes, TrainingRun]]]:
        """(id of each run, the runs to send: not yet logged, first of each id, in order)."""
        ids = [keccak(encode_run(r)) for r in runs]
        logged = self.logged_ids(ids)
        first: dict[bytes, TrainingRun] = {}
        for i, r in zip(ids, runs, strict=True):
            if i not in logged:
                first.setdefault(i, r)
        if len(first) > MAX_BATCH_RUNS:
            raise ValidationError(
                "runs", f"at most {MAX_BATCH_RUNS} per batch, got {len(first)} (use chain.bulk.BulkSender)"
            )
        return ids, list(first.items())

    def _send_batch(
        self, fn: str, runs: Sequence[TrainingRun], extra: Callable[[list[bytes]], tuple[Any, ...]] | None = None
    ) -> BatchResult:
        """Send ``runs`` with ``fn`` (skipping those already logged), retrying after a lost race."""
        ids, fresh = self._fresh(runs)
        for _attempt in range(3):
            if not fresh:
                return BatchResult(
                    results=tuple(RecordResult(record_id=i, tx=None, already_recorded=True) for i in ids), tx=None
                )
            sent = [i for i, _ in fresh]
            proofs = self.anchor_proofs((p for _, r in fresh for p in r.parents), exclude=sent)
            args: tuple[Any, ...] = ([run_tuple(r) for _, r in fresh], [p.as_tuple() for p in proofs])
            if extra is not None:
                args += extra(sent)
            try:
                receipt = self._transact(fn, *args)
            except ContractRevertError as exc:
                if exc.name != "AlreadyRecorded":
                    raise
                logged = self.logged_ids(sent)  # another sender won a race for some of them
                if not logged:
                    raise
                fresh = [(i, r) for i, r in fresh if i not in logged]
                continue
            tx = self._result(receipt)
            root = self._anchored_root(receipt) if fn.startswith("anchor") else None
            sent_set = set(sent)
            results = tuple(
                RecordResult(record_id=i, tx=tx if i in sent_set else None, already_recorded=i not in sent_set)
                for i in ids
            )
            return BatchResult(results=results, tx=tx, root=root)
        raise ChainError("the batch kept losing races to other senders of the same runs: try again")

    def _anchored_root(self, receipt: Receipt) -> bytes:
        ev = self.abi.events["RunsAnchored"]
        for log in receipt.logs:
            if bytes(log["topics"][0]) == ev.topic0:
                return bytes(ev.decode(log["topics"], log["data"])["root"])
        raise ChainError("anchor transaction emitted no RunsAnchored event")

    def record_runs(self, runs: Sequence[TrainingRun]) -> BatchResult:
        """Record a batch in one transaction (one slot per run), skipping runs already recorded."""
        return self._send_batch("recordRuns", runs)

    def anchor_runs(self, runs: Sequence[TrainingRun]) -> BatchResult:
        """Anchor a batch under one Merkle root (one storage slot for the batch), skipping runs that
        already have a RunRecorded event; ``root`` is None when nothing was left to send."""
        return self._send_batch("anchorRuns", runs)

    # -------------------------------------------------------- signed records

    def sign_run(self, run: TrainingRun, account: LocalAccount) -> SignedRun:
        """``account``'s EIP-712 signature of ``run`` for this registry (any funded account may then
        submit it with :meth:`submit_signed`; ``account`` becomes the run's recorder)."""
        return sign_run(run, account, chain_id=self.chain_id, registry=self.address)

    def _check_signed(self, signed: Sequence[SignedRun]) -> None:
        for i, s in enumerate(signed):
            if s.chain_id != self.chain_id or s.registry != self.address:
                raise ValidationError(
                    f"signed[{i}]", f"is signed for registry {s.registry} on chain {s.chain_id}, not this one"
                )

    def submit_signed(
        self, signed: SignedRun | Sequence[SignedRun], *, anchored: bool = False
    ) -> RecordResult | BatchResult:
        """Submit signed runs from this client's (funded) account: one run -> ``recordRunSigned``
        (a :class:`RecordResult`), several -> ``recordRunsSigned`` or, with ``anchored``,
        ``anchorRunsSigned`` (a :class:`BatchResult`). Runs already recorded are skipped."""
        if isinstance(signed, SignedRun):
            self._check_signed([signed])
            if anchored:
                batch = self.submit_signed([signed], anchored=True)
                assert isinstance(batch, BatchResult)
                return batch.results[0]
            encoded = encode_run(signed.run)
            if self.logged_ids([signed.record_id]):
                return RecordResult(record_id=signed.record_id, tx=None, already_recorded=True)
            proofs = self.anchor_proofs(signed.run.parents)
            try:
                r = self._transact(
                    "recordRunSigned",
                    run_tuple(signed.run),
                    [p.as_tuple() for p in proofs],
                    signed.signer,
                    signed.signature,
                )
            except ContractRevertError as exc:
                if exc.name == "AlreadyRecorded" and self._logged_bytes_match(signed.record_id, encoded):
                    return RecordResult(record_id=signed.record_id, tx=None, already_recorded=True)
                raise
            return RecordResult(record_id=signed.record_id, tx=self._result(r), already_recorded=False)
        items = list(signed)
        self._check_signed(items)
        by_id = {s.record_id: s for s in items}

        def signatures(sent: list[bytes]) -> tuple[Any, ...]:
            return ([by_id[i].signer for i in sent], [by_id[i].signature for i in sent])

        return self._send_batch(
            "anchorRunsSigned" if anchored else "recordRunsSigned", [s.run for s in items], signatures
        )

    # ----------------------------------------------------------------- reads

    def logs(
        self,
        event: str,
        *topics: bytes | Sequence[bytes] | None,
        from_block: int | None = None,
        to_block: int | None = None,
        progress: Progress | None = None,
        page: int | None = None,
    ) -> list[RawLog]:
        """All logs of ``event`` matching the indexed ``topics`` (None = any), paged by block range
        (``page`` blocks at most per eth_getLogs, default ``page_size``)."""
        ev = self.abi.events[event]
        start = self.from_block if from_block is None else from_block
        end = self.w3.eth.block_number if to_block is None else to_block
        topic_filter: list[Any] = [hexstr(ev.topic0)] + [
            None if t is None else hexstr(t) if isinstance(t, bytes) else [hexstr(x) for x in t] for t in topics
        ]
        while topic_filter and topic_filter[-1] is None:
            topic_filter.pop()
        out: list[RawLog] = []
        total = max(end - start + 1, 1)
        for _lo, hi, raw in self.log_pages(topic_filter, start, end, page=page):
            for log in raw:
                args = ev.decode(list(log["topics"]), bytes(log["data"]))
                out.append(
                    RawLog(ev, args, int(log["blockNumber"]), hexstr(log["transactionHash"]), int(log["logIndex"]))
                )
            if progress is not None:
                progress(hi - start + 1, total)
        return out

    def log_pages(
        self, topics: list[Any], start: int, end: int, *, max_logs: int | None = None, page: int | None = None
    ) -> Iterator[tuple[int, int, list[Any]]]:
        """``(lo, hi, logs)`` pages of this registry's raw logs matching ``topics`` (an eth_getLogs
        topic filter of 0x hex strings) covering blocks ``start..end``, one eth_getLogs each. Each
        log maps the usual keys (topics, data, blockNumber, blockHash, transactionHash, logIndex)
        to bytes-like and int values.

        A refused page (a JSON-RPC error: too many results, range too large, the provider's timeout) is
        halved and retried (a transport failure is not: it was retried already, and ends the read); after
        each success the page grows again (doubling, up to ``page_size`` blocks, and, when
        ``max_logs`` is given, to about ``max_logs`` results at the density just seen; the first page
        is then a single block, so that a dense chain never answers with millions of logs at once).
        """
        cap = self.page_size if page is None else max(page, 1)
        size = cap if max_logs is None else 1
        lo = start
        while lo <= end:
            hi = min(lo + size - 1, end)
            try:
                raw = self._get_logs(topics, lo, hi)
            except RPCTransportError:
                raise
            except Exception as exc:
                if hi > lo:  # provider refused the page (too many results / range too large): halve it
                    size = max(1, (hi - lo + 1) // 2)
                    continue
                raise ChainError(
                    f"eth_getLogs refused block {lo} on its own, so the page cannot be split further: {exc}"
                ) from None
            yield lo, hi, raw
            span = hi - lo + 1
            size = min(cap, max(size, span) * 2)
            if max_logs is not None and len(raw) > 0:
                size = max(1, min(size, span * max_logs // len(raw)))
            lo = hi + 1

    _pages = log_pages  # the tests' name for it

    def _get_logs(self, topics: list[Any], lo: int, hi: int) -> list[Any]:
        """One eth_getLogs of this registry. Over JSON-RPC the raw response is decoded by hand (web3's
        result formatters cost ~0.2 ms a log); each log is a dict with bytes/int values under the
        usual keys (topics, data, blockNumber, blockHash, transactionHash, logIndex)."""
        if not isinstance(self.w3.provider, JSONBaseProvider):  # eth-tester: needs web3's formatting
            return list(
                self.w3.eth.get_logs({"address": self.address, "fromBlock": lo, "toBlock": hi, "topics": topics})
            )
        params = {"address": self.address, "fromBlock": hex(lo), "toBlock": hex(hi), "topics": topics}
        response = self.w3.provider.make_request(RPCEndpoint("eth_getLogs"), [params])
        error = response.get("error")
        if error is not None or not isinstance(response.get("result"), list):
            detail = error.get("message", error) if isinstance(error, dict) else error
            code = f" {error.get('code')}" if isinstance(error, dict) and "code" in error else ""
            raise ChainError(f"eth_getLogs {lo}..{hi} refused (JSON-RPC error{code}: {detail})")
        fromhex = bytes.fromhex
        return [
            {
                "topics": [fromhex(t[2:]) for t in x["topics"]],
                "data": fromhex(x["data"][2:]),
                "blockNumber": int(x["blockNumber"], 16),
                "blockHash": fromhex(x["blockHash"][2:]),
                "transactionHash": fromhex(x["transactionHash"][2:]),
                "logIndex": int(x["logIndex"], 16),
            }
            for x in response["result"]
            if not x.get("removed")
        ]

    # -------------------------------------------------------- typed entries

    def recorded(self, raw: RawLog, *, verify: bool = True) -> RecordedRun:
        """The verified :class:`RecordedRun` of one ``RunRecorded`` log read by :meth:`logs` (one
        occurrence: its ``repeats`` are empty; :meth:`get_run` and the other readers merge them).

        The logged bytes must hash to the record id, decode canonically and agree with the event
        topics (:func:`~provenance_ledger.core.verify.check_record`); with ``verify`` the occurrence's
        inclusion must also check out: stored on chain at the logged block (recorded individually), or
        proven in the batch its transaction anchored under a stored root. A repeat checks out like any
        other occurrence (an anchored run recorded individually later is stored at the later block;
        its anchored event is proved against its root). Raises VerificationError otherwise."""
        a = raw.args
        record = bytes(a["record"])
        rid = bytes(a["recordId"])
        try:
            run = check_record(
                rid,
                record,
                model_id=bytes(a["modelId"]),
                version_key=bytes(a["modelVersionKey"]),
                block=raw.block_number,
            )
        except MalformedRecordError as exc:
            self._inclusion(raw, rid)  # authentic (on chain under its id), only then merely unreadable
            raise UnreadableRecordError(
                Unreadable(
                    record_id=rid,
                    recorder=to_checksum_address(a["recorder"]),
                    block_number=raw.block_number,
                    tx_hash=raw.tx_hash,
                    reason=exc.reason,
                )
            ) from None
        root, proof = self._inclusion(raw, rid) if verify else (None, ())
        return RecordedRun(
            record_id=rid,
            run=run,
            record=record,
            recorder=to_checksum_address(a["recorder"]),
            block_number=raw.block_number,
            tx_hash=raw.tx_hash,
            log_index=raw.log_index,
            anchor_root=root,
            anchor_proof=proof,
        )

    _recorded = recorded  # the tests' name for it

    def _inclusion(self, raw: RawLog, rid: bytes) -> tuple[bytes | None, tuple[bytes, ...]]:
        """(anchor root, proof) of one occurrence: (None, ()) when it is the individually stored one."""
        stored = self._stored_block(rid)
        if stored == raw.block_number:
            return None, ()
        try:
            root, proof = self._anchor_proof(raw, rid)
        except VerificationError as exc:
            where = f"stored at block {stored}" if stored else "not stored individually"
            raise VerificationError(f"{exc} (logged at block {raw.block_number}; {where})") from None
        return root, proof

    def _occurrences(self, raws: Iterable[RawLog]) -> list[RecordedRun]:
        """One verified record per id from its RunRecorded logs: the earliest (block, log index) whose
        inclusion checks out is authoritative; every later one that checks out is a repeat. Bytes
        that do not hash to their id or disagree with their topics fail the whole read; an occurrence
        whose inclusion does not check out is passed over (VerificationError if none does)."""
        groups: dict[bytes, list[RawLog]] = {}
        for raw in raws:
            groups.setdefault(bytes(raw.args["recordId"]), []).append(raw)
        out: list[RecordedRun] = []
        for rid, group in groups.items():
            group.sort(key=lambda r: (r.block_number, r.log_index))
            found: list[RecordedRun] = []
            failures: list[VerificationError] = []
            first: RecordedRun | None = None
            for raw in group:
                if first is None:
                    rec = self.recorded(raw, verify=False)
                else:
                    self._check_repeat(raw, first)
                    rec = None
                try:
                    root, proof = self._inclusion(raw, rid)
                except VerificationError as exc:
                    failures.append(exc)
                    continue
                if first is None:
                    assert rec is not None
                    first = replace(rec, anchor_root=root, anchor_proof=proof)
                    found.append(first)
                else:
                    found.append(
                        replace(
                            first,
                            recorder=to_checksum_address(raw.args["recorder"]),
                            block_number=raw.block_number,
                            tx_hash=raw.tx_hash,
                            log_index=raw.log_index,
                            anchor_root=root,
                            anchor_proof=proof,
                        )
                    )
            if not found:
                raise failures[0]
            out.extend(merge_repeats(found))
        out.sort(key=lambda r: r.position)
        return out

    @staticmethod
    def _check_repeat(raw: RawLog, first: RecordedRun) -> None:
        """A later log of a record already read: its bytes must be the same record's (same id, so the
        same bytes when they hash to it) and its topics the same."""
        a = raw.args
        record = bytes(a["record"])
        if keccak(record) != first.record_id or record != first.record:
            raise VerificationError(
                f"record {hexstr(first.record_id)}: logged bytes do not hash to its id (block {raw.block_number})"
            )
        if bytes(a["modelId"]) != first.run.model_id or bytes(a["modelVersionKey"]) != model_version_key(
            first.run.model_id, first.run.model_version
        ):
            raise VerificationError(f"record {hexstr(first.record_id)}: event topics disagree with the record")

    def _anchor_proof(self, raw: RawLog, rid: bytes) -> tuple[bytes, tuple[bytes, ...]]:
        """Rebuild the anchored batch of ``raw``'s transaction and prove ``rid`` against its stored root."""
        from provenance_ledger.core.merkle import merkle_levels_of_ids

        logs = self._receipt_logs(raw.tx_hash)
        rec_ev, anc_ev = self.abi.events["RunRecorded"], self.abi.events["RunsAnchored"]
        batch: list[bytes] = []
        for address, topics, data, log_index in logs:
            if address != self.address.lower():
                continue
            t0 = topics[0]
            if t0 == rec_ev.topic0:
                batch.append(topics[3])
            elif t0 == anc_ev.topic0 and log_index > raw.log_index:
                levels = self._trees.get((raw.tx_hash, log_index))
                if levels is None:  # one tree per batch, however many of its records are read
                    count = int(anc_ev.decode(topics, data)["count"])
                    if not 1 <= count <= len(batch):
                        raise VerificationError(f"record {hexstr(rid)}: batch does not rebuild its anchored root")
                    levels = self._trees[(raw.tx_hash, log_index)] = merkle_levels_of_ids(batch[-count:])
                root = levels[-1][0]
                if root != topics[1]:
                    raise VerificationError(f"record {hexstr(rid)}: batch does not rebuild its anchored root")
                proof = prove_in_batch(levels, root, rid)
                if root not in self._roots_ok and self.anchor_block(root) != 0:
                    self._roots_ok.add(root)
                if root not in self._roots_ok:
                    raise VerificationError(f"record {hexstr(rid)}: not anchored on chain")
                return root, proof
        raise VerificationError(f"record {hexstr(rid)}: logged but neither stored nor anchored on chain")

    def _receipt_logs(self, tx_hash: str) -> list[tuple[str, list[bytes], bytes, int]]:
        """(address, topics, data, log index) of a transaction's logs, read raw and cached.

        web3's receipt formatting costs ~0.15 ms per log; an anchored batch has hundreds."""
        cached = self._receipts.get(tx_hash)
        if cached is None:
            result = self.w3.provider.make_request("eth_getTransactionReceipt", [tx_hash]).get("result")  # type: ignore[arg-type]
            if not result:
                raise VerificationError(f"no receipt for transaction {tx_hash}")
            cached = [
                (
                    str(log["address"]).lower(),
                    [bytes.fromhex(str(t)[2:]) if isinstance(t, str) else bytes(t) for t in log["topics"]],
                    bytes.fromhex(log["data"][2:]) if isinstance(log["data"], str) else bytes(log["data"]),
                    quantity(log.get("logIndex", log.get("log_index"))),
                )
                for log in result["logs"]
            ]
            self._receipts[tx_hash] = cached
        return cached

    # ------------------------------------------------------------- run reads

    def runs_of(self, model: str | bytes, version: str) -> list[RecordedRun]:
        """Every run that produced ``model@version`` (verified; repeats merged)."""
        mid = self.model_id(model)
        return self._unique(self.logs("RunRecorded", mid, model_version_key(mid, version)))

    def runs_of_model(self, model: str | bytes) -> list[RecordedRun]:
        return self._unique(self.logs("RunRecorded", self.model_id(model)))

    def all_runs(self, progress: Progress | None = None) -> list[RecordedRun]:
        return self._unique(self.logs("RunRecorded", progress=progress))

    def _unique(self, raws: Iterable[RawLog]) -> list[RecordedRun]:
        """One verified record per id (see :meth:`_occurrences`), cached for :meth:`get_run`."""
        out = self._occurrences(raws)
        for rec in out:
            self._runs[rec.record_id] = rec
        return out

    @contextlib.contextmanager
    def _query(self) -> Iterator[None]:
        """One query: records read in it are read once (the cache is emptied when it starts)."""
        outer = self._querying
        if not outer:
            self._runs.clear()
        self._querying = True
        try:
            yield
        finally:
            self._querying = outer

    def get_run(self, record_id: bytes) -> RecordedRun:
        """The verified record with this id, with every repeat of it (all its RunRecorded logs are
        read by the recordId topic, so an anchored run recorded again later is one record)."""
        rid = bytes32(record_id, "record_id")
        cached = self._runs.get(rid) if self._querying else None
        if cached is not None:
            return cached
        raws = self.logs("RunRecorded", None, None, rid, page=LOOKUP_PAGE_SIZE)
        if not raws:
            raise NotFoundError(f"no record {hexstr(rid)} on this registry")
        return self._unique(raws)[0]

    def get_runs(self, record_ids: Sequence[bytes], *, chunk: int = _ID_CHUNK) -> dict[bytes, RecordedRun]:
        """Many verified records at once: one eth_getLogs per ``chunk`` ids (topic OR-filter)."""
        if not self._querying:
            self._runs.clear()
        missing = [r for r in dict.fromkeys(record_ids) if r not in self._runs]
        for i in range(0, len(missing), chunk):
            self._unique(self.logs("RunRecorded", None, None, missing[i : i + chunk], page=LOOKUP_PAGE_SIZE))
        absent = [r for r in record_ids if r not in self._runs]
        if absent:
            raise NotFoundError(f"no record {hexstr(absent[0])} on this registry")
        return {r: self._runs[r] for r in record_ids}

    def verify_runs(
        self, model: str | bytes | None = None, progress: Progress | None = None
    ) -> list[tuple[bytes, RecordedRun | Unreadable | None, str | None]]:
        """Check every record (or one model's): (record id, the record or None, the problem or None)
        per record id, repeats merged into their record (a repeat is not a failure). A record that is
        authentic (hashes to its id, stored or anchored) but does not decode is no integrity failure:
        its :class:`Unreadable` entry is given, with no problem."""
        raws = self.logs("RunRecorded", *((self.model_id(model),) if model is not None else ()), progress=progress)
        groups: dict[bytes, list[RawLog]] = {}
        for raw in raws:
            groups.setdefault(bytes(raw.args["recordId"]), []).append(raw)
        out: list[tuple[bytes, RecordedRun | Unreadable | None, str | None]] = []
        for rid, group in groups.items():
            try:
                rec = self._occurrences(group)[0]
            except UnreadableRecordError as exc:
                out.append((rid, exc.entry, None))
                continue
            except VerificationError as exc:
                out.append((rid, None, str(exc)))
                continue
            self._runs[rid] = rec
            out.append((rid, rec, None))
        return out

    def children_of_many(self, record_ids: Sequence[bytes], *, chunk: int = _ID_CHUNK) -> dict[bytes, list[bytes]]:
        """Children (runs that name them as parents) of many records at once (each child once)."""
        out: dict[bytes, list[bytes]] = {r: [] for r in record_ids}
        ids = list(out)
        for i in range(0, len(ids), chunk):
            for raw in self.logs("ParentUsed", ids[i : i + chunk]):
                kids = out[bytes(raw.args["parentRecordId"])]
                child = bytes(raw.args["recordId"])
                if child not in kids:
                    kids.append(child)
        return out

    def children_of(self, record_id: bytes) -> list[bytes]:
        """Record ids of runs that name ``record_id`` as a parent (each once, repeats merged)."""
        return list(dict.fromkeys(bytes(r.args["recordId"]) for r in self.logs("ParentUsed", record_id)))

    def datanet_use_records(self, datanet: str | bytes) -> list[tuple[bytes, int]]:
        """(record id, DataNet version) of every run that trained on ``datanet`` (each once)."""
        return list(
            dict.fromkeys((bytes(r.args["recordId"]), int(r.args["version"])) for r in self.datanet_uses(datanet))
        )

    def lineage(self, model: str | bytes, version: str) -> Lineage:
        """The verified lineage of ``model@version``."""
        info = self.model_info(model)  # NotFoundError names an unregistered model
        with self._query():
            return build_lineage(self, info.model_id, version)

    def models_trained_on(self, datanet: str | bytes, version: int | None = None) -> UsageList:
        """Every model version that used ``datanet`` (or one version of it), through its descendants too."""
        did = self.datanet_id(datanet)
        if self._datanet_entry(did) is None:
            raise NotFoundError(f"DataNet {self._label(datanet, did)} is not registered")
        with self._query():
            return models_trained_on(self, did, version)

    def datanet_uses(self, datanet: str | bytes) -> list[RawLog]:
        """DatanetUsed logs of a DataNet (every run that trained on any of its versions)."""
        return self.logs("DatanetUsed", self.datanet_id(datanet))

    # ------------------------------------------------------ models, datanets

    def _model_entry(self, model_id: bytes) -> ModelInfo | None:
        """The ModelRegistered entry of ``model_id`` (cached once found; a miss is asked again,
        except within one query)."""
        if self._models.get(model_id) is None and (model_id not in self._models or not self._querying):
            raws = self.logs("ModelRegistered", model_id, page=LOOKUP_PAGE_SIZE)
            if raws:
                a = raws[0].args
                self._models[model_id] = ModelInfo(
                    model_id=model_id,
                    name=a["name"],
                    owner=to_checksum_address(a["owner"]),
                    block_number=raws[0].block_number,
                )
            else:
                self._models[model_id] = None
        return self._models[model_id]

    def model_info(self, model: str | bytes) -> ModelInfo:
        mid = self.model_id(model)
        info = self._model_entry(mid)
        if info is None:
            raise NotFoundError(f"model {self._label(model, mid)} is not registered")
        return info

    def _prefetch_models(self) -> None:
        for raw in self.logs("ModelRegistered"):
            mid = bytes(raw.args["modelId"])
            if self._models.get(mid) is None:
                self._models[mid] = ModelInfo(
                    model_id=mid,
                    name=raw.args["name"],
                    owner=to_checksum_address(raw.args["owner"]),
                    block_number=raw.block_number,
                )

    def model_name(self, model_id: bytes) -> str:
        if model_id not in self._models:
            self._name_misses += 1
            if self._name_misses == 8:  # many names wanted (a reverse query): read every model once
                self._prefetch_models()
        info = self._model_entry(model_id)
        return hexstr(model_id) if info is None else info.name

    def model_owner_of(self, model_id: bytes) -> str | None:
        """The owner who registered ``model_id`` (from its ModelRegistered event), None if unregistered."""
        info = self._model_entry(bytes(model_id))
        return None if info is None else info.owner

    def _datanet_entry(self, datanet_id: bytes) -> tuple[str, str] | None:
        """(name, owner) of a registered DataNet, from its DatanetRegistered event."""
        if self._datanets.get(datanet_id) is None and (datanet_id not in self._datanets or not self._querying):
            raws = self.logs("DatanetRegistered", datanet_id, page=LOOKUP_PAGE_SIZE)
            self._datanets[datanet_id] = (
                (raws[0].args["name"], to_checksum_address(raws[0].args["owner"])) if raws else None
            )
        return self._datanets[datanet_id]

    def datanet_name(self, datanet_id: bytes) -> str:
        entry = self._datanet_entry(bytes(datanet_id))
        return hexstr(datanet_id) if entry is None else entry[0]

    def datanet_owner(self, datanet: str | bytes) -> str | None:
        entry = self._datanet_entry(self.datanet_id(datanet))
        return None if entry is None else entry[1]

    def datanet_versions(self, datanet: str | bytes) -> list[DatanetVersionInfo]:
        """Every published version of a DataNet, from its logs."""
        did = self.datanet_id(datanet)
        entry = self._datanet_entry(did)
        name, owner = entry if entry is not None else (hexstr(did), None)
        out = []
        for raw in self.logs("DatanetVersionPublished", did):
            a = raw.args
            terms_bytes = bytes(a["terms"])
            try:
                terms = json.loads(terms_bytes)
            except (ValueError, UnicodeDecodeError, RecursionError):
                terms = None
            out.append(
                DatanetVersionInfo(
                    datanet_id=did,
                    name=name,
                    version=int(a["version"]),
                    content_root=bytes(a["contentRoot"]),
                    manifest_hash=bytes(a["manifestHash"]),
                    terms=terms if isinstance(terms, dict) else None,
                    terms_bytes=terms_bytes,
                    contributors=tuple((to_checksum_address(c[0]), int(c[1])) for c in a["contributors"]),
                    block_number=raw.block_number,
                    owner=owner,
                )
            )
        return out

    def datanet_version(self, datanet: str | bytes, version: int) -> DatanetVersionInfo:
        did = self.datanet_id(datanet)
        if (did, version) not in self._versions:
            for v in self.datanet_versions(did):
                self._versions[(did, v.version)] = v
        if (did, version) in self._versions:
            return self._versions[(did, version)]
        raise NotFoundError(f"DataNet {self._label(datanet, did)} has no version {version}")

    # ------------------------------------------------------------ retractions

    def datanet_retractions(
        self, datanet: str | bytes | None = None, version: int | None = None
    ) -> list[DatanetRetraction]:
        """DatanetVersionRetracted events (of one DataNet, or one version of it), in chain order."""
        topic = None if datanet is None else self.datanet_id(datanet)
        out = []
        for raw in self.logs("DatanetVersionRetracted", topic):
            a = raw.args
            if version is not None and int(a["version"]) != version:
                continue
            out.append(
                DatanetRetraction(
                    datanet_id=bytes(a["datanetId"]),
                    owner=to_checksum_address(a["owner"]),
                    version=int(a["version"]),
                    reason=int(a["reason"]),
                    note=str(a["note"]),
                    block_number=raw.block_number,
                    tx_hash=raw.tx_hash,
                    log_index=raw.log_index,
                )
            )
        return out

    def model_retractions(self, model: str | bytes | None = None, version: str | None = None) -> list[ModelRetraction]:
        """ModelVersionRetracted events (of one model, or one version of it), in chain order."""
        topics: list[bytes | None] = []
        if model is not None:
            mid = self.model_id(model)
            topics = [mid, None if version is None else model_version_key(mid, version)]
        out = []
        for raw in self.logs("ModelVersionRetracted", *topics):
            a = raw.args
            out.append(
                ModelRetraction(
                    model_id=bytes(a["modelId"]),
                    model_version_key=bytes(a["modelVersionKey"]),
                    owner=to_checksum_address(a["owner"]),
                    model_version=str(a["modelVersion"]),
                    reason=int(a["reason"]),
                    note=str(a["note"]),
                    block_number=raw.block_number,
                    tx_hash=raw.tx_hash,
                    log_index=raw.log_index,
                )
            )
        return out


def check_registry_code(w3: Web3, address: str) -> None:
    """Raise unless the runtime code at ``address`` is this SDK's ProvenanceRegistry v2 (one eth_getCode)."""
    code = bytes(w3.eth.get_code(to_checksum_address(address)))
    if not code:
        raise NotFoundError(f"no contract at {address} on chain {w3.eth.chain_id}")
    got, want = keccak(code), registry_abi().code_hash
    if got != want:
        raise VerificationError(
            f"the contract at {address} is not a ProvenanceRegistry v2: code hash {hexstr(got)} differs "
            f"from the shipped artifact's {hexstr(want)}"
        )


def _mark_verified(w3: Web3, address: str) -> None:
    with contextlib.suppress(TypeError):  # a connection that cannot be weakly referenced: checked every time
        _verified_code.setdefault(w3, set()).add(address)
