"""The `provenance` command line (see :mod:`provenance_ledger.cli.app`)."""
