"""Content fingerprints of DataNet versions and model weights: manifest, content root, proofs, diff. Pure.

A fingerprint is a :class:`Manifest`: every file's relative path, size and SHA-256, plus the
*content root* -- a Merkle root over those files -- and the *manifest hash*. A DataNet version
publishes both (``contentRoot``, ``manifestHash``); a run's ``weights_digest`` is the content root
of the weights folder (:func:`provenance_ledger.local.fingerprint.weights_digest`). Reading files
lives in :mod:`provenance_ledger.local.fingerprint`; this module is pure.

Definitions (version 1; changing any of them changes every root, so they are pinned by tests):

- **Paths** are POSIX paths relative to the fingerprinted folder (``"en/part-0001.jsonl"``): no
  leading ``/``, no empty, ``.`` or ``..`` segments, valid UTF-8, used exactly as the file system
  spells them (no Unicode normalisation, case kept).
- **Order**: files are sorted by the UTF-8 bytes of their path (which is also code-point order).
- **File digest**: SHA-256 of the content, streamed in 1 MiB chunks. SHA-256 (not keccak) because
  it is what ``sha256sum`` and hub/model-card tooling print, and because OpenSSL's SHA-256 runs at
  GB/s (SHA-NI) while the available keccak runs at ~170 MB/s. keccak256 is used only for the small,
  fixed-size tree hashes, so a contract can check a file proof cheaply.
- **Leaf** of a file = ``keccak256(0x00 || uint64be(len(path)) || path || uint64be(size) || sha256)``
  (= Solidity ``abi.encodePacked(bytes1(0x00), uint64(len), path, uint64(size), sha256)``).
  The path is in the leaf, so a rename changes the root.
- **Node** = ``keccak256(0x01 || left || right)``, in positional order (not sorted). The distinct
  domain bytes mean no leaf can pose as an internal node. The tree is built level by level; an odd
  last node is carried up unchanged. A single file's root is its leaf.
- **Manifest JSON** = RFC 8785 bytes of
  ``{"version": 1, "files": [{"path", "size", "sha256": 64 lowercase hex}...], "root": "0x.."}``;
  **manifest hash** = keccak256 of those canonical bytes (a pretty-printed copy of the same
  manifest parses to the same hash).

What is fingerprinted (I/O rules):

- A folder means its content: paths are relative to the folder itself, so a copy of the folder at
  another place has the same root. A single file is named by its base name. A sequence of files
  and/or folders is named relative to ``base`` (default: the deepest folder containing them all).
- Symbolic links are followed (a snapshot of symlinks into a blob cache fingerprints like the real
  files): a link is fingerprinted under its own path with its target's content. A link cycle, a
  dangling link, an unreadable file or folder, and anything that is not a regular file or folder
  (FIFO, socket, device) raise :class:`~provenance_ledger.errors.ValidationError` naming the path --
  nothing is silently skipped, since a skipped file would give a root that merely looks complete.
- Empty folders contribute nothing (only files are content); empty files are ordinary files of
  size 0. Hidden files are not special. A file whose size changes while it is read is an error.
- An input with no files at all is a ValidationError (there is no root of nothing).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import rfc8785

from provenance_ledger.core.hashing import keccak
from provenance_ledger.core.hexutil import hexstr
from provenance_ledger.core.records import bytes32
from provenance_ledger.errors import NotFoundError, ValidationError, VerificationError

__all__ = [
    "LEAF_DOMAIN",
    "MANIFEST_VERSION",
    "MAX_SIZE",
    "NODE_DOMAIN",
    "Change",
    "Diff",
    "FileEntry",
    "FileProof",
    "Manifest",
    "check_manifest",
    "check_path",
    "content_root",
    "diff",
    "file_proof",
    "node_hash",
    "path_key",
    "verify_file_proof",
]

MANIFEST_VERSION = 1
"""Version of the leaf/node/manifest definitions above."""

LEAF_DOMAIN = b"\x00"
NODE_DOMAIN = b"\x01"
MAX_SIZE = 2**53 - 1
"""Largest file size a manifest can carry (it must survive JSON as an exact integer)."""


# ------------------------------------------------------------------ entries and the file tree


def check_path(path: object, field_name: str = "path") -> str:
    """Validate a manifest path (relative POSIX, UTF-8, no empty/``.``/``..`` segments) and return it."""
    if not isinstance(path, str) or not path:
        raise ValidationError(field_name, f"must be a non-empty string, got {path!r}")
    if "\x00" in path:
        raise ValidationError(field_name, f"must not contain NUL: {path!r}")
    if path.startswith("/"):
        raise ValidationError(field_name, f"must be relative, got {path!r}")
    if any(seg in ("", ".", "..") for seg in path.split("/")):
        raise ValidationError(field_name, f"must not have empty, '.' or '..' segments: {path!r}")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(field_name, f"is not valid UTF-8: {path!r}") from None
    return path


def path_key(path: str) -> bytes:
    return path.encode("utf-8")


@dataclass(frozen=True, kw_only=True)
class FileEntry:
    """One file of a manifest: relative POSIX path, size in bytes, raw 32-byte SHA-256 of the content."""

    path: str
    size: int
    sha256: bytes

    def __post_init__(self) -> None:
        check_path(self.path)
        if isinstance(self.size, bool) or not isinstance(self.size, int) or not 0 <= self.size <= MAX_SIZE:
            raise ValidationError(f"{self.path}: size", f"must be an integer in 0..2**53-1, got {self.size!r}")
        if not isinstance(self.sha256, bytes | bytearray) or len(self.sha256) != 32:
            raise ValidationError(f"{self.path}: sha256", "must be 32 raw bytes")
        object.__setattr__(self, "sha256", bytes(self.sha256))

    def leaf(self) -> bytes:
        """This file's leaf in the content tree (see the module docstring)."""
        p = self.path.encode("utf-8")
        return keccak(LEAF_DOMAIN + len(p).to_bytes(8, "big") + p + self.size.to_bytes(8, "big") + self.sha256)

    def to_json(self) -> dict[str, Any]:
        """``{"path", "size", "sha256": lowercase hex}`` as in the manifest."""
        return {"path": self.path, "size": self.size, "sha256": self.sha256.hex()}


def node_hash(left: bytes, right: bytes) -> bytes:
    """An internal node of the content tree: ``keccak256(0x01 || left || right)`` (positional)."""
    return keccak(NODE_DOMAIN + left + right)


def _levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the content tree, leaves first, root last."""
    if not leaves:
        raise ValidationError("files", "must not be empty: there is no root of nothing")
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        lv = levels[-1]
        up = [node_hash(lv[i], lv[i + 1]) for i in range(0, len(lv) - 1, 2)]
        if len(lv) % 2:
            up.append(lv[-1])
        levels.append(up)
    return levels


def content_root(entries: Iterable[FileEntry]) -> bytes:
    """Content root of ``entries`` (sorted by path here; duplicates are a ValidationError)."""
    return Manifest(files=tuple(entries)).root


@dataclass(frozen=True, kw_only=True)
class FileProof:
    """Inclusion proof of one file: its position among ``count`` files and the sibling hashes upward."""

    index: int
    count: int
    siblings: tuple[bytes, ...]

    def __post_init__(self) -> None:
        for name, value, lo in (("count", self.count, 1), ("index", self.index, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < lo:
                raise ValidationError(f"proof.{name}", f"must be an integer >= {lo}, got {value!r}")
        if self.index >= self.count:
            raise ValidationError("proof.index", f"must be below count {self.count}, got {self.index}")
        sibs = tuple(self.siblings)
        for i, s in enumerate(sibs):
            if not isinstance(s, bytes | bytearray) or len(s) != 32:
                raise ValidationError(f"proof.siblings[{i}]", "must be 32 bytes")
        object.__setattr__(self, "siblings", tuple(bytes(s) for s in sibs))

    def to_json(self) -> dict[str, Any]:
        """``{"index", "count", "siblings": ["0x.."]}``."""
        return {"index": self.index, "count": self.count, "siblings": [hexstr(s) for s in self.siblings]}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> FileProof:
        """Inverse of :meth:`to_json`."""
        try:
            sibs = tuple(_hex32(s, f"proof.siblings[{i}]") for i, s in enumerate(value["siblings"]))
            return cls(index=value["index"], count=value["count"], siblings=sibs)
        except (KeyError, TypeError) as exc:
            raise ValidationError("proof", f"is malformed: {exc!r}") from None


def verify_file_proof(root: bytes, entry: FileEntry, proof: FileProof) -> bool:
    """True when ``entry`` (path, size and digest) is file ``proof.index`` of a tree with ``root``."""
    node, idx, n, sibs = entry.leaf(), proof.index, proof.count, iter(proof.siblings)
    try:
        while n > 1:
            if idx % 2:
                node = node_hash(next(sibs), node)
            elif idx + 1 < n:
                node = node_hash(node, next(sibs))
            idx, n = idx // 2, (n + 1) // 2
    except StopIteration:
        return False
    return next(sibs, None) is None and node == bytes(root)


# ------------------------------------------------------------------ manifest


def _hex32(value: object, field_name: str) -> bytes:
    if isinstance(value, str) and len(value) == 66 and value.startswith("0x"):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            pass
    raise ValidationError(field_name, f"must be 0x + 64 hex digits, got {value!r}")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValidationError("manifest", f"duplicate key {k!r}")
        out[k] = v
    return out


@dataclass(frozen=True, kw_only=True)
class Manifest:
    """The fingerprint of a set of files. ``files`` is kept sorted by path; ``root`` is derived."""

    files: tuple[FileEntry, ...] = field(repr=False)
    root: bytes = field(init=False)
    """The content root (32 bytes)."""

    def __post_init__(self) -> None:
        files = tuple(self.files)
        for i, f in enumerate(files):
            if not isinstance(f, FileEntry):
                raise ValidationError(f"files[{i}]", "must be a FileEntry")
        files = tuple(sorted(files, key=lambda f: path_key(f.path)))
        for a, b in itertools.pairwise(files):
            if a.path == b.path:
                raise ValidationError("files", f"duplicate path {a.path!r}")
        object.__setattr__(self, "files", files)
        object.__setattr__(self, "root", _levels([f.leaf() for f in files])[-1][0])

    def __repr__(self) -> str:
        return f"Manifest(files=<{len(self.files)}>, total_size={self.total_size}, root={hexstr(self.root)})"

    @property
    def total_size(self) -> int:
        """Sum of the file sizes in bytes."""
        return sum(f.size for f in self.files)

    @cached_property
    def _index(self) -> dict[str, int]:
        return {f.path: i for i, f in enumerate(self.files)}

    def entry(self, path: str) -> FileEntry:
        """The entry at ``path``; :class:`NotFoundError` when the manifest has no such file."""
        try:
            return self.files[self._index[path]]
        except KeyError:
            raise NotFoundError(f"no file {path!r} in the manifest") from None

    def to_json(self) -> dict[str, Any]:
        """The manifest as a JSON value (see the module docstring)."""
        return {"version": MANIFEST_VERSION, "files": [f.to_json() for f in self.files], "root": hexstr(self.root)}

    def to_json_bytes(self) -> bytes:
        """Canonical (RFC 8785) manifest bytes: what :attr:`manifest_hash` hashes and what to publish."""
        return self._json_bytes

    @cached_property
    def _json_bytes(self) -> bytes:
        return rfc8785.dumps(self.to_json())

    @cached_property
    def manifest_hash(self) -> bytes:
        """keccak256 of :meth:`to_json_bytes` (the DataNet version's ``manifestHash``)."""
        return keccak(self._json_bytes)

    @classmethod
    def from_json_bytes(cls, data: bytes | str) -> Manifest:
        """Parse manifest JSON (canonical or not). The stated root must match the files, else VerificationError."""
        try:
            value = json.loads(data, object_pairs_hook=_no_duplicate_keys)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValidationError("manifest", f"is not JSON: {exc}") from None
        return cls.from_json(value)

    @classmethod
    def from_json(cls, value: Any) -> Manifest:
        """Inverse of :meth:`to_json`, with the same checks as :meth:`from_json_bytes`."""
        if not isinstance(value, dict) or set(value) != {"version", "files", "root"}:
            raise ValidationError("manifest", "must be an object with exactly version, files and root")
        if value["version"] != MANIFEST_VERSION or isinstance(value["version"], bool):
            raise ValidationError("manifest.version", f"must be {MANIFEST_VERSION}, got {value['version']!r}")
        if not isinstance(value["files"], list):
            raise ValidationError("manifest.files", "must be a list")
        stated = _hex32(value["root"], "manifest.root")
        entries = []
        for i, f in enumerate(value["files"]):
            where = f"manifest.files[{i}]"
            if not isinstance(f, dict) or set(f) != {"path", "size", "sha256"}:
                raise ValidationError(where, "must be an object with exactly path, size and sha256")
            digest = f["sha256"]
            if not isinstance(digest, str) or len(digest) != 64 or digest != digest.lower():
                raise ValidationError(f"{where}.sha256", f"must be 64 lowercase hex digits, got {digest!r}")
            try:
                raw = bytes.fromhex(digest)
            except ValueError:
                raise ValidationError(f"{where}.sha256", f"must be 64 lowercase hex digits, got {digest!r}") from None
            entries.append(FileEntry(path=check_path(f["path"], f"{where}.path"), size=f["size"], sha256=raw))
        manifest = cls(files=tuple(entries))
        if manifest.root != stated:
            raise VerificationError(f"manifest states root {hexstr(stated)} but its files give {hexstr(manifest.root)}")
        return manifest


def file_proof(manifest: Manifest, path: str) -> FileProof:
    """Inclusion proof of the file at ``path`` under ``manifest.root`` (NotFoundError if absent)."""
    manifest.entry(path)
    index = manifest._index[path]
    levels = _levels([f.leaf() for f in manifest.files])
    siblings, i = [], index
    for lv in levels[:-1]:
        j = i ^ 1
        if j < len(lv):
            siblings.append(lv[j])
        i //= 2
    return FileProof(index=index, count=len(manifest.files), siblings=tuple(siblings))


def check_manifest(manifest: Manifest, *, content_root: bytes | str, manifest_hash: bytes | str | None = None) -> None:
    """Raise VerificationError unless ``manifest`` has the published content root (and manifest hash).

    The published values are 32 raw bytes or ``0x`` hex, as read from a DataNet version.
    """
    root = bytes32(content_root, "content_root")
    if manifest.root != root:
        raise VerificationError(f"manifest root {hexstr(manifest.root)} != published content root {hexstr(root)}")
    if manifest_hash is not None:
        published = bytes32(manifest_hash, "manifest_hash")
        if manifest.manifest_hash != published:
            raise VerificationError(
                f"manifest hash {hexstr(manifest.manifest_hash)} != published manifest hash {hexstr(published)}"
            )


# ------------------------------------------------------------------ diff


@dataclass(frozen=True, kw_only=True)
class Change:
    """A path present on both sides with different size or content."""

    path: str
    expected: FileEntry
    actual: FileEntry


@dataclass(frozen=True, kw_only=True)
class Diff:
    """What differs between an expected manifest and an actual one, each list sorted by path."""

    added: tuple[FileEntry, ...]
    """Files only in the actual manifest."""
    removed: tuple[FileEntry, ...]
    """Files only in the expected manifest."""
    changed: tuple[Change, ...]
    """Same path, different size or SHA-256."""

    @property
    def clean(self) -> bool:
        """True when nothing differs (the roots are then equal)."""
        return not (self.added or self.removed or self.changed)

    @property
    def renamed(self) -> tuple[tuple[FileEntry, FileEntry], ...]:
        """Informational: (removed, added) pairs with identical size and SHA-256 (likely renames).

        The pairs stay listed in :attr:`removed` and :attr:`added` too.
        """
        pool: dict[tuple[int, bytes], list[FileEntry]] = {}
        for a in self.added:
            pool.setdefault((a.size, a.sha256), []).append(a)
        out = []
        for r in self.removed:
            candidates = pool.get((r.size, r.sha256))
            if candidates:
                out.append((r, candidates.pop(0)))
        return tuple(out)


def diff(expected: Manifest, actual: Manifest) -> Diff:
    """Precise differences from ``expected`` to ``actual`` (matched by path)."""
    exp = {f.path: f for f in expected.files}
    act = {f.path: f for f in actual.files}
    return Diff(
        added=tuple(f for f in actual.files if f.path not in exp),
        removed=tuple(f for f in expected.files if f.path not in act),
        changed=tuple(
            Change(path=f.path, expected=f, actual=act[f.path])
            for f in expected.files
            if f.path in act and act[f.path] != f
        ),
    )
