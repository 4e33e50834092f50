"""The local manifest store: the manifests this machine published, kept by manifest hash.

``.provenance/manifests/<manifest hash hex>.json`` under the current directory (``$PROVENANCE_MANIFESTS``
overrides the folder). Only the content root and the manifest hash are on chain; with the manifest at
hand, ``verify-data`` can list exactly which files differ and check a run's partition. Every manifest
read from here is checked against the chain's hashes before use.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from provenance_ledger.errors import ProvenanceError, ValidationError, VerificationError

if TYPE_CHECKING:
    from provenance_ledger.core.entries import DatanetVersionInfo
    from provenance_ledger.core.manifest import Manifest

__all__ = [
    "MANIFEST_STORE",
    "ZERO",
    "check_given",
    "manifest_store",
    "published_manifest",
    "read_manifest",
    "save_manifest",
    "stored_manifest",
]

MANIFEST_STORE = Path(".provenance") / "manifests"
"""Default folder of the local manifest store (relative to the current directory)."""

ZERO = bytes(32)


def _warn(text: str) -> None:
    sys.stderr.write(text + "\n")


# ----------------------------------------------------------------------------- manifest store


def manifest_store() -> Path:
    """The folder of the local manifest store."""
    return Path(os.environ.get("PROVENANCE_MANIFESTS") or MANIFEST_STORE)


def save_manifest(manifest: Manifest) -> Path | None:
    """Keep ``manifest`` in the local store as ``<manifest hash hex>.json`` (canonical bytes).

    Returns the file, or None (after a warning on stderr) when it cannot be written: by then the
    version is published, so a full disk must not turn the publish into an error.
    """
    store = manifest_store()
    path = store / f"{manifest.manifest_hash.hex()}.json"
    try:
        store.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(manifest.to_json_bytes())
            tmp.replace(path)
    except OSError as exc:
        _warn(f"warning: could not save the manifest to {path}: {exc.strerror or exc}")
        return None
    return path


def stored_manifest(info: DatanetVersionInfo) -> Manifest | None:
    """The published manifest of ``info`` from the local store, checked against the chain; else None."""
    from provenance_ledger.core.manifest import Manifest, check_manifest

    if info.manifest_hash == ZERO:
        return None
    path = manifest_store() / f"{info.manifest_hash.hex()}.json"
    if not path.is_file():
        return None
    try:
        manifest = Manifest.from_json_bytes(path.read_bytes())
        check_manifest(manifest, content_root=info.content_root, manifest_hash=info.manifest_hash)
    except (OSError, ProvenanceError) as exc:
        _warn(f"ignoring {path}: {exc}")
        return None
    return manifest


def read_manifest(file: str) -> Manifest:
    """Parse a manifest file; errors name the file."""
    from provenance_ledger.core.manifest import Manifest

    try:
        data = Path(file).read_bytes()
    except OSError as exc:
        raise ValidationError(file, f"cannot be read: {exc.strerror or exc}") from None
    try:
        return Manifest.from_json_bytes(data)
    except ValidationError as exc:
        raise ValidationError(f"{file}: {exc.field}", exc.problem) from None
    except VerificationError as exc:
        raise VerificationError(f"{file}: {exc}") from None


def published_manifest(
    info: DatanetVersionInfo, given: Sequence[tuple[str, Manifest]]
) -> tuple[Manifest | None, str | None]:
    """(manifest, where it came from) for ``info``: one of the ``--manifest`` files, else the store."""
    for file, m in given:
        if m.root == info.content_root and (info.manifest_hash == ZERO or m.manifest_hash == info.manifest_hash):
            return m, file
    stored = stored_manifest(info)
    return (stored, str(manifest_store() / f"{info.manifest_hash.hex()}.json")) if stored is not None else (None, None)


def check_given(file: str, manifest: Manifest, info: DatanetVersionInfo) -> None:
    from provenance_ledger.core.manifest import check_manifest

    try:
        check_manifest(
            manifest,
            content_root=info.content_root,
            manifest_hash=None if info.manifest_hash == ZERO else info.manifest_hash,
        )
    except VerificationError as exc:
        raise VerificationError(f"{file} is not the published manifest of {info.label}: {exc}") from None
