"""CLI start-up: wall time of `provenance --help`, `lineage` from a warm index and `record --dry-run`,
each as a ratio to `python -c "import click, rich"` measured alternately in the same run.

Starts its own anvil (node_modules/.bin/anvil) on a free port in a temporary folder, deploys a
registry, records a small lineage and syncs the index, then times each command ``--repeat`` times,
interleaving the baseline before every measured command so both see the same machine load.

    .venv/bin/python scripts/bench_cli.py            # print the table
    .venv/bin/python scripts/bench_cli.py --write    # and replace the section in BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks_md import BENCHMARKS, write_section

ROOT = Path(__file__).resolve().parent.parent
EXE = Path(sys.executable).parent / "provenance"
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
TITLE = "## CLI start-up"
TARGETS = {"--help": 1.5, "lineage (warm index)": 3.0}

RUN = """model: bench-model
version: "1.0"
weights_digest: "0x{w}"
datanets:
  - {{datanet: bench-data, version: 1, weight_ppm: 1000000, partition: {{split: train}}}}
preprocessing:
  - {{op: dedupe, params: {{method: exact}}}}
hyperparameters: {{lr: 0.0001, epochs: 2}}
started_at: 100
ended_at: 200
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"error: {' '.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()[-400:]}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=15, help="runs of each command (default 15)")
    ap.add_argument("--write", action="store_true", help="write the table to BENCHMARKS.md")
    args = ap.parse_args()
    if not ANVIL.exists():
        raise SystemExit("error: anvil is not installed: run `make install`")

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        port = _free_port()
        node = subprocess.Popen(
            [str(ANVIL), "--port", str(port), "--silent"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            env = {
                **os.environ,
                "PROVENANCE_CONFIG": str(tmp / "config.json"),
                "PROVENANCE_PRIVATE_KEY": DEV_KEY,
                "PROVENANCE_RPC_URL": url,
                "COLUMNS": "160",
            }
            pv = [str(EXE)]
            setup = [
                ["deploy"],
                ["model", "register", "bench-model"],
                ["datanet", "register", "bench-data"],
                ["datanet", "publish", "bench-data", "--root", "0x" + "11" * 32, "--spdx", "CC-BY-4.0"],
            ]
            (tmp / "run.yaml").write_text(RUN.format(w="22" * 32))
            setup += [["record", "run.yaml"], ["index", "sync"]]
            for cmd in setup:
                _timed(pv + cmd, env, tmp)

            cases = {
                "--help": [*pv, "--help"],
                "lineage (warm index)": [*pv, "lineage", "bench-model@1.0"],
                "record --dry-run": [*pv, "record", "run.yaml", "--dry-run"],
            }
            baseline_cmd = [sys.executable, "-c", "import click, rich"]
            times: dict[str, list[float]] = {name: [] for name in cases}
            base: dict[str, list[float]] = {name: [] for name in cases}
            for name, cmd in cases.items():
                _timed(cmd, env, tmp)  # warm the page cache
                for _ in range(args.repeat):
                    base[name].append(_timed(baseline_cmd, env, tmp))
                    times[name].append(_timed(cmd, env, tmp))
        finally:
            node.terminate()
            node.wait(timeout=30)

    rows = [
        "| command | median wall time | `import click, rich` (alternated) | ratio | target |",
        "|---|---:|---:|---:|---|",
    ]
    for name in cases:
        t, b = statistics.median(times[name]), statistics.median(base[name])
        ratio = t / b
        target = TARGETS.get(name)
        verdict = "-" if target is None else f"≤ {target}x: {'met' if ratio <= target else 'missed'}"
        rows.append(f"| `provenance {name}` | {t * 1000:.0f} ms | {b * 1000:.0f} ms | {ratio:.2f}x | {verdict} |")
    table = "\n".join(rows)
    body = (
        f"`scripts/bench_cli.py` (median of {args.repeat} runs each; the baseline run just before every "
        "measured run, so both see the same load; 2 shared cores, anvil on localhost).\n\n"
        + table
        + "\n\n`--help` and `--version` import neither web3 nor eth_account (tests/test_architecture.py checks "
        "`sys.modules`). `lineage` from a fresh index reads the chain head over a plain JSON-RPC call and the "
        "records from SQLite, re-hashing each one; web3 is loaded only when the index is missing or stale."
    )
    print(table)
    if args.write:
        write_section(BENCHMARKS, TITLE, body)
        print(f"wrote {BENCHMARKS.name}")


if __name__ == "__main__":
    main()
