"""The pieces that let a read from a fresh index start without web3: EIP-55 checksums, plain
JSON-RPC with timeouts, and the index's freshness check against a chain head."""

from __future__ import annotations

import socket
import threading

import pytest
from eth_utils import to_checksum_address
from hypothesis import given
from hypothesis import strategies as st

from provenance_ledger.chain.jsonrpc import JsonRpc
from provenance_ledger.chain.rpc import ANVIL_DEV_KEYS, connect, load_account
from provenance_ledger.core.address import checksum_address
from provenance_ledger.errors import ChainError, ValidationError
from provenance_ledger.index.store import Index
from tests.conftest import AnvilNode, free_port


@given(st.binary(min_size=20, max_size=20))
def test_checksum_matches_eth_utils(raw: bytes) -> None:
    expected = to_checksum_address(raw)
    assert checksum_address(raw) == expected
    assert checksum_address("0x" + raw.hex().upper()) == expected
    assert checksum_address(raw.hex()) == expected


@pytest.mark.parametrize("bad", ["0x1234", "0xzz" + "00" * 19, b"\x00" * 19])
def test_checksum_rejects_what_is_not_an_address(bad: str | bytes) -> None:
    with pytest.raises(ValidationError):
        checksum_address(bad)


@pytest.mark.anvil
def test_jsonrpc_agrees_with_web3(anvil: AnvilNode) -> None:
    w3 = connect(anvil.url)
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    rpc = JsonRpc(anvil.url)
    head = rpc.head()
    assert head.chain_id == w3.eth.chain_id
    assert head.block_number == w3.eth.block_number >= 1
    assert rpc.block_hash(1) == bytes(w3.eth.get_block(1)["hash"])
    assert rpc.block_hash(head.block_number + 1000) is None
    with pytest.raises(ChainError, match="eth_noSuchMethod"):
        rpc.call("eth_noSuchMethod")


def test_jsonrpc_failures_are_chain_errors() -> None:
    with pytest.raises(ChainError, match="cannot reach"):
        JsonRpc(f"http://127.0.0.1:{free_port()}", timeout=2).head()
    with pytest.raises(ChainError, match="not an HTTP"):
        JsonRpc("ws://127.0.0.1:1")


def test_jsonrpc_hang_times_out() -> None:
    """A node that accepts the connection and never answers costs the timeout, not forever."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    held: list[socket.socket] = []

    def accept() -> None:
        conn, _ = server.accept()
        held.append(conn)  # keep it open, say nothing

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        with pytest.raises(ChainError, match="cannot reach"):
            JsonRpc(f"http://127.0.0.1:{server.getsockname()[1]}", timeout=0.5).head()
    finally:
        for c in held:
            c.close()
        server.close()


@pytest.mark.anvil
def test_index_freshness_from_a_chain_head(anvil: AnvilNode, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from provenance_ledger.chain.client import Registry

    w3 = connect(anvil.url)
    reg = Registry.deploy(w3, load_account(private_key=ANVIL_DEV_KEYS[0]))
    reg.register_model("m")
    idx = Index(tmp_path / "i.sqlite")
    idx.sync(reg)
    rpc = JsonRpc(anvil.url)
    head = rpc.head()

    def fresh(**kw: object) -> bool:
        args: dict[str, object] = {
            "chain_id": head.chain_id,
            "address": reg.address.lower(),
            "head": head.block_number,
            "block_hash": rpc.block_hash,
        }
        return idx.is_fresh_at(**{**args, **kw})  # type: ignore[arg-type]

    assert fresh() and idx.is_fresh(reg)
    assert not fresh(chain_id=head.chain_id + 1)
    assert not fresh(address="0x" + "00" * 20)
    assert not fresh(head=head.block_number + 1)  # the chain moved on
    assert not fresh(block_hash=lambda n: b"\x00" * 32)  # the last synced block was reorganised away
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    assert not fresh(head=rpc.head().block_number) and not idx.is_fresh(reg)


@given(st.binary(min_size=32, max_size=32))
def test_address_of_key_matches_eth_account(key: bytes) -> None:
    from eth_account import Account

    from provenance_ledger.core.address import address_of_key

    try:
        expected = Account.from_key(key).address
    except Exception:  # a key outside 1..n-1 (vanishingly rare): both refuse it
        with pytest.raises(ValidationError):
            address_of_key(key)
        return
    assert address_of_key(key) == expected


def test_a_lineage_from_a_fresh_index_loads_no_web3_even_with_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bare names need the signer's address; computing it must not import eth_account or web3."""
    import subprocess
    import sys

    code = (
        "import os, sys\n"
        "os.environ['PROVENANCE_PRIVATE_KEY'] = '0x' + '11' * 32\n"
        "from provenance_ledger.cli._common import _env_owner\n"
        "print(_env_owner())\n"
        "print(any(m.startswith(('web3', 'eth_account')) for m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    from eth_account import Account

    assert out == [Account.from_key("0x" + "11" * 32).address, "False"]


@pytest.mark.anvil
def test_lineage_from_a_fresh_index_imports_no_web3(anvil: AnvilNode, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The whole read path: `provenance lineage` answered from a fresh index never imports web3."""
    import os
    import subprocess
    import sys

    from tests.conftest import run_cli

    env = {
        "PROVENANCE_CONFIG": str(tmp_path / "config.json"),
        "PROVENANCE_PRIVATE_KEY": ANVIL_DEV_KEYS[0],
        "PROVENANCE_RPC_URL": anvil.url,
    }
    (tmp_path / "run.yaml").write_text(
        'model: m\nversion: "1.0"\nweights_digest: "0x' + "22" * 32 + '"\n'
        "datanets:\n  - {datanet: d, version: 1, weight_ppm: 1000000}\n"
    )
    for args in (
        ["deploy"],
        ["model", "register", "m"],
        ["datanet", "register", "d"],
        ["datanet", "publish", "d", "--root", "0x" + "11" * 32, "--spdx", "MIT"],
        ["record", "run.yaml"],
        ["index", "sync"],
    ):
        assert run_cli(*args, env=env, cwd=tmp_path).returncode == 0
    code = (
        "import io, contextlib, sys\n"
        "from provenance_ledger.cli.app import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    try:\n"
        "        main(['lineage', 'm@1.0', '--json'])\n"
        "    except SystemExit as exc:\n"
        "        assert not exc.code, exc.code\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'web3', 'eth_account', 'eth_abi'})\n"
        "print(out.getvalue().count('record_id'), loaded)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, **env},
        check=True,
    )
    assert proc.stdout.strip() == "1 []", proc.stdout + proc.stderr  # one run answered; no web3, eth_account, eth_abi
