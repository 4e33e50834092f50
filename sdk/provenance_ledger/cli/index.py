"""`provenance index`: keep a local SQLite index of the registry's events (a cache; the chain is the truth).

What `provenance lineage` and `provenance used-by` read from is chosen by
:func:`provenance_ledger.cli._common.source_for`: the index when a fresh one exists for this
registry and chain, else the event logs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from provenance_ledger.cli._common import Env, chain_options, console, emit, index_path, stderr_console
from provenance_ledger.errors import ProvenanceError, ValidationError
from provenance_ledger.report.safe import markup

__all__ = [
    "db_option",
    "index",
    "status_cmd",
    "sync_cmd",
    "verify_cmd",
]

db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False),
    envvar="PROVENANCE_INDEX",
    help="Index file (default: .provenance/index-<chainid>.sqlite).",
)


@click.group(
    "index",
    epilog="Examples:\n\n\b\n"
    "    provenance index sync\n"
    "    provenance index status\n"
    "    provenance lineage acme-support@1.1   # answered from the index once it is up to date",
)
def index() -> None:
    """A local SQLite index of every registry event: lineage and used-by answered in milliseconds at a
    million records, verified on read. `lineage` and `used-by` use it when it is up to date."""


@contextmanager
def _block_progress(description: str, *, disable: bool) -> Iterator[Callable[[int, int], None]]:
    """A transient progress bar on stderr over blocks; yields the (done, total) callback to report to."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("blocks"),
        TimeElapsedColumn(),
        console=stderr_console(),
        transient=True,
        disable=disable,
    ) as bar:
        task = bar.add_task(description, total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield progress


def _check_db_path(db: str) -> None:
    """An index file that cannot be created (its folder is a file, or unwritable) is a one-line error."""
    from pathlib import Path

    parent = Path(db).parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValidationError(db, f"cannot be created: {exc.strerror or exc} ({parent})") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValidationError(db, f"cannot be created: {parent} is not writable")


@index.command(
    "sync",
    epilog="Examples:\n\n    provenance index sync\n\n    provenance index sync --confirmations 12 --db /data/mainnet.sqlite",
)
@chain_options
@db_option
@click.option(
    "--confirmations",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="Keep the newest N blocks out of the index (they may still be reorganised).",
)
@click.option("--rebuild", is_flag=True, help="Delete the index (and its key) first and read every event again.")
def sync_cmd(env: Env, as_json: bool, db: str | None, confirmations: int, rebuild: bool) -> None:
    """Read every registry event since the last sync into the index (incremental, reorg-safe)."""
    from provenance_ledger.index.store import Index, key_path

    if db is not None:
        _check_db_path(db)  # before connecting
    reg = env.registry()
    path = index_path(env, db)
    _check_db_path(str(path))
    if rebuild:
        for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"), key_path(path)):
            p.unlink(missing_ok=True)
    with Index(path) as idx:
        with _block_progress("syncing", disable=as_json) as progress:
            r = idx.sync(reg, confirmations=confirmations, progress=progress)
        st = idx.status()
    data = {
        "db": str(path),
        "chain_id": st.chain_id,
        "registry": st.address,
        "from_block": r.from_block if r.blocks else None,
        "to_block": r.to_block,
        "blocks": r.blocks,
        "events": r.events,
        "records": r.records,
        "rewound_to": r.rewound_to,
        "seconds": round(r.seconds, 3),
        "events_per_second": round(r.events_per_second),
        "total_records": st.counts["runs"],
    }

    def human() -> None:
        if r.rewound_to is not None:
            console.print(
                f"[yellow]chain reorganised:[/yellow] dropped everything from block {r.rewound_to} and read it again"
            )
        if r.blocks:
            console.print(
                f"Synced blocks {r.from_block:,}..{r.to_block:,} ({r.blocks:,} blocks): {r.events:,} events, "
                f"{r.records:,} new records in {r.seconds:.2f} s ({r.events_per_second:,.0f} events/s)"
            )
        else:
            console.print(f"Already up to date at block {r.to_block:,}")
        console.print(
            f"  {markup(path)}: {st.counts['runs']:,} records of registry {markup(st.address)} on chain {st.chain_id}"
        )

    emit(data, as_json, human)


@index.command("status", epilog="Example:\n\n    provenance index status --json")
@chain_options
@db_option
def status_cmd(env: Env, as_json: bool, db: str | None) -> None:
    """What the index holds, and whether it is up to date with the chain."""
    from provenance_ledger.index.store import Index

    path = index_path(env, db)
    with Index(path, create=False) as idx:
        st = idx.status()
        head: int | None = None
        fresh: bool | None = None
        try:
            reg = env.registry()
            head = int(reg.w3.eth.block_number)
            fresh = idx.is_fresh(reg)
        except ProvenanceError:
            pass
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())
    data = {
        "db": str(path),
        "chain_id": st.chain_id,
        "registry": st.address,
        "from_block": st.from_block,
        "last_block": st.last_block,
        "head": head,
        "confirmations": st.confirmations,
        "fresh": fresh,
        "bytes": size,
        "counts": st.counts,
    }

    def human() -> None:
        state = (
            "unknown (chain unreachable)"
            if fresh is None
            else "[green]up to date[/green]"
            if fresh
            else "[yellow]behind: run `provenance index sync`[/yellow]"
        )
        console.print(
            f"[bold]{markup(path)}[/bold] ({size / 1e6:,.1f} MB): registry {markup(st.address)} on chain {st.chain_id}"
        )
        console.print(
            f"  blocks {st.from_block}..{st.last_block} of {head if head is not None else '?'}; confirmations {st.confirmations}; {state}"
        )
        c = st.counts
        console.print(
            f"  {c['runs']:,} records, {c['datanet_uses']:,} DataNet uses, {c['parents']:,} parent edges, {c['anchors']:,} anchored batches; "
            f"{c['models']:,} models, {c['datanets']:,} DataNets ({c['datanet_versions']:,} versions)"
        )

    emit(data, as_json, human)


@index.command(
    "verify",
    epilog="Examples:\n\n    provenance index verify\n\n    provenance index verify --span 50000 --json",
)
@chain_options
@db_option
@click.option(
    "--span",
    default=10_000,
    show_default=True,
    type=click.IntRange(1),
    help="Blocks per range: each range's rows get one digest on each side.",
)
def verify_cmd(env: Env, as_json: bool, db: str | None, span: int) -> None:
    """Compare every row of the index with the chain (re-reading the registry's logs): exits 1 and
    names each deleted, inserted or altered row, with its block range, if they differ."""
    from provenance_ledger.index.store import Index

    path = index_path(env, db)
    with Index(path, create=False) as idx:
        reg = env.registry()
        with _block_progress("re-reading the chain", disable=False) as progress:
            report = idx.verify(reg, span=span, progress=progress)
    data = report.as_dict()

    def human() -> None:
        rows = sum(c["index"] for c in report.counts.values())
        if report.ok:
            console.print(
                f"[green]The index agrees with the chain[/green]: {rows:,} rows, blocks "
                f"{report.from_block:,}..{report.to_block:,} ({len(report.ranges)} ranges of {span:,} blocks)"
            )
            return
        console.print(
            f"[red]The index differs from the chain[/red] in {len(report.differences):,} rows "
            f"(blocks {report.from_block:,}..{report.to_block:,}):"
        )
        for table, c in report.counts.items():
            if c["index"] != c["chain"]:
                console.print(f"  {table}: {c['index']:,} rows in the index, {c['chain']:,} on the chain")
        for d in report.differences:
            lo, hi = d["range"]
            where = f"blocks {lo}..{hi}" if lo is not None else "no block"
            console.print(f"  {d['change']} {markup(d['table'])} row {markup(d['key'])} ({where})")
        console.print("  Rebuild it: provenance index sync --rebuild")

    emit(data, as_json, human)
    sys.exit(0 if report.ok else 1)
