"""The three workflows through the `provenance` command on a persistent anvil node.

Commands run in this process (:func:`tests.conftest.run_cli`: same entry point, exit codes and
stdout/stderr, without a second of interpreter and web3 start-up per command); anvil is always a real
node. A few checks go through the real installed executable: --help/--version, user and usage errors,
and the workflows after the node restart (a fresh process that remembers nothing but the files).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from eth_account import Account

from provenance_ledger.chain.rpc import ANVIL_DEV_KEYS
from tests.conftest import EXE, AnvilNode, run_cli


class Cli:
    """`provenance ARGS` in the project folder ``tmp`` against ``url``: in this process, or with
    ``real=True`` through the installed executable in a subprocess."""

    def __init__(self, tmp: Path, url: str, *, real: bool = False) -> None:
        self.env = {
            "PROVENANCE_CONFIG": str(tmp / "config.json"),
            "PROVENANCE_PRIVATE_KEY": ANVIL_DEV_KEYS[0],
            "PROVENANCE_RPC_URL": url,
            "COLUMNS": "200",
        }
        """Variables set for each command, on top of this process's environment."""
        self.tmp = tmp
        self.real = real

    def __call__(self, *args: str, ok: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        if self.real:
            proc = subprocess.run(
                [str(EXE), *args],
                capture_output=True,
                text=True,
                env={**os.environ, **self.env, **env},
                cwd=self.tmp,
                timeout=120,
            )
        else:
            proc = run_cli(*args, env={**self.env, **env}, cwd=self.tmp)
        if ok:
            assert proc.returncode == 0, proc.stderr + proc.stdout
        return proc

    def json(self, *args: str) -> object:
        return json.loads(self(*args, "--json").stdout)


BASE = """
model: base
version: "1.0"
weights_digest: "0x{w}"
datanets:
  - {{datanet: alpha, version: 1, weight_ppm: 600000, partition: {{split: train}}}}
  - {{datanet: beta, version: 1, weight_ppm: 400000}}
preprocessing:
  - {{op: dedupe, params: {{method: exact}}}}
started_at: 100
ended_at: 200
"""
TUNED = """
model: tuned
version: "1.1"
weights_digest: "0x{w}"
parents: ["base@1.0"]
datanets:
  - {{datanet: beta, version: 1, weight_ppm: 1000000, partition: {{split: train, selector: "*.jsonl", fraction_ppm: 800000, seed: 7}}}}
preprocessing:
  - {{op: length_filter, params: {{min_chars: 200}}}}
"""


@pytest.fixture
def node(tmp_path: Path):
    n = AnvilNode(state=tmp_path / "anvil-state.json").start()
    yield n
    n.stop()


def setup_project(cli: Cli) -> str:
    address = cli.json("deploy")["address"]  # type: ignore[index]
    for args in (
        ["model", "register", "base"],
        ["model", "register", "tuned"],
        ["datanet", "register", "alpha"],
        ["datanet", "register", "beta"],
    ):
        out = cli(*args)
        assert "tx 0x" in out.stdout and "gas" in out.stdout
    cli(
        "datanet",
        "publish",
        "alpha",
        "--root",
        "0x" + "aa" * 32,
        "--spdx",
        "MIT",
        "--contributor",
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8:3",
    )
    cli("datanet", "publish", "beta", "--root", "0x" + "bb" * 32, "--spdx", "CC-BY-4.0")
    (cli.tmp / "base.yaml").write_text(BASE.format(w="11" * 32))
    (cli.tmp / "tuned.yaml").write_text(TUNED.format(w="22" * 32))
    return str(address)


@pytest.mark.anvil
def test_workflows_survive_a_node_restart(tmp_path: Path, node: AnvilNode) -> None:
    cli = Cli(tmp_path, node.url)
    setup_project(cli)
    dry = cli.json("record", "base.yaml", "--dry-run")
    first = cli.json("record", "base.yaml")
    assert first["record_id"] == dry["record_id"] and not first["already_recorded"]  # type: ignore[index]
    tuned = cli.json("record", "tuned.yaml")
    again = cli.json("record", "tuned.yaml")
    assert again == {"record_id": tuned["record_id"], "already_recorded": True, "tx": None}  # type: ignore[index]

    before = cli.json("lineage", "tuned@1.1")
    table = cli("lineage", "tuned@1.1").stdout
    for needle in ("alpha@1", "beta@1", "60%", "fraction=80%", "seed=7", "min_chars=200", "base@1.0"):
        assert needle in table, needle
    assert "digraph" in cli("lineage", "tuned@1.1", "--dot").stdout
    assert "fine-tuned from" in cli("lineage", "tuned@1.1", "--tree").stdout
    used = cli.json("used-by", "alpha")
    assert [(u["model"], u["depth"]) for u in used] == [("base", 0), ("tuned", 1)]  # type: ignore[index]

    node.stop()
    restarted = AnvilNode(state=node.state).start()
    try:
        cli2 = Cli(tmp_path, restarted.url, real=True)  # a new process: only the files and the chain remain
        assert cli2.json("lineage", "tuned@1.1") == before
        verified = cli2.json("verify")
        assert verified["checked"] == 2 and verified["failed"] == 0  # type: ignore[index]
    finally:
        restarted.stop()


@pytest.mark.anvil
def test_verify_detects_an_altered_off_chain_copy(tmp_path: Path, node: AnvilNode) -> None:
    cli = Cli(tmp_path, node.url)
    setup_project(cli)
    rid = cli.json("record", "base.yaml")["record_id"]  # type: ignore[index]
    exported = cli.json("show", rid)
    (tmp_path / "good.json").write_text(json.dumps(exported))
    assert cli("verify", "--against", "good.json").returncode == 0
    exported["details"]["preprocessing"][0]["params"]["method"] = "none"  # type: ignore[index]
    (tmp_path / "bad.json").write_text(json.dumps(exported))
    bad = cli("verify", "--against", "bad.json", ok=False)
    assert bad.returncode == 1 and "altered" in bad.stdout


@pytest.mark.anvil
def test_each_user_error_is_one_line_with_exit_code(tmp_path: Path, node: AnvilNode) -> None:
    cli = Cli(tmp_path, node.url)
    address = setup_project(cli)
    (tmp_path / "bad.yaml").write_text(BASE.format(w="11" * 32).replace("600000", "600001"))
    (tmp_path / "broken.json").write_text("{not json")
    owner = Account.from_key(ANVIL_DEV_KEYS[0]).address  # another key names this owner's model explicitly
    theirs = BASE.format(w="11" * 32).replace("model: base", f"model: {owner}/base")
    theirs = theirs.replace("datanet: alpha", f"datanet: {owner}/alpha").replace(
        "datanet: beta", f"datanet: {owner}/beta"
    )
    (tmp_path / "theirs.yaml").write_text(theirs)
    cases = [
        (["lineage", "nobody@1.0"], {}, "model nobody is not registered"),
        (["lineage", "base@7.0"], {}, "no training run recorded for base@7.0"),
        (["used-by", "nothing"], {}, "DataNet nothing is not registered"),
        (["record", "bad.yaml"], {}, "bad.yaml: datanets: weights must sum to 1,000,000"),
        (["record", "broken.json"], {}, "broken.json: is not valid JSON"),
        (["record", "theirs.yaml"], {"PROVENANCE_PRIVATE_KEY": ANVIL_DEV_KEYS[3]}, "NotAuthorizedTrainer"),
        (["record", "base.yaml"], {"PROVENANCE_PRIVATE_KEY": "0x1234"}, "key: not a valid private key"),
        (
            ["lineage", "base@1.0"],
            {"PROVENANCE_RPC_URL": "http://127.0.0.1:1"},
            "no chain answers at http://127.0.0.1:1",
        ),
        (["lineage", "base@1.0", "--registry", "0x" + "12" * 20], {}, "no contract at"),
        (["lineage", "base"], {}, "expected NAME@VERSION"),
    ]
    for args, env, message in cases:
        proc = cli(*args, ok=False, **env)
        assert proc.returncode == 1, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], (args, proc.stderr)
        assert "Traceback" not in proc.stderr
    del address


def test_the_real_executable_matches_the_in_process_runs(tmp_path: Path) -> None:
    """The installed `provenance` script: help, version, a user error (exit 1) and a usage error (exit 2),
    each exactly what :func:`run_cli` gives, so the in-process tests check what users get."""
    env = {"PROVENANCE_CONFIG": str(tmp_path / "config.json"), "PROVENANCE_RPC_URL": "http://127.0.0.1:1"}
    cases = [
        (["--help"], 0),
        (["--version"], 0),
        (["lineage", "base@1.0"], 1),
        (["lineage", "base"], 1),
        (["lineage"], 2),
        (["no-such-command"], 2),
    ]
    for args, code in cases:
        real = subprocess.run(
            [str(EXE), *args], capture_output=True, text=True, env={**os.environ, **env}, cwd=tmp_path, timeout=120
        )
        assert real.returncode == code, (args, real.stderr)
        assert "Traceback" not in real.stderr, (args, real.stderr)
        here = run_cli(*args, env=env, cwd=tmp_path)
        assert (here.returncode, here.stdout, here.stderr) == (real.returncode, real.stdout, real.stderr), args
        if code == 1:
            [line] = real.stderr.splitlines()
            assert line.startswith("error: ") and real.stdout == "", args
    help_text = run_cli("--help").stdout
    assert "Quick start" in help_text and "verify-data" in help_text
    assert run_cli("--version").stdout.startswith("provenance, version ")
    assert not (tmp_path / ".provenance").exists() and not (tmp_path / "config.json").exists()
