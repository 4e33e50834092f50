"""eth_getLogs paging against providers that cap results (Infura: -32005 "query returned more than
10000 results"): every log still comes back, page sizes grow again after a refusal, and a block too big
for the cap is a clear ChainError."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import keccak
from web3 import Web3
from web3.middleware import Web3Middleware
from web3.providers import HTTPProvider, JSONBaseProvider

from provenance_ledger.chain.abi import registry_abi
from provenance_ledger.chain.client import Registry
from provenance_ledger.chain.rpc import connect, dev_keys
from provenance_ledger.errors import ChainError
from provenance_ledger.index.store import Index
from tests.conftest import current_owner, make_run, seed_registry

ADDRESS = "0x" + "12" * 20
CAP_ERROR = {"code": -32005, "message": "query returned more than {cap} results"}


def _refusal(cap: int, request_id: Any = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {**CAP_ERROR, "message": CAP_ERROR["message"].format(cap=cap)}}


class SyntheticProvider(JSONBaseProvider):
    """A JSON-RPC 'node' holding DatanetUsed logs at chosen blocks; refuses pages with > ``cap`` logs."""

    def __init__(self, logs_per_block: dict[int, int], cap: int) -> None:
        super().__init__()
        self.cap = cap
        self.calls: list[tuple[int, int, bool]] = []  # (from, to, refused)
        t0 = registry_abi().events["DatanetUsed"].topic0
        self.logs: dict[int, list[dict[str, Any]]] = {}
        for block, n in logs_per_block.items():
            self.logs[block] = [
                {
                    "address": ADDRESS.lower(),
                    "topics": [
                        "0x" + t.hex() for t in (t0, keccak(text="d"), keccak(text="m"), keccak(text=f"{block}-{i}"))
                    ],
                    "data": "0x" + abi_encode(["uint64", "uint32"], [block, i]).hex(),
                    "blockNumber": hex(block),
                    "blockHash": "0x" + keccak(text=f"block-{block}").hex(),
                    "transactionHash": "0x" + keccak(text=f"tx-{block}-{i}").hex(),
                    "logIndex": hex(i),
                    "removed": False,
                }
                for i in range(n)
            ]

    def make_request(self, method: Any, params: Any) -> Any:
        assert method == "eth_getLogs", method
        lo, hi = int(params[0]["fromBlock"], 16), int(params[0]["toBlock"], 16)
        found = [log for b in sorted(self.logs) if lo <= b <= hi for log in self.logs[b]]
        refused = len(found) > self.cap
        self.calls.append((lo, hi, refused))
        return _refusal(self.cap) if refused else {"jsonrpc": "2.0", "id": 1, "result": found}


def _registry(provider: JSONBaseProvider, page_size: int) -> Registry:
    return Registry(Web3(provider), ADDRESS, page_size=page_size)


def test_every_log_is_returned_when_the_provider_caps_results() -> None:
    density = dict.fromkeys(range(0, 3000, 7), 1) | dict.fromkeys(range(1000, 1040), 8)  # a dense stretch
    provider = SyntheticProvider(density, cap=20)
    reg = _registry(provider, page_size=2048)
    got = reg.logs("DatanetUsed", from_block=0, to_block=9999)
    want = [(b, i) for b in sorted(density) for i in range(density[b])]
    assert [(r.block_number, r.args["weightPpm"]) for r in got] == want
    assert any(refused for *_, refused in provider.calls)


def test_page_size_grows_back_after_refusals() -> None:
    density = dict.fromkeys(range(100, 110), 4)  # dense at the start, empty after
    provider = SyntheticProvider(density, cap=5)
    reg = _registry(provider, page_size=4096)
    pages = list(reg._pages([], 0, 100_000))
    assert sum(len(raw) for *_, raw in pages) == 40
    accepted = [(lo, hi) for lo, hi, refused in provider.calls if not refused]
    assert [(lo, hi) for lo, hi, _ in pages] == accepted
    assert pages[-1][1] == 100_000  # contiguous to the end
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(pages))
    after = [hi - lo + 1 for lo, hi, _ in pages if lo > 110]
    assert max(after) == 4096  # grew back to the configured size
    assert len(provider.calls) < 80  # not one request per block, nor per halved page forever


def test_max_logs_keeps_pages_near_the_target() -> None:
    density = dict.fromkeys(range(2000), 10)
    provider = SyntheticProvider(density, cap=10**9)
    reg = _registry(provider, page_size=10_000)
    pages = list(reg._pages([], 0, 1999, max_logs=300))
    assert sum(len(raw) for *_, raw in pages) == 20_000
    assert pages[0][:2] == (0, 0)  # starts with one block
    assert max(len(raw) for *_, raw in pages) <= 600


def test_a_block_over_the_cap_is_a_clear_error() -> None:
    provider = SyntheticProvider({5: 3, 50: 12}, cap=10)
    reg = _registry(provider, page_size=1000)
    with pytest.raises(ChainError, match=r"refused block 50 on its own.*-32005.*more than 10 results"):
        reg.logs("DatanetUsed", from_block=0, to_block=99)


# ---------------------------------------------------------------- real nodes


class CappedHTTPProvider(HTTPProvider):
    """anvil behind an Infura-like cap: eth_getLogs answering more than ``cap`` logs is refused."""

    def __init__(self, url: str, cap: int) -> None:
        super().__init__(url)
        self.cap = cap
        self.refused = 0

    def make_request(self, method: Any, params: Any) -> Any:
        response = super().make_request(method, params)
        if method == "eth_getLogs" and len(response.get("result") or []) > self.cap:
            self.refused += 1
            return _refusal(self.cap, response.get("id"))
        return response


def _single_use(model: str, version: str) -> Any:
    return make_run(model, version, uses=[("alpha", 1, 1_000_000)])  # RunRecorded + one DatanetUsed


@pytest.mark.anvil
def test_logs_and_index_sync_through_a_capped_provider(anvil, tmp_path) -> None:
    w3 = connect(anvil.url)
    reg = Registry.deploy(w3, Account.from_key(dev_keys(w3)[0]))
    seed_registry(reg)
    for i in range(6):  # blocks of 2 logs and of 4 logs
        if i % 2:
            reg.record_runs([_single_use("base", f"{i}.a"), _single_use("tuned", f"{i}.b")])
        else:
            reg.record_run(_single_use("base", f"{i}.0"))

    capped = CappedHTTPProvider(anvil.url, cap=5)
    slow = Registry(Web3(capped), reg.address, page_size=1000, from_block=reg.from_block)
    for event in ("RunRecorded", "DatanetUsed", "DatanetVersionPublished"):
        assert [(r.block_number, r.log_index) for r in slow.logs(event)] == [
            (r.block_number, r.log_index) for r in reg.logs(event)
        ]
    assert capped.refused > 0

    plain = Index(tmp_path / "plain.sqlite", default_owner=current_owner)
    through_cap = Index(tmp_path / "capped.sqlite", default_owner=current_owner)
    want = plain.sync(reg)
    got = through_cap.sync(slow, max_logs=1_000)
    assert got.events == want.events and got.records == want.records == 9
    assert through_cap.status().counts == plain.status().counts
    for m, v in (("base", "0.0"), ("tuned", "5.b")):
        assert through_cap.lineage(m, v) == plain.lineage(m, v) == reg.lineage(m, v)

    reg.record_runs([_single_use("base", f"big.{i}") for i in range(6)])  # one block of 6 runs, 12 logs > cap
    with pytest.raises(ChainError, match=r"refused block .* on its own"):
        slow.logs("RunRecorded")
    with pytest.raises(ChainError, match=r"refused block .* on its own"):
        through_cap.sync(slow)


class CapMiddleware(Web3Middleware):
    """The same cap as web3 middleware, for the embedded chain (eth-tester)."""

    cap = 2
    refused = 0

    def response_processor(self, method: Any, response: Any) -> Any:
        if method == "eth_getLogs" and len(response.get("result") or []) > self.cap:
            type(self).refused += 1
            return _refusal(self.cap, response.get("id"))
        return response


def test_capped_eth_tester_through_web3_middleware(registry: Registry, w3) -> None:
    for i in range(3):
        registry.record_run(_single_use("base", f"{i}"))
    want = [(r.block_number, r.log_index) for r in registry.logs("RunRecorded")]
    want_uses = [(r.block_number, r.log_index) for r in registry.logs("DatanetUsed")]
    w3.middleware_onion.add(CapMiddleware, "cap")
    CapMiddleware.refused = 0
    capped = Registry(w3, registry.address, page_size=64, from_block=registry.from_block)
    assert [(r.block_number, r.log_index) for r in capped.logs("RunRecorded")] == want
    assert [(r.block_number, r.log_index) for r in capped.logs("DatanetUsed")] == want_uses
    assert CapMiddleware.refused > 0
