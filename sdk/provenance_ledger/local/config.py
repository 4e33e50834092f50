"""Project configuration: which chain and which registry this project uses.

Stored as JSON in ``.provenance/config.json`` under the current directory (override with
``$PROVENANCE_CONFIG``). It holds no keys: those come from an encrypted keystore or ``$PROVENANCE_PRIVATE_KEY``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from provenance_ledger.errors import ValidationError

__all__ = [
    "DEFAULT_RPC_URL",
    "Config",
    "Deployment",
    "config_path",
]

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_ALIAS = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")

DEFAULT_RPC_URL = "http://127.0.0.1:8545"
"""The local node started by ``provenance node``."""


def config_path() -> Path:
    return Path(os.environ.get("PROVENANCE_CONFIG", ".provenance/config.json"))


@dataclass(kw_only=True)
class Deployment:
    """A registry deployed on one chain."""

    address: str
    chain_id: int
    block: int
    rpc_url: str


@dataclass(kw_only=True)
class Config:
    rpc_url: str = DEFAULT_RPC_URL
    deployments: dict[str, Deployment] = field(default_factory=dict)
    """Keyed by chain id (as a string)."""
    aliases: dict[str, str] = field(default_factory=dict)
    """Local names for other accounts: ``ALIAS/NAME`` names the model or DataNet NAME of that address."""

    def resolve_owner(self, owner: str) -> str:
        """An OWNER given as a 0x address (returned as given) or an alias of this project; else ValidationError."""
        if _ADDRESS.fullmatch(owner):
            return owner
        address = self.aliases.get(owner)
        if address is None:
            known = ", ".join(sorted(self.aliases)) or "none"
            raise ValidationError(
                "owner",
                f"{owner!r} is neither an address nor an alias (aliases: {known}; add one with `provenance alias add`)",
            )
        return address

    def resolve_ref(self, ref: str) -> str:
        """``ALIAS/NAME`` -> ``0xADDRESS/NAME``; ``0xADDRESS/NAME`` and bare names unchanged.

        Only the part before the first ``/`` can be an owner; a bare name stays the signer's own."""
        head, sep, tail = ref.partition("/")
        if not sep or not head or _ADDRESS.fullmatch(head) or head not in self.aliases:
            return ref
        return f"{self.aliases[head]}/{tail}"

    @classmethod
    def load(cls, path: Path | None = None) -> Config:
        p = path or config_path()
        if not p.exists():
            return cls()
        try:
            data = json.loads(p.read_text())
            aliases = data.get("aliases", {})
            if not isinstance(aliases, dict) or not all(
                isinstance(k, str) and isinstance(v, str) and _ADDRESS.fullmatch(v) for k, v in aliases.items()
            ):
                raise TypeError("aliases must map names to 0x addresses")
            return cls(
                rpc_url=data.get("rpc_url", DEFAULT_RPC_URL),
                deployments={k: Deployment(**v) for k, v in data.get("deployments", {}).items()},
                aliases=dict(aliases),
            )
        except (ValueError, TypeError) as exc:
            raise ValidationError(str(p), f"is not a valid Provenance Ledger config ({exc})") from None

    def add_alias(self, alias: str, address: str) -> None:
        """Name ``address`` ``alias`` in this project (letters, digits, ``_.-``; starts with a letter)."""
        if not _ALIAS.fullmatch(alias) or _ADDRESS.fullmatch(alias):
            raise ValidationError(
                "alias", f"must be a letter then up to 63 letters, digits, '_', '.' or '-': {alias!r}"
            )
        if not _ADDRESS.fullmatch(address):
            raise ValidationError("address", f"not a 0x address: {address!r}")
        self.aliases[alias] = address

    def save(self, path: Path | None = None) -> Path:
        p = path or config_path()
        p.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "rpc_url": self.rpc_url,
            "deployments": {k: asdict(v) for k, v in self.deployments.items()},
            "aliases": dict(sorted(self.aliases.items())),
        }
        tmp = p.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        tmp.replace(p)
        return p
