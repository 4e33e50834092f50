"""The `provenance` command line: a thin layer over the library.

Only :class:`~provenance_ledger.errors.ProvenanceError` is caught: it is printed as one line on
stderr with exit code 1 (2 for usage errors, from click). Anything else is a bug and shows a traceback.
"""

from __future__ import annotations

import sys

import click
from rich.console import Console

from .errors import ProvenanceError

EPILOG_DEMO = "Example:\n\n    provenance demo"


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="provenance-ledger")
def cli() -> None:
    """Provenance Ledger: record how every ML model was trained, and answer "what exactly did
    this model train on?" from the chain alone."""


@cli.command(epilog=EPILOG_DEMO)
def demo() -> None:
    """Run the end-to-end story on the embedded in-process chain (nothing to start)."""
    from .demo import run_demo

    run_demo(Console())


def main(args: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        cli.main(args=args, prog_name="provenance", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ProvenanceError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
