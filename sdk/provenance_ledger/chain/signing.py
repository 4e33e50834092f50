"""Signed records (EIP-712): a trainer who holds no funds signs a record off chain; anyone submits it.

The signature is over the registry's ``recordDigest(recordId)`` (domain: name "ProvenanceRegistry",
version "2", the chain id and the registry's address; struct ``RecordRun(bytes32 recordId)``). It is
made with eth_account's ``encode_typed_data``; :func:`provenance_ledger.core.eip712.record_digest`
computes the same digest without eth_account, and the registry checks it on submission. The signer,
not the submitter, becomes the run's ``recorder``.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address

from provenance_ledger.core.canonical import encode_run
from provenance_ledger.core.eip712 import record_digest, typed_data
from provenance_ledger.core.hashing import keccak
from provenance_ledger.core.records import TrainingRun
from provenance_ledger.errors import ValidationError

__all__ = [
    "SignedRun",
    "digest_of",
    "recover_signer",
    "sign_run",
]


@dataclass(frozen=True, kw_only=True)
class SignedRun:
    """A run with its trainer's EIP-712 signature, ready for any account to submit."""

    run: TrainingRun
    record_id: bytes
    signer: str
    """The trainer's address (EIP-55): it must be the model's owner or an authorised trainer."""
    signature: bytes
    """65 bytes (r, s, v) for an EOA; whatever its ``isValidSignature`` accepts for an ERC-1271 wallet."""
    chain_id: int
    registry: str
    """The registry the signature is for (its address is part of the EIP-712 domain)."""


def sign_run(run: TrainingRun, account: LocalAccount, *, chain_id: int, registry: str) -> SignedRun:
    """``account``'s EIP-712 signature of ``run`` for the registry at ``registry`` on ``chain_id``."""
    rid = keccak(encode_run(run))
    data = typed_data(chain_id, to_checksum_address(registry), rid)
    message = encode_typed_data(full_message=data)
    signed = account.sign_message(message)
    signature = bytes(signed.signature)
    if len(signature) != 65:
        raise ValidationError("signature", f"expected 65 bytes, got {len(signature)}")
    return SignedRun(
        run=run,
        record_id=rid,
        signer=account.address,
        signature=signature,
        chain_id=chain_id,
        registry=to_checksum_address(registry),
    )


def recover_signer(signed: SignedRun) -> str:
    """The address whose key made ``signed.signature`` over the record's digest (EOA signatures only)."""
    message = encode_typed_data(full_message=typed_data(signed.chain_id, signed.registry, signed.record_id))
    address: str = Account.recover_message(message, signature=signed.signature)
    return to_checksum_address(address)


def digest_of(signed: SignedRun) -> bytes:
    """The EIP-712 digest ``signed`` is a signature over (as the registry's ``recordDigest``)."""
    return record_digest(signed.chain_id, signed.registry, signed.record_id)
