"""retrieval.extract: article text and metadata from HTML, offline."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from retrieval.errors import ExtractionError
from retrieval.extract import MAX_FALLBACK_TITLE_CHARS, MIN_TEXT_CHARS, extract_article
from retrieval.fetch import FetchPolicy, fetch
from tests.servers.web import ARTICLE_HTML, ARTICLE_TITLE, OTHER_ARTICLE_HTML, WebServer

PARAGRAPHS = [
    "Riverton council approves record budget",
    "The Riverton city council voted 7-2 on Tuesday to approve a $48.2 million budget for "
    "2024, the largest in the city's history.",
    "Mayor Ellen Park said the plan adds 12 firefighters, repaves 30 miles of road and repairs "
    "the three bridges over the Mill River that inspectors flagged last autumn.",
    "Council member Luis Ortega, who voted against it, said property taxes would rise by "
    "3.5 percent and that the city had not explained how it would pay for the new positions "
    "after federal grants run out in 2026.",
    "The budget takes effect on July 1.",
]

LONG_FIRST_LINE = (
    "Residents of the Northside neighborhood packed the library meeting room on Thursday night "
    "to demand answers about the proposed warehouse on Route 9, which they say would bring 400 "
    "trucks a day."
)
UNTITLED_HTML = f"""<html><body><div>
<p>{LONG_FIRST_LINE}</p>
<p>The planning board will vote on the proposal next month, and the developer has promised
a traffic study before then.</p>
</div><footer>Copyright 2023 Northside News</footer></body></html>"""


@pytest.fixture
def server() -> Iterator[WebServer]:
    with WebServer() as web:
        yield web


def test_article_text_is_the_paragraphs_separated_by_blank_lines() -> None:
    draft = extract_article(ARTICLE_HTML)

    assert draft.text == "\n\n".join(PARAGRAPHS)


def test_menus_footers_and_markup_are_left_out() -> None:
    text = extract_article(ARTICLE_HTML).text

    assert "Sport" not in text
    assert "All rights reserved" not in text
    assert "<" not in text


def test_title_author_date_and_source_come_from_the_page_metadata() -> None:
    draft = extract_article(ARTICLE_HTML)

    assert draft.title == ARTICLE_TITLE
    assert draft.author == "Dana Whitfield"
    assert draft.published == "2024-03-05"
    assert draft.source == "Riverton Ledger"


def test_canonical_url_wins_over_the_fetched_url() -> None:
    draft = extract_article(ARTICLE_HTML, url="https://ledger.example/news/2024/budget-vote?ref=rss")

    assert draft.url == "https://ledger.example/news/2024/budget-vote"


def test_fetched_url_is_used_when_the_page_has_no_canonical_url() -> None:
    draft = extract_article(OTHER_ARTICLE_HTML, url="https://wire.example/ferry")

    assert draft.url == "https://wire.example/ferry"
    assert draft.title == "Harbor ferry service to resume in May"


def test_origin_defaults_to_the_url_and_can_be_given() -> None:
    assert extract_article(OTHER_ARTICLE_HTML, url="https://wire.example/f").origin == ("https://wire.example/f")
    assert extract_article(OTHER_ARTICLE_HTML, origin="ferry.html").origin == "ferry.html"


def test_page_without_a_date_has_no_published_date() -> None:
    assert extract_article(OTHER_ARTICLE_HTML).published is None


def test_copyright_year_in_the_footer_is_not_taken_as_the_date() -> None:
    assert extract_article(UNTITLED_HTML).published is None


def test_title_falls_back_to_the_shortened_first_line() -> None:
    draft = extract_article(UNTITLED_HTML)

    assert len(draft.title) <= MAX_FALLBACK_TITLE_CHARS
    assert draft.title.endswith("\u2026")
    assert LONG_FIRST_LINE.startswith(draft.title[:-1])
    assert draft.url is None


def test_bytes_are_decoded_with_the_charset_the_page_declares() -> None:
    html = OTHER_ARTICLE_HTML.replace('charset="utf-8"', 'charset="iso-8859-1"').replace(
        "fares unchanged at $3", "fares unchanged at \u00a32 for the caf\u00e9 deck"
    )

    text = extract_article(html.encode("iso-8859-1")).text

    assert "fares unchanged at \u00a32 for the caf\u00e9 deck" in text


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("", "empty or not HTML"),
        (b"", "empty or not HTML"),
        (b"%PDF-1.4 \x00\x01\x02 binary", "empty or not HTML"),
        (
            "<html><body><nav><a href='/'>Home</a></nav><footer>Copyright</footer></body></html>",
            "only menus or boilerplate",
        ),
        (
            "<html><body><article><p>Developing story. Check back later.</p></article></body></html>",
            f"only 35 characters of main text \\(need at least {MIN_TEXT_CHARS}\\)",
        ),
    ],
)
def test_page_without_article_text_is_an_extraction_error(html: str | bytes, reason: str) -> None:
    with pytest.raises(ExtractionError, match=reason) as caught:
        extract_article(html, origin="desk/story.html")
    assert "desk/story.html" in str(caught.value)


def test_a_url_instead_of_html_is_never_fetched(server: WebServer) -> None:
    with pytest.raises(ExtractionError):
        extract_article(server.url("/article"))
    assert server.requests == []


def test_fetched_page_bytes_extract_to_the_same_article(server: WebServer) -> None:
    fetched = fetch(server.url("/article"), FetchPolicy(timeout=5.0, allow_private=True))

    draft = extract_article(fetched.body, url=fetched.url, origin=fetched.requested_url)

    assert draft.text == "\n\n".join(PARAGRAPHS)
    assert draft.origin == server.url("/article")
