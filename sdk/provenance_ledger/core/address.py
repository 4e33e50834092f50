"""Ethereum addresses: EIP-55 checksums without eth_utils (whose import costs ~0.4 s at start-up)."""

from __future__ import annotations

from provenance_ledger.core.hashing import keccak
from provenance_ledger.errors import ValidationError

__all__ = [
    "checksum_address",
]


def checksum_address(value: bytes | str) -> str:
    """The EIP-55 mixed-case form of a 20-byte address given as bytes or as (any-case) hex."""
    if isinstance(value, str):
        text = value[2:] if value[:2] in ("0x", "0X") else value
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise ValidationError("address", f"not hex: {value!r}") from None
    else:
        raw = bytes(value)
    if len(raw) != 20:
        raise ValidationError("address", f"must be 20 bytes, got {len(raw)}")
    lower = raw.hex()
    digest = keccak(lower.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c for i, c in enumerate(lower))


def address_of_key(private_key: bytes) -> str:
    """The EIP-55 address of a 32-byte secp256k1 private key, through libsecp256k1 (coincurve, ~20 ms to
    import, where eth_account costs ~1 s with web3): the CLI needs the signer's address to resolve a bare
    name on every read. ValidationError for a key outside 1..n-1."""
    from coincurve import PrivateKey

    try:
        public = PrivateKey(bytes(private_key)).public_key.format(compressed=False)
    except (ValueError, TypeError) as exc:
        raise ValidationError("key", f"not a valid private key ({exc})") from None
    return checksum_address(keccak(public[1:])[-20:])
