"""retrieval.feeds: RSS and Atom feeds downloaded from a real server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from retrieval.errors import BlockedURLError, FetchError, InputError
from retrieval.feeds import FeedEntry, parse_feed, read_feed
from retrieval.fetch import FetchPolicy
from tests.servers.web import WebServer

OPEN = FetchPolicy(timeout=5.0, allow_private=True)
OTHER_LINK = "https://wire.example/ferry"


@pytest.fixture
def server() -> Iterator[WebServer]:
    with WebServer() as web:
        yield web


def test_rss_entries_are_read_with_absolute_links_titles_and_dates(server: WebServer) -> None:
    feed = read_feed(server.url("/feed.rss"), OPEN)

    assert feed.title == "Riverton Ledger - News"
    assert feed.entries == [
        FeedEntry(server.url("/article"), "Riverton council approves record budget", "2024-03-05"),
        FeedEntry(OTHER_LINK, "Harbor ferry service to resume in May", "2024-04-12"),
    ]


def test_feed_with_broken_entries_lists_each_problem(server: WebServer) -> None:
    feed = read_feed(server.url("/feed.rss"), OPEN)

    assert feed.problems == [
        "entry 2 ('Water main break closes Elm Street'): no link",
        "entry 3 ('Click here'): link 'javascript:alert(1)' is not an http(s) URL",
        "entry 5 ('Write to the desk'): link 'mailto:desk@ledger.example' is not an http(s) URL",
    ]


def test_duplicate_links_are_collapsed_keeping_the_first(server: WebServer) -> None:
    links = [entry.link for entry in read_feed(server.url("/feed.rss"), OPEN).entries]

    assert links.count(server.url("/article")) == 1


def test_date_is_the_one_the_publisher_wrote_not_utc(server: WebServer) -> None:
    # 23:30 on 5 March at -05:00 is already 6 March in UTC; the story ran on the 5th.
    rss_entry = read_feed(server.url("/feed.rss"), OPEN).entries[0]
    # 00:30 on 12 April at +02:00 is still 11 April in UTC.
    atom_entry = read_feed(server.url("/feeds/feed.atom"), OPEN).entries[0]

    assert rss_entry.published == "2024-03-05"
    assert atom_entry.published == "2024-04-12"


def test_atom_entries_resolve_relative_links_against_the_feed_url(server: WebServer) -> None:
    feed = read_feed(server.url("/feeds/feed.atom"), OPEN)

    assert feed.title == "Eastport Wire"
    assert [entry.link for entry in feed.entries] == [
        server.url("/feeds/ferry"),
        "https://ledger.example/news/2024/budget-vote",
    ]
    assert feed.problems == [
        "entry 2 ('Tide tables for the week'): no link (its id 'urn:example:2' is not a URL)",
        "entry 3 ('Archive'): link 'ftp://files.example/archive' is not an http(s) URL",
    ]


def test_relative_links_resolve_against_the_url_after_redirects(server: WebServer) -> None:
    feed = read_feed(server.url("/feed-moved"), OPEN)

    assert feed.entries[0].link == server.url("/feeds/ferry")
    assert server.paths() == ["/feed-moved", "/feeds/feed.atom"]


def test_feed_mislabelled_as_html_is_still_read(server: WebServer) -> None:
    feed = read_feed(server.url("/feed-as-html"), OPEN)

    assert feed.title == "Riverton Ledger - News"
    assert len(feed.entries) == 2


def test_feed_without_entries_is_read_as_empty(server: WebServer) -> None:
    feed = read_feed(server.url("/feed-empty"), OPEN)

    assert (feed.title, feed.entries, feed.problems) == ("Quiet desk", [], [])


def test_html_page_is_not_a_feed(server: WebServer) -> None:
    with pytest.raises(InputError, match="is not an RSS or Atom feed") as caught:
        read_feed(server.url("/article"), OPEN)
    assert server.url("/article") in str(caught.value)


def test_pdf_is_refused_before_parsing(server: WebServer) -> None:
    with pytest.raises(FetchError, match=r"not an RSS or Atom feed \(got application/pdf\)"):
        read_feed(server.url("/report.pdf"), OPEN)


def test_feed_download_errors_are_fetch_errors(server: WebServer) -> None:
    with pytest.raises(FetchError, match="HTTP 404"):
        read_feed(server.url("/missing"), OPEN)


def test_feed_download_goes_through_the_ssrf_guard(server: WebServer) -> None:
    with pytest.raises(BlockedURLError):
        read_feed(server.url("/feed.rss"), FetchPolicy(timeout=5.0))
    assert server.requests == []


@pytest.mark.parametrize("data", [b"", b"not xml at all", b"<?xml version='1.0'?><note/>"])
def test_data_that_is_not_a_feed_is_an_input_error(data: bytes) -> None:
    with pytest.raises(InputError, match=r"https://ledger\.example/feed is not an RSS or Atom"):
        parse_feed(data, base_url="https://ledger.example/feed")


def test_feed_parser_never_fetches_a_url_it_is_given(server: WebServer) -> None:
    with pytest.raises(InputError):
        parse_feed(server.url("/feed.rss").encode(), base_url="https://ledger.example/feed")
    assert server.requests == []


def test_truncated_feed_keeps_the_entries_before_the_break() -> None:
    data = (
        b'<rss version="2.0"><channel><title>Cut off</title>'
        b"<item><title>Complete</title><link>https://ledger.example/a</link></item>"
        b"<item><title>Broken</tit></channel>"
    )

    feed = parse_feed(data, base_url="https://ledger.example/feed")

    assert [entry.link for entry in feed.entries] == ["https://ledger.example/a"]
    assert feed.problems == ["entry 2: no link"]
