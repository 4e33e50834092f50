"""Content fingerprints, manifests, file proofs, diffs, partitions and the registry's Merkle tree."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance_ledger.core.manifest import (
    FileEntry,
    FileProof,
    Manifest,
    check_manifest,
    content_root,
    diff,
    file_proof,
    node_hash,
    verify_file_proof,
)
from provenance_ledger.core.merkle import (
    hash_pair,
    leaf_hash,
    merkle_proof,
    merkle_proof_of_id,
    merkle_root,
    merkle_root_of_ids,
    verify_proof,
    verify_proof_of_id,
)
from provenance_ledger.core.partition import PPM, draw, in_partition, select, select_partition
from provenance_ledger.core.records import Partition
from provenance_ledger.errors import NotFoundError, ValidationError, VerificationError
from provenance_ledger.local.fingerprint import collect, fingerprint, verify_data, weights_digest
from tests.conftest import make_run

# ------------------------------------------------------------------ fixtures


def make_tree(root: Path) -> Path:
    files = {
        "a.txt": b"alpha\n",
        "b/c.bin": bytes(range(256)) * 50,
        "b/d/e.jsonl": b'{"x": 1}\n' * 1000,
        "empty": b"",
        "z/\u00e9t\u00e9.txt": b"unicode name",
    }
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "data")


def paths(entries) -> list[str]:
    return [e.path for e in entries]


# ------------------------------------------------------------------ registry Merkle tree (merkle.py)


def test_merkle_root_matches_hand_computed_three_leaf_tree() -> None:
    ids = [bytes([i]) * 32 for i in (1, 2, 3)]
    leaves = [keccak(keccak(i)) for i in ids]

    def pair(a: bytes, b: bytes) -> bytes:
        return keccak(min(a, b) + max(a, b))

    expected = pair(pair(leaves[0], leaves[1]), leaves[2])  # third leaf carried up unchanged
    assert merkle_root(leaves) == expected
    assert merkle_root_of_ids(ids) == expected
    assert merkle_proof(leaves, 2) == [pair(leaves[0], leaves[1])]
    assert merkle_proof(leaves, 0) == [leaves[1], leaves[2]]
    assert leaf_hash(ids[0]) == leaves[0] and hash_pair(leaves[1], leaves[0]) == pair(leaves[0], leaves[1])
    assert verify_proof_of_id(expected, ids[1], merkle_proof_of_id(ids, 1))


def test_merkle_single_leaf_and_bad_input() -> None:
    leaf = keccak(b"x")
    assert merkle_root([leaf]) == leaf and merkle_proof([leaf], 0) == []
    assert verify_proof(leaf, leaf, [])
    with pytest.raises(ValidationError, match="leaves: must not be empty"):
        merkle_root([])
    with pytest.raises(ValidationError, match="ids: must not be empty"):
        merkle_root_of_ids([])
    with pytest.raises(ValidationError, match=r"leaves\[1\]: must be 32 bytes"):
        merkle_root([leaf, b"short"])
    with pytest.raises(ValidationError, match="index"):
        merkle_proof([leaf, leaf], 2)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=40), st.data())
def test_merkle_proof_verifies_for_every_index(ids: list[bytes], data: st.DataObject) -> None:
    root = merkle_root_of_ids(ids)
    for i, rid in enumerate(ids):
        proof = merkle_proof_of_id(ids, i)
        assert verify_proof_of_id(root, rid, proof)
        if proof:  # a tampered sibling breaks it
            j = data.draw(st.integers(0, len(proof) - 1))
            bad = list(proof)
            bad[j] = bytes([bad[j][0] ^ 1]) + bad[j][1:]
            assert not verify_proof_of_id(root, rid, bad)
    outsider = keccak(b"".join(ids) + b"outsider")
    assert not verify_proof_of_id(root, outsider, merkle_proof_of_id(ids, 0))


def test_merkle_matches_the_contract(registry) -> None:
    """Batches of odd and even sizes: anchorRuns' stored root and verifyAnchored agree with merkle.py."""
    from provenance_ledger.core.canonical import record_id

    for n in (1, 2, 3, 5, 6, 7):
        runs = [make_run("base", f"m{n}.{i}") for i in range(n)]
        root = registry.anchor_runs(runs).root
        ids = [record_id(r) for r in runs]
        assert merkle_root_of_ids(ids) == root
        for i in range(n):
            assert registry._call("verifyAnchored", root, ids[i], merkle_proof_of_id(ids, i))[0] is True


# ------------------------------------------------------------------ fingerprint: root and manifest


def test_same_folder_twice_and_a_copy_elsewhere_give_the_same_root(tree: Path, tmp_path: Path) -> None:
    first = fingerprint(tree)
    assert fingerprint(tree, workers=1) == first
    copy = shutil.copytree(tree, tmp_path / "elsewhere" / "copy")
    assert fingerprint(copy).root == first.root
    assert fingerprint(str(copy), workers=4).to_json_bytes() == first.to_json_bytes()
    assert paths(first.files) == ["a.txt", "b/c.bin", "b/d/e.jsonl", "empty", "z/\u00e9t\u00e9.txt"]
    assert first.entry("b/c.bin").sha256 == hashlib.sha256(bytes(range(256)) * 50).digest()
    assert first.entry("empty").size == 0
    assert first.total_size == sum(f.size for f in first.files)


def test_leaf_and_root_definitions_are_pinned(tree: Path) -> None:
    m = fingerprint(tree)
    e = m.entry("a.txt")
    p = b"a.txt"
    assert e.leaf() == keccak(
        b"\x00" + len(p).to_bytes(8, "big") + p + (6).to_bytes(8, "big") + hashlib.sha256(b"alpha\n").digest()
    )
    leaves = [f.leaf() for f in m.files]  # 5 leaves: ((0,1),(2,3)),4
    expected = node_hash(node_hash(node_hash(leaves[0], leaves[1]), node_hash(leaves[2], leaves[3])), leaves[4])
    assert m.root == expected == content_root(reversed(m.files))


def test_one_changed_byte_is_reported_precisely(tree: Path) -> None:
    before = fingerprint(tree)
    data = bytearray((tree / "b/c.bin").read_bytes())
    data[7000] ^= 0xFF
    (tree / "b/c.bin").write_bytes(bytes(data))
    after = fingerprint(tree)
    assert after.root != before.root
    d = diff(before, after)
    assert d.added == () and d.removed == ()
    assert [c.path for c in d.changed] == ["b/c.bin"]
    assert d.changed[0].expected == before.entry("b/c.bin") and d.changed[0].actual == after.entry("b/c.bin")
    assert not d.clean and diff(before, before).clean


def test_rename_changes_the_root_and_is_removed_plus_added(tree: Path) -> None:
    before = fingerprint(tree)
    (tree / "a.txt").rename(tree / "a2.txt")
    after = fingerprint(tree)
    assert after.root != before.root
    d = diff(before, after)
    assert paths(d.removed) == ["a.txt"] and paths(d.added) == ["a2.txt"] and d.changed == ()
    assert [(r.path, a.path) for r, a in d.renamed] == [("a.txt", "a2.txt")]


def test_added_and_removed_files_are_reported(tree: Path) -> None:
    before = fingerprint(tree)
    (tree / "b/new.txt").write_bytes(b"new")
    (tree / "b/d/e.jsonl").unlink()
    after = fingerprint(tree)
    assert after.root != before.root
    d = diff(before, after)
    assert paths(d.added) == ["b/new.txt"] and paths(d.removed) == ["b/d/e.jsonl"] and d.changed == ()
    assert d.renamed == ()
    assert verify_data(tree, before) == d
    assert verify_data(tree, after).clean


def test_empty_folders_do_not_count_but_empty_files_do(tree: Path) -> None:
    before = fingerprint(tree)
    (tree / "empty-dir" / "nested").mkdir(parents=True)
    assert fingerprint(tree).root == before.root
    (tree / "empty-dir" / "nested" / "zero").write_bytes(b"")
    assert paths(diff(before, fingerprint(tree)).added) == ["empty-dir/nested/zero"]


def test_manifest_json_round_trips_byte_identically(tree: Path) -> None:
    m = fingerprint(tree)
    raw = m.to_json_bytes()
    back = Manifest.from_json_bytes(raw)
    assert back == m and back.to_json_bytes() == raw and back.root == m.root
    assert m.manifest_hash == keccak(raw)
    value = json.loads(raw)
    assert list(value) == ["files", "root", "version"] and value["version"] == 1
    assert value["root"] == "0x" + m.root.hex()
    assert value["files"][0] == {"path": "a.txt", "size": 6, "sha256": hashlib.sha256(b"alpha\n").hexdigest()}
    pretty = json.dumps(value, indent=2).encode()
    assert Manifest.from_json_bytes(pretty).manifest_hash == m.manifest_hash  # hash is of canonical bytes
    check_manifest(m, content_root=m.root, manifest_hash=m.manifest_hash)
    with pytest.raises(VerificationError, match="manifest hash"):
        check_manifest(m, content_root=m.root, manifest_hash=keccak(b"other"))
    with pytest.raises(VerificationError, match="content root"):
        check_manifest(m, content_root=keccak(b"other"))
    check_manifest(m, content_root="0x" + m.root.hex(), manifest_hash="0x" + m.manifest_hash.hex())
    with pytest.raises(ValidationError, match="content_root"):
        check_manifest(m, content_root=b"short")


def test_manifest_parsing_rejects_bad_or_lying_manifests(tree: Path) -> None:
    value = fingerprint(tree).to_json()
    lying = json.loads(json.dumps(value))
    lying["files"][0]["size"] += 1
    with pytest.raises(VerificationError, match="states root"):
        Manifest.from_json(lying)
    for mutate, field in [
        (lambda v: v.update(version=2), "manifest.version"),
        (lambda v: v["files"][1].update(path="../x"), r"manifest.files\[1\].path"),
        (lambda v: v["files"][1].update(path="/abs"), r"manifest.files\[1\].path"),
        (lambda v: v["files"][2].update(sha256="AB" * 32), r"manifest.files\[2\].sha256"),
        (lambda v: v["files"][0].update(extra=1), r"manifest.files\[0\]"),
        (lambda v: v.update(root="0x12"), "manifest.root"),
        (lambda v: v["files"].append(dict(v["files"][0])), "files: duplicate path"),
        (lambda v: v.update(files=[]), "files: must not be empty"),
    ]:
        bad = json.loads(json.dumps(value))
        mutate(bad)
        with pytest.raises(ValidationError, match=field):
            Manifest.from_json(bad)
    with pytest.raises(ValidationError, match="duplicate key"):
        Manifest.from_json_bytes(b'{"version": 1, "version": 1, "files": [], "root": "0x"}')
    with pytest.raises(ValidationError, match="not JSON"):
        Manifest.from_json_bytes(b"{nope")


# ------------------------------------------------------------------ file proofs


def test_file_proof_verifies_and_tampering_fails(tree: Path) -> None:
    m = fingerprint(tree)
    for e in m.files:
        proof = file_proof(m, e.path)
        assert verify_file_proof(m.root, e, proof)
        assert FileProof.from_json(json.loads(json.dumps(proof.to_json()))) == proof
    e = m.entry("b/c.bin")
    proof = file_proof(m, e.path)
    wrong_sibling = FileProof(index=proof.index, count=proof.count, siblings=(keccak(b"x"), *proof.siblings[1:]))
    assert not verify_file_proof(m.root, e, wrong_sibling)
    wrong_content = FileEntry(path=e.path, size=e.size, sha256=hashlib.sha256(b"tampered").digest())
    assert not verify_file_proof(m.root, wrong_content, proof)
    renamed = FileEntry(path="b/other.bin", size=e.size, sha256=e.sha256)
    assert not verify_file_proof(m.root, renamed, proof)
    assert not verify_file_proof(
        m.root, e, FileProof(index=proof.index, count=proof.count, siblings=proof.siblings[:-1])
    )
    assert not verify_file_proof(
        m.root, e, FileProof(index=proof.index, count=proof.count, siblings=(*proof.siblings, m.root))
    )
    with pytest.raises(NotFoundError):
        file_proof(m, "missing.txt")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.text("abc/", min_size=1, max_size=6), st.integers(0, 2**40), st.binary(min_size=32, max_size=32)),
        min_size=1,
        max_size=30,
    )
)
def test_file_proof_verifies_for_every_file_of_random_manifests(raw: list[tuple[str, int, bytes]]) -> None:
    entries: dict[str, FileEntry] = {}
    for path, size, digest in raw:
        try:
            entries.setdefault(path, FileEntry(path=path, size=size, sha256=digest))
        except ValidationError:
            continue  # paths such as "a//b" or "/a" are rejected by design
    if not entries:
        return
    m = Manifest(files=tuple(entries.values()))
    for e in m.files:
        proof = file_proof(m, e.path)
        assert verify_file_proof(m.root, e, proof)
        if proof.siblings:
            bad = FileProof(index=proof.index, count=proof.count, siblings=(keccak(b"bad"), *proof.siblings[1:]))
            assert not verify_file_proof(m.root, e, bad)


# ------------------------------------------------------------------ inputs: lists, symlinks, errors


def test_lists_of_files_are_named_relative_to_their_common_folder(tree: Path) -> None:
    m = fingerprint([tree / "b" / "c.bin", tree / "b" / "d"])
    assert paths(m.files) == ["c.bin", "d/e.jsonl"]
    m2 = fingerprint([tree / "b" / "c.bin", tree / "b" / "d"], base=tree)
    assert paths(m2.files) == ["b/c.bin", "b/d/e.jsonl"]
    assert paths(fingerprint([tree / "b", tree / "b" / "c.bin"]).files) == ["b/c.bin", "b/d/e.jsonl"]  # overlap
    single = fingerprint(tree / "a.txt")
    assert paths(single.files) == ["a.txt"] and single.root == single.files[0].leaf()
    assert weights_digest(tree) == fingerprint(tree).root
    with pytest.raises(ValidationError, match="not inside the base folder"):
        fingerprint([tree / "a.txt"], base=tree / "b")


def test_symlinks_are_followed_and_loops_or_dangling_links_rejected(tree: Path, tmp_path: Path) -> None:
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    (blobs / "x").write_bytes(b"payload")
    snap = tmp_path / "snap"
    snap.mkdir()
    (snap / "model.bin").symlink_to(blobs / "x")
    real = tmp_path / "real"
    real.mkdir()
    (real / "model.bin").write_bytes(b"payload")
    assert fingerprint(snap).root == fingerprint(real).root
    (snap / "loop").symlink_to(snap)
    with pytest.raises(ValidationError, match="loop"):
        fingerprint(snap)
    (snap / "loop").unlink()
    (snap / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(ValidationError, match="dangling") as exc:
        fingerprint(snap)
    assert str(snap / "dangling") in str(exc.value)


def test_bad_inputs_name_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(ValidationError, match="does not exist") as exc:
        fingerprint(missing)
    assert exc.value.field == str(missing)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValidationError, match="contains no files"):
        fingerprint(tmp_path / "empty")
    with pytest.raises(ValidationError, match="workers"):
        fingerprint(tmp_path, workers=0)
    fifo = tmp_path / "fifo-dir"
    fifo.mkdir()
    os.mkfifo(fifo / "pipe")
    with pytest.raises(ValidationError, match="neither a regular file"):
        fingerprint(fifo)


@pytest.mark.parametrize(("workers", "size"), [(1, 100), (2, 100), (2, 3 << 20)])
def test_unreadable_file_is_an_error_naming_it(
    tree: Path, monkeypatch: pytest.MonkeyPatch, workers: int, size: int
) -> None:
    import builtins

    import provenance_ledger.local.fingerprint as fp

    (tree / "b" / "c.bin").write_bytes(b"x" * size)  # small files and chunked large files take different paths
    real_os_open = os.open

    def denied(file: object) -> bool:
        return str(file).endswith("c.bin")

    def deny_open(file, *a, **k):  # root reads everything, so simulate EACCES on one file
        if denied(file):
            raise PermissionError(13, "Permission denied", str(file))
        return builtins.open(file, *a, **k)

    def deny_os_open(file, *a, **k):
        if denied(file):
            raise PermissionError(13, "Permission denied", str(file))
        return real_os_open(file, *a, **k)

    monkeypatch.setattr(fp, "open", deny_open, raising=False)
    monkeypatch.setattr(fp.os, "open", deny_os_open)
    with pytest.raises(ValidationError, match="cannot be read: Permission denied") as exc:
        fingerprint(tree, workers=workers)
    assert exc.value.field == str(tree / "b" / "c.bin")


def test_large_files_are_hashed_in_chunks(tmp_path: Path) -> None:
    from provenance_ledger.local.fingerprint import CHUNK_SIZE

    data = os.urandom(CHUNK_SIZE * 2 + 123)
    for name, blob in {"exact": data[:CHUNK_SIZE], "below": data[: CHUNK_SIZE - 1], "big": data}.items():
        (tmp_path / name).write_bytes(blob)
    m = fingerprint(tmp_path)
    for name, n in {"exact": CHUNK_SIZE, "below": CHUNK_SIZE - 1, "big": len(data)}.items():
        assert m.entry(name).size == n and m.entry(name).sha256 == hashlib.sha256(data[:n]).digest()


def test_a_file_that_changes_while_read_is_an_error(tree: Path) -> None:
    import provenance_ledger.local.fingerprint as fp

    for stale_size in (5, 7, 3 << 20):  # the stat said otherwise: shrunk, grew, or chunked path
        with pytest.raises(ValidationError, match="changed while being fingerprinted"):
            fp._hash_file("a.txt", str(tree / "a.txt"), stale_size, None)


def test_non_utf8_names_are_rejected(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    try:
        with open(os.path.join(os.fsencode(d), b"bad\xff"), "wb") as f:
            f.write(b"x")
    except OSError:
        pytest.skip("file system refuses non-UTF-8 names")
    with pytest.raises(ValidationError, match="UTF-8"):
        fingerprint(d)


def test_progress_reports_bytes_from_the_calling_thread(tree: Path) -> None:
    import threading

    calls: list[tuple[int, int, str]] = []
    m = fingerprint(tree, progress=lambda done, total: calls.append((done, total, threading.current_thread().name)))
    assert calls[0][:2] == (0, m.total_size) and calls[-1][:2] == (m.total_size, m.total_size)
    assert {c[2] for c in calls} == {threading.current_thread().name}
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
    assert collect(tree)[0] == ("a.txt", str(tree / "a.txt"), 6)


# ------------------------------------------------------------------ partitions


def synthetic_manifest(n: int) -> Manifest:
    return Manifest(
        files=tuple(
            FileEntry(
                path=f"{'en' if i % 2 else 'fr'}/part-{i:05d}.jsonl",
                size=i,
                sha256=hashlib.sha256(str(i).encode()).digest(),
            )
            for i in range(n)
        )
    )


def test_partition_is_deterministic_and_roughly_proportional() -> None:
    m = synthetic_manifest(4000)
    picked = select(m, fraction_ppm=250_000, seed=7)
    assert picked == select(Manifest.from_json_bytes(m.to_json_bytes()), fraction_ppm=250_000, seed=7)
    assert 0.22 < len(picked) / 4000 < 0.28
    assert picked == sorted(picked, key=lambda e: e.path)
    assert select(m, fraction_ppm=250_000, seed=8) != picked
    assert select(m) == list(m.files) and select(m, fraction_ppm=PPM, seed=99) == list(m.files)
    en = select(m, selector="en/*.jsonl")
    assert len(en) == 2000 and all(e.path.startswith("en/") for e in en)
    en_half = select(m, selector="en/*", fraction_ppm=500_000, seed=1)
    assert set(paths(en_half)) <= set(paths(en)) and 0.45 < len(en_half) / 2000 < 0.55
    assert select_partition(m, Partition(split="train", selector="en/*", fraction_ppm=500_000, seed=1)) == en_half
    assert select(m, selector="de/*") == []


def test_partition_rule_is_pinned() -> None:
    e = FileEntry(path="en/a.jsonl", size=3, sha256=hashlib.sha256(b"abc").digest())
    h = keccak((5).to_bytes(8, "big") + e.sha256 + b"en/a.jsonl")
    assert draw(e, 5) == int.from_bytes(h, "big") % 1_000_000
    value = draw(e, 5)
    assert in_partition(e, fraction_ppm=value + 1, seed=5)
    if value > 0:
        assert not in_partition(e, fraction_ppm=value, seed=5)
    assert not in_partition(e, selector="EN/*")  # case-sensitive
    for kw, field in [
        ({"fraction_ppm": 0}, "fraction_ppm"),
        ({"fraction_ppm": PPM + 1}, "fraction_ppm"),
        ({"seed": -1}, "seed"),
        ({"selector": None}, "selector"),
    ]:
        with pytest.raises(ValidationError, match=field):
            select(synthetic_manifest(2), **kw)
