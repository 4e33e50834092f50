"""Hostile strings from the chain reach no renderer as syntax or as raw control characters.

On a public chain every model name, version, DataNet name, licence field, partition selector,
preprocessing op and details key is whatever a stranger wrote. A lineage made only of such strings
must render in the terminal (rich), as Graphviz DOT and as the HTML audit page with every control,
escape and bidi override shown as text (``\\x1b``, ``\\n``, ``\\u202e``), no name read as rich
markup, DOT or HTML, and no line the renderer did not write (a forged ``verdict: allowed``).
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import shutil
import subprocess
import unicodedata
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import graphviz
import pytest
from rich.console import Console

from provenance_ledger.core.lineage import Lineage, RunNode, Usage
from provenance_ledger.core.records import CodeRef, Partition, PreprocessingStep
from provenance_ledger.report import dot, terminal
from provenance_ledger.report.audit import build_report, render_html, report_json, write_report
from provenance_ledger.report.html import environment, graph_svg
from provenance_ledger.report.safe import visible
from tests.lineage_builders import lineage_of, make_datanet, run

HOSTILE = '" \\ \n { } < > & [/bold] \x1b[31m \u202e'
"""Quote, backslash, newline, braces, angle brackets, ampersand, rich markup, a CSI colour, RLO."""
FORGED = "x\nverdict: allowed\r\nverdict: allowed"
"""A name that tries to print lines of its own."""
SCRIPT = "<script>alert(1)</script>"
BOLD = "<b>bold</b>"
ENTITIES = "&#27;[2J&#x202e;&amp;"
"""HTML character references: Graphviz decodes them in labels, a browser in the page."""

BASE_MODEL = "base" + HOSTILE
TOP_MODEL = FORGED + "\x1b]0;pwned\x07"  # an OSC (window title) too
TOP_VERSION = "2\u2066\u2069\x85"  # isolates and a C1 control (NEL)
DN_SCRIPT = SCRIPT + HOSTILE
DN_BOLD = BOLD + "\u202e" + ENTITIES
NOTICE = BOLD + "\r\nverdict: allowed" + "\x1b[2J"
SELECTOR = "</td><script>\u202e*.jsonl\x00"
OP = "filter<script>\x1b[31m[bold]"
PARAM_KEY = "<k>\n\u2028"
PARAM_VALUE = "\u202ev\x85\x1b[0m"
REPO = "https://example.org/\x1b]8;;https://evil\x07repo"
COMMIT = "abc\u2066def"

BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def raw_controls(text: str, allowed: str = "\n") -> set[str]:
    """Characters of ``text`` no reader should get raw: C0/C1 controls and DEL (but ``allowed``),
    format characters (bidi controls, zero-width), line and paragraph separators."""
    return {
        c for c in text if c not in allowed and (c in BIDI or unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs"))
    }


def with_details(node: RunNode, **fields: Any) -> RunNode:
    """``node`` with fields of its training run replaced (the builders make bare runs)."""
    recorded = dataclasses.replace(node.recorded, run=dataclasses.replace(node.recorded.run, **fields))
    return dataclasses.replace(node, recorded=recorded)


def with_partition(node: RunNode, index: int, partition: Partition) -> RunNode:
    used = list(node.datanets)
    used[index] = dataclasses.replace(used[index], use=dataclasses.replace(used[index].use, partition=partition))
    node = dataclasses.replace(node, datanets=tuple(used))
    return with_details(node, datanets=tuple(u.use for u in used))


@pytest.fixture
def hostile() -> Lineage:
    """base (trained on two hostile DataNets) -> top (fine-tuned), every string hostile."""
    dn_script = make_datanet(
        DN_SCRIPT,
        terms={"spdx": "CC-BY-4.0", "attribution_notice": NOTICE},
        contributors=[("0x" + "33" * 20, 1)],
    )
    dn_bold = make_datanet(DN_BOLD, terms={"spdx": "MIT" + HOSTILE}, contributors=[("0x" + "44" * 20, 2)])
    base = run(BASE_MODEL, "1" + HOSTILE, [(dn_script, 600_000), (dn_bold, 400_000)])
    base = with_details(
        base,
        preprocessing=(PreprocessingStep(op=OP, params={PARAM_KEY: PARAM_VALUE}),),
        code=CodeRef(repo=REPO, commit=COMMIT),
        hyperparameters={"lr\x1b[8m": 1, BOLD: HOSTILE},
        environment={SCRIPT: "\u202egpu"},
        started_at=1_700_000_000,
        ended_at=1_700_000_100,
    )
    base = with_partition(base, 0, Partition(split="train\x1b[0m", selector=SELECTOR))
    top = run(TOP_MODEL, TOP_VERSION, [(dn_bold, 1_000_000)], parents=[base])
    return lineage_of(top)


NAMES = (BASE_MODEL, TOP_MODEL, TOP_VERSION, DN_SCRIPT, DN_BOLD)


# ----------------------------------------------------------------------------- terminal


def test_visible_is_idempotent_and_single_line() -> None:
    for s in (*NAMES, NOTICE, SELECTOR, OP, PARAM_KEY, PARAM_VALUE, REPO, COMMIT):
        shown = visible(s)
        assert visible(shown) == shown
        assert not raw_controls(shown, allowed=""), s


def test_terminal_shows_hostile_names_as_text(hostile: Lineage) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    base = hostile.runs[0].parents[0]
    usage = Usage(
        recorded=hostile.runs[0].recorded,
        model_name=TOP_MODEL,
        datanet_version=1,
        weight_ppm=1_000_000,
        depth=1,
        via=(base.record_id,),
    )
    # no MarkupError from "[/bold]", nothing read as markup
    console.print(terminal.lineage_table(hostile))
    console.print(terminal.lineage_tree(hostile))
    console.print(terminal.usage_table(DN_BOLD + FORGED, [usage]))
    text = out.getvalue()

    assert "\x1b" not in text
    assert not raw_controls(text), raw_controls(text)
    # no line starts with a forged verdict (after the table borders and tree guides)
    for line in text.splitlines():
        assert not line.lstrip(" \u2500\u2502\u2503\u2514\u251c\u2570\u2575\u21b3").startswith("verdict"), line
    # every hostile string is there, shown with its escapes, markup and all
    flat = " ".join(text.split())  # long cells wrap: compare with whitespace collapsed
    for s in (*NAMES, SELECTOR, OP, REPO, COMMIT, PARAM_KEY, f"{BASE_MODEL}@1{HOSTILE}", f"{DN_BOLD}@1"):
        assert " ".join(visible(s).split()) in flat, s
    assert "x\\nverdict: allowed\\r\\nverdict: allowed\\x1b]0;pwned\\x07@2\\u2066\\u2069\\x85" in text
    assert "[/bold]" in text and "[bold]" in text
    assert "\\u202e" in text and "\\x1b[31m" in text


def test_terminal_titles_do_not_wrap_a_name_onto_a_new_line() -> None:
    """A name padded with spaces would wrap its tail to the left margin; titles and the tree root
    are cut with an ellipsis instead. (Inside a table cell or under a tree guide a long name still
    wraps, behind the border or the indentation the renderer drew.)"""
    padded = "m" + " " * 300 + "verdict: allowed"
    dn = make_datanet("d")
    lin = lineage_of(run(padded, "1", [(dn, 1_000_000)]))
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=100)
    console.print(terminal.lineage_table(lin))
    console.print(terminal.lineage_tree(lin))
    console.print(terminal.usage_table(padded, []))
    lines = out.getvalue().splitlines()
    assert not [line for line in lines if line.startswith("verdict")]
    titles = [line for line in lines if line.startswith(("What m ", "m ", "Models that used m "))]
    assert len(titles) == 3 and all(line.rstrip().endswith("…") for line in titles), titles


def test_tree_labels_do_not_wrap_a_name_onto_a_line_of_its_own() -> None:
    """Under a tree guide a wrapped label would start a line (after the guide) with the name's tail."""
    long_name = "A" * 85 + " verdict: allowed"
    dn = make_datanet(long_name)
    lin = lineage_of(run(long_name, "1", [(dn, 1_000_000)]))
    out = io.StringIO()
    Console(file=out, force_terminal=False, width=100).print(terminal.lineage_tree(lin))
    bare = [line.lstrip(" │├└─┣┗━┃") for line in out.getvalue().splitlines()]
    assert not [line for line in bare if line.startswith("verdict")], out.getvalue()
    assert any(line.endswith("…") for line in out.getvalue().splitlines())


# ----------------------------------------------------------------------------- DOT

_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


def node_texts(svg: str) -> dict[str, list[str]]:
    """Node id -> the lines of its label, as drawn in Graphviz's SVG."""
    ns = {"s": "http://www.w3.org/2000/svg"}
    root = ET.fromstring(svg)
    out = {}
    for g in root.iterfind(".//s:g[@class='node']", ns):
        title = g.find("s:title", ns)
        assert title is not None and title.text is not None
        out[title.text] = [t.text or "" for t in g.iterfind("s:text", ns)]
    return out


def test_dot_is_valid_and_shows_names_literally(hostile: Lineage) -> None:
    src = terminal.lineage_dot(hostile)
    assert src == dot.lineage_dot(hostile)
    assert not raw_controls(src, allowed="\n\t"), raw_controls(src, allowed="\n\t")
    # every statement on one line, every quoted string closed on it
    lines = src.splitlines()
    assert lines[0] == "digraph lineage {" and lines[-1] == "}"
    for line in lines[1:-1]:
        assert '"' not in _QUOTED.sub("", line), line
    assert graphviz.Source(src).source == src

    if shutil.which("dot") is None:
        pytest.skip("the Graphviz `dot` binary is not installed")
    proc = subprocess.run(["dot", "-Tsvg"], input=src, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "syntax error" not in proc.stderr, proc.stderr
    svg = graphviz.Source(src).pipe(format="svg", encoding="utf-8")
    assert svg == proc.stdout
    assert not raw_controls(svg, allowed="\n"), raw_controls(svg, allowed="\n")

    nodes = node_texts(svg)
    runs = [n for _, n in hostile.walk()]
    assert len(nodes) == 2 + 2  # two runs, two DataNet versions: one node each, whatever their names
    for n in runs:
        assert nodes["0x" + n.record_id.hex()] == [visible(n.label), terminal.hx(n.record_id, True)]
    shown = sorted(t for texts in nodes.values() for t in texts)
    for d in runs[1].datanets:
        assert visible(d.info.label) in shown  # entities, backslashes and quotes drawn as written

    # round trip: the DOT Graphviz writes back (canonical form) draws the same labels
    canon = graphviz.Source(src).pipe(format="canon", encoding="utf-8")
    assert node_texts(graphviz.Source(canon).pipe(format="svg", encoding="utf-8")) == nodes


# ----------------------------------------------------------------------------- HTML


# fmt: off
PAGE_TAGS = frozenset({
    "html", "head", "meta", "title", "style", "body", "main", "header", "div", "p", "h1", "h2", "h3", "span",
    "ul", "ol", "li", "b", "strong", "code", "br", "nav", "a", "section", "table", "thead", "tbody", "tr",
    "th", "td", "details", "summary", "footer", "svg", "defs", "marker", "path", "g", "rect", "text",
})
# fmt: on
"""Every element the audit page writes itself: a name can add none."""


class Page(HTMLParser):
    """Tags and text of a page, as a browser's parser sees them."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attrs: list[tuple[str, str | None]] = []
        self.chunks: list[str] = []
        self.feed(markup)
        self.close()
        self.text = "".join(self.chunks)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


def test_html_has_no_raw_controls_and_no_markup_from_names(hostile: Lineage) -> None:
    report = build_report(
        hostile, use="commercial", domain=BOLD + "\x1b[31m", at_time=1_800_000_000, amount=1000, parent_share_ppm=0
    )
    page = render_html(report)
    assert "\x1b" not in page
    assert not raw_controls(page), raw_controls(page)
    lower = page.lower()
    for raw in ("<script", BOLD, "<k>", "</td><script", "&#27;", "&#x202e;"):
        assert raw not in lower, raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;bold&lt;/b&gt;" in page

    parsed = Page(page)
    assert parsed.tags <= PAGE_TAGS, parsed.tags - PAGE_TAGS
    assert not [k for k, _ in parsed.attrs if k.startswith("on")]
    assert not raw_controls(parsed.text), raw_controls(parsed.text)  # not even behind a character reference
    for s in (*NAMES, NOTICE, SELECTOR, REPO, COMMIT, ENTITIES):
        assert visible(s) in parsed.text, s
    assert visible(OP) + "(" in parsed.text

    svg = graph_svg(report)
    assert svg.startswith("<svg") and "\x1b" not in svg and not raw_controls(svg)
    assert "&lt;script&gt;" in svg and "<script" not in svg.lower()


def test_json_report_keeps_the_strings_but_writes_no_raw_controls(hostile: Lineage, tmp_path: Path) -> None:
    report = build_report(hostile, use="academic", at_time=1_800_000_000)
    json_path, _ = write_report(report, tmp_path)
    text = json_path.read_text(encoding="utf-8")
    assert text == report_json(report) and json.loads(text) == report  # the exact strings, as data
    assert "\x1b" not in text and not raw_controls(text), raw_controls(text)
    assert "\\u202e" in text and "\\u001b" in text and "\\u0085" in text
    # printable text of any script stays as it is (UTF-8), astral characters included
    plain = {"name": "数据集 ✓ 🦀", "evil": "\u2066\U0001f980\u2028"}
    assert report_json(plain) == '{\n  "evil": "\\u2066🦀\\u2028",\n  "name": "数据集 ✓ 🦀"\n}\n'
    assert json.loads(report_json(plain)) == plain


def test_templates_make_every_printed_value_visible() -> None:
    """The environment's finalize catches a value printed without the ``visible`` filter."""
    env = environment()
    assert env.autoescape is True
    assert env.from_string("{{ x }}|{{ x|visible }}|{{ n }}").render(x="<a>\x1b\u202e", n=None) == (
        "&lt;a&gt;\\x1b\\u202e|&lt;a&gt;\\x1b\\u202e|"
    )
