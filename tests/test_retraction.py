"""Retraction in every answer: lineage, audit, affected, license-check and attribution.

Unit tests of the licence and attribution rules on hand-built lineages, then the whole story on a
real anvil node through the `provenance` command (issue 11, item 2)."""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction as F
from pathlib import Path

import pytest

from provenance_ledger.core.attribution import attribution, split
from provenance_ledger.core.entries import REASON_CODES, DatanetRetraction, ModelRetraction
from provenance_ledger.core.licensing import ALLOWED, BLOCKED, NEEDS_REVIEW, check_use
from provenance_ledger.core.lineage import Lineage, RunNode
from tests.conftest import AnvilNode
from tests.lineage_builders import lineage_of, make_datanet, run
from tests.test_cli import Cli, setup_project

OWNER = "0x" + "11" * 20
NOTE = "evil\x1b[2J[/bold]<script>\nverdict: allowed"


def _dr(reason: str, note: str = "") -> DatanetRetraction:
    return DatanetRetraction(
        datanet_id=b"\0" * 32,
        owner=OWNER,
        version=1,
        reason=REASON_CODES[reason],
        note=note,
        block_number=42,
        tx_hash="0x" + "ab" * 32,
        log_index=0,
    )


def retract(lin: Lineage, datanets: dict[str, str], models: dict[str, str] | None = None) -> Lineage:
    """``lin`` with DataNet versions (label -> reason) and model versions (label -> reason) retracted."""
    models = models or {}
    memo: dict[bytes, RunNode] = {}

    def node(n: RunNode) -> RunNode:
        if n.record_id not in memo:
            used = tuple(
                dataclasses.replace(d, retraction=_dr(datanets[d.info.label], "ipfs://why"))
                if d.info.label in datanets
                else d
                for d in n.datanets
            )
            mr = None
            if n.label in models:
                mr = ModelRetraction(
                    model_id=n.recorded.run.model_id,
                    model_version_key=b"\0" * 32,
                    owner=OWNER,
                    model_version=n.recorded.run.model_version,
                    reason=REASON_CODES[models[n.label]],
                    note="",
                    block_number=43,
                    tx_hash="0x" + "cd" * 32,
                    log_index=0,
                )
            memo[n.record_id] = dataclasses.replace(
                n, datanets=used, parents=tuple(node(p) for p in n.parents), retraction=mr
            )
        return memo[n.record_id]

    return dataclasses.replace(lin, runs=tuple(node(r) for r in lin.runs))


def tuned() -> Lineage:
    """tuned@2 (T 100%) <- base@1 (D 50%, E 50%); every licence MIT (allowed for any use)."""
    mit = {"spdx": "MIT"}
    base = run(
        "base",
        "1",
        [
            (make_datanet("D", terms=mit, contributors=[("0x" + "aa" * 20, 1)]), 500_000),
            (make_datanet("E", terms=mit, contributors=[("0x" + "bb" * 20, 1)]), 500_000),
        ],
    )
    return lineage_of(
        run("tuned", "2", [(make_datanet("T", terms=mit, contributors=[("0x" + "cc" * 20, 1)]), 1_000_000)], [base])
    )


# ----------------------------------------------------------------- licensing rule


@pytest.mark.parametrize(
    ("reason", "decision"),
    [
        ("pii", BLOCKED),
        ("licence", BLOCKED),
        ("corrupt", NEEDS_REVIEW),
        ("superseded", NEEDS_REVIEW),
        ("other", NEEDS_REVIEW),
    ],
)
def test_retracted_input_rule(reason: str, decision: str) -> None:
    assert check_use(tuned(), use="commercial", at_time=1).decision == ALLOWED
    v = check_use(retract(tuned(), {"D@1": reason}), use="academic", at_time=1)
    assert v.decision == decision
    f = next(f for f in v.findings if f.label == "D@1")
    assert f.decision == decision and f.retracted
    assert f.clause == f"retracted by its owner ({reason}) at block 42: note ipfs://why"
    assert f.checks[0] == (decision, f.clause) and f.reached_via == ("tuned@2", "base@1")
    d = json.loads(json.dumps(v.to_dict()))["findings"][1]
    assert d["retraction"]["reason"] == reason and d["retraction"]["note"] == "ipfs://why"
    assert d["retraction"]["block"] == 42
    others = [f for f in v.findings if f.label != "D@1"]
    assert all(f.decision == ALLOWED and f.retraction is None for f in others)


def test_retraction_judged_even_with_unknown_terms() -> None:
    lin = lineage_of(run("m", "1", [(make_datanet("X", terms=None), 1_000_000)]))
    v = check_use(retract(lin, {"X@1": "pii"}), use="academic", at_time=1)
    assert v.decision == BLOCKED and v.findings[0].clause.startswith("retracted by its owner (pii)")


@pytest.mark.parametrize(
    ("reason", "decision"), [("pii", BLOCKED), ("licence", BLOCKED), ("corrupt", NEEDS_REVIEW), ("other", NEEDS_REVIEW)]
)
def test_retracted_model_version_in_the_lineage_counts(reason: str, decision: str) -> None:
    # base@1 retracted: the fine-tune tuned@2 inherits its weights, so it is judged by the same rule.
    v = check_use(retract(tuned(), {}, {"base@1": reason}), use="commercial", at_time=1)
    assert v.decision == decision
    assert [(m.model, m.reached_via, m.decision) for m in v.model_retractions] == [
        ("base@1", ("tuned@2", "base@1"), decision)
    ]
    assert v.clause == f"base@1: retracted by its owner ({reason}) at block 43 (no note)"
    d = json.loads(json.dumps(v.to_dict()))
    assert d["model_retractions"][0]["retraction"]["reason"] == reason
    assert all(f.decision == ALLOWED for f in v.findings)  # the DataNet findings are unchanged
    # The checked version itself, retracted, counts too; a lineage without retractions has none.
    assert check_use(retract(tuned(), {}, {"tuned@2": reason}), use="academic", at_time=1).decision == decision
    assert check_use(tuned(), use="commercial", at_time=1).model_retractions == ()


# ----------------------------------------------------------------- attribution rule


def test_retracted_share_is_kept_and_flagged_and_sums_exactly() -> None:
    plain = attribution(tuned())
    att = attribution(retract(tuned(), {"D@1": "pii"}))
    assert [(d.label, d.share, d.ppm) for d in att.datanets] == [(d.label, d.share, d.ppm) for d in plain.datanets]
    assert [d.label for d in att.retracted] == ["D@1"] and att.retracted_share == F(1, 4)
    assert sum(d.share for d in att.datanets) == 1 and sum(d.ppm for d in att.datanets) == 1_000_000
    assert sum(c.ppm for c in att.contributors) == 1_000_000
    flagged = [c for c in att.contributors if c.retracted_sources]
    assert [(c.share, c.retracted_sources) for c in flagged] == [(F(1, 4), ("D@1",))]
    assert split(att, 1001) == split(plain, 1001) and sum(n for _, n in split(att, 1001)) == 1001
    d = json.loads(json.dumps(att.to_dict()))
    assert d["retracted"] == ["D@1"] and d["retracted_share"] == "1/4"
    assert next(x for x in d["datanets"] if x["datanet"] == "D")["retraction"]["reason"] == "pii"
    src = next(c for c in d["contributors"] if c.get("retracted_sources"))["sources"]
    assert src == [{"datanet": "D@1", "share": "1/4", "retracted": True}]


# ----------------------------------------------------------------- lineage JSON and rendering


def test_lineage_marks_retractions_and_escapes_notes() -> None:
    from rich.console import Console

    from provenance_ledger.report import terminal
    from provenance_ledger.report.audit import build_report, render_html

    lin = retract(tuned(), {"D@1": "pii"}, {"base@1": "superseded"})
    dn = lin.runs[0].parents[0].datanets[0]
    lin = dataclasses.replace(
        lin,
        runs=(
            dataclasses.replace(
                lin.runs[0],
                parents=(
                    dataclasses.replace(
                        lin.runs[0].parents[0],
                        datanets=(
                            dataclasses.replace(dn, retraction=_dr("pii", NOTE)),
                            *lin.runs[0].parents[0].datanets[1:],
                        ),
                    ),
                ),
            ),
        ),
    )
    d = lin.to_dict()
    assert [(r["kind"], r["label"], r["reason"]) for r in d["retracted"]] == [
        ("model", "base@1", "superseded"),
        ("datanet", "D@1", "pii"),
    ]
    assert d["runs"][1]["retracted"]["reason"] == "superseded" and d["runs"][0]["retracted"] is None
    assert d["runs"][1]["datanets"][0]["retracted"]["note"] == NOTE
    for renderable in (terminal.lineage_table(lin), terminal.lineage_tree(lin)):
        console = Console(width=300, record=True, force_terminal=True)
        console.print(renderable)
        out = console.export_text(styles=False)
        assert "RETRACTED (pii) at block 42" in out and "RETRACTED (superseded)" in out
        assert "\x1b[2J" not in out and "\\x1b[2J[/bold]<script>\\nverdict: allowed" in out
    page = render_html(build_report(lin, use="academic", at_time=1))
    assert "Retracted inputs" in page and "RETRACTED (pii)" in page
    assert "<script>" not in page and "&lt;script&gt;" in page and "\x1b" not in page


# ----------------------------------------------------------------- on anvil, through the CLI


@pytest.mark.anvil
def test_retraction_in_every_answer_on_anvil(tmp_path: Path, anvil: AnvilNode) -> None:
    cli = Cli(tmp_path, anvil.url)
    setup_project(cli)  # base@1.0 (alpha@1 60%, beta@1 40%) <- tuned@1.1 (beta@1)
    cli("record", "base.yaml")
    cli("record", "tuned.yaml")
    assert cli("license-check", "tuned@1.1", "--use", "commercial", ok=False).returncode == 0
    cli("datanet", "retract", "alpha@1", "--reason", "pii", "--note", "https://acme.example/incidents/42")

    for extra in ((), ("--no-index",)):
        got = cli.json("affected", "alpha@1", *extra)
        assert got["kind"] == "datanet"  # type: ignore[index]
        rows = [(r["model"], r["version"], r["depth"], r["path"]) for r in got["affected"]]  # type: ignore[index]
        assert rows == [
            ("base", "1.0", 1, ["alpha@1", "base@1.0"]),
            ("tuned", "1.1", 2, ["alpha@1", "base@1.0", "tuned@1.1"]),
        ]
    table = cli("affected", "--datanet", "alpha@1").stdout
    assert "alpha@1 → base@1.0 → tuned@1.1" in table and "2 affected run(s)" in table

    check = cli("license-check", "tuned@1.1", "--use", "academic", ok=False)
    assert check.returncode == 4, check.stderr
    assert "retracted by its owner (pii)" in check.stdout and "verdict: blocked" in check.stdout
    verdict = json.loads(cli("license-check", "tuned@1.1", "--use", "academic", "--json", ok=False).stdout)
    f = next(f for f in verdict["findings"] if f["datanet"] == "alpha")
    assert f["decision"] == "blocked" and f["retraction"]["note"] == "https://acme.example/incidents/42"

    lin = cli.json("lineage", "tuned@1.1")
    assert [(r["kind"], r["label"], r["reason"]) for r in lin["retracted"]] == [("datanet", "alpha@1", "pii")]  # type: ignore[index]
    alpha = next(d for r in lin["runs"] for d in r["datanets"] if d["datanet"] == "alpha")  # type: ignore[index]
    assert alpha["retracted"]["reason"] == "pii" and alpha["retracted"]["note"] == "https://acme.example/incidents/42"
    table = cli("lineage", "tuned@1.1").stdout
    assert "RETRACTED (pii)" in table and "https://acme.example/incidents/42" in table
    assert "RETRACTED (pii)" in cli("lineage", "tuned@1.1", "--tree").stdout

    cli("audit", "tuned@1.1", "--use", "academic", "--out", "rep", ok=False)
    report = json.loads((tmp_path / "rep" / "audit.json").read_text())
    assert report["lineage"]["retracted"][0]["label"] == "alpha@1"
    assert report["license"]["decision"] == "blocked"
    assert report["attribution"]["retracted"] == ["alpha@1"]
    page = (tmp_path / "rep" / "audit.html").read_text()
    assert "Retracted inputs" in page and "RETRACTED (pii)" in page and "https://acme.example/incidents/42" in page

    # a model-version retraction shows in the lineage of its fine-tune, and affected --model reaches it
    cli("model", "retract", "base@1.0", "--reason", "superseded", "--note", "use base@2")
    lin = cli.json("lineage", "tuned@1.1")
    base = next(r for r in lin["runs"] if r["model"] == "base")  # type: ignore[index]
    assert base["retracted"]["reason"] == "superseded" and base["retracted"]["note"] == "use base@2"
    assert ("model", "base@1.0", "superseded") in [(r["kind"], r["label"], r["reason"]) for r in lin["retracted"]]  # type: ignore[index]
    assert "RETRACTED (superseded)" in cli("lineage", "tuned@1.1").stdout
    got = cli.json("affected", "base@1.0")
    assert got["kind"] == "model"  # type: ignore[index]
    assert [(r["model"], r["depth"], r["path"]) for r in got["affected"]] == [("tuned", 1, ["base@1.0", "tuned@1.1"])]  # type: ignore[index]
    # ... counts in the fine-tune's licence check (needs review: superseded), flagged in affected and used-by
    verdict = json.loads(cli("license-check", "tuned@1.1", "--use", "academic", "--json", ok=False).stdout)
    assert [(m["model"], m["decision"]) for m in verdict["model_retractions"]] == [("base@1.0", "needs-review")]
    assert verdict["decision"] == "blocked"  # alpha@1 (pii) still decides
    rows = cli.json("affected", "alpha@1")["affected"]  # type: ignore[index]
    assert [(r["model"], (r["retracted"] or {}).get("reason")) for r in rows] == [
        ("base", "superseded"),
        ("tuned", None),
    ]
    assert "base@1.0 (RETRACTED: superseded)" in cli("used-by", "alpha@1").stdout
