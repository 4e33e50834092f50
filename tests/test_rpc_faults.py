"""RPC faults (issue 11, item 4): the CLI through a fault-injecting JSON-RPC proxy in front of a real anvil.

For one JSON-RPC method (or every method, ``*``) the proxy answers HTTP 500 or 429, drops the
connection, hangs (accepts and never answers), answers something that is not JSON, or answers a
JSON-RPC error; ``drop-after`` and ``hang-after`` forward the request to anvil first, so the node did
act on it (a transaction is mined) but the answer is lost. A fault applies to every such request, or
to the first ``count`` of them (a transient fault, which the retries recover from).

Every command must end with exit 0, or exit 1 and one ``error:`` line: never a traceback, never past
its ``--timeout`` (``PROVENANCE_TIMEOUT``, 3 s here; the bound asserted is generous: it is a bound,
not a speed measurement), and never "rejected" for a record that was in fact mined.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from eth_account import Account

from provenance_ledger.chain.client import Registry
from provenance_ledger.chain.rpc import ANVIL_DEV_KEYS, connect
from provenance_ledger.core.hexutil import hexstr
from tests.conftest import AnvilNode, make_run, run_cli, seed_registry

pytestmark = pytest.mark.anvil

DEADLINE = 3.0
SLACK = 12.0
"""Allowed beyond DEADLINE: start-up, the successful requests before the fault, retries' backoff."""

FAULTS = ("500", "429", "drop", "hang", "badjson", "rpcerror")


@dataclass
class Fault:
    method: str = ""
    kind: str = ""
    count: int | None = None
    """Requests to fault (None: all of them)."""
    hits: int = 0


@dataclass
class FaultProxy:
    """A threaded HTTP server forwarding JSON-RPC to ``upstream``, except where :attr:`fault` says."""

    upstream: str
    fault: Fault = field(default_factory=Fault)
    release: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def set(self, method: str, kind: str, count: int | None = None) -> None:
        self.fault = Fault(method, kind, count)

    def clear(self) -> None:
        self.fault = Fault()

    def _faulted(self, payload: Any) -> str | None:
        f = self.fault
        if not f.kind:
            return None
        calls = payload if isinstance(payload, list) else [payload]
        methods = {c.get("method") for c in calls if isinstance(c, dict)}
        if f.method != "*" and f.method not in methods:
            return None
        if f.count is not None and f.hits >= f.count:
            return None
        f.hits += 1
        return f.kind

    def forward(self, body: bytes) -> bytes:
        parts = urlsplit(self.upstream)
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        try:
            conn.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
            return conn.getresponse().read()
        finally:
            conn.close()

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = None
                kind = proxy._faulted(payload)
                if kind in ("drop-after", "hang-after"):
                    proxy.forward(body)  # the node acts on it; the answer is lost
                    kind = kind.removesuffix("-after")
                if kind == "drop":
                    self.close_connection = True
                    return
                if kind == "hang":
                    proxy.release.wait()
                    self.close_connection = True
                    return
                if kind in ("500", "429"):
                    self._answer(int(kind), b"upstream trouble")
                elif kind == "badjson":
                    self._answer(200, b'{"jsonrpc": "2.0", "id": 1, "result": "0x1"')  # cut short
                elif kind == "rpcerror":
                    rid = payload.get("id") if isinstance(payload, dict) else None
                    error = {"code": -32603, "message": "injected internal error"}
                    reply: Any = {"jsonrpc": "2.0", "id": rid, "error": error}
                    if isinstance(payload, list):
                        reply = [{"jsonrpc": "2.0", "id": c.get("id"), "error": error} for c in payload]
                    self._answer(200, json.dumps(reply).encode())
                else:
                    self._answer(200, proxy.forward(body))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@dataclass
class Project:
    node: AnvilNode
    proxy: FaultProxy
    registry: Registry
    tmp: Path

    def env(self, url: str | None = None) -> dict[str, str]:
        return {
            "PROVENANCE_CONFIG": str(self.tmp / "config.json"),
            "PROVENANCE_PRIVATE_KEY": ANVIL_DEV_KEYS[0],
            "PROVENANCE_RPC_URL": url or self.proxy.url,
            "PROVENANCE_REGISTRY": self.registry.address,
            "PROVENANCE_TIMEOUT": str(DEADLINE),
            "COLUMNS": "200",
        }


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """One anvil with a seeded registry, two recorded runs (tuned@1.0 fine-tunes base@1.0) and an
    anchored batch of two, and the proxy in front of it."""
    tmp = tmp_path_factory.mktemp("faults")
    node = AnvilNode().start()
    proxy = FaultProxy(node.url).start()
    try:
        reg = Registry.deploy(connect(node.url), Account.from_key(ANVIL_DEV_KEYS[0]))
        seed_registry(reg)
        base = reg.record_run(make_run("base", "1.0"))
        reg.record_run(make_run("tuned", "1.0", parents=(base.record_id,)))
        reg.anchor_runs([make_run("base", "2.0"), make_run("base", "2.1")])  # verify reads its receipt
        yield Project(node, proxy, reg, tmp)
    finally:
        proxy.stop()
        node.stop()


def run(p: Project, *args: str, url: str | None = None) -> tuple[Any, float]:
    start = time.monotonic()
    proc = run_cli(*args, env=p.env(url), cwd=p.tmp)
    return proc, time.monotonic() - start


def check(proc: Any, elapsed: float) -> None:
    """Zero tracebacks, exit 0 or exit 1 with one error line, within the deadline (plus slack)."""
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode in (0, 1), proc.stderr
    if proc.returncode == 1:
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
        assert "rejected the transaction" not in lines[0] or "eth_sendRawTransaction" not in lines[0]
    assert elapsed < DEADLINE + SLACK, (elapsed, proc.stderr)


def transport_named(proc: Any, method: str, kind: str) -> None:
    """A persistent transport fault is named as one, never as a verdict about the registry or its logs."""
    if proc.returncode == 0:
        return
    line = proc.stderr.strip()
    assert "not a ProvenanceRegistry" not in line and "result cap" not in line, line
    if kind in ("500", "429", "drop", "hang", "badjson"):
        assert "RPC transport" in line, line
        assert method == "*" or method in line, line


@pytest.fixture
def proxy(project: Project) -> Iterator[FaultProxy]:
    project.proxy.clear()
    yield project.proxy
    project.proxy.clear()


LINEAGE_METHODS = ("eth_chainId", "eth_blockNumber", "eth_getCode", "eth_call", "eth_getLogs")


@pytest.mark.parametrize("kind", FAULTS)
@pytest.mark.parametrize("method", LINEAGE_METHODS)
def test_lineage_under_every_fault(project: Project, proxy: FaultProxy, method: str, kind: str) -> None:
    proxy.set(method, kind)
    proc, elapsed = run(project, "lineage", "tuned@1.0", "--no-index")
    check(proc, elapsed)
    assert proc.returncode == 1, proc.stdout
    transport_named(proc, method, kind)
    if kind in ("500", "429"):
        assert f"HTTP {kind} after 3 attempts" in proc.stderr, proc.stderr
    elif kind == "drop":
        assert "connection dropped after 3 attempts" in proc.stderr, proc.stderr


@pytest.mark.parametrize("flags", [("--no-index",), ()], ids=["logs", "index-first"])
def test_lineage_through_a_node_that_never_answers(project: Project, proxy: FaultProxy, flags: tuple[str, ...]) -> None:
    """The issue's must-show: a proxy that accepts connections and never answers (also on the default
    path, which first asks over plain JSON-RPC whether a local index is fresh)."""
    proxy.set("*", "hang")
    proc, elapsed = run(project, "lineage", "tuned@1.0", *flags)
    check(proc, elapsed)
    assert proc.returncode == 1
    assert elapsed < DEADLINE + 5, elapsed
    assert proc.stderr.startswith("error: ") and "RPC transport" in proc.stderr and "3 s" in proc.stderr
    assert proc.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("method", "kind"),
    [
        ("eth_chainId", "429"),
        ("eth_getCode", "drop"),
        ("eth_call", "500"),
        ("eth_getLogs", "500"),
        ("eth_getLogs", "drop"),
    ],
)
def test_lineage_recovers_from_a_transient_fault(project: Project, proxy: FaultProxy, method: str, kind: str) -> None:
    proxy.set(method, kind, count=1)
    proc, elapsed = run(project, "lineage", "tuned@1.0", "--no-index")
    check(proc, elapsed)
    assert proc.returncode == 0, proc.stderr
    assert proxy.fault.hits == 1


@pytest.mark.parametrize("kind", ["500", "hang", "rpcerror"])
@pytest.mark.parametrize("method", ["eth_getLogs", "eth_call", "eth_getTransactionReceipt"])
def test_verify_under_faults(project: Project, proxy: FaultProxy, method: str, kind: str) -> None:
    proxy.set(method, kind)
    proc, elapsed = run(project, "verify")
    check(proc, elapsed)
    assert proc.returncode == 1, proc.stdout
    transport_named(proc, method, kind)


@pytest.mark.parametrize("kind", ["500", "hang", "drop", "badjson"])
@pytest.mark.parametrize("method", ["eth_getLogs", "eth_getBlockByNumber", "eth_blockNumber"])
def test_index_sync_under_faults(project: Project, proxy: FaultProxy, method: str, kind: str, tmp_path: Path) -> None:
    proxy.set(method, kind)
    proc, elapsed = run(project, "index", "sync", "--db", str(tmp_path / "index.sqlite"))
    check(proc, elapsed)
    if proc.returncode == 1:
        assert "RPC transport" in proc.stderr, proc.stderr


RUN = """
model: base
version: "{version}"
weights_digest: "0x{digest}"
datanets:
  - {{datanet: alpha, version: 1, weight_ppm: 600000, partition: {{split: train}}}}
  - {{datanet: beta, version: 1, weight_ppm: 400000}}
"""

_runs = iter(range(1, 1_000_000))


@pytest.mark.parametrize(
    ("method", "kind"),
    [
        ("eth_sendRawTransaction", "500"),
        ("eth_sendRawTransaction", "drop"),
        ("eth_sendRawTransaction", "hang"),
        ("eth_sendRawTransaction", "drop-after"),
        ("eth_sendRawTransaction", "hang-after"),
        ("eth_sendRawTransaction", "rpcerror"),
        ("eth_getTransactionReceipt", "500"),
        ("eth_getTransactionReceipt", "drop"),
        ("eth_getTransactionReceipt", "hang"),
        ("eth_getTransactionReceipt", "badjson"),
        ("eth_getTransactionReceipt", "rpcerror"),
        ("eth_getTransactionCount", "500"),
        ("eth_getTransactionCount", "rpcerror"),
        ("eth_estimateGas", "drop"),
        ("eth_estimateGas", "rpcerror"),
        ("eth_chainId", "hang"),
    ],
)
def test_record_outcome_is_never_misreported(project: Project, proxy: FaultProxy, method: str, kind: str) -> None:
    n = next(_runs)
    version = f"fault-{method}-{kind}-{n}"
    path = project.tmp / f"run-{n}.yaml"
    path.write_text(RUN.format(version=version, digest=f"{n:064x}"))
    dry = json.loads(run_cli("record", str(path), "--dry-run", "--json", env=project.env(), cwd=project.tmp).stdout)
    rid = bytes.fromhex(dry["record_id"][2:])

    proxy.set(method, kind)
    proc, elapsed = run(project, "record", str(path))
    check(proc, elapsed)
    proxy.clear()
    mined = bool(project.registry.logged_ids([rid]))
    if proc.returncode == 0:
        assert mined, proc.stdout
    elif "rejected" in proc.stderr:
        assert not mined, f"a mined record reported as rejected: {proc.stderr}"
    if mined and proc.returncode == 1:
        assert "sent as 0x" in proc.stderr and "it will not be sent twice" in proc.stderr, proc.stderr
    if kind in ("500", "drop", "hang", "badjson") and proc.returncode == 1:
        assert "RPC transport" in proc.stderr, proc.stderr

    again, elapsed = run(project, "record", str(path), "--json", url=project.node.url)
    check(again, elapsed)
    assert again.returncode == 0, again.stderr
    outcome = json.loads(again.stdout)
    assert outcome["already_recorded"] is mined
    raws = project.registry.logs("RunRecorded", None, None, rid)
    assert len(raws) == 1, f"{hexstr(rid)} logged {len(raws)} times"
