"""Evidence bundles: a lineage checked offline against a trusted block hash. Pure: no web3, no I/O.

A bundle (format ``provenance-evidence/1``, see ``docs/AUDITING.md``) carries everything an auditor
needs to re-check a lineage with no node and no trust beyond one or more block hashes:

- ``headers``: RLP block headers; each one's keccak256 is its hash, and each is trusted only when its
  hash is a trusted block hash or the ``parentHash`` of a trusted header (so one trusted hash, that of
  the newest header, vouches for the whole chain of headers below it);
- ``state``: an ``eth_getProof`` account proof of the registry against the ``stateRoot`` of one
  header, and storage proofs of the registry's slots against the account's ``storageRoot``. These show
  what the registry *stores*: the block of each individually recorded run (``_recordBlock``), of each
  anchored batch root (``_anchorBlock``), each model's owner, each DataNet's owner and the hashes of
  each DataNet version. The account's ``codeHash`` must be the shipped registry's. Storage proofs stay
  servable after nodes prune old receipts (EIP-4444): a node proves its current state;
- ``receipts``: receipt Merkle-Patricia proofs against the ``receiptsRoot`` of their block headers.
  They prove the logged event bytes: who recorded a run, the DataNet version's published terms, the
  retractions (which the registry does not store);
- ``records`` (canonical bytes: their keccak256 is the id), anchored runs' Merkle paths to their
  batch root, ``models`` and ``datanets`` (names: ``keccak256(abi.encode(owner, name))`` is the id),
  ``datanet_versions`` (terms and contributor bytes, hashed against the stored hashes; the manifest
  where known), ``retractions``, and for a contributor's proof, ``contribution``.

:func:`load_bundle` parses a bundle (no check yet); :func:`verify_bundle` checks every proof and
every field, in a fixed order, and returns the verified lineage, or raises
:class:`EvidenceError` naming the first check that failed. Every value is derived from the proofs;
the bundle's own fields are only keys to look proofs up by, so that changing any byte of it is caught.

Merkle-Patricia proofs are checked by ``trie`` (HexaryTrie) and RLP by ``rlp``; nothing here
re-implements a trie.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import rlp
from trie.hexary import HexaryTrie

from provenance_ledger.core.address import checksum_address
from provenance_ledger.core.canonical import contributors_hash, entity_id, model_version_key
from provenance_ledger.core.entries import (
    DatanetRetraction,
    DatanetVersionInfo,
    ModelRetraction,
    RecordedRun,
)
from provenance_ledger.core.hashing import keccak
from provenance_ledger.core.hexutil import hexstr
from provenance_ledger.core.lineage import Lineage, build_lineage
from provenance_ledger.core.manifest import FileEntry, FileProof, Manifest, check_manifest, verify_file_proof
from provenance_ledger.core.merkle import merkle_levels_of_ids, verify_proof_of_id
from provenance_ledger.core.verify import check_record
from provenance_ledger.errors import NotFoundError, ProvenanceError, VerificationError

__all__ = [
    "EVENT_SIGNATURES",
    "FORMAT",
    "SLOTS",
    "Bundle",
    "EvidenceError",
    "LogRef",
    "VerifiedEvidence",
    "anchor_block_slot",
    "datanet_info_slot",
    "datanet_version_slots",
    "event_topic",
    "header_fields",
    "load_bundle",
    "model_owner_slot",
    "record_block_slot",
    "verify_bundle",
]

FORMAT = "provenance-evidence/1"
"""The bundle format this module writes and reads."""

SLOTS = {
    "_deployedAt": 0,
    "_modelOwner": 1,
    "_isTrainer": 2,
    "_datanets": 3,
    "_versions": 4,
    "_recordBlock": 5,
    "_anchorBlock": 6,
}
"""Storage layout of ProvenanceRegistry (``forge inspect ProvenanceRegistry storageLayout``)."""

EVENT_SIGNATURES = {
    "ModelRegistered": "ModelRegistered(bytes32,address,string)",
    "DatanetRegistered": "DatanetRegistered(bytes32,address,string)",
    "DatanetVersionPublished": "DatanetVersionPublished(bytes32,bytes32,uint64,bytes32,bytes,(address,uint64)[])",
    "RunRecorded": "RunRecorded(bytes32,bytes32,bytes32,address,bytes)",
    "RunsAnchored": "RunsAnchored(bytes32,uint256)",
    "DatanetVersionRetracted": "DatanetVersionRetracted(bytes32,address,uint64,uint8,string)",
    "ModelVersionRetracted": "ModelVersionRetracted(bytes32,bytes32,address,string,uint8,string)",
}
"""The registry events a bundle uses, by name: their canonical signatures (topic0 = keccak256)."""

_DATA_TYPES = {
    "ModelRegistered": ["string"],
    "DatanetRegistered": ["string"],
    "DatanetVersionPublished": ["uint64", "bytes32", "bytes", "(address,uint64)[]"],
    "RunRecorded": ["address", "bytes"],
    "RunsAnchored": ["uint256"],
    "DatanetVersionRetracted": ["uint64", "uint8", "string"],
    "ModelVersionRetracted": ["string", "uint8", "string"],
}
_TOPIC_COUNTS = {
    "ModelRegistered": 3,
    "DatanetRegistered": 3,
    "DatanetVersionPublished": 3,
    "RunRecorded": 4,
    "RunsAnchored": 2,
    "DatanetVersionRetracted": 3,
    "ModelVersionRetracted": 4,
}


def event_topic(name: str) -> bytes:
    """topic0 of the registry event ``name``."""
    return keccak(EVENT_SIGNATURES[name].encode())


_TOPIC0 = {event_topic(n): n for n in EVENT_SIGNATURES}


class EvidenceError(VerificationError):
    """A bundle check failed; the message names the check (``check`` holds its short name)."""

    def __init__(self, check: str, detail: str) -> None:
        super().__init__(f"{check}: {detail}")
        self.check = check
        self.detail = detail


# ----------------------------------------------------------------------------- slots


def _u256(n: int) -> bytes:
    return n.to_bytes(32, "big")


def _mapping(key: bytes, slot: int | bytes) -> bytes:
    return keccak(key + (slot if isinstance(slot, bytes) else _u256(slot)))


def record_block_slot(record_id: bytes) -> bytes:
    """Slot of ``_recordBlock[recordId]`` (the block a run was recorded individually in, else 0)."""
    return _mapping(record_id, SLOTS["_recordBlock"])


def anchor_block_slot(root: bytes) -> bytes:
    """Slot of ``_anchorBlock[root]`` (the block a batch root was anchored in, else 0)."""
    return _mapping(root, SLOTS["_anchorBlock"])


def model_owner_slot(model_id: bytes) -> bytes:
    """Slot of ``_modelOwner[modelId]``."""
    return _mapping(model_id, SLOTS["_modelOwner"])


def datanet_info_slot(datanet_id: bytes) -> bytes:
    """Slot of ``_datanets[datanetId]``: owner (low 160 bits) and version count (next 64 bits)."""
    return _mapping(datanet_id, SLOTS["_datanets"])


def datanet_version_slots(datanet_id: bytes, version: int) -> list[bytes]:
    """The 5 slots of ``_versions[datanetId][version]``: content root, manifest hash, terms hash,
    contributors hash, published block."""
    base = int.from_bytes(_mapping(_u256(version), _mapping(datanet_id, SLOTS["_versions"])), "big")
    return [_u256((base + i) % 2**256) for i in range(5)]


# ----------------------------------------------------------------------------- parsing


def _hex(value: object, where: str, size: int | None = None) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise EvidenceError("bundle", f"{where} must be a 0x hex string")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        raise EvidenceError("bundle", f"{where} is not hex") from None
    if size is not None and len(raw) != size:
        raise EvidenceError("bundle", f"{where} must be {size} bytes, got {len(raw)}")
    return raw


def _int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise EvidenceError("bundle", f"{where} must be a non-negative integer")
    return value


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise EvidenceError("bundle", f"{where} must be a list")
    return value


def _obj(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise EvidenceError("bundle", f"{where} must be an object")
    return value


def _str(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise EvidenceError("bundle", f"{where} must be a string")
    return value


def _nodes(value: object, where: str) -> tuple[bytes, ...]:
    return tuple(_hex(n, f"{where}[{i}]") for i, n in enumerate(_list(value, where)))


@dataclass(frozen=True, kw_only=True)
class LogRef:
    """A log by position: block number, transaction index in the block, log index in the receipt."""

    block: int
    tx_index: int
    log_index: int

    @classmethod
    def parse(cls, value: object, where: str) -> LogRef | None:
        if value is None:
            return None
        v = _obj(value, where)
        return cls(
            block=_int(v.get("block"), f"{where}.block"),
            tx_index=_int(v.get("tx_index"), f"{where}.tx_index"),
            log_index=_int(v.get("log_index"), f"{where}.log_index"),
        )

    def to_json(self) -> dict[str, int]:
        return {"block": self.block, "tx_index": self.tx_index, "log_index": self.log_index}


@dataclass(frozen=True, kw_only=True)
class Bundle:
    """A parsed, not yet verified, evidence bundle (see the module docstring and docs/AUDITING.md)."""

    chain_id: int
    registry: bytes
    """The registry's 20-byte address."""
    kind: str
    target_model: bytes
    target_version: str
    target_records: tuple[bytes, ...]
    headers: tuple[bytes, ...]
    state: Mapping[str, Any] | None
    receipts: tuple[Mapping[str, Any], ...]
    models: tuple[Mapping[str, Any], ...]
    datanets: tuple[Mapping[str, Any], ...]
    datanet_versions: tuple[Mapping[str, Any], ...]
    records: tuple[Mapping[str, Any], ...]
    retractions: tuple[Mapping[str, Any], ...]
    contribution: Mapping[str, Any] | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


def load_bundle(data: bytes | str | Mapping[str, Any]) -> Bundle:
    """Parse a bundle (its JSON text or the decoded object). Checks the shape only; raises EvidenceError."""
    if isinstance(data, bytes | str):
        try:
            obj = json.loads(data)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise EvidenceError("bundle", f"is not JSON ({exc.__class__.__name__})") from None
    else:
        obj = data
    b = _obj(obj, "the bundle")
    if b.get("format") != FORMAT:
        raise EvidenceError("bundle", f"format must be {FORMAT!r}, got {b.get('format')!r}")
    target = _obj(b.get("target"), "target")
    state = b.get("state")
    return Bundle(
        chain_id=_int(b.get("chain_id"), "chain_id"),
        registry=_hex(b.get("registry"), "registry", 20),
        kind=_str(b.get("kind", "lineage"), "kind"),
        target_model=_hex(target.get("model_id"), "target.model_id", 32),
        target_version=_str(target.get("version"), "target.version"),
        target_records=tuple(
            _hex(r, f"target.records[{i}]", 32) for i, r in enumerate(_list(target.get("records"), "target.records"))
        ),
        headers=_nodes(b.get("headers"), "headers"),
        state=None if state is None else _obj(state, "state"),
        receipts=tuple(_obj(x, "receipts[]") for x in _list(b.get("receipts", []), "receipts")),
        models=tuple(_obj(x, "models[]") for x in _list(b.get("models", []), "models")),
        datanets=tuple(_obj(x, "datanets[]") for x in _list(b.get("datanets", []), "datanets")),
        datanet_versions=tuple(
            _obj(x, "datanet_versions[]") for x in _list(b.get("datanet_versions", []), "datanet_versions")
        ),
        records=tuple(_obj(x, "records[]") for x in _list(b.get("records", []), "records")),
        retractions=tuple(_obj(x, "retractions[]") for x in _list(b.get("retractions", []), "retractions")),
        contribution=None if b.get("contribution") is None else _obj(b.get("contribution"), "contribution"),
        raw=b,
    )


# ----------------------------------------------------------------------------- headers


@dataclass(frozen=True, kw_only=True)
class _Header:
    hash: bytes
    parent: bytes
    state_root: bytes
    receipts_root: bytes
    number: int


def header_fields(header_rlp: bytes) -> tuple[bytes, bytes, bytes, bytes, int]:
    """(hash, parent hash, state root, receipts root, number) of an RLP block header."""
    try:
        items = rlp.decode(header_rlp)
    except Exception:
        raise EvidenceError("header", "is not RLP") from None
    if (
        not isinstance(items, list)
        or len(items) < 15
        or not all(isinstance(x, bytes) for x in items)
        or any(len(items[i]) != 32 for i in (0, 3, 5))
        or len(items[8]) > 8
    ):
        raise EvidenceError("header", "is not a block header")
    return keccak(header_rlp), items[0], items[3], items[5], int.from_bytes(items[8], "big")


def _headers(bundle: Bundle, trusted: Iterable[bytes]) -> dict[int, _Header]:
    by_number: dict[int, _Header] = {}
    for i, raw in enumerate(bundle.headers):
        try:
            hash_, parent, state_root, receipts_root, number = header_fields(raw)
        except EvidenceError as exc:
            raise EvidenceError("header", f"headers[{i}] {exc.detail}") from None
        if number in by_number:
            raise EvidenceError("header", f"two headers for block {number}")
        by_number[number] = _Header(
            hash=hash_, parent=parent, state_root=state_root, receipts_root=receipts_root, number=number
        )
    if not by_number:
        raise EvidenceError("header", "the bundle has no block headers")
    trust = {bytes(t) for t in trusted}
    for number in sorted(by_number, reverse=True):
        h = by_number[number]
        if h.hash in trust:
            trust.add(h.parent)
    for number in sorted(by_number):
        h = by_number[number]
        if h.hash not in trust:
            raise EvidenceError(
                "trusted block",
                f"block {number} (hash {hexstr(h.hash)}) does not link to a trusted block hash through parent hashes",
            )
    return by_number


# ----------------------------------------------------------------------------- trie proofs


def _prove(root: bytes, key: bytes, nodes: Sequence[bytes], what: str) -> bytes:
    """The value at ``key`` in the trie with ``root`` per the proof ``nodes`` (b"" if absent); every
    node given must lie on the key's path (an unused node is refused, so no byte goes unchecked)."""
    try:
        decoded = [rlp.decode(n) for n in nodes]
        value = HexaryTrie.get_from_proof(root, key, decoded)  # type: ignore[no-untyped-call]
        db = {keccak(n): n for n in nodes}
        path = {rlp.encode(n) for n in HexaryTrie(db, root).get_proof(key)}  # type: ignore[no-untyped-call]
    except Exception as exc:
        raise EvidenceError(
            "proof", f"{what}: the Merkle-Patricia proof does not check out ({type(exc).__name__})"
        ) from None
    if any(n not in path for n in nodes):
        raise EvidenceError("proof", f"{what}: the proof has a node off the proven path")
    return bytes(value)


def _word(value: bytes, what: str) -> int:
    """A storage leaf value (RLP of the word's minimal big-endian bytes) as an integer; 0 if absent."""
    if value == b"":
        return 0
    try:
        raw = rlp.decode(value)
    except Exception:
        raise EvidenceError("proof", f"{what}: the stored value is not RLP") from None
    if not isinstance(raw, bytes) or len(raw) > 32:
        raise EvidenceError("proof", f"{what}: the stored value is not a word")
    return int.from_bytes(raw, "big")


@dataclass(frozen=True, kw_only=True)
class _Log:
    address: bytes
    topics: tuple[bytes, ...]
    data: bytes
    block: int


def _receipt_logs(value: bytes, what: str, block: int) -> list[_Log]:
    payload = value[1:] if value and value[0] < 0x80 else value
    try:
        items = rlp.decode(payload)
        status, _gas, _bloom, logs = items
        out = [
            _Log(address=bytes(a), topics=tuple(bytes(t) for t in topics), data=bytes(d), block=block)
            for a, topics, d in logs
        ]
    except Exception:
        raise EvidenceError("receipt", f"{what}: not a receipt") from None
    if status != b"\x01":
        raise EvidenceError("receipt", f"{what}: the transaction failed (status {status.hex() or '0'})")
    return out


def _decode(types: list[str], data: bytes, what: str) -> tuple[Any, ...]:
    from eth_abi.abi import decode as abi_decode

    try:
        return tuple(abi_decode(types, data, strict=True))
    except Exception:
        raise EvidenceError("log", f"{what}: its data does not decode") from None


# ----------------------------------------------------------------------------- the checks


@dataclass(frozen=True, kw_only=True)
class VerifiedEvidence:
    """What a bundle proved: the lineage, the contribution (if any) and what was checked."""

    lineage: Lineage
    checks: dict[str, int]
    """How many of each kind of proof were checked (headers, receipts, storage slots, ...)."""
    state_block: int | None
    """The block whose state the storage proofs are against (None: the bundle has no state proof)."""
    trusted: tuple[str, ...]
    """The trusted block hashes that anchored the headers."""
    contribution: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "verified": True,
            "format": FORMAT,
            "trusted_blocks": list(self.trusted),
            "state_block": self.state_block,
            "checks": dict(self.checks),
            "contribution": self.contribution,
            "lineage": self.lineage.to_dict(),
        }


class _Source:
    """A :class:`~provenance_ledger.core.lineage.LedgerSource` over a bundle's verified entries."""

    def __init__(self) -> None:
        self.runs: dict[bytes, RecordedRun] = {}
        self.targets: list[bytes] = []
        self.versions: dict[tuple[bytes, int], DatanetVersionInfo] = {}
        self.models: dict[bytes, tuple[str, str]] = {}
        self.datanets: dict[bytes, tuple[str, str]] = {}
        self.d_retractions: list[DatanetRetraction] = []
        self.m_retractions: list[ModelRetraction] = []

    def runs_of(self, model: bytes, version: str) -> list[RecordedRun]:
        return [self.runs[r] for r in self.targets]

    def get_run(self, record_id: bytes) -> RecordedRun:
        try:
            return self.runs[bytes(record_id)]
        except KeyError:
            raise EvidenceError("completeness", f"the bundle has no record {hexstr(record_id)}") from None

    def datanet_version(self, datanet: bytes, version: int) -> DatanetVersionInfo:
        try:
            return self.versions[(bytes(datanet), version)]
        except KeyError:
            raise EvidenceError(
                "completeness", f"the bundle has no DataNet version {hexstr(datanet)}@{version}"
            ) from None

    def model_name(self, model_id: bytes) -> str:
        entry = self.models.get(bytes(model_id))
        return hexstr(model_id) if entry is None else entry[0]

    def model_owner_of(self, model_id: bytes) -> str | None:
        entry = self.models.get(bytes(model_id))
        return None if entry is None else entry[1]

    def datanet_use_records(self, datanet: bytes) -> list[tuple[bytes, int]]:
        raise NotFoundError("an evidence bundle answers lineage only")

    def children_of(self, record_id: bytes) -> list[bytes]:
        raise NotFoundError("an evidence bundle answers lineage only")

    def datanet_retractions(self) -> list[DatanetRetraction]:
        return self.d_retractions

    def model_retractions(self) -> list[ModelRetraction]:
        return self.m_retractions


class _Checker:
    def __init__(self, bundle: Bundle, headers: dict[int, _Header], code_hash: bytes | None) -> None:
        self.b = bundle
        self.headers = headers
        self.code_hash = code_hash
        self.slots: dict[bytes, int] | None = None
        self.state_block: int | None = None
        self.receipts: dict[tuple[int, int], list[_Log]] = {}
        self.checks = {"headers": len(headers), "receipts": 0, "storage_slots": 0, "records": 0, "logs": 0}

    # -- proofs

    def header(self, number: int, what: str) -> _Header:
        h = self.headers.get(number)
        if h is None:
            raise EvidenceError("header", f"{what}: the bundle has no header of block {number}")
        return h

    def state(self) -> None:
        st = self.b.state
        if st is None:
            return
        number = _int(st.get("block"), "state.block")
        h = self.header(number, "state")
        account = _prove(
            h.state_root,
            keccak(self.b.registry),
            _nodes(st.get("account_proof"), "state.account_proof"),
            "registry account",
        )
        try:
            _nonce, _balance, storage_root, code_hash = rlp.decode(account)
        except Exception:
            raise EvidenceError("proof", "registry account: not an account (is anything deployed there?)") from None
        if self.code_hash is not None and code_hash != self.code_hash:
            raise EvidenceError(
                "registry code",
                f"the code at {checksum_address(self.b.registry)} is not the ProvenanceRegistry this verifier knows "
                f"(code hash {hexstr(code_hash)})",
            )
        slots: dict[bytes, int] = {}
        for i, s in enumerate(_list(st.get("slots"), "state.slots")):
            s = _obj(s, f"state.slots[{i}]")
            slot = _hex(s.get("slot"), f"state.slots[{i}].slot", 32)
            value = _prove(
                storage_root, keccak(slot), _nodes(s.get("proof"), f"state.slots[{i}].proof"), f"slot {hexstr(slot)}"
            )
            slots[slot] = _word(value, f"slot {hexstr(slot)}")
        self.slots, self.state_block = slots, number
        self.checks["storage_slots"] = len(slots)

    def slot(self, slot: bytes, what: str) -> int:
        assert self.slots is not None
        if slot not in self.slots:
            raise EvidenceError("storage", f"{what}: the bundle has no storage proof of slot {hexstr(slot)}")
        return self.slots[slot]

    def receipt_proofs(self) -> None:
        for i, r in enumerate(self.b.receipts):
            number = _int(r.get("block"), f"receipts[{i}].block")
            index = _int(r.get("tx_index"), f"receipts[{i}].tx_index")
            what = f"receipt of block {number} transaction {index}"
            h = self.header(number, what)
            value = _prove(h.receipts_root, rlp.encode(index), _nodes(r.get("proof"), f"receipts[{i}].proof"), what)
            if not value:
                raise EvidenceError("proof", f"{what}: no such receipt under the block's receiptsRoot")
            self.receipts[(number, index)] = _receipt_logs(value, what, number)
        self.checks["receipts"] = len(self.receipts)

    def log(self, ref: LogRef, event: str, what: str) -> tuple[_Log, tuple[Any, ...]]:
        logs = self.receipts.get((ref.block, ref.tx_index))
        if logs is None:
            raise EvidenceError(
                "receipt", f"{what}: the bundle has no receipt of block {ref.block} transaction {ref.tx_index}"
            )
        if ref.log_index >= len(logs):
            raise EvidenceError("log", f"{what}: the receipt has no log {ref.log_index}")
        log = logs[ref.log_index]
        if log.address != self.b.registry:
            raise EvidenceError("log", f"{what}: the log was not emitted by the registry")
        if not log.topics or log.topics[0] != event_topic(event) or len(log.topics) != _TOPIC_COUNTS[event]:
            raise EvidenceError("log", f"{what}: the log is not a {event} event")
        self.checks["logs"] += 1
        return log, _decode(_DATA_TYPES[event], log.data, what)

    def need_proof(self, has_log: bool, what: str) -> None:
        if self.slots is None and not has_log:
            raise EvidenceError("completeness", f"{what}: neither a storage proof nor a receipt proves it")

    # -- entities

    def models(self, src: _Source) -> None:
        for i, m in enumerate(self.b.models):
            mid = _hex(m.get("model_id"), f"models[{i}].model_id", 32)
            name = _str(m.get("name"), f"models[{i}].name")
            owner = _hex(m.get("owner"), f"models[{i}].owner", 20)
            what = f"model {hexstr(mid)}"
            _entity(mid, owner, name, what)
            ref = LogRef.parse(m.get("log"), f"models[{i}].log")
            self.need_proof(ref is not None, what)
            if self.slots is not None and self.slot(model_owner_slot(mid), what) != int.from_bytes(owner, "big"):
                raise EvidenceError("storage", f"{what}: the stored owner is not {checksum_address(owner)}")
            if ref is not None:
                log, (logged_name,) = self.log(ref, "ModelRegistered", what)
                if log.topics[1] != mid or log.topics[2] != _u256(int.from_bytes(owner, "big")) or logged_name != name:
                    raise EvidenceError("log", f"{what}: its ModelRegistered event disagrees")
            src.models[mid] = (name, checksum_address(owner))

    def datanets(self, src: _Source) -> None:
        for i, d in enumerate(self.b.datanets):
            did = _hex(d.get("datanet_id"), f"datanets[{i}].datanet_id", 32)
            name = _str(d.get("name"), f"datanets[{i}].name")
            owner = _hex(d.get("owner"), f"datanets[{i}].owner", 20)
            what = f"DataNet {hexstr(did)}"
            _entity(did, owner, name, what)
            ref = LogRef.parse(d.get("log"), f"datanets[{i}].log")
            self.need_proof(ref is not None, what)
            if self.slots is not None:
                stored = self.slot(datanet_info_slot(did), what) & ((1 << 160) - 1)
                if stored != int.from_bytes(owner, "big"):
                    raise EvidenceError("storage", f"{what}: the stored owner is not {checksum_address(owner)}")
            if ref is not None:
                log, (logged_name,) = self.log(ref, "DatanetRegistered", what)
                if log.topics[1] != did or log.topics[2] != _u256(int.from_bytes(owner, "big")) or logged_name != name:
                    raise EvidenceError("log", f"{what}: its DatanetRegistered event disagrees")
            src.datanets[did] = (name, checksum_address(owner))

    def datanet_versions(self, src: _Source) -> None:
        for i, d in enumerate(self.b.datanet_versions):
            w = f"datanet_versions[{i}]"
            did = _hex(d.get("datanet_id"), f"{w}.datanet_id", 32)
            version = _int(d.get("version"), f"{w}.version")
            terms = _hex(d.get("terms"), f"{w}.terms")
            contributors = []
            for j, c in enumerate(_list(d.get("contributors"), f"{w}.contributors")):
                c = _obj(c, f"{w}.contributors[{j}]")
                contributors.append(
                    (
                        checksum_address(_hex(c.get("account"), f"{w}.contributors[{j}].account", 20)),
                        _int(c.get("shares"), f"{w}.contributors[{j}].shares"),
                    )
                )
            name = src.datanets.get(did, (hexstr(did), None))[0]
            what = f"DataNet version {name}@{version}"
            ref = LogRef.parse(d.get("log"), f"{w}.log")
            self.need_proof(ref is not None, what)
            try:
                c_hash = contributors_hash(contributors)
            except Exception:
                raise EvidenceError("bundle", f"{what}: contributors do not encode") from None
            root = manifest_hash = b""
            block = 0
            if self.slots is not None:
                s = [self.slot(x, what) for x in datanet_version_slots(did, version)]
                if s[4] == 0:
                    raise EvidenceError("storage", f"{what}: not published (no stored entry)")
                root, manifest_hash, block = _u256(s[0]), _u256(s[1]), s[4]
                if keccak(terms) != _u256(s[2]):
                    raise EvidenceError("terms", f"{what}: the terms bytes do not hash to the stored terms hash")
                if c_hash != _u256(s[3]):
                    raise EvidenceError(
                        "contributors", f"{what}: the contributors do not hash to the stored contributors hash"
                    )
            if ref is not None:
                log, (v, m_hash, t, cs) = self.log(ref, "DatanetVersionPublished", what)
                logged = [(checksum_address(a), int(n)) for a, n in cs]
                if log.topics[1] != did or v != version or bytes(t) != terms or logged != contributors:
                    raise EvidenceError("log", f"{what}: its DatanetVersionPublished event disagrees")
                if self.slots is not None and (
                    log.topics[2] != root or bytes(m_hash) != manifest_hash or log.block != block
                ):
                    raise EvidenceError("log", f"{what}: its DatanetVersionPublished event disagrees with storage")
                root, manifest_hash, block = log.topics[2], bytes(m_hash), log.block
            try:
                parsed = json.loads(terms)
            except (ValueError, UnicodeDecodeError, RecursionError):
                parsed = None
            info = DatanetVersionInfo(
                datanet_id=did,
                name=name,
                version=version,
                content_root=root,
                manifest_hash=manifest_hash,
                terms=parsed if isinstance(parsed, dict) else None,
                terms_bytes=terms,
                contributors=tuple(contributors),
                block_number=block,
                owner=src.datanets.get(did, (None, None))[1],
            )
            if d.get("manifest") is not None:
                try:
                    manifest = Manifest.from_json(d["manifest"])
                    check_manifest(manifest, content_root=root, manifest_hash=manifest_hash)
                except ProvenanceError as exc:
                    raise EvidenceError("manifest", f"{what}: {exc}") from None
            src.versions[(did, version)] = info

    # -- records

    def records(self, src: _Source) -> None:
        for i, r in enumerate(self.b.records):
            w = f"records[{i}]"
            rid = _hex(r.get("record_id"), f"{w}.record_id", 32)
            record = _hex(r.get("record"), f"{w}.record")
            what = f"record {hexstr(rid)}"
            try:
                run = check_record(rid, record, source="log")
            except VerificationError as exc:
                raise EvidenceError("record", str(exc)) from None
            ref = LogRef.parse(r.get("log"), f"{w}.log")
            anchor = r.get("anchor")
            root: bytes | None = None
            proof: tuple[bytes, ...] = ()
            if anchor is not None:
                a = _obj(anchor, f"{w}.anchor")
                root = _hex(a.get("root"), f"{w}.anchor.root", 32)
                proof = tuple(_hex(p, f"{w}.anchor.proof[]", 32) for p in _list(a.get("proof"), f"{w}.anchor.proof"))
                if not verify_proof_of_id(root, rid, proof):
                    raise EvidenceError(
                        "anchor", f"{what}: its Merkle path does not reach the batch root {hexstr(root)}"
                    )
            self.need_proof(ref is not None, what)
            block: int | None = None
            recorder = "(no receipt in the bundle)"
            log_index = 0
            tx = ""
            if self.slots is not None:
                stored = (
                    self.slot(record_block_slot(rid), what)
                    if root is None
                    else self.slot(anchor_block_slot(root), f"{what} (batch root {hexstr(root)})")
                )
                if stored == 0:
                    raise EvidenceError(
                        "storage",
                        f"{what}: not recorded individually"
                        if root is None
                        else f"{what}: its batch root {hexstr(root)} is not anchored",
                    )
                block = stored
            if ref is not None:
                log, (logged_recorder, logged_record) = self.log(ref, "RunRecorded", what)
                if (
                    log.topics[3] != rid
                    or bytes(logged_record) != record
                    or log.topics[1] != run.model_id
                    or log.topics[2] != model_version_key(run.model_id, run.model_version)
                ):
                    raise EvidenceError("log", f"{what}: its RunRecorded event disagrees with the record")
                if block is not None and block != ref.block:
                    raise EvidenceError("log", f"{what}: logged in block {ref.block} but stored for block {block}")
                if root is not None:
                    self._batch(ref, rid, root, what)
                block, recorder, log_index = ref.block, checksum_address(logged_recorder), ref.log_index
                tx = f"block {ref.block} tx {ref.tx_index}"
            assert block is not None
            src.runs[rid] = RecordedRun(
                record_id=rid,
                run=run,
                record=record,
                recorder=recorder,
                block_number=block,
                tx_hash=tx,
                log_index=log_index,
                anchor_root=root,
                anchor_proof=proof,
            )
        self.checks["records"] = len(src.runs)

    def _batch(self, ref: LogRef, rid: bytes, root: bytes, what: str) -> None:
        """The receipt's RunsAnchored after the record's log rebuilds ``root`` from its batch."""
        logs = self.receipts[(ref.block, ref.tx_index)]
        rec_t, anc_t = event_topic("RunRecorded"), event_topic("RunsAnchored")
        batch: list[bytes] = []
        for j, log in enumerate(logs):
            if log.address != self.b.registry or not log.topics:
                continue
            if log.topics[0] == rec_t and len(log.topics) == 4:
                batch.append(log.topics[3])
            elif log.topics[0] == anc_t and len(log.topics) == 2 and j > ref.log_index:
                (count,) = _decode(["uint256"], log.data, what)
                if not 1 <= count <= len(batch) or rid not in batch[-count:]:
                    break
                if merkle_levels_of_ids(batch[-count:])[-1][0] != root or log.topics[1] != root:
                    break
                return
        raise EvidenceError("anchor", f"{what}: its transaction's batch does not rebuild the root {hexstr(root)}")

    def retractions(self, src: _Source) -> None:
        for i, r in enumerate(self.b.retractions):
            ref = LogRef.parse(r.get("log"), f"retractions[{i}].log")
            if ref is None:
                raise EvidenceError("bundle", f"retractions[{i}].log is missing")
            what = f"retraction {i}"
            logs = self.receipts.get((ref.block, ref.tx_index))
            topic = (
                logs[ref.log_index].topics[0]
                if logs and ref.log_index < len(logs) and logs[ref.log_index].topics
                else b""
            )
            if _TOPIC0.get(topic) == "DatanetVersionRetracted":
                log, (version, reason, note) = self.log(ref, "DatanetVersionRetracted", what)
                src.d_retractions.append(
                    DatanetRetraction(
                        datanet_id=log.topics[1],
                        owner=checksum_address(log.topics[2][12:]),
                        version=int(version),
                        reason=int(reason),
                        note=str(note),
                        block_number=ref.block,
                        tx_hash=f"block {ref.block} tx {ref.tx_index}",
                        log_index=ref.log_index,
                    )
                )
            else:
                log, (mv, reason, note) = self.log(ref, "ModelVersionRetracted", what)
                src.m_retractions.append(
                    ModelRetraction(
                        model_id=log.topics[1],
                        model_version_key=log.topics[2],
                        owner=checksum_address(log.topics[3][12:]),
                        model_version=str(mv),
                        reason=int(reason),
                        note=str(note),
                        block_number=ref.block,
                        tx_hash=f"block {ref.block} tx {ref.tx_index}",
                        log_index=ref.log_index,
                    )
                )

    def contribution(self, src: _Source) -> dict[str, Any] | None:
        c = self.b.contribution
        if c is None:
            return None
        did = _hex(c.get("datanet_id"), "contribution.datanet_id", 32)
        version = _int(c.get("version"), "contribution.version")
        info = src.datanet_version(did, version)
        f = _obj(c.get("file"), "contribution.file")
        try:
            entry = FileEntry(
                path=_str(f.get("path"), "contribution.file.path"),
                size=_int(f.get("size"), "contribution.file.size"),
                sha256=_hex("0x" + _str(f.get("sha256"), "contribution.file.sha256"), "contribution.file.sha256", 32),
            )
            proof = FileProof.from_json(_obj(c.get("proof"), "contribution.proof"))
        except EvidenceError:
            raise
        except ProvenanceError as exc:
            raise EvidenceError("bundle", f"contribution: {exc}") from None
        if not verify_file_proof(info.content_root, entry, proof):
            raise EvidenceError(
                "file proof", f"{entry.path} is not in {info.label}: its proof does not reach the content root"
            )
        path = [_hex(p, "contribution.path[]", 32) for p in _list(c.get("path"), "contribution.path")]
        if not path or path[0] not in src.targets:
            raise EvidenceError("contribution", "the path does not start at a run of the target model version")
        for child, parent in itertools.pairwise(path):
            if parent not in src.get_run(child).run.parents:
                raise EvidenceError("contribution", f"record {hexstr(parent)} is not a parent of {hexstr(child)}")
        last = src.get_run(path[-1]).run
        uses = [u for u in last.datanets if u.datanet_id == did and u.version == version]
        if not uses:
            raise EvidenceError("contribution", f"record {hexstr(path[-1])} did not train on {info.label}")
        return {
            "file": entry.to_json(),
            "datanet": info.label,
            "datanet_id": hexstr(did),
            "version": version,
            "content_root": hexstr(info.content_root),
            "path": [hexstr(p) for p in path],
            "path_labels": [
                f"{src.model_name(src.get_run(p).run.model_id)}@{src.get_run(p).run.model_version}" for p in path
            ],
            "weight_ppm": uses[0].weight_ppm,
            "partition": {
                "split": uses[0].partition.split,
                "selector": uses[0].partition.selector,
                "fraction_ppm": uses[0].partition.fraction_ppm,
                "seed": uses[0].partition.seed,
            },
        }


def _entity(eid: bytes, owner: bytes, name: str, what: str) -> None:
    try:
        ok = entity_id(checksum_address(owner), name) == eid
    except ProvenanceError:
        ok = False
    if not ok:
        raise EvidenceError("name", f"{what}: keccak256(abi.encode(owner, name)) is not its id")


def verify_bundle(
    bundle: Bundle,
    *,
    trusted_blocks: Sequence[bytes],
    registry_code_hash: bytes | None,
    registry: bytes | None = None,
    chain_id: int | None = None,
) -> VerifiedEvidence:
    """Check every proof and field of ``bundle`` against ``trusted_blocks`` (32-byte block hashes)
    and return the verified lineage; raise :class:`EvidenceError` naming the first failed check.

    ``registry_code_hash`` is the keccak256 the registry's runtime code must have (the shipped
    artifact's); the account proof must show it. A bundle without a state proof cannot show the code:
    it is accepted only when ``registry`` (an address the auditor knows) equals the bundle's.
    ``chain_id``, when given, must be the bundle's."""
    if not trusted_blocks:
        raise EvidenceError("trusted block", "no trusted block hash given")
    if chain_id is not None and chain_id != bundle.chain_id:
        raise EvidenceError("chain", f"the bundle is for chain {bundle.chain_id}, not {chain_id}")
    if registry is not None and bytes(registry) != bundle.registry:
        raise EvidenceError("registry", f"the bundle is for registry {checksum_address(bundle.registry)}")
    if bundle.state is None and registry is None:
        raise EvidenceError(
            "registry code",
            "the bundle has no state proof, so nothing shows the code at its registry address: "
            "name the registry you trust (--registry ADDRESS)",
        )
    headers = _headers(bundle, trusted_blocks)
    ck = _Checker(bundle, headers, registry_code_hash)
    ck.state()
    ck.receipt_proofs()
    src = _Source()
    ck.models(src)
    ck.datanets(src)
    ck.datanet_versions(src)
    ck.records(src)
    ck.retractions(src)
    for rid in bundle.target_records:
        run = src.get_run(rid).run
        if run.model_id != bundle.target_model or run.model_version != bundle.target_version:
            raise EvidenceError("target", f"record {hexstr(rid)} is not a run of the target model version")
        src.targets.append(rid)
    if not src.targets:
        raise EvidenceError("target", "the bundle names no run of its target model version")
    stated = bundle.raw.get("target", {}).get("model")
    if stated is not None and stated != src.model_name(bundle.target_model):
        raise EvidenceError("target", f"the bundle names its model {stated!r}, but its proven name differs")
    try:
        lineage = build_lineage(src, bundle.target_model, bundle.target_version)
    except EvidenceError:
        raise
    except ProvenanceError as exc:
        raise EvidenceError("lineage", str(exc)) from None
    contribution = ck.contribution(src)
    return VerifiedEvidence(
        lineage=lineage,
        checks=ck.checks,
        state_block=ck.state_block,
        trusted=tuple(hexstr(t) for t in trusted_blocks),
        contribution=contribution,
    )
