"""License terms of DataNet versions and use verdicts over a model's transitive lineage.

Pure: no I/O, no clock, no web3. Every DataNet version carries license terms: a JSON object
canonicalised with RFC 8785 by its publisher (build one with :func:`make_terms`, read one with
:func:`parse_terms`). :func:`check_use` judges an intended use of a model version against the terms
of every DataNet version in its *transitive* lineage (the DataNets of its own runs and, recursively,
of the models it was fine-tuned from): the most restrictive terms win, and unknown terms are never
allowed.

Terms format (JSON object; unknown fields make the terms unknown)::

    {"spdx": "CC-BY-NC-4.0",              # SPDX licence id, or "custom" (then text_hash is required)
     "text_hash": "0x..32 bytes",         # hash of the licence text (required for "custom")
     "use_class": "non-commercial",       # academic-only | non-commercial | unspecified | commercial
     "commercial_use": false,             # true / false / null (not stated)
     "attribution_required": true,        # null or missing = derived from the SPDX id
     "attribution_notice": "...",         # text owed by anyone who uses the data
     "share_alike": false,                # null or missing = derived from the SPDX id
     "allowed_domains": ["education"],    # empty = any domain
     "prohibited_domains": ["medical"],
     "expires_at": 1767225600,            # Unix seconds, or null = never
     "url": "https://..."}                # informational

<!-- rules -->
**Use class of a DataNet version** (ranked academic-only < non-commercial < unspecified < commercial;
explicit fields win over the SPDX id):

| Terms | Use class |
|---|---|
| `use_class` given | as given (`commercial_use`, if also given, must agree with it, else the terms are malformed) |
| `commercial_use: true` | commercial |
| `commercial_use: false` | non-commercial |
| SPDX `CC-BY-NC-*` (NC, NC-SA, NC-ND; any version) | non-commercial |
| SPDX permissive or copyleft id that permits commercial use (MIT, Apache-2.0, BSD-*, ISC, Unlicense, CC0-1.0, CC-BY-*, CC-BY-SA-*, ODC-By-1.0, ODbL-1.0, PDDL-1.0, CDLA-*, GPL/LGPL/AGPL-*, MPL-2.0, EPL-2.0) | commercial |
| SPDX `CC-BY-ND-*` (no derivatives: whether a trained model is an adaptation is for a reviewer) | unspecified |
| anything else (`custom`, `LicenseRef-*`, other ids) | unspecified |

Unless given explicitly, `attribution_required` is true for CC-BY-* (every Creative Commons licence
but CC0), ODC-By-1.0 and ODbL-1.0, and `share_alike` is true for CC-*-SA-*, ODbL-1.0,
CDLA-Sharing-1.0 and the GPL/LGPL/AGPL family. A required attribution with no notice text owes the
notice `"<datanet>@<version>, licensed <spdx>"`.

**Checks, per DataNet version in the transitive lineage** (each version once, reached through the
shortest path of model versions from the target). Every check yields a decision; the version's
decision is the worst (blocked > needs-review > allowed) and its deciding clause is the first check
with that decision.

| # | Check | Decision |
|---|---|---|
| 0 | the DataNet version is retracted by its owner with reason `pii` or `licence` | blocked ("retracted by its owner (pii) at block N: note ..."); judged even when the terms are unknown |
| 0 | the DataNet version is retracted with any other reason (`corrupt`, `superseded`, `other`) | needs-review (same clause form) |
| 1 | terms missing, not a JSON object, or malformed (unknown field, wrong type, `custom` without `text_hash`, contradictory `use_class`/`commercial_use`) | needs-review ("unknown terms: ..."); nothing else is judged for that version |
| 2 | `expires_at` set and the check time >= `expires_at` | blocked ("expired at ...") |
| 3 | `expires_at` set and no check time given | needs-review |
| 4 | academic use | allowed by every use class |
| 5 | non-commercial use | blocked by academic-only; allowed by non-commercial, unspecified, commercial |
| 6 | commercial use | blocked by academic-only and non-commercial; needs-review under unspecified; allowed by commercial |
| 7 | the domain is in `prohibited_domains` | blocked ("domain 'x' is prohibited") |
| 8 | `allowed_domains` is not empty and does not contain the domain | blocked |
| 9 | the terms restrict domains (either list not empty) and no domain is given | needs-review |

Domains compare case-insensitively after trimming spaces, as exact names.

Retraction (check 0) is why: data retracted for personal data or for a licence problem must not be
used any more, whatever its published terms say, so the version blocks; a version retracted as
corrupt, superseded or for another reason still carries valid terms, but a person should decide
whether the model must be retrained, so it needs review. The finding names the retraction (reason,
note, block and transaction in `retraction`).

**Retracted model versions.** The checked model version, or any model version it descends from
through parents, may be retracted by its model's owner. Such a version is judged by the same rule
(each once, through the shortest path): retracted for `pii` or `licence`, it blocks, because its
weights were trained on data that must not be used and every descendant inherits them; for any
other reason it needs review. These findings are listed under `model_retractions`, before the
DataNet findings, and count in the verdict like them.

| Verdict | Rule |
|---|---|
| blocked | any DataNet version, or any retracted model version of the lineage, is blocked |
| needs-review | otherwise, any DataNet version or retracted model version needs review |
| allowed | every DataNet version is allowed and no model version of the lineage is retracted |
| attribution | every notice of every version whose terms require attribution is owed, whatever the verdict |
| share-alike | applies if any version requires it; the share-alike licences are listed (several distinct ones may be incompatible: `share_alike_conflict`) |
<!-- /rules -->
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from provenance_ledger.core.entries import DatanetVersionInfo
from provenance_ledger.core.hexutil import hexstr
from provenance_ledger.core.lineage import Lineage, RunNode, UsedDatanet, retraction_dict
from provenance_ledger.core.units import USES
from provenance_ledger.errors import ValidationError

__all__ = [
    "ALLOWED",
    "BLOCKED",
    "BLOCKING_RETRACTIONS",
    "CUSTOM",
    "DECISIONS",
    "NEEDS_REVIEW",
    "USE_CLASSES",
    "Finding",
    "LicenseTerms",
    "ModelFinding",
    "Obligation",
    "Verdict",
    "check_use",
    "make_terms",
    "normalize_domain",
    "parse_terms",
    "rules_table",
    "transitive_datanets",
]

ALLOWED = "allowed"
NEEDS_REVIEW = "needs-review"
BLOCKED = "blocked"
DECISIONS = (ALLOWED, NEEDS_REVIEW, BLOCKED)
"""Decisions, from the least to the most severe."""

BLOCKING_RETRACTIONS = frozenset({"pii", "licence"})
"""Retraction reasons that block every use of a DataNet version (any other reason needs review)."""

USE_CLASSES = ("academic-only", "non-commercial", "unspecified", "commercial")
"""Use classes of DataNet terms, from the most to the least restrictive."""

CUSTOM = "custom"
"""The ``spdx`` value of a custom licence (identified by ``text_hash``)."""

_SPDX_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]*$")
_HEX32 = re.compile(r"^0x[0-9a-fA-F]{64}$")

_COMMERCIAL_IDS = frozenset(
    s.lower()
    for s in (
        "MIT",
        "MIT-0",
        "Apache-2.0",
        "BSD-2-Clause",
        "BSD-3-Clause",
        "ISC",
        "Unlicense",
        "0BSD",
        "CC0-1.0",
        "ODC-By-1.0",
        "ODbL-1.0",
        "PDDL-1.0",
        "CDLA-Permissive-1.0",
        "CDLA-Permissive-2.0",
        "CDLA-Sharing-1.0",
        "MPL-2.0",
        "EPL-2.0",
    )
)
_COMMERCIAL_PREFIXES = ("cc-by-", "gpl-", "lgpl-", "agpl-")
_ATTRIBUTION_IDS = frozenset({"odc-by-1.0", "odbl-1.0"})
_SHARE_ALIKE_IDS = frozenset({"odbl-1.0", "cdla-sharing-1.0"})
_COPYLEFT_PREFIXES = ("gpl-", "lgpl-", "agpl-")

_FIELDS = frozenset(
    {
        "spdx",
        "text_hash",
        "use_class",
        "commercial_use",
        "attribution_required",
        "attribution_notice",
        "share_alike",
        "allowed_domains",
        "prohibited_domains",
        "expires_at",
        "url",
    }
)


def _spdx_use_class(spdx: str) -> str:
    s = spdx.lower()
    if s.startswith("cc-by-nc-"):
        return "non-commercial"
    if s.startswith("cc-by-nd-"):
        return "unspecified"  # no derivatives: whether a trained model is an adaptation needs review
    if s in _COMMERCIAL_IDS or s.startswith(_COMMERCIAL_PREFIXES):
        return "commercial"
    return "unspecified"


def _spdx_attribution(spdx: str) -> bool:
    s = spdx.lower()
    return s.startswith("cc-by-") or s in _ATTRIBUTION_IDS


def _spdx_share_alike(spdx: str) -> bool:
    s = spdx.lower()
    return (s.startswith("cc-") and "-sa-" in s) or s in _SHARE_ALIKE_IDS or s.startswith(_COPYLEFT_PREFIXES)


def _class_commercial(use_class: str) -> bool | None:
    """The ``commercial_use`` flag a use class implies (None: not stated)."""
    return {"commercial": True, "unspecified": None}.get(use_class, False)


def _opt_bool(data: Mapping[str, Any], key: str) -> bool | None:
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        raise ValidationError(key, f"must be true, false or null, got {value!r}")
    return value


def _domains(value: object, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise ValidationError(key, f"must be a list of domain names, got {type(value).__name__}")
    out: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ValidationError(f"{key}[{i}]", f"must be a non-empty string, got {item!r}")
        name = normalize_domain(item)
        if name not in out:
            out.append(name)
    return tuple(out)


def normalize_domain(domain: str) -> str:
    """How domains compare: trimmed and lower-cased."""
    return domain.strip().lower()


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, kw_only=True)
class LicenseTerms:
    """The license terms of a DataNet version, validated and with derived fields resolved."""

    spdx: str
    """SPDX licence id, or ``"custom"``."""
    text_hash: bytes | None = None
    """32-byte hash of the licence text; required when ``spdx`` is ``"custom"``."""
    use_class: str
    """One of :data:`USE_CLASSES` (explicit, or derived as in the module's table)."""
    commercial_use: bool | None
    """Whether commercial use is permitted; None when not stated (use class unspecified)."""
    attribution_required: bool
    attribution_notice: str = ""
    """The notice owed; see :attr:`notice`."""
    share_alike: bool
    allowed_domains: tuple[str, ...] = ()
    """Domains the data may be used in (normalised); empty = any."""
    prohibited_domains: tuple[str, ...] = ()
    """Domains the data must not be used in (normalised)."""
    expires_at: int | None = None
    """Unix seconds from which the terms no longer grant use; None = never."""
    url: str | None = None
    """Where the licence text can be read (informational)."""

    def notice(self, datanet_label: str) -> str:
        """The attribution text owed (the default one when the terms give none)."""
        return self.attribution_notice or f"{datanet_label}, licensed {self.spdx}"

    def to_dict(self) -> dict[str, Any]:
        """The explicit JSON form (what :func:`make_terms` returns and a publisher canonicalises)."""
        out: dict[str, Any] = {"spdx": self.spdx}
        if self.text_hash is not None:
            out["text_hash"] = hexstr(self.text_hash)
        out |= {
            "use_class": self.use_class,
            "commercial_use": self.commercial_use,
            "attribution_required": self.attribution_required,
            "attribution_notice": self.attribution_notice,
            "share_alike": self.share_alike,
            "allowed_domains": list(self.allowed_domains),
            "prohibited_domains": list(self.prohibited_domains),
            "expires_at": self.expires_at,
        }
        if self.url is not None:
            out["url"] = self.url
        return out


def parse_terms(data: object) -> LicenseTerms:
    """Validate a terms JSON object and resolve its derived fields.

    Raises :class:`ValidationError` naming the field when the terms are missing or malformed
    (:func:`check_use` turns that into a needs-review finding).
    """
    if not isinstance(data, Mapping):
        raise ValidationError("terms", "must be a JSON object")
    unknown = set(data) - _FIELDS
    if unknown:
        raise ValidationError("terms", f"unknown field(s) {', '.join(sorted(map(str, unknown)))}")

    spdx = data.get("spdx")
    if spdx is None:
        raise ValidationError("spdx", "is required")
    if not isinstance(spdx, str) or not _SPDX_ID.match(spdx):
        raise ValidationError("spdx", f"must be an SPDX licence id or 'custom', got {spdx!r}")

    text_hash = data.get("text_hash")
    if text_hash is not None:
        if not isinstance(text_hash, str) or not _HEX32.match(text_hash):
            raise ValidationError("text_hash", f"must be a 0x-prefixed 32-byte hex string, got {text_hash!r}")
        text_hash = bytes.fromhex(text_hash[2:])
    if spdx.lower() == CUSTOM and text_hash is None:
        raise ValidationError("text_hash", "is required for a custom licence")

    commercial = _opt_bool(data, "commercial_use")
    use_class = data.get("use_class")
    if use_class is not None:
        if use_class not in USE_CLASSES:
            raise ValidationError("use_class", f"must be one of {', '.join(USE_CLASSES)}, got {use_class!r}")
        if commercial is not None and commercial != _class_commercial(use_class):
            raise ValidationError("commercial_use", f"{str(commercial).lower()} contradicts use_class {use_class}")
    elif commercial is not None:
        use_class = "commercial" if commercial else "non-commercial"
    else:
        use_class = _spdx_use_class(spdx)

    attribution = _opt_bool(data, "attribution_required")
    share_alike = _opt_bool(data, "share_alike")
    notice = data.get("attribution_notice", "")
    if notice is None:
        notice = ""
    if not isinstance(notice, str):
        raise ValidationError("attribution_notice", f"must be a string, got {notice!r}")

    expires_at = data.get("expires_at")
    if expires_at is not None and (
        isinstance(expires_at, bool) or not isinstance(expires_at, int) or not 0 <= expires_at <= 2**53 - 1
    ):
        raise ValidationError(
            "expires_at", f"must be Unix seconds (a non-negative integer) or null, got {expires_at!r}"
        )
    url = data.get("url")
    if url is not None and not isinstance(url, str):
        raise ValidationError("url", f"must be a string, got {url!r}")

    return LicenseTerms(
        spdx=spdx,
        text_hash=text_hash,
        use_class=use_class,
        commercial_use=_class_commercial(use_class),
        attribution_required=_spdx_attribution(spdx) if attribution is None else attribution,
        attribution_notice=notice,
        share_alike=_spdx_share_alike(spdx) if share_alike is None else share_alike,
        allowed_domains=_domains(data.get("allowed_domains"), "allowed_domains"),
        prohibited_domains=_domains(data.get("prohibited_domains"), "prohibited_domains"),
        expires_at=expires_at,
        url=url,
    )


def make_terms(
    spdx: str,
    *,
    text_hash: bytes | str | None = None,
    use_class: str | None = None,
    commercial_use: bool | None = None,
    attribution_required: bool | None = None,
    attribution_notice: str = "",
    share_alike: bool | None = None,
    allowed_domains: Sequence[str] = (),
    prohibited_domains: Sequence[str] = (),
    expires_at: int | None = None,
    url: str | None = None,
) -> dict[str, Any]:
    """The terms JSON to publish with a DataNet version, every derived field made explicit.

    Arguments left as None are derived as :func:`parse_terms` does; the result re-parses to the same
    :class:`LicenseTerms`. Raises :class:`ValidationError` for malformed or contradictory terms.
    """
    data: dict[str, Any] = {
        "spdx": spdx,
        "use_class": use_class,
        "commercial_use": commercial_use,
        "attribution_required": attribution_required,
        "attribution_notice": attribution_notice,
        "share_alike": share_alike,
        "allowed_domains": list(allowed_domains),
        "prohibited_domains": list(prohibited_domains),
        "expires_at": expires_at,
        "url": url,
    }
    if text_hash is not None:
        data["text_hash"] = hexstr(text_hash) if isinstance(text_hash, bytes | bytearray) else text_hash
    return parse_terms(data).to_dict()


# ----------------------------------------------------------------- verdicts


@dataclass(frozen=True, kw_only=True)
class Finding:
    """The decision for one DataNet version of the transitive lineage."""

    datanet: str
    """DataNet name."""
    datanet_id: bytes
    version: int
    reached_via: tuple[str, ...]
    """Model versions (``name@version``) from the checked model down to the run that trained on it."""
    spdx: str | None
    """The licence id, None when the terms are unknown."""
    use_class: str | None
    """The use class, None when the terms are unknown."""
    decision: str
    """One of :data:`DECISIONS`."""
    clause: str
    """The clause that decides, e.g. ``"use class non-commercial forbids commercial use"``."""
    checks: tuple[tuple[str, str], ...]
    """Every check made, as (decision, clause), in rule order."""
    retraction: dict[str, Any] | None = None
    """The version's retraction (reason, reason_code, note, owner, block, tx_hash), None if none."""

    @property
    def retracted(self) -> bool:
        return self.retraction is not None

    @property
    def label(self) -> str:
        return f"{self.datanet}@{self.version}"

    @property
    def depth(self) -> int:
        """0 = the checked model trained on it directly; n = through n fine-tunes."""
        return len(self.reached_via) - 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "datanet": self.datanet,
            "datanet_id": hexstr(self.datanet_id),
            "version": self.version,
            "reached_via": list(self.reached_via),
            "license": self.spdx,
            "use_class": self.use_class,
            "decision": self.decision,
            "clause": self.clause,
            "checks": [{"decision": d, "clause": c} for d, c in self.checks],
            "retraction": self.retraction,
        }


@dataclass(frozen=True, kw_only=True)
class ModelFinding:
    """The decision for one retracted model version of the transitive lineage (the checked version
    itself or one it descends from)."""

    model: str
    """``name@version`` of the retracted model version."""
    reached_via: tuple[str, ...]
    """Model versions (``name@version``) from the checked model down to the retracted one."""
    decision: str
    """:data:`BLOCKED` for reasons in :data:`BLOCKING_RETRACTIONS`, else :data:`NEEDS_REVIEW`."""
    clause: str
    retraction: dict[str, Any]
    """The retraction (reason, reason_code, note, owner, block, tx_hash)."""

    @property
    def label(self) -> str:
        return self.model

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "reached_via": list(self.reached_via),
            "decision": self.decision,
            "clause": self.clause,
            "retraction": self.retraction,
        }


@dataclass(frozen=True, kw_only=True)
class Obligation:
    """An attribution notice or share-alike requirement owed because of one DataNet version."""

    datanet: str
    """``name@version`` of the DataNet version that imposes it."""
    licence: str
    """Its SPDX id."""
    text: str
    """The attribution notice, or the share-alike requirement in words."""

    def to_dict(self) -> dict[str, str]:
        return {"datanet": self.datanet, "license": self.licence, "text": self.text}


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """Whether a model version may be used as intended, and why."""

    model: str
    """``name@version`` of the model checked."""
    use: str
    domain: str | None
    at_time: int | None
    decision: str
    """``"allowed"``, ``"blocked"`` or ``"needs-review"``."""
    findings: tuple[Finding, ...]
    """One per DataNet version of the transitive lineage, in breadth-first order from the model."""
    notices: tuple[Obligation, ...]
    """Attribution notices owed, one per DataNet version requiring attribution."""
    share_alike: tuple[Obligation, ...]
    """Share-alike requirements, one per DataNet version imposing one."""
    model_retractions: tuple[ModelFinding, ...] = ()
    """One per retracted model version of the lineage (the checked one or an ancestor)."""

    @property
    def deciding(self) -> tuple[Finding, ...]:
        """The DataNet findings whose decision is the verdict's."""
        return tuple(f for f in self.findings if f.decision == self.decision)

    @property
    def clause(self) -> str:
        """The first deciding clause (a retracted model version's first, then the DataNet
        versions'), prefixed with its model or DataNet version."""
        first = next((m for m in self.model_retractions if m.decision == self.decision), None) or next(
            iter(self.deciding), None
        )
        return "" if first is None else f"{first.label}: {first.clause}"

    @property
    def notice_texts(self) -> tuple[str, ...]:
        """The distinct attribution texts owed, in order."""
        return tuple(dict.fromkeys(n.text for n in self.notices))

    @property
    def share_alike_required(self) -> bool:
        return bool(self.share_alike)

    @property
    def share_alike_licences(self) -> tuple[str, ...]:
        """The distinct share-alike licences the model's lineage carries, in order."""
        return tuple(dict.fromkeys(s.licence for s in self.share_alike))

    @property
    def share_alike_conflict(self) -> bool:
        """Several distinct share-alike licences apply (they may not be compatible)."""
        return len(self.share_alike_licences) > 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "use": self.use,
            "domain": self.domain,
            "at_time": self.at_time,
            "decision": self.decision,
            "clause": self.clause,
            "findings": [f.to_dict() for f in self.findings],
            "model_retractions": [m.to_dict() for m in self.model_retractions],
            "attribution": [n.to_dict() for n in self.notices],
            "share_alike": {
                "required": self.share_alike_required,
                "licenses": list(self.share_alike_licences),
                "conflict": self.share_alike_conflict,
                "sources": [s.to_dict() for s in self.share_alike],
            },
        }


def _worst(decisions: Sequence[str]) -> str:
    return max(decisions, key=DECISIONS.index, default=ALLOWED)


def transitive_datanets(lineage: Lineage) -> Iterator[tuple[DatanetVersionInfo, tuple[str, ...]]]:
    """Every DataNet version of the lineage once, with the shortest model path reaching it.

    Breadth first from the target runs; among equally short paths the first in record order wins.
    """
    for used, path in _transitive(lineage):
        yield used.info, path


def _transitive(lineage: Lineage) -> Iterator[tuple[UsedDatanet, tuple[str, ...]]]:
    seen_runs: set[bytes] = set()
    seen: set[tuple[bytes, int]] = set()
    queue: deque[tuple[RunNode, tuple[str, ...]]] = deque((r, (r.label,)) for r in lineage.runs)
    while queue:
        node, path = queue.popleft()
        if node.record_id in seen_runs:
            continue
        seen_runs.add(node.record_id)
        for used in node.datanets:
            key = (used.info.datanet_id, used.info.version)
            if key not in seen:
                seen.add(key)
                yield used, path
        queue.extend((p, (*path, p.label)) for p in node.parents)


def _retracted_models(lineage: Lineage) -> Iterator[tuple[RunNode, tuple[str, ...]]]:
    """Every retracted model version of the lineage once, with the shortest model path to it."""
    seen_runs: set[bytes] = set()
    seen: set[tuple[bytes, str]] = set()
    queue: deque[tuple[RunNode, tuple[str, ...]]] = deque((r, (r.label,)) for r in lineage.runs)
    while queue:
        node, path = queue.popleft()
        if node.record_id in seen_runs:
            continue
        seen_runs.add(node.record_id)
        key = (node.recorded.run.model_id, node.recorded.run.model_version)
        if node.retraction is not None and key not in seen:
            seen.add(key)
            yield node, path
        queue.extend((p, (*path, p.label)) for p in node.parents)


def _checks(terms: LicenseTerms, *, use: str, domain: str | None, at_time: int | None) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if terms.expires_at is not None:
        when = f"{_iso(terms.expires_at)} ({terms.expires_at})"
        if at_time is None:
            out.append((NEEDS_REVIEW, f"expires at {when}; no time given to check against"))
        elif at_time >= terms.expires_at:
            out.append((BLOCKED, f"expired at {when}"))
        else:
            out.append((ALLOWED, f"valid until {when}"))
    rank = USE_CLASSES.index(terms.use_class)
    needed = {"academic": 0, "non-commercial": 1, "commercial": 3}[use]
    if use == "commercial" and terms.use_class == "unspecified":
        out.append((NEEDS_REVIEW, "use class unspecified does not say whether commercial use is permitted"))
    elif rank < needed:
        out.append((BLOCKED, f"use class {terms.use_class} forbids {use} use"))
    else:
        out.append((ALLOWED, f"use class {terms.use_class} permits {use} use"))
    if terms.prohibited_domains or terms.allowed_domains:
        if domain is None:
            out.append((NEEDS_REVIEW, "the terms restrict domains and no domain was given"))
        elif domain in terms.prohibited_domains:
            out.append((BLOCKED, f"domain '{domain}' is prohibited"))
        elif terms.allowed_domains and domain not in terms.allowed_domains:
            out.append(
                (BLOCKED, f"domain '{domain}' is not among the allowed domains ({', '.join(terms.allowed_domains)})")
            )
        else:
            out.append((ALLOWED, f"domain '{domain}' is permitted"))
    return out


def _retraction_check(used: UsedDatanet | RunNode) -> tuple[str, str]:
    """Check 0: a retracted DataNet or model version blocks (pii, licence) or needs review (any other
    reason)."""
    r = used.retraction
    assert r is not None
    decision = BLOCKED if r.reason_name in BLOCKING_RETRACTIONS else NEEDS_REVIEW
    note = f": note {r.note}" if r.note else " (no note)"
    return decision, f"retracted by its owner ({r.reason_name}) at block {r.block_number}{note}"


def check_use(lineage: Lineage, *, use: str, domain: str | None = None, at_time: int | None = None) -> Verdict:
    """Judge ``use`` (``"commercial"``, ``"non-commercial"`` or ``"academic"``) of the lineage's model
    in ``domain`` at Unix time ``at_time`` against every DataNet version of its transitive lineage,
    following the rules in this module's docstring (see :func:`rules_table`)."""
    if use not in USES:
        raise ValidationError("use", f"must be one of {', '.join(USES)}, got {use!r}")
    if domain is not None:
        if not isinstance(domain, str) or not domain.strip():
            raise ValidationError("domain", f"must be a non-empty string or None, got {domain!r}")
        domain = normalize_domain(domain)
    if at_time is not None and (isinstance(at_time, bool) or not isinstance(at_time, int) or at_time < 0):
        raise ValidationError("at_time", f"must be Unix seconds (a non-negative integer) or None, got {at_time!r}")

    findings: list[Finding] = []
    notices: list[Obligation] = []
    share_alike: list[Obligation] = []
    for used, path in _transitive(lineage):
        info = used.info
        pre = [] if used.retraction is None else [_retraction_check(used)]
        try:
            terms = parse_terms(info.terms)
        except ValidationError as exc:
            problem = "the published terms are not a JSON object" if info.terms is None else str(exc)
            checks = [*pre, (NEEDS_REVIEW, f"unknown terms: {problem}")]
            spdx = use_class = None
        else:
            checks = [*pre, *_checks(terms, use=use, domain=domain, at_time=at_time)]
            spdx, use_class = terms.spdx, terms.use_class
            if terms.attribution_required:
                notices.append(Obligation(datanet=info.label, licence=terms.spdx, text=terms.notice(info.label)))
            if terms.share_alike:
                share_alike.append(
                    Obligation(
                        datanet=info.label,
                        licence=terms.spdx,
                        text=f"adaptations must be shared under {terms.spdx} (share-alike, from {info.label})",
                    )
                )
        decision = _worst([d for d, _ in checks])
        findings.append(
            Finding(
                datanet=info.name,
                datanet_id=info.datanet_id,
                version=info.version,
                reached_via=path,
                spdx=spdx,
                use_class=use_class,
                decision=decision,
                clause=next(c for d, c in checks if d == decision),
                checks=tuple(checks),
                retraction=retraction_dict(used.retraction),
            )
        )
    model_findings: list[ModelFinding] = []
    for node, path in _retracted_models(lineage):
        decision, clause = _retraction_check(node)
        model_findings.append(
            ModelFinding(
                model=node.label,
                reached_via=path,
                decision=decision,
                clause=clause,
                retraction=retraction_dict(node.retraction) or {},
            )
        )
    if not findings:
        findings_decision = NEEDS_REVIEW  # a lineage without DataNets cannot be judged
    else:
        findings_decision = _worst([f.decision for f in findings])
    findings_decision = _worst([findings_decision, *(m.decision for m in model_findings)])
    return Verdict(
        model=f"{lineage.model_name}@{lineage.model_version}",
        use=use,
        domain=domain,
        at_time=at_time,
        decision=findings_decision,
        findings=tuple(findings),
        notices=tuple(notices),
        share_alike=tuple(share_alike),
        model_retractions=tuple(model_findings),
    )


def rules_table() -> str:
    """The rules of :func:`check_use` as markdown tables (the part of this module's docstring between
    the ``rules`` markers), for the README and the audit report."""
    doc = __doc__ or ""
    start = doc.index("<!-- rules -->") + len("<!-- rules -->")
    end = doc.index("<!-- /rules -->")
    return doc[start:end].strip() + "\n"
