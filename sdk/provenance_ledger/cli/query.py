"""`provenance lineage`, `used-by`, `license-check` and `attribution`: the questions asked of a model or a DataNet."""

from __future__ import annotations

import sys

import click

from provenance_ledger.cli._common import Env, chain_options, console, emit, split_ref
from provenance_ledger.errors import ValidationError
from provenance_ledger.report import safe

__all__ = [
    "attribution_cmd",
    "license_check",
    "lineage",
    "used_by",
]


@click.command(
    epilog="Examples:\n\n    provenance lineage acme-support@1.1\n\n    provenance lineage acme-support@1.1 --tree\n\n    provenance lineage acme-support@1.1 --dot | dot -Tsvg > lineage.svg"
)
@chain_options
@click.argument("ref", metavar="MODEL@VERSION")
@click.option("--tree", is_flag=True, help="Show as a tree.")
@click.option("--dot", is_flag=True, help="Graphviz DOT output.")
@click.option("--no-index", is_flag=True, help="Read event logs even when an up-to-date local index exists.")
def lineage(env: Env, as_json: bool, ref: str, tree: bool, dot: bool, no_index: bool) -> None:
    """What exactly did MODEL@VERSION train on? Every run, DataNet version, weight, partition,
    preprocessing step and parent model, rebuilt from event logs (or the local index, when up to
    date) and verified against the chain."""
    from provenance_ledger.cli._common import source_for
    from provenance_ledger.report import terminal as render

    name, version = split_ref(ref, "MODEL@VERSION")
    lin = source_for(env, use_index=not no_index).lineage(name, version)
    if dot:
        click.echo(render.lineage_dot(lin), nl=False)
        return
    emit(lin.to_dict(), as_json, lambda: console.print(render.lineage_tree(lin) if tree else render.lineage_table(lin)))


@click.command(
    "used-by", epilog="Examples:\n\n    provenance used-by openwiki-en\n\n    provenance used-by openwiki-en@2 --json"
)
@chain_options
@click.argument("ref", metavar="DATANET[@VERSION]")
@click.option("--no-index", is_flag=True, help="Read event logs even when an up-to-date local index exists.")
def used_by(env: Env, as_json: bool, ref: str, no_index: bool) -> None:
    """Which model versions used DATANET (or one version of it), directly or through fine-tunes?"""
    from provenance_ledger.cli._common import resolve_ref, source_for, stderr_console
    from provenance_ledger.report import terminal as render

    name, sep, v = ref.rpartition("@")
    if not sep:
        name, version = ref, None
    else:
        if not v.isdigit():
            raise ValidationError("DATANET@VERSION", f"version must be a number, got {v!r}")
        version = int(v)
    usages = source_for(env, use_index=not no_index).models_trained_on(resolve_ref(name), version)
    emit([u.to_dict() for u in usages], as_json, lambda: console.print(render.usage_table(ref, usages)))
    for line in render.unreadable_lines(getattr(usages, "unreadable", ())):
        stderr_console().print(line, style="yellow", highlight=False, markup=False)


@click.command(
    "license-check",
    epilog="Examples:\n\n    provenance license-check acme-support@1.1 --use commercial --domain medical\n\n"
    "Exit code: 0 allowed, 3 needs-review, 4 blocked.",
)
@chain_options
@click.argument("ref", metavar="MODEL@VERSION")
@click.option("--use", "use", type=click.Choice(["commercial", "non-commercial", "academic"]), required=True)
@click.option("--domain", help="Application domain, e.g. medical.")
@click.option("--at", "at_time", type=click.IntRange(0), help="Unix time to judge expiry at (default: now).")
def license_check(env: Env, as_json: bool, ref: str, use: str, domain: str | None, at_time: int | None) -> None:
    """Is USE of MODEL@VERSION allowed by the licences of every DataNet in its transitive lineage?
    The most restrictive terms win; unknown terms need review."""
    import time

    from rich.table import Table

    from provenance_ledger.core.licensing import check_use

    name, version = split_ref(ref, "MODEL@VERSION")
    lin = env.registry().lineage(name, version)
    verdict = check_use(lin, use=use, domain=domain, at_time=int(time.time()) if at_time is None else at_time)

    def human() -> None:
        # Labels, licence ids, clauses and notices are whatever the DataNets' publishers wrote.
        t = Table(title=safe.text(f"{use} use of {ref}" + (f" in {domain}" if domain else "")))
        for col in ("DataNet version", "reached via", "licence", "decision", "clause"):
            t.add_column(col, overflow="fold")
        for f in verdict.findings:
            t.add_row(
                safe.text(f.label),
                safe.text(" → ".join(f.reached_via)),
                safe.text(f.spdx),
                safe.text(f.decision),
                safe.text(f.clause),
            )
        console.print(t)
        for m in verdict.model_retractions:
            console.print(
                f"retracted model version {safe.markup(m.model)} (via {safe.markup(' → '.join(m.reached_via))}):"
                f" {safe.markup(m.decision)}: {safe.markup(m.clause)}",
                highlight=False,
                soft_wrap=True,
            )
        # One line per print, never wrapped: no text of a notice can start a line of its own.
        for n in verdict.notice_texts:
            console.print(f"attribution owed: {safe.markup(n)}", highlight=False, soft_wrap=True)
        if verdict.share_alike_required:
            licences = ", ".join(safe.markup(x) for x in verdict.share_alike_licences)
            console.print(f"share-alike applies: {licences}", highlight=False, soft_wrap=True)
        console.print(f"[bold]verdict: {safe.markup(verdict.decision)}[/bold]", soft_wrap=True)

    emit(verdict.to_dict(), as_json, human)
    sys.exit({"allowed": 0, "needs-review": 3, "blocked": 4}[verdict.decision])


@click.command(
    "attribution",
    epilog="Examples:\n\n    provenance attribution acme-support@1.1\n\n    provenance attribution acme-support@1.1 --amount 1000003",
)
@chain_options
@click.argument("ref", metavar="MODEL@VERSION")
@click.option("--amount", type=click.IntRange(0), help="Split this many smallest units exactly among contributors.")
@click.option(
    "--parent-share",
    default=500_000,
    show_default=True,
    type=click.IntRange(0, 1_000_000),
    help="Parts per million of a fine-tune's credit passed to its parent models.",
)
def attribution_cmd(env: Env, as_json: bool, ref: str, amount: int | None, parent_share: int) -> None:
    """Shares of MODEL@VERSION per DataNet version and per contributor (exact), and a reward split."""
    from rich.table import Table

    from provenance_ledger.core.attribution import attribution, split

    name, version = split_ref(ref, "MODEL@VERSION")
    att = attribution(env.registry().lineage(name, version), parent_share_ppm=parent_share)
    payout = split(att, amount) if amount is not None else None
    data = att.to_dict() | ({"split": [{"recipient": r, "amount": a} for r, a in payout]} if payout is not None else {})

    def human() -> None:
        t = Table(title=safe.text(f"Attribution of {ref}"))
        t.add_column("DataNet version", overflow="fold")
        t.add_column("share", justify="right")
        for d in att.datanets:
            t.add_row(safe.text(d.label), f"{d.ppm / 10_000:.4f}%")
        console.print(t)
        c = Table(title="Contributors")
        c.add_column("recipient", overflow="fold")
        c.add_column("share", justify="right")
        if payout is not None:
            c.add_column(f"of {amount:,}", justify="right")
        paid = dict(payout or [])
        for x in att.contributors:
            c.add_row(
                safe.text(x.recipient),
                f"{x.ppm / 10_000:.4f}%",
                *([f"{paid.get(x.recipient, 0):,}"] if payout is not None else []),
            )
        console.print(c)

    emit(data, as_json, human)
