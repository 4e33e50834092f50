"""scripts/deploy.py against a real anvil: a dry run sends nothing; a deployment is recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from provenance_ledger.chain.rpc import ANVIL_DEV_KEYS, connect

pytestmark = pytest.mark.anvil
SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "deploy.py"


def test_dry_run_then_deploy(anvil, tmp_path: Path) -> None:
    env = {**os.environ, "PROVENANCE_PRIVATE_KEY": ANVIL_DEV_KEYS[1]}
    w3 = connect(anvil.url)
    before = w3.eth.block_number
    dry = subprocess.run(
        [sys.executable, str(SCRIPT), "--rpc-url", anvil.url, "--dry-run"], capture_output=True, text=True, env=env
    )
    assert dry.returncode == 0, dry.stderr
    assert "deployment gas" in dry.stdout and "nothing sent" in dry.stdout
    assert w3.eth.block_number == before
    real = subprocess.run(
        [sys.executable, str(SCRIPT), "--rpc-url", anvil.url, "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert real.returncode == 0, real.stderr
    dep = json.loads((tmp_path / "31337.json").read_text())
    assert w3.eth.get_code(dep["address"]) and dep["version"] == "2.0.0"
    nokey = subprocess.run(
        [sys.executable, str(SCRIPT), "--rpc-url", anvil.url, "--dry-run"],
        capture_output=True,
        text=True,
        env={k: v for k, v in env.items() if k != "PROVENANCE_PRIVATE_KEY"},
    )
    assert nokey.returncode == 1 and nokey.stderr.startswith("error: key: no signing key")
