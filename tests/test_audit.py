"""The audit report: its JSON is exactly what the library computes, and its HTML page, opened in a
real headless browser (Debian's chromium), shows the lineage, the verdict, the obligations, the
attribution and the split, with every string from the chain escaped."""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak
from rich.console import Console

from provenance_ledger.chain.client import Registry
from provenance_ledger.chain.rpc import ANVIL_DEV_KEYS, connect
from provenance_ledger.cli.demo import _T0, run_demo
from provenance_ledger.core.attribution import attribution, split
from provenance_ledger.core.licensing import check_use
from provenance_ledger.core.lineage import Lineage
from provenance_ledger.core.records import DatanetUse, Partition, PreprocessingStep, TrainingRun
from provenance_ledger.errors import ValidationError
from provenance_ledger.report.audit import build_report, pct, render_html, write_report
from tests.conftest import AnvilNode, make_run, run_cli, seed_registry

AT = _T0 + 200_000
AMOUNT = 1_000_003

# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_demo(Console(file=io.StringIO()), workdir=tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def report(demo: dict[str, Any]) -> dict[str, Any]:
    return build_report(
        demo["lineage"], use="commercial", domain="medical", at_time=AT, amount=AMOUNT, parent_share_ppm=500_000
    )


EVIL_DN = '<script>alert("dn")</script>'
EVIL_MODEL = "evil</title><script>alert(1)</script>"
EVIL_VERSION = "<v1>"
EVIL_OP = "filter<script>"
EVIL_PARAM = '"><img src=x onerror=alert(2)>'
EVIL_NOTICE = "<b onmouseover=alert(3)>credit</b> & co"
EVIL_SELECTOR = "</td><script>*.jsonl"


@pytest.fixture
def hostile(w3, accounts) -> Lineage:  # type: ignore[no-untyped-def]
    """A diamond lineage (two bases -> merged -> tuned) whose names, terms and parameters attack the page."""
    reg = Registry.deploy(w3, accounts[0])
    for m in ("base-a", "base-b", "merged", EVIL_MODEL):
        reg.register_model(m)
    for name, terms, contributors in (
        ("alpha", {"spdx": "MIT"}, [("0x" + "11" * 20, 2), ("0x" + "22" * 20, 1)]),
        ("gamma", {"spdx": "CC-BY-4.0", "attribution_notice": EVIL_NOTICE}, [("0x" + "33" * 20, 1)]),
        (EVIL_DN, {"spdx": "LicenseRef-<i>x</i>", "attribution_notice": EVIL_NOTICE}, []),
    ):
        reg.register_datanet(name)
        reg.publish_datanet_version(
            name,
            content_root=keccak(text=name),
            manifest_hash=keccak(text=name + "/m"),
            terms=terms,
            contributors=contributors,
        )

    def run(
        model: str, version: str, uses: list[tuple[str, int, str]], parents: tuple[bytes, ...] = (), steps=()
    ) -> TrainingRun:  # type: ignore[no-untyped-def]
        return TrainingRun(
            model_id=reg.model_id(model),
            model_version=version,
            weights_digest=keccak(text=model + version),
            parents=parents,
            datanets=tuple(
                DatanetUse(
                    datanet_id=reg.datanet_id(d),
                    version=1,
                    weight_ppm=w,
                    partition=Partition(split="train", selector=sel),
                )
                for d, w, sel in uses
            ),
            preprocessing=tuple(steps),
        )

    a = reg.record_run(run("base-a", "1", [("alpha", 1_000_000, "")]))
    b = reg.record_run(run("base-b", "1", [("alpha", 400_000, ""), ("gamma", 600_000, "")]))
    m = reg.record_run(run("merged", "2", [("gamma", 1_000_000, "")], parents=(a.record_id, b.record_id)))
    reg.record_run(
        run(
            EVIL_MODEL,
            EVIL_VERSION,
            [(EVIL_DN, 250_000, EVIL_SELECTOR), ("alpha", 750_000, "")],
            parents=(m.record_id,),
            steps=[PreprocessingStep(op=EVIL_OP, params={"q": EVIL_PARAM, "<k>": 1})],
        )
    )
    return reg.lineage(EVIL_MODEL, EVIL_VERSION)


# ----------------------------------------------------------------------------- browser


def find_chromium() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def chromium_path() -> str:
    """Debian's chromium; skipped (with the reason) when absent, except under CI where it must run."""
    exe = find_chromium()
    if exe:
        return exe
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed but CI is set: the browser test must run (`make browser` installs it)")
    pytest.skip("chromium is not installed (`make browser` installs it); under CI this test fails instead")


def chromium(html_path: Path, work: Path, *, screenshot: Path | None = None) -> str:
    """Open ``html_path`` in headless chromium; return the rendered DOM (and take a screenshot)."""
    exe = chromium_path()
    url = html_path.resolve().as_uri()

    def args(profile: str) -> list[str]:
        return [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--window-size=1400,2400",
            f"--user-data-dir={work / profile}",
        ]

    procs = [
        subprocess.Popen([*args("dom"), "--dump-dom", url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ]
    if screenshot is not None:
        procs.append(
            subprocess.Popen(
                [*args("png"), f"--screenshot={screenshot}", url],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outs = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err[-3000:]
            outs.append(out)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    return outs[0]


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}


class Dom(HTMLParser):
    """The rendered DOM as text (all of it, the SVG's, and per element id) plus every element seen."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.chunks: list[str] = []
        self.svg_chunks: list[str] = []
        self.by_id: dict[str, list[str]] = {}
        self.feed(markup)
        self.close()
        self.text = " ".join(self.chunks)
        self.svg_text = " ".join(self.svg_chunks)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.elements.append((tag, a))
        if tag not in _VOID:
            self.stack.append((tag, a))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        tags = [t for t, _ in self.stack]
        if "style" in tags:
            return
        self.chunks.append(data)
        if "svg" in tags and "title" not in tags:
            self.svg_chunks.append(data)
        for _, a in self.stack:
            if "id" in a:
                self.by_id.setdefault(a["id"], []).append(data)

    def of(self, element_id: str) -> str:
        return " ".join(self.by_id.get(element_id, [])).strip()

    def nodes(self, kind: str) -> list[str]:
        return [a["data-label"] for t, a in self.elements if t == "g" and a.get("data-kind") == kind]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def assert_inert(dom: Dom) -> None:
    """No scripts, no images, no event handlers, nothing fetched from anywhere."""
    tags = {t for t, _ in dom.elements}
    assert not tags & {"script", "img", "iframe", "object", "embed", "link", "i", "base", "form"}, tags
    for tag, attrs in dom.elements:
        assert not [k for k in attrs if k.startswith("on")], (tag, attrs)
        assert "src" not in attrs, (tag, attrs)
        href = attrs.get("href", "")
        assert not href or href.startswith("#"), (tag, attrs)


# ----------------------------------------------------------------------------- tests


def test_json_report_is_what_the_library_computes(demo: dict[str, Any], report: dict[str, Any], tmp_path: Path) -> None:
    lin: Lineage = demo["lineage"]
    verdict = check_use(lin, use="commercial", domain="medical", at_time=AT)
    att = attribution(lin, parent_share_ppm=500_000)
    payout = split(att, AMOUNT)

    assert report["model"] == "acme-support@1.1"
    assert report["generated_for"] == {
        "use": "commercial",
        "domain": "medical",
        "at_time": AT,
        "at_time_utc": "2025-11-26 23:33:20Z",
        "amount": AMOUNT,
        "parent_share_ppm": 500_000,
    }
    assert report["lineage"] == lin.to_dict()
    assert report["license"] == verdict.to_dict() == demo["verdict"].to_dict()
    assert report["license"]["decision"] == report["summary"]["decision"] == verdict.decision
    assert [(f["datanet"], f["version"], f["decision"]) for f in report["license"]["findings"]] == [
        (f.datanet, f.version, f.decision) for f in verdict.findings
    ]
    assert [f["datanet"] + "@" + str(f["version"]) for f in report["license"]["findings"]] == [
        "support-tickets@2",
        "openwiki-en@2",
        "support-tickets@1",
    ]
    assert report["attribution"] == att.to_dict()
    assert sum(d["ppm"] for d in report["attribution"]["datanets"]) == 1_000_000
    assert sum(c["ppm"] for c in report["attribution"]["contributors"]) == 1_000_000
    assert [(p["recipient"], p["amount"]) for p in report["split"]["payouts"]] == payout == demo["payout"]
    assert report["split"]["total"] == sum(p["amount"] for p in report["split"]["payouts"]) == AMOUNT

    json_path, html_path = write_report(report, tmp_path / "out")
    assert (json_path.name, html_path.name) == ("audit.json", "audit.html")
    text = json_path.read_text(encoding="utf-8")
    assert json.loads(text) == report
    assert text == json.dumps(report, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    # deterministic, and the page is a function of the JSON alone
    again = build_report(lin, use="commercial", domain="medical", at_time=AT, amount=AMOUNT, parent_share_ppm=500_000)
    assert again == report
    assert html_path.read_text(encoding="utf-8") == render_html(json.loads(text)) == render_html(again)

    no_amount = build_report(lin, use="academic", domain=None, at_time=AT, amount=None, parent_share_ppm=0)
    assert no_amount["split"] is None and 'id="split"' not in render_html(no_amount)
    assert no_amount["attribution"] == attribution(lin, parent_share_ppm=0).to_dict()
    with pytest.raises(ValidationError):
        build_report(lin, use="military", domain=None, at_time=AT, amount=None, parent_share_ppm=0)
    with pytest.raises(ValidationError):
        build_report(lin, use="academic", domain=None, at_time=AT, amount=-1, parent_share_ppm=0)


def test_browser_shows_the_report(demo: dict[str, Any], report: dict[str, Any], tmp_path: Path) -> None:
    chromium_path()
    _, html_path = write_report(report, tmp_path / "out")
    png = tmp_path / "audit.png"
    started = time.monotonic()
    dom = Dom(chromium(html_path, tmp_path, screenshot=png))
    elapsed = time.monotonic() - started
    assert elapsed < 60, f"the browser took {elapsed:.1f} s"

    lin: Lineage = demo["lineage"]
    verdict = demo["verdict"]
    att = attribution(lin)
    runs = [n for _, n in lin.walk()]
    assert dom.of("model") == "acme-support@1.1"
    assert dom.of("verdict") == verdict.decision == "allowed"
    assert "commercial use in domain medical" in " ".join(dom.text.split())
    # the graph: one box per run and per DataNet version, labelled, with weights and the fine-tune edge
    assert (
        dom.nodes("run") == [n.label for n in reversed(runs)] == ["acme-base@1.0", "acme-support@1.1"]
    )  # left to right
    assert sorted(dom.nodes("datanet")) == sorted(f.label for f in verdict.findings)
    for needle in (
        "acme-base@1.0",
        "acme-support@1.1",
        "openwiki-en@2",
        "support-tickets@1",
        "support-tickets@2",
        "70%",
        "30%",
        "100%",
        "fine-tune",
        "CC-BY-SA-4.0 · allowed",
    ):
        assert needle in dom.svg_text, needle
    # runs, licence, obligations, attribution, split
    for needle in (
        *("0x" + n.record_id.hex() for n in runs),
        *(f"block {n.recorded.block_number}" for n in runs),
        'dedupe(method="minhash", num_perm=128, threshold=0.85)',
        "length_filter(max_chars=20000, min_chars=200)",
        "selector=tickets/*.jsonl",
        "fraction=80%",
        "seed=7",
        *(f.clause for f in verdict.findings),
        "acme-support@1.1 → acme-base@1.0",
        *verdict.notice_texts,
        "adaptations must be shared under CC-BY-SA-4.0",
        *(pct(d.ppm) for d in att.datanets),
        *(pct(c.ppm) for c in att.contributors),
        *(c.recipient for c in att.contributors),
        *(f"{a:,}" for _, a in demo["payout"]),
    ):
        assert needle in dom.text, needle
    assert [pct(d.ppm) for d in att.datanets] == ["50.0000%", "35.0000%", "15.0000%"]
    assert dom.of("split-total") == f"{AMOUNT:,}" == "1,000,003"
    assert_inert(dom)

    assert png.exists() and png.stat().st_size > 60_000, png.stat().st_size
    assert png_size(png) == (1400, 2400)


def test_hostile_strings_are_escaped(hostile: Lineage, tmp_path: Path) -> None:
    report = build_report(
        hostile, use="commercial", domain="<b>med</b>", at_time=AT, amount=1000, parent_share_ppm=500_000
    )
    page = render_html(report)
    lower = page.lower()
    for raw in ("<script", "<img", "<b onmouseover", "<i>x", "</td><script"):
        assert raw not in lower, raw
    assert "&lt;script&gt;alert(&quot;dn&quot;)&lt;/script&gt;@1" in page
    assert "evil&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;@&lt;v1&gt;" in page
    dom = Dom(page)
    assert_inert(dom)
    assert dom.of("model") == f"{EVIL_MODEL}@{EVIL_VERSION}"
    assert f"{EVIL_DN}@1" in dom.nodes("datanet") and f"{EVIL_MODEL}@{EVIL_VERSION}" in dom.nodes("run")
    for needle in (
        f"{EVIL_DN}@1",
        EVIL_NOTICE,
        EVIL_SELECTOR,
        EVIL_OP,
        json.dumps(EVIL_PARAM),
        "<b>med</b>",
        "LicenseRef-<i>x</i>",
    ):
        assert needle in dom.text, needle
    # the JSON keeps the raw strings (it is data, not markup)
    assert report["lineage"]["runs"][0]["details"]["preprocessing"][0]["params"]["q"] == EVIL_PARAM
    # the diamond: four runs in three columns, the shared parent credit adds up
    assert sorted(dom.nodes("run")) == sorted(["base-a@1", "base-b@1", "merged@2", f"{EVIL_MODEL}@{EVIL_VERSION}"])
    assert report["license"]["decision"] == "needs-review"  # the hostile licence id is malformed: unknown terms
    assert sum(p["amount"] for p in report["split"]["payouts"]) == 1000

    # and in a real browser: nothing executes or loads, the strings are shown as text
    if find_chromium() or os.environ.get("CI"):
        _, html_path = write_report(report, tmp_path / "out")
        rendered = Dom(chromium(html_path, tmp_path))
        assert_inert(rendered)
        assert rendered.of("model") == f"{EVIL_MODEL}@{EVIL_VERSION}"
        assert (
            f"{EVIL_DN}@1" in rendered.svg_text
            and EVIL_NOTICE in rendered.text
            and json.dumps(EVIL_PARAM) in rendered.text
        )


@pytest.mark.anvil
def test_audit_command(tmp_path: Path, anvil: AnvilNode) -> None:
    reg = Registry.deploy(connect(anvil.url), Account.from_key(ANVIL_DEV_KEYS[0]))
    seed_registry(reg)  # models base, tuned; DataNets alpha@1, alpha@2, beta@1 (MIT)
    base = reg.record_run(make_run("base", "1.0"))
    reg.record_run(make_run("tuned", "1.1", parents=(base.record_id,), uses=[("beta", 1, 1_000_000)]))
    env = {
        **os.environ,
        "PROVENANCE_CONFIG": str(tmp_path / "config.json"),
        "PROVENANCE_RPC_URL": anvil.url,
        "PROVENANCE_REGISTRY": reg.address,
        "PROVENANCE_PRIVATE_KEY": ANVIL_DEV_KEYS[0],  # a bare model name is the key's own (ids are owner-scoped)
    }

    def provenance(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, env=env, cwd=tmp_path)  # in this process: same entry point, exit code and output

    proc = provenance(
        "audit",
        "tuned@1.1",
        "--out",
        "report",
        "--at",
        "1800000000",
        "--amount",
        "1000",
        "--domain",
        "medical",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"json": "report/audit.json", "html": "report/audit.html", "decision": "allowed"}
    data = json.loads((tmp_path / "report" / "audit.json").read_text())
    assert data["model"] == "tuned@1.1" and data["source"] == {"chain_id": 31337, "registry": reg.address}
    assert data["generated_for"]["at_time"] == 1_800_000_000 and data["split"]["total"] == 1000
    assert data == build_report(
        reg.lineage("tuned", "1.1"),
        use="commercial",
        domain="medical",
        at_time=1_800_000_000,
        amount=1000,
        parent_share_ppm=500_000,
        source=data["source"],
    )
    assert [(f["datanet"], f["version"]) for f in data["license"]["findings"]] == [("beta", 1), ("alpha", 2)]
    page = (tmp_path / "report" / "audit.html").read_text()
    assert "tuned@1.1" in page and "base@1.0" in page and "<svg" in page

    human = provenance("audit", "tuned@1.1", "--out", "h", "--use", "academic")
    assert human.returncode == 0, human.stderr
    assert "verdict for academic use of tuned@1.1: allowed" in human.stdout
    assert human.stdout.splitlines()[-2:] == ["h/audit.json", "h/audit.html"]
    bad = provenance("audit", "nope@1", "--out", "x")
    assert bad.returncode == 1 and bad.stderr.startswith("error:") and not (tmp_path / "x").exists()


def test_audit_module_imports_on_its_own() -> None:
    code = "import provenance_ledger.cli.audit as m, provenance_ledger.cli.app as c; assert c.cli.get_command(None, 'audit') is m.audit"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
