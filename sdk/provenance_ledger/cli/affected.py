"""`provenance affected`: every model version derived from a DataNet version or a model version."""

from __future__ import annotations

from typing import Any

import click

from provenance_ledger.cli._common import Env, chain_options, console, emit, split_ref
from provenance_ledger.errors import NotFoundError, ValidationError
from provenance_ledger.report import safe

__all__ = ["affected"]


def _kind(src: Any, name: str, version: str) -> str:
    """ "datanet" or "model": whichever NAME@VERSION exists (an error when both or neither do)."""
    found = []
    if version.isdigit():
        try:
            src.datanet_version(name, int(version))
            found.append("datanet")
        except NotFoundError:
            pass
    try:
        if src.runs_of(src.model_id(name), version):
            found.append("model")
    except NotFoundError:
        pass
    if len(found) == 1:
        return found[0]
    if not found:
        raise NotFoundError(f"{name}@{version} is neither a published DataNet version nor a recorded model version")
    raise ValidationError(
        "NAME@VERSION", f"{name}@{version} is both a DataNet and a model version: add --datanet or --model"
    )


def _rows(src: Any, kind: str, name: str, version: str) -> tuple[list[dict[str, Any]], tuple[Any, ...]]:
    """The affected runs as JSON rows, and the unreadable records met on the way."""
    from provenance_ledger.core.hexutil import hexstr
    from provenance_ledger.core.lineage import models_derived_from

    if kind == "datanet":
        if not version.isdigit():
            raise ValidationError("DATANET@VERSION", f"version must be a number, got {version!r}")
        usages = src.models_trained_on(name, int(version))
        labels = {u.recorded.record_id: u.label for u in usages}
        start = f"{src.datanet_version(name, int(version)).label}"
        rows = [
            u.to_dict() | {"path": [start, *(labels.get(v, hexstr(v)) for v in u.via)], "depth": u.depth + 1}
            for u in usages
        ]
        return rows, tuple(getattr(usages, "unreadable", ()))
    found = models_derived_from(src, src.model_id(name), version)
    return [d.to_dict() for d in found], found.unreadable


@click.command(
    epilog="Examples:\n\n"
    "    provenance affected support-tickets@3            # a DataNet version (or a model version: auto-detected)\n\n"
    "    provenance affected --datanet support-tickets@3 --json\n\n"
    "    provenance affected --model acme-base@1.0\n\n"
    "Each model version is listed once per run, with its path: the DataNet or model version first, then "
    "every model version in between (depth 1 = trained on it directly)."
)
@chain_options
@click.argument("ref", metavar="NAME@VERSION")
@click.option("--datanet", "kind", flag_value="datanet", help="NAME@VERSION is a DataNet version.")
@click.option("--model", "kind", flag_value="model", help="NAME@VERSION is a model version.")
@click.option("--no-index", is_flag=True, help="Read event logs even when an up-to-date local index exists.")
def affected(env: Env, as_json: bool, ref: str, kind: str | None, no_index: bool) -> None:
    """Which model versions descend from NAME@VERSION (a DataNet version, or a model version), directly or
    through fine-tunes, and by which path? What a retraction reaches."""
    from rich.table import Table

    from provenance_ledger.cli._common import source_for, stderr_console
    from provenance_ledger.report import terminal as render

    name, version = split_ref(ref, "NAME@VERSION")
    src = source_for(env, use_index=not no_index)
    kind = kind or _kind(src, name, version)
    rows, unreadable = _rows(src, kind, name, version)
    data = {"kind": kind, "of": ref, "affected": rows, "unreadable": [u.to_dict() for u in unreadable]}

    def human() -> None:
        t = Table(title=safe.text(f"Model versions derived from {kind} {ref}"))
        for col in ("model version", "depth", "path", "record", "block"):
            t.add_column(col, overflow="fold")
        for r in rows:
            gone = r.get("retracted")
            t.add_row(
                safe.text(f"{r['model']}@{r['version']}" + (f" (RETRACTED: {gone['reason']})" if gone else "")),
                str(r["depth"]),
                safe.text(" → ".join(r["path"])),
                r["record_id"][:10] + "…",
                str(r["block"]),
            )
        console.print(t)
        console.print(f"{len(rows)} affected run(s)", highlight=False)

    emit(data, as_json, human)
    for line in render.unreadable_lines(unreadable):
        stderr_console().print(line, style="yellow", highlight=False, markup=False)
