"""Units and vocabularies shared by the core modules and the CLI's options. No imports, so that the
CLI can declare its options without loading the modules that use them."""

from __future__ import annotations

__all__ = [
    "PARENT_SHARE_PPM",
    "PPM",
    "USES",
]

PPM = 1_000_000
"""Parts per million: DataNet weights, partition fractions and attribution shares sum to exactly this."""

PARENT_SHARE_PPM = 500_000
"""Default share of a fine-tune's credit passed to its parent models, in parts per million."""

USES = ("academic", "non-commercial", "commercial")
"""Intended uses a model version can be checked for, from most to least restricted."""
