"""Registry v2 through the `provenance` command on a fresh anvil: anchored runs are first-class and
write-once, names cannot be squatted, records can be signed by a trainer and sent by anyone, and
retractions are append-only events.

Every reader (lineage from the index and from the logs, used-by, verify, show, audit) must agree, also
after a repeat of an anchored run is sent through the contract directly, bypassing the SDK."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from provenance_ledger.chain.client import Registry
from provenance_ledger.chain.rpc import ANVIL_DEV_KEYS, connect, load_account
from provenance_ledger.core.canonical import decode_run, run_tuple
from tests.conftest import AnvilNode
from tests.test_cli import Cli

pytestmark = pytest.mark.anvil

VICTIM, SQUATTER, TRAINER, RELAYER = (ANVIL_DEV_KEYS[i] for i in range(4))
ROOT = "0x" + "11" * 32


def _run_file(tmp: Path, name: str, version: str, digest: str, parents: str = "") -> str:
    path = tmp / name
    path.write_text(
        f'model: m\nversion: "{version}"\nweights_digest: "0x{digest * 32}"\n'
        + (f"parents: [{parents}]\n" if parents else "")
        + "datanets:\n  - {datanet: d, version: 1, weight_ppm: 1000000}\nstarted_at: 100\nended_at: 200\n"
    )
    return name


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Any:
    node = AnvilNode().start()
    tmp = tmp_path_factory.mktemp("v2")
    cli = Cli(tmp, node.url)
    cli("deploy")
    cli("model", "register", "m")
    cli("datanet", "register", "d")
    cli("datanet", "publish", "d", "--root", ROOT, "--spdx", "MIT", "--contributor", f"{_addr(VICTIM)}:1")
    for v, digest in (("a", "22"), ("b", "33"), ("c", "44")):
        _run_file(tmp, f"{v}.yaml", v, digest)
    _run_file(tmp, "ft.yaml", "ft", "55", parents='{ref: "m@b", relation: adapter}')
    try:
        yield node, tmp, cli
    finally:
        node.stop()


def _addr(key: str) -> str:
    return str(load_account(private_key=key).address)


def test_anchored_runs_are_first_class_and_write_once(chain: Any) -> None:
    node, tmp, cli = chain
    anchored = cli.json("record", "a.yaml", "b.yaml", "c.yaml", "--anchor")
    assert (
        anchored["anchored"] and anchored["root"] and [r["already_recorded"] for r in anchored["runs"]] == [False] * 3
    )
    ids = {r["file"]: r["record_id"] for r in anchored["runs"]}

    tuned = cli.json("record", "ft.yaml")  # its parent m@b is anchored: proved against the stored root
    assert tuned["already_recorded"] is False and tuned["tx"] is not None

    again = cli.json("record", "b.yaml")
    assert again == {"record_id": ids["b.yaml"], "already_recorded": True, "tx": None}
    reanchor = cli.json("record", "a.yaml", "c.yaml", "--anchor")
    assert reanchor["tx"] is None and all(r["already_recorded"] for r in reanchor["runs"])

    # A stranger (or an old SDK) sends a repeat of the anchored run b straight to the contract.
    w3 = connect(node.url)
    reg = Registry.at(
        w3,
        json.loads((tmp / "config.json").read_text())["deployments"]["31337"]["address"],
        load_account(private_key=VICTIM),
    )
    rec_b = reg.get_run(bytes.fromhex(ids["b.yaml"][2:]))
    calldata = reg.abi.functions["anchorRuns"].encode([run_tuple(decode_run(rec_b.record))], [])
    tx = w3.eth.send_transaction({"from": _addr(VICTIM), "to": reg.address, "data": calldata, "gas": 1_000_000})
    assert w3.eth.wait_for_transaction_receipt(tx)["status"] == 1

    cli("index", "sync")
    from_logs = cli.json("lineage", "m@ft", "--no-index")
    from_index = cli.json("lineage", "m@ft")
    assert from_logs == from_index
    ft_node = from_logs["runs"][0]
    assert ft_node["record_id"] == tuned["record_id"] and ft_node["relations"] == ["adapter"]
    assert ft_node["parents"] == [ids["b.yaml"]]

    used_logs = cli.json("used-by", "d", "--no-index")
    used_index = cli.json("used-by", "d")
    assert used_logs == used_index
    assert sorted(u["record_id"] for u in used_logs) == sorted([*ids.values(), tuned["record_id"]])  # b once

    verified = cli.json("verify")
    assert verified["failed"] == 0 and verified["checked"] == 4

    shown = cli.json("show", ids["b.yaml"])
    assert shown["anchor_root"] == anchored["root"] and len(shown["repeats"]) == 1  # the earliest is authoritative

    audit = cli.json("audit", "m@ft", "--out", str(tmp / "audit"))
    report = json.loads(Path(audit["json"]).read_text())
    assert audit["decision"] == "allowed" and report["model"] == "m@ft"


def test_a_squatter_gains_nothing(chain: Any) -> None:
    _, tmp, cli = chain
    cli.json("record", "a.yaml", "b.yaml", "c.yaml", "--anchor")
    cli.json("record", "ft.yaml")
    before = cli.json("lineage", "m@ft", "--no-index")
    squat = {"PROVENANCE_PRIVATE_KEY": SQUATTER}
    cli("model", "register", "m", **squat)  # same names, another owner: other ids
    cli("datanet", "register", "d", **squat)
    cli("datanet", "publish", "d", "--root", ROOT, "--spdx", "MIT", "--contributor", f"{_addr(SQUATTER)}:1", **squat)
    _run_file(tmp, "fake.yaml", "ft", "66")
    cli("record", "fake.yaml", **squat)

    after = cli.json("lineage", "m@ft", "--no-index")
    assert after == before  # the victim's m@ft still resolves to the victim's model and data
    attribution = cli.json("attribution", "m@ft", "--amount", "1000")
    paid = {row["recipient"]: row["amount"] for row in attribution["split"]}
    assert paid.get(_addr(SQUATTER), 0) == 0 and paid[_addr(VICTIM)] == 1000

    squatter_view = cli.json("lineage", f"{_addr(SQUATTER)}/m@ft")
    assert squatter_view["runs"][0]["model_owner"] == _addr(SQUATTER)
    cli("alias", "add", "sq", _addr(SQUATTER))
    assert cli.json("lineage", "sq/m@ft") == squatter_view
    assert before["runs"][0]["model_owner"] == _addr(VICTIM)


def test_signed_records_carry_the_trainer_as_recorder(chain: Any) -> None:
    _, tmp, cli = chain
    _run_file(tmp, "signed.yaml", "s1", "77")
    trainer = {"PROVENANCE_PRIVATE_KEY": TRAINER}
    # The trainer names the victim's model explicitly (a bare name would be the trainer's own).
    (tmp / "signed.yaml").write_text(
        (tmp / "signed.yaml")
        .read_text()
        .replace("model: m", f"model: {_addr(VICTIM)}/m")
        .replace("datanet: d", f"datanet: {_addr(VICTIM)}/d")
    )
    cli("record", "signed.yaml", "--sign-only", "--out", str(tmp / "s1.json"), **trainer)
    refused = cli("submit", str(tmp / "s1.json"), ok=False, PROVENANCE_PRIVATE_KEY=RELAYER)
    assert refused.returncode == 1 and refused.stderr.startswith("error:") and "Traceback" not in refused.stderr

    cli("model", "authorize", "m", _addr(TRAINER))
    sent = json.loads(cli("submit", str(tmp / "s1.json"), "--json", PROVENANCE_PRIVATE_KEY=RELAYER).stdout)
    assert sent["recorder"] == _addr(TRAINER) and sent["already_recorded"] is False
    shown = cli.json("show", sent["record_id"])
    assert shown["recorder"] == _addr(TRAINER)

    cli("model", "revoke", "m", _addr(TRAINER))
    (tmp / "signed2.yaml").write_text((tmp / "signed.yaml").read_text().replace('"s1"', '"s2"'))
    cli("record", "signed2.yaml", "--sign-only", "--out", str(tmp / "s2.json"), **trainer)
    revoked = cli("submit", str(tmp / "s2.json"), ok=False, PROVENANCE_PRIVATE_KEY=RELAYER)
    assert revoked.returncode == 1 and "NotAuthorizedTrainer" in revoked.stderr


def test_retraction_is_an_event_readable_from_the_logs(chain: Any) -> None:
    node, tmp, cli = chain
    out = cli.json("datanet", "retract", "d@1", "--reason", "pii", "--note", "https://example.org/incident/7")
    assert out["reason"] == "pii" and out["tx_hash"]
    cli.json("model", "retract", "m@a", "--reason", "superseded")
    w3 = connect(node.url)
    address = json.loads((tmp / "config.json").read_text())["deployments"]["31337"]["address"]
    reg = Registry.at(w3, address, default_owner=_addr(VICTIM))
    [d] = reg.datanet_retractions("d", 1)
    assert (d.reason, d.note, d.owner) == (1, "https://example.org/incident/7", _addr(VICTIM))
    [m] = reg.model_retractions("m", "a")
    assert m.reason == 4
    victims = f"{_addr(VICTIM)}/d@1"  # a stranger cannot retract another owner's version
    bad = cli("datanet", "retract", victims, "--reason", "pii", ok=False, PROVENANCE_PRIVATE_KEY=SQUATTER)
    assert bad.returncode == 1 and bad.stderr.startswith("error:") and "NotDatanetOwner" in bad.stderr
