"""EIP-712 digests of signed records, computed off chain. Pure: keccak only.

Domain ``{name: "ProvenanceRegistry", version: "2", chainId, verifyingContract}``; struct
``RecordRun(bytes32 recordId)`` (the id commits to every byte of the record). The registry's
``domainSeparator()`` / ``recordDigest(recordId)`` compute the same values; signing (eth_account's
``encode_typed_data``) lives in :mod:`provenance_ledger.chain.signing`.
"""

from __future__ import annotations

from typing import Any

from provenance_ledger.core.canonical import owner_bytes
from provenance_ledger.core.hashing import keccak
from provenance_ledger.core.records import bytes32

__all__ = [
    "DOMAIN_NAME",
    "DOMAIN_VERSION",
    "domain_separator",
    "record_digest",
    "typed_data",
]

DOMAIN_NAME = "ProvenanceRegistry"
DOMAIN_VERSION = "2"
_DOMAIN_TYPEHASH = keccak(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
_RECORD_RUN_TYPEHASH = keccak(b"RecordRun(bytes32 recordId)")


def domain_separator(chain_id: int, registry: str | bytes) -> bytes:
    """keccak256(abi.encode(EIP712Domain typehash, keccak("ProvenanceRegistry"), keccak("2"), chainId, registry))."""
    return keccak(
        _DOMAIN_TYPEHASH
        + keccak(DOMAIN_NAME.encode())
        + keccak(DOMAIN_VERSION.encode())
        + int(chain_id).to_bytes(32, "big")
        + b"\0" * 12
        + owner_bytes(registry, "registry")
    )


def record_digest(chain_id: int, registry: str | bytes, record_id: bytes) -> bytes:
    """What a trainer signs for ``record_id``: keccak256("\\x19\\x01" ‖ domainSeparator ‖ structHash)."""
    struct_hash = keccak(_RECORD_RUN_TYPEHASH + bytes32(record_id, "record_id"))
    return keccak(b"\x19\x01" + domain_separator(chain_id, registry) + struct_hash)


def typed_data(chain_id: int, registry: str, record_id: bytes) -> dict[str, Any]:
    """The EIP-712 typed data (``eth_signTypedData_v4`` shape) of a record: what a wallet shows and signs."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "RecordRun": [{"name": "recordId", "type": "bytes32"}],
        },
        "primaryType": "RecordRun",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": int(chain_id),
            "verifyingContract": registry,
        },
        "message": {"recordId": "0x" + bytes32(record_id, "record_id").hex()},
    }
