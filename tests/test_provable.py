"""What the code may hold against a model's "supported": only changes it can prove."""

from __future__ import annotations

from checker.provable import provable_changes

SOURCE = (
    "The library lent 48,000 books in 2024, up from 40,000 in 2023. "
    "Opening hours will be cut from 60 to 45 hours a week from 3 March. "
    'Head librarian Ruth Obi said: "We will keep the reading room open on Saturdays." '
    'The town treasurer, Paul Kember, said the budget was "tight but honest".'
)
LENDING = "The library lent 48,000 books in 2024, up from 40,000 in 2023."
HOURS = "Opening hours will be cut from 60 to 45 hours a week from 3 March."


def kinds(claim: str, cited: str = "") -> list[tuple[str, str]]:
    return [(c.type, c.story) for c in provable_changes(claim, cited, SOURCE)]


def test_a_figure_found_in_an_original_is_not_a_change() -> None:
    assert kinds("It lent 48,000 books last year.", LENDING) == []


def test_derived_figures_are_supported() -> None:
    assert kinds("Lending rose by 8,000 books.", LENDING) == []  # 48,000 - 40,000
    assert kinds("Lending rose by 20%.", LENDING) == []  # (48,000 - 40,000) / 40,000
    assert kinds("Hours fall by 15 a week.", HOURS) == []
    assert kinds("Nearly 50,000 books went out.", LENDING) == []  # approximate: 48,000


def test_a_figure_in_no_original_and_not_derivable_is_proven() -> None:
    assert kinds("The library lent 84,000 books in 2024.", LENDING) == [("number", "84,000")]
    assert kinds("More than 70,000 books went out.", LENDING) == [("number", "More than 70,000")]


def test_quoted_words_not_in_any_original_are_proven_and_fragments_are_not() -> None:
    assert kinds('Obi promised to "keep the reading room open".') == []
    assert kinds('Kember called the budget "tight but honest".') == []
    assert kinds('Obi vowed to "keep every branch open".') == [("quotation", "keep every branch open")]
    assert kinds('Obi said: "We will keep ... open on Saturdays."') == []


def test_a_quote_given_to_another_speaker_is_proven() -> None:
    moved = 'Paul Kember said: "We will keep the reading room open on Saturdays."'
    right = 'Ruth Obi said: "We will keep the reading room open on Saturdays."'
    unnamed = '"We will keep the reading room open on Saturdays," a spokesperson said.'

    [change] = provable_changes(moved, "", SOURCE)
    assert change.type == "attribution" and "obi" in change.source
    assert kinds(right) == [] and kinds(unnamed) == []


def test_provable_changes_name_what_is_wrong_and_leave_the_rest_to_the_model() -> None:
    wrong = provable_changes("The library lent 84,000 books in 2024.", LENDING, SOURCE)
    paraphrase = provable_changes("Borrowing climbed a fifth last year, to 48,000 books.", LENDING, SOURCE)

    assert [(c.type, c.story) for c in wrong] == [("number", "84,000")]
    assert "48,000" in wrong[0].source
    assert paraphrase == []  # a fifth: (48,000 - 40,000) / 40,000


def test_small_counts_and_figures_some_original_gives_are_not_proof() -> None:
    from checker.provable import provable_changes

    sources = (
        "The council named Ann Lee and Raj Patel to the board. Of the bids, 40 were late. Last year four were late."
    )
    assert provable_changes("The council named two people to the board.", sources.split(". ")[0], sources) == []
    assert provable_changes("Four bids were late.", "Of the bids, 40 were late.", sources) == []
    assert provable_changes("Seventy bids were late.", "Of the bids, 40 were late.", sources)


def test_a_span_worked_out_from_the_publication_date_is_no_proof() -> None:
    from checker.changes import SourceFacts
    from checker.provable import provable_changes

    text = "The ferry entered service in 2014 and was built to last ten years."
    claim = "The ferry entered service in 2014 and has outlived its ten-year design life by about two years."
    dated = SourceFacts([(text, "2026-05-04")])
    assert provable_changes(claim, text, dated) == []
    # without the date the two years follow from nothing the originals say
    assert provable_changes(claim, text, text)
