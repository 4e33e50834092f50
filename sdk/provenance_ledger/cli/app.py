"""The `provenance` command line: a thin layer over the library.

Only :class:`~provenance_ledger.errors.ProvenanceError` is caught: it is printed as one line on
stderr with exit code 1 (usage errors exit 2, from click). Anything else is a bug and shows a traceback.
Error messages may quote names read from the chain or a file, so they pass through
:func:`provenance_ledger.report.safe.visible` (no terminal escapes, no forged lines).

Each command lives in a module of this package over :mod:`provenance_ledger.cli._common`; this module
only names them (:data:`COMMANDS`) and imports one when it runs. Nothing here imports web3 (commands import what they use when they run).
"""

from __future__ import annotations

import io
import sys

import click

from provenance_ledger.errors import ProvenanceError

__all__ = [
    "COMMANDS",
    "LazyGroup",
    "cli",
    "load_command",
    "main",
    "short_help",
]

COMMANDS: dict[str, tuple[str, str]] = {
    "affected": (
        "affected:affected",
        "Which model versions descend from NAME@VERSION (a DataNet version, or a model version), directly or "
        "through fine-tunes, and by which path? What a retraction reaches.",
    ),
    "alias": (
        "alias:alias",
        "Local names for other accounts: `ALIAS/NAME` then names that account's model or DataNet NAME.",
    ),
    "attribution": (
        "query:attribution_cmd",
        "Shares of MODEL@VERSION per DataNet version and per contributor (exact), and a reward split.",
    ),
    "audit": (
        "audit:audit",
        "Audit report of MODEL@VERSION: its complete lineage drawn as a graph, every run and its preprocessing, "
        "the licence verdict with the deciding clauses, the attribution notices and share-alike obligations owed, "
        "the shares per DataNet version and contributor, and a reward split.",
    ),
    "datanet": ("registry:datanet", "Register DataNets and publish their immutable, content-addressed versions."),
    "demo": ("node:demo", "Run the end-to-end story on the embedded in-process chain (nothing to start)."),
    "deploy": ("node:deploy", "Deploy a new registry and remember its address in .provenance/config.json."),
    "evidence": (
        "evidence:evidence",
        "Write an evidence bundle of MODEL@VERSION: everything needed to check its whole lineage offline.",
    ),
    "index": (
        "index:index",
        "A local SQLite index of every registry event: lineage and used-by answered in milliseconds at a million "
        "records, verified on read.",
    ),
    "license-check": (
        "query:license_check",
        "Is USE of MODEL@VERSION allowed by the licences of every DataNet in its transitive lineage? The most "
        "restrictive terms win; unknown terms need review.",
    ),
    "lineage": (
        "query:lineage",
        "What exactly did MODEL@VERSION train on? Every run, DataNet version, weight, partition, preprocessing "
        "step and parent model, rebuilt from event logs (or the local index, when up to date) and verified "
        "against the chain.",
    ),
    "model": ("registry:model", "Register models and authorise the trainers that may record their runs."),
    "node": (
        "node:node",
        "Start a local anvil node whose chain survives restarts (Ctrl-C stops it and saves the state).",
    ),
    "prove-contribution": (
        "evidence:prove_contribution",
        "Prove that FILE is in DATANET@VERSION and that MODEL@VERSION trained on it: a bundle verify-evidence accepts.",
    ),
    "record": (
        "record:record",
        "Record the training runs described in RUN_FILE... (idempotent: a run already on chain, recorded or "
        "anchored, is never sent again; several files go in one transaction).",
    ),
    "submit": (
        "record:submit",
        "Send runs signed by their trainers (EIP-712) from any funded account; the signers stay the recorders.",
    ),
    "show": ("record:show", "Show one training-run record, verified against its on-chain hash."),
    "used-by": (
        "query:used_by",
        "Which model versions used DATANET (or one version of it), directly or through fine-tunes?",
    ),
    "verify": (
        "record:verify",
        "Re-derive every record (or one model's) from the logs and check each against its on-chain hash; "
        "exits 1 on any mismatch.",
    ),
    "verify-data": (
        "data:verify_data",
        "Is the local folder DIR exactly a published DataNet version, or exactly what a model trained on?",
    ),
    "verify-evidence": (
        "evidence:verify_evidence",
        "Check an evidence bundle offline against trusted block hashes and print the verified lineage.",
    ),
    "verify-model": (
        "data:verify_model",
        "Are the weights in DIR the ones recorded for MODEL@VERSION? Compares weights_digest(DIR) with the "
        "weights_digest of the version's recorded run(s).",
    ),
}
"""Command name -> (module:attribute under provenance_ledger.cli, short help). A command's module is
imported only when that command runs (or its own --help is asked for), so `provenance --help` loads no
command module at all; tests/test_architecture.py checks that each short help here is the command's own."""


def load_command(name: str) -> click.Command:
    """The click command ``name``, importing its module."""
    import importlib

    module, attr = COMMANDS[name][0].split(":")
    command = getattr(importlib.import_module(f"provenance_ledger.cli.{module}"), attr)
    if not isinstance(command, click.Command):
        raise TypeError(f"{module}:{attr} is not a click command")
    return command


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (see :data:`COMMANDS`)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return load_command(cmd_name) if cmd_name in COMMANDS else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = [(n, short_help(n, limit)) for n in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def short_help(name: str, limit: int = 45) -> str:
    """The short help `provenance --help` lists for ``name``, without importing its module (a stub
    command carries the same text, so click shortens it exactly as it would the real one)."""
    return click.Command(name, help=COMMANDS[name][1]).get_short_help_str(limit)


@click.group(
    cls=LazyGroup,
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


def main(args: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        cli.main(args=args, prog_name="provenance", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        # Usage errors quote arguments (a path, a name): keep click's lines, but show controls as escapes.
        from provenance_ledger.report import safe

        shown = io.StringIO()
        exc.show(file=shown)
        click.echo("\n".join(safe.visible(line) for line in shown.getvalue().rstrip("\n").split("\n")), err=True)
        sys.exit(exc.exit_code)
    except ProvenanceError as exc:
        from provenance_ledger.report import safe

        click.echo(f"error: {safe.visible(exc)}", err=True)
        sys.exit(1)
