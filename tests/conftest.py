"""Shared fixtures: a fresh embedded chain with a deployed registry, and a real anvil node."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import keccak

from provenance_ledger.chain.client import Registry
from provenance_ledger.chain.rpc import EMBEDDED, connect, dev_keys
from provenance_ledger.core.canonical import name_id
from provenance_ledger.core.records import DatanetUse, Partition, PreprocessingStep, TrainingRun

ROOT = Path(__file__).resolve().parent.parent
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AnvilNode:
    """A real anvil JSON-RPC node on a free loopback port, optionally persisting its state to a file."""

    def __init__(self, state: Path | None = None, port: int | None = None, extra_args: tuple[str, ...] = ()) -> None:
        self.extra_args = extra_args
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state = state
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> AnvilNode:
        cmd = [str(ANVIL), "--port", str(self.port), "--host", "127.0.0.1", "--silent", *self.extra_args]
        if self.state is not None:
            cmd += ["--state", str(self.state)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"anvil exited: {self.proc.stderr.read().decode() if self.proc.stderr else ''}")
                time.sleep(0.05)
        raise RuntimeError("anvil did not start within 30 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: anvil dumps --state on exit
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@pytest.fixture
def anvil(tmp_path: Path) -> Iterator[AnvilNode]:
    node = AnvilNode().start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def anvil_factory(tmp_path: Path) -> Iterator[type[AnvilNode]]:
    nodes: list[AnvilNode] = []

    class Factory(AnvilNode):
        def __init__(self, *a, **k) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*a, **k)
            nodes.append(self)

    yield Factory
    for n in nodes:
        n.stop()


@pytest.fixture
def w3():
    return connect(EMBEDDED)


@pytest.fixture
def accounts(w3):
    return [Account.from_key(k) for k in dev_keys(w3)]


@pytest.fixture
def registry(w3, accounts) -> Registry:
    """A deployed registry with model `base`, `tuned` and DataNets `alpha` (2 versions) and `beta` (1)."""
    reg = Registry.deploy(w3, accounts[0])
    seed_registry(reg)
    return reg


def seed_registry(reg: Registry) -> None:
    reg.register_model("base")
    reg.register_model("tuned")
    reg.register_datanet("alpha")
    reg.register_datanet("beta")
    for name, n in (("alpha", 2), ("beta", 1)):
        for v in range(1, n + 1):
            reg.publish_datanet_version(
                name,
                content_root=keccak(text=f"{name}-{v}"),
                manifest_hash=keccak(text=f"{name}-{v}-manifest"),
                terms={"spdx": "MIT", "commercial_use": True},
                contributors=[("0x" + "11" * 20, 1)],
            )


def make_run(
    model: str = "base", version: str = "1.0", *, parents: tuple[bytes, ...] = (), uses=None, **kw
) -> TrainingRun:
    uses = uses or [("alpha", 2, 700_000), ("beta", 1, 300_000)]
    return TrainingRun(
        model_id=name_id(model),
        model_version=version,
        weights_digest=keccak(text=f"{model}-{version}"),
        parents=parents,
        datanets=tuple(
            DatanetUse(datanet_id=name_id(d), version=v, weight_ppm=w, partition=Partition(split="train"))
            for d, v, w in uses
        ),
        preprocessing=(PreprocessingStep(op="length_filter", params={"min_chars": 200}),),
        **kw,
    )


@pytest.fixture(autouse=True)
def _no_private_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROVENANCE_PRIVATE_KEY", raising=False)
    os.environ.setdefault("COLUMNS", "200")
