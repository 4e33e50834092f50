"""License verdicts over transitive lineages, with hand-computed expectations."""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785

from provenance_ledger.core import licensing
from provenance_ledger.core.entries import DatanetVersionInfo
from provenance_ledger.core.licensing import (
    LicenseTerms,
    check_use,
    make_terms,
    parse_terms,
    rules_table,
)
from provenance_ledger.core.lineage import Lineage
from provenance_ledger.errors import ValidationError
from tests.lineage_builders import lineage_of, make_datanet, run


def dn(name: str, terms: Any, *, version: int = 1) -> DatanetVersionInfo:
    return make_datanet(name, version=version, terms=terms)


T = 1_750_000_000  # a fixed check time (2025-06-15)


WIKI = dn(
    "wiki",
    {
        "spdx": "CC-BY-SA-4.0",
        "commercial_use": True,
        "attribution_required": True,
        "attribution_notice": "Wiki text, CC BY-SA 4.0",
        "share_alike": True,
    },
)
NC = dn("nc-corpus", {"spdx": "CC-BY-NC-4.0"})
TICKETS = dn(
    "tickets",
    {"spdx": "CC-BY-4.0", "attribution_notice": "Tickets (c) Acme, CC BY 4.0", "prohibited_domains": ["Surveillance"]},
)
MIT = dn("mit-code", {"spdx": "MIT"})


@pytest.fixture
def tuned() -> Lineage:
    """tuned@2.0 (tickets) fine-tuned from base@1.0 (nc-corpus 60%, wiki 40%)."""
    base = run("base", "1.0", [(NC, 600_000), (WIKI, 400_000)])
    return lineage_of(run("tuned", "2.0", [(TICKETS, 1_000_000)], [base]))


# ----------------------------------------------------------------- transitive verdicts


def test_non_commercial_parent_datanet_blocks_commercial_use(tuned: Lineage) -> None:
    v = check_use(tuned, use="commercial", domain="support", at_time=T)
    assert v.decision == "blocked"
    assert v.model == "tuned@2.0"
    assert [(f.label, f.decision) for f in v.findings] == [
        ("tickets@1", "allowed"),
        ("nc-corpus@1", "blocked"),
        ("wiki@1", "allowed"),
    ]
    nc = v.findings[1]
    assert nc.reached_via == ("tuned@2.0", "base@1.0")
    assert nc.depth == 1
    assert nc.clause == "use class non-commercial forbids commercial use"
    assert v.deciding == (nc,)
    assert v.clause == "nc-corpus@1: use class non-commercial forbids commercial use"
    assert v.findings[0].reached_via == ("tuned@2.0",)
    assert v.findings[0].clause == "use class commercial permits commercial use"


def test_same_lineage_allowed_for_non_commercial_and_academic(tuned: Lineage) -> None:
    assert check_use(tuned, use="non-commercial", domain="support", at_time=T).decision == "allowed"
    v = check_use(tuned, use="academic", domain="support", at_time=T)
    assert v.decision == "allowed"
    assert v.findings[1].clause == "use class non-commercial permits academic use"


def test_share_alike_propagates_from_parent(tuned: Lineage) -> None:
    v = check_use(tuned, use="non-commercial", domain="support", at_time=T)
    assert v.share_alike_required
    assert v.share_alike_licences == ("CC-BY-SA-4.0",)
    assert not v.share_alike_conflict
    assert [s.datanet for s in v.share_alike] == ["wiki@1"]
    assert v.share_alike[0].text == "adaptations must be shared under CC-BY-SA-4.0 (share-alike, from wiki@1)"


def test_attribution_notices_collected_from_all_levels(tuned: Lineage) -> None:
    v = check_use(tuned, use="commercial", domain="support", at_time=T)
    # CC-BY-4.0 and CC-BY-NC-4.0 require attribution by their SPDX id; nc-corpus gives no text.
    assert [(n.datanet, n.licence, n.text) for n in v.notices] == [
        ("tickets@1", "CC-BY-4.0", "Tickets (c) Acme, CC BY 4.0"),
        ("nc-corpus@1", "CC-BY-NC-4.0", "nc-corpus@1, licensed CC-BY-NC-4.0"),
        ("wiki@1", "CC-BY-SA-4.0", "Wiki text, CC BY-SA 4.0"),
    ]
    assert v.notice_texts == (
        "Tickets (c) Acme, CC BY 4.0",
        "nc-corpus@1, licensed CC-BY-NC-4.0",
        "Wiki text, CC BY-SA 4.0",
    )


def test_three_levels_notices_and_share_alike_dedupe() -> None:
    odbl = dn("osm", {"spdx": "ODbL-1.0", "attribution_notice": "(c) OSM contributors"})
    root = run("root", "1", [(odbl, 1_000_000)])
    mid = run("mid", "1", [(WIKI, 500_000), (MIT, 500_000)], [root])
    top = run("top", "1", [(WIKI, 1_000_000)], [mid])
    v = check_use(lineage_of(top), use="commercial", domain=None, at_time=T)
    assert v.decision == "allowed"
    assert [(f.label, f.reached_via) for f in v.findings] == [
        ("wiki@1", ("top@1",)),
        ("mit-code@1", ("top@1", "mid@1")),
        ("osm@1", ("top@1", "mid@1", "root@1")),
    ]
    assert v.notice_texts == ("Wiki text, CC BY-SA 4.0", "(c) OSM contributors")
    assert v.share_alike_licences == ("CC-BY-SA-4.0", "ODbL-1.0")
    assert v.share_alike_conflict


def test_diamond_reaches_each_version_once_by_shortest_path() -> None:
    root = run("root", "1", [(NC, 1_000_000)])
    left = run("left", "1", [(MIT, 1_000_000)], [root])
    right = run("right", "1", [(WIKI, 1_000_000)], [root])
    top = run("top", "1", [(NC, 1_000_000)], [left, right])
    v = check_use(lineage_of(top), use="commercial", domain=None, at_time=T)
    assert [(f.label, f.reached_via) for f in v.findings] == [
        ("nc-corpus@1", ("top@1",)),
        ("mit-code@1", ("top@1", "left@1")),
        ("wiki@1", ("top@1", "right@1")),
    ]
    assert v.decision == "blocked"


# ----------------------------------------------------------------- domains


def test_prohibited_domain_blocks(tuned: Lineage) -> None:
    v = check_use(tuned, use="non-commercial", domain=" Surveillance", at_time=T)
    assert v.decision == "blocked"
    assert v.domain == "surveillance"
    assert v.findings[0].clause == "domain 'surveillance' is prohibited"
    assert v.clause == "tickets@1: domain 'surveillance' is prohibited"


def test_allowed_domains_not_containing_domain_blocks() -> None:
    edu = dn("edu", {"spdx": "CC0-1.0", "allowed_domains": ["education", "Research"]})
    lin = lineage_of(run("m", "1", [(edu, 1_000_000)]))
    v = check_use(lin, use="commercial", domain="medical", at_time=T)
    assert v.decision == "blocked"
    assert v.findings[0].clause == "domain 'medical' is not among the allowed domains (education, research)"
    assert check_use(lin, use="commercial", domain="RESEARCH", at_time=T).decision == "allowed"
    nodomain = check_use(lin, use="commercial", domain=None, at_time=T)
    assert nodomain.decision == "needs-review"
    assert nodomain.findings[0].clause == "the terms restrict domains and no domain was given"


def test_domain_both_allowed_and_prohibited_is_blocked() -> None:
    odd = dn("odd", {"spdx": "MIT", "allowed_domains": ["medical"], "prohibited_domains": ["medical"]})
    v = check_use(lineage_of(run("m", "1", [(odd, 1_000_000)])), use="academic", domain="medical", at_time=T)
    assert v.decision == "blocked"
    assert v.findings[0].clause == "domain 'medical' is prohibited"


# ----------------------------------------------------------------- unknown terms, expiry


@pytest.mark.parametrize(
    ("terms", "clause"),
    [
        (None, "unknown terms: the published terms are not a JSON object"),
        ({}, "unknown terms: spdx: is required"),
        ({"license": "MIT"}, "unknown terms: terms: unknown field(s) license"),
        (
            {"spdx": "MIT OR Apache-2.0"},
            "unknown terms: spdx: must be an SPDX licence id or 'custom', got 'MIT OR Apache-2.0'",
        ),
        ({"spdx": "custom", "commercial_use": True}, "unknown terms: text_hash: is required for a custom licence"),
        (
            {"spdx": "MIT", "commercial_use": "yes"},
            "unknown terms: commercial_use: must be true, false or null, got 'yes'",
        ),
        (
            {"spdx": "MIT", "use_class": "commercial", "commercial_use": False},
            "unknown terms: commercial_use: false contradicts use_class commercial",
        ),
        (
            {"spdx": "MIT", "use_class": "personal"},
            "unknown terms: use_class: must be one of academic-only, non-commercial, unspecified, commercial, got 'personal'",
        ),
        (
            {"spdx": "MIT", "expires_at": "2030"},
            "unknown terms: expires_at: must be Unix seconds (a non-negative integer) or null, got '2030'",
        ),
        (
            {"spdx": "MIT", "prohibited_domains": "medical"},
            "unknown terms: prohibited_domains: must be a list of domain names, got str",
        ),
    ],
)
def test_unknown_terms_need_review(terms: Any, clause: str) -> None:
    v = check_use(lineage_of(run("m", "1", [(dn("x", terms), 1_000_000)])), use="academic", domain="any", at_time=T)
    assert v.decision == "needs-review"
    assert v.findings[0].clause == clause
    assert v.findings[0].spdx is None
    assert v.notices == () and v.share_alike == ()


def test_unknown_terms_never_allowed_but_blocked_wins() -> None:
    unknown = dn("mystery", None)
    ok = run("m", "1", [(unknown, 500_000), (MIT, 500_000)])
    assert check_use(lineage_of(ok), use="commercial", domain=None, at_time=T).decision == "needs-review"
    bad = run("m", "2", [(unknown, 500_000), (NC, 500_000)])
    v = check_use(lineage_of(bad), use="commercial", domain=None, at_time=T)
    assert v.decision == "blocked"
    assert [f.decision for f in v.findings] == ["needs-review", "blocked"]


def test_expired_blocks() -> None:
    exp = dn("exp", {"spdx": "CC0-1.0", "expires_at": 1_700_000_000})
    lin = lineage_of(run("m", "1", [(exp, 1_000_000)]))
    v = check_use(lin, use="academic", domain=None, at_time=1_700_000_000)
    assert v.decision == "blocked"
    assert v.findings[0].clause == "expired at 2023-11-14T22:13:20Z (1700000000)"
    before = check_use(lin, use="commercial", domain=None, at_time=1_699_999_999)
    assert before.decision == "allowed"
    assert before.findings[0].checks[0] == ("allowed", "valid until 2023-11-14T22:13:20Z (1700000000)")
    untimed = check_use(lin, use="academic", domain=None, at_time=None)
    assert untimed.decision == "needs-review"
    assert untimed.findings[0].clause == "expires at 2023-11-14T22:13:20Z (1700000000); no time given to check against"


def test_expired_parent_blocks_through_chain() -> None:
    exp = dn("exp", {"spdx": "MIT", "expires_at": T - 1})
    lin = lineage_of(run("child", "1", [(MIT, 1_000_000)], [run("parent", "1", [(exp, 1_000_000)])]))
    v = check_use(lin, use="academic", domain=None, at_time=T)
    assert v.decision == "blocked"
    assert v.deciding[0].reached_via == ("child@1", "parent@1")


# ----------------------------------------------------------------- use classes


@pytest.mark.parametrize(
    ("terms", "use_class"),
    [
        ({"spdx": "CC-BY-NC-SA-4.0"}, "non-commercial"),
        ({"spdx": "cc-by-nc-nd-3.0"}, "non-commercial"),
        ({"spdx": "MIT"}, "commercial"),
        ({"spdx": "Apache-2.0"}, "commercial"),
        ({"spdx": "CC-BY-4.0"}, "commercial"),
        ({"spdx": "CC0-1.0"}, "commercial"),
        ({"spdx": "CC-BY-ND-4.0"}, "unspecified"),
        ({"spdx": "LicenseRef-acme"}, "unspecified"),
        ({"spdx": "custom", "text_hash": "0x" + "ab" * 32}, "unspecified"),
        ({"spdx": "MIT", "commercial_use": False}, "non-commercial"),  # explicit flag wins
        ({"spdx": "CC-BY-NC-4.0", "commercial_use": True}, "commercial"),  # explicit flag wins
        ({"spdx": "CC-BY-4.0", "use_class": "academic-only"}, "academic-only"),
        ({"spdx": "MIT", "use_class": "unspecified", "commercial_use": None}, "unspecified"),
    ],
)
def test_use_class_derivation(terms: dict[str, Any], use_class: str) -> None:
    assert parse_terms(terms).use_class == use_class


@pytest.mark.parametrize(
    ("use_class", "academic", "non_commercial", "commercial"),
    [
        ("academic-only", "allowed", "blocked", "blocked"),
        ("non-commercial", "allowed", "allowed", "blocked"),
        ("unspecified", "allowed", "allowed", "needs-review"),
        ("commercial", "allowed", "allowed", "allowed"),
    ],
)
def test_use_class_matrix(use_class: str, academic: str, non_commercial: str, commercial: str) -> None:
    lin = lineage_of(run("m", "1", [(dn("d", {"spdx": "MIT", "use_class": use_class}), 1_000_000)]))
    got = [check_use(lin, use=u, domain=None, at_time=T).decision for u in ("academic", "non-commercial", "commercial")]
    assert got == [academic, non_commercial, commercial]


def test_academic_use_of_non_commercial_dataset_allowed() -> None:
    lin = lineage_of(run("m", "1", [(NC, 1_000_000)]))
    v = check_use(lin, use="academic", domain="medical", at_time=T)
    assert v.decision == "allowed"
    assert v.findings[0].clause == "use class non-commercial permits academic use"


def test_derived_attribution_and_share_alike() -> None:
    assert parse_terms({"spdx": "CC-BY-NC-SA-4.0"}).share_alike
    assert parse_terms({"spdx": "CC-BY-NC-SA-4.0"}).attribution_required
    assert parse_terms({"spdx": "ODbL-1.0"}).share_alike
    assert parse_terms({"spdx": "GPL-3.0-only"}).share_alike
    mit = parse_terms({"spdx": "MIT"})
    assert not mit.share_alike and not mit.attribution_required
    cc0 = parse_terms({"spdx": "CC0-1.0"})
    assert not cc0.share_alike and not cc0.attribution_required
    assert not parse_terms({"spdx": "CC-BY-SA-4.0", "share_alike": False}).share_alike  # explicit wins


def test_bad_arguments() -> None:
    lin = lineage_of(run("m", "1", [(MIT, 1_000_000)]))
    with pytest.raises(ValidationError, match="use: must be one of"):
        check_use(lin, use="personal", domain=None, at_time=T)
    with pytest.raises(ValidationError, match="domain"):
        check_use(lin, use="academic", domain="  ", at_time=T)
    with pytest.raises(ValidationError, match="at_time"):
        check_use(lin, use="academic", domain=None, at_time=-1)


# ----------------------------------------------------------------- make_terms, rules, JSON


def test_make_terms_explicit_and_round_trips() -> None:
    terms = make_terms(
        "CC-BY-NC-SA-4.0",
        attribution_notice="Lab corpus, CC BY-NC-SA 4.0",
        prohibited_domains=["Medical", "medical"],
        expires_at=1_900_000_000,
    )
    assert terms == {
        "spdx": "CC-BY-NC-SA-4.0",
        "use_class": "non-commercial",
        "commercial_use": False,
        "attribution_required": True,
        "attribution_notice": "Lab corpus, CC BY-NC-SA 4.0",
        "share_alike": True,
        "allowed_domains": [],
        "prohibited_domains": ["medical"],
        "expires_at": 1_900_000_000,
    }
    assert make_terms(spdx="CC-BY-NC-SA-4.0")["commercial_use"] is False
    assert rfc8785.dumps(terms)  # publishable as canonical JSON
    assert parse_terms(terms) == parse_terms(json.loads(rfc8785.dumps(terms)))
    assert parse_terms(terms).to_dict() == terms
    custom = make_terms("custom", text_hash=b"\x01" * 32, use_class="academic-only")
    assert custom["text_hash"] == "0x" + "01" * 32
    assert custom["commercial_use"] is False
    assert make_terms("LicenseRef-x")["commercial_use"] is None
    with pytest.raises(ValidationError, match="text_hash"):
        make_terms("custom")
    with pytest.raises(ValidationError, match="contradicts"):
        make_terms("MIT", use_class="non-commercial", commercial_use=True)


def test_demo_style_terms_are_known() -> None:
    terms = {
        "spdx": "CC-BY-4.0",
        "commercial_use": True,
        "attribution_required": True,
        "attribution_notice": "Support tickets (c) Acme Corp, CC BY 4.0",
        "share_alike": False,
        "prohibited_domains": ["surveillance"],
    }
    parsed = parse_terms(terms)
    assert isinstance(parsed, LicenseTerms)
    assert parsed.use_class == "commercial" and parsed.prohibited_domains == ("surveillance",)


def test_rules_table_is_the_docstring_table() -> None:
    table = rules_table()
    assert table in (licensing.__doc__ or "")
    assert table.startswith("**Use class")
    assert "| # | Check | Decision |" in table
    assert "| blocked | any DataNet version, or any retracted model version of the lineage, is blocked |" in table
    assert "<!--" not in table


def test_verdict_to_dict_is_json(tuned: Lineage) -> None:
    d = check_use(tuned, use="commercial", domain="support", at_time=T).to_dict()
    again = json.loads(json.dumps(d))
    assert again["decision"] == "blocked"
    assert again["clause"] == "nc-corpus@1: use class non-commercial forbids commercial use"
    assert again["findings"][1]["reached_via"] == ["tuned@2.0", "base@1.0"]
    assert again["share_alike"] == {
        "required": True,
        "licenses": ["CC-BY-SA-4.0"],
        "conflict": False,
        "sources": [
            {
                "datanet": "wiki@1",
                "license": "CC-BY-SA-4.0",
                "text": "adaptations must be shared under CC-BY-SA-4.0 (share-alike, from wiki@1)",
            }
        ],
    }
