"""Deterministic partitions of a DataNet version: which files a run's ``Partition`` selects. Pure.

A run records, per DataNet version, a :class:`~provenance_ledger.records.Partition` (``selector``,
``fraction_ppm``, ``seed``). Given that version's manifest (whose hash is on chain), anyone can list
the exact files the partition names, with this rule (version 1):

1. **Selector.** A file is a candidate when ``selector`` is empty, or when its manifest path matches
   the glob ``selector`` under Python's :func:`fnmatch.fnmatchcase` rules: case-sensitive; ``*``
   matches any run of characters *including* ``/``; ``?`` one character; ``[seq]`` / ``[!seq]`` a
   character class. (So ``"en/*.jsonl"`` also matches ``"en/2024/a.jsonl"``.)
2. **Sampling.** A candidate is kept when
   ``int.from_bytes(keccak256(uint64be(seed) || sha256 || utf8(path)), "big") % 1_000_000 < fraction_ppm``
   where ``sha256`` is the file's raw 32-byte digest from the manifest. Each file is an independent
   draw, so the kept share is about ``fraction_ppm / 1e6`` (exactly all at 1,000,000); the draw
   depends on the file's path and content, never on the other files or their order.

The result is in manifest order (sorted by path). ``split`` is only a label and selects nothing.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from provenance_ledger.core.hashing import keccak
from provenance_ledger.core.manifest import FileEntry, Manifest
from provenance_ledger.core.records import Partition
from provenance_ledger.errors import ValidationError

__all__ = [
    "MAX_SEED",
    "PPM",
    "draw",
    "in_partition",
    "select",
    "select_partition",
]

PPM = 1_000_000
"""``fraction_ppm`` of a whole selection."""

MAX_SEED = 2**64 - 1


def _check(selector: object, fraction_ppm: object, seed: object) -> None:
    if not isinstance(selector, str):
        raise ValidationError("selector", f"must be a string, got {selector!r}")
    if isinstance(fraction_ppm, bool) or not isinstance(fraction_ppm, int) or not 1 <= fraction_ppm <= PPM:
        raise ValidationError("fraction_ppm", f"must be an integer in 1..{PPM:,}, got {fraction_ppm!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ValidationError("seed", f"must be an integer in 0..2**64-1, got {seed!r}")


def draw(entry: FileEntry, seed: int) -> int:
    """The file's sampling value in ``0 .. 999_999`` for ``seed`` (kept when below ``fraction_ppm``)."""
    _check("", PPM, seed)
    h = keccak(seed.to_bytes(8, "big") + entry.sha256 + entry.path.encode("utf-8"))
    return int.from_bytes(h, "big") % PPM


def in_partition(entry: FileEntry, *, selector: str = "", fraction_ppm: int = PPM, seed: int = 0) -> bool:
    """Whether ``entry`` belongs to the partition (``selector``, ``fraction_ppm``, ``seed``)."""
    _check(selector, fraction_ppm, seed)
    if selector and not fnmatchcase(entry.path, selector):
        return False
    return fraction_ppm == PPM or draw(entry, seed) < fraction_ppm


def select(manifest: Manifest, *, selector: str = "", fraction_ppm: int = PPM, seed: int = 0) -> list[FileEntry]:
    """The manifest's files in the partition, in manifest (path) order. May be empty."""
    _check(selector, fraction_ppm, seed)
    return [f for f in manifest.files if in_partition(f, selector=selector, fraction_ppm=fraction_ppm, seed=seed)]


def select_partition(manifest: Manifest, partition: Partition) -> list[FileEntry]:
    """:func:`select` with a recorded run's :class:`~provenance_ledger.records.Partition`."""
    return select(manifest, selector=partition.selector, fraction_ppm=partition.fraction_ppm, seed=partition.seed)
