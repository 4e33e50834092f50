"""The registry client: deploy, register, publish, record, and read everything back from logs.

Writes go through :class:`~provenance_ledger.chain.Signer` (raw transactions, cached selectors).
Reads use ``eth_getLogs`` in block-range pages (split in half when a provider refuses a page) and
decode raw logs with ``eth_abi``. Every record read back is re-hashed and checked against the chain.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.providers import JSONBaseProvider
from web3.types import RPCEndpoint

from provenance_ledger.chain.abi import Event, registry_abi
from provenance_ledger.chain.rpc import Receipt, Signer, explain, quantity
from provenance_ledger.core.canonical import (
    canonical_json,
    encode_run,
    entity_id,
    model_version_key,
    name_id,
    run_tuple,
)
from provenance_ledger.core.entries import DatanetVersionInfo, ModelInfo, RecordedRun
from provenance_ledger.core.hashing import keccak
from provenance_ledger.core.hexutil import hexstr
from provenance_ledger.core.lineage import Lineage, Usage, build_lineage, models_trained_on
from provenance_ledger.core.records import TrainingRun, bytes32
from provenance_ledger.core.verify import check_record, prove_in_batch
from provenance_ledger.errors import ChainError, NotFoundError, ProvenanceError, ValidationError, VerificationError

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "Progress",
    "RawLog",
    "RecordResult",
    "Registry",
    "TxResult",
]

Progress = Callable[[int, int], None]
"""Called with (blocks done, blocks total) while reading logs."""

DEFAULT_PAGE_SIZE = 10_000


@dataclass(frozen=True, kw_only=True)
class TxResult:
    """What a write did on chain."""

    tx_hash: str
    block_number: int
    gas_used: int


@dataclass(frozen=True, kw_only=True)
class RecordResult:
    """Outcome of recording one run: its id, and the transaction (None if it was already recorded)."""

    record_id: bytes
    tx: TxResult | None
    already_recorded: bool


@dataclass(frozen=True)
class RawLog:
    event: Event
    args: dict[str, Any]
    block_number: int
    tx_hash: str
    log_index: int


class Registry:
    """A deployed ProvenanceRegistry on some chain, optionally with a signing account."""

    def __init__(
        self,
        w3: Web3,
        address: str,
        account: LocalAccount | None = None,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        from_block: int = 0,
    ) -> None:
        self.w3 = w3
        self.address = to_checksum_address(address)
        self.abi = registry_abi()
        self.signer = Signer(w3, account) if account is not None else None
        self.page_size = page_size
        self.from_block = from_block
        self._names: dict[bytes, str] = {}
        self._runs: dict[bytes, RecordedRun] = {}
        self._name_misses = 0
        self._receipts: dict[str, Any] = {}
        self._roots_ok: set[bytes] = set()
        self._trees: dict[tuple[str, int], list[list[bytes]]] = {}
        self._versions: dict[tuple[bytes, int], DatanetVersionInfo] = {}
        self._deploy_receipt: Receipt | None = None

    # ------------------------------------------------------------- lifecycle

    @classmethod
    def deploy(cls, w3: Web3, account: LocalAccount, **kwargs: Any) -> Registry:
        """Deploy a new registry with ``account`` and return a client for it."""
        signer = Signer(w3, account)
        receipt = signer.transact(None, registry_abi().bytecode)
        tx = w3.eth.get_transaction_receipt(receipt.tx_hash)  # type: ignore[arg-type]
        address = tx["contractAddress"]
        if address is None:
            raise ChainError("deployment produced no contract")
        registry = cls(w3, address, account, from_block=receipt.block_number, **kwargs)
        registry._deploy_receipt = receipt
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
        """A client for an existing registry; checks that a registry is deployed at ``address``."""
        try:
            checksum = to_checksum_address(address)
        except ValueError:
            raise ValidationError("address", f"not an address: {address!r}") from None
        if not w3.eth.get_code(checksum):
            raise NotFoundError(f"no contract at {checksum} on chain {w3.eth.chain_id}")
        registry = cls(w3, checksum, account, **kwargs)
        try:
            registry.version()
        except ProvenanceError:
            raise NotFoundError(f"the contract at {checksum} is not a ProvenanceRegistry") from None
        return registry

    # ----------------------------------------------------------------- calls

    def _call(self, fn: str, *args: Any) -> tuple[Any, ...]:
        f = self.abi.functions[fn]
        try:
            out = self.w3.eth.call({"to": self.address, "data": f.encode(*args)})
        except Exception as exc:
            raise explain(exc) from None
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

    def record_block(self, record_id: bytes) -> int:
        return int(self._call("recordBlock", record_id)[0])

    def anchor_block(self, root: bytes) -> int:
        return int(self._call("anchorBlock", root)[0])

    def model_owner(self, model: str | bytes) -> str | None:
        owner = self._call("modelOwner", entity_id(model, "model"))[0]
        return None if int(owner, 16) == 0 else to_checksum_address(owner)

    def can_record(self, model: str | bytes, account: str) -> bool:
        return bool(self._call("canRecord", entity_id(model, "model"), account)[0])

    def datanet_state(self, datanet: str | bytes) -> tuple[str | None, int]:
        owner, count = self._call("datanet", entity_id(datanet, "datanet"))
        return (None if int(owner, 16) == 0 else to_checksum_address(owner)), int(count)

    def compute_record_id(self, run: TrainingRun) -> bytes:
        """The id the contract derives (an eth_call; used to cross-check the Python encoding)."""
        return bytes(self._call("computeRecordId", run_tuple(run))[0])

    # ---------------------------------------------------------------- writes

    def register_model(self, name: str) -> tuple[bytes, TxResult]:
        r = self._transact("registerModel", name)
        return name_id(name), self._result(r)

    def authorize_trainer(self, model: str | bytes, trainer: str) -> TxResult:
        return self._result(self._transact("authorizeTrainer", entity_id(model, "model"), trainer))

    def revoke_trainer(self, model: str | bytes, trainer: str) -> TxResult:
        return self._result(self._transact("revokeTrainer", entity_id(model, "model"), trainer))

    def register_datanet(self, name: str) -> tuple[bytes, TxResult]:
        r = self._transact("registerDatanet", name)
        return name_id(name), self._result(r)

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
        datanet_id = entity_id(datanet, "datanet")
        contribs = [(to_checksum_address(a), int(s)) for a, s in contributors]
        r = self._transact(
            "publishDatanetVersion",
            datanet_id,
            bytes32(content_root, "content_root"),
            bytes32(manifest_hash, "manifest_hash"),
            canonical_json(terms),
            contribs,
        )
        ev = self.abi.events["DatanetVersionPublished"]
        for log in r.logs:
            if bytes(log["topics"][0]) == ev.topic0:
                return int(ev.decode(log["topics"], log["data"])["version"]), self._result(r)
        raise ChainError("publish transaction emitted no DatanetVersionPublished event")

    def record_run(self, run: TrainingRun) -> RecordResult:
        """Record one run. Idempotent: an already-recorded run returns its id and no transaction."""
        rid = keccak(encode_run(run))
        if self.record_block(rid):
            return RecordResult(record_id=rid, tx=None, already_recorded=True)
        r = self._transact("recordRun", run_tuple(run))
        return RecordResult(record_id=rid, tx=self._result(r), already_recorded=False)

    def record_runs(self, runs: Sequence[TrainingRun]) -> tuple[list[RecordResult], TxResult | None]:
        """Record a batch in one transaction, skipping runs already recorded (idempotent)."""
        ids = [keccak(encode_run(r)) for r in runs]
        fresh = [(i, r) for i, r in zip(ids, runs, strict=True) if not self.record_block(i)]
        first: dict[bytes, TrainingRun] = {}
        for i, r in fresh:
            first.setdefault(i, r)
        unique = list(first.items())
        tx = self._result(self._transact("recordRuns", [run_tuple(r) for _, r in unique])) if unique else None
        fresh_ids = {i for i, _ in unique}
        results = [
            RecordResult(record_id=i, tx=tx if i in fresh_ids else None, already_recorded=i not in fresh_ids)
            for i in ids
        ]
        return results, tx

    def anchor_runs(self, runs: Sequence[TrainingRun]) -> tuple[bytes, TxResult]:
        """Anchor a batch under one Merkle root (one storage slot for the batch)."""
        r = self._transact("anchorRuns", [run_tuple(x) for x in runs])
        ev = self.abi.events["RunsAnchored"]
        for log in r.logs:
            if bytes(log["topics"][0]) == ev.topic0:
                return bytes(ev.decode(log["topics"], log["data"])["root"]), self._result(r)
        raise ChainError("anchor transaction emitted no RunsAnchored event")

    # ----------------------------------------------------------------- reads

    def logs(
        self,
        event: str,
        *topics: bytes | Sequence[bytes] | None,
        from_block: int | None = None,
        to_block: int | None = None,
        progress: Progress | None = None,
    ) -> list[RawLog]:
        """All logs of ``event`` matching the indexed ``topics`` (None = any), paged by block range."""
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
        for _lo, hi, raw in self.log_pages(topic_filter, start, end):
            for log in raw:
                args = ev.decode(list(log["topics"]), bytes(log["data"]))
                out.append(
                    RawLog(ev, args, int(log["blockNumber"]), hexstr(log["transactionHash"]), int(log["logIndex"]))
                )
            if progress is not None:
                progress(hi - start + 1, total)
        return out

    def log_pages(
        self, topics: list[Any], start: int, end: int, *, max_logs: int | None = None
    ) -> Iterator[tuple[int, int, list[Any]]]:
        """``(lo, hi, logs)`` pages of this registry's raw logs matching ``topics`` (an eth_getLogs
        topic filter of 0x hex strings) covering blocks ``start..end``, one eth_getLogs each. Each
        log maps the usual keys (topics, data, blockNumber, blockHash, transactionHash, logIndex)
        to bytes-like and int values.

        A refused page (too many results, range too large, timeout) is halved and retried; after
        each success the page grows again (doubling, up to ``page_size`` blocks, and, when
        ``max_logs`` is given, to about ``max_logs`` results at the density just seen; the first page
        is then a single block, so that a dense chain never answers with millions of logs at once).
        """
        size = self.page_size if max_logs is None else 1
        lo = start
        while lo <= end:
            hi = min(lo + size - 1, end)
            try:
                raw = self._get_logs(topics, lo, hi)
            except Exception as exc:
                if hi > lo:  # provider refused the page (too many results / range too large): halve it
                    size = max(1, (hi - lo + 1) // 2)
                    continue
                raise ChainError(
                    f"eth_getLogs refused block {lo} on its own, so the page cannot be split further "
                    f"(the provider's result cap is below this block's registry logs): {exc}"
                ) from None
            yield lo, hi, raw
            span = hi - lo + 1
            size = min(self.page_size, max(size, span) * 2)
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
        """The verified :class:`RecordedRun` of a ``RunRecorded`` log read by :meth:`logs`.

        The logged bytes must hash to the record id, decode canonically and agree with the event
        topics (:func:`~provenance_ledger.core.verify.check_record`); with ``verify`` the record must
        also be stored on chain at the logged block, or be proven in a batch anchored on chain.
        Raises VerificationError otherwise."""
        a = raw.args
        record = bytes(a["record"])
        rid = bytes(a["recordId"])
        run = check_record(rid, record, model_id=bytes(a["modelId"]), version_key=bytes(a["modelVersionKey"]))
        root: bytes | None = None
        proof: tuple[bytes, ...] = ()
        if verify:
            block = self.record_block(rid)
            if block == 0:
                root, proof = self._anchor_proof(raw, rid)
            elif block != raw.block_number:
                raise VerificationError(
                    f"record {hexstr(rid)}: stored block {block} != logged block {raw.block_number}"
                )
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

    def runs_of(self, model: str | bytes, version: str) -> list[RecordedRun]:
        """Every run that produced ``model@version`` (verified)."""
        mid = entity_id(model, "model")
        return self._unique(self.logs("RunRecorded", mid, model_version_key(mid, version)))

    def runs_of_model(self, model: str | bytes) -> list[RecordedRun]:
        return self._unique(self.logs("RunRecorded", entity_id(model, "model")))

    def all_runs(self, progress: Progress | None = None) -> list[RecordedRun]:
        return self._unique(self.logs("RunRecorded", progress=progress))

    def _unique(self, raws: Iterable[RawLog]) -> list[RecordedRun]:
        """First occurrence wins (an anchored run may be logged twice; it is the same record)."""
        out: dict[bytes, RecordedRun] = {}
        for raw in raws:
            rid = bytes(raw.args["recordId"])
            if rid not in out:
                out[rid] = self.recorded(raw)
        return list(out.values())

    def get_run(self, record_id: bytes) -> RecordedRun:
        """The verified record with this id (found via its stored block when recorded individually)."""
        cached = self._runs.get(record_id)
        if cached is not None:
            return cached
        block = self.record_block(record_id)
        raws = (
            self.logs("RunRecorded", None, None, record_id, from_block=block, to_block=block)
            if block
            else self.logs("RunRecorded", None, None, record_id)
        )
        if not raws:
            raise NotFoundError(f"no record {hexstr(record_id)} on this registry")
        self._runs[record_id] = self.recorded(raws[0])
        return self._runs[record_id]

    def get_runs(self, record_ids: Sequence[bytes], *, chunk: int = 500) -> dict[bytes, RecordedRun]:
        """Many verified records at once: one eth_getLogs per ``chunk`` ids (topic OR-filter)."""
        missing = [r for r in dict.fromkeys(record_ids) if r not in self._runs]
        for i in range(0, len(missing), chunk):
            for raw in self.logs("RunRecorded", None, None, missing[i : i + chunk]):
                rid = bytes(raw.args["recordId"])
                if rid not in self._runs:
                    self._runs[rid] = self.recorded(raw)
        absent = [r for r in record_ids if r not in self._runs]
        if absent:
            raise NotFoundError(f"no record {hexstr(absent[0])} on this registry")
        return {r: self._runs[r] for r in record_ids}

    def children_of_many(self, record_ids: Sequence[bytes], *, chunk: int = 500) -> dict[bytes, list[bytes]]:
        """Children (fine-tunes) of many records at once."""
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
        """Record ids of runs that fine-tuned the model produced by ``record_id``."""
        return list(dict.fromkeys(bytes(r.args["recordId"]) for r in self.logs("ParentUsed", record_id)))

    def datanet_use_records(self, datanet: str | bytes) -> list[tuple[bytes, int]]:
        """(record id, DataNet version) of every run that trained on ``datanet``."""
        return list(
            dict.fromkeys((bytes(r.args["recordId"]), int(r.args["version"])) for r in self.datanet_uses(datanet))
        )

    def lineage(self, model: str | bytes, version: str) -> Lineage:
        """The verified lineage of ``model@version``."""
        info = self.model_info(model)  # NotFoundError names an unregistered model
        self._names[info.model_id] = info.name
        return build_lineage(self, info.model_id, version)

    def models_trained_on(self, datanet: str | bytes, version: int | None = None) -> list[Usage]:
        """Every model version that used ``datanet`` (or one version of it), through fine-tunes too."""
        did = entity_id(datanet, "datanet")
        if not self.logs("DatanetRegistered", did):
            raise NotFoundError(f"DataNet {datanet if isinstance(datanet, str) else hexstr(did)} is not registered")
        return models_trained_on(self, did, version)

    def datanet_uses(self, datanet: str | bytes) -> list[RawLog]:
        """DatanetUsed logs of a DataNet (every run that trained on any of its versions)."""
        return self.logs("DatanetUsed", entity_id(datanet, "datanet"))

    def model_info(self, model: str | bytes) -> ModelInfo:
        mid = entity_id(model, "model")
        raws = self.logs("ModelRegistered", mid)
        if not raws:
            raise NotFoundError(f"model {model if isinstance(model, str) else hexstr(mid)} is not registered")
        a = raws[0].args
        return ModelInfo(
            model_id=mid, name=a["name"], owner=to_checksum_address(a["owner"]), block_number=raws[0].block_number
        )

    def model_name(self, model_id: bytes) -> str:
        if model_id not in self._names:
            self._name_misses += 1
            if self._name_misses == 8:  # many names wanted (a reverse query): read every model once
                for raw in self.logs("ModelRegistered"):
                    self._names.setdefault(bytes(raw.args["modelId"]), raw.args["name"])
            if model_id not in self._names:
                try:
                    self._names[model_id] = self.model_info(model_id).name
                except NotFoundError:
                    self._names[model_id] = hexstr(model_id)
        return self._names[model_id]

    def datanet_name(self, datanet_id: bytes) -> str:
        if datanet_id not in self._names:
            raws = self.logs("DatanetRegistered", datanet_id)
            self._names[datanet_id] = raws[0].args["name"] if raws else hexstr(datanet_id)
        return self._names[datanet_id]

    def datanet_versions(self, datanet: str | bytes) -> list[DatanetVersionInfo]:
        """Every published version of a DataNet, from its logs."""
        did = entity_id(datanet, "datanet")
        name = self.datanet_name(did)
        out = []
        for raw in self.logs("DatanetVersionPublished", did):
            a = raw.args
            terms_bytes = bytes(a["terms"])
            try:
                terms = json.loads(terms_bytes)
            except (ValueError, UnicodeDecodeError):
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
                )
            )
        return out

    def datanet_version(self, datanet: str | bytes, version: int) -> DatanetVersionInfo:
        did = entity_id(datanet, "datanet")
        if (did, version) not in self._versions:
            for v in self.datanet_versions(did):
                self._versions[(did, v.version)] = v
        if (did, version) in self._versions:
            return self._versions[(did, version)]
        raise NotFoundError(
            f"DataNet {datanet if isinstance(datanet, str) else hexstr(datanet)} has no version {version}"
        )
