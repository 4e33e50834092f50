"""Run files: the YAML or JSON description of a training run, read into a :class:`TrainingRun`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from provenance_ledger.core.canonical import name_id
from provenance_ledger.core.records import TrainingRun, run_from_dict
from provenance_ledger.errors import ValidationError

__all__ = [
    "load_run_file",
]


def load_run_file(path: str, resolve: Callable[[str, str], bytes] | None) -> TrainingRun:
    """Read a run file (YAML or JSON) into a :class:`TrainingRun`; errors name the file and the field."""
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
        return run_from_dict(data, name_hasher=name_id, resolve_parent=resolve)
    except ValidationError as exc:
        raise ValidationError(f"{path}: {exc.field}", exc.problem) from None
