"""keccak256, through the fastest installed backend.

``eth_utils.keccak`` goes through eth-hash's automatic backend choice (pycryptodome here: ~8.6 us per
64-byte call); the pinned ``safe-pysha3`` C extension takes ~1 us, and imports in ~1 ms where eth-hash
takes ~60 ms (it reads package metadata), which the CLI's start-up cannot afford. Record ids, Merkle
trees and file trees hash millions of times, so the SDK's pure modules use this one function.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = [
    "keccak",
]

try:
    from sha3 import keccak_256 as _keccak_256  # safe-pysha3, pinned in the lock file

    def _keccak(data: bytes) -> bytes:
        digest: bytes = _keccak_256(data).digest()
        return digest

except ImportError:  # pragma: no cover - the lock file pins safe-pysha3
    from eth_utils.crypto import keccak as _eth_utils_keccak

    _keccak: Callable[[bytes], bytes] = _eth_utils_keccak  # type: ignore[no-redef]


def keccak(data: bytes | bytearray | memoryview) -> bytes:
    """keccak256 of ``data`` (32 bytes)."""
    return _keccak(bytes(data))
