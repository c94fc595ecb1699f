"""Claims: story sentences, with tacked-on clauses split off, offsets kept."""

from __future__ import annotations

import pytest

from checker.claims import story_claims


def texts(story: str) -> list[str]:
    return [c.text for c in story_claims(story)]


def test_participle_clause_is_split_off() -> None:
    story = "The council approved the budget on Tuesday, marking a turning point for the city's finances."
    assert texts(story) == [
        "The council approved the budget on Tuesday",
        "marking a turning point for the city's finances.",
    ]


@pytest.mark.parametrize("opener", ["though", "even as", "while", "amid"])
def test_contrast_clause_is_split_off(opener: str) -> None:
    story = f"The mayor signed the order on Monday, {opener} several council members objected to the cost."
    claims = story_claims(story)
    assert len(claims) == 2 and claims[1].text.startswith(opener)
    assert all(c.kind == "clause" and c.sentence == 0 for c in claims)


def test_closing_quote_stays_with_the_first_clause() -> None:
    story = 'She said crews would work "day and night, every day of the week," though no budget was set for it.'
    first, second = texts(story)
    assert first.endswith('week,"') and second.startswith("though")


def test_commas_inside_a_quotation_do_not_split() -> None:
    story = 'He said: "We will finish the bridge, marking a first for the region, before winter."'
    assert texts(story) == [story]


def test_short_fragments_are_not_split() -> None:
    story = "Prices rose, though slowly."
    assert texts(story) == [story]


def test_dateline_is_not_a_claim_and_offsets_index_the_story() -> None:
    story = "OSLO, March 3. /NTB/. The ferry resumed service on Monday; fares stay at 40 kroner."
    claims = story_claims(story)
    assert [c.text for c in claims] == ["The ferry resumed service on Monday", "fares stay at 40 kroner."]
    assert all(story[c.start : c.end] == c.text for c in claims)
    assert [c.id for c in claims] == ["S2.1", "S2.2"]


def test_according_to_tail_stays_with_its_head() -> None:
    story = "Crews have worked double shifts since the start of May, according to the union."
    assert texts(story) == [story]


def test_fronted_phrase_stays_with_its_main_clause() -> None:
    story = "For every household in the district, the council will send a new bin in March."
    assert texts(story) == [story]


def test_appositive_and_relative_tails_are_split_by_structure() -> None:
    story = "The mayor banned cars from the square for ten years, the longest ban the city has seen."
    assert texts(story)[1] == "the longest ban the city has seen."
    story = "The ferry company cancelled every sailing on Friday, which left hundreds of travellers stranded."
    assert texts(story)[1].startswith("which left")
