"""`provenance demo` tells the whole story and its answer names every input."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from provenance_ledger.cli.demo import run_demo


def test_demo_answers_with_the_complete_lineage(tmp_path: Path) -> None:
    out = io.StringIO()
    facts = run_demo(Console(file=out, width=220), workdir=tmp_path)
    text = out.getvalue()
    assert facts["duplicate_tx"] is None  # recording the same run twice: same hash, no second record
    for needle in (
        "support-tickets@2",
        "openwiki-en@2",
        "support-tickets@1",  # every DataNet version
        "100%",
        "70%",
        "30%",  # weights
        "selector=tickets/*.jsonl",
        "fraction=80%",
        "seed=7",  # partition
        'dedupe(method="minhash", num_perm=128, threshold=0.85)',
        "length_filter(max_chars=20000, min_chars=200)",
        "fine-tuned from",
        "acme-base@1.0",  # parent model
        "0x" + facts["tuned_record"].hex(),
        "block",  # record hash and block
        "via 1 fine-tune",  # reverse query is transitive
    ):
        assert needle in text, needle
    nodes = [n for _, n in facts["lineage"].walk()]
    assert [n.label for n in nodes] == ["acme-support@1.1", "acme-base@1.0"]
    assert all(d.info.content_root != bytes(32) for n in nodes for d in n.datanets)


def test_demo_is_deterministic(tmp_path: Path) -> None:
    a = run_demo(Console(file=io.StringIO()), workdir=tmp_path / "a")
    b = run_demo(Console(file=io.StringIO()), workdir=tmp_path / "b")
    assert a["tuned_record"] == b["tuned_record"] and a["published"] == b["published"]


def test_demo_command_runs() -> None:
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "provenance"), "demo"], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert "Q1: what exactly did acme-support@1.1 train on?" in proc.stdout
