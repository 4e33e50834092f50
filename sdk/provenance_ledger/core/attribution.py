"""Attribution: how much of a model version each DataNet version and contributor accounts for,
and the exact integer split of a reward. Pure: no I/O, no web3; exact arithmetic only.

Inheritance rule
----------------
Credit flows from the model version down its lineage, as exact fractions:

1. The model version gets credit 1, split equally among the runs that produced it (usually one).
2. A run with credit ``c`` and **no parents** passes all of it to its DataNet versions in proportion
   to their recorded weights: DataNet ``i`` gets ``c * weight_ppm_i / 1,000,000``.
3. A run with credit ``c`` and ``k`` **parents** (a fine-tune) keeps ``c * (1,000,000 - P) / 1,000,000``
   for its own DataNet versions, split by their weights as in 2, and each parent run gets
   ``c * P / 1,000,000 / k``; parents pass their credit on by the same rule, recursively.
   ``P`` is ``parent_share_ppm``, default :data:`PARENT_SHARE_PPM` = 500,000 (half).
4. A run reached through several children (a diamond) receives the sum of their contributions; a
   DataNet version used by several runs receives the sum of its credits.

The DataNet shares therefore sum to exactly 1. A DataNet version's share goes to its contributors in
proportion to their integer shares (``shares / total shares`` of that version); one address
contributing to several versions gets the sum. Contributors with zero shares get nothing and are
left out. A DataNet version with no contributors (or only zero shares) cannot be paid to anyone
known here: its share goes to the bucket ``"unassigned:<datanet>@<version>"``, which is listed with
the contributors so that totals stay whole (the DataNet's owner decides what to do with it).

Retracted inputs
----------------
A DataNet version retracted by its owner (``datanet retract``) keeps its share: credit measures
what went into the model, and the model was trained on that version whatever happened to it later.
The share is **flagged**, not withheld: :attr:`DatanetShare.retraction` names the retraction,
:attr:`ContributorShare.retracted_sources` the retracted versions a recipient's share comes from,
and :attr:`Attribution.retracted_share` the exact total. Withholding it would silently move the
share onto every other contributor (rewarding them for data they did not give) or leave an unpaid
remainder; instead the shares and the split still sum exactly, and a payer who will not pay for
retracted data can see precisely which units those are and hold them back. A retracted *model*
version in the lineage changes nothing here either (its runs' DataNets are still what it learnt).

Rounding
--------
Shares are exact :class:`fractions.Fraction` values. Integer forms (ppm of 1,000,000, or a reward
amount) use the largest-remainder (Hamilton) method: everyone gets the floor of their exact quota,
and the units left over go one each to the largest fractional remainders; equal remainders are
broken by listing order: recipients by address (ascending lower-case hex), then unassigned buckets
by DataNet label; DataNet versions in order of first use (the model's own runs first, then parents).
The integers always sum to exactly the whole.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypeVar

from provenance_ledger.core.entries import DatanetVersionInfo
from provenance_ledger.core.hexutil import hexstr
from provenance_ledger.core.lineage import Lineage, RunNode, retraction_dict
from provenance_ledger.core.records import WEIGHT_TOTAL
from provenance_ledger.core.units import PARENT_SHARE_PPM
from provenance_ledger.errors import ValidationError

__all__ = [
    "PPM",
    "UNASSIGNED_PREFIX",
    "Attribution",
    "ContributorShare",
    "DatanetShare",
    "K",
    "RunCredit",
    "attribution",
    "largest_remainder",
    "shares_by_recipient",
    "split",
]

PPM = WEIGHT_TOTAL
"""Integer shares are shown in parts per million and sum to exactly this."""

UNASSIGNED_PREFIX = "unassigned:"
"""Recipient name prefix of the share of a DataNet version with no contributors."""

K = TypeVar("K", bound=Hashable)


def largest_remainder(shares: Sequence[tuple[K, Fraction]], total: int) -> list[tuple[K, int]]:
    """Apportion the integer ``total`` in proportion to ``shares`` (Hamilton method).

    Each key gets the floor of its exact quota ``total * share / sum(shares)``; the units left go one
    each to the largest fractional remainders, equal remainders to the key listed first. Returns
    (key, amount) in the order given; the amounts sum to exactly ``total``.
    """
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise ValidationError("amount", f"must be a non-negative integer, got {total!r}")
    whole = sum((s for _, s in shares), Fraction(0))
    if any(s < 0 for _, s in shares):
        raise ValidationError("shares", "must not be negative")
    if whole == 0:
        if total == 0:
            return [(k, 0) for k, _ in shares]
        raise ValidationError("shares", "are all zero; nothing to apportion to")
    quotas = [Fraction(total) * s / whole for _, s in shares]
    floors = [q.numerator // q.denominator for q in quotas]
    left = total - sum(floors)
    order = sorted(range(len(shares)), key=lambda i: (-(quotas[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [(k, n) for (k, _), n in zip(shares, floors, strict=True)]


def _fraction_text(f: Fraction) -> str:
    return f"{f.numerator}/{f.denominator}"


@dataclass(frozen=True, kw_only=True)
class RunCredit:
    """How much credit one run of the lineage received and kept for its own DataNets."""

    label: str
    """``model@version`` the run produced."""
    record_id: bytes
    credit: Fraction
    """Credit received from its children (1 for the only target run)."""
    own: Fraction
    """Part of it passed to its own DataNet versions (the rest went to its parents)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.label,
            "record_id": hexstr(self.record_id),
            "credit": _fraction_text(self.credit),
            "own": _fraction_text(self.own),
        }


@dataclass(frozen=True, kw_only=True)
class DatanetShare:
    """The share of one DataNet version in the model version."""

    datanet: str
    """DataNet name."""
    datanet_id: bytes
    version: int
    share: Fraction
    """Exact share; the shares of all DataNet versions sum to 1."""
    ppm: int
    """Share in parts per million (largest remainder; all sum to 1,000,000)."""
    contributors: tuple[tuple[str, int], ...]
    """Its (checksum address, integer shares) with zero shares dropped and duplicates merged."""
    retraction: dict[str, Any] | None = None
    """Its retraction (reason, note, block, ...) if its owner retracted it: the share is kept, flagged."""

    @property
    def label(self) -> str:
        return f"{self.datanet}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "datanet": self.datanet,
            "datanet_id": hexstr(self.datanet_id),
            "version": self.version,
            "share": _fraction_text(self.share),
            "ppm": self.ppm,
            "contributors": [{"account": a, "shares": s} for a, s in self.contributors],
            "retraction": self.retraction,
        }


@dataclass(frozen=True, kw_only=True)
class ContributorShare:
    """The share of one recipient: a contributor address, or an unassigned DataNet bucket."""

    recipient: str
    """Checksum address, or ``"unassigned:<datanet>@<version>"``."""
    share: Fraction
    """Exact share; all recipients' shares sum to 1."""
    ppm: int
    """Share in parts per million (largest remainder; all sum to 1,000,000)."""
    sources: tuple[tuple[str, Fraction], ...]
    """(DataNet version label, exact share received from it), in DataNet order."""
    retracted_sources: tuple[str, ...] = ()
    """Labels of the retracted DataNet versions among ``sources``."""

    @property
    def unassigned(self) -> bool:
        return self.recipient.startswith(UNASSIGNED_PREFIX)

    def to_dict(self) -> dict[str, Any]:
        """JSON form; a source from a retracted DataNet version carries ``"retracted": true``, and
        ``retracted_sources`` is present only when there is one (older readers see the same shape)."""
        out: dict[str, Any] = {
            "recipient": self.recipient,
            "share": _fraction_text(self.share),
            "ppm": self.ppm,
            "sources": [
                {"datanet": d, "share": _fraction_text(s)}
                | ({"retracted": True} if d in self.retracted_sources else {})
                for d, s in self.sources
            ],
        }
        if self.retracted_sources:
            out["retracted_sources"] = list(self.retracted_sources)
        return out


@dataclass(frozen=True, kw_only=True)
class Attribution:
    """Shares of a model version per DataNet version and per contributor (see the module rules)."""

    model: str
    """``name@version`` of the model."""
    parent_share_ppm: int
    runs: tuple[RunCredit, ...]
    """Every run of the lineage in propagation order (children before parents)."""
    datanets: tuple[DatanetShare, ...]
    """Every DataNet version of the lineage, in order of first use (children before parents)."""
    contributors: tuple[ContributorShare, ...]
    """Recipients with a positive share: addresses by lower-case hex, then unassigned buckets."""

    @property
    def retracted(self) -> tuple[DatanetShare, ...]:
        """The retracted DataNet versions (their shares are kept, flagged)."""
        return tuple(d for d in self.datanets if d.retraction is not None)

    @property
    def retracted_share(self) -> Fraction:
        """The exact part of the model version credited to retracted DataNet versions."""
        return sum((d.share for d in self.retracted), Fraction(0))

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "parent_share_ppm": self.parent_share_ppm,
            "retracted": [d.label for d in self.retracted],
            "retracted_share": _fraction_text(self.retracted_share),
            "runs": [r.to_dict() for r in self.runs],
            "datanets": [d.to_dict() for d in self.datanets],
            "contributors": [c.to_dict() for c in self.contributors],
        }


def _recipient_key(recipient: str) -> tuple[int, str]:
    """Tie-break and listing order: addresses by lower-case hex, then unassigned buckets."""
    return (1, recipient) if recipient.startswith(UNASSIGNED_PREFIX) else (0, recipient.lower())


def _contributors(pairs: Sequence[tuple[str, int]], label: str) -> tuple[tuple[str, int], ...]:
    from eth_utils.address import to_checksum_address  # pure; imported here to keep the CLI's start-up light

    merged: dict[str, int] = {}
    for i, (address, shares) in enumerate(pairs):
        if isinstance(shares, bool) or not isinstance(shares, int) or shares < 0:
            raise ValidationError(
                f"{label}.contributors[{i}].shares", f"must be a non-negative integer, got {shares!r}"
            )
        try:
            account = to_checksum_address(address)
        except (TypeError, ValueError):
            raise ValidationError(f"{label}.contributors[{i}].account", f"is not an address: {address!r}") from None
        merged[account] = merged.get(account, 0) + shares
    return tuple((a, s) for a, s in merged.items() if s > 0)


def _order(lineage: Lineage) -> list[RunNode]:
    """Runs in an order where every run comes after all runs that list it as a parent (Kahn)."""
    nodes: dict[bytes, RunNode] = {}
    children: dict[bytes, int] = {}
    stack = list(lineage.runs)
    while stack:
        node = stack.pop()
        if node.record_id in nodes:
            continue
        nodes[node.record_id] = node
        children.setdefault(node.record_id, 0)
        for p in dict.fromkeys(p.record_id for p in node.parents):
            children[p] = children.get(p, 0) + 1
        stack.extend(node.parents)
    ready = [r for r in dict.fromkeys(r.record_id for r in lineage.runs) if children[r] == 0]
    out: list[RunNode] = []
    while ready:
        rid = ready.pop(0)
        node = nodes[rid]
        out.append(node)
        for p in dict.fromkeys(p.record_id for p in node.parents):
            children[p] -= 1
            if children[p] == 0:
                ready.append(p)
    if len(out) != len(nodes):
        raise ValidationError("lineage", "has a cycle")
    return out


def attribution(lineage: Lineage, *, parent_share_ppm: int = PARENT_SHARE_PPM) -> Attribution:
    """Shares of the lineage's model version per DataNet version and per contributor.

    ``parent_share_ppm`` (0 to 1,000,000) is the part of a fine-tune's credit passed to its parent
    models; see the module docstring for the full rule.
    """
    if (
        isinstance(parent_share_ppm, bool)
        or not isinstance(parent_share_ppm, int)
        or not (0 <= parent_share_ppm <= PPM)
    ):
        raise ValidationError("parent_share_ppm", f"must be an integer from 0 to {PPM:,}, got {parent_share_ppm!r}")
    to_parents = Fraction(parent_share_ppm, PPM)

    targets = list(dict.fromkeys(r.record_id for r in lineage.runs))
    if not targets:
        raise ValidationError("lineage", "has no runs")
    credit: dict[bytes, Fraction] = {rid: Fraction(1, len(targets)) for rid in targets}
    runs: list[RunCredit] = []
    shares: dict[tuple[bytes, int], Fraction] = {}
    infos: dict[tuple[bytes, int], DatanetVersionInfo] = {}
    retractions: dict[tuple[bytes, int], dict[str, Any] | None] = {}
    for node in _order(lineage):
        c = credit.get(node.record_id, Fraction(0))
        parents = list(dict.fromkeys(p.record_id for p in node.parents))
        own = c * (1 - to_parents) if parents else c
        for p in parents:
            credit[p] = credit.get(p, Fraction(0)) + (c - own) / len(parents)
        runs.append(RunCredit(label=node.label, record_id=node.record_id, credit=c, own=own))
        for used in node.datanets:
            key = (used.info.datanet_id, used.info.version)
            infos.setdefault(key, used.info)
            if retractions.get(key) is None:
                retractions[key] = retraction_dict(used.retraction)
            shares[key] = shares.get(key, Fraction(0)) + own * Fraction(used.use.weight_ppm, WEIGHT_TOTAL)

    keys = list(shares)
    ppms = dict(largest_remainder([(k, shares[k]) for k in keys], PPM))
    datanets = []
    received: dict[str, list[tuple[str, Fraction]]] = {}
    for key in keys:
        info = infos[key]
        contribs = _contributors(info.contributors, info.label)
        dn = DatanetShare(
            datanet=info.name,
            datanet_id=info.datanet_id,
            version=info.version,
            share=shares[key],
            ppm=ppms[key],
            contributors=contribs,
            retraction=retractions.get(key),
        )
        datanets.append(dn)
        if dn.share == 0:
            continue
        total = sum(s for _, s in contribs)
        if total == 0:
            received.setdefault(UNASSIGNED_PREFIX + dn.label, []).append((dn.label, dn.share))
            continue
        for account, s in contribs:
            received.setdefault(account, []).append((dn.label, dn.share * Fraction(s, total)))

    recipients = sorted(received, key=_recipient_key)
    exact = [(r, sum((s for _, s in received[r]), Fraction(0))) for r in recipients]
    contributor_ppm = dict(largest_remainder(exact, PPM))
    retracted = {d.label for d in datanets if d.retraction is not None}
    contributors = tuple(
        ContributorShare(
            recipient=r,
            share=s,
            ppm=contributor_ppm[r],
            sources=tuple(received[r]),
            retracted_sources=tuple(dict.fromkeys(d for d, _ in received[r] if d in retracted)),
        )
        for r, s in exact
    )
    return Attribution(
        model=f"{lineage.model_name}@{lineage.model_version}",
        parent_share_ppm=parent_share_ppm,
        runs=tuple(runs),
        datanets=tuple(datanets),
        contributors=contributors,
    )


def split(attribution: Attribution, amount: int) -> list[tuple[str, int]]:
    """Split an integer reward ``amount`` (e.g. wei) among the attribution's recipients.

    Returns (recipient, units) for every recipient with a positive share, in recipient order
    (addresses by lower-case hex, then ``unassigned:`` buckets); a recipient may get 0 units when the
    amount is too small. Contributors with zero shares are not listed. The units are exact integers
    summing to exactly ``amount`` (largest remainder; equal remainders go to the recipient first in
    order).
    """
    return largest_remainder([(c.recipient, c.share) for c in attribution.contributors], amount)


def shares_by_recipient(attribution: Attribution) -> Mapping[str, Fraction]:
    """The exact share of each recipient, as a mapping."""
    return {c.recipient: c.share for c in attribution.contributors}
