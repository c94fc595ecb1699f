"""Every entry of checker/lexicon.toml earns its place: its own sentence shows it at work."""

from __future__ import annotations

import re

import pytest

from checker.changes import (
    _markers,
    _negated,
    _negative,
    hedge_changes,
    negation_changes,
    scope_changes,
    speaker_words,
    trimmed_quotes,
)
from checker.claims import story_claims
from checker.figures import figures
from checker.lexicon import examples, lexicon, marked
from checker.omissions import newsworthiness
from checker.opposites import _forms, opposites, pairs
from retrieval.lexical import terms


@pytest.mark.parametrize(("word", "example"), examples("negators"))
def test_negator_negates_its_sentence(word: str, example: str) -> None:
    text, shown = marked(example)
    assert shown.lower().endswith(word.replace("n't", "n't")) or shown.lower() == word
    assert [neg for neg, _ in _negated(text)], text


@pytest.mark.parametrize(("idiom", "example"), examples("negation_idioms"))
def test_negation_idiom_negates_nothing(idiom: str, example: str) -> None:
    text, _ = marked(example)
    assert _negated(text) == [], text


@pytest.mark.parametrize(("word", "example"), examples("negative_words"))
def test_negative_word_counts_as_a_negative_statement(word: str, example: str) -> None:
    text, shown = marked(example)
    assert shown.lower() == word and _negative(text)


@pytest.mark.parametrize(("word", "example"), examples("possibility"))
def test_possibility_word_is_a_hedge_a_story_may_not_drop(word: str, example: str) -> None:
    text, shown = marked(example)
    assert shown.lower() == word and word in _markers(text, lexicon().possibility)
    asserted = text.replace(shown, "definitely", 1)
    assert hedge_changes(asserted, text), asserted


@pytest.mark.parametrize(("word", "example"), examples("certainty"))
def test_certainty_word_asserts(word: str, example: str) -> None:
    text, shown = marked(example)
    assert shown.lower() == word and word in _markers(text, lexicon().certainty)


@pytest.mark.parametrize(("phrase", "example"), examples("approximators"))
def test_approximator_bounds_the_figure_after_it(phrase: str, example: str) -> None:
    text, shown = marked(example)
    [f] = [f for f in figures(text) if f.text.lower().startswith(shown.lower())]
    assert f.sense == lexicon().approximators[phrase]


@pytest.mark.parametrize(("word", "example"), examples("universal"))
def test_universal_quantifier_widens_a_claim(word: str, example: str) -> None:
    text, shown = marked(example)
    narrow = re.sub(rf"\b{re.escape(shown)}\b", "some", text, count=1)
    assert scope_changes(text, narrow), (text, narrow)


@pytest.mark.parametrize(("phrase", "example"), examples("causal"))
def test_causal_phrase_claims_a_cause(phrase: str, example: str) -> None:
    text, shown = marked(example)
    assert shown.lower() == phrase and phrase in _markers(text, set(lexicon().causal))


@pytest.mark.parametrize(("verb", "example"), examples("speech_verbs"))
def test_speech_verb_names_its_speaker(verb: str, example: str) -> None:
    text, shown = marked(example)
    assert shown.lower() == verb and speaker_words(text), text


@pytest.mark.parametrize(("word", "example"), examples("clause_openers"))
def test_clause_opener_splits_off_a_bolted_on_clause(word: str, example: str) -> None:
    text, shown = marked(example)
    claims = story_claims(text)
    assert len(claims) == 2 and claims[1].text.lower().startswith(shown.lower()), [c.text for c in claims]


@pytest.mark.parametrize(("pair", "example"), examples("opposites"))
def test_opposite_pair_is_caught_both_ways(pair: str, example: str) -> None:
    text, shown = marked(example)
    a, b = (spec for spec in pair.split(" / "))
    side = _forms(b) if shown.lower() in _forms(a) else _forms(a)
    other = sorted(side)[0]
    flipped = text.replace(shown, other, 1)
    assert opposites(flipped, text) and opposites(text, flipped), (text, flipped)


@pytest.mark.parametrize(("idiom", "example"), examples("opposite_idioms"))
def test_opposite_idiom_says_no_opposite(idiom: str, example: str) -> None:
    text, shown = marked(example)
    assert shown == idiom
    paired = [(w, o) for w in idiom.split() for a, b in pairs() for o in (b if w in a else a if w in b else ())]
    assert paired, f"no word of {idiom!r} is in an opposite pair: the entry guards nothing"
    word, opposite = paired[0]
    # the word alone would be flagged against its opposite; inside the idiom it is not
    assert opposites(f"Figures {opposite} this year.", text.replace(idiom, word)), text
    assert not opposites(f"Figures {opposite} this year.", text), text


def test_number_words_fractions_and_multipliers_read_as_figures() -> None:
    lx = lexicon()
    for word, value in {**lx.number_words, **lx.multipliers}.items():
        if word == "one":
            continue
        found = figures(f"The council counted {word} new cases.")
        assert found and found[0].value == pytest.approx(value), word
    for word, value in lx.fractions.items():
        found = figures(f"Rents rose by {word} last year.")
        assert found and found[0].value == pytest.approx(100 * value, rel=1e-3), word


def test_weekdays_months_and_quarters_are_complete() -> None:
    lx = lexicon()
    assert sorted(lx.weekdays.values()) == list(range(7))
    assert set(lx.months.values()) == set(range(1, 13))
    assert sorted(m for q in ("first", "second", "third", "fourth") for m in lx.quarters[q]) == list(range(1, 13))


@pytest.mark.parametrize(("word", "example"), examples("negation_scope_ends"))
def test_scope_end_stops_what_a_negation_governs(word: str, example: str) -> None:
    text, _ = marked(example)
    [(_, governed)] = _negated(text)
    after = text.split(f" {word} ", 1)[1]
    assert not governed & set(terms(after)) - set(terms(text.split(f" {word} ", 1)[0])), (text, governed)


@pytest.mark.parametrize(("word", "example"), examples("caveats") + examples("denials"))
def test_caveats_and_denials_make_a_sentence_newsworthy(word: str, example: str) -> None:
    text, shown = marked(example)
    text = text.rstrip(".") + " at the town hall on Monday."  # long enough to rank at all
    plain = re.sub(rf"\b{re.escape(shown)}\b", "then", text, count=1, flags=re.IGNORECASE)
    assert shown.lower() == word and newsworthiness(text) > newsworthiness(plain), text


@pytest.mark.parametrize(("pattern", "example"), examples("boilerplate"))
def test_boilerplate_line_is_never_an_omission(pattern: str, example: str) -> None:
    text, shown = marked(example)
    assert re.search(f"(?i){pattern}", text) and newsworthiness(text) == 0.0, text


@pytest.mark.parametrize(("word", "example"), examples("titles"))
def test_title_is_not_part_of_a_speakers_name(word: str, example: str) -> None:
    text, shown = marked(example)
    assert shown.lower() == word and word not in speaker_words(text) and speaker_words(text), text


@pytest.mark.parametrize(("word", "example"), examples("pronouns"))
def test_pronoun_names_no_speaker(word: str, example: str) -> None:
    text, shown = marked(example)
    assert shown.lower() == word and speaker_words(text) == set(), text


@pytest.mark.parametrize(("word", "example"), examples("attribution_times"))
def test_attribution_tail_stays_with_its_head(word: str, example: str) -> None:
    text, shown = marked(example)
    assert shown.lower() == word and len(story_claims(text)) == 1, [c.text for c in story_claims(text)]


@pytest.mark.parametrize(("word", "example"), examples("quote_conditions"))
def test_quote_cut_before_its_condition_is_a_trimmed_quote(word: str, example: str) -> None:
    text, shown = marked(example)
    fragment = text.split('"')[1].split(f" {shown}")[0]
    assert trimmed_quotes(f'She said "{fragment}".', [text]), (fragment, text)


@pytest.mark.parametrize(("word", "example"), examples("comparatives"))
def test_negated_comparative_restates_a_superlative(word: str, example: str) -> None:
    text, shown = marked(example)
    assert shown.lower() == word and negation_changes(text, "It was the highest on record.") == [], text


@pytest.mark.parametrize(("word", "example"), examples("superlatives"))
def test_superlative_is_restated_by_a_negated_comparative(word: str, example: str) -> None:
    text, shown = marked(example)
    assert shown.lower() == word and negation_changes("No year has seen more of it than this.", text) == [], text


def test_clock_words_are_times() -> None:
    from checker.dates import times

    for word, minutes in lexicon().clock_words.items():
        assert times(f"The road reopens at {word} on Monday.") == [(word, minutes)]


@pytest.mark.parametrize(("word", "example"), examples("introductory_words"))
def test_introductory_phrase_stays_with_its_main_clause(word: str, example: str) -> None:
    text, shown = marked(example)
    assert shown.lower() == word and len(story_claims(text)) == 1, [c.text for c in story_claims(text)]
