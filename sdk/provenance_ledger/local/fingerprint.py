"""Fingerprinting folders and files on disk (I/O): walks, stats and hashes with threads.

The definitions (leaves, nodes, manifest JSON) are pure and live in :mod:`provenance_ledger.core.manifest`."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Union

from provenance_ledger.core.manifest import Diff, FileEntry, Manifest, check_path, diff, path_key
from provenance_ledger.errors import ValidationError

__all__ = [
    "CHUNK_SIZE",
    "PathLike",
    "Progress",
    "collect",
    "fingerprint",
    "verify_data",
    "weights_digest",
]

CHUNK_SIZE = 1 << 20
"""Bytes read (and hashed) per system call."""

Progress = Callable[[int, int], None]
"""Called with (bytes hashed, bytes total), always from the thread that called :func:`fingerprint`."""

PathLike = Union[str, "os.PathLike[str]"]

# ------------------------------------------------------------------ I/O: walking the file system


@dataclass(frozen=True, kw_only=True)
class _Item:
    path: str
    """Manifest path."""
    location: str
    """Where to open it."""
    size: int
    """Size from stat (checked again against the bytes read)."""


def _bad(location: str, problem: str) -> ValidationError:
    return ValidationError(location, problem)


def _stat(location: str) -> os.stat_result:
    try:
        return os.stat(location)  # follows symlinks
    except FileNotFoundError:
        if os.path.islink(location):
            raise _bad(location, "is a dangling symbolic link") from None
        raise _bad(location, "does not exist") from None
    except OSError as exc:
        raise _bad(location, f"cannot be read: {exc.strerror or exc}") from None


def _join(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name


def _walk(
    location: str, prefix: str, st: os.stat_result, ancestors: frozenset[tuple[int, int]], out: list[_Item]
) -> None:
    """Collect the regular files under ``location`` (a folder with stat ``st``), following symlinks."""
    here = (st.st_dev, st.st_ino)
    if here in ancestors:
        raise _bad(location, "symbolic link loop (a folder contains itself)")
    ancestors = ancestors | {here}
    try:
        with os.scandir(location) as it:
            names = sorted((e.name for e in it), key=lambda n: n.encode("utf-8", "surrogateescape"))
    except OSError as exc:
        raise _bad(location, f"cannot be read: {exc.strerror or exc}") from None
    for name in names:
        child = os.path.join(location, name)
        _add(child, _join(prefix, name), _stat(child), ancestors, out)


def _add(location: str, path: str, st: os.stat_result, ancestors: frozenset[tuple[int, int]], out: list[_Item]) -> None:
    if stat.S_ISDIR(st.st_mode):
        _walk(location, path, st, ancestors, out)
    elif stat.S_ISREG(st.st_mode):
        try:
            check_path(path)
        except ValidationError as exc:
            raise _bad(location, f"has no usable manifest path: {exc.problem}") from None
        out.append(_Item(path=path, location=location, size=st.st_size))
    else:
        raise _bad(location, "is neither a regular file nor a folder")


def collect(
    path_or_paths: PathLike | Sequence[PathLike], *, base: PathLike | None = None
) -> list[tuple[str, str, int]]:
    """The files to fingerprint as ``(manifest path, location, size)``, sorted by manifest path.

    See the module docstring for how paths are named. Raises ValidationError naming the path for
    missing, unreadable or unsupported inputs, and when there are no files at all.
    """
    single = isinstance(path_or_paths, str | os.PathLike)
    inputs: list[PathLike] = [path_or_paths] if isinstance(path_or_paths, str | os.PathLike) else list(path_or_paths)
    if not inputs:
        raise ValidationError("paths", "no paths given")
    locations = [os.path.abspath(os.fspath(p)) for p in inputs]
    stats = [_stat(loc) for loc in locations]
    if base is not None:
        root = os.path.abspath(os.fspath(base))
    elif single:
        root = locations[0] if stat.S_ISDIR(stats[0].st_mode) else os.path.dirname(locations[0])
    else:
        root = os.path.commonpath([os.path.dirname(loc) for loc in locations])
    items: list[_Item] = []
    for loc, st in zip(locations, stats, strict=True):
        rel = os.path.relpath(loc, root)
        if rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
            raise _bad(loc, f"is not inside the base folder {root}")
        prefix = "" if rel == os.curdir else rel.replace(os.sep, "/")
        if not prefix and not stat.S_ISDIR(st.st_mode):
            raise _bad(loc, "a file cannot be its own base folder")
        _add(loc, prefix, st, frozenset(), items)
    unique: dict[str, _Item] = {}
    for item in items:
        unique.setdefault(item.path, item)  # overlapping inputs name the same file the same way
    if not unique:
        raise ValidationError(", ".join(locations), "contains no files to fingerprint")
    ordered = sorted(unique.values(), key=lambda i: path_key(i.path))
    return [(i.path, i.location, i.size) for i in ordered]


# ------------------------------------------------------------------ I/O: hashing


class _Counter:
    """Bytes hashed so far, shared by the worker threads."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def add(self, n: int) -> None:
        with self._lock:
            self.value += n


_buffers = threading.local()


def _read_small(location: str, expected_size: int) -> bytes:
    """A file expected to be under one chunk, in one ``read`` (asking one byte more detects growth)."""
    fd = os.open(location, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        data = os.read(fd, expected_size + 1)
        if len(data) < expected_size:  # a short read is EOF for regular files; confirm and collect the rest
            parts = [data]
            while chunk := os.read(fd, CHUNK_SIZE):
                parts.append(chunk)
            data = b"".join(parts)
        return data
    finally:
        os.close(fd)


def _hash_file(path: str, location: str, expected_size: int, counter: _Counter | None) -> FileEntry:
    h = hashlib.sha256()
    size = 0
    try:
        if expected_size < CHUNK_SIZE:
            data = _read_small(location, expected_size)
            h.update(data)
            size = len(data)
            if counter is not None:
                counter.add(size)
        else:
            buf = getattr(_buffers, "buf", None)
            if buf is None:
                buf = _buffers.buf = memoryview(bytearray(CHUNK_SIZE))
            with open(location, "rb", buffering=0) as f:
                while n := f.readinto(buf):
                    h.update(buf[:n])
                    size += n
                    if counter is not None:
                        counter.add(n)
    except OSError as exc:
        raise _bad(location, f"cannot be read: {exc.strerror or exc}") from None
    if size != expected_size:
        raise _bad(location, f"changed while being fingerprinted ({expected_size} bytes, then {size} read)")
    return FileEntry(path=path, size=size, sha256=h.digest())


def _hash_batch(batch: list[tuple[int, tuple[str, str, int]]], counter: _Counter | None) -> list[tuple[int, FileEntry]]:
    return [(i, _hash_file(p, loc, size, counter)) for i, (p, loc, size) in batch]


def _batches(
    files: list[tuple[str, str, int]], max_bytes: int = 8 << 20, max_files: int = 64
) -> list[list[tuple[int, tuple[str, str, int]]]]:
    """Largest files first (so two workers finish together); small files grouped to save overhead."""
    order = sorted(range(len(files)), key=lambda i: -files[i][2])
    out: list[list[tuple[int, tuple[str, str, int]]]] = []
    cur: list[tuple[int, tuple[str, str, int]]] = []
    cur_bytes = 0
    for i in order:
        cur.append((i, files[i]))
        cur_bytes += files[i][2]
        if cur_bytes >= max_bytes or len(cur) >= max_files:
            out.append(cur)
            cur, cur_bytes = [], 0
    if cur:
        out.append(cur)
    return out


def fingerprint(
    path_or_paths: PathLike | Sequence[PathLike],
    *,
    base: PathLike | None = None,
    workers: int = 2,
    progress: Progress | None = None,
) -> Manifest:
    """Fingerprint a folder, a file, or a sequence of files/folders (see the module docstring).

    ``workers`` threads hash files concurrently (OpenSSL's SHA-256 releases the GIL, so two workers
    use two cores); ``progress(bytes_done, bytes_total)`` is called from the calling thread about
    ten times a second and once at the end.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 256:
        raise ValidationError("workers", f"must be an integer in 1..256, got {workers!r}")
    files = collect(path_or_paths, base=base)
    total = sum(f[2] for f in files)
    counter = _Counter() if progress is not None else None
    entries: list[FileEntry | None] = [None] * len(files)
    if progress is not None:
        progress(0, total)
    if workers == 1:
        next_report = time.monotonic() + 0.1
        for i, (p, loc, size) in enumerate(files):
            entries[i] = _hash_file(p, loc, size, counter)
            if progress is not None and counter is not None and time.monotonic() >= next_report:
                next_report = time.monotonic() + 0.1
                progress(counter.value, total)
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fingerprint") as pool:
            pending: set[Future[list[tuple[int, FileEntry]]]] = {
                pool.submit(_hash_batch, b, counter) for b in _batches(files)
            }
            try:
                last = -1
                while pending:
                    done, pending = wait(pending, timeout=0.1 if progress else None, return_when=FIRST_COMPLETED)
                    for fut in done:
                        for i, entry in fut.result():
                            entries[i] = entry
                    if progress is not None and counter is not None and counter.value != last:
                        last = counter.value
                        progress(last, total)
            finally:
                for fut in pending:
                    fut.cancel()
    if progress is not None:
        progress(total, total)
    return Manifest(files=tuple(e for e in entries if e is not None))


def weights_digest(path: PathLike, *, workers: int = 2, progress: Progress | None = None) -> bytes:
    """A model's ``weights_digest``: the content root of its weights folder (or single weights file).

    Exactly :func:`fingerprint` (``path``).root: every file in the folder counts (config, tokenizer,
    shards), paths relative to the folder, so a copied or re-downloaded checkpoint has the same digest.
    """
    return fingerprint(path, workers=workers, progress=progress).root


def verify_data(
    path_or_paths: PathLike | Sequence[PathLike],
    expected: Manifest,
    *,
    base: PathLike | None = None,
    workers: int = 2,
    progress: Progress | None = None,
) -> Diff:
    """Fingerprint local files and diff them against ``expected``; ``.clean`` means they match."""
    return diff(expected, fingerprint(path_or_paths, base=base, workers=workers, progress=progress))
