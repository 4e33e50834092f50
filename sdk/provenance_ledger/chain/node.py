"""Local anvil nodes: finding the pinned binary (npm's @foundry-rs), starting and stopping it."""

from __future__ import annotations

from pathlib import Path

from provenance_ledger.errors import NotFoundError

__all__ = [
    "anvil_binary",
]


def anvil_binary() -> Path:
    """The project's pinned anvil (node_modules/.bin/anvil), from the working directory or the package's tree."""
    here = Path(__file__).resolve()
    for base in [Path.cwd(), *here.parents]:
        cand = base / "node_modules" / ".bin" / "anvil"
        if cand.exists():
            return cand
    raise NotFoundError("anvil is not installed: run `make install` in the project (npm ci installs it)")
