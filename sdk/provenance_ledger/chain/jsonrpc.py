"""A minimal JSON-RPC client over ``http.client``: the few calls a read from a fresh index needs.

web3 takes ~0.8 s to import (aiohttp, requests, pydantic); asking a node for its chain id, its head
and one block hash takes ~1 ms. :func:`provenance_ledger.cli._common.source_for` uses this to decide
whether the local index is fresh before anything loads web3. Every call has a timeout; every failure
is a :class:`~provenance_ledger.errors.ChainError` naming the method, and a failure to get an answer at
all is an :class:`RPCTransportError`.

:class:`Patience` is the one clock of a command's waiting on the chain (``--timeout``), shared by this
client and the web3 provider of :func:`provenance_ledger.chain.rpc.connect`: it starts when a request
is first sent without an answer and is cleared by any answer, so a command never waits on a silent or
failing node for longer than its patience, however long its successful work takes.
"""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from provenance_ledger.errors import ChainError

__all__ = [
    "DEFAULT_TIMEOUT",
    "ChainHead",
    "JsonRpc",
    "Patience",
    "RPCTransportError",
]

DEFAULT_TIMEOUT = 60.0
"""Seconds a command waits on a node that does not answer (``--timeout``, ``$PROVENANCE_TIMEOUT``):
room for a public provider's slow ``eth_getLogs`` page (they cut their own at 10-30 s) and a retry,
and about five mainnet blocks for a receipt; a dead or hung node is reported within a minute."""


class RPCTransportError(ChainError):
    """No usable answer from the node (connection refused or dropped, HTTP error status, timeout,
    not JSON), after the retries: says nothing about the chain's state or the registry."""


class Patience:
    """How long a command waits on a node that does not answer: one clock for all its requests.

    The clock starts with the first request that goes unanswered and is cleared by any answer;
    :meth:`remaining` is what is left of ``seconds`` (each request is sent with at most that as its
    timeout). ``attempt`` is the timeout of one attempt: a third of the patience, so that a hung
    attempt leaves room for retries."""

    def __init__(self, seconds: float = DEFAULT_TIMEOUT) -> None:
        if not seconds > 0:
            raise ValueError(f"the timeout must be positive, got {seconds!r}")
        self.seconds = float(seconds)
        self.attempt = max(self.seconds / 3, min(self.seconds, 0.5))
        self._waiting_since: float | None = None

    def start(self, *, only: bool = False) -> float:
        """Called before each attempt: the timeout for it (0 when the patience is spent); with ``only``
        (an attempt that will not be retried) all the patience left."""
        now = time.monotonic()
        if self._waiting_since is None:
            self._waiting_since = now
        left = self.seconds - (now - self._waiting_since)
        return max(0.0, left if only else min(self.attempt, left))

    def remaining(self) -> float:
        """Seconds left before the command gives up on the node."""
        if self._waiting_since is None:
            return self.seconds
        return max(0.0, self.seconds - (time.monotonic() - self._waiting_since))

    def answered(self) -> None:
        """The node answered: the clock stops."""
        self._waiting_since = None


@dataclass(frozen=True, kw_only=True)
class ChainHead:
    """What a node said about itself in one batched request."""

    chain_id: int
    """``eth_chainId``."""
    block_number: int
    """``eth_blockNumber``: the head."""


class JsonRpc:
    """Plain JSON-RPC over HTTP(S), one connection per call, with a timeout."""

    def __init__(self, url: str, *, timeout: float = 10.0, patience: Patience | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ChainError(f"not an HTTP JSON-RPC URL: {url!r}")
        self.url = url
        self._parts = parts
        self.timeout = timeout
        self.patience = patience

    def _post(self, payload: Any) -> Any:
        """One attempt (no retries: this is the fast path, and its callers fall back to web3's)."""
        p = self._parts
        method = payload["method"] if isinstance(payload, dict) else "+".join(c["method"] for c in payload)
        where = f"RPC transport: {method} to {self.url}"
        timeout = self.timeout if self.patience is None else min(self.timeout, self.patience.start(only=True))
        if timeout <= 0:
            raise RPCTransportError(f"{where}: cannot reach it (no answer within {self.patience.seconds:g} s)")  # type: ignore[union-attr]
        conn_type = http.client.HTTPSConnection if p.scheme == "https" else http.client.HTTPConnection
        conn = conn_type(p.hostname or "", p.port, timeout=timeout)
        path = (p.path or "/") + (f"?{p.query}" if p.query else "")
        try:
            conn.request("POST", path, body=json.dumps(payload), headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                raise RPCTransportError(f"{where}: HTTP {resp.status}")
        except TimeoutError:
            raise RPCTransportError(f"{where}: cannot reach it (no answer within {timeout:g} s)") from None
        except (OSError, http.client.HTTPException) as exc:
            raise RPCTransportError(f"{where}: cannot reach it ({type(exc).__name__}: {exc})") from None
        finally:
            conn.close()
        try:
            reply = json.loads(body)
        except ValueError:
            raise RPCTransportError(f"{where}: the answer is not JSON") from None
        if self.patience is not None:
            self.patience.answered()
        return reply

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
