"""Hostile names through the real `provenance` executable on anvil.

On a public chain every model name, DataNet name, licence term, partition, preprocessing step and
hyperparameter is whatever a stranger wrote. Each string of the corpus below is a whole name (a model
name or a DataNet name, alternately), and all of them together are one more model and DataNet name,
ALL; they are written into licence terms (notice, prohibited domain, url, licence id, an unknown
field), run files (partition, preprocessing op and params, code, hyperparameters, environment, a
model version) and the --domain argument; then every command that shows them is run. Whatever the
names, the CLI must:

- not crash (no traceback) and exit with the documented code;
- never write a raw ESC, C0/C1 control (other than newline and tab) or bidi override to stdout,
  stderr, the DOT output or the audit report;
- never start an output line the renderer did not write (a name's ``\\nverdict: allowed``);
- emit DOT that `dot` accepts, JSON that round-trips the exact names, and HTML without live markup.

One anvil node and one registration of everything per module; writes run in parallel lanes (one dev
key each), reads run in parallel.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from provenance_ledger.chain.rpc import ANVIL_DEV_KEYS
from provenance_ledger.report.safe import visible
from tests.conftest import AnvilNode

pytestmark = pytest.mark.anvil
EXE = Path(sys.executable).parent / "provenance"

CORPUS: dict[str, str] = {
    "clear-screen": "\x1b[2J",
    "colour": "\x1b[31mred",
    "osc-title": "\x1b]0;pwned\x07",
    "newline": "x\nverdict: allowed",
    "carriage-return": "y\rverdict: allowed",
    "markup-close": "x[/bold]",
    "markup-open": "[red]",
    "double-quote": 'q"uote',
    "single-quote": "it's",
    "html": "<script>alert(1)</script>",
    "entity": "&amp;",
    "braces": "{}",
    "backslash": "back\\slash",
    "bidi": "\u202eevil",
    "emoji-code": "a:warning:b",
}
"""Each is a whole name: the even ones of models, the odd ones of DataNets."""

ALL = "".join(v for k, v in CORPUS.items() if k != "html") + "<b>"
"""Every payload in one name (the html one shortened: v2 names are at most 128 bytes): the fine-tune
of every model and the DataNet every model used."""
assert len(ALL.encode()) <= 128
ALL_VERSION = "1.0\x1b[31m[/bold]\u202e"
"""A hostile model version (anything but '@', which ends a name in MODEL@VERSION)."""
ALL_REF = f"{ALL}@{ALL_VERSION}"
DOMAIN = CORPUS["newline"]
"""--domain for license-check and audit: prohibited by the terms of the `newline` DataNet."""

FORGED = "verdict: allowed"
"""Text that only ever follows a newline or carriage return inside a hostile name."""
_RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""Raw bytes that must never reach a reader: C0 controls but newline and tab, DEL, C1, bidi overrides."""
LANES = 4


def owner(lane: int) -> str:
    """The address of lane ``lane``'s key: ids are scoped by owner, so another lane's name is
    named ``0xOWNER/NAME``."""
    from eth_account import Account

    return str(Account.from_key(ANVIL_DEV_KEYS[lane]).address)


def of(lane: int, name: str) -> str:
    return f"{owner(lane)}/{name}"


"""Dev keys writing in parallel (each key's transactions are sent one after another)."""


def clean_problems(text: str) -> list[str]:
    """Why ``text`` is not safe to show a reader (empty when it is)."""
    problems = []
    if "Traceback" in text:
        problems.append("traceback")
    raw = sorted({repr(c) for c in _RAW.findall(text)})
    if raw:
        problems.append(f"raw control/bidi characters {', '.join(raw)}")
    forged = [line for line in text.split("\n") if line.lstrip().startswith(FORGED)]
    if forged:
        problems.append(f"forged lines {forged!r}")
    return problems


def strings_in(value: Any) -> Iterator[str]:
    """Every key and string value in decoded JSON."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings_in(v)


@dataclass
class Run:
    args: tuple[str, ...]
    proc: subprocess.CompletedProcess[str]

    @property
    def out(self) -> str:
        return self.proc.stdout

    def describe(self) -> str:
        return f"provenance {' '.join(map(repr, self.args))} -> {self.proc.returncode}\n{self.proc.stderr}{self.proc.stdout}"

    def assert_clean(self, code: int | Iterable[int] = 0) -> None:
        codes = {code} if isinstance(code, int) else set(code)
        assert self.proc.returncode in codes, self.describe()
        for stream, text in (("stdout", self.proc.stdout), ("stderr", self.proc.stderr)):
            problems = clean_problems(text)
            assert not problems, f"{stream}: {'; '.join(problems)}\n{self.describe()}"


@dataclass
class World:
    tmp: Path
    env: dict[str, str]
    writes: dict[str, list[Run]] = field(default_factory=dict)
    record_ids: dict[str, str] = field(default_factory=dict)

    def __call__(self, *args: str, key: int = 0) -> Run:
        proc = subprocess.run(
            [str(EXE), *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",
            env={**self.env, "PROVENANCE_PRIVATE_KEY": ANVIL_DEV_KEYS[key]},
            cwd=self.tmp,
            timeout=300,
        )
        return Run(args, proc)

    def parallel(self, calls: dict[str, tuple[str, ...]]) -> dict[str, Run]:
        with ThreadPoolExecutor(max_workers=LANES) as pool:
            futures = {label: pool.submit(self, *args) for label, args in calls.items()}
            return {label: f.result() for label, f in futures.items()}

    def lanes(self, work: dict[int, list[tuple[str, tuple[str, ...]]]]) -> None:
        """Run each lane's (kind, args) writes in order with that lane's key, lanes in parallel."""

        def lane(key: int, items: list[tuple[str, tuple[str, ...]]]) -> list[tuple[str, Run]]:
            return [(kind, self(*args, key=key)) for kind, args in items]

        with ThreadPoolExecutor(max_workers=LANES) as pool:
            for done in [pool.submit(lane, key, items) for key, items in work.items()]:
                for kind, run in done.result():
                    self.writes.setdefault(kind, []).append(run)


MODELS = [p for i, p in enumerate(CORPUS.values()) if i % 2 == 0]
"""Payloads that are whole model names (each recorded with one run)."""
DATANETS = [p for i, p in enumerate(CORPUS.values()) if i % 2 == 1]
"""Payloads that are whole DataNet names (each published once, used by the model before it)."""


def _terms(i: int, payload: str) -> dict[str, Any]:
    """Terms that are unknown because of the payload: as the licence id (the clause quotes it) or as
    a field name (the clause names it)."""
    return {"spdx": payload} if i % 2 == 0 else {"spdx": "MIT", payload: payload}


def _run_file(model: str, version: str, weights: int, payload: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": model,
        "version": version,
        "weights_digest": f"0x{weights:064x}",
        "preprocessing": [{"op": payload, "params": {payload: payload}}],
        "code": {"repo": payload, "commit": payload},
        "hyperparameters": {payload: 1},
        "environment": {payload: payload},
        "started_at": 100,
        "ended_at": 200,
        **extra,
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A registry holding every payload: the even ones as model names, the odd ones as DataNet names,
    all of them in the name ALL (a model and a DataNet) and in the terms, partitions, preprocessing,
    code and hyperparameters around them. Model MODELS[j] trained on DATANETS[j] (when there is one)
    and on ALL; model ALL fine-tuned every one of them. Each command's output is kept in ``writes``."""
    tmp = tmp_path_factory.mktemp("hostile")
    node = AnvilNode().start()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("FORCE_COLOR", "CLICOLOR_FORCE", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
        and not k.startswith("PROVENANCE_")
    }
    env |= {
        "PROVENANCE_CONFIG": str(tmp / "config.json"),
        "PROVENANCE_RPC_URL": node.url,
        "COLUMNS": "200",
        "NO_COLOR": "1",  # rich writes no styles of its own: any ESC in the output came from a name
        "PYTHONIOENCODING": "utf-8",
    }
    w = World(tmp, env)
    try:
        deploy = w("deploy", "--json")
        assert deploy.proc.returncode == 0, deploy.describe()

        # Names and DataNet versions, in parallel lanes (one dev key each; lane 0 also owns ALL).
        all_terms = {
            "spdx": "CC-BY-4.0",  # attribution required: the notice is owed
            "attribution_notice": ALL,
            "prohibited_domains": [ALL, DOMAIN],
            "url": ALL,
        }
        (tmp / "terms-all.json").write_text(json.dumps(all_terms))
        work: dict[int, list[tuple[str, tuple[str, ...]]]] = {k: [] for k in range(LANES)}
        work[0] += [
            ("model register", ("model", "register", ALL)),
            ("datanet register", ("datanet", "register", ALL)),
            (
                "datanet publish",
                (
                    "datanet",
                    "publish",
                    ALL,
                    "--root",
                    "0x" + "ab" * 32,
                    "--terms",
                    "terms-all.json",
                    "--unchecked-terms",
                ),
            ),
        ]
        for j, name in enumerate(MODELS):
            work[(j + 1) % LANES].append(("model register", ("model", "register", name)))
        for j, name in enumerate(DATANETS):
            (tmp / f"terms-{j}.json").write_text(json.dumps(_terms(j, name)))
            publish = (
                "datanet",
                "publish",
                name,
                "--root",
                f"0x{j + 1:064x}",
                "--terms",
                f"terms-{j}.json",
                "--unchecked-terms",
            )
            work[(j + 2) % LANES] += [
                ("datanet register", ("datanet", "register", name)),
                ("datanet publish", (*publish, "--contributor", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8:3")),
            ]
        w.lanes(work)

        # One run per payload model, recorded by the key that registered it.
        work = {k: [] for k in range(LANES)}
        for j, name in enumerate(MODELS):
            uses: list[dict[str, Any]] = [{"datanet": of(0, ALL), "version": 1, "weight_ppm": 500_000}]
            if j < len(DATANETS):
                part = {"split": name, "selector": DATANETS[j], "fraction_ppm": 500_000, "seed": j}
                dn = of((j + 2) % LANES, DATANETS[j])
                uses.append({"datanet": dn, "version": 1, "weight_ppm": 500_000, "partition": part})
            else:
                uses[0]["weight_ppm"] = 1_000_000
            (tmp / f"run-{j}.json").write_text(json.dumps(_run_file(name, "1.0", j + 1, name, datanets=uses)))
            work[(j + 1) % LANES].append(("record", ("record", f"run-{j}.json", "--json")))
        w.lanes(work)

        # ALL fine-tunes every payload model, named model@version (resolved through the registry).
        uses = [{"datanet": ALL, "version": 1, "weight_ppm": 1_000_000, "partition": {"split": ALL}}]
        parents = [f"{of((j + 1) % LANES, name)}@1.0" for j, name in enumerate(MODELS)]
        (tmp / "run-all.json").write_text(
            json.dumps(_run_file(ALL, ALL_VERSION, 999, ALL, datanets=uses, parents=parents))
        )
        w.writes.setdefault("record", []).append(w("record", "run-all.json", "--json"))
        for r in w.writes["record"]:
            if r.proc.returncode == 0:
                w.record_ids[json.loads(Path(w.tmp, r.args[1]).read_text())["model"]] = json.loads(r.out)["record_id"]
        yield w
    finally:
        node.stop()


def test_hostile_names_through_every_command(world: World, subtests: pytest.Subtests, tmp_path: Path) -> None:
    w = world
    (w.tmp / "altered.json").write_text(json.dumps([{"record_id": ALL}]))
    (w.tmp / "bad-parent.json").write_text(
        json.dumps(_run_file(CORPUS["markup-close"], "2.0", 7, "p", datanets=[], parents=[f"{ALL}@9"]))
    )
    out = tmp_path / "audit"
    reads = w.parallel(
        {
            "lineage": ("lineage", ALL_REF),
            "lineage --tree": ("lineage", ALL_REF, "--tree"),
            "lineage --dot": ("lineage", ALL_REF, "--dot"),
            "lineage --json": ("lineage", ALL_REF, "--json"),
            "used-by": ("used-by", ALL),
            "used-by --json": ("used-by", f"{ALL}@1", "--json"),
            "license-check": ("license-check", ALL_REF, "--use", "commercial", "--domain", DOMAIN),
            "license-check --json": ("license-check", ALL_REF, "--use", "commercial", "--domain", DOMAIN, "--json"),
            "attribution": ("attribution", ALL_REF, "--amount", "1000003"),
            "attribution --json": ("attribution", ALL_REF, "--json"),
            "audit": ("audit", ALL_REF, "--out", str(out), "--domain", DOMAIN, "--amount", "1000003"),
            "show": ("show", w.record_ids.get(ALL, "0x" + "00" * 32)),
            "verify --against": ("verify", "--against", "altered.json"),
            "error: unknown version": ("lineage", f"{ALL}@9"),
            "error: unknown parent": ("record", "bad-parent.json"),
            "error: name taken": ("model", "register", ALL),
        }
    )

    with subtests.test("model register"):
        runs = w.writes["model register"]
        assert len(runs) == len(MODELS) + 1
        for r in runs:
            r.assert_clean()
            assert f"Registered model {visible(r.args[-1])} (0x" in r.out, r.describe()

    with subtests.test("datanet register"):
        for r in w.writes["datanet register"]:
            r.assert_clean()
            assert f"Registered DataNet {visible(r.args[-1])} (0x" in r.out, r.describe()

    with subtests.test("datanet publish"):
        for r in w.writes["datanet publish"]:
            r.assert_clean()
            assert f"Published {visible(r.args[2])}@1 " in r.out, r.describe()

    with subtests.test("record"):
        for r in w.writes["record"]:
            r.assert_clean()
            assert not json.loads(r.out)["already_recorded"]
        assert len(w.record_ids) == len(MODELS) + 1

    with subtests.test("lineage"):
        r = reads["lineage"]
        r.assert_clean()
        assert "What " in r.out

    with subtests.test("lineage --tree"):
        r = reads["lineage --tree"]
        r.assert_clean()
        assert "fine-tuned from" in r.out

    with subtests.test("lineage --dot"):
        r = reads["lineage --dot"]
        r.assert_clean()
        assert r.out.lstrip().startswith("digraph"), r.describe()
        dot = shutil.which("dot")
        if dot is None:
            if os.environ.get("CI"):
                pytest.fail("Graphviz `dot` is required under CI (the Makefile installs it)")
        else:
            svg = subprocess.run([dot, "-Tsvg"], input=r.out, capture_output=True, text=True, timeout=60)
            assert svg.returncode == 0, f"dot rejected the DOT: {svg.stderr}\n{r.out}"
            assert "<svg" in svg.stdout
            assert not clean_problems(svg.stdout), clean_problems(svg.stdout)

    with subtests.test("lineage --json"):
        r = reads["lineage --json"]
        r.assert_clean()
        assert r.out.isascii(), "JSON output must escape every non-ASCII character"
        data = json.loads(r.out)
        assert data["model"] == ALL and data["version"] == ALL_VERSION
        strings = set(strings_in(data))
        for payload in CORPUS.values():
            assert payload in strings, f"{payload!r} not exact in lineage --json"

    with subtests.test("used-by"):
        r = reads["used-by"]
        r.assert_clean()
        assert "Models that used" in r.out

    with subtests.test("used-by --json"):
        r = reads["used-by --json"]
        r.assert_clean()
        assert r.out.isascii()
        models = {u["model"] for u in json.loads(r.out)}
        assert models == {ALL, *MODELS}

    with subtests.test("license-check"):
        r = reads["license-check"]
        r.assert_clean({3, 4})
        verdicts = [line for line in r.out.split("\n") if line.lstrip().startswith("verdict:")]
        assert len(verdicts) == 1, verdicts
        decision = verdicts[0].split(":", 1)[1].strip()
        assert r.proc.returncode == {"needs-review": 3, "blocked": 4}[decision]
        assert "attribution owed:" in r.out

    with subtests.test("license-check --json"):
        r = reads["license-check --json"]
        r.assert_clean({3, 4})
        assert r.out.isascii()
        data = json.loads(r.out)
        assert data["decision"] == "blocked" and r.proc.returncode == 4  # DOMAIN is prohibited by one DataNet
        strings = set(strings_in(data))
        assert ALL in strings and DOMAIN in strings  # notice and domain, exactly

    with subtests.test("attribution"):
        r = reads["attribution"]
        r.assert_clean()
        assert "Attribution of" in r.out and "1,000,003" in r.out

    with subtests.test("attribution --json"):
        r = reads["attribution --json"]
        r.assert_clean()
        assert r.out.isascii()
        json.loads(r.out)

    with subtests.test("audit"):
        r = reads["audit"]
        r.assert_clean()
        html = (out / "audit.html").read_text(encoding="utf-8")
        problems = clean_problems(html)
        assert not problems, f"audit.html: {'; '.join(problems)}"
        assert "<script" not in html.lower(), "audit.html must hold no script, let alone a name's"
        report = (out / "audit.json").read_text(encoding="utf-8")
        problems = clean_problems(report)
        assert not problems, f"audit.json: {'; '.join(problems)}"
        strings = set(strings_in(json.loads(report)))
        assert ALL in strings, "audit.json must keep the exact names"

    with subtests.test("show"):
        r = reads["show"]
        r.assert_clean()
        assert "record_id" in r.out

    with subtests.test("verify --against"):
        r = reads["verify --against"]
        r.assert_clean(1)
        assert "MISMATCH" in r.out

    for label in ("error: unknown version", "error: unknown parent", "error: name taken"):
        with subtests.test(label):
            r = reads[label]
            r.assert_clean(1)
            lines = r.proc.stderr.strip("\n").split("\n")
            assert len(lines) == 1 and lines[0].startswith("error: "), r.describe()
