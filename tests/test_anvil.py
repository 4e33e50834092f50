"""The same flows against a real JSON-RPC node: anvil, started by the fixture."""

from __future__ import annotations

import pytest
from eth_account import Account

from provenance_ledger.chain.client import Registry
from provenance_ledger.chain.rpc import connect, dev_keys
from provenance_ledger.core.canonical import record_id
from provenance_ledger.errors import ChainError, ContractRevertError, NotFoundError
from tests.conftest import make_run, seed_registry

pytestmark = pytest.mark.anvil


def test_record_and_rebuild_lineage_over_json_rpc(anvil) -> None:
    w3 = connect(anvil.url)
    owner = Account.from_key(dev_keys(w3)[0])
    reg = Registry.deploy(w3, owner)
    seed_registry(reg)
    base = reg.record_run(make_run())
    tuned = reg.record_run(make_run("tuned", "2.0", parents=(base.record_id,), uses=[("beta", 1, 1_000_000)]))
    assert reg.record_run(make_run()).already_recorded

    auditor = Registry.at(connect(anvil.url), reg.address, page_size=3, default_owner=owner.address)  # tiny pages
    lin = auditor.lineage("tuned", "2.0")
    assert [n.record_id for _, n in lin.walk()] == [tuned.record_id, base.record_id]
    assert {u.label for u in auditor.models_trained_on("alpha")} == {"base@1.0", "tuned@2.0"}
    assert auditor.compute_record_id(make_run()) == record_id(make_run())


def test_custom_errors_decoded_from_anvil(anvil) -> None:
    w3 = connect(anvil.url)
    reg = Registry.deploy(w3, Account.from_key(dev_keys(w3)[0]))
    seed_registry(reg)
    with pytest.raises(ContractRevertError) as exc:
        reg.record_run(make_run(uses=[("alpha", 9, 1_000_000)]))
    assert exc.value.name == "UnknownDatanetVersion"


def test_no_chain_and_no_registry_are_clear_errors(anvil) -> None:
    with pytest.raises(ChainError, match="no chain answers"):
        connect("http://127.0.0.1:1")
    w3 = connect(anvil.url)
    with pytest.raises(NotFoundError, match="no contract"):
        Registry.at(w3, "0x" + "12" * 20)
