"""Attribution shares and reward splits, with hand-computed expectations."""

from __future__ import annotations

import json
from collections.abc import Sequence
from fractions import Fraction as F

import pytest
from eth_utils import to_checksum_address
from hypothesis import given
from hypothesis import strategies as st

from provenance_ledger.core.attribution import (
    PARENT_SHARE_PPM,
    attribution,
    largest_remainder,
    split,
)
from provenance_ledger.core.entries import DatanetVersionInfo
from provenance_ledger.core.lineage import Lineage
from provenance_ledger.errors import ValidationError
from tests.lineage_builders import lineage_of, make_datanet, run


def dn(name: str, version: int = 1, contributors: Sequence[tuple[str, int]] = ()) -> DatanetVersionInfo:
    return make_datanet(name, version=version, contributors=contributors)


ALICE = to_checksum_address("0x" + "aa" * 20)
BOB = to_checksum_address("0x" + "bb" * 20)
CAROL = to_checksum_address("0x" + "cc" * 20)
ZED = to_checksum_address("0x" + "dd" * 20)


def chain3() -> Lineage:
    """chat@3 (E 25%, F 75%) <- instruct@2 (D 100%) <- base@1 (A 60%, B 40%)."""
    base = run("base", "1", [(dn("A"), 600_000), (dn("B"), 400_000)])
    instruct = run("instruct", "2", [(dn("D"), 1_000_000)], [base])
    return lineage_of(run("chat", "3", [(dn("E"), 250_000), (dn("F"), 750_000)], [instruct]))


def table(att) -> list[tuple[str, F, int]]:  # type: ignore[no-untyped-def]
    return [(d.label, d.share, d.ppm) for d in att.datanets]


# ----------------------------------------------------------------- DataNet shares


def test_three_level_chain_default_half() -> None:
    # chat keeps 1/2: E = 1/2*1/4, F = 1/2*3/4; instruct gets 1/2, keeps 1/4 (D), base gets 1/4: A = 1/4*3/5, B = 1/4*2/5
    att = attribution(chain3())
    assert PARENT_SHARE_PPM == 500_000
    assert att.model == "chat@3"
    assert table(att) == [
        ("E@1", F(1, 8), 125_000),
        ("F@1", F(3, 8), 375_000),
        ("D@1", F(1, 4), 250_000),
        ("A@1", F(3, 20), 150_000),
        ("B@1", F(1, 10), 100_000),
    ]
    assert [(r.label, r.credit, r.own) for r in att.runs] == [
        ("chat@3", F(1), F(1, 2)),
        ("instruct@2", F(1, 2), F(1, 4)),
        ("base@1", F(1, 4), F(1, 4)),
    ]
    assert sum(d.share for d in att.datanets) == 1
    assert sum(d.ppm for d in att.datanets) == 1_000_000


def test_three_level_chain_parent_share_30_percent() -> None:
    # chat keeps 7/10: E 7/40, F 21/40; instruct gets 3/10, keeps 21/100; base gets 9/100: A 27/500, B 18/500
    att = attribution(chain3(), parent_share_ppm=300_000)
    assert table(att) == [
        ("E@1", F(7, 40), 175_000),
        ("F@1", F(21, 40), 525_000),
        ("D@1", F(21, 100), 210_000),
        ("A@1", F(27, 500), 54_000),
        ("B@1", F(18, 500), 36_000),
    ]


def test_parent_share_extremes() -> None:
    none = attribution(chain3(), parent_share_ppm=0)
    assert [(label, ppm) for label, _, ppm in table(none)] == [
        ("E@1", 250_000),
        ("F@1", 750_000),
        ("D@1", 0),
        ("A@1", 0),
        ("B@1", 0),
    ]
    everything = attribution(chain3(), parent_share_ppm=1_000_000)
    assert table(everything)[3:] == [("A@1", F(3, 5), 600_000), ("B@1", F(2, 5), 400_000)]
    assert sum(d.share for d in everything.datanets) == 1
    for bad in (-1, 1_000_001, True, 0.5):
        with pytest.raises(ValidationError, match="parent_share_ppm"):
            attribution(chain3(), parent_share_ppm=bad)  # type: ignore[arg-type]


def test_ppm_largest_remainder_sums_to_million() -> None:
    # multi keeps 1/2 (M); three parents get 1/6 each -> 166,666.67 ppm: floors leave 2 ppm,
    # which go to the first two (equal remainders, DataNet order).
    parents = [run(f"p{i}", "1", [(dn(f"X{i}"), 1_000_000)]) for i in (1, 2, 3)]
    att = attribution(lineage_of(run("multi", "1", [(dn("M"), 1_000_000)], parents)))
    assert table(att) == [
        ("M@1", F(1, 2), 500_000),
        ("X1@1", F(1, 6), 166_667),
        ("X2@1", F(1, 6), 166_667),
        ("X3@1", F(1, 6), 166_666),
    ]
    assert sum(d.ppm for d in att.datanets) == 1_000_000


def test_diamond_parent_credit_accumulates_and_shared_datanet_sums() -> None:
    # top keeps 1/2 of S; left, right get 1/4 each, keep 1/8 each (L, S); root gets 1/8 + 1/8 = 1/4 (R)
    shared = dn("S")
    root = run("root", "1", [(dn("R"), 1_000_000)])
    left = run("left", "1", [(dn("L"), 1_000_000)], [root])
    right = run("right", "1", [(shared, 1_000_000)], [root])
    att = attribution(lineage_of(run("top", "1", [(shared, 1_000_000)], [left, right])))
    assert table(att) == [("S@1", F(5, 8), 625_000), ("L@1", F(1, 8), 125_000), ("R@1", F(1, 4), 250_000)]
    assert [(r.label, r.credit) for r in att.runs] == [
        ("top@1", F(1)),
        ("left@1", F(1, 4)),
        ("right@1", F(1, 4)),
        ("root@1", F(1, 4)),
    ]


def test_several_target_runs_split_equally() -> None:
    a = run("m", "1", [(dn("A"), 1_000_000)])
    b = run("m", "1b", [(dn("B"), 1_000_000)])
    att = attribution(Lineage(model_name="m", model_version="1", runs=(a, b)))
    assert table(att) == [("A@1", F(1, 2), 500_000), ("B@1", F(1, 2), 500_000)]


# ----------------------------------------------------------------- contributors and splits


def contributors_lineage() -> Lineage:
    """tuned@1 (A@2 50% [alice 1], U@1 50% [no contributors]) <- base@1 (A@1 60% [alice 3, bob 1, zed 0],
    B@1 40% [carol 1, alice 1])."""
    a1 = dn("A", 1, [(ALICE.lower(), 3), (BOB, 1), (ZED, 0)])
    b1 = dn("B", 1, [(CAROL, 1), (ALICE, 1)])
    base = run("base", "1", [(a1, 600_000), (b1, 400_000)])
    return lineage_of(run("tuned", "1", [(dn("A", 2, [(ALICE, 1)]), 500_000), (dn("U"), 500_000)], [base]))


def test_contributor_shares() -> None:
    # A@2 1/4, U@1 1/4, A@1 3/10, B@1 1/5
    # alice = 1/4 (A@2) + 3/4*3/10 (A@1) + 1/2*1/5 (B@1) = 10/40 + 9/40 + 4/40 = 23/40
    # bob = 1/4*3/10 = 3/40; carol = 1/10; zed nothing; U@1 unassigned 1/4
    att = attribution(contributors_lineage())
    assert table(att) == [
        ("A@2", F(1, 4), 250_000),
        ("U@1", F(1, 4), 250_000),
        ("A@1", F(3, 10), 300_000),
        ("B@1", F(1, 5), 200_000),
    ]
    assert [(c.recipient, c.share, c.ppm) for c in att.contributors] == [
        (ALICE, F(23, 40), 575_000),
        (BOB, F(3, 40), 75_000),
        (CAROL, F(1, 10), 100_000),
        ("unassigned:U@1", F(1, 4), 250_000),
    ]
    alice = att.contributors[0]
    assert alice.sources == (("A@2", F(1, 4)), ("A@1", F(9, 40)), ("B@1", F(1, 10)))
    assert att.contributors[3].unassigned
    assert ZED not in {c.recipient for c in att.contributors}
    assert att.datanets[2].contributors == ((ALICE, 3), (BOB, 1))  # zero shares dropped, address checksummed
    assert sum(c.share for c in att.contributors) == 1
    assert sum(c.ppm for c in att.contributors) == 1_000_000


def test_split_one_unit() -> None:
    # quotas .575, .075, .1, .25: all floors 0; the single unit goes to the largest remainder (alice)
    assert split(attribution(contributors_lineage()), 1) == [
        (ALICE, 1),
        (BOB, 0),
        (CAROL, 0),
        ("unassigned:U@1", 0),
    ]


def test_split_prime_amount() -> None:
    # 1,000,003 * (23/40, 3/40, 1/10, 1/4) = 575,001.725 / 75,000.225 / 100,000.3 / 250,000.75
    # floors sum to 1,000,001; the 2 left go to .75 (unassigned) and .725 (alice)
    got = split(attribution(contributors_lineage()), 1_000_003)
    assert got == [(ALICE, 575_002), (BOB, 75_000), (CAROL, 100_000), ("unassigned:U@1", 250_001)]
    assert sum(n for _, n in got) == 1_000_003


def test_split_zero_and_tie_broken_by_address() -> None:
    att = attribution(contributors_lineage())
    assert split(att, 0) == [(ALICE, 0), (BOB, 0), (CAROL, 0), ("unassigned:U@1", 0)]
    # 100 units: 57.5 / 7.5 / 10 / 25 -> floors 99; alice and bob tie at .5, alice's address sorts first
    assert split(att, 100) == [(ALICE, 58), (BOB, 7), (CAROL, 10), ("unassigned:U@1", 25)]


def test_tie_goes_to_lower_address_whatever_the_listing_order() -> None:
    low, high = to_checksum_address("0x" + "00" * 19 + "01"), to_checksum_address("0x" + "00" * 19 + "02")
    att = attribution(lineage_of(run("m", "1", [(dn("T", 1, [(high, 1), (low, 1)]), 1_000_000)])))
    assert split(att, 1) == [(low, 1), (high, 0)]
    assert split(att, 3) == [(low, 2), (high, 1)]


def test_all_zero_contributors_go_unassigned() -> None:
    att = attribution(lineage_of(run("m", "1", [(dn("Z", 1, [(ZED, 0)]), 400_000), (dn("P", 1, [(BOB, 5)]), 600_000)])))
    assert [(c.recipient, c.share) for c in att.contributors] == [(BOB, F(3, 5)), ("unassigned:Z@1", F(2, 5))]
    assert split(att, 7) == [(BOB, 4), ("unassigned:Z@1", 3)]  # 4.2 / 2.8 -> 4 / 2, the unit left to .8


def test_split_rejects_bad_amounts() -> None:
    att = attribution(contributors_lineage())
    for bad in (-1, 1.5, True):
        with pytest.raises(ValidationError, match="amount"):
            split(att, bad)  # type: ignore[arg-type]


def test_bad_contributor_entries() -> None:
    with pytest.raises(ValidationError, match="shares"):
        attribution(lineage_of(run("m", "1", [(dn("A", 1, [(ALICE, -1)]), 1_000_000)])))
    with pytest.raises(ValidationError, match="account"):
        attribution(lineage_of(run("m", "1", [(dn("A", 1, [("not-an-address", 1)]), 1_000_000)])))


def test_to_dict_is_json() -> None:
    d = json.loads(json.dumps(attribution(contributors_lineage()).to_dict()))
    assert d["parent_share_ppm"] == 500_000
    assert d["contributors"][0] == {
        "recipient": ALICE,
        "share": "23/40",
        "ppm": 575_000,
        "sources": [
            {"datanet": "A@2", "share": "1/4"},
            {"datanet": "A@1", "share": "9/40"},
            {"datanet": "B@1", "share": "1/10"},
        ],
    }


@given(
    weights=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12).filter(lambda w: sum(w) > 0),
    amount=st.integers(min_value=0, max_value=10**30),
)
def test_largest_remainder_always_sums_exactly(weights: list[int], amount: int) -> None:
    got = largest_remainder([(i, F(w)) for i, w in enumerate(weights)], amount)
    assert sum(n for _, n in got) == amount
    whole = sum(weights)
    for (_, n), w in zip(got, weights, strict=True):
        exact = F(amount * w, whole)
        assert exact - 1 < n < exact + 1  # each within one unit of its exact quota
        if w == 0:
            assert n == 0
