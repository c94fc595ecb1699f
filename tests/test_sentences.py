"""retrieval.sentences: sentence segmentation of news copy, with character offsets."""

from __future__ import annotations

from retrieval.sentences import Segment, split_sentences

VARIED_STORY = """Harbour council backs $40m sea wall

LONDON (Reuters) - The Marlow harbour council voted 9-2 on Tuesday to rebuild
the sea wall, the biggest project in the town's history. Dr. Ines Varga, who chairs
the works committee, said building would start in Sept. and take two years.

"We have patched this wall for thirty years. It cannot be patched again. It has to be
replaced," she told reporters. Costs rose to $1.13bn across the region, or 3.5% more
than the U.S. average, according to J. Smith of the port authority.

The plan includes:
- A new breakwater
- Two pumping stations
1) Repairs to the ferry ramp

Did the council consider cheaper options? Critics say it did not! The vote stands\u2026
Revenue reached $10.9bn.For the full year the authority expects a surplus.
"""


def texts(text: str) -> list[str]:
    return [s.text for s in split_sentences(text)]


def kinds(text: str) -> list[tuple[str, str]]:
    return [(s.kind, s.text) for s in split_sentences(text)]


def assert_offsets_match(text: str, segments: list[Segment]) -> None:
    for seg in segments:
        assert text[seg.start : seg.end] == seg.text


# --- offsets -------------------------------------------------------------------------------


def test_every_segment_is_the_exact_slice_of_the_input() -> None:
    text = "The council met on Tuesday. It approved the budget. Dr. Hale voted against."

    segments = split_sentences(text)

    assert len(segments) == 3
    assert_offsets_match(text, segments)


def test_offsets_hold_over_a_varied_multi_paragraph_story() -> None:
    segments = split_sentences(VARIED_STORY)

    assert len(segments) > 10
    assert_offsets_match(VARIED_STORY, segments)


def test_offsets_hold_with_windows_line_endings() -> None:
    text = VARIED_STORY.replace("\n", "\r\n")

    segments = split_sentences(text)

    assert_offsets_match(text, segments)
    assert [s.text.replace("\r\n", "\n") for s in segments] == texts(VARIED_STORY)


def test_windows_line_endings_are_not_part_of_a_segment_edge() -> None:
    text = "Council backs harbour plan\r\n\r\nThe council voted 9-2 on Tuesday.\r\nWork starts in May.\r\n"

    assert texts(text) == ["Council backs harbour plan", "The council voted 9-2 on Tuesday.", "Work starts in May."]


def test_segments_never_start_or_end_with_whitespace() -> None:
    for seg in split_sentences(VARIED_STORY):
        assert seg.text == seg.text.strip()


def test_segments_are_in_order_and_do_not_overlap() -> None:
    segments = split_sentences(VARIED_STORY)

    for before, after in zip(segments, segments[1:], strict=False):
        assert before.end <= after.start


def test_paragraph_index_counts_blank_line_separated_paragraphs() -> None:
    text = "First paragraph here. It has two sentences.\n\nSecond paragraph here."

    assert [(s.paragraph, s.text) for s in split_sentences(text)] == [
        (0, "First paragraph here."),
        (0, "It has two sentences."),
        (1, "Second paragraph here."),
    ]


# --- abbreviations, initials and numbers ---------------------------------------------------


def test_abbreviation_sept_does_not_end_a_sentence() -> None:
    assert texts("The vote is set for Sept. 12 in the capital. Officials expect a close count.") == [
        "The vote is set for Sept. 12 in the capital.",
        "Officials expect a close count.",
    ]


def test_titles_dr_and_mr_do_not_end_a_sentence() -> None:
    assert texts("Dr. Amara Osei said the clinic would reopen. Mr. Lind agreed with her.") == [
        "Dr. Amara Osei said the clinic would reopen.",
        "Mr. Lind agreed with her.",
    ]


def test_us_inside_a_sentence_does_not_end_it() -> None:
    assert texts("The U.S. Treasury said on Monday it would borrow more. Markets fell.") == [
        "The U.S. Treasury said on Monday it would borrow more.",
        "Markets fell.",
    ]


def test_initial_before_a_surname_does_not_end_a_sentence() -> None:
    assert texts("J. Smith, the harbour master, confirmed the closure. Ferries were cancelled.") == [
        "J. Smith, the harbour master, confirmed the closure.",
        "Ferries were cancelled.",
    ]


def test_us_followed_by_a_sentence_starter_ends_the_sentence() -> None:
    assert texts("Talks moved to the U.S. The next day the delegates flew home.") == [
        "Talks moved to the U.S.",
        "The next day the delegates flew home.",
    ]


def test_company_abbreviations_do_not_end_a_sentence() -> None:
    assert texts("The firm, Acme Corp. Ltd., said profits fell. Shares slid.") == [
        "The firm, Acme Corp. Ltd., said profits fell.",
        "Shares slid.",
    ]


def test_decimal_prices_and_percentages_do_not_end_a_sentence() -> None:
    assert texts("Revenue rose to $1.13bn in the quarter. Margins widened to 3.5% from 2.9%. Shares fell.") == [
        "Revenue rose to $1.13bn in the quarter.",
        "Margins widened to 3.5% from 2.9%.",
        "Shares fell.",
    ]


def test_sentence_ending_in_a_price_splits_from_the_next() -> None:
    assert texts("The ticket now costs $4.99. That is up 2.5% on last year.") == [
        "The ticket now costs $4.99.",
        "That is up 2.5% on last year.",
    ]


# --- quotations ----------------------------------------------------------------------------


def test_straight_quoted_speech_of_several_sentences_stays_one_segment() -> None:
    text = 'The minister said: "We will not retreat. We will not apologise. We will win." Aides nodded.'

    assert texts(text) == [
        'The minister said: "We will not retreat. We will not apologise. We will win."',
        "Aides nodded.",
    ]


def test_curly_quoted_speech_of_several_sentences_stays_one_segment() -> None:
    text = "The minister said: \u201cWe will not retreat. We will not apologise. We will win.\u201d Aides nodded."

    assert texts(text) == [
        "The minister said: \u201cWe will not retreat. We will not apologise. We will win.\u201d",
        "Aides nodded.",
    ]


def test_quotation_opening_a_paragraph_stays_whole() -> None:
    text = '"Fares are too high. Nobody can afford them," said Ana Reyes, a commuter. The company declined to comment.'

    assert texts(text) == [
        '"Fares are too high. Nobody can afford them," said Ana Reyes, a commuter.',
        "The company declined to comment.",
    ]


def test_unbalanced_opening_quote_does_not_swallow_a_long_paragraph() -> None:
    ships = " ".join(f"Trawler number {i} waited outside the breakwater for a pilot." for i in range(40))
    text = "\u201cThe port will stay closed, the harbour master said on Monday. " + ships

    segments = split_sentences(text)

    assert len(segments) > 10
    assert all(len(s.text) < 1300 for s in segments)
    assert segments[-1].text == "Trawler number 39 waited outside the breakwater for a pilot."
    assert_offsets_match(text, segments)


def test_unbalanced_straight_quote_does_not_swallow_a_long_paragraph() -> None:
    ships = " ".join(f"Trawler number {i} waited outside the breakwater for a pilot." for i in range(40))
    text = '"The port will stay closed, the harbour master said on Monday. ' + ships

    segments = split_sentences(text)

    assert len(segments) > 10
    assert segments[-2].text == "Trawler number 38 waited outside the breakwater for a pilot."


# --- datelines -----------------------------------------------------------------------------


def test_tass_style_dateline_is_its_own_segment() -> None:
    text = "PARIS, September 4. /TASS/. Leaders met at the palace on Thursday. They agreed a plan."

    assert kinds(text) == [
        ("dateline", "PARIS, September 4. /TASS/."),
        ("sentence", "Leaders met at the palace on Thursday."),
        ("sentence", "They agreed a plan."),
    ]


def test_agency_in_brackets_dateline_is_its_own_segment() -> None:
    text = "LONDON (Reuters) - The Bank of England held rates on Thursday. Sterling slipped."

    assert kinds(text) == [
        ("dateline", "LONDON (Reuters) -"),
        ("sentence", "The Bank of England held rates on Thursday."),
        ("sentence", "Sterling slipped."),
    ]


def test_city_and_dash_dateline_is_its_own_segment() -> None:
    text = "WASHINGTON \u2014 The Senate passed the bill on Friday. It now goes to the House."

    assert kinds(text)[0] == ("dateline", "WASHINGTON \u2014")


def test_dateline_after_a_headline_is_its_own_segment() -> None:
    text = "Bank holds rates\n\nLONDON (Reuters) - The Bank of England held rates on Thursday."

    assert kinds(text) == [
        ("heading", "Bank holds rates"),
        ("dateline", "LONDON (Reuters) -"),
        ("sentence", "The Bank of England held rates on Thursday."),
    ]


def test_indented_dateline_is_its_own_segment() -> None:
    text = "  PARIS, September 4. /TASS/. Leaders met at the palace on Thursday."

    assert kinds(text)[0] == ("dateline", "PARIS, September 4. /TASS/.")


# --- list items and headings ---------------------------------------------------------------


def test_dashed_list_items_are_list_items() -> None:
    text = "- Ten new buses\n- Two depots\n* Night routes\n\u2022 Cheaper fares"

    assert kinds(text) == [
        ("list_item", "- Ten new buses"),
        ("list_item", "- Two depots"),
        ("list_item", "* Night routes"),
        ("list_item", "\u2022 Cheaper fares"),
    ]


def test_numbered_list_items_with_a_bracket_are_list_items() -> None:
    assert kinds("1) Ten new buses\n2) Two depots") == [
        ("list_item", "1) Ten new buses"),
        ("list_item", "2) Two depots"),
    ]


def test_numbered_list_items_with_a_dot_are_list_items() -> None:
    assert kinds("1. Ten new buses\n2. Two depots") == [
        ("list_item", "1. Ten new buses"),
        ("list_item", "2. Two depots"),
    ]


def test_list_items_are_not_joined_to_each_other_or_to_prose() -> None:
    text = "The plan includes:\n- a new breakwater\n- two pumping stations"

    segments = split_sentences(text)

    assert [s.text for s in segments] == ["The plan includes:", "- a new breakwater", "- two pumping stations"]
    assert [s.kind for s in segments[1:]] == ["list_item", "list_item"]


def test_short_line_without_final_punctuation_before_a_blank_line_is_a_heading() -> None:
    text = "Council backs harbour plan\n\nThe council voted 9-2 on Tuesday to expand the harbour."

    assert kinds(text) == [
        ("heading", "Council backs harbour plan"),
        ("sentence", "The council voted 9-2 on Tuesday to expand the harbour."),
    ]


def test_short_line_with_final_punctuation_is_a_sentence_not_a_heading() -> None:
    assert kinds("The council voted.\n\nWork starts in May.") == [
        ("sentence", "The council voted."),
        ("sentence", "Work starts in May."),
    ]


def test_long_line_without_final_punctuation_is_a_sentence_not_a_heading() -> None:
    text = (
        "the plan was approved by the council on Tuesday after a long and bitter debate "
        "over money roads and the old pier"
    )

    assert kinds(text) == [("sentence", text)]


# --- wrapped lines and glued sentences -----------------------------------------------------


def test_hard_wrapped_prose_lines_are_joined_into_one_sentence() -> None:
    text = (
        "The council voted on Tuesday to expand the harbour and\n"
        "rebuild the old sea wall at a cost of\n"
        "nearly $40m. Work starts in May."
    )

    assert texts(text) == [
        "The council voted on Tuesday to expand the harbour and\nrebuild the old sea wall at a cost of\nnearly $40m.",
        "Work starts in May.",
    ]


def test_hard_wrapped_lines_join_with_windows_line_endings() -> None:
    text = "It will borrow $12.5m to pay for\r\nthe work. Dr. Ruiz objected."

    assert texts(text) == ["It will borrow $12.5m to pay for\r\nthe work.", "Dr. Ruiz objected."]


def test_hard_wrapped_line_starting_with_a_name_is_joined() -> None:
    text = "The council met with\nMayor Hale on Tuesday to discuss the plan."

    assert kinds(text) == [("sentence", text)]


def test_sentences_glued_without_a_space_are_split() -> None:
    text = "Quarterly revenue reached $10.9bn.For the full year the company expects growth."

    assert texts(text) == [
        "Quarterly revenue reached $10.9bn.",
        "For the full year the company expects growth.",
    ]


def test_glued_split_does_not_cut_inside_a_decimal() -> None:
    assert texts("Revenue hit $10.9bn.For the full year it expects $42.1bn.") == [
        "Revenue hit $10.9bn.",
        "For the full year it expects $42.1bn.",
    ]


def test_glued_quotation_cut_short_does_not_hold_the_next_sentences() -> None:
    text = 'The mayor said: "Nothing matters more than the harbour.The vote was 7 to 4.Reyes called it "a mistake".'

    assert texts(text) == [
        'The mayor said: "Nothing matters more than the harbour.',
        "The vote was 7 to 4.",
        'Reyes called it "a mistake".',
    ]


def test_glued_closing_quote_stays_with_its_sentence() -> None:
    text = 'She said: "We will appeal."The court sits on Monday.'

    assert texts(text) == ['She said: "We will appeal."', "The court sits on Monday."]


def test_glued_sentences_starting_with_a_digit_name_or_apostrophe_are_split() -> None:
    text = "Shares fell on Monday.G20 ministers met.I'd expect more.O'Neill disagreed."

    assert texts(text) == ["Shares fell on Monday.", "G20 ministers met.", "I'd expect more.", "O'Neill disagreed."]


def test_glue_after_an_ellipsis_or_repeated_marks_is_split() -> None:
    assert texts("We failed to agree ...Talks resume today.Really??Yes.") == [
        "We failed to agree ...",
        "Talks resume today.",
        "Really??",
        "Yes.",
    ]


# --- other sentence ends -------------------------------------------------------------------


def test_question_and_exclamation_marks_end_sentences() -> None:
    assert texts("Did the mayor know? She said she did not! The inquiry continues.") == [
        "Did the mayor know?",
        "She said she did not!",
        "The inquiry continues.",
    ]


def test_three_dot_ellipsis_ends_a_sentence() -> None:
    assert texts("The count went on... Then the lights went out.") == [
        "The count went on...",
        "Then the lights went out.",
    ]


def test_ellipsis_character_ends_a_sentence() -> None:
    assert texts("The count went on\u2026 Then the lights went out.") == [
        "The count went on\u2026",
        "Then the lights went out.",
    ]


def test_full_stop_followed_by_lower_case_does_not_split() -> None:
    assert texts("The deal closed at 5 p.m. on Friday, aides said.") == [
        "The deal closed at 5 p.m. on Friday, aides said."
    ]


# --- empty input ---------------------------------------------------------------------------


def test_empty_text_gives_no_segments() -> None:
    assert split_sentences("") == []


def test_whitespace_only_text_gives_no_segments() -> None:
    assert split_sentences("   \n\n \t \r\n ") == []
