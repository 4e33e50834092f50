"""Reproducibility through the `provenance` command (run in this process, see tests.conftest.run_cli) on anvil:
datanet fingerprint, verify-data, verify-model."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from provenance_ledger.core.manifest import FileEntry, FileProof, Manifest, content_root, verify_file_proof
from provenance_ledger.core.partition import select_partition
from provenance_ledger.core.records import Partition
from provenance_ledger.local.fingerprint import fingerprint, weights_digest
from tests.conftest import AnvilNode
from tests.test_cli import Cli

pytestmark = pytest.mark.anvil

PART = Partition(split="train", selector="en/*", fraction_ppm=500_000, seed=3)

BASE = """
model: base
version: "1.0"
weights_digest: "0x{w}"
datanets:
  - {{datanet: pre, version: 1, weight_ppm: 1000000}}
"""
TUNED = """
model: tuned
version: "1.1"
weights_digest: "0x{w}"
parents: ["base@1.0"]
datanets:
  - {{datanet: corpus, version: 1, weight_ppm: 1000000,
     partition: {{split: train, selector: "en/*", fraction_ppm: 500000, seed: 3}}}}
"""


def make_corpus(folder: Path) -> Path:
    for i in range(20):
        p = folder / "en" / f"part-{i:04d}.jsonl"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("".join(f'{{"id": {i * 100 + j}, "text": "english sample {i}-{j}"}}\n' for j in range(5)))
    for i in range(5):
        p = folder / "de" / f"teil-{i}.jsonl"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f'{{"id": {i}, "text": "deutsches Beispiel {i}"}}\n')
    (folder / "README.md").write_text("# corpus\n")
    return folder


def make_weights(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"layers": 2}')
    (folder / "model.safetensors").write_bytes(bytes(range(256)) * 64)
    return folder


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """corpus@1 and pre@1 published with --dir; base@1.0 trained on pre@1; tuned@1.1 on a partition of corpus@1.

    Shared by the module's tests (set-up is a dozen transactions): they only read it, and put their
    copies and edits in their own tmp_path."""
    node = AnvilNode().start()
    try:
        yield setup_project(Cli(tmp_path_factory.mktemp("project"), node.url))
    finally:
        node.stop()


def setup_project(cli: Cli) -> Cli:
    tmp_path = cli.tmp
    cli.json("deploy")
    for args in (
        ["model", "register", "base"],
        ["model", "register", "tuned"],
        ["datanet", "register", "corpus"],
        ["datanet", "register", "pre"],
    ):
        cli(*args)
    make_corpus(tmp_path / "corpus")
    (tmp_path / "pre").mkdir()
    (tmp_path / "pre" / "web.txt").write_text("pre-training text\n" * 50)
    pub = cli.json("datanet", "publish", "corpus", "--dir", "corpus", "--spdx", "MIT")
    lib = fingerprint(tmp_path / "corpus")
    assert pub["content_root"] == "0x" + lib.root.hex() and pub["manifest_hash"] == "0x" + lib.manifest_hash.hex()  # type: ignore[index]
    stored = tmp_path / ".provenance" / "manifests" / f"{lib.manifest_hash.hex()}.json"
    assert pub["manifest"] == str(Path(".provenance") / "manifests" / stored.name)  # type: ignore[index]
    assert stored.read_bytes() == lib.to_json_bytes()
    cli("datanet", "publish", "pre", "--dir", "pre", "--spdx", "CC-BY-4.0")
    make_weights(tmp_path / "weights-base")
    make_weights(tmp_path / "weights-tuned")
    (tmp_path / "weights-tuned" / "adapter.bin").write_bytes(b"\x01" * 1000)
    (tmp_path / "base.yaml").write_text(BASE.format(w=weights_digest(tmp_path / "weights-base").hex()))
    (tmp_path / "tuned.yaml").write_text(TUNED.format(w=weights_digest(tmp_path / "weights-tuned").hex()))
    cli("record", "base.yaml")
    cli("record", "tuned.yaml")
    return cli


@pytest.fixture
def copy(project: Cli, tmp_path: Path) -> Callable[[str, str], Path]:
    """copy(src, name): a copy of the project's folder ``src`` at another path (in this test's tmp_path)."""

    def make(src: str, name: str) -> Path:
        target = tmp_path / "elsewhere" / name
        shutil.copytree(project.tmp / src, target)
        return target

    return make


def verify_data(cli: Cli, *args: str, human: bool = True, **env: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    """(exit code, --json output, human output) of `provenance verify-data ARGS`."""
    js = cli("verify-data", *args, "--json", ok=False, **env)
    assert js.returncode in (0, 1) and "Traceback" not in js.stderr, js.stderr
    text = ""
    if human:
        proc = cli("verify-data", *args, ok=False, **env)
        assert proc.returncode == js.returncode, proc.stderr
        text = proc.stdout
    return js.returncode, json.loads(js.stdout), text


def test_verify_data_names_exactly_the_file_that_differs(
    project: Cli, copy: Callable[[str, str], Path], tmp_path: Path
) -> None:
    cli = project
    same = copy("corpus", "same")
    code, data, text = verify_data(cli, str(same), "--datanet", "corpus@1")
    assert code == 0 and data["match"] and data["diff"] is None
    assert f"{same} is exactly corpus@1" in text

    changed = copy("corpus", "changed")
    p = changed / "en" / "part-0007.jsonl"
    raw = bytearray(p.read_bytes())
    raw[10] ^= 1
    p.write_bytes(bytes(raw))
    renamed = copy("corpus", "renamed")
    (renamed / "de" / "teil-2.jsonl").rename(renamed / "de" / "teil-2-renamed.jsonl")
    added = copy("corpus", "added")
    (added / "en" / "extra.jsonl").write_text("{}\n")
    removed = copy("corpus", "removed")
    (removed / "README.md").unlink()

    empty = {"added": [], "removed": [], "changed": [], "renamed": []}
    cases = [
        (changed, "changed", "en/part-0007.jsonl"),
        (renamed, "renamed", {"from": "de/teil-2.jsonl", "to": "de/teil-2-renamed.jsonl"}),
        (added, "added", "en/extra.jsonl"),
        (removed, "removed", "README.md"),
    ]
    for folder, kind, what in cases:
        code, data, text = verify_data(cli, str(folder), "--datanet", "corpus@1")
        assert code == 1 and not data["match"], kind
        got = dict(data["diff"])
        if kind == "changed":
            assert [c["path"] for c in got["changed"]] == [what]
            assert got["changed"][0]["expected"]["sha256"] != got["changed"][0]["actual"]["sha256"]
            got["changed"] = []
        else:
            assert got[kind] == [what], (kind, got)
            got[kind] = []
        assert got == empty, (kind, got)
        [line] = [ln for ln in text.splitlines() if ln.strip().startswith(("changed", "renamed", "added", "removed"))]
        assert line.split()[0] == kind and (what["to"] if isinstance(what, dict) else what) in line, (kind, text)
        assert f"{folder} differs from corpus@1" in text

    # Without the published manifest: only "differs", with a hint; --manifest restores the precise list.
    no_store = {"PROVENANCE_MANIFESTS": str(tmp_path / "empty-store")}
    code, data, text = verify_data(cli, str(added), "--datanet", "corpus@1", **no_store)
    assert code == 1 and data["diff"] is None and data["manifest"] is None
    assert "--manifest" in text and "cannot be listed" in text
    [manifest_file] = (cli.tmp / ".provenance" / "manifests").glob(f"{data['manifest_hash'][2:]}.json")
    code, data, _ = verify_data(
        cli, str(added), "--datanet", "corpus@1", "--manifest", str(manifest_file), human=False, **no_store
    )
    assert code == 1 and data["diff"]["added"] == ["en/extra.jsonl"] and data["manifest"] == str(manifest_file)

    # A manifest that is not the published one is refused in one line.
    wrong = str(tmp_path / "wrong.json")
    cli("datanet", "fingerprint", str(added), "--out", wrong)
    bad = cli("verify-data", str(added), "--datanet", "corpus@1", "--manifest", wrong, ok=False)
    assert bad.returncode == 1 and bad.stderr.startswith(f"error: {wrong} is not the published manifest of corpus@1")
    assert len(bad.stderr.strip().splitlines()) == 1


def test_file_proof_verifies_against_the_on_chain_root(project: Cli, copy: Callable[[str, str], Path]) -> None:
    cli = project
    same = copy("corpus", "same")
    out = cli("verify-data", str(same), "--datanet", "corpus@1", "--file", "en/part-0003.jsonl", "--json")
    doc = json.loads(out.stdout)
    onchain = cli.json("lineage", "tuned@1.1")["runs"][0]["datanets"][0]["content_root"]  # type: ignore[index]
    assert doc["verified"] and doc["content_root"] == onchain and doc["path"] == "en/part-0003.jsonl"

    root = bytes.fromhex(onchain[2:])
    entry = FileEntry(path=doc["file"]["path"], size=doc["file"]["size"], sha256=bytes.fromhex(doc["file"]["sha256"]))
    proof = FileProof.from_json(doc["proof"])
    assert verify_file_proof(root, entry, proof)
    tampered = dict(doc["proof"], siblings=list(doc["proof"]["siblings"]))
    first = tampered["siblings"][0]
    tampered["siblings"][0] = first[:2] + ("00" if first[2:4] != "00" else "11") + first[4:]
    assert not verify_file_proof(root, entry, FileProof.from_json(tampered))
    assert not verify_file_proof(root, FileEntry(path=entry.path, size=entry.size + 1, sha256=entry.sha256), proof)
    assert not verify_file_proof(
        root, FileEntry(path="en/part-0004.jsonl", size=entry.size, sha256=entry.sha256), proof
    )

    human = cli("verify-data", str(same), "--datanet", "corpus@1", "--file", str(same / "en" / "part-0003.jsonl"))
    assert "en/part-0003.jsonl is in corpus@1" in human.stdout and '"siblings"' in human.stdout

    # Another file changed: the published manifest still proves this one; the changed one fails.
    other = copy("corpus", "other")
    (other / "en" / "part-0009.jsonl").write_text("tampered\n")
    assert json.loads(
        cli("verify-data", str(other), "--datanet", "corpus@1", "--file", "en/part-0003.jsonl", "--json").stdout
    )["verified"]
    bad = cli("verify-data", str(other), "--datanet", "corpus@1", "--file", "en/part-0009.jsonl", "--json", ok=False)
    assert bad.returncode == 1 and json.loads(bad.stdout)["verified"] is False


def test_verify_model_weights(project: Cli, copy: Callable[[str, str], Path]) -> None:
    cli = project
    weights = copy("weights-tuned", "weights")
    ok = cli("verify-model", str(weights), "--model", "tuned@1.1")
    assert "holds the weights of tuned@1.1" in ok.stdout
    data = cli.json("verify-model", str(weights), "--model", "tuned@1.1")
    assert data["match"] and data["weights_digest"] == "0x" + weights_digest(weights).hex()  # type: ignore[index]

    wrong = cli("verify-model", "weights-base", "--model", "tuned@1.1", ok=False)
    assert wrong.returncode == 1
    assert (
        weights_digest(cli.tmp / "weights-base").hex() in wrong.stdout and weights_digest(weights).hex() in wrong.stdout
    )
    p = weights / "model.safetensors"
    raw = bytearray(p.read_bytes())
    raw[-1] ^= 0xFF
    p.write_bytes(bytes(raw))
    js = cli("verify-model", str(weights), "--model", "tuned@1.1", "--json", ok=False)
    data = json.loads(js.stdout)
    assert js.returncode == 1 and not data["match"] and data["runs"][0]["weights_digest"] != data["weights_digest"]


def test_verify_data_against_a_model_and_its_partition(
    project: Cli, copy: Callable[[str, str], Path], tmp_path: Path
) -> None:
    cli = project
    manifest = fingerprint(cli.tmp / "corpus")
    selected = select_partition(manifest, PART)
    assert 0 < len(selected) < 20
    subset = tmp_path / "subset"
    for f in selected:
        (subset / f.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(cli.tmp / "corpus" / f.path, subset / f.path)

    code, data, text = verify_data(cli, str(subset), "--model", "tuned@1.1")
    assert code == 0 and data["match"]
    [row] = data["datanets"]
    assert (row["datanet"], row["version"], row["matches_version"], row["matches_partition"]) == (
        "corpus",
        1,
        False,
        True,
    )
    assert row["partition_files"] == len(selected) and row["partition_root"] == "0x" + content_root(selected).hex()
    assert "matches corpus@1 (the partition used by tuned@1.1)" in text

    full = copy("corpus", "full")
    code, data, text = verify_data(cli, str(full), "--model", "tuned@1.1")
    assert code == 0 and data["datanets"][0]["matches_version"] and not data["datanets"][0]["matches_partition"]
    assert "(the whole version)" in text

    (subset / selected[0].path).rename(tmp_path / "aside")
    code, data, text = verify_data(cli, str(subset), "--model", "tuned@1.1")
    assert code == 1 and not data["match"] and "matches none" in text
    (tmp_path / "aside").rename(subset / selected[0].path)

    # pre@1 was used by the parent base@1.0: only found with --transitive.
    pre = copy("pre", "pre")
    code, data, text = verify_data(cli, str(pre), "--model", "tuned@1.1")
    assert code == 1 and "--transitive" in text
    code, data, _ = verify_data(cli, str(pre), "--model", "tuned@1.1", "--transitive", human=False)
    assert code == 0 and [(r["datanet"], r["run"]) for r in data["datanets"] if r["matches_version"]] == [
        ("pre", "base@1.0")
    ]

    # Without the stored manifest the partition is unknown; --manifest supplies it.
    no_store = {"PROVENANCE_MANIFESTS": str(tmp_path / "empty-store")}
    saved = tmp_path / "corpus.manifest.json"
    saved.write_bytes(manifest.to_json_bytes())
    code, data, text = verify_data(cli, str(subset), "--model", "tuned@1.1", **no_store)
    assert code == 1 and data["datanets"][0]["matches_partition"] is None and "--manifest" in text
    code, data, _ = verify_data(
        cli, str(subset), "--model", "tuned@1.1", "--manifest", str(saved), human=False, **no_store
    )
    assert code == 0 and data["datanets"][0]["matches_partition"] is True


def test_fingerprint_command_matches_the_library(tmp_path: Path) -> None:
    cli = Cli(tmp_path, "http://127.0.0.1:1")  # no chain needed
    folder = make_corpus(tmp_path / "data")
    lib = fingerprint(folder)
    proc = cli("datanet", "fingerprint", "data", "--json")
    assert proc.stderr == ""
    data = json.loads(proc.stdout)
    assert data == {
        "content_root": "0x" + lib.root.hex(),
        "manifest_hash": "0x" + lib.manifest_hash.hex(),
        "files": 26,
        "bytes": lib.total_size,
        "manifest": None,
    }
    human = cli("datanet", "fingerprint", "data", "--out", "out/data.manifest.json").stdout
    assert "0x" + lib.root.hex() in human and "26 (" in human
    written = (tmp_path / "out" / "data.manifest.json").read_bytes()
    assert written == lib.to_json_bytes() and Manifest.from_json_bytes(written).manifest_hash == lib.manifest_hash
    files = cli.json("datanet", "fingerprint", "data/en/part-0001.jsonl", "data/README.md")
    assert files["files"] == 2  # type: ignore[index]

    refused = cli("datanet", "fingerprint", "data", "--out", "data/manifest.json", ok=False)
    assert refused.returncode == 1 and refused.stderr.startswith("error: --out:") and "inside" in refused.stderr
    assert not (folder / "manifest.json").exists()


def test_each_user_error_is_one_line(project: Cli, copy: Callable[[str, str], Path]) -> None:
    cli = project
    same = str(copy("corpus", "same"))
    cases = [
        (["verify-data", same], "exactly one of --datanet"),
        (["verify-data", same, "--datanet", "corpus@1", "--model", "tuned@1.1"], "exactly one of --datanet"),
        (["verify-data", same, "--datanet", "corpus"], "expected NAME@VERSION"),
        (["verify-data", same, "--datanet", "corpus@x"], "version must be a positive number"),
        (["verify-data", same, "--datanet", "corpus@9"], "DataNet corpus has no version 9"),
        (["verify-data", same, "--datanet", "nothing@1"], "DataNet nothing is not registered"),
        (["verify-data", "missing", "--datanet", "corpus@1"], "missing: does not exist"),
        (["verify-data", same, "--model", "tuned@1.1", "--file", "README.md"], "--file: needs --datanet"),
        (["verify-data", same, "--datanet", "corpus@1", "--file", "nope.txt"], "no file 'nope.txt'"),
        (["verify-data", same, "--datanet", "corpus@1", "--manifest", "base.yaml"], "base.yaml: manifest: is not JSON"),
        (["verify-data", same, "--model", "nobody@1.0"], "model nobody is not registered"),
        (["verify-model", "weights-base", "--model", "base@9"], "no training run recorded for base@9"),
        (["verify-model", "missing", "--model", "base@1.0"], "missing: does not exist"),
        (["datanet", "fingerprint", "missing"], "missing: does not exist"),
    ]
    for args, message in cases:
        proc = cli(*args, ok=False)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 1 and len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], (
            args,
            proc.stderr,
        )
    for cmd in (["verify-data"], ["verify-model"], ["datanet", "fingerprint"]):
        assert "Example" in cli(*cmd, "--help").stdout
