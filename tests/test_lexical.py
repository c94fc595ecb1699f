"""retrieval.lexical: index terms, a light stemmer and BM25 over whole articles."""

from __future__ import annotations

import math

import pytest

from retrieval.lexical import LexicalIndex, stem, terms

HARBOUR = (
    "harbour",
    "The Marlow harbour council voted on Tuesday to rebuild the sea wall at a cost of $40.5m. "
    "Ines Varga, who chairs the works committee, said building would start in September.",
)
FERRY = (
    "ferry",
    "The island ferry company said fares on its three routes would rise by 12% from April. "
    "The council said it would review the harbour levy.",
)
BUDGET = (
    "budget",
    "The city council approved a budget on Tuesday. The council said taxes would not rise this year.",
)
SCHOOLS = (
    "schools",
    "Two new schools will open in the northern district next year, the education board said.",
)
DOCS = [HARBOUR, FERRY, BUDGET, SCHOOLS]


@pytest.fixture(scope="module")
def index() -> LexicalIndex:
    return LexicalIndex(DOCS)


# --- terms ---------------------------------------------------------------------------------


def test_terms_drop_stopwords() -> None:
    assert terms("The mayor said that it was over and done with") == ["mayor", "done"]


def test_terms_are_lower_cased() -> None:
    assert terms("MARLOW Harbour COUNCIL") == ["marlow", "harbour", "council"]


def test_terms_keep_numbers_with_decimals_and_percent() -> None:
    assert terms("Margins widened to 3.5% from 2.9 points") == ["margin", "widen", "3.5%", "2.9", "point"]


def test_terms_join_thousands_separators() -> None:
    assert terms("1,000 homes and 2,500,000 visitors") == ["1000", "home", "2500000", "visitor"]


def test_terms_split_a_price_into_number_and_unit() -> None:
    assert terms("$1.13bn") == ["1.13", "bn"]


def test_terms_drop_punctuation_and_currency_signs() -> None:
    assert terms("“Rebuild it!” — she said; (tonight?) $ £ €") == ["rebuild", "tonight"]


def test_terms_of_empty_or_stopword_only_text_are_empty() -> None:
    assert terms("") == []
    assert terms("the of and to") == []


def test_terms_stem_inflected_words() -> None:
    assert terms("Countries pledged") == terms("country pledges")


# --- stem ----------------------------------------------------------------------------------


def test_plural_past_and_gerund_forms_share_one_stem() -> None:
    forms = {stem(w) for w in ("pledge", "pledges", "pledged", "pledging")}

    assert forms == {"pledg"}


def test_ies_plural_maps_to_the_y_singular() -> None:
    assert stem("countries") == stem("country") == "country"


@pytest.mark.parametrize(("plural", "singular"), [("taxes", "tax"), ("churches", "church"), ("boxes", "box")])
def test_es_plurals_lose_their_es(plural: str, singular: str) -> None:
    assert stem(plural) == stem(singular)


@pytest.mark.parametrize("word", ["status", "analysis", "address"])
def test_words_ending_in_us_is_or_ss_are_not_treated_as_plurals(word: str) -> None:
    assert stem(word) == word


def test_possessive_s_is_removed() -> None:
    assert stem("minister's") == stem("minister\u2019s") == stem("minister")


@pytest.mark.parametrize("number", ["2024", "3.5%", "1000", "12s"])
def test_numbers_are_left_alone(number: str) -> None:
    assert stem(number) == number


@pytest.mark.parametrize("word", ["bus", "gas", "run", "led", "tax"])
def test_short_words_are_left_alone(word: str) -> None:
    assert stem(word) == word


def test_short_stem_keeps_its_ing_or_ed() -> None:
    assert stem("sing") == "sing"
    assert stem("feed") == "feed"


# --- BM25 search ---------------------------------------------------------------------------


def test_index_length_is_the_number_of_documents(index: LexicalIndex) -> None:
    assert len(index) == 4


def test_document_sharing_rare_names_and_numbers_ranks_first(index: LexicalIndex) -> None:
    hits = index.search("Council leader Varga says Marlow sea wall will cost $40.5m")

    assert hits[0][0] == "harbour"


def test_document_sharing_a_rare_percentage_ranks_first(index: LexicalIndex) -> None:
    hits = index.search("Council confirms fares to climb 12% on island routes")

    assert hits[0][0] == "ferry"


def test_rare_shared_term_outranks_a_repeated_common_one(index: LexicalIndex) -> None:
    hits = index.search("council council council Varga")

    assert hits[0][0] == "harbour"


def test_results_are_sorted_best_first(index: LexicalIndex) -> None:
    hits = index.search("council Tuesday harbour taxes")

    scores = [score for _doc, score in hits]
    assert scores == sorted(scores, reverse=True)
    assert len(hits) == 3


def test_only_documents_with_a_positive_score_are_returned(index: LexicalIndex) -> None:
    hits = index.search("education board schools")

    assert [doc for doc, _score in hits] == ["schools"]
    assert all(score > 0 for _doc, score in hits)


def test_query_sharing_no_terms_returns_nothing(index: LexicalIndex) -> None:
    assert index.search("volcano eruption grounds flights") == []


def test_query_of_only_stopwords_returns_nothing(index: LexicalIndex) -> None:
    assert index.search("the of and it was") == []


def test_search_respects_top_k(index: LexicalIndex) -> None:
    assert len(index.search("council", top_k=2)) == 2
    assert len(index.search("council", top_k=1)) == 1
    assert index.search("council", top_k=0) == []


def test_top_k_larger_than_the_index_is_fine(index: LexicalIndex) -> None:
    hits = index.search("council", top_k=100)

    assert {doc for doc, _score in hits} == {"harbour", "ferry", "budget"}


def test_search_matches_inflected_forms(index: LexicalIndex) -> None:
    hits = index.search("rebuilding walls")

    assert hits[0][0] == "harbour"


def test_empty_index_returns_no_results() -> None:
    empty = LexicalIndex([])

    assert len(empty) == 0
    assert empty.search("council budget") == []


def test_index_accepts_any_iterable_of_pairs() -> None:
    index = LexicalIndex(iter(DOCS))

    assert index.ids == ["harbour", "ferry", "budget", "schools"]


# --- idf -----------------------------------------------------------------------------------


def test_rarer_term_has_a_higher_idf(index: LexicalIndex) -> None:
    assert index.idf(stem("varga")) > index.idf(stem("council"))


def test_idf_of_an_unseen_term_is_the_maximum(index: LexicalIndex) -> None:
    unseen = index.idf("volcano")
    seen = [index.idf(t) for _doc, text in DOCS for t in terms(text)]

    assert unseen > max(seen)
    assert unseen == pytest.approx(math.log(1 + (4 + 0.5) / 0.5))


def test_idf_of_any_term_in_an_empty_index_is_positive() -> None:
    assert LexicalIndex([]).idf("council") > 0
