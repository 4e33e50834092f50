#!/usr/bin/env python3
"""Compile the registry with the pinned solc-js (bin/solc) and write the artifact the SDK ships.

python scripts/compile.py          # (re)write sdk/provenance_ledger/artifacts/ProvenanceRegistry.json
python scripts/compile.py --check  # exit 1 if the shipped artifact differs from a fresh build
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import solcx

ROOT = Path(__file__).resolve().parent.parent
SOLC = ROOT / "bin" / "solc"
SOURCES = ["contracts/IProvenanceRegistry.sol", "contracts/ProvenanceRegistry.sol"]
ARTIFACT = ROOT / "sdk" / "provenance_ledger" / "artifacts" / "ProvenanceRegistry.json"
SETTINGS = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "prague",
    "metadata": {"bytecodeHash": "none", "appendCBOR": False},
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}


def build() -> dict:
    """Compile and return the artifact (abi, bytecode, compiler, settings)."""
    sources = {name: {"content": (ROOT / name).read_text()} for name in SOURCES}
    out = solcx.compile_standard(
        {"language": "Solidity", "sources": sources, "settings": SETTINGS},
        solc_binary=str(SOLC),
        allow_paths=[str(ROOT)],
    )
    c = out["contracts"]["contracts/ProvenanceRegistry.sol"]["ProvenanceRegistry"]
    return {
        "contractName": "ProvenanceRegistry",
        "compiler": f"solc-js {_solc_version()}",
        "settings": {k: v for k, v in SETTINGS.items() if k != "outputSelection"},
        "abi": c["abi"],
        "bytecode": "0x" + c["evm"]["bytecode"]["object"],
        "deployedBytecode": "0x" + c["evm"]["deployedBytecode"]["object"],
    }


def _solc_version() -> str:
    import subprocess

    text = subprocess.run([str(SOLC), "--version"], capture_output=True, text=True, check=True).stdout
    return text.strip().splitlines()[-1].removeprefix("Version: ")


def render(artifact: dict) -> str:
    return json.dumps(artifact, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the shipped artifact instead of writing")
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        if not ARTIFACT.exists() or ARTIFACT.read_text() != text:
            print(f"{ARTIFACT.relative_to(ROOT)} is stale: run python scripts/compile.py", file=sys.stderr)
            return 1
        print("artifact up to date")
        return 0
    ARTIFACT.write_text(text)
    size = (len(json.loads(text)["deployedBytecode"]) - 2) // 2
    print(f"wrote {ARTIFACT.relative_to(ROOT)} (runtime code {size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
