"""The one exception hierarchy of Provenance Ledger.

Every error the library raises for a user mistake, a chain failure or a failed check derives from
:class:`ProvenanceError`; the CLI catches only that root and prints its message on one line.
"""

from __future__ import annotations

__all__ = [
    "ChainError",
    "ContractRevertError",
    "NotFoundError",
    "ProvenanceError",
    "ValidationError",
    "VerificationError",
]


class ProvenanceError(Exception):
    """Root of every error raised by ``provenance_ledger``."""


class ValidationError(ProvenanceError, ValueError):
    """A record, run file or argument is malformed. The message names the offending field."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}" if field else problem)


class ChainError(ProvenanceError):
    """The chain could not be reached, or it rejected a transaction."""


class ContractRevertError(ChainError):
    """The registry reverted with one of its custom errors (``name`` and decoded ``args``)."""

    def __init__(self, name: str, args: tuple[object, ...], message: str) -> None:
        self.name = name
        self.args_ = args
        super().__init__(message)


class VerificationError(ProvenanceError):
    """Something read back does not match its on-chain hash or root."""


class NotFoundError(ProvenanceError, LookupError):
    """A model, DataNet, version or record does not exist on the registry."""
