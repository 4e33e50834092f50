"""Project configuration: which chain and which registry this project uses.

Stored as JSON in ``.provenance/config.json`` under the current directory (override with
``$PROVENANCE_CONFIG``). It holds no keys: those come from an encrypted keystore or ``$PROVENANCE_PRIVATE_KEY``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from provenance_ledger.errors import ValidationError

__all__ = [
    "DEFAULT_RPC_URL",
    "Config",
    "Deployment",
    "config_path",
]

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

    @classmethod
    def load(cls, path: Path | None = None) -> Config:
        p = path or config_path()
        if not p.exists():
            return cls()
        try:
            data = json.loads(p.read_text())
            return cls(
                rpc_url=data.get("rpc_url", DEFAULT_RPC_URL),
                deployments={k: Deployment(**v) for k, v in data.get("deployments", {}).items()},
            )
        except (ValueError, TypeError) as exc:
            raise ValidationError(str(p), f"is not a valid Provenance Ledger config ({exc})") from None

    def save(self, path: Path | None = None) -> Path:
        p = path or config_path()
        p.parent.mkdir(parents=True, exist_ok=True)
        data = {"rpc_url": self.rpc_url, "deployments": {k: asdict(v) for k, v in self.deployments.items()}}
        tmp = p.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        tmp.replace(p)
        return p
