"""Run files: the YAML or JSON description of a training run, read into a :class:`TrainingRun`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from provenance_ledger.core.canonical import entity_id
from provenance_ledger.core.records import TrainingRun, run_from_dict
from provenance_ledger.errors import ValidationError

__all__ = [
    "load_run_file",
]


def load_run_file(
    path: str,
    resolve: Callable[[str, str], bytes] | None,
    *,
    owner: str | bytes | None = None,
    refs: Callable[[str], str] | None = None,
) -> TrainingRun:
    """Read a run file (YAML or JSON) into a :class:`TrainingRun`; errors name the file and the field.

    Models and DataNets named by a bare name are ``owner``'s (ids are scoped by owner); ``OWNER/NAME``
    and ``0x`` ids name any account's. Without ``owner``, bare names are an error. ``refs`` rewrites a
    name first (the CLI passes :meth:`Config.resolve_ref`, so ``ALIAS/NAME`` works in run files)."""
    text = Path(path).read_text()
    try:
        if path.endswith((".yaml", ".yml")):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # yaml and json raise different types
        raise ValidationError(
            path, f"is not valid {'YAML' if path.endswith(('.yaml', '.yml')) else 'JSON'}: {exc}"
        ) from None
    try:
        rewrite = refs or (lambda name: name)
        return run_from_dict(data, name_hasher=lambda name: entity_id(owner, rewrite(name)), resolve_parent=resolve)
    except ValidationError as exc:
        raise ValidationError(f"{path}: {exc.field}", exc.problem) from None
