"""Building evidence bundles from a node: headers, receipt proofs, storage proofs (see core.evidence).

What each node gives:

- receipts: every node serves ``eth_getTransactionReceipt`` (while it keeps the receipts; EIP-4444
  lets it drop old ones). The receipt trie of a block is rebuilt here from all of the block's
  receipts (``eth_getBlockReceipts`` where the node has it, else one receipt per transaction), its
  root checked against the header's ``receiptsRoot``, and the proof taken from it (``trie``);
- storage: ``eth_getProof`` (anvil, geth, reth, erigon, ...). The embedded eth-tester chain has no
  ``eth_getProof``: its bundles carry receipt proofs only (and then verification needs the auditor
  to name the registry address, since nothing shows the code there);
- headers: ``eth_getBlockByNumber``; the RLP header is rebuilt from the fields the node returns
  (London, Shanghai, Cancun and Prague fields included) and must hash to the block's hash.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import rlp
from eth_bloom.bloom import BloomFilter
from trie.hexary import HexaryTrie
from web3 import Web3

from provenance_ledger.chain.client import RawLog, Registry
from provenance_ledger.core.canonical import model_version_key
from provenance_ledger.core.evidence import (
    FORMAT,
    LogRef,
    anchor_block_slot,
    datanet_info_slot,
    datanet_version_slots,
    model_owner_slot,
    record_block_slot,
)
from provenance_ledger.core.hashing import keccak
from provenance_ledger.core.hexutil import hexstr
from provenance_ledger.core.lineage import Lineage
from provenance_ledger.core.manifest import FileEntry, FileProof, Manifest
from provenance_ledger.errors import ChainError, NotFoundError

__all__ = [
    "MAX_HEADERS",
    "EvidenceBuilder",
    "dumps",
    "header_rlp",
    "receipt_rlp",
]

MAX_HEADERS = 10_000
"""Most headers a bundle chains from its oldest evidence block to its state block (~12 MB as hex); beyond
it only the evidence blocks are included, each of which the auditor must then trust by its hash."""

_HEADER_FIELDS = (
    ("parentHash", "b"),
    ("sha3Uncles", "b"),
    ("miner", "b"),
    ("stateRoot", "b"),
    ("transactionsRoot", "b"),
    ("receiptsRoot", "b"),
    ("logsBloom", "bloom"),
    ("difficulty", "i"),
    ("number", "i"),
    ("gasLimit", "i"),
    ("gasUsed", "i"),
    ("timestamp", "i"),
    ("extraData", "b"),
    ("mixHash", "b"),
    ("nonce", "b"),
)
_OPTIONAL_FIELDS = (  # in fork order: each is present only if all before it are
    ("baseFeePerGas", "i"),  # London
    ("withdrawalsRoot", "b"),  # Shanghai
    ("blobGasUsed", "i"),  # Cancun
    ("excessBlobGas", "i"),
    ("parentBeaconBlockRoot", "b"),
    ("requestsHash", "b"),  # Prague
)


def _bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return bytes.fromhex(value[2:] if value.startswith("0x") else value)
    return bytes(value)


def _int(value: Any) -> int:
    if isinstance(value, str):
        return int(value, 16)
    return int(value)


def _field(kind: str, value: Any) -> Any:
    if kind == "i":
        return _int(value)
    if kind == "bloom":  # web3 shortens an empty bloom to 0x00; eth-tester may give an integer
        return (value if isinstance(value, int) else int.from_bytes(_bytes(value), "big")).to_bytes(256, "big")
    return _bytes(value)


def header_rlp(block: Any) -> bytes:
    """The RLP header of a block as a node returns it; raises ChainError unless it hashes to the block's hash."""
    items = [_field(kind, block[name]) for name, kind in _HEADER_FIELDS]
    for name, kind in _OPTIONAL_FIELDS:
        if block.get(name) is None:
            break
        items.append(_field(kind, block[name]))
    want = _bytes(block["hash"])
    # A node may report a field of a later fork than the block's (eth-tester gives requestsHash for its
    # Cancun blocks): the header is the longest prefix of the known fields that hashes to the block hash.
    # eth-tester also pads an empty extraData to 32 zero bytes.
    extras = [items[12]] + ([b""] if items[12] and not any(items[12]) else [])
    for extra in extras:
        items[12] = extra
        for cut in range(len(items), len(_HEADER_FIELDS) - 1, -1):
            raw = rlp.encode(items[:cut])
            if keccak(raw) == want:
                return bytes(raw)
    raise ChainError(
        f"the header of block {_int(block['number'])} as the node gives it does not hash to its block hash "
        "(a header field this SDK does not know?)"
    )


def receipt_rlp(receipt: Any) -> bytes:
    """The consensus encoding of a receipt (EIP-2718 typed: type byte + RLP) as it sits in the receipt trie."""
    logs: list[tuple[bytes, list[bytes], bytes]] = [
        (_bytes(log["address"]), [_bytes(t) for t in log["topics"]], _bytes(log["data"])) for log in receipt["logs"]
    ]
    bloom = receipt.get("logsBloom")
    if bloom is None:  # eth-tester gives no bloom: it is a function of the logs
        bf = BloomFilter()
        for address, topics, _ in logs:
            bf.add(address)
            for t in topics:
                bf.add(t)
        bloom_bytes = int(bf).to_bytes(256, "big")
    else:
        bloom_bytes = _field("bloom", bloom)
    body = rlp.encode([_int(receipt["status"]), _int(receipt["cumulativeGasUsed"]), bloom_bytes, logs])
    tx_type = _int(receipt.get("type", 0) or 0)
    return bytes(body) if tx_type == 0 else bytes([tx_type]) + bytes(body)


def _nodes_hex(nodes: Iterable[Any]) -> list[str]:
    return [hexstr(rlp.encode(n)) for n in nodes]


@dataclass(frozen=True, kw_only=True)
class _Pos:
    tx_hash: str
    block_log_index: int


class EvidenceBuilder:
    """Collects a lineage's evidence from the node behind ``registry`` (see the module docstring)."""

    def __init__(
        self,
        registry: Registry,
        *,
        block: int | None = None,
        max_headers: int = MAX_HEADERS,
        manifests: Callable[[Any], Manifest | None] | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.reg = registry
        self.w3: Web3 = registry.w3
        self.state_block = self.w3.eth.block_number if block is None else block
        self.max_headers = max_headers
        self.manifests = manifests
        self.progress = progress or (lambda _msg: None)
        self._receipts: dict[str, Any] = {}
        self._refs: dict[tuple[int, int], None] = {}

    # ---------------------------------------------------------------- positions

    def _receipt(self, tx_hash: str) -> Any:
        if tx_hash not in self._receipts:
            self._receipts[tx_hash] = self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        return self._receipts[tx_hash]

    def _ref(self, tx_hash: str, block_log_index: int) -> LogRef:
        """The position (block, tx index, log index in the receipt) of the log with this block-level index."""
        rc = self._receipt(tx_hash)
        for j, log in enumerate(rc["logs"]):
            if _int(log["logIndex"]) == block_log_index:
                ref = LogRef(block=_int(rc["blockNumber"]), tx_index=_int(rc["transactionIndex"]), log_index=j)
                self._refs[(ref.block, ref.tx_index)] = None
                return ref
        raise ChainError(f"log {block_log_index} is not in the receipt of {tx_hash}")

    def _raw_ref(self, raw: RawLog) -> LogRef:
        return self._ref(raw.tx_hash, raw.log_index)

    # ---------------------------------------------------------------- proofs

    def _block_receipts(self, number: int) -> list[Any]:
        try:
            got = self.w3.eth.get_block_receipts(number)
            return sorted(got, key=lambda r: _int(r["transactionIndex"]))
        except Exception:  # eth-tester and some providers: one by one
            block = self.w3.eth.get_block(number)
            return [self._receipt(hexstr(_bytes(t))) for t in block["transactions"]]

    def _receipt_proofs(self, headers: dict[int, Any]) -> list[dict[str, Any]]:
        out = []
        by_block: dict[int, list[int]] = {}
        for b, i in sorted(self._refs):
            by_block.setdefault(b, []).append(i)
        for number, indexes in by_block.items():
            trie = HexaryTrie({})
            for i, rc in enumerate(self._block_receipts(number)):
                trie.set(rlp.encode(i), receipt_rlp(rc))  # type: ignore[no-untyped-call]
            if trie.root_hash != _bytes(headers[number]["receiptsRoot"]):
                raise ChainError(f"the node's receipts of block {number} do not rebuild the block's receiptsRoot")
            for i in indexes:
                nodes = trie.get_proof(rlp.encode(i))  # type: ignore[no-untyped-call]
                out.append({"block": number, "tx_index": i, "proof": _nodes_hex(nodes)})
        return out

    def _state(self, slots: Sequence[bytes]) -> dict[str, Any] | None:
        params = [self.reg.address, [hexstr(s) for s in slots], hex(self.state_block)]
        try:
            response = self.w3.provider.make_request("eth_getProof", params)  # type: ignore[arg-type]
        except Exception:
            return None
        result = response.get("result") if isinstance(response, dict) else None
        if not result:
            return None  # e.g. eth-tester: "RPC Endpoint has not been implemented: eth_getProof"
        proofs = {_bytes(p["key"]).rjust(32, b"\0"): p["proof"] for p in result["storageProof"]}
        return {
            "block": self.state_block,
            "account_proof": [hexstr(_bytes(n)) for n in result["accountProof"]],
            "slots": [{"slot": hexstr(s), "proof": [hexstr(_bytes(n)) for n in proofs[s]]} for s in slots],
        }

    def _headers(self, needed: set[int]) -> dict[int, Any]:
        lo = min(needed)
        numbers = (
            range(lo, self.state_block + 1)
            if self.state_block - lo + 1 <= self.max_headers
            else sorted(needed | {self.state_block})
        )
        return {n: self.w3.eth.get_block(n) for n in numbers}

    # ---------------------------------------------------------------- bundle

    def lineage_bundle(self, model: str | bytes, version: str, *, lineage: Lineage | None = None) -> dict[str, Any]:
        """The evidence bundle (a JSON-ready dict, format ``provenance-evidence/1``) of ``model@version``."""
        reg = self.reg
        info = reg.model_info(model)
        self.progress("reading the lineage")
        lin = lineage if lineage is not None else reg.lineage(info.model_id, version)
        runs = [node for _, node in lin.walk()]
        if any(r.recorded.block_number > self.state_block for r in runs):
            raise ChainError(f"the lineage has records after block {self.state_block}")
        self.progress("locating the logs")
        records = []
        slots: list[bytes] = []
        for node in runs:
            rec = node.recorded
            ref = self._ref(rec.tx_hash, rec.log_index)
            anchor = None
            if rec.anchor_root is not None:
                anchor = {"root": hexstr(rec.anchor_root), "proof": [hexstr(p) for p in rec.anchor_proof]}
                slots.append(anchor_block_slot(rec.anchor_root))
            else:
                slots.append(record_block_slot(rec.record_id))
            records.append(
                {
                    "record_id": hexstr(rec.record_id),
                    "record": hexstr(rec.record),
                    "log": ref.to_json(),
                    "anchor": anchor,
                }
            )
        models = []
        model_ids = list(dict.fromkeys(node.recorded.run.model_id for node in runs))
        for mid in model_ids:
            raws = reg.logs("ModelRegistered", mid)
            if not raws:
                raise NotFoundError(f"model {hexstr(mid)} is not registered")
            a = raws[0].args
            models.append(
                {
                    "model_id": hexstr(mid),
                    "name": a["name"],
                    "owner": a["owner"],
                    "log": self._raw_ref(raws[0]).to_json(),
                }
            )
            slots.append(model_owner_slot(mid))
        datanets, versions = [], []
        used = list(dict.fromkeys((d.info.datanet_id, d.info.version) for node in runs for d in node.datanets))
        for did in dict.fromkeys(d for d, _ in used):
            raws = reg.logs("DatanetRegistered", did)
            if not raws:
                raise NotFoundError(f"DataNet {hexstr(did)} is not registered")
            a = raws[0].args
            datanets.append(
                {
                    "datanet_id": hexstr(did),
                    "name": a["name"],
                    "owner": a["owner"],
                    "log": self._raw_ref(raws[0]).to_json(),
                }
            )
            slots.append(datanet_info_slot(did))
            published = {int(r.args["version"]): r for r in reg.logs("DatanetVersionPublished", did)}
            for d2, v in used:
                if d2 != did:
                    continue
                raw = published[v]
                vinfo = reg.datanet_version(did, v)
                manifest = self.manifests(vinfo) if self.manifests is not None else None
                versions.append(
                    {
                        "datanet_id": hexstr(did),
                        "version": v,
                        "terms": hexstr(bytes(raw.args["terms"])),
                        "contributors": [{"account": c[0], "shares": int(c[1])} for c in raw.args["contributors"]],
                        "manifest": None if manifest is None else manifest.to_json(),
                        "log": self._raw_ref(raw).to_json(),
                    }
                )
                slots.extend(datanet_version_slots(did, v))
        retractions: list[dict[str, Any]] = []
        for mid, mv in dict.fromkeys((n.recorded.run.model_id, n.recorded.run.model_version) for n in runs):
            retractions.extend(
                {"log": self._raw_ref(raw).to_json()}
                for raw in reg.logs("ModelVersionRetracted", mid, model_version_key(mid, mv))
                if raw.block_number <= self.state_block
            )
        for did, v in used:
            retractions.extend(
                {"log": self._raw_ref(raw).to_json()}
                for raw in reg.logs("DatanetVersionRetracted", did)
                if int(raw.args["version"]) == v and raw.block_number <= self.state_block
            )
        self.progress("reading block headers")
        needed = {b for b, _ in self._refs} | {self.state_block}
        blocks = self._headers(needed)
        headers = {n: header_rlp(b) for n, b in blocks.items()}
        self.progress("proving receipts")
        receipts = self._receipt_proofs(blocks)
        self.progress("proving storage")
        state = self._state(list(dict.fromkeys(slots)))
        return {
            "format": FORMAT,
            "kind": "lineage",
            "chain_id": self.w3.eth.chain_id,
            "registry": reg.address,
            "target": {
                "model": info.name,
                "model_id": hexstr(info.model_id),
                "version": version,
                "records": [hexstr(n.record_id) for n in lin.runs],
            },
            "headers": [hexstr(headers[n]) for n in sorted(headers)],
            "state": state,
            "receipts": receipts,
            "models": models,
            "datanets": datanets,
            "datanet_versions": versions,
            "records": records,
            "retractions": retractions,
        }

    def contribution_bundle(
        self,
        model: str | bytes,
        version: str,
        *,
        datanet_id: bytes,
        datanet_version: int,
        entry: FileEntry,
        proof: FileProof,
    ) -> dict[str, Any]:
        """A lineage bundle of ``model@version`` plus a ``contribution``: the file's inclusion proof in
        the DataNet version's content root and the path of runs from the model down to a run that used it."""
        info = self.reg.model_info(model)
        lin = self.reg.lineage(info.model_id, version)
        path = _path(lin, datanet_id, datanet_version)
        if path is None:
            raise NotFoundError(
                f"{info.name}@{version} did not train on DataNet {hexstr(datanet_id)}@{datanet_version}, "
                "directly or through its parents"
            )
        bundle = self.lineage_bundle(info.model_id, version, lineage=lin)
        bundle["kind"] = "contribution"
        bundle["contribution"] = {
            "datanet_id": hexstr(datanet_id),
            "version": datanet_version,
            "file": entry.to_json(),
            "proof": proof.to_json(),
            "path": [hexstr(p) for p in path],
        }
        return bundle


def _path(lin: Lineage, did: bytes, version: int) -> list[bytes] | None:
    """Record ids from a target run down through parents to the first run (depth first) that used did@version."""

    def walk(node: Any, seen: set[bytes]) -> list[bytes] | None:
        if node.record_id in seen:
            return None
        seen.add(node.record_id)
        if any(d.use.datanet_id == did and d.use.version == version for d in node.datanets):
            return [node.record_id]
        for p in node.parents:
            sub = walk(p, seen)
            if sub is not None:
                return [node.record_id, *sub]
        return None

    for run in lin.runs:
        found = walk(run, set())
        if found is not None:
            return found
    return None


def dumps(bundle: dict[str, Any]) -> str:
    """The bundle's JSON text (sorted keys, two-space indent, trailing newline)."""
    return json.dumps(bundle, indent=1, sort_keys=True) + "\n"
