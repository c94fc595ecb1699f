"""The detectors that name what a rewording changed."""

from __future__ import annotations

import pytest

from checker.changes import SourceFacts, detect, dropped_denials, trimmed_quotes, word_diff
from checker.figures import figures


def kinds(claim: str, source: str, everything: str | None = None) -> set[str]:
    return {c.type for c in detect(claim, source, everything or source)}


def test_changed_figure_is_named_with_both_values() -> None:
    [change] = [c for c in detect("Rates rise 5.4% next year.", "Rates rise 4.5% next year.", "") if c.type == "number"]
    assert (change.story, change.source) == ("5.4%", "4.5%")
    assert change.describe() == "'4.5%' became '5.4%'"


def test_same_figure_written_differently_is_not_a_change() -> None:
    assert [f.value for f in figures("3,800 households")] == [f.value for f in figures("3800 households")]
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


def test_quote_trimmed_before_its_condition_is_flagged() -> None:
    source = '"We will open the bridge in May if the steel arrives on time," she said.'
    [change] = trimmed_quotes('"We will open the bridge in May," she said.', [source])
    assert "leaves out \u201cif the steel arrives on time\u201d" in change.describe()


def test_quote_trimmed_after_a_negation_is_flagged() -> None:
    source = '"The ferry is not safe to sail in winter," the inspector said.'
    [change] = trimmed_quotes('The inspector called the ferry "safe to sail in winter".', [source])
    assert "leaves out \u201cnot\u201d" in change.describe()


def test_verbatim_fragment_of_a_longer_quote_is_not_a_change() -> None:
    source = '"The ferry will sail twice a day from May, and fares will stay the same," the operator said.'
    claim = 'The operator said fares "will stay the same".'
    assert trimmed_quotes(claim, [source]) == [] and kinds(claim, source) == set()


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


def test_quote_given_to_another_speaker_is_an_attribution_change() -> None:
    source = 'Finance chair Miriam Okafor said: "The pipes will be replaced by 2029."'
    claim = 'Mayor Tom Hale said "the pipes will be replaced by 2029".'
    change = next(c for c in detect(claim, source, source) if c.type == "attribution")
    assert "okafor" in change.source and "hale" in change.story


def test_quote_given_to_a_role_that_did_not_say_it_is_an_attribution_change() -> None:
    sentences = ["The hearing lasted two hours.", 'Prosecutor Lena Brandt said the fund had been "emptied in secret".']
    claim = 'The judge said the fund had been "emptied in secret".'
    assert "attribution" in {c.type for c in detect(claim, sentences[1], " ".join(sentences), sentences=sentences)}


def test_quote_whose_speaker_the_story_calls_he_or_she_is_not_checked_for_attribution() -> None:
    source = 'Prosecutor Lena Brandt said the fund had been "emptied in secret".'
    assert "attribution" not in kinds('She said the fund had been "emptied in secret".', source)


def test_same_speaker_in_other_words_is_not_an_attribution_change() -> None:
    source = "Finance chair Miriam Okafor said the pipes would be replaced by 2029."
    assert "attribution" not in kinds("The pipes will be replaced by 2029, Okafor said.", source)


# --- derived figures, the calendar, reported speech: facts compared in pairs -------------------


@pytest.mark.parametrize(
    ("claim", "source"),
    [
        ("Turnout was 0.4 points higher than in 2022.", "Turnout was 61.3% this year and 60.9% in 2022."),
        ("The depot now holds 1,250 more buses than in spring.", "The depot held 3,400 buses in spring and 4,650 now."),
        ("Fares rose by roughly 5%.", "The average fare rose from 3.80 to 4.00 crowns."),
        ("More than a quarter of trains were late.", "Of all trains, 27% were late."),
        ("The fund is worth just over 2.4 million crowns.", "The fund is worth 2,413,000 crowns."),
        ("Inspections happen twice a year.", "The depot is inspected every six months."),
        ("The repairs took three weeks.", "The repairs took 21 days."),
        ("The ban lasts four and a half years.", "The ban lasts 54 months."),
        ("Prices have halved since the launch.", "Prices fell from 80 crowns at launch to 40 crowns."),
    ],
)
def test_figure_worked_out_from_the_source_is_not_a_change(claim: str, source: str) -> None:
    assert "number" not in kinds(claim, source)


def test_wrong_derivation_is_a_change_naming_the_pair() -> None:
    source = "The depot held 3,400 buses in spring and 4,650 now."
    [change] = [c for c in detect("The depot now holds 2,250 more buses.", source, "") if c.type == "number"]
    assert change.story == "2,250" and change.source in ("3,400", "4,650")


def test_a_changed_figure_names_only_the_pair_that_disagrees() -> None:
    source = "In 2025 the 14 branches lent 48,000 books, up from 41,000."
    [change] = [c for c in detect("The branches lent 84,000 books.", source, source) if c.type == "number"]
    assert change.describe() == "'48,000' became '84,000'"


def test_weekday_of_a_date_the_source_gives_is_not_a_change() -> None:
    source = "The library reopens on 3 March 2026 after repairs."  # 3 March 2026 is a Tuesday
    assert "date" not in kinds("The library reopens on Tuesday after repairs.", source)


def test_weekday_of_the_publication_date_is_not_a_change() -> None:
    facts = SourceFacts([("The council published its accounts today.", "2026-03-06")])  # a Friday
    assert detect("The council published its accounts on Friday.", facts.text, facts) == []


def test_weekday_that_does_not_fit_the_date_is_a_change_naming_it() -> None:
    source = "The red warning is in force on Saturday 7 March."
    [change] = [c for c in detect("The red warning is in force on Sunday.", source, source) if c.type == "date"]
    assert (change.story, change.source) == ("Sunday", "Saturday")


def test_months_of_a_quarter_and_times_on_another_clock_are_not_changes() -> None:
    source = "Sales rose in the third quarter. The road closes at 21:00 and reopens at 06:30."
    assert "date" not in kinds("Sales rose between July and September.", source)
    assert "date" not in kinds("The road closes at 9pm and reopens at 6.30am.", source.replace("06:30", "6:30am"))


def test_reported_speech_tense_is_not_a_dropped_hedge() -> None:
    source = '"The road will reopen in May," the engineer said.'
    assert "hedge" not in kinds("The engineer said the road would reopen in May.", source)


def test_will_for_a_source_may_is_a_dropped_hedge() -> None:
    source = "The road may reopen in May, the engineer said."
    assert "hedge" in kinds("The road will reopen in May, the engineer said.", source)


def test_approximating_words_are_not_scope_or_hedge_changes() -> None:
    source = "The fire burned 1,180 hectares."
    assert kinds("The fire burned some 1,200 hectares.", source) == set()
    assert kinds("The fire burned about 1,200 hectares.", source) == set()


def test_restating_a_negative_as_a_positive_word_is_not_a_negation_change() -> None:
    source = "Engineers have not yet found the fault."
    assert "negation" not in kinds("Engineers have yet to find the fault.", source)


def test_negation_idiom_bounding_a_date_is_not_a_negation_change() -> None:
    source = "The plant will open in May at the earliest."
    assert "negation" not in kinds("The plant is not expected to open until May.", source)


def test_negated_comparative_for_a_superlative_is_not_a_negation_change() -> None:
    source = "This is the wettest March recorded since 1990."
    assert "negation" not in kinds("No March since 1990 has been wetter than this one.", source)


def test_a_span_between_two_dates_of_the_source_is_a_derived_duration() -> None:
    source = "The launch planned for 14 October is now set for no earlier than 4 November."
    assert "number" not in kinds("The launch slips by at least three weeks.", source)
    assert "number" in kinds("The launch slips by at least five weeks.", source)


def test_negation_counterpart_is_the_sentence_that_negates_the_same_head() -> None:
    from checker.changes import negation_counterpart

    claim = "The levy is not intended to close the bridge but to fund its repair."
    closest = "The council set the levy at 2 pounds a crossing to fund the bridge's repair."
    denial = "The mayor said the levy was not intended to raise money for other roads."
    unrelated = "Traffic on the bridge fell by a tenth last year."
    j, [change] = negation_counterpart(claim, [(0, closest), (1, unrelated), (2, denial)])  # type: ignore[misc]
    assert j == 2 and change.detector == "negation-changed"
    assert "raise money" in change.source and "close the bridge" in change.story
    # the same denial, reworded: the claim's negation is sourced, nothing changed
    same = "The mayor said the levy was not intended to close the bridge."
    assert negation_counterpart(claim, [(0, closest), (2, same)]) == (2, [])
    # no sentence negates the same head: no counterpart
    assert negation_counterpart(claim, [(0, closest), (1, unrelated)]) is None
    # the closest sentence negates something itself: the ordinary comparison applies
    assert negation_counterpart(claim, [(0, "The levy will not rise this year."), (2, denial)]) is None


def test_added_negation_needs_the_source_to_hold_what_is_denied() -> None:
    source = "The transport board has a month to answer the inspectors."
    # the board is named, but the source says nothing of what the claim denies
    assert "negation" not in kinds("No one from the board agreed to meet the inspectors on site.", source)
    assert "negation" in kinds("The transport board does not have a month to answer the inspectors.", source)


def test_quantifier_borne_out_by_the_next_sentence_is_not_a_widening() -> None:
    source = "She joined the club in 2019."
    near = "She joined the club in 2019. She played 212 games in all competitions."
    claim = "She played 212 games in all competitions after joining in 2019."
    assert not [c for c in detect(claim, source, SourceFacts.of(near), context=near) if c.type == "scope"]
    assert [c for c in detect(claim, source, SourceFacts.of(source), context=source) if c.type == "scope"]
    # the quantifier nearby, said of something else: still a widening
    source = "For about 40 of the members, fees were also refunded."
    near = 'She said: "We will write to every affected member." For about 40 of the members, fees were also refunded.'
    claim = "For every affected member, fees were also refunded."
    assert [c for c in detect(claim, source, SourceFacts.of(near), context=near) if c.type == "scope"]


def test_a_count_the_source_sentence_gives_differently_is_changed_though_an_older_release_gives_it() -> None:
    now = "Of those, 9,200 were late, and 40 were more than a week late."
    older = "Of those, 7,100 were late, and four were more than a week late."
    [change] = [c for c in detect("Four parcels were more than a week late.", now, SourceFacts.of(f"{now} {older}"))]
    assert (change.story, change.source, change.detector) == ("Four", "40", "number-role")
    # the same count, or one worked out from the sentence, is no change
    assert not detect("Forty parcels were more than a week late.", now, SourceFacts.of(f"{now} {older}"))


def test_a_small_count_with_nothing_to_compare_is_scored_apart() -> None:
    source = "The council named Ann Lee and Raj Patel to the board."
    [change] = detect("The council named two people to the board.", source, SourceFacts.of(source))
    assert change.detector == "number-small"
    [change] = detect("The council named 40 people to the board.", source, SourceFacts.of(source))
    assert change.detector == ""  # a figure no original gives


def test_a_lists_numbers_are_not_figures() -> None:
    assert figures("1. The first bridge opened in 2019.\n2. The second is still closed.") == []
    assert [f.value for f in figures("Fares rose by 2. 3 lines were cut.")] == [2.0, 3.0]
