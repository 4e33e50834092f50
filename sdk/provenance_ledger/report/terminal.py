"""Human-readable renderings (rich tables and trees, Graphviz DOT) of lineage and usage."""

from __future__ import annotations

import json
from collections.abc import Sequence

from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from provenance_ledger.core.lineage import Lineage, RunNode, Usage
from provenance_ledger.core.records import Partition, PreprocessingStep


def hx(b: bytes, short: bool = False) -> str:
    h = "0x" + b.hex()
    return h[:10] + "…" + h[-4:] if short else h


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


def license_text(terms: dict | None) -> str:
    if not terms:
        return "unknown"
    return str(terms.get("spdx") or "custom")


def lineage_table(lin: Lineage) -> Table:
    """One row per DataNet version per run, parents below the target, with every parameter."""
    t = Table(title=f"What {lin.model_name}@{lin.model_version} was trained on", show_lines=True, expand=False)
    for col in ("model version / record", "DataNet version", "weight", "partition", "preprocessing", "license"):
        t.add_column(col, overflow="fold")
    for depth, node in lin.walk():
        run = node.recorded.run
        who = (
            f"{'  ' * depth}{'↳ parent ' if depth else ''}[bold]{node.label}[/bold]\n"
            f"record {hx(node.record_id, True)}\nblock {node.recorded.block_number}"
            + (f"\nanchored under {hx(node.recorded.anchor_root, True)}" if node.recorded.anchor_root else "")
        )
        steps = escape("\n".join(step_text(s) for s in run.preprocessing) or "none")
        for i, d in enumerate(node.datanets):
            t.add_row(
                who if i == 0 else "",
                f"{d.info.label}\nroot {hx(d.info.content_root, True)}",
                pct(d.use.weight_ppm),
                escape(partition_text(d.use.partition)),
                steps if i == 0 else "",
                license_text(d.info.terms),
            )
    return t


def _node_tree(node: RunNode, tree: Tree, seen: set[bytes]) -> None:
    run = node.recorded.run
    branch = tree.add(f"[bold]{node.label}[/bold]  record {hx(node.record_id)}  block {node.recorded.block_number}")
    if node.record_id in seen:
        branch.add("(shown above)")
        return
    seen.add(node.record_id)
    branch.add(f"weights {hx(run.weights_digest)}")
    if run.code:
        branch.add(f"code {run.code.repo} @ {run.code.commit}")
    if run.started_at is not None:
        branch.add(f"ran {run.started_at} → {run.ended_at}")
    pre = branch.add("preprocessing")
    for s in run.preprocessing:
        pre.add(escape(step_text(s)))
    if not run.preprocessing:
        pre.add("none")
    if run.hyperparameters:
        branch.add(escape("hyperparameters " + json.dumps(run.hyperparameters, sort_keys=True)))
    data = branch.add("DataNets")
    for d in node.datanets:
        data.add(
            escape(
                f"{d.info.label}  weight {pct(d.use.weight_ppm)}  partition ({partition_text(d.use.partition)})  "
                f"license {license_text(d.info.terms)}  root {hx(d.info.content_root)}"
            )
        )
    for p in node.parents:
        _node_tree(p, branch.add("fine-tuned from"), seen)


def lineage_tree(lin: Lineage) -> Tree:
    tree = Tree(f"[bold]{lin.model_name}@{lin.model_version}[/bold]")
    seen: set[bytes] = set()
    for r in lin.runs:
        _node_tree(r, tree, seen)
    return tree


def lineage_dot(lin: Lineage) -> str:
    """Graphviz DOT: runs as boxes, DataNet versions as cylinders, edges labelled with weights."""
    lines = ["digraph lineage {", "  rankdir=BT;"]
    for _, node in lin.walk():
        rid = hx(node.record_id)
        lines.append(f'  "{rid}" [shape=box,label="{node.label}\\n{hx(node.record_id, True)}"];')
        for d in node.datanets:
            dn = f"{d.info.label}"
            lines.append(f'  "{dn}" [shape=cylinder];')
            lines.append(f'  "{dn}" -> "{rid}" [label="{pct(d.use.weight_ppm)}"];')
        for p in node.parents:
            lines.append(f'  "{hx(p.record_id)}" -> "{rid}" [label="fine-tune"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def usage_table(datanet: str, usages: Sequence[Usage]) -> Table:
    t = Table(title=f"Models that used {datanet}", show_lines=False)
    for col in ("model version", "DataNet version", "weight in run", "how", "record", "block"):
        t.add_column(col, overflow="fold")
    for u in usages:
        how = "trained on it" if u.depth == 0 else f"via {u.depth} fine-tune{'s' if u.depth > 1 else ''}"
        t.add_row(
            u.label,
            f"v{u.datanet_version}",
            pct(u.weight_ppm),
            how,
            hx(u.recorded.record_id, True),
            str(u.recorded.block_number),
        )
    return t
