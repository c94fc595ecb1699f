"""What the code may hold against a model's "supported": only changes it can prove."""

from __future__ import annotations

from checker.provable import figures, misattributed_quotes, provable_changes, unquoted_quotes, unsupported_figures

SOURCE = (
    "The library lent 48,000 books in 2024, up from 40,000 in 2023. "
    "Opening hours will be cut from 60 to 45 hours a week from 3 March. "
    'Head librarian Ruth Obi said: "We will keep the reading room open on Saturdays." '
    'The town treasurer, Paul Kember, said the budget was "tight but honest".'
)


def test_figures_keep_their_scale_and_precision() -> None:
    got = {f.text: (f.value, f.step) for f in figures("just over 2.63 million people and 14 staff")}

    assert got == {"2.63 million": (2_630_000.0, 10_000.0), "14": (14.0, 1.0)}
    assert figures("up 0.3 percentage points")[0].percent
    assert figures("more than 41,000 cases")[0].approximate
    assert figures("in 2025")[0].year


def test_a_figure_found_in_an_original_is_not_a_change() -> None:
    assert unsupported_figures("It lent 48,000 books last year.", SOURCE) == []


def test_derived_figures_are_supported() -> None:
    assert unsupported_figures("Lending rose by 8,000 books.", SOURCE) == []  # 48,000 - 40,000
    assert unsupported_figures("Lending rose by 20%.", SOURCE) == []  # (48,000 - 40,000) / 40,000
    assert unsupported_figures("Hours fall by 15 a week, a quarter of the total.", SOURCE) == []
    assert unsupported_figures("Nearly 50,000 books went out.", SOURCE) == []  # approximate: 48,000
    assert unsupported_figures("Lending has been counted for a year now, since 2023.", SOURCE) == []


def test_a_figure_in_no_original_and_not_derivable_is_proven() -> None:
    assert unsupported_figures("The library lent 84,000 books in 2024.", SOURCE) == ["84,000"]
    assert unsupported_figures("More than 70,000 books went out.", SOURCE) == ["70,000"]


def test_an_approximate_figure_is_judged_against_the_originals_figures_not_far_fetched_sums() -> None:
    assert unsupported_figures("It now opens 120 hours a fortnight.", SOURCE) == []  # 60 x 2, exact
    assert unsupported_figures("It now opens nearly 130 hours a fortnight.", SOURCE) == ["130"]


def test_quoted_words_not_in_any_original_are_proven_and_fragments_are_not() -> None:
    assert unquoted_quotes('Obi promised to "keep the reading room open".', SOURCE) == []
    assert unquoted_quotes('Kember called the budget "tight but honest".', SOURCE) == []
    assert unquoted_quotes('Obi vowed to "keep every branch open".', SOURCE) == ["keep every branch open"]
    assert unquoted_quotes('Obi said: "We will keep ... open on Saturdays."', SOURCE) == []


def test_a_quote_given_to_another_speaker_is_proven() -> None:
    moved = 'Paul Kember said: "We will keep the reading room open on Saturdays."'
    right = 'Ruth Obi said: "We will keep the reading room open on Saturdays."'
    unnamed = '"We will keep the reading room open on Saturdays," a spokesperson said.'

    assert misattributed_quotes(moved, SOURCE) == [("We will keep the reading room open on Saturdays", {"ruth", "obi"})]
    assert misattributed_quotes(right, SOURCE) == []
    assert misattributed_quotes(unnamed, SOURCE) == []


def test_provable_changes_name_what_is_wrong_and_leave_the_rest_to_the_model() -> None:
    cited = "The library lent 48,000 books in 2024, up from 40,000 in 2023."
    wrong = provable_changes("The library lent 84,000 books in 2024.", cited, SOURCE)
    paraphrase = provable_changes("Borrowing climbed a fifth last year, to 48,000 books.", cited, SOURCE)

    assert [(c.type, c.story) for c in wrong] == [("number", "84,000")]
    assert "48,000" in wrong[0].source
    assert paraphrase == []  # "a fifth" is a word form: the model's call, not the code's
