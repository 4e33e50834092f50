"""The index is a cache that cannot lie (issue 11 item 3): each way of editing the SQLite file is
caught by `provenance index verify`, and `lineage` / `used-by` answered from the altered index either
fail with a clear error or give the chain's answer, never a silently changed one."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import keccak

from provenance_ledger.chain.client import Registry
from provenance_ledger.chain.rpc import connect, dev_keys
from provenance_ledger.core.canonical import encode_run, record_id
from provenance_ledger.index.store import key_path
from tests.conftest import make_run
from tests.test_cli import Cli

DB = Path(".provenance") / "index-31337.sqlite"
QUERIES = (("lineage", "tuned@2.0"), ("used-by", "corpus"))


def _chain(url: str) -> tuple[Registry, dict[str, bytes]]:
    w3 = connect(url)
    reg = Registry.deploy(w3, Account.from_key(dev_keys(w3)[0]))
    assert reg.signer is not None
    owner = reg.signer.address
    reg.register_model("base")
    reg.register_model("tuned")
    reg.register_datanet("corpus")
    reg.publish_datanet_version(
        "corpus",
        content_root=keccak(text="corpus-1"),
        manifest_hash=keccak(text="corpus-1-manifest"),
        terms={"spdx": "CC-BY-NC-4.0", "commercial_use": False},
        contributors=[("0x" + "11" * 20, 1)],
    )
    base = reg.record_run(make_run("base", "1.0", uses=[("corpus", 1, 1_000_000)], owner=owner)).record_id
    tuned = reg.record_run(
        make_run("tuned", "2.0", parents=(base,), uses=[("corpus", 1, 1_000_000)], owner=owner)
    ).record_id
    reg.retract_datanet_version("corpus", 1, reason="licence", note="ipfs://licence-dispute")
    reg.retract_model_version("base", "1.0", reason="superseded")
    return reg, {"base": base, "tuned": tuned}


def _delete_run(db: sqlite3.Connection, ids: dict[str, bytes], owner: str) -> None:
    db.execute("DELETE FROM runs WHERE record_id = ?", (ids["tuned"],))


def _insert_forged_run(db: sqlite3.Connection, ids: dict[str, bytes], owner: str) -> None:
    """A second run of tuned@2.0 that hashes to its id, with its uses and parent edge: self-consistent."""
    forged = make_run(
        "tuned", "2.0", parents=(ids["base"],), uses=[("corpus", 1, 1_000_000)], owner=owner, started_at=7
    )
    rid = record_id(forged)
    row = list(db.execute("SELECT * FROM runs WHERE record_id = ?", (ids["tuned"],)).fetchone())
    row[0], row[7], row[6] = rid, encode_run(forged), row[6] + 1
    db.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?)", row)
    use = list(db.execute("SELECT * FROM datanet_uses WHERE record_id = ?", (ids["tuned"],)).fetchone())
    use[2] = rid
    db.execute("INSERT INTO datanet_uses VALUES (?,?,?,?,?,?)", use)
    db.execute("INSERT INTO parents VALUES (?, ?)", (ids["base"], rid))


def _terms_to_mit(db: sqlite3.Connection, ids: dict[str, bytes], owner: str) -> None:
    (terms,) = db.execute("SELECT terms FROM datanet_versions").fetchone()
    new = bytes(terms).replace(b"CC-BY-NC-4.0", b"MIT").replace(b'"commercial_use":false', b'"commercial_use":true')
    assert new != bytes(terms)
    db.execute("UPDATE datanet_versions SET terms = ?", (new,))


def _content_root(db: sqlite3.Connection, ids: dict[str, bytes], owner: str) -> None:
    db.execute("UPDATE datanet_versions SET content_root = ?", (keccak(text="another corpus"),))


def _model_name(db: sqlite3.Connection, ids: dict[str, bytes], owner: str) -> None:
    db.execute("UPDATE models SET name = 'innocent-model' WHERE name = 'base'")


def _datanet_name(db: sqlite3.Connection, ids: dict[str, bytes], owner: str) -> None:
    db.execute("UPDATE datanets SET name = 'public-domain-corpus'")


def _delete_datanet_retraction(db: sqlite3.Connection, ids: dict[str, bytes], owner: str) -> None:
    db.execute("DELETE FROM datanet_retractions")


def _soften_retraction(db: sqlite3.Connection, ids: dict[str, bytes], owner: str) -> None:
    db.execute("UPDATE datanet_retractions SET reason = 4, note = 'superseded, nothing to see'")


def _delete_model_retraction(db: sqlite3.Connection, ids: dict[str, bytes], owner: str) -> None:
    db.execute("DELETE FROM model_retractions")


TAMPERINGS: dict[str, tuple[Callable[[sqlite3.Connection, dict[str, bytes], str], None], str]] = {
    "deleted run": (_delete_run, "runs"),
    "inserted forged run": (_insert_forged_run, "runs"),
    "terms CC-BY-NC-4.0 -> MIT": (_terms_to_mit, "datanet_versions"),
    "changed content root": (_content_root, "datanet_versions"),
    "changed model name": (_model_name, "models"),
    "changed DataNet name": (_datanet_name, "datanets"),
    "deleted DataNet retraction": (_delete_datanet_retraction, "datanet_retractions"),
    "retraction licence -> superseded": (_soften_retraction, "datanet_retractions"),
    "deleted model retraction": (_delete_model_retraction, "model_retractions"),
}


@pytest.mark.anvil
def test_every_tampering_is_caught_by_verify_and_never_changes_an_answer(anvil, tmp_path: Path) -> None:
    reg, ids = _chain(anvil.url)
    assert reg.signer is not None
    owner = reg.signer.address
    clean = tmp_path / "clean"
    clean.mkdir()
    cli = Cli(clean, anvil.url)
    cli.env["PROVENANCE_REGISTRY"] = reg.address
    cli.json("index", "sync")
    assert key_path(clean / DB).stat().st_mode & 0o077 == 0  # the key is the owner's alone
    truth = {q: cli.json(*q, "--no-index") for q in QUERIES}
    for q in QUERIES:
        assert cli.json(*q) == truth[q], q  # the clean index gives the chain's answers
    ok = cli.json("index", "verify")
    assert isinstance(ok, dict) and ok["ok"] is True and ok["differences"] == []

    for n, (name, (tamper, table)) in enumerate(TAMPERINGS.items()):
        case = tmp_path / f"case{n}"
        shutil.copytree(clean / ".provenance", case / ".provenance")
        db = sqlite3.connect(case / DB)
        tamper(db, ids, owner)
        db.commit()
        db.close()
        c = Cli(case, anvil.url)
        c.env.update(cli.env, PROVENANCE_CONFIG=str(case / "config.json"))

        v = c("index", "verify", "--json", ok=False)
        assert v.returncode == 1, (name, v.stdout, v.stderr)
        report = json.loads(v.stdout)
        assert report["ok"] is False
        assert table in {d["table"] for d in report["differences"]}, (name, report["differences"])
        human = c("index", "verify", ok=False)
        assert human.returncode == 1 and table in human.stdout, name

        for q in QUERIES:
            got = c(*q, "--json", ok=False)
            if got.returncode == 0:
                assert json.loads(got.stdout) == truth[q], (name, q)  # the chain's answer, or...
            else:  # ...a clear error that names the alteration
                assert "index was altered" in got.stderr or "missing" in got.stderr, (name, q, got.stderr)
                assert "Traceback" not in got.stderr, (name, q)
        # every alteration here touches a row a lineage of tuned@2.0 reads: it is an error
        broken = c("lineage", "tuned@2.0", ok=False)
        assert broken.returncode == 1 and "rebuild it with `provenance index sync --rebuild`" in broken.stderr, name
        assert json.loads(c("lineage", "tuned@2.0", "--no-index", "--json").stdout) == truth[QUERIES[0]]

    # --rebuild starts afresh: the altered copy agrees with the chain again
    c("index", "sync", "--rebuild")
    assert c.json("index", "verify")["ok"] is True  # type: ignore[index]
    for q in QUERIES:
        assert c.json(*q) == truth[q], q
