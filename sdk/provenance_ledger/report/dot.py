"""Graphviz DOT of a lineage (``provenance lineage --dot``), built with the ``graphviz`` package.

Every label that comes from the chain (model and DataNet names, versions) is made visible first
(:func:`provenance_ledger.report.safe.visible`: no raw newline, control or bidi character), then
made literal for DOT: backslashes doubled (:func:`graphviz.escape`, so ``\\n`` or ``\\l`` in a name
is text, not a line break), ``&`` written as ``&amp;`` (Graphviz decodes HTML entities such as
``&#27;`` in every label), and marked as not-HTML (:func:`graphviz.nohtml`, so ``<...>`` is text).
The graphviz package then quotes each label and escapes its double quotes. Node ids are hex record
and DataNet ids, never names, so two names that look alike stay two nodes.
"""

from __future__ import annotations

import graphviz

from provenance_ledger.core.lineage import Lineage
from provenance_ledger.report.safe import visible

__all__ = [
    "dot_label",
    "lineage_dot",
]


def _hx(b: bytes, short: bool = False) -> str:
    h = "0x" + b.hex()
    return h[:10] + "…" + h[-4:] if short else h


def _pct(ppm: int) -> str:
    return f"{ppm / 10_000:.4g}%"


def dot_label(*lines: object) -> str:
    """A DOT label showing ``lines`` literally, one per line (centred): each line made visible and
    escaped for DOT (see the module docstring); pass the result as a ``label`` to :mod:`graphviz`."""
    label: str = graphviz.nohtml("\\n".join(graphviz.escape(visible(line)).replace("&", "&amp;") for line in lines))
    return label


def lineage_dot(lin: Lineage) -> str:
    """Graphviz DOT: runs as boxes, DataNet versions as cylinders, edges labelled with weights."""
    g = graphviz.Digraph("lineage", graph_attr={"rankdir": "BT"})
    datanets: set[str] = set()
    for _, node in lin.walk():
        rid = _hx(node.record_id)
        g.node(rid, label=dot_label(node.label, _hx(node.record_id, True)), shape="box")
        for d in node.datanets:
            dn = f"datanet-{_hx(d.info.datanet_id)}-v{d.info.version}"
            if dn not in datanets:
                datanets.add(dn)
                g.node(dn, label=dot_label(d.info.label), shape="cylinder")
            g.edge(dn, rid, label=dot_label(_pct(d.use.weight_ppm)))
        for p in node.parents:
            g.edge(_hx(p.record_id), rid, label=dot_label("fine-tune"))
    return str(g.source)
