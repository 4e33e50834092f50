"""Audit report of a model version: lineage, licence verdict, attribution and reward split, as one
JSON document and one self-contained HTML page.

Pure: no I/O except :func:`write_report`, no clock (the check time is an argument), no web3.
:func:`render_html` reads only the JSON-able report dict, so ``audit.json`` can be re-rendered
later (``render_html(json.load(f))``) into the same page. Every string that comes from the chain
(model and DataNet names, versions, licence fields, notices, preprocessing parameters, addresses...)
is HTML-escaped; the page has no scripts, no external fonts, styles or images, and a
Content-Security-Policy that forbids loading anything.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from provenance_ledger.core.attribution import PARENT_SHARE_PPM, attribution, split
from provenance_ledger.core.licensing import ALLOWED, BLOCKED, NEEDS_REVIEW, check_use, rules_table
from provenance_ledger.core.lineage import Lineage

REPORT_FORMAT = "provenance-ledger/audit-report/1"
"""The ``format`` field of every report."""

JSON_NAME = "audit.json"
HTML_NAME = "audit.html"


def _iso(ts: int | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def build_report(
    lineage: Lineage,
    *,
    use: str,
    domain: str | None = None,
    at_time: int,
    amount: int | None = None,
    parent_share_ppm: int = PARENT_SHARE_PPM,
    source: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The audit of ``lineage``'s model version for ``use`` in ``domain`` at Unix time ``at_time``.

    JSON-able: the lineage (:meth:`Lineage.to_dict`), the licence verdict (:meth:`Verdict.to_dict`),
    the attribution (:meth:`Attribution.to_dict`) with ``parent_share_ppm``, and, if ``amount`` is
    given, its exact split. ``source`` (optional, e.g. chain id and registry address) is copied as is.
    Nothing reads the clock: the same inputs give the same report.
    """
    verdict = check_use(lineage, use=use, domain=domain, at_time=at_time)
    att = attribution(lineage, parent_share_ppm=parent_share_ppm)
    payout = None if amount is None else split(att, amount)
    lin = lineage.to_dict()
    return {
        "format": REPORT_FORMAT,
        "model": f"{lineage.model_name}@{lineage.model_version}",
        "generated_for": {
            "use": verdict.use,
            "domain": verdict.domain,
            "at_time": at_time,
            "at_time_utc": _iso(at_time),
            "amount": amount,
            "parent_share_ppm": parent_share_ppm,
        },
        "source": None if source is None else dict(source),
        "summary": {
            "decision": verdict.decision,
            "clause": verdict.clause,
            "runs": len(lin["runs"]),
            "datanet_versions": len(att.datanets),
            "recipients": len(att.contributors),
            "attribution_notices": len(verdict.notice_texts),
            "share_alike": verdict.share_alike_required,
        },
        "lineage": lin,
        "license": verdict.to_dict(),
        "attribution": att.to_dict(),
        "split": None
        if payout is None
        else {
            "amount": amount,
            "total": sum(a for _, a in payout),
            "payouts": [{"recipient": r, "amount": a} for r, a in payout],
        },
        "rules": rules_table(),
    }


def write_report(report: Mapping[str, Any], out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``audit.json`` (sorted keys, indented) and ``audit.html`` into ``out_dir`` (created if
    needed); returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out / JSON_NAME, out / HTML_NAME
    json_path.write_text(json.dumps(report, sort_keys=True, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    html_path.write_text(render_html(report), encoding="utf-8")
    return json_path, html_path


# ----------------------------------------------------------------------------- helpers


def e(value: object) -> str:
    """HTML-escape anything (None becomes the empty string)."""
    return html.escape("" if value is None else str(value), quote=True)


def pct(ppm: int) -> str:
    """Parts per million as a percentage with four decimals (as `provenance attribution` prints)."""
    return f"{ppm / 10_000:.4f}%"


def weight_pct(ppm: int) -> str:
    return f"{ppm / 10_000:.4g}%"


def short(h: str | None) -> str:
    h = h or ""
    return h if len(h) <= 16 else h[:10] + "…" + h[-4:]


def _decision_class(decision: object) -> str:
    return {ALLOWED: "allowed", NEEDS_REVIEW: "review", BLOCKED: "blocked"}.get(str(decision), "review")


def badge(decision: object) -> str:
    return f'<span class="badge {_decision_class(decision)}">{e(decision)}</span>'


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


def _kv(data: object) -> str:
    if not isinstance(data, Mapping) or not data:
        return '<span class="muted">none</span>'
    return "<br>".join(f"{e(k)}={e(_json_value(v))}" for k, v in sorted(data.items()))


def _inline_md(text: str) -> str:
    out = e(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)


def _markdown(md: str) -> str:
    """The few markdown constructs of the licence rules: paragraphs and pipe tables."""
    out = []
    for block in re.split(r"\n\s*\n", md.strip()):
        lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
        paragraph = [ln for ln in lines if not ln.startswith("|")]
        rows = [ln for ln in lines if ln.startswith("|")]
        if paragraph:
            out.append(f"<p>{_inline_md(' '.join(paragraph))}</p>")
        if rows:
            cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows]
            head, body = cells[0], [c for c in cells[1:] if not all(set(x) <= set("-: ") for x in c)]
            out.append(
                "<table><thead><tr>"
                + "".join(f"<th>{_inline_md(c)}</th>" for c in head)
                + "</tr></thead><tbody>"
                + "".join("<tr>" + "".join(f"<td>{_inline_md(c)}</td>" for c in r) + "</tr>" for r in body)
                + "</tbody></table>"
            )
    return "\n".join(out)


# ----------------------------------------------------------------------------- lineage graph

_RUN_H, _DN_H, _VGAP = 66, 56, 24
_GAP_DATA, _GAP_TUNE, _MARGIN = 140, 120, 24
_CHAR_W = 8  # generous estimate of one character at 13px in a sans-serif font


def _fit(text: str, width: int) -> str:
    n = max(4, (width - 24) // _CHAR_W)
    return text if len(text) <= n else text[: n - 1] + "…"


def _width(labels: Sequence[str], lo: int = 200, hi: int = 330) -> int:
    return max(lo, min(hi, max((len(s) for s in labels), default=0) * _CHAR_W + 28))


def graph_svg(report: Mapping[str, Any]) -> str:
    """The lineage as an inline SVG with a deterministic layout.

    Runs are boxes in columns by depth (the checked model on the right, each parent model one column
    further left, a run reached through paths of several lengths placed at the longest); every
    DataNet version is a cylinder in the data column just left of the first (leftmost) run using it,
    coloured by its licence decision. Edges DataNet -> run are labelled with the weight, edges
    parent run -> fine-tuned run are dashed and labelled "fine-tune". Same report, same picture.
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
    for k, col in enumerate(dn_cols):
        x = dn_x[k]
        spans = [
            (pos[("run", p)][1], pos[("run", r["record_id"])][1])
            for r in runs
            for p in r["parents"]
            if p in by_id and slot[p] < k <= slot[r["record_id"]]
        ]
        if spans:
            lo, hi = min(min(a) for a in spans) - _VGAP // 2, max(max(a) for a in spans) + _RUN_H + _VGAP // 2
            above = (len(col) + 1) // 2
            ys = [lo - stack(above, _DN_H) + i * (_DN_H + _VGAP) for i in range(above)]
            ys += [hi + i * (_DN_H + _VGAP) for i in range(len(col) - above)]
        else:
            top = -stack(len(col), _DN_H) // 2
            ys = [top + i * (_DN_H + _VGAP) for i in range(len(col))]
        for key, y in zip(col, ys, strict=True):
            pos[("dn", key)] = (x, y, dn_w[k], _DN_H)
    top = min((y for _, y, _, _ in pos.values()), default=0)
    bottom = max((y + h for _, y, _, h in pos.values()), default=0)
    pos = {node: (x, y - top + _MARGIN, w, h) for node, (x, y, w, h) in pos.items()}
    height = bottom - top + 2 * _MARGIN

    # edges: (source node, target run, label, kind)
    edges: list[tuple[Any, Any, str, str]] = []
    for r in runs:
        dst = ("run", r["record_id"])
        for d in r["datanets"]:
            edges.append((("dn", (d["datanet_id"], d["version"])), dst, weight_pct(d["weight_ppm"]), "data"))
        for p in r["parents"]:
            if p in by_id:
                edges.append((("run", p), dst, "fine-tune", "tune"))

    def cy(node: Any) -> float:
        x, y, w, h = pos[node]
        return y + h / 2

    in_port: dict[int, float] = {}
    out_port: dict[int, float] = {}
    for node in pos:
        incoming = sorted((i for i, ed in enumerate(edges) if ed[1] == node), key=lambda i: (cy(edges[i][0]), i))
        outgoing = sorted((i for i, ed in enumerate(edges) if ed[0] == node), key=lambda i: (cy(edges[i][1]), i))
        x, y, w, h = pos[node]
        for n, i in enumerate(incoming):
            in_port[i] = y + h * (n + 1) / (len(incoming) + 1)
        for n, i in enumerate(outgoing):
            out_port[i] = y + h * (n + 1) / (len(outgoing) + 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" role="img" width="{width}" height="{height}" '
        f'style="min-width:{int(width * 0.6)}px" '
        f'viewBox="0 0 {width} {height}" aria-label="lineage graph of {e(report.get("model"))}">',
        "<defs>"
        '<marker id="arrow-data" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#6b7280"/></marker>'
        '<marker id="arrow-tune" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#7c3aed"/></marker>'
        "</defs>",
    ]
    labels = []
    for i, (src, dst, label, kind) in enumerate(edges):
        sx, sy, sw, _ = pos[src]
        dx, _, _, _ = pos[dst]
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
        parts.append(
            f'<path class="edge {kind}" d="M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} '
            f'{x2:.1f},{y2:.1f}" marker-end="url(#arrow-{kind})"/>'
        )
        labels.append(
            f'<text class="elabel {kind}" x="{lx:.1f}" y="{ly + 4:.1f}" text-anchor="middle">{e(label)}</text>'
        )
    for key in [k for col in dn_cols for k in col]:
        d = dns[key]
        x, y, w, h = pos[("dn", key)]
        decision = decisions.get(key, NEEDS_REVIEW)
        ry = 7
        label = dn_label(d)
        parts.append(
            f'<g class="node datanet {_decision_class(decision)}" data-kind="datanet" data-label="{e(label)}">'
            f"<title>{e(label)} · {e(_licence_of(d.get('license')))} · {e(decision)} · content root {e(d.get('content_root'))}</title>"
            f'<path class="box" d="M{x},{y + ry} a{w / 2},{ry} 0 0 1 {w},0 v{h - 2 * ry} a{w / 2},{ry} 0 0 1 {-w},0 z"/>'
            f'<path class="rim" d="M{x},{y + ry} a{w / 2},{ry} 0 0 0 {w},0"/>'
            f'<text class="t1" x="{x + 12}" y="{y + ry + 19}">{e(_fit(label, w))}</text>'
            f'<text class="t2" x="{x + 12}" y="{y + ry + 37}">{e(_fit(_licence_of(d.get("license")) + " · " + str(decision), w))}</text>'
            "</g>"
        )
    for rid in [r for col in run_cols for r in col]:
        r = by_id[rid]
        x, y, w, h = pos[("run", rid)]
        label = run_label(r)
        role = "target" if rid in targets else "parent model"
        parts.append(
            f'<g class="node run{" target" if rid in targets else ""}" data-kind="run" data-label="{e(label)}" data-record="{e(rid)}">'
            f"<title>{e(label)} · record {e(rid)} · block {e(r.get('block'))}</title>"
            f'<rect class="box" x="{x}" y="{y}" width="{w}" height="{h}" rx="8"/>'
            f'<text class="t1" x="{x + 12}" y="{y + 21}">{e(_fit(label, w))}</text>'
            f'<text class="t2 mono" x="{x + 12}" y="{y + 39}">record {e(short(rid))}</text>'
            f'<text class="t2" x="{x + 12}" y="{y + 56}">block {e(r.get("block"))} · {role}</text>'
            "</g>"
        )
    parts.extend(labels)  # on top of boxes and edges
    parts.append("</svg>")
    return "".join(parts)


# ----------------------------------------------------------------------------- page

_CSS = """
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#f6f8fa;--ok:#1a7f37;--okbg:#dafbe1;--rv:#9a6700;--rvbg:#fff8c5;
--bl:#cf222e;--blbg:#ffebe9;--tune:#7c3aed;--accent:#0969da}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans","DejaVu Sans",sans-serif;color:var(--fg);background:#fff}
main{max-width:1320px;margin:0 auto;padding:24px 28px 48px}
header.top{display:flex;flex-wrap:wrap;align-items:center;gap:14px 24px;padding:20px 24px;border:1px solid var(--line);border-radius:12px;background:var(--bg)}
header.top h1{margin:0;font-size:26px;font-weight:650}
header.top .sub{flex-basis:100%;color:var(--muted)}
.kicker{font-size:12px;text-transform:uppercase;letter-spacing:.08em;color:var(--muted);margin:0 0 2px}
.badge{display:inline-block;padding:2px 10px;border-radius:999px;font-weight:650;font-size:13px;border:1px solid transparent;white-space:nowrap}
.badge.allowed{color:var(--ok);background:var(--okbg);border-color:#4ac26b}
.badge.review{color:var(--rv);background:var(--rvbg);border-color:#d4a72c}
.badge.blocked{color:var(--bl);background:var(--blbg);border-color:#ff8182}
.verdict .badge{font-size:20px;padding:4px 18px}
.stats{display:flex;flex-wrap:wrap;gap:10px;margin:16px 0 0;padding:0;list-style:none}
.stats li{border:1px solid var(--line);border-radius:8px;padding:6px 12px;background:#fff}
.stats b{font-size:18px;margin-right:4px}
nav{margin:14px 0 0;color:var(--muted)} nav a{color:var(--accent);margin-right:14px;text-decoration:none}
section{margin-top:32px} h2{font-size:19px;margin:0 0 10px;padding-bottom:6px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:18px 0 8px}
table{border-collapse:collapse;width:100%;margin:6px 0 4px;font-size:13px}
th,td{border:1px solid var(--line);padding:6px 9px;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600} td.num,th.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
tr.total td{font-weight:650;background:var(--bg)}
.mono,code{font-family:"DejaVu Sans Mono","Liberation Mono",Menlo,Consolas,monospace;font-size:12px}
.hash{font-family:"DejaVu Sans Mono","Liberation Mono",Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
.muted{color:var(--muted)} .small{font-size:12px}
ul.plain{margin:4px 0;padding-left:18px}
.bar{height:8px;background:#e6ebf1;border-radius:4px;min-width:90px;overflow:hidden}
.bar span{display:block;height:100%;background:var(--accent)}
.note{padding:10px 14px;border-radius:8px;border:1px solid var(--line);background:var(--bg);margin:8px 0}
.note.warn{border-color:#d4a72c;background:var(--rvbg)}
.graphbox{border:1px solid var(--line);border-radius:12px;padding:8px;overflow-x:auto;background:#fff}
svg.graph{display:block;max-width:100%;height:auto;margin:0 auto;font-family:system-ui,"Liberation Sans","DejaVu Sans",sans-serif}
svg .edge{fill:none;stroke:#8c959f;stroke-width:1.6}
svg .edge.tune{stroke:var(--tune);stroke-width:2;stroke-dasharray:7 5}
svg .elabel{font-size:12px;font-weight:600;fill:#424a53;paint-order:stroke;stroke:#fff;stroke-width:5px;stroke-linejoin:round}
svg .elabel.tune{fill:var(--tune)}
svg .node .box{stroke-width:1.6}
svg .node.run .box{fill:#eef4ff;stroke:#54aeff}
svg .node.run.target .box{fill:#ddeaff;stroke:var(--accent);stroke-width:2.6}
svg .node.datanet .box{fill:#fff}
svg .node .rim{fill:none;stroke-width:1.4}
svg .node.datanet.allowed .box,svg .node.datanet.allowed .rim{stroke:var(--ok)} svg .node.datanet.allowed .box{fill:var(--okbg)}
svg .node.datanet.review .box,svg .node.datanet.review .rim{stroke:#bf8700} svg .node.datanet.review .box{fill:var(--rvbg)}
svg .node.datanet.blocked .box,svg .node.datanet.blocked .rim{stroke:var(--bl)} svg .node.datanet.blocked .box{fill:var(--blbg)}
svg .t1{font-size:13px;font-weight:650;fill:var(--fg)} svg .t2{font-size:11.5px;fill:var(--muted)}
svg .mono{font-family:"DejaVu Sans Mono","Liberation Mono",monospace;font-size:11px}
.legend{display:flex;flex-wrap:wrap;gap:16px;margin:8px 4px 0;font-size:12px;color:var(--muted)}
.legend span::before{content:"";display:inline-block;width:14px;height:10px;margin-right:5px;border:1.6px solid;border-radius:3px;vertical-align:-1px}
.legend .lg-target::before{background:#ddeaff;border-color:var(--accent)} .legend .lg-run::before{background:#eef4ff;border-color:#54aeff}
.legend .lg-allowed::before{background:var(--okbg);border-color:var(--ok)} .legend .lg-review::before{background:var(--rvbg);border-color:#bf8700}
.legend .lg-blocked::before{background:var(--blbg);border-color:var(--bl)}
.legend .lg-tune::before{height:0;border-width:2px 0 0;border-style:dashed;border-color:var(--tune);border-radius:0}
details.rules{margin-top:10px} details.rules summary{cursor:pointer;color:var(--accent)}
footer{margin-top:36px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);padding-top:10px}
"""


def _table(
    head: Sequence[str], rows: Sequence[Sequence[str]], *, num: Sequence[int] = (), total: str | None = None
) -> str:
    """A table; cells are already HTML. ``num`` = right-aligned columns; ``total`` = a final row's HTML."""
    th = "".join(f"<th{' class=num' if i in num else ''}>{e(h)}</th>" for i, h in enumerate(head))
    body = "".join(
        "<tr>" + "".join(f"<td{' class=num' if i in num else ''}>{c}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}{total or ''}</tbody></table>"


def _header(report: Mapping[str, Any]) -> str:
    gen = report.get("generated_for", {})
    lic = report.get("license", {})
    summ = report.get("summary", {})
    src = report.get("source") or {}
    where = f" in domain <b>{e(gen.get('domain'))}</b>" if gen.get("domain") else " (no domain given)"
    source = ""
    if src:
        source = " · read from " + ", ".join(f"{e(k)} <span class=mono>{e(v)}</span>" for k, v in sorted(src.items()))
    stats = [
        (summ.get("runs"), "training runs"),
        (summ.get("datanet_versions"), "DataNet versions"),
        (summ.get("recipients"), "recipients"),
        (summ.get("attribution_notices"), "distinct attribution notices owed"),
    ]
    return (
        '<header class="top"><div><p class="kicker">Provenance audit</p>'
        f'<h1 id="model">{e(report.get("model"))}</h1></div>'
        f'<div class="verdict" id="verdict">{badge(lic.get("decision"))}</div>'
        f'<div class="sub">{e(gen.get("use"))} use{where}, judged at {e(gen.get("at_time_utc"))} '
        f'(<span class="mono">{e(gen.get("at_time"))}</span>){source}'
        + (f"<br>Deciding clause: <b>{e(lic.get('clause'))}</b>" if lic.get("clause") else "")
        + "</div></header>"
        + '<ul class="stats">'
        + "".join(f"<li><b>{e(n)}</b>{e(what)}</li>" for n, what in stats)
        + f"<li><b>{'yes' if summ.get('share_alike') else 'no'}</b>share-alike</li></ul>"
        + '<nav><a href="#graph">Lineage graph</a><a href="#runs">Training runs</a><a href="#license">Licence</a>'
        '<a href="#obligations">Obligations</a><a href="#attribution">Attribution</a>'
        + ('<a href="#split">Reward split</a>' if report.get("split") else "")
        + "</nav>"
    )


def _graph_section(report: Mapping[str, Any]) -> str:
    return (
        '<section id="graph"><h2>Lineage graph</h2><div class="graphbox">'
        + graph_svg(report)
        + '</div><div class="legend"><span class="lg-target">checked model version</span>'
        '<span class="lg-run">parent model version</span><span class="lg-allowed">DataNet version: allowed</span>'
        '<span class="lg-review">needs review</span><span class="lg-blocked">blocked</span>'
        '<span class="lg-tune">fine-tuned from (parent → child)</span></div>'
        '<p class="muted small">Edges from DataNet versions carry the weight of that version in the run’s '
        "training mixture; every node was re-hashed against its on-chain record.</p></section>"
    )


def _runs_section(report: Mapping[str, Any]) -> str:
    lin = report["lineage"]
    labels = {r["record_id"]: f"{r['model']}@{r['version']}" for r in lin["runs"]}
    targets = set(lin.get("targets") or [])
    rows = []
    for r in lin["runs"]:
        det = r.get("details") or {}
        role = "checked model" if r["record_id"] in targets else f"parent model (depth {e(r.get('depth'))})"
        record = [
            f'<div class="hash">{e(r["record_id"])}</div>',
            f"block <b>{e(r.get('block'))}</b>",
            f'tx <span class="hash">{e(r.get("tx_hash"))}</span>',
            f'recorder <span class="hash">{e(r.get("recorder"))}</span>',
            f'weights <span class="hash">{e(r.get("weights_digest"))}</span>',
        ]
        if r.get("anchor_root"):
            record.append(f'anchored under <span class="hash">{e(r["anchor_root"])}</span>')
        if r.get("parents"):
            record.append(
                "fine-tuned from "
                + ", ".join(
                    f'<b>{e(labels.get(p, "?"))}</b> <span class="mono">{e(short(p))}</span>' for p in r["parents"]
                )
            )
        datanets = "".join(
            f"<li><b>{e(d['datanet'])}@{e(d['version'])}</b> · weight {e(weight_pct(d['weight_ppm']))}"
            f'<br><span class="small">partition: {e(_partition_text(d.get("partition") or {}))}</span>'
            f'<br><span class="small muted">licence {e(_licence_of(d.get("license")))} · root '
            f'<span class="mono">{e(short(d.get("content_root")))}</span></span></li>'
            for d in r["datanets"]
        )
        steps = det.get("preprocessing") or []
        pre = (
            "<ol class=plain>" + "".join(f'<li class="mono">{e(_step_text(s))}</li>' for s in steps) + "</ol>"
            if steps
            else '<span class="muted">none recorded</span>'
        )
        code = det.get("code") or {}
        other = []
        if code:
            other.append(f'code <span class="mono">{e(code.get("repo"))} @ {e(code.get("commit"))}</span>')
        if det.get("started_at") is not None:
            other.append(
                f"ran {e(_iso(det.get('started_at')))} → {e(_iso(det.get('ended_at')) if det.get('ended_at') is not None else '?')}"
            )
        other.append(
            '<span class="muted">hyperparameters</span><br><span class="mono">'
            + _kv(det.get("hyperparameters"))
            + "</span>"
        )
        other.append(
            '<span class="muted">environment</span><br><span class="mono">' + _kv(det.get("environment")) + "</span>"
        )
        rows.append(
            [
                f'<b>{e(labels[r["record_id"]])}</b><br><span class="small muted">{role}</span>',
                "<br>".join(record),
                f"<ul class=plain>{datanets}</ul>",
                pre,
                "<br>".join(other),
            ]
        )
    return (
        '<section id="runs"><h2>Training runs</h2>'
        + _table(
            [
                "model version",
                "on-chain record",
                "DataNet versions (weight, partition)",
                "preprocessing",
                "code, parameters, environment",
            ],
            rows,
        )
        + "</section>"
    )


def _license_section(report: Mapping[str, Any]) -> str:
    lic = report["license"]
    rows = []
    for f in lic.get("findings", []):
        checks = "".join(f"<li>{e(c.get('decision'))}: {e(c.get('clause'))}</li>" for c in f.get("checks", []))
        rows.append(
            [
                f"<b>{e(f.get('datanet'))}@{e(f.get('version'))}</b>",
                " → ".join(e(v) for v in f.get("reached_via", [])),
                e(f.get("license") if f.get("license") is not None else "unknown terms"),
                e(f.get("use_class") or "?"),
                badge(f.get("decision")),
                f"{e(f.get('clause'))}<ul class='plain small muted'>{checks}</ul>",
            ]
        )
    gen = report.get("generated_for", {})
    return (
        f'<section id="license"><h2>Licence findings: {e(gen.get("use"))} use</h2>'
        + f"<p>Verdict {badge(lic.get('decision'))} — the most restrictive terms across the transitive lineage win; "
        "unknown terms need review.</p>"
        + _table(
            ["DataNet version", "reached via", "licence", "use class", "decision", "clause (and every check)"], rows
        )
        + '<details class="rules"><summary>Rules applied</summary>'
        + _markdown(str(report.get("rules") or ""))
        + "</details></section>"
    )


def _obligations_section(report: Mapping[str, Any]) -> str:
    lic = report["license"]
    notices = lic.get("attribution", [])
    sa = lic.get("share_alike", {})
    out = ['<section id="obligations"><h2>Obligations</h2><h3>Attribution notices owed</h3>']
    if notices:
        out.append(
            _table(
                ["notice", "owed because of", "licence"],
                [[e(n.get("text")), e(n.get("datanet")), e(n.get("license"))] for n in notices],
            )
        )
    else:
        out.append('<p class="muted">No DataNet version in the lineage requires attribution.</p>')
    out.append("<h3>Share-alike</h3>")
    if sa.get("required"):
        out.append(
            _table(
                ["requirement", "from", "licence"],
                [[e(s.get("text")), e(s.get("datanet")), e(s.get("license"))] for s in sa.get("sources", [])],
            )
        )
        if sa.get("conflict"):
            out.append(
                '<div class="note warn">Several distinct share-alike licences apply ('
                + ", ".join(e(x) for x in sa.get("licenses", []))
                + "); they may not be compatible with each other.</div>"
            )
    else:
        out.append('<p class="muted">No share-alike obligation.</p>')
    out.append("</section>")
    return "".join(out)


def _attribution_section(report: Mapping[str, Any]) -> str:
    att = report["attribution"]
    dn_rows = [
        [
            f"<b>{e(d.get('datanet'))}@{e(d.get('version'))}</b>",
            f'<div class="bar"><span style="width:{max(0.0, min(100.0, int(d.get("ppm", 0)) / 10_000)):.2f}%"></span></div>',
            e(pct(int(d.get("ppm", 0)))),
            e(f"{int(d.get('ppm', 0)):,}"),
            f'<span class="mono">{e(d.get("share"))}</span>',
            "<br>".join(
                f'<span class="hash">{e(c.get("account"))}</span> × {e(c.get("shares"))}'
                for c in d.get("contributors", [])
            )
            or '<span class="muted">none (unassigned)</span>',
        ]
        for d in att.get("datanets", [])
    ]
    c_rows = [
        [
            f'<span class="hash">{e(c.get("recipient"))}</span>',
            e(pct(int(c.get("ppm", 0)))),
            e(f"{int(c.get('ppm', 0)):,}"),
            f'<span class="mono">{e(c.get("share"))}</span>',
            "<br>".join(
                f'{e(s.get("datanet"))}: <span class="mono">{e(s.get("share"))}</span>' for s in c.get("sources", [])
            ),
        ]
        for c in att.get("contributors", [])
    ]
    run_rows = [
        [
            f"<b>{e(r.get('model'))}</b>",
            f'<span class="mono">{e(short(r.get("record_id")))}</span>',
            f'<span class="mono">{e(r.get("credit"))}</span>',
            f'<span class="mono">{e(r.get("own"))}</span>',
        ]
        for r in att.get("runs", [])
    ]
    parent_share = int(att.get("parent_share_ppm", 0))
    dn_total = sum(int(d.get("ppm", 0)) for d in att.get("datanets", []))
    c_total = sum(int(c.get("ppm", 0)) for c in att.get("contributors", []))
    return (
        '<section id="attribution"><h2>Attribution</h2>'
        f"<p>Credit 1 flows from the model down its lineage; a fine-tune passes {e(weight_pct(parent_share))} of its credit "
        "to its parent models and splits the rest among its own DataNet versions by weight. Exact shares are fractions; "
        "percentages and parts per million are rounded by largest remainder and sum to exactly 100%.</p>"
        "<h3>Per DataNet version</h3>"
        + _table(
            ["DataNet version", "", "share", "ppm", "exact", "contributors × shares"],
            dn_rows,
            num=(2, 3),
            total=f'<tr class="total"><td>total</td><td></td><td class=num>{e(pct(dn_total))}</td>'
            f"<td class=num>{e(format(dn_total, ','))}</td><td></td><td></td></tr>",
        )
        + "<h3>Per contributor</h3>"
        + _table(
            ["recipient", "share", "ppm", "exact", "from"],
            c_rows,
            num=(1, 2),
            total=f'<tr class="total"><td>total</td><td class=num>{e(pct(c_total))}</td>'
            f"<td class=num>{e(format(c_total, ','))}</td><td></td><td></td></tr>",
        )
        + "<h3>Credit by run</h3>"
        + _table(["model version", "record", "credit received", "kept for its own DataNets"], run_rows)
        + "</section>"
    )


def _split_section(report: Mapping[str, Any]) -> str:
    sp = report.get("split")
    if not sp:
        return ""
    amount = int(sp.get("amount") or 0)
    rows = [
        [
            f'<span class="hash">{e(p.get("recipient"))}</span>',
            e(f"{int(p.get('amount', 0)):,}"),
            e(f"{(int(p.get('amount', 0)) / amount * 100) if amount else 0:.4f}%"),
        ]
        for p in sp.get("payouts", [])
    ]
    total = int(sp.get("total", 0))
    return (
        f'<section id="split"><h2>Reward split of {e(f"{amount:,}")} units</h2>'
        + _table(
            ["recipient", "units", "of the amount"],
            rows,
            num=(1, 2),
            total=f'<tr class="total"><td>total</td><td class=num id="split-total">{e(f"{total:,}")}</td>'
            f"<td class=num>{'= the amount' if total == amount else 'MISMATCH'}</td></tr>",
        )
        + '<p class="muted small">Exact integers (largest remainder over the exact shares); they sum to the amount.</p></section>'
    )


def render_html(report: Mapping[str, Any]) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG; no scripts, no network)."""
    gen = report.get("generated_for", {})
    title = f"Audit of {report.get('model')}: {report.get('license', {}).get('decision')}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="{e(report.get("format"))}">'
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body><main>"
        + _header(report)
        + _graph_section(report)
        + _runs_section(report)
        + _license_section(report)
        + _obligations_section(report)
        + _attribution_section(report)
        + _split_section(report)
        + f"<footer>Report {e(report.get('format'))} for {e(report.get('model'))}, {e(gen.get('use'))} use at Unix time "
        f"{e(gen.get('at_time'))}. Everything above was rebuilt from on-chain event logs and each record was checked "
        "against its on-chain hash; the same inputs always produce the same report.</footer>"
        "</main></body></html>\n"
    )
