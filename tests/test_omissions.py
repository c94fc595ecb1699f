"""Omitted facts: which source sentences a story leaves out."""

from __future__ import annotations

from checker.align import align, source_sentences
from checker.claims import story_claims
from checker.figures import figures
from checker.omissions import figures_told, omission_candidates
from retrieval.embeddings import Embedder
from retrieval.models import ArticleInfo, StoredArticle

SOURCE = (
    "The city library lent 48,000 books in 2025, up from 41,000 in 2024, the council said on Monday. "
    'Head librarian Ruth Obi said: "We will keep every branch open on Saturdays until the end of 2026." '
    "The council has not decided whether the Elmport branch will move to the new civic centre."
)


def test_newsworthy_sentences_the_story_lacks_are_omitted(minilm: Embedder) -> None:
    article = StoredArticle(ArticleInfo("a1", "Library lending", None, "2026-01-12", "Council"), SOURCE)
    story = "Library lending in the city rose last year, the council said."
    al = align(story_claims(story), source_sentences([article]), minilm, lambda _t: 1.0)
    found = [al.sources[c.index].text for c in omission_candidates(al, []) if c.offline]
    assert any("keep every branch open" in s for s in found)
    assert any("has not decided" in s for s in found)


def test_a_sentence_is_told_when_the_story_gives_all_its_figures() -> None:
    story = {f.value for f in figures("Loans climbed to 48,000 from 41,000 a year before.")}
    assert figures_told("The library lent 48,000 books, up from 41,000.", story)
    assert not figures_told("The library lent 48,000 books, up from 39,500.", story)
    assert not figures_told("The library opened a new branch.", story)  # no figures: nothing told


def test_a_plain_statement_the_story_lacks_is_omitted(minilm: Embedder) -> None:
    text = (
        "The city library lent 48,000 books in 2025, the council said on Monday. "
        "The library will also review its opening hours with residents over the summer."
    )
    article = StoredArticle(ArticleInfo("a2", "Library lending", None, "2026-01-12", "Council"), text)
    story = "Library lending rose last year, the council said."
    al = align(story_claims(story), source_sentences([article]), minilm, lambda _t: 1.0)
    found = [al.sources[c.index].text for c in omission_candidates(al, []) if c.offline]
    # the first sentence is the one the story was built on; the second has no figure, quote or
    # name, and is still a statement the story leaves out
    assert found == ["The library will also review its opening hours with residents over the summer."]
