"""Audit report of a model version: lineage, licence verdict, attribution and reward split, as one
JSON document (:func:`build_report`) and one self-contained HTML page (:func:`render_html`, from
:mod:`provenance_ledger.report.html`, re-exported here).

Pure: no I/O except :func:`write_report`, no clock (the check time is an argument), no web3.
:func:`render_html` reads only the JSON-able report dict, so ``audit.json`` can be re-rendered
later (``render_html(json.load(f))``) into the same page. The JSON keeps every string from the
chain as it is (it is data); the page shows each one made visible and HTML-escaped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from provenance_ledger.core.attribution import attribution, split
from provenance_ledger.core.licensing import check_use, rules_table
from provenance_ledger.core.lineage import Lineage
from provenance_ledger.core.units import PARENT_SHARE_PPM
from provenance_ledger.report.html import pct, render_html
from provenance_ledger.report.safe import is_suspicious

__all__ = [
    "HTML_NAME",
    "JSON_NAME",
    "REPORT_FORMAT",
    "build_report",
    "pct",
    "render_html",
    "report_json",
    "write_report",
]

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


_NOT_PRINTABLE_ASCII = re.compile(r"[^\x20-\x7e\n]")


def _json_escape(m: re.Match[str]) -> str:
    c = m.group()
    if not is_suspicious(c):
        return c
    o = ord(c)
    if o <= 0xFFFF:
        return f"\\u{o:04x}"
    o -= 0x10000
    return f"\\u{0xD800 + (o >> 10):04x}\\u{0xDC00 + (o & 0x3FF):04x}"


def report_json(report: Mapping[str, Any]) -> str:
    """``report`` as the text of ``audit.json``: sorted keys, indented, UTF-8 text kept as is, but
    every character :func:`~provenance_ledger.report.safe.visible` would escape (controls, bidi
    overrides, zero-width and line-separator characters) written as a JSON ``\\uXXXX`` escape, so
    the file decodes to exactly the same strings and is still safe to ``cat`` in a terminal."""
    text = json.dumps(report, sort_keys=True, indent=2, ensure_ascii=False)
    # Outside strings JSON is printable ASCII, so only characters inside strings are replaced.
    return _NOT_PRINTABLE_ASCII.sub(_json_escape, text) + "\n"


def write_report(report: Mapping[str, Any], out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``audit.json`` (:func:`report_json`) and ``audit.html`` (:func:`render_html`) into
    ``out_dir`` (created if needed); returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out / JSON_NAME, out / HTML_NAME
    json_path.write_text(report_json(report), encoding="utf-8")
    html_path.write_text(render_html(report), encoding="utf-8")
    return json_path, html_path
