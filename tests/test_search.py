"""Finding the originals of a story: hybrid search on a real in-memory Chroma."""

from __future__ import annotations

import pytest

from retrieval.errors import InputError
from retrieval.search import OriginalFinder
from retrieval.store import SourceStore
from tests.articles import (
    ALL,
    DUNMORE_NOTICE,
    HARWICH_NOTICE,
    HARWICK_STORY,
    NORRLAND_Q2,
    NORRLAND_Q3,
    NORRLAND_Q3_STORY,
    SCHOOL_BOARD,
    TWO_SOURCE_STORY,
    UNRELATED_STORY,
    WEATHER,
)


@pytest.fixture
def finder(store: SourceStore) -> OriginalFinder:
    for o in store.add_many(ALL):
        assert o.status == "added", o
    return OriginalFinder(store)


def titles(result: object) -> list[str]:
    return [c.info.title for c in result.matches]  # type: ignore[attr-defined]


def test_rewritten_story_finds_its_original_first(finder: OriginalFinder) -> None:
    result = finder.find(NORRLAND_Q3_STORY)
    assert titles(result)[0] == NORRLAND_Q3.title


def test_last_quarters_release_does_not_outrank_the_original(finder: OriginalFinder) -> None:
    result = finder.find(NORRLAND_Q3_STORY)
    ranked = [c.info.title for c in result.considered]
    assert ranked.index(NORRLAND_Q3.title) < ranked.index(NORRLAND_Q2.title)
    assert NORRLAND_Q2.title not in titles(result)


def test_another_citys_identical_notice_does_not_outrank_the_original(finder: OriginalFinder) -> None:
    result = finder.find(HARWICK_STORY)
    assert titles(result)[0] == HARWICH_NOTICE.title
    ranked = [c.info.title for c in result.considered]
    assert ranked.index(HARWICH_NOTICE.title) < ranked.index(DUNMORE_NOTICE.title)


def test_story_built_from_two_sources_finds_both(finder: OriginalFinder) -> None:
    result = finder.find(TWO_SOURCE_STORY)
    assert set(titles(result)) == {SCHOOL_BOARD.title, WEATHER.title}


def test_story_with_no_original_in_the_store_returns_nothing_with_a_message(finder: OriginalFinder) -> None:
    result = finder.find(UNRELATED_STORY)
    assert result.matches == []
    assert "no original" in result.message or "shares nothing" in result.message


def test_candidates_carry_scores_and_the_chunks_that_matched(finder: OriginalFinder) -> None:
    best = finder.find(NORRLAND_Q3_STORY).matches[0]
    assert 0 < best.score <= 1 and 0 < best.coverage <= 1 and 0 < best.dense <= 1
    assert best.hits and all(h.article_id == best.info.id for h in best.hits)
    assert best.sentences >= 2


def test_empty_store_says_so(store: SourceStore) -> None:
    result = OriginalFinder(store).find(NORRLAND_Q3_STORY)
    assert result.matches == [] and "empty" in result.message


@pytest.mark.parametrize("story", ["", "   \n\t  "])
def test_empty_story_is_an_input_error(finder: OriginalFinder, story: str) -> None:
    with pytest.raises(InputError, match="empty"):
        finder.find(story)


def test_one_word_story_is_answered_without_error(finder: OriginalFinder) -> None:
    result = finder.find("Norrland")
    assert isinstance(result.message, str) and result.message


def test_lexical_index_follows_store_changes(store: SourceStore) -> None:
    finder = OriginalFinder(store)
    store.add(WEATHER)
    assert len(finder.lexical_index()) == 1
    store.add(NORRLAND_Q3)
    assert len(finder.lexical_index()) == 2
    assert titles(finder.find(NORRLAND_Q3_STORY))[0] == NORRLAND_Q3.title


def test_removed_article_is_no_longer_found(finder: OriginalFinder) -> None:
    aid = finder.find(NORRLAND_Q3_STORY).matches[0].info.id
    finder.store.remove(aid)
    assert NORRLAND_Q3.title not in titles(finder.find(NORRLAND_Q3_STORY))


def test_very_long_story_is_searched_in_passages(finder: OriginalFinder) -> None:
    story = " ".join([NORRLAND_Q3_STORY] * 60)  # 240 sentences
    assert titles(finder.find(story))[0] == NORRLAND_Q3.title


def test_minilm_finds_the_same_original(store: SourceStore, minilm: object) -> None:
    from retrieval.store import SourceStore as Store
    from retrieval.tokens import get_encoding

    s = Store(store.client, minilm, get_encoding(), store.config)  # type: ignore[arg-type]
    s.add_many(ALL)
    assert titles(OriginalFinder(s).find(HARWICK_STORY))[0] == HARWICH_NOTICE.title
