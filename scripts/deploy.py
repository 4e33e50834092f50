#!/usr/bin/env python3
"""Deploy the ProvenanceRegistry to any EVM chain by RPC URL.

    PROVENANCE_PRIVATE_KEY=0x… python scripts/deploy.py --rpc-url https://rpc.example.org --dry-run
    python scripts/deploy.py --rpc-url https://rpc.example.org --keystore key.json   # password prompted

--dry-run estimates the deployment gas and its cost at the chain's current fees and sends nothing.
A real deployment writes deployments/<chain id>.json (address, block, tx, ABI), as EAS does.
Keys come from an encrypted keystore or $PROVENANCE_PRIVATE_KEY, never from the command line.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path

from provenance_ledger.chain.abi import registry_abi
from provenance_ledger.chain.client import Registry
from provenance_ledger.chain.rpc import Signer, connect, load_account
from provenance_ledger.errors import ProvenanceError

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rpc-url", required=True, help="JSON-RPC URL of the target chain")
    parser.add_argument("--keystore", help="encrypted keystore file (else $PROVENANCE_PRIVATE_KEY)")
    parser.add_argument("--dry-run", action="store_true", help="estimate gas and cost; send nothing")
    parser.add_argument("--out", default=str(ROOT / "deployments"), help="folder for deployments/<chain id>.json")
    args = parser.parse_args(argv)
    try:
        w3 = connect(args.rpc_url)
        password = None
        if args.keystore:
            password = os.environ.get("PROVENANCE_KEYSTORE_PASSWORD") or getpass.getpass("Keystore password: ")
        account = load_account(keystore=args.keystore, password=password)
        chain_id = w3.eth.chain_id
        bytecode = registry_abi().bytecode
        gas = Signer(w3, account).estimate(None, bytecode)
        block = w3.eth.get_block("latest")
        base = int(block.get("baseFeePerGas") or w3.eth.gas_price)
        balance = w3.eth.get_balance(account.address)
        cost = gas * base
        print(f"chain {chain_id}, deployer {account.address} (balance {balance / 1e18:.6f} ETH)")
        print(
            f"code {len(bytecode):,} bytes; deployment gas {gas:,}; at base fee {base / 1e9:.3f} gwei ≈ {cost / 1e18:.6f} ETH"
        )
        if args.dry_run:
            print("dry run: nothing sent")
            return 0
        reg = Registry.deploy(w3, account)
        r = reg.deploy_receipt
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        record = {
            "address": reg.address,
            "chain_id": chain_id,
            "block": r.block_number,
            "tx_hash": r.tx_hash,
            "version": reg.version(),
            "abi": registry_abi().abi,
        }
        path = out / f"{chain_id}.json"
        path.write_text(json.dumps(record, indent=1) + "\n")
        print(f"deployed at {reg.address} in block {r.block_number} (tx {r.tx_hash}, gas {r.gas_used:,}); wrote {path}")
        return 0
    except ProvenanceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
