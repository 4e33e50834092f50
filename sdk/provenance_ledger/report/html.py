"""The audit report as one self-contained HTML page: lineage graph (inline SVG), runs, licence
verdict, obligations, attribution and reward split.

:func:`render_html` reads only the JSON-able report dict of :func:`~provenance_ledger.report.audit.build_report`,
so ``audit.json`` can be re-rendered later (``render_html(json.load(f))``) into the same page.

Everything here computes plain values (texts, numbers, coordinates); every tag, attribute and
piece of text of the page, the SVG graph included, is written by the jinja2 templates in
``report/templates`` with autoescape on. Every string that comes from the chain (model and DataNet
names, versions, licence fields, notices, preprocessing parameters, addresses...) goes through the
``visible`` filter (:func:`provenance_ledger.report.safe.visible`) and then autoescape, so no tag,
no raw control character (ESC included) and no bidi override reaches the page. As a safety net the
environment's ``finalize`` applies :func:`~provenance_ledger.report.safe.visible` to every value a
template prints, so a forgotten filter still cannot let a raw control character through.

The page has no scripts, no external fonts, styles or images, and a Content-Security-Policy that
forbids loading anything.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import jinja2

from provenance_ledger.core.licensing import ALLOWED, BLOCKED, NEEDS_REVIEW
from provenance_ledger.report.safe import visible

__all__ = [
    "TEMPLATE",
    "decision_class",
    "environment",
    "graph_svg",
    "pct",
    "render_html",
    "short",
    "weight_pct",
]

TEMPLATE = "audit.html.j2"
"""The page template, in ``provenance_ledger/report/templates`` (shipped as package data)."""

# ----------------------------------------------------------------------------- jinja2


def _shown(value: object) -> str:
    """What a template prints for ``value`` (the environment's ``finalize``): nothing for None,
    else the value made visible (idempotent, so values already filtered by ``visible`` are unchanged)."""
    return "" if value is None else visible(value)


def _fit(text: object, width: int) -> str:
    """``text`` cut with an ellipsis to fit a node ``width`` pixels wide (jinja filter ``fit``)."""
    s = str(text)
    n = max(4, (width - 24) // _CHAR_W)
    return s if len(s) <= n else s[: n - 1] + "…"


@functools.cache
def environment() -> jinja2.Environment:
    """The jinja2 environment of the report templates: autoescape on, undefined names are errors,
    filters ``visible`` (:func:`~provenance_ledger.report.safe.visible`) and ``fit``."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("provenance_ledger.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_shown,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters["visible"] = visible
    env.filters["fit"] = _fit
    env.globals["decision_class"] = decision_class
    return env


def render_html(report: Mapping[str, Any]) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG; no scripts, no network)."""
    page = (
        environment()
        .get_template(TEMPLATE)
        .render(
            title=f"Audit of {report.get('model')}: {report.get('license', {}).get('decision')}",
            header=_header(report),
            graph=_graph(report),
            runs=_runs(report),
            license=_license(report),
            obligations=_obligations(report),
            attribution=_attribution(report),
            split=_split(report),
            rules=_markdown(str(report.get("rules") or "")),
        )
    )
    # markupsafe writes a quote as the numeric reference &#34;, write it as the named &quot; (same
    # meaning). Only escaping produces "&#34;": a literal "&#34;" in a name is escaped to "&amp;#34;".
    return page.replace("&#34;", "&quot;")


def graph_svg(report: Mapping[str, Any]) -> str:
    """The lineage graph of :func:`render_html` on its own, as an SVG element (see :func:`_graph`)."""
    return environment().get_template("graph.svg.j2").render(graph=_graph(report))


# ----------------------------------------------------------------------------- formatting


def _iso(ts: object) -> str | None:
    return None if not isinstance(ts, int) else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def pct(ppm: int) -> str:
    """Parts per million as a percentage with four decimals (as `provenance attribution` prints)."""
    return f"{ppm / 10_000:.4f}%"


def weight_pct(ppm: int) -> str:
    return f"{ppm / 10_000:.4g}%"


def short(h: str | None) -> str:
    h = h or ""
    return h if len(h) <= 16 else h[:10] + "…" + h[-4:]


def decision_class(decision: object) -> str:
    """The CSS class of a decision badge."""
    return {ALLOWED: "allowed", NEEDS_REVIEW: "review", BLOCKED: "blocked"}.get(str(decision), "review")


def _json_value(v: object) -> str:
    return json.dumps(v, sort_keys=True, ensure_ascii=False)


def _step_text(step: Mapping[str, Any]) -> str:
    params = step.get("params") or {}
    inner = (
        ", ".join(f"{k}={_json_value(v)}" for k, v in sorted(params.items()))
        if isinstance(params, Mapping)
        else _json_value(params)
    )
    return f"{step.get('op')}({inner})"


def _partition_text(p: Mapping[str, Any]) -> str:
    parts = []
    if p.get("split"):
        parts.append(f"split={p['split']}")
    if p.get("selector"):
        parts.append(f"selector={p['selector']}")
    fraction = p.get("fraction_ppm", 1_000_000)
    if fraction != 1_000_000:
        parts.append(f"fraction={weight_pct(fraction)}")
    if p.get("seed") or fraction != 1_000_000:
        parts.append(f"seed={p.get('seed', 0)}")
    return ", ".join(parts) or "whole version"


def _licence_of(terms: object) -> str:
    if not isinstance(terms, Mapping):
        return "unknown terms"
    return str(terms.get("spdx") or "unknown terms")


def _kv(data: object) -> list[tuple[str, str]]:
    """``key=json`` pairs of a details mapping, sorted (empty when there is none)."""
    if not isinstance(data, Mapping):
        return []
    return [(str(k), _json_value(v)) for k, v in sorted(data.items())]


_INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*")


def _inline_md(text: str) -> list[tuple[str, str]]:
    """``text`` as (kind, text) segments, kind ``text``, ``code`` (`x`) or ``strong`` (**x**)."""
    out: list[tuple[str, str]] = []
    at = 0
    for m in _INLINE.finditer(text):
        if m.start() > at:
            out.append(("text", text[at : m.start()]))
        out.append(("code", m.group(1)) if m.group(1) is not None else ("strong", m.group(2)))
        at = m.end()
    if at < len(text):
        out.append(("text", text[at:]))
    return out


def _markdown(md: str) -> list[dict[str, Any]]:
    """The few markdown constructs of the licence rules, paragraphs and pipe tables, as blocks for
    the template: ``{"paragraph": segments}`` and ``{"head": [segments], "body": [[segments]]}``."""
    out: list[dict[str, Any]] = []
    for block in re.split(r"\n\s*\n", md.strip()):
        lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
        paragraph = [ln for ln in lines if not ln.startswith("|")]
        rows = [ln for ln in lines if ln.startswith("|")]
        if paragraph:
            out.append({"paragraph": _inline_md(" ".join(paragraph))})
        if rows:
            cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows]
            head, body = cells[0], [c for c in cells[1:] if not all(set(x) <= set("-: ") for x in c)]
            out.append({"head": [_inline_md(c) for c in head], "body": [[_inline_md(c) for c in r] for r in body]})
    return out


# ----------------------------------------------------------------------------- sections


def _header(report: Mapping[str, Any]) -> dict[str, Any]:
    gen = report.get("generated_for", {})
    lic = report.get("license", {})
    summ = report.get("summary", {})
    return {
        "format": report.get("format"),
        "model": report.get("model"),
        "decision": lic.get("decision"),
        "clause": lic.get("clause"),
        "use": gen.get("use"),
        "domain": gen.get("domain"),
        "at_time": gen.get("at_time"),
        "at_time_utc": gen.get("at_time_utc"),
        "source": sorted((report.get("source") or {}).items()),
        "stats": [
            (summ.get("runs"), "training runs"),
            (summ.get("datanet_versions"), "DataNet versions"),
            (summ.get("recipients"), "recipients"),
            (summ.get("attribution_notices"), "distinct attribution notices owed"),
        ],
        "share_alike": "yes" if summ.get("share_alike") else "no",
        "retracted": [r for r in (report.get("lineage") or {}).get("retracted") or [] if isinstance(r, Mapping)],
    }


def _runs(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    lin = report["lineage"]
    labels = {r["record_id"]: f"{r['model']}@{r['version']}" for r in lin["runs"]}
    targets = set(lin.get("targets") or [])
    rows = []
    for r in lin["runs"]:
        det = r.get("details") or {}
        code = det.get("code") or {}
        rows.append(
            {
                "label": labels[r["record_id"]],
                "role": "checked model" if r["record_id"] in targets else f"parent model (depth {r.get('depth')})",
                "run": r,
                "retraction": r.get("retracted"),
                "parents": [(labels.get(p, "?"), short(p)) for p in r.get("parents") or []],
                "datanets": [
                    {
                        "datanet": d["datanet"],
                        "version": d["version"],
                        "weight": weight_pct(d["weight_ppm"]),
                        "partition": _partition_text(d.get("partition") or {}),
                        "licence": _licence_of(d.get("license")),
                        "root": short(d.get("content_root")),
                        "retraction": d.get("retracted"),
                    }
                    for d in r["datanets"]
                ],
                "steps": [_step_text(s) for s in det.get("preprocessing") or []],
                "code": (code.get("repo"), code.get("commit")) if code else None,
                "ran": None
                if det.get("started_at") is None
                else (_iso(det.get("started_at")), _iso(det.get("ended_at")) or "?"),
                "hyperparameters": _kv(det.get("hyperparameters")),
                "environment": _kv(det.get("environment")),
            }
        )
    return rows


def _license(report: Mapping[str, Any]) -> dict[str, Any]:
    lic = report["license"]
    return {
        "decision": lic.get("decision"),
        "findings": [
            {
                "datanet": f.get("datanet"),
                "version": f.get("version"),
                "reached_via": " → ".join(str(v) for v in f.get("reached_via", [])),
                "licence": f.get("license") if f.get("license") is not None else "unknown terms",
                "use_class": f.get("use_class") or "?",
                "decision": f.get("decision"),
                "clause": f.get("clause"),
                "checks": [(c.get("decision"), c.get("clause")) for c in f.get("checks", [])],
                "retraction": f.get("retraction"),
            }
            for f in lic.get("findings", [])
        ],
        "model_retractions": [
            {
                "model": m.get("model"),
                "reached_via": " → ".join(str(v) for v in m.get("reached_via", [])),
                "decision": m.get("decision"),
                "clause": m.get("clause"),
                "retraction": m.get("retraction"),
            }
            for m in lic.get("model_retractions", [])
        ],
    }


def _obligations(report: Mapping[str, Any]) -> dict[str, Any]:
    lic = report["license"]
    sa = lic.get("share_alike", {})
    return {
        "notices": [(n.get("text"), n.get("datanet"), n.get("license")) for n in lic.get("attribution", [])],
        "share_alike": bool(sa.get("required")),
        "sources": [(s.get("text"), s.get("datanet"), s.get("license")) for s in sa.get("sources", [])],
        "conflict": ", ".join(str(x) for x in sa.get("licenses", [])) if sa.get("conflict") else None,
    }


def _attribution(report: Mapping[str, Any]) -> dict[str, Any]:
    att = report["attribution"]
    datanets = [
        {
            "datanet": d.get("datanet"),
            "version": d.get("version"),
            "bar": f"{max(0.0, min(100.0, int(d.get('ppm', 0)) / 10_000)):.2f}%",
            "pct": pct(int(d.get("ppm", 0))),
            "ppm": f"{int(d.get('ppm', 0)):,}",
            "share": d.get("share"),
            "contributors": [(c.get("account"), c.get("shares")) for c in d.get("contributors", [])],
            "retraction": d.get("retraction"),
        }
        for d in att.get("datanets", [])
    ]
    contributors = [
        {
            "recipient": c.get("recipient"),
            "pct": pct(int(c.get("ppm", 0))),
            "ppm": f"{int(c.get('ppm', 0)):,}",
            "share": c.get("share"),
            "sources": [(s.get("datanet"), s.get("share")) for s in c.get("sources", [])],
        }
        for c in att.get("contributors", [])
    ]
    runs = [
        {"model": r.get("model"), "record": short(r.get("record_id")), "credit": r.get("credit"), "own": r.get("own")}
        for r in att.get("runs", [])
    ]
    dn_total = sum(int(d.get("ppm", 0)) for d in att.get("datanets", []))
    c_total = sum(int(c.get("ppm", 0)) for c in att.get("contributors", []))
    return {
        "parent_share": weight_pct(int(att.get("parent_share_ppm", 0))),
        "datanets": datanets,
        "contributors": contributors,
        "runs": runs,
        "datanet_total": (pct(dn_total), f"{dn_total:,}"),
        "contributor_total": (pct(c_total), f"{c_total:,}"),
    }


def _split(report: Mapping[str, Any]) -> dict[str, Any] | None:
    sp = report.get("split")
    if not sp:
        return None
    amount = int(sp.get("amount") or 0)
    total = int(sp.get("total", 0))
    return {
        "amount": f"{amount:,}",
        "payouts": [
            (
                p.get("recipient"),
                f"{int(p.get('amount', 0)):,}",
                f"{(int(p.get('amount', 0)) / amount * 100) if amount else 0:.4f}%",
            )
            for p in sp.get("payouts", [])
        ],
        "total": f"{total:,}",
        "matches": total == amount,
    }


# ----------------------------------------------------------------------------- lineage graph

_RUN_H, _DN_H, _VGAP = 66, 56, 24
_GAP_DATA, _GAP_TUNE, _MARGIN = 140, 120, 24
_CHAR_W = 8  # generous estimate of one character at 13px in a sans-serif font


def _width(labels: Sequence[str], lo: int = 200, hi: int = 330) -> int:
    """A column wide enough for ``labels`` as shown (made visible), between ``lo`` and ``hi``."""
    return max(lo, min(hi, max((len(visible(s)) for s in labels), default=0) * _CHAR_W + 28))


def _graph(report: Mapping[str, Any]) -> dict[str, Any]:
    """The lineage graph laid out deterministically, for ``graph.svg.j2``.

    Runs are boxes in columns by depth (the checked model on the right, each parent model one column
    further left, a run reached through paths of several lengths placed at the longest); every
    DataNet version is a cylinder in the data column just left of the first (leftmost) run using it,
    coloured by its licence decision. Edges DataNet -> run are labelled with the weight, edges
    parent run -> fine-tuned run are dashed and labelled "fine-tune". Same report, same picture.
    Labels are returned raw: the template makes them visible, escapes and fits them.
    """
    lin = report["lineage"]
    runs: list[Mapping[str, Any]] = list(lin["runs"])
    by_id = {r["record_id"]: r for r in runs}
    order = {r["record_id"]: i for i, r in enumerate(runs)}
    targets = set(lin.get("targets") or [])
    decisions = {(f["datanet_id"], f["version"]): f["decision"] for f in report.get("license", {}).get("findings", [])}

    level = dict.fromkeys(by_id, 0)
    for _ in range(len(runs)):  # longest path from a target; a DAG settles within len(runs) passes
        changed = False
        for r in runs:
            for p in r["parents"]:
                if p in by_id and level[p] < level[r["record_id"]] + 1:
                    level[p] = level[r["record_id"]] + 1
                    changed = True
        if not changed:
            break
    deepest = max(level.values(), default=0)
    slot = {rid: deepest - lv for rid, lv in level.items()}

    run_cols: list[list[str]] = [[] for _ in range(deepest + 1)]
    for r in runs:
        run_cols[slot[r["record_id"]]].append(r["record_id"])
    dn_cols: list[list[tuple[str, int]]] = [[] for _ in range(deepest + 1)]
    dns: dict[tuple[str, int], Mapping[str, Any]] = {}
    for r in sorted(runs, key=lambda r: (slot[r["record_id"]], order[r["record_id"]])):
        for d in r["datanets"]:
            key = (d["datanet_id"], d["version"])
            if key not in dns:
                dns[key] = d
                dn_cols[slot[r["record_id"]]].append(key)

    def run_label(r: Mapping[str, Any]) -> str:
        return f"{r['model']}@{r['version']}"

    def dn_label(d: Mapping[str, Any]) -> str:
        return f"{d['datanet']}@{d['version']}"

    # x: per slot an optional data column (left out when empty), then the run column; widths per column
    run_x: list[int] = []
    run_w: list[int] = []
    dn_x: list[int] = []
    dn_w: list[int] = []
    x = _MARGIN
    for k in range(len(run_cols)):
        dn_w.append(
            _width(
                [dn_label(dns[key]) for key in dn_cols[k]]
                + [f"{_licence_of(dns[key].get('license'))} · needs-review" for key in dn_cols[k]]
            )
            if dn_cols[k]
            else 0
        )
        dn_x.append(x)
        x += dn_w[k] + _GAP_DATA if dn_cols[k] else 0
        run_w.append(_width([run_label(by_id[rid]) for rid in run_cols[k]] + ["record 0x00000000…0000"]))
        run_x.append(x)
        x += run_w[k] + _GAP_TUNE
    width = x - _GAP_TUNE + _MARGIN

    def stack(n: int, h: int) -> int:
        return n * h + max(0, n - 1) * _VGAP

    # Vertical positions relative to 0, shifted into the canvas at the end. Run columns are centred;
    # a data column keeps a free corridor for the fine-tune edges that cross it (half of its DataNet
    # versions above the corridor, the rest below), so no edge runs through a DataNet.
    pos: dict[Any, tuple[int, int, int, int]] = {}  # node -> x, y, w, h
    for k, col in enumerate(run_cols):
        y = -stack(len(col), _RUN_H) // 2
        for rid in col:
            pos[("run", rid)] = (run_x[k], y, run_w[k], _RUN_H)
            y += _RUN_H + _VGAP
    for k, dn_col in enumerate(dn_cols):
        spans = [
            (pos[("run", p)][1], pos[("run", r["record_id"])][1])
            for r in runs
            for p in r["parents"]
            if p in by_id and slot[p] < k <= slot[r["record_id"]]
        ]
        if spans:
            lo, hi = min(min(a) for a in spans) - _VGAP // 2, max(max(a) for a in spans) + _RUN_H + _VGAP // 2
            above = (len(dn_col) + 1) // 2
            ys = [lo - stack(above, _DN_H) + i * (_DN_H + _VGAP) for i in range(above)]
            ys += [hi + i * (_DN_H + _VGAP) for i in range(len(dn_col) - above)]
        else:
            top = -stack(len(dn_col), _DN_H) // 2
            ys = [top + i * (_DN_H + _VGAP) for i in range(len(dn_col))]
        for key, y in zip(dn_col, ys, strict=True):
            pos[("dn", key)] = (dn_x[k], y, dn_w[k], _DN_H)
    top = min((y for _, y, _, _ in pos.values()), default=0)
    bottom = max((y + h for _, y, _, h in pos.values()), default=0)
    pos = {node: (x, y - top + _MARGIN, w, h) for node, (x, y, w, h) in pos.items()}
    height = bottom - top + 2 * _MARGIN

    # edges: (source node, target run, label, kind)
    edges: list[tuple[Any, Any, str, str]] = []
    for r in runs:
        dst = ("run", r["record_id"])
        edges.extend(
            (("dn", (d["datanet_id"], d["version"])), dst, weight_pct(d["weight_ppm"]), "data") for d in r["datanets"]
        )
        edges.extend((("run", p), dst, "fine-tune", "tune") for p in r["parents"] if p in by_id)

    def cy(node: Any) -> float:
        _, y, _, h = pos[node]
        return y + h / 2

    in_port: dict[int, float] = {}
    out_port: dict[int, float] = {}
    for node in pos:
        incoming = sorted((i for i, ed in enumerate(edges) if ed[1] == node), key=lambda i: (cy(edges[i][0]), i))
        outgoing = sorted((i for i, ed in enumerate(edges) if ed[0] == node), key=lambda i: (cy(edges[i][1]), i))
        _, y, _, h = pos[node]
        for n, i in enumerate(incoming):
            in_port[i] = y + h * (n + 1) / (len(incoming) + 1)
        for n, i in enumerate(outgoing):
            out_port[i] = y + h * (n + 1) / (len(outgoing) + 1)

    edge_views = []
    for i, (src, dst, label, kind) in enumerate(edges):
        sx, _, sw, _ = pos[src]
        dx = pos[dst][0]
        x1, y1, x2, y2 = sx + sw, out_port[i], dx - 2, in_port[i]
        bend = (x2 - x1) / 2
        # label at the middle of the curve, or, for an edge spanning several columns, in its last gap
        lx = max((x1 + x2) / 2, x2 - (_GAP_DATA if kind == "data" else _GAP_TUNE) / 2)
        lo_t, hi_t = 0.0, 1.0
        for _ in range(40):  # x(t) of this cubic is monotonic: bisect for x(t) = lx
            t = (lo_t + hi_t) / 2
            if 3 * (1 - t) ** 2 * t * bend + 3 * (1 - t) * t**2 * (x2 - x1 - bend) + t**3 * (x2 - x1) < lx - x1:
                lo_t = t
            else:
                hi_t = t
        t = (lo_t + hi_t) / 2
        ly = (1 - t) ** 3 * y1 + 3 * (1 - t) ** 2 * t * y1 + 3 * (1 - t) * t**2 * y2 + t**3 * y2
        edge_views.append(
            {
                "kind": kind,
                "d": f"M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}",
                "label": label,
                "lx": f"{lx:.1f}",
                "ly": f"{ly + 4:.1f}",
            }
        )

    datanets = []
    for key in [k for col in dn_cols for k in col]:
        d = dns[key]
        x, y, w, h = pos[("dn", key)]
        decision = decisions.get(key, NEEDS_REVIEW)
        ry = 7
        datanets.append(
            {
                "label": dn_label(d),
                "licence": _licence_of(d.get("license")),
                "decision": decision,
                "class": decision_class(decision),
                "content_root": d.get("content_root"),
                "w": w,
                "box": f"M{x},{y + ry} a{w / 2},{ry} 0 0 1 {w},0 v{h - 2 * ry} a{w / 2},{ry} 0 0 1 {-w},0 z",
                "rim": f"M{x},{y + ry} a{w / 2},{ry} 0 0 0 {w},0",
                "tx": x + 12,
                "ty1": y + ry + 19,
                "ty2": y + ry + 37,
            }
        )
    run_views = []
    for rid in [r for col in run_cols for r in col]:
        r = by_id[rid]
        x, y, w, h = pos[("run", rid)]
        run_views.append(
            {
                "label": run_label(r),
                "record_id": rid,
                "short": short(rid),
                "block": r.get("block"),
                "target": rid in targets,
                "role": "target" if rid in targets else "parent model",
                "x": x,
                "y": y,
                "w": w,
                "h": h,
                "tx": x + 12,
                "ty1": y + 21,
                "ty2": y + 39,
                "ty3": y + 56,
            }
        )
    return {
        "model": report.get("model"),
        "width": width,
        "height": height,
        "min_width": int(width * 0.6),
        "edges": edge_views,
        "datanets": datanets,
        "runs": run_views,
    }
