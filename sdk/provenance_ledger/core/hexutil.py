"""The one ``0x`` hex spelling of bytes used in messages, JSON and JSON-RPC params. Pure."""

from __future__ import annotations

__all__ = [
    "hexstr",
]


def hexstr(b: bytes | bytearray | memoryview) -> str:
    """``0x`` followed by the lower-case hex of ``b`` (``0x`` alone for empty bytes)."""
    return "0x" + bytes(b).hex()
