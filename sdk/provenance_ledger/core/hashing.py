"""keccak256, through the fastest installed backend.

``eth_utils.keccak`` goes through eth-hash's automatic backend choice (pycryptodome here: ~8.6 us per
64-byte call); the pinned ``safe-pysha3`` backend takes ~1.2 us. Record ids, Merkle trees and file
trees hash millions of times, so the SDK's pure modules use this one function.
"""

from __future__ import annotations

from collections.abc import Callable

try:
    from eth_hash.backends.pysha3 import backend as _backend
    from eth_hash.main import Keccak256

    _keccak: Callable[[bytes], bytes] = Keccak256(_backend)
except ImportError:  # pragma: no cover - the lock file pins safe-pysha3
    from eth_utils.crypto import keccak as _eth_utils_keccak

    _keccak = _eth_utils_keccak


def keccak(data: bytes | bytearray | memoryview) -> bytes:
    """keccak256 of ``data`` (32 bytes)."""
    return _keccak(bytes(data))
