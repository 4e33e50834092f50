"""Shared fixtures: a fresh embedded chain with a deployed registry, a real anvil node, and
:func:`run_cli`, the `provenance` command run in this process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import keccak

from provenance_ledger.chain.client import Registry
from provenance_ledger.chain.rpc import EMBEDDED, EMBEDDED_DEV_KEYS, connect, dev_keys
from provenance_ledger.core.canonical import entity_id
from provenance_ledger.core.records import DatanetUse, Partition, PreprocessingStep, TrainingRun

ROOT = Path(__file__).resolve().parent.parent
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"
EXE = Path(sys.executable).parent / "provenance"
"""The installed console script, for the few tests that need a real process."""


def run_cli(
    *args: str, env: Mapping[str, str | None] | None = None, cwd: Path | str | None = None
) -> subprocess.CompletedProcess[str]:
    """``provenance ARGS`` run in this process, as the console script runs it in its own.

    It calls :func:`provenance_ledger.cli.app.main` (so a ProvenanceError is one ``error:`` line with
    exit 1, exactly as for users) inside click's ``CliRunner.isolation``, which captures stdout and
    stderr separately and applies ``env`` to ``os.environ`` (None deletes a variable). The exit code is
    what the process would exit with: ``SystemExit``'s code, 0 on return, and 1 with a traceback on
    stderr for any other exception. Nothing leaks into the next run: the working directory (``cwd``),
    the environment and the CLI's lazily created stdout console are restored afterwards. Returns a
    ``CompletedProcess`` (text, universal newlines), like ``subprocess.run(..., text=True)``.
    """
    from click import formatting
    from click.testing import CliRunner

    from provenance_ledger.cli import _common
    from provenance_ledger.cli.app import main

    code = 0
    old_cwd = os.getcwd()
    old_console = _common._LazyConsole._console
    with CliRunner().isolation(env=env) as (out, err, _):
        # Like a process without a terminal: help text sized from $COLUMNS, not click's test width of 80.
        formatting.FORCED_WIDTH = None  # (isolation restores it)
        _common._LazyConsole._console = None  # created afresh for this run's stdout, as in a new process
        try:
            if cwd is not None:
                os.chdir(cwd)
            main(list(args))
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                code = exc.code or 0
            else:
                print(exc.code, file=sys.stderr)
                code = 1
        except Exception:
            traceback.print_exc()
            code = 1
        finally:
            os.chdir(old_cwd)
            _common._LazyConsole._console = old_console
            sys.stdout.flush()
            sys.stderr.flush()
        stdout, stderr = (_text(stream.getvalue()) for stream in (out, err))
    return subprocess.CompletedProcess(["provenance", *args], code, stdout, stderr)


def _text(data: bytes) -> str:
    return data.decode().replace("\r\n", "\n").replace("\r", "\n")


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
                    raise RuntimeError(
                        f"anvil exited: {self.proc.stderr.read().decode() if self.proc.stderr else ''}"
                    ) from None
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


OWNER = Account.from_key(EMBEDDED_DEV_KEYS[0]).address
"""The account that deploys and seeds the embedded registry fixture (ids are scoped by owner)."""
_owner = [OWNER]


def current_owner() -> str:
    """Whose models and DataNets :func:`make_run` names: the account of the last :func:`seed_registry`
    in this process (the embedded fixture's, or an anvil registry's), else :data:`OWNER`."""
    return _owner[0]


def eid(name: str, owner: str | None = None) -> bytes:
    """The id of ``owner``'s (default: :func:`current_owner`'s) model or DataNet ``name``."""
    return entity_id(owner or current_owner(), name)


def seed_registry(reg: Registry) -> None:
    assert reg.signer is not None
    _owner[0] = reg.signer.address
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
    model: str = "base",
    version: str = "1.0",
    *,
    parents: tuple[bytes, ...] = (),
    uses=None,
    owner: str | None = None,
    **kw,
) -> TrainingRun:
    """A run of ``owner``'s (default :func:`current_owner`'s) model trained on its DataNets."""
    uses = uses or [("alpha", 2, 700_000), ("beta", 1, 300_000)]
    return TrainingRun(
        model_id=eid(model, owner),
        model_version=version,
        weights_digest=keccak(text=f"{model}-{version}"),
        parents=parents,
        datanets=tuple(
            DatanetUse(datanet_id=eid(d, owner), version=v, weight_ppm=w, partition=Partition(split="train"))
            for d, v, w in uses
        ),
        preprocessing=(PreprocessingStep(op="length_filter", params={"min_chars": 200}),),
        **kw,
    )


@pytest.fixture(autouse=True)
def _no_private_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROVENANCE_PRIVATE_KEY", raising=False)
    os.environ.setdefault("COLUMNS", "200")
