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
