"""`provenance demo`, `provenance node` and `provenance deploy`: a chain and a registry."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import click

from provenance_ledger.chain.node import anvil_binary
from provenance_ledger.cli._common import Env, chain_options, console, emit, keystore_option
from provenance_ledger.report.safe import markup

__all__ = [
    "demo",
    "deploy",
    "node",
]


@click.command(epilog="Example:\n\n    provenance demo")
def demo() -> None:
    """Run the end-to-end story on the embedded in-process chain (nothing to start)."""
    from provenance_ledger.cli.demo import run_demo

    run_demo(console)


@click.command(epilog="Example:\n\n    provenance node --port 8545 --state .provenance/anvil-state.json")
@click.option("--port", default=8545, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--state",
    "state",
    default=".provenance/anvil-state.json",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="File anvil loads its chain from and saves it to on exit.",
)
@click.option("--block-time", type=click.IntRange(1), help="Mine every N seconds instead of on every transaction.")
def node(port: int, state: str, block_time: int | None) -> None:
    """Start a local anvil node whose chain survives restarts (Ctrl-C stops it and saves the state)."""
    from eth_account import Account

    from provenance_ledger.chain.rpc import ANVIL_DEV_KEYS

    anvil = anvil_binary()
    Path(state).parent.mkdir(parents=True, exist_ok=True)
    cmd = [str(anvil), "--port", str(port), "--host", "127.0.0.1", "--state", state, "--silent"]
    if block_time:
        cmd += ["--block-time", str(block_time)]
    proc = subprocess.Popen(cmd)
    console.print(f"[bold]Local node[/bold] http://127.0.0.1:{port}  (chain id 31337, state {markup(state)})")
    console.print("Funded dev accounts (public test keys; never use them on a real chain):")
    for i, key in enumerate(ANVIL_DEV_KEYS):
        console.print(f"  [{i}] {Account.from_key(key).address}  key {key}")
    console.print("Ctrl-C to stop (the chain is saved to the state file).")
    try:
        sys.exit(proc.wait())
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        console.print("node stopped; state saved")


@click.command(epilog="Example:\n\n    PROVENANCE_PRIVATE_KEY=0x… provenance deploy --rpc-url http://127.0.0.1:8545")
@chain_options
@keystore_option
def deploy(env: Env, as_json: bool, keystore: str | None) -> None:
    """Deploy a new registry and remember its address in .provenance/config.json."""
    from provenance_ledger.chain.client import Registry
    from provenance_ledger.chain.rpc import load_account
    from provenance_ledger.local.config import Deployment

    password = os.environ.get("PROVENANCE_KEYSTORE_PASSWORD")
    account = load_account(keystore=keystore, password=password)
    reg = Registry.deploy(env.w3, account)
    chain_id = env.w3.eth.chain_id
    env.config.rpc_url = env.rpc_url
    env.config.deployments[str(chain_id)] = Deployment(
        address=reg.address, chain_id=chain_id, block=reg.from_block, rpc_url=env.rpc_url
    )
    path = env.config.save()
    r = reg.deploy_receipt
    emit(
        {
            "address": reg.address,
            "chain_id": chain_id,
            "tx_hash": r.tx_hash,
            "block": r.block_number,
            "gas_used": r.gas_used,
            "config": str(path),
        },
        as_json,
        lambda: console.print(
            f"Deployed ProvenanceRegistry at [bold]{reg.address}[/bold] on chain {chain_id}\n"
            f"  tx {r.tx_hash}  block {r.block_number}  gas {r.gas_used:,}\n  saved to {markup(path)}"
        ),
    )
