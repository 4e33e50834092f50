"""The `provenance` command line: a thin layer over the library.

Only :class:`~provenance_ledger.errors.ProvenanceError` is caught: it is printed as one line on
stderr with exit code 1 (usage errors exit 2, from click). Anything else is a bug and shows a traceback.
Error messages may quote names read from the chain or a file, so they pass through
:func:`provenance_ledger.report.safe.visible` (no terminal escapes, no forged lines).

Each command lives in a module of this package over :mod:`provenance_ledger.cli._common`; this module
only assembles them. Nothing here imports web3 (commands import what they use when they run).
"""

from __future__ import annotations

import io
import sys

import click

from provenance_ledger.cli import alias, audit, data, index, node, query, record, registry
from provenance_ledger.errors import ProvenanceError
from provenance_ledger.report import safe


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
    epilog="Examples:\n\n\b\n"
    "    provenance demo                                   # the whole story on an in-process chain\n"
    "    provenance license-check acme-support@1.1 --use commercial --domain medical\n"
    "    provenance lineage --help                         # every command's help ends with examples",
)
@click.version_option(package_name="provenance-ledger")
def cli() -> None:
    """Provenance Ledger: record how every ML model was trained, and answer "what exactly did this
    model train on?" from the chain alone.

    \b
    Quick start (local node):
      provenance node &                      # anvil with state persisted to .provenance/anvil-state.json
      export PROVENANCE_PRIVATE_KEY=0xac09…  # one of the dev keys `provenance node` prints
      provenance deploy
      provenance model register my-model
      provenance datanet register my-data
      provenance datanet publish my-data --root 0x… --spdx CC-BY-4.0
      provenance record run.yaml
      provenance lineage my-model@1.0 --tree
    """


for command in (
    node.demo,
    node.node,
    node.deploy,
    registry.model,
    registry.datanet,
    record.record,
    record.submit,
    alias.alias,
    query.lineage,
    query.used_by,
    record.show,
    record.verify,
    query.license_check,
    query.attribution_cmd,
    audit.audit,
    index.index,
):
    cli.add_command(command)
data.register(cli, registry.datanet)  # datanet fingerprint, verify-data, verify-model


def main(args: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        cli.main(args=args, prog_name="provenance", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        # Usage errors quote arguments (a path, a name): keep click's lines, but show controls as escapes.
        shown = io.StringIO()
        exc.show(file=shown)
        click.echo("\n".join(safe.visible(line) for line in shown.getvalue().rstrip("\n").split("\n")), err=True)
        sys.exit(exc.exit_code)
    except ProvenanceError as exc:
        click.echo(f"error: {safe.visible(exc)}", err=True)
        sys.exit(1)
