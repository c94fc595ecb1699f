"""The detectors that name what a rewording changed."""

from __future__ import annotations

from checker.changes import detect, dropped_denials, numbers, trimmed_quotes, word_diff


def kinds(claim: str, source: str, everything: str | None = None) -> set[str]:
    return {c.type for c in detect(claim, source, everything or source)}


def test_changed_figure_is_named_with_both_values() -> None:
    [change] = [c for c in detect("Rates rise 5.4% next year.", "Rates rise 4.5% next year.", "") if c.type == "number"]
    assert (change.story, change.source) == ("5.4%", "4.5%")
    assert change.describe() == "'4.5%' became '5.4%'"


def test_same_figure_written_differently_is_not_a_change() -> None:
    assert numbers("3,800 households") == numbers("3800 households")
    assert "number" not in kinds("About 3,800 homes are enrolled.", "About 3800 households are enrolled.")


def test_dropped_hedge_is_flagged() -> None:
    source = "The programme could cut leaks by up to a third, preliminary estimates suggest."
    assert "hedge" in kinds("The programme will cut leaks by a third.", source)


def test_hedge_on_a_part_the_story_left_out_is_not_flagged() -> None:
    source = "The bill rises by 4.5%, adding about $2 a month."
    assert "hedge" not in kinds("The bill rises by 4.5%.", source)


def test_flipped_negation_is_flagged_both_ways() -> None:
    assert "negation" in kinds("The bridge will reopen in May.", "The bridge will not reopen in May.")
    assert "negation" in kinds("The minister did not approve the plan.", "The minister approved the plan.")


def test_scope_and_cause_and_date_changes() -> None:
    assert "scope" in kinds("All councillors backed the plan.", "Some councillors backed the plan.")
    assert "cause" in kinds("The line closed because of the strike.", "The line closed on Monday.")
    assert "date" in kinds("The vote is on Friday.", "The vote is on Tuesday.")


def test_name_absent_from_every_source_is_flagged() -> None:
    change = next(
        c for c in detect("Mayor Hale backed the plan.", "The mayor backed the plan.", "") if c.type == "name"
    )
    assert "hale" in change.story


def test_faithful_paraphrase_has_no_changes() -> None:
    assert kinds("The council approved the budget on Tuesday.", "On Tuesday the council approved the budget.") == set()


def test_quote_that_is_not_verbatim_is_flagged_with_the_closest_source_wording() -> None:
    source = 'The chair said: "We will not accept any delay to the Eastgate works."'
    [change] = [
        c
        for c in detect('The chair said she would "not accept delays to the works."', source, source)
        if c.type == "quotation"
    ]
    assert "not verbatim" in change.describe() and "accept any delay" in change.source


def test_quote_stitched_from_two_places_is_flagged() -> None:
    source = 'He said "the plan is sound" and later "we need more money".'
    assert "quotation" in kinds('He said "the plan is sound and we need more money".', source)


def test_trimmed_quote_is_flagged() -> None:
    source = '"Pipes laid in the 1950s are failing faster than we can patch them," she said.'
    [change] = trimmed_quotes('"Pipes laid in the 1950s are failing," she said.', [source])
    assert "trimmed" in change.describe()


def test_dropped_denial_is_found_in_another_sentence() -> None:
    sources = ["The group met on Monday.", "The group denies that it asked for the vote to be postponed."]
    [(j, change)] = dropped_denials(
        "The group, which asked for the vote to be postponed, met on Monday.", sources, [0, 1]
    )
    assert j == 1 and change.type == "negation" and "opposite" in change.describe()


def test_word_diff_marks_deleted_and_inserted_words() -> None:
    ops = word_diff("The council voted 7 to 4 on Tuesday.", "The council unanimously voted on Tuesday.")
    assert ("delete", "7 to 4") in [(o.op, o.text) for o in ops]
    assert any(o.op == "insert" and "unanimously" in o.text for o in ops)
    assert " ".join(o.text for o in ops if o.op != "delete") == "The council unanimously voted on Tuesday."


def test_statement_moved_to_another_speaker_is_an_attribution_change() -> None:
    source = "Finance chair Miriam Okafor said the pipes would be replaced by 2029."
    change = next(
        c
        for c in detect("Mayor Tom Hale said the pipes would be replaced by 2029.", source, source)
        if c.type == "attribution"
    )
    assert "okafor" in change.source and "hale" in change.story


def test_same_speaker_in_other_words_is_not_an_attribution_change() -> None:
    source = "Finance chair Miriam Okafor said the pipes would be replaced by 2029."
    assert "attribution" not in kinds("The pipes will be replaced by 2029, Okafor said.", source)
