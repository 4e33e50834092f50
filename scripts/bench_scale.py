#!/usr/bin/env python3
"""Scale benchmark: a million training runs in a local anvil, then the queries that matter.

    python scripts/bench_scale.py                    # 1,000,000 runs (several minutes)
    python scripts/bench_scale.py --records 20000    # a quick look
    python scripts/bench_scale.py --write            # replace the "## Scale" section of BENCHMARKS.md

Shape: 5,000 models; fine-tune chains 20 deep (each chain's runs are anchored in the same batch, so a
parent is always on chain before its child); every run trains on 1-2 of 50 DataNets; the leaf of the
first 10,000 chains also trains on the "popular" DataNet (10,000 model versions use it).
Loading: anchored batches sized under the 128 KB / gas caps, sent pipelined with automine off and one
`evm_mine` per window of transactions. Records are generated and encoded (Python) before the clock
starts for the ingest figure; their generation rate is reported separately.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import signal
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import requests
from eth_account import Account
from eth_utils import keccak

from provenance_ledger.chain.bulk import BulkSender, calldata_gas, plan_batches
from provenance_ledger.chain.client import Registry
from provenance_ledger.chain.rpc import ANVIL_DEV_KEYS, connect
from provenance_ledger.core.canonical import encode_run, entity_id
from provenance_ledger.core.merkle import merkle_root_of_ids
from provenance_ledger.core.records import DatanetUse, PreprocessingStep, TrainingRun

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from conftest import AnvilNode  # noqa: E402

DEPTH = 20
MODELS = 5_000
DATANETS = 50
POPULAR_USERS = 10_000
WINDOW = 150  # transactions sent between two evm_mine calls
RAW_REVERSE_BUDGET_S = 600  # the raw-log reverse query over a million runs is measured up to this long
OWNER = Account.from_key(ANVIL_DEV_KEYS[0]).address
"""The deploying account: every model and DataNet is its own (ids are scoped by owner)."""


def name_id(name: str) -> bytes:
    """The id OWNER gets for ``name``."""
    return entity_id(OWNER, name)


def datanet_name(i: int) -> str:
    return f"datanet-{i:02d}"


def chain_runs(c: int) -> list[tuple[bytes, tuple[int, int], bytes]]:
    """The DEPTH runs of chain ``c``: (canonical bytes, (uses, parents), record id)."""
    out = []
    parent: bytes | None = None
    model = name_id(f"model-{c % MODELS:05d}")
    for d in range(DEPTH):
        a, b = (c * 7 + d) % DATANETS, (c * 13 + d * 3 + 1) % DATANETS
        if d == 0:
            uses = (
                DatanetUse(datanet_id=name_id(datanet_name(a)), version=1, weight_ppm=600_000),
                DatanetUse(datanet_id=name_id(datanet_name(b)), version=2, weight_ppm=400_000),
            )
        elif d == DEPTH - 1 and c < POPULAR_USERS:
            uses = (DatanetUse(datanet_id=name_id("popular"), version=1, weight_ppm=1_000_000),)
        else:
            uses = (DatanetUse(datanet_id=name_id(datanet_name(a)), version=1 + d % 2, weight_ppm=1_000_000),)
        run = TrainingRun(
            model_id=model,
            model_version=f"{c // MODELS}.{d}",
            weights_digest=keccak(f"w{c}.{d}".encode()),
            parents=(parent,) if parent else (),
            datanets=uses,
            preprocessing=(PreprocessingStep(op="dedupe", params={"threshold": 0.85}),),
            hyperparameters={"lr": 0.0003},
            started_at=1_764_000_000 + c * DEPTH + d,
        )
        enc = encode_run(run)
        rid = keccak(enc)
        out.append((enc, (len(uses), len(run.parents)), rid))
        parent = rid
    return out


def gen_chunk(bounds: tuple[int, int]) -> list[tuple[bytes, tuple[int, int], bytes]]:
    out = []
    for c in range(*bounds):
        out.extend(chain_runs(c))
    return out


def rss_peak_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def timed(fn, repeat: int = 5) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite index (its path is printed)")
    args = parser.parse_args(argv)
    chains = max(1, args.records // DEPTH)
    n = chains * DEPTH
    say = lambda *a: print(*a, file=sys.stderr, flush=True)  # noqa: E731
    results: dict[str, object] = {"records": n}

    # 1. generate and encode (two processes)
    t = time.perf_counter()
    step = max(1, chains // 64)
    with ProcessPoolExecutor(max_workers=2) as pool:
        parts = list(pool.map(gen_chunk, [(i, min(i + step, chains)) for i in range(0, chains, step)]))
    items = [x for p in parts for x in p]
    del parts
    gen_s = time.perf_counter() - t
    results["generate_rps"] = n / gen_s
    say(f"generated {n:,} records in {gen_s:.1f} s")

    workdir = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    say(f"working in {workdir}")
    node = AnvilNode(extra_args=("--no-mining", "--gas-limit", "1000000000", "--prune-history")).start()
    try:
        w3 = connect(node.url, timeout=600)
        owner = Account.from_key(ANVIL_DEV_KEYS[0])
        mine = lambda: w3.provider.make_request("evm_mine", [])  # noqa: E731
        w3.provider.make_request("evm_setAutomine", [True])
        reg = Registry.deploy(w3, owner)
        w3.provider.make_request("evm_setAutomine", [False])

        # 2. models and DataNets (pipelined)
        fns = reg.abi.functions
        signer = reg.signer
        assert signer is not None
        txs = []
        for i in range(MODELS):
            txs.append(signer.send(reg.address, fns["registerModel"].encode(f"model-{i:05d}"), 120_000))
            if len(txs) % WINDOW == 0:
                mine()
        names = [datanet_name(i) for i in range(DATANETS)] + ["popular"]
        txs.extend(signer.send(reg.address, fns["registerDatanet"].encode(name), 120_000) for name in names)
        mine()
        for name in names:
            for v in (1, 2):
                data = fns["publishDatanetVersion"].encode(
                    name_id(name), keccak(f"{name}{v}".encode()), keccak(b"m"), b'{"spdx":"MIT"}', []
                )
                txs.append(signer.send(reg.address, data, 300_000))
        mine()
        for tx in txs:
            signer.wait(tx)
        say(f"registered {MODELS:,} models and {len(names)} DataNets")

        # 3. ingest, anchored
        encoded = [e for e, _, _ in items]
        shapes = [s for _, s, _ in items]
        batches = plan_batches(encoded, shapes, selector=fns["anchorRuns"].selector, anchored=True, max_records=140)
        assert all((b.stop - b.start) % DEPTH == 0 for b in batches[:-1]), "a chain was split across batches"
        # Node-side signing (anvil's unlocked dev account, raw JSON-RPC): what the chain and the client
        # library can ingest. Local signing with eth-account is measured separately below.
        session = requests.Session()

        def rpc(method: str, params: list) -> object:  # type: ignore[type-arg]
            body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
            reply = session.post(node.url, data=body, headers={"Content-Type": "application/json"}).json()
            if "error" in reply:
                raise RuntimeError(f"{method}: {reply['error']}")
            return reply["result"]

        start_block = w3.eth.block_number
        head = f'{{"jsonrpc":"2.0","id":1,"method":"eth_sendTransaction","params":[{{"from":"{owner.address}","to":"{reg.address}","gas":"'
        t = time.perf_counter()
        mining = 0.0
        for k, b in enumerate(batches):
            body = (head + hex(b.gas) + '","data":"0x' + b.calldata.hex() + '"}]}').encode()
            reply = session.post(node.url, data=body, headers={"Content-Type": "application/json"}).json()
            if "error" in reply:
                raise RuntimeError(f"batch {k}: {reply['error']}")
            if (k + 1) % WINDOW == 0:
                tm = time.perf_counter()
                rpc("evm_mine", [])
                mining += time.perf_counter() - tm
        tm = time.perf_counter()
        rpc("evm_mine", [])
        mining += time.perf_counter() - tm
        say(f"sending {time.perf_counter() - t - mining:.1f} s, mining {mining:.1f} s")
        end_block = int(rpc("eth_blockNumber", []), 16)  # type: ignore[arg-type]
        gas_total = sum(
            int(rpc("eth_getBlockByNumber", [hex(x), False])["gasUsed"], 16)
            for x in range(start_block + 1, end_block + 1)
        )  # type: ignore[index]
        ingest_s = time.perf_counter() - t
        anchored_gas = gas_total / n
        # every batch landed: its root is anchored on chain (checked outside the timing)
        ids = [rid for _, _, rid in items]
        fn_anchor = fns["anchorBlock"]
        missing = sum(
            1
            for b in batches
            if int(
                rpc(
                    "eth_call",
                    [
                        {
                            "to": reg.address,
                            "data": "0x" + fn_anchor.encode(merkle_root_of_ids(ids[b.start : b.stop])).hex(),
                        },
                        "latest",
                    ],
                ),
                16,
            )
            == 0  # type: ignore[arg-type]
        )
        assert missing == 0, f"{missing} batches did not land"
        # local signing (eth-account), on a sample of batches
        sample = batches[: min(50, len(batches))]
        t = time.perf_counter()
        for k, b in enumerate(sample):
            owner.sign_transaction(
                {
                    "to": reg.address,
                    "data": b.calldata,
                    "gas": b.gas,
                    "nonce": k,
                    "chainId": 31337,
                    "value": 0,
                    "type": 2,
                    "maxFeePerGas": 10**10,
                    "maxPriorityFeePerGas": 10**9,
                }
            )
        sign_rps = sum(b.stop - b.start for b in sample) / (time.perf_counter() - t)
        results |= {
            "ingest_s": ingest_s,
            "ingest_rps": n / ingest_s,
            "batches": len(batches),
            "anchored_gas": anchored_gas,
            "batch_size": (batches[0].stop - batches[0].start),
            "batch_bytes": len(batches[0].calldata),
            "sign_rps": sign_rps,
        }
        avg_bytes = sum(map(len, encoded)) / n
        floor = sum(calldata_gas(e) for e in encoded[:2000]) / min(n, 2000)
        results |= {"record_bytes": avg_bytes, "calldata_floor": floor}
        say(
            f"ingested {n:,} records in {ingest_s:.1f} s ({n / ingest_s:,.0f}/s), {anchored_gas:,.0f} gas/record anchored"
        )

        # 4. single and batched modes on the same chain (a few fresh runs)
        w3.provider.make_request("evm_setAutomine", [True])
        signer._nonce = None  # the node signed the ingest with this account: re-read its nonce
        extra = gen_chunk((chains, chains + 6))  # 120 runs: fresh chains
        shapes_x = [s for _, s, _ in extra]
        one = extra[0][0][32:]  # the run's tuple; recordRun(run, []): head, the run, an empty proof array
        call = fns["recordRun"].selector + (64).to_bytes(32, "big") + (64 + len(one)).to_bytes(32, "big") + one
        single = reg.signer.transact(reg.address, call + bytes(32)).gas_used  # type: ignore[union-attr]
        b100 = plan_batches(
            [e for e, _, _ in extra[20:120]],
            shapes_x[20:120],
            selector=fns["recordRuns"].selector,
            anchored=False,
            max_records=100,
        )
        s2 = BulkSender(reg)
        for b in b100:
            s2.send(b)
        batch_gas = sum(r.gas_used for r in s2.wait_all()) / 100
        results |= {"single_gas": single, "batch_gas": batch_gas}
        head = w3.eth.block_number

        # 5. index sync, lineage and reverse queries
        deep_model, deep_version = "model-00000", f"{0 // MODELS}.{DEPTH - 1}"
        try:
            from provenance_ledger.index.store import Index  # the local SQLite index

            db = workdir / "index.sqlite"
            t = time.perf_counter()
            idx = Index(db, default_owner=OWNER)
            idx.sync(reg)
            results["index_sync_s"] = time.perf_counter() - t
            # cold: a fresh Index (no cached records) for every query, as a new CLI process would have
            results["index_lineage_ms"] = 1000 * timed(
                lambda: Index(db, default_owner=OWNER).lineage(deep_model, deep_version), 20
            )
            results["index_lineage_warm_ms"] = 1000 * timed(lambda: idx.lineage(deep_model, deep_version), 20)
            results["index_reverse_ms"] = 1000 * timed(
                lambda: Index(db, default_owner=OWNER).models_trained_on("popular"), 3
            )
            results["index_popular_users"] = len(idx.models_trained_on("popular"))
            say(f"index: sync {results['index_sync_s']:.1f} s; lineage {results['index_lineage_ms']:.2f} ms")
        except ImportError:
            say("no provenance_ledger.index: index figures skipped")
        results["logs_lineage_ms"] = 1000 * timed(
            lambda: Registry(w3, reg.address, from_block=reg.from_block, default_owner=OWNER).lineage(
                deep_model, deep_version
            ),
            3,
        )
        t = time.perf_counter()

        def give_up(*_: object) -> None:
            raise TimeoutError

        signal.signal(signal.SIGALRM, give_up)
        signal.alarm(RAW_REVERSE_BUDGET_S)
        try:
            users = Registry(w3, reg.address, from_block=reg.from_block, default_owner=OWNER).models_trained_on(
                "popular"
            )
            results["logs_reverse_ms"] = 1000 * (time.perf_counter() - t)
            results["popular_users"] = len(users)
        except TimeoutError:
            results["logs_reverse_ms"] = f"> {RAW_REVERSE_BUDGET_S * 1000:,}"
        finally:
            signal.alarm(0)
        results.setdefault("popular_users", results.get("index_popular_users", POPULAR_USERS))
        results["blocks"] = head
        results["python_peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        results["anvil_peak_mib"] = rss_peak_kib(node.proc.pid) / 1024 if node.proc else 0  # type: ignore[union-attr]
    finally:
        node.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    body = table(results)
    print(body)
    if args.write:
        sys.path.insert(0, str(ROOT / "scripts"))
        from bench_gas import write_section

        write_section(ROOT / "BENCHMARKS.md", "## Scale", body)
    return 0


def table(r: dict[str, object]) -> str:
    def g(k: str, fmt: str = "{:,.0f}") -> str:
        if k not in r:
            return "not measured"
        return r[k] if isinstance(r[k], str) else fmt.format(r[k])  # type: ignore[return-value]

    n = int(r["records"])  # type: ignore[call-overload]
    gas_day = 30_000_000 * 7_200  # a 30M-gas block every 12 s
    anchored = float(r["anchored_gas"])  # type: ignore[arg-type]
    lines = [
        f"Measured by `python scripts/bench_scale.py` ({n:,} recorded runs; anvil 1.7.1, automine off, {r['batches']:,} anchored batches of {r['batch_size']} runs, {int(r['batch_bytes']):,} bytes of calldata each; 2 cores).",  # type: ignore[call-overload]
        "",
        "| measure | result | target |",
        "|---|---:|---|",
        f"| record size (canonical bytes, avg) | {g('record_bytes')} B | |",
        f"| calldata floor per record (16/4 gas per byte) | {g('calldata_floor')} gas | |",
        f"| gas per record, single `recordRun` | {g('single_gas')} | |",
        f"| gas per record, batch of 100 `recordRuns` | {g('batch_gas')} | |",
        f"| gas per record, anchored `anchorRuns` | {g('anchored_gas')} | <= 20,000 |",
        f"| record generation + canonical encoding (Python, 2 processes) | {g('generate_rps')} records/s | |",
        f"| ingest into anvil (send, mine, gas accounted; node-side signing) | {g('ingest_rps')} records/s ({g('ingest_s', '{:.1f}')} s) | >= 40,000/s |",
        f"| local signing with eth-account (same batches) | {g('sign_rps')} records/s per core | |",
        f"| full index sync (SQLite, raw eth_abi decoding) | {g('index_sync_s', '{:.1f}')} s | < 30 s |",
        f"| lineage of a 20-deep model, from the index (fresh process state / warm) | {g('index_lineage_ms', '{:.2f}')} ms / {g('index_lineage_warm_ms', '{:.2f}')} ms | < 5 ms |",
        f"| lineage of a 20-deep model, from raw logs | {g('logs_lineage_ms', '{:.0f}')} ms | |",
        f"| reverse query, DataNet used by {g('popular_users')} model versions, from the index | {g('index_reverse_ms', '{:.0f}')} ms | |",
        f"| reverse query, same, from raw logs | {g('logs_reverse_ms', '{:.0f}')} ms | |",
        f"| peak memory: Python / anvil | {g('python_peak_mib')} MiB / {g('anvil_peak_mib')} MiB | |",
        "",
        f"At {anchored:,.0f} gas per anchored record, one chain with 30M-gas blocks every 12 s takes "
        f"{gas_day / anchored:,.0f} training records a day ({gas_day / anchored / 86_400:,.0f}/s) if it carried nothing else; "
        f"at 10% of a chain's gas, {gas_day * 0.1 / anchored:,.0f} a day.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
