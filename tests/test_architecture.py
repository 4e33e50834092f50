"""The package's rooms: layers import only downward, nothing forms a cycle, and start-up is light.

The import graph comes from grimp (import-linter's engine), which counts every import statement,
nested ones inside functions included.
"""

from __future__ import annotations

import subprocess
import sys

import grimp
import pytest

PACKAGE = "provenance_ledger"
LAYERS = ("cli", "report", "index", "chain", "local", "core", "errors")
"""Top to bottom: a module may import only from its own layer or the ones below it."""


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE, include_external_packages=True)


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == PACKAGE else None


def _internal_edges(graph: grimp.ImportGraph) -> dict[str, set[str]]:
    return {
        m: {t for t in graph.find_modules_directly_imported_by(m) if t.startswith(PACKAGE + ".") or t == PACKAGE}
        for m in graph.modules
        if m.startswith(PACKAGE)
    }


def test_the_import_graph_has_no_cycle(graph: grimp.ImportGraph) -> None:
    edges = _internal_edges(graph)
    assert len(edges) > 40  # the whole package was seen
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(edges, white)
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        colour[node] = grey
        for nxt in sorted(edges.get(node, ())):
            if colour.get(nxt, black) == grey:
                cycles.append([*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt])
            elif colour.get(nxt) == white:
                visit(nxt, [*path, nxt])
        colour[node] = black

    for start in sorted(edges):
        if colour[start] == white:
            visit(start, [start])
    assert cycles == []


def test_layers_import_only_downward(graph: grimp.ImportGraph) -> None:
    rank = {name: i for i, name in enumerate(LAYERS)}
    upward = [
        (src, dst)
        for src, targets in _internal_edges(graph).items()
        for dst in targets
        if _layer(src) in rank and _layer(dst) in rank and rank[_layer(dst)] < rank[_layer(src)]  # type: ignore[index]
    ]
    assert upward == []


def test_the_core_is_pure(graph: grimp.ImportGraph) -> None:
    impure = {"web3", "eth_account", "eth_tester", "click", "rich", "sqlite3", "subprocess", "socket", "requests"}
    bad = [
        (m, t)
        for m in graph.modules
        if m.startswith(f"{PACKAGE}.core")
        for t in graph.find_modules_directly_imported_by(m)
        if t.split(".")[0] in impure
    ]
    assert bad == []


def _loaded_after(code: str, *, full: bool = False) -> set[str]:
    """Modules loaded by ``code`` in a fresh interpreter: top-level packages, or full names."""
    probe = f"{code}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    return {line if full else line.split(".")[0] for line in out.stdout.splitlines()}


def test_importing_the_package_loads_no_web3() -> None:
    loaded = _loaded_after("import provenance_ledger")
    assert not loaded & {"web3", "eth_account", "eth_abi", "eth_keyfile", "py_ecc"}


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["lineage", "--help"], ["record", "--help"]])
def test_help_and_version_load_no_web3(args: list[str]) -> None:
    code = f"from provenance_ledger.cli.app import main\ntry:\n    main({args!r})\nexcept SystemExit:\n    pass"
    loaded = _loaded_after(code)
    assert "click" in loaded
    assert not loaded & {"web3", "eth_account", "eth_abi", "eth_keyfile", "py_ecc", "sqlite3", "jinja2"}


def test_the_lazy_command_list_matches_the_commands() -> None:
    """`provenance --help` lists commands without importing them: each listed short help is the one
    click would derive from the command itself, at every width."""
    from provenance_ledger.cli.app import COMMANDS, load_command, short_help

    for name in COMMANDS:
        command = load_command(name)
        assert command.name == name
        for limit in (45, 80, 1000):
            assert short_help(name, limit) == command.get_short_help_str(limit), name


def test_a_command_imports_only_its_own_module() -> None:
    loaded = _loaded_after(
        "from provenance_ledger.cli.app import main\ntry:\n    main(['lineage', '--help'])\nexcept SystemExit:\n    pass",
        full=True,
    )
    assert "provenance_ledger.cli.query" in loaded
    assert not loaded & {f"provenance_ledger.cli.{m}" for m in ("audit", "data", "node", "record", "index", "demo")}
