"""A minimal JSON-RPC client over ``http.client``: the few calls a read from a fresh index needs.

web3 takes ~0.8 s to import (aiohttp, requests, pydantic); asking a node for its chain id, its head
and one block hash takes ~1 ms. :func:`provenance_ledger.cli._common.source_for` uses this to decide
whether the local index is fresh before anything loads web3. Every call has a timeout; every failure
is a :class:`~provenance_ledger.errors.ChainError` naming the method.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from provenance_ledger.errors import ChainError

__all__ = [
    "ChainHead",
    "JsonRpc",
]


@dataclass(frozen=True, kw_only=True)
class ChainHead:
    """What a node said about itself in one batched request."""

    chain_id: int
    """``eth_chainId``."""
    block_number: int
    """``eth_blockNumber``: the head."""


class JsonRpc:
    """Plain JSON-RPC over HTTP(S), one connection per call, with a timeout."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ChainError(f"not an HTTP JSON-RPC URL: {url!r}")
        self.url = url
        self._parts = parts
        self.timeout = timeout

    def _post(self, payload: Any) -> Any:
        p = self._parts
        conn_type = http.client.HTTPSConnection if p.scheme == "https" else http.client.HTTPConnection
        conn = conn_type(p.hostname or "", p.port, timeout=self.timeout)
        path = (p.path or "/") + (f"?{p.query}" if p.query else "")
        try:
            conn.request("POST", path, body=json.dumps(payload), headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                raise ChainError(f"{self.url} answered HTTP {resp.status}")
        except (OSError, http.client.HTTPException) as exc:
            raise ChainError(f"cannot reach {self.url}: {exc}") from None
        finally:
            conn.close()
        try:
            return json.loads(body)
        except ValueError:
            raise ChainError(f"{self.url} did not answer JSON") from None

    @staticmethod
    def _result(method: str, reply: Any) -> Any:
        if not isinstance(reply, dict):
            raise ChainError(f"{method}: malformed JSON-RPC reply")
        if reply.get("error") is not None:
            err = reply["error"]
            msg = err.get("message", err) if isinstance(err, dict) else err
            raise ChainError(f"{method}: JSON-RPC error: {msg}")
        if "result" not in reply:
            raise ChainError(f"{method}: JSON-RPC reply without a result")
        return reply["result"]

    def call(self, method: str, params: list[Any] | None = None) -> Any:
        """One call's result, or ChainError."""
        return self._result(method, self._post({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}))

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Several calls in one request (JSON-RPC 2.0 batch); results in the order asked."""
        payload = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        replies = self._post(payload)
        if not isinstance(replies, list) or len(replies) != len(calls):
            raise ChainError(f"{self.url}: malformed JSON-RPC batch reply")
        by_id = {r.get("id"): r for r in replies if isinstance(r, dict)}
        return [self._result(m, by_id.get(i)) for i, (m, _) in enumerate(calls)]

    def head(self) -> ChainHead:
        """The node's chain id and head block number."""
        chain_id, number = self.batch([("eth_chainId", []), ("eth_blockNumber", [])])
        return ChainHead(chain_id=_quantity(chain_id, "eth_chainId"), block_number=_quantity(number, "eth_blockNumber"))

    def block_hash(self, number: int) -> bytes | None:
        """The hash of block ``number``, or None when the node has no such block."""
        block = self.call("eth_getBlockByNumber", [hex(number), False])
        if block is None:
            return None
        if not isinstance(block, dict) or not isinstance(block.get("hash"), str):
            raise ChainError("eth_getBlockByNumber: malformed block")
        try:
            return bytes.fromhex(block["hash"][2:])
        except ValueError:
            raise ChainError("eth_getBlockByNumber: malformed block hash") from None


def _quantity(value: Any, method: str) -> int:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ChainError(f"{method}: not a hex quantity: {value!r}")
    try:
        return int(value, 16)
    except ValueError:
        raise ChainError(f"{method}: not a hex quantity: {value!r}") from None
