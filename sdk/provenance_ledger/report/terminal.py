"""Human-readable renderings (rich tables and trees) of lineage and usage; the Graphviz DOT is in
:mod:`provenance_ledger.report.dot` (:func:`lineage_dot` here forwards to it).

Every string that comes from the chain (model and DataNet names, versions, licence ids, partition
selectors, preprocessing ops and parameters, code references) reaches rich as a ``Text`` made by
:func:`provenance_ledger.report.safe.text`: never parsed as markup, and with controls, escapes and
bidi overrides shown as ``\\x1b``, ``\\n``, ``\\u202e`` instead of acting on the terminal. Lines that
start at the left margin (tree roots, table titles) are never wrapped, so a name cannot push a line
of its own choosing (``verdict: allowed``) to the start of a line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from provenance_ledger.core.entries import DatanetRetraction, ModelRetraction, Unreadable, short_reason
from provenance_ledger.core.lineage import Lineage, RunNode, Usage
from provenance_ledger.core.records import Partition, PreprocessingStep
from provenance_ledger.report import safe

__all__ = [
    "hx",
    "license_text",
    "lineage_dot",
    "lineage_table",
    "lineage_tree",
    "partition_text",
    "pct",
    "retraction_text",
    "short_address",
    "step_text",
    "usage_table",
]


def hx(b: bytes, short: bool = False) -> str:
    h = "0x" + b.hex()
    return h[:10] + "…" + h[-4:] if short else h


def short_address(address: str | None) -> str:
    """``0xf39F…2266``: an address abbreviated for a table (in full in --json); ``?`` when unknown."""
    return "?" if not address else f"{address[:6]}…{address[-4:]}"


def _relations(lin: Lineage) -> dict[bytes, str]:
    """Record id of each parent run -> how its child derives from it (fine-tune, adapter, ...)."""
    out: dict[bytes, str] = {}
    for _, node in lin.walk():
        for i, parent in enumerate(node.parents):
            rels = node.relations
            out.setdefault(parent.record_id, rels[i] if i < len(rels) else "fine-tune")
    return out


def pct(ppm: int) -> str:
    return f"{ppm / 10_000:.4g}%"


def partition_text(p: Partition) -> str:
    parts = []
    if p.split:
        parts.append(f"split={p.split}")
    if p.selector:
        parts.append(f"selector={p.selector}")
    if p.fraction_ppm != 1_000_000:
        parts.append(f"fraction={pct(p.fraction_ppm)}")
    if p.seed or p.fraction_ppm != 1_000_000:
        parts.append(f"seed={p.seed}")
    return ", ".join(parts) or "whole version"


def step_text(s: PreprocessingStep) -> str:
    params = ", ".join(f"{k}={json.dumps(v, sort_keys=True)}" for k, v in sorted(s.params.items()))
    return f"{s.op}({params})"


def license_text(terms: object) -> str:
    if not terms or not isinstance(terms, Mapping):
        return "unknown"
    return str(terms.get("spdx") or "custom")


def retraction_text(r: DatanetRetraction | ModelRetraction | None, prefix: str = "\n") -> Text:
    """``RETRACTED (pii) at block N: note ...`` in red (the note is untrusted: made visible, never
    markup), or empty text when ``r`` is None."""
    if r is None:
        return Text("")
    return Text.assemble(
        prefix,
        (f"RETRACTED ({r.reason_name}) at block {r.block_number}", "bold red"),
        *((": note ", safe.text(r.note)) if r.note else ()),
    )


def _title(*parts: str | Text) -> Text:
    """A title or tree label: one line, cut with an ellipsis rather than wrapped, so that no part of a
    long hostile name can start a line of its own (the full text is in --json)."""
    t = Text.assemble(*parts)
    t.no_wrap, t.overflow = True, "ellipsis"
    return t


def lineage_table(lin: Lineage) -> Table:
    """One row per DataNet version per run, parents below the target, with every parameter."""
    t = Table(
        title=_title("What ", safe.text(f"{lin.model_name}@{lin.model_version}"), " was trained on"),
        show_lines=True,
        expand=False,
    )
    for col in ("model version / record", "DataNet version", "weight", "partition", "preprocessing", "license"):
        t.add_column(col, overflow="fold")
    relation = _relations(lin)
    for depth, node in lin.walk():
        run = node.recorded.run
        repeats = len(node.recorded.repeats)
        who = Text.assemble(
            "  " * depth + (f"↳ parent ({relation.get(node.record_id, 'fine-tune')}) " if depth else ""),
            safe.text(node.label, "bold"),
            f"\nowner {short_address(node.model_owner)}",
            f"\nrecord {hx(node.record_id, True)}\nblock {node.recorded.block_number}",
            f"\nrecorder {short_address(node.recorder)}",
            f"\nanchored under {hx(node.recorded.anchor_root, True)}" if node.recorded.anchor_root else "",
            f"\nrepeated {repeats}x later (one record)" if repeats else "",
            retraction_text(node.retraction),
        )
        steps = Text("\n".join(safe.visible(step_text(s)) for s in run.preprocessing) or "none")
        for i, d in enumerate(node.datanets):
            t.add_row(
                who if i == 0 else "",
                Text.assemble(
                    safe.text(d.info.label),
                    f"\nowner {short_address(d.info.owner)}",
                    f"\nroot {hx(d.info.content_root, True)}",
                    retraction_text(d.retraction),
                ),
                Text(pct(d.use.weight_ppm)),
                safe.text(partition_text(d.use.partition)),
                steps if i == 0 else "",
                safe.text(license_text(d.info.terms)),
            )
    return t


def _node_tree(node: RunNode, tree: Tree, seen: set[bytes]) -> None:
    run = node.recorded.run
    branch = tree.add(
        _title(
            safe.text(node.label, "bold"),
            retraction_text(node.retraction, "  "),
            f"  owner {short_address(node.model_owner)}  record {hx(node.record_id)}  block {node.recorded.block_number}",
            f"  recorder {short_address(node.recorder)}",
        )
    )
    if node.record_id in seen:
        branch.add(Text("(shown above)"))
        return
    seen.add(node.record_id)
    branch.add(Text(f"weights {hx(run.weights_digest)}"))
    if run.code:
        branch.add(_title("code ", safe.text(run.code.repo), " @ ", safe.text(run.code.commit)))
    if run.started_at is not None:
        branch.add(_title(safe.text(f"ran {run.started_at} → {run.ended_at}")))
    pre = branch.add(Text("preprocessing"))
    for s in run.preprocessing:
        pre.add(_title(safe.text(step_text(s))))
    if not run.preprocessing:
        pre.add(Text("none"))
    if run.hyperparameters:
        branch.add(_title(safe.text("hyperparameters " + json.dumps(run.hyperparameters, sort_keys=True))))
    data = branch.add(Text("DataNets"))
    for d in node.datanets:
        data.add(
            _title(
                safe.text(d.info.label),
                retraction_text(d.retraction, "  "),
                f"  owner {short_address(d.info.owner)}  weight {pct(d.use.weight_ppm)}  partition (",
                safe.text(partition_text(d.use.partition)),
                ")  license ",
                safe.text(license_text(d.info.terms)),
                f"  root {hx(d.info.content_root)}",
            )
        )
    rels = node.relations
    for i, p in enumerate(node.parents):
        rel = rels[i] if i < len(rels) else "fine-tune"
        _node_tree(p, branch.add(Text("fine-tuned from" if rel == "fine-tune" else f"{rel} of")), seen)


def lineage_tree(lin: Lineage) -> Tree:
    tree = Tree(_title(safe.text(f"{lin.model_name}@{lin.model_version}", "bold")))
    seen: set[bytes] = set()
    for r in lin.runs:
        _node_tree(r, tree, seen)
    return tree


def lineage_dot(lin: Lineage) -> str:
    """Graphviz DOT of ``lin``: :func:`provenance_ledger.report.dot.lineage_dot` (imported when used,
    so the terminal renderings load without graphviz)."""
    from provenance_ledger.report import dot

    return dot.lineage_dot(lin)


def usage_table(datanet: str, usages: Sequence[Usage]) -> Table:
    t = Table(title=_title("Models that used ", safe.text(datanet)), show_lines=False)
    for col in ("model version", "owner", "DataNet version", "weight in run", "how", "record", "recorder", "block"):
        t.add_column(col, overflow="fold")
    for u in usages:
        how = "trained on it" if u.depth == 0 else f"via {u.depth} fine-tune{'s' if u.depth > 1 else ''}"
        gone = u.retraction
        t.add_row(
            safe.text(u.label + (f" (RETRACTED: {gone.reason_name})" if gone is not None else "")),
            Text(short_address(u.model_owner)),
            Text(f"v{u.datanet_version}"),
            Text(pct(u.weight_ppm)),
            Text(how),
            Text(hx(u.recorded.record_id, True)),
            Text(short_address(u.recorded.recorder)),
            Text(str(u.recorded.block_number)),
        )
    return t


def unreadable_lines(entries: Sequence[Unreadable]) -> list[str]:
    """One flagged line per recorder of authentic but unreadable records met by a reader (someone's
    malformed record, left out of the answer): ``"1 unreadable record by 0x…: <reason>"``. The
    recorder's reason text is shown with controls as escapes."""
    by: dict[str, list[Unreadable]] = {}
    for e in entries:
        by.setdefault(e.recorder, []).append(e)
    lines = []
    for recorder, group in by.items():
        n = len(group)
        ids = ", ".join(hx(e.record_id, True) for e in group)
        lines.append(
            safe.visible(
                f"warning: {n} unreadable record{'s' if n > 1 else ''} by {recorder} ({ids}), left out: {short_reason(group[0].reason)}"
            )
        )
    return lines
