"""Opposite words: a claim that says the opposite of its source sentence."""

from __future__ import annotations

import pytest

from checker.changes import detect
from checker.opposites import opposites


@pytest.mark.parametrize(
    ("claim", "source", "expected"),
    [
        ("Water use fell 5% last year.", "Water use rose 5% last year.", [("fell", "rose")]),
        ("The council approved the plan.", "The council rejected the plan.", [("approved", "rejected")]),
        ("The mayor was acquitted of fraud.", "The mayor was convicted of fraud.", [("acquitted", "convicted")]),
        ("Harbour traffic is closing for winter.", "Harbour traffic is opening for winter.", [("closing", "opening")]),
    ],
)
def test_a_claim_saying_the_opposite_is_caught(claim: str, source: str, expected: list[tuple[str, str]]) -> None:
    assert opposites(claim, source) == expected


@pytest.mark.parametrize(
    ("claim", "source"),
    [
        ("Prices rose while wages fell.", "Prices rose and wages fell."),  # both words in both
        ("Sales rose 5% last year.", "Sales climbed 5% last year."),  # a synonym, not an opposite
        ("The board approved the budget.", "The board approved the budget on Monday."),
    ],
)
def test_the_same_meaning_is_not_an_opposite(claim: str, source: str) -> None:
    assert opposites(claim, source) == []


def test_detect_reports_an_opposite_as_a_negation_in_plain_words() -> None:
    source = "Household water use rose by 3% in 2026, the utility said."
    changes = detect("Household water use fell by 3% in 2026, the utility said.", source, source)
    assert [(c.type, c.describe()) for c in changes] == [("negation", "'rose' became 'fell', its opposite")]


def test_idiom_is_not_one_side_of_an_opposite_pair() -> None:
    source = "The pay offer of 6% falls short of inflation, the union said."
    assert opposites("The union said the 6% pay rise was below inflation.", source) == []
    assert opposites("Pay will rise 6% this year.", "Pay will fall 6% this year.") == [("rise", "fall")]
