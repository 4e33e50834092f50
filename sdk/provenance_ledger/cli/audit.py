"""`provenance audit`: write the audit report of a model version (audit.json + audit.html).

Added to the ``provenance`` group by :mod:`provenance_ledger.cli.app`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from provenance_ledger.cli._common import chain_options, console, emit, split_ref
from provenance_ledger.core.units import PARENT_SHARE_PPM, PPM, USES
from provenance_ledger.errors import ValidationError
from provenance_ledger.report import safe

__all__ = [
    "audit",
]

_EPILOG = (
    "Examples:\n\n\b\n    provenance audit acme-support@1.1 --out audit/\n"
    "    provenance audit acme-support@1.1 --out audit/ --use commercial --domain medical --amount 1000003\n\n"
    "Open audit/audit.html in any browser (one self-contained file: no scripts, nothing loaded from the network). "
    "The exit code is 0 whatever the verdict; use `provenance license-check` to gate on it."
)

_PARAMS = (  # outermost first, as they would be written as decorators
    click.argument("ref", metavar="MODEL@VERSION"),
    click.option(
        "--out",
        "out_dir",
        required=True,
        type=click.Path(file_okay=False),
        help="Directory to write audit.json and audit.html into (created if needed).",
    ),
    click.option(
        "--use",
        "use",
        type=click.Choice(list(USES)),
        default="commercial",
        show_default=True,
        help="Intended use to judge.",
    ),
    click.option("--domain", help="Application domain, e.g. medical."),
    click.option(
        "--at", "at_time", type=click.IntRange(0), help="Unix time to judge licence expiry at (default: now)."
    ),
    click.option(
        "--amount",
        type=click.IntRange(0),
        help="Also split this many smallest units of a reward exactly among contributors.",
    ),
    click.option(
        "--parent-share",
        default=PARENT_SHARE_PPM,
        show_default=True,
        type=click.IntRange(0, PPM),
        help="Parts per million of a fine-tune's credit passed to its parent models.",
    ),
)


def _audit(
    env: Any,
    as_json: bool,
    ref: str,
    out_dir: str,
    use: str,
    domain: str | None,
    at_time: int | None,
    amount: int | None,
    parent_share: int,
) -> None:
    """Audit report of MODEL@VERSION: its complete lineage drawn as a graph, every run and its
    preprocessing, the licence verdict with the deciding clauses, the attribution notices and
    share-alike obligations owed, the shares per DataNet version and contributor, and a reward split."""
    from provenance_ledger.report.audit import build_report, write_report

    name, version = split_ref(ref, "MODEL@VERSION")
    _check_out_dir(out_dir)  # before connecting, and without creating anything yet
    reg = env.registry()
    lineage = reg.lineage(name, version)
    report = build_report(
        lineage,
        use=use,
        domain=domain,
        at_time=int(time.time()) if at_time is None else at_time,
        amount=amount,
        parent_share_ppm=parent_share,
        source={"chain_id": int(env.w3.eth.chain_id), "registry": reg.address},
    )
    try:
        json_path, html_path = write_report(report, out_dir)
    except OSError as exc:
        raise ValidationError(out_dir, f"cannot be written: {exc.strerror or exc}") from None

    def human() -> None:
        decision = safe.markup(report["license"]["decision"])
        console.print(
            f"verdict for {use} use of {safe.markup(ref)}: [bold]{decision}[/bold]", highlight=False, soft_wrap=True
        )
        click.echo(safe.visible(json_path))
        click.echo(safe.visible(html_path))

    emit({"json": str(json_path), "html": str(html_path), "decision": report["license"]["decision"]}, as_json, human)


def _check_out_dir(out_dir: str) -> None:
    """An --out that cannot become a writable directory is an error before anything else happens;
    nothing is created until the report is written."""
    import os

    path = Path(out_dir)
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise ValidationError(out_dir, f"cannot be created as a directory: {probe} is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ValidationError(out_dir, f"cannot be created as a directory: {probe} is not writable")


def _build() -> click.Command:
    fn: Any = _audit
    for param in reversed(_PARAMS):
        fn = param(fn)
    return click.command("audit", epilog=_EPILOG)(chain_options(fn))


audit: click.Command = _build()
"""The ``provenance audit`` command."""
