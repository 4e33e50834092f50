"""`provenance alias`: local names for other accounts, so that `ALIAS/NAME` names their models and DataNets.

Ids are scoped by owner: a bare name is the signer's own, and another account's model or DataNet is
named ``0xADDRESS/NAME`` or, with an alias kept in ``.provenance/config.json``, ``ALIAS/NAME``.
"""

from __future__ import annotations

import click

from provenance_ledger.cli._common import console, emit
from provenance_ledger.report import safe

__all__ = [
    "alias",
    "alias_add",
    "alias_list",
    "alias_remove",
]


@click.group(
    "alias",
    epilog="Examples:\n\n\b\n"
    "    provenance alias add acme 0x70997970C51812dc3A010C7d01b50e0d17dc79C8\n"
    "    provenance lineage acme/support-bot@1.1\n"
    "    provenance alias list --json",
)
def alias() -> None:
    """Local names for other accounts: `ALIAS/NAME` then names that account's model or DataNet NAME."""


@alias.command("add", epilog="Example:\n\n    provenance alias add acme 0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
@click.argument("name")
@click.argument("address")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")
def alias_add(name: str, address: str, as_json: bool) -> None:
    """Call ADDRESS by NAME in this project (replaces an earlier alias of that name)."""
    from provenance_ledger.core.address import checksum_address
    from provenance_ledger.local.config import Config

    config = Config.load()
    checksum = checksum_address(address)
    config.add_alias(name, checksum)
    path = config.save()
    emit(
        {"alias": name, "address": checksum, "config": str(path)},
        as_json,
        lambda: console.print(safe.markup(f"{name} = {checksum}  (saved to {path})"), highlight=False),
    )


@alias.command("remove", epilog="Example:\n\n    provenance alias remove acme")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")
def alias_remove(name: str, as_json: bool) -> None:
    """Forget the alias NAME."""
    from provenance_ledger.errors import NotFoundError
    from provenance_ledger.local.config import Config

    config = Config.load()
    if config.aliases.pop(name, None) is None:
        raise NotFoundError(f"no alias {safe.visible(name)!r}")
    config.save()
    emit({"alias": name, "removed": True}, as_json, lambda: console.print(safe.markup(f"removed {name}")))


@alias.command("list", epilog="Example:\n\n    provenance alias list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")
def alias_list(as_json: bool) -> None:
    """The aliases of this project."""
    from provenance_ledger.local.config import Config

    aliases = Config.load().aliases

    def human() -> None:
        if not aliases:
            console.print("no aliases (add one with `provenance alias add NAME ADDRESS`)")
        for name, address in sorted(aliases.items()):
            console.print(safe.markup(f"{name}  {address}"), highlight=False)

    emit(dict(sorted(aliases.items())), as_json, human)
