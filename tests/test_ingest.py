"""Ingest requests end to end: files, folders, JSONL, URLs and feeds into a real store."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from itertools import accumulate
from pathlib import Path

import pytest

from retrieval.fetch import FetchPolicy
from retrieval.ingest import FeedLimits, IngestRequest, estimate_total, ingest, iter_items
from retrieval.models import ArticleDraft, IngestOutcome
from retrieval.store import SourceStore
from tests.servers.web import ARTICLE_HTML, ARTICLE_TITLE, WebServer, compressed, page, redirect, slow

LOCAL_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Desk wire</title><link>http://127.0.0.1/</link>
<item><title>Budget</title><link>/article</link><pubDate>Tue, 05 Mar 2024 10:00:00 GMT</pubDate></item>
<item><title>Ferry</title><link>/other</link></item>
<item><title>Gone</title><link>/missing</link></item>
<item><title>No link at all</title></item>
</channel></rss>
"""
POLICY = FetchPolicy(timeout=5, allow_private=True)


@pytest.fixture
def web() -> Iterator[WebServer]:
    with WebServer({"/desk.rss": page(LOCAL_FEED, content_type="application/rss+xml")}) as server:
        yield server


def run(store: SourceStore, request: IngestRequest, policy: FetchPolicy = POLICY) -> list:
    return ingest(store, iter_items(request, policy), batch_size=4)


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


GOOD = (
    "Title: Ferry fares frozen\nPublished: 2026-03-01\nSource: Port office\n\n"
    "Fares stay at $3 until 2027, the port said."
)


def test_bad_files_fail_one_line_each_and_the_rest_are_stored(store: SourceStore, tmp_path: Path) -> None:
    good = write(tmp_path / "good.txt", GOOD)
    empty = write(tmp_path / "empty.txt", "   \n")
    binary = write(tmp_path / "photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    latin = write(tmp_path / "latin.txt", "Caf\u00e9 prices rose.".encode("latin-1"))
    missing = tmp_path / "nope.txt"
    outcomes = run(store, IngestRequest(tuple(str(p) for p in (empty, good, binary, latin, missing))))
    by_origin = {o.origin: o for o in outcomes}
    assert by_origin[str(good)].status == "added"
    assert "empty" in (by_origin[str(empty)].error or "")
    assert "binary" in (by_origin[str(binary)].error or "")
    assert "not UTF-8" in (by_origin[str(latin)].error or "")
    assert "no such file" in (by_origin[str(missing)].error or "")
    assert store.count() == 1


def test_folder_is_ingested_recursively(store: SourceStore, tmp_path: Path) -> None:
    write(tmp_path / "a" / "one.txt", GOOD)
    write(
        tmp_path / "a" / "b" / "two.md", "# Bridge reopens\n\nThe Mill River bridge reopened on Monday after repairs."
    )
    write(tmp_path / "a" / "notes.csv", "not,a,source")
    request = IngestRequest((str(tmp_path / "a"),))
    assert estimate_total(request) == 2
    outcomes = run(store, request)
    assert sorted(o.status for o in outcomes) == ["added", "added"]
    assert {i.title for i in store.list_articles()} == {"Ferry fares frozen", "Bridge reopens"}


def test_jsonl_with_bad_lines_stores_the_good_ones(store: SourceStore, tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "w-1", "title": "Rates held", "text": "The bank held rates at 4%.", "desk": "economy"}),
        "{not json",
        json.dumps({"title": "No text"}),
        "",
        json.dumps(
            {
                "id": "w-2",
                "title": "Snow",
                "text": "Snow closed two mountain passes.",
                "url": "https://example.org/snow",
            }
        ),
    ]
    path = write(tmp_path / "bulk.jsonl", "\n".join(lines))
    request = IngestRequest(jsonl=(path,))
    assert estimate_total(request) == 4
    outcomes = run(store, request)
    failed = [o for o in outcomes if o.status == "failed"]
    assert len(failed) == 2
    assert any(":2: not valid JSON" in (o.error or "") for o in failed)
    assert any(":3: missing or empty 'text'" in (o.error or "") for o in failed)
    assert store.get("w-1").info.extra == {"desk": "economy"}
    assert store.get("w-2").info.url == "https://example.org/snow"


def test_reingesting_a_jsonl_file_changes_nothing(store: SourceStore, tmp_path: Path) -> None:
    path = write(tmp_path / "bulk.jsonl", json.dumps({"id": "w-9", "title": "Rates", "text": "Rates held at 4%."}))
    run(store, IngestRequest(jsonl=(path,)))
    revision = store.revision()
    assert [o.status for o in run(store, IngestRequest(jsonl=(path,)))] == ["unchanged"]
    assert store.revision() == revision


def test_url_is_fetched_extracted_and_stored_with_metadata(store: SourceStore, web: WebServer) -> None:
    [outcome] = run(store, IngestRequest((web.url("/article"),)))
    assert outcome.status == "added"
    stored = store.get(outcome.article_id or "")
    assert stored.info.title == ARTICLE_TITLE
    assert "$48.2 million budget" in stored.text
    assert stored.info.published == "2024-03-05"
    assert stored.info.url  # the canonical or final URL


def test_the_same_url_twice_is_not_duplicated(store: SourceStore, web: WebServer) -> None:
    run(store, IngestRequest((web.url("/article"),)))
    [again] = run(store, IngestRequest((web.url("/article"),)))
    assert again.status == "unchanged"
    assert store.count() == 1


@pytest.mark.parametrize(
    ("path", "message"),
    [("/missing", "404"), ("/loop/a", "redirect loop"), ("/report.pdf", "not an HTML page"), ("/big", "too large")],
)
def test_failing_urls_get_one_clear_line(store: SourceStore, web: WebServer, path: str, message: str) -> None:
    policy = FetchPolicy(timeout=5, allow_private=True, max_bytes=20_000)
    [outcome] = run(store, IngestRequest((web.url(path),)), policy)
    assert outcome.status == "failed"
    assert message in (outcome.error or "")
    assert web.url(path) in (outcome.error or "")
    assert store.count() == 0


def test_loopback_url_is_refused_without_allow_private(store: SourceStore, web: WebServer) -> None:
    [outcome] = run(store, IngestRequest((web.url("/article"),)), FetchPolicy(timeout=5))
    assert outcome.status == "failed"
    assert web.paths() == []
    assert store.count() == 0


def test_feed_entries_are_fetched_and_broken_ones_reported(store: SourceStore, web: WebServer) -> None:
    outcomes = run(store, IngestRequest(feeds=(web.url("/desk.rss"),)))
    statuses = sorted(o.status for o in outcomes)
    assert statuses == ["added", "added", "failed", "failed"]
    errors = " | ".join(o.error or "" for o in outcomes if o.status == "failed")
    assert "404" in errors and "no link" in errors
    assert {i.title for i in store.list_articles()} == {ARTICLE_TITLE, "Harbor ferry service to resume in May"}


def rss(*links: str) -> str:
    items = "".join(f"<item><title>Entry {n}</title><link>{link}</link></item>" for n, link in enumerate(links, 1))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>{items}</channel></rss>'


def test_hostile_entries_in_the_middle_of_a_feed_fail_alone(store: SourceStore, web: WebServer) -> None:
    web.route("/to-mailto", redirect("mailto:desk@example.org"))
    web.route("/to-script", redirect("javascript:alert(1)"))
    web.route("/stacked", compressed(ARTICLE_HTML.encode(), "gzip", "gzip"))
    web.route("/hostile.rss", page(rss("/to-mailto", "/to-script", "/stacked", "/other"), "application/rss+xml"))
    outcomes = run(store, IngestRequest(feeds=(web.url("/hostile.rss"),)))
    failed = [o.error or "" for o in outcomes if o.status == "failed"]
    assert len(failed) == 3, failed
    assert all(line.count("\n") == 0 and "could not fetch" in line for line in failed)
    assert "not an http(s) URL" in failed[0] and "one coding is accepted" in failed[2]
    assert [o.status for o in outcomes if o.status != "failed"] == ["added"]  # the entry after them
    assert store.count() == 1


def test_feed_entries_over_the_limit_are_skipped_with_one_summary_line(store: SourceStore, web: WebServer) -> None:
    web.route("/long.rss", page(rss(*(f"/article?n={n}" for n in range(5))), "application/rss+xml"))
    outcomes = ingest(
        store, iter_items(IngestRequest(feeds=(web.url("/long.rss"),)), POLICY, feed_limits=FeedLimits(2))
    )
    assert sorted(o.status for o in outcomes) == ["added", "skipped", "unchanged"]
    [skipped] = [o for o in outcomes if o.status == "skipped"]
    assert (
        skipped.error
        == f"{web.url('/long.rss')}: 3 of 5 entries skipped: 3 over the limit of 2 entries (FACTDIFF_FEED_MAX_ENTRIES)"
    )
    assert len(web.paths()) == 3  # the feed and two entries


def test_a_feed_stops_at_its_deadline_and_says_what_it_skipped(store: SourceStore, web: WebServer) -> None:
    web.route("/slow-page", slow(0.6, page(ARTICLE_HTML)))
    web.route("/slow.rss", page(rss(*(f"/slow-page?n={n}" for n in range(50))), "application/rss+xml"))
    limits = FeedLimits(max_entries=100, deadline=1.0)
    outcomes = ingest(store, iter_items(IngestRequest(feeds=(web.url("/slow.rss"),)), POLICY, feed_limits=limits))
    skipped = [o for o in outcomes if o.status == "skipped"]
    assert len(skipped) == 1 and "not reached within 1 s (FACTDIFF_FEED_DEADLINE)" in (skipped[0].error or "")
    fetched = len(web.paths()) - 1
    assert fetched < 5 and f"{50 - fetched} of 50 entries skipped" in (skipped[0].error or "")


def test_feed_that_cannot_be_fetched_is_one_failure(store: SourceStore, web: WebServer) -> None:
    [outcome] = run(store, IngestRequest(feeds=(web.url("/missing"),)))
    assert outcome.status == "failed" and "404" in (outcome.error or "")


def test_a_batch_is_written_early_once_its_texts_reach_the_character_limit(store: SourceStore) -> None:
    """Huge sources are not held 128 at a time: each batch stops at the characters it may hold."""
    texts = [f"Statement {i} of the harbour board. " + "The board met and decided. " * (40 + i) for i in range(7)]
    drafts = [ArticleDraft(title=f"Statement {i}", text=t) for i, t in enumerate(texts)]
    sizes: list[int] = []
    add_many = store.add_many

    def spy(batch: Sequence[ArticleDraft]) -> list[IngestOutcome]:
        sizes.append(len(batch))
        return add_many(batch)

    store.add_many = spy  # type: ignore[method-assign,assignment]
    limit = len(texts[0]) * 3  # three of the first texts, fewer of the longer ones
    outcomes = ingest(store, drafts, batch_size=100, batch_chars=limit)
    assert [o.status for o in outcomes] == ["added"] * 7
    assert sum(sizes) == 7 and len(sizes) >= 3
    for start, n in zip(accumulate([0, *sizes]), sizes, strict=False):
        part = [len(t) for t in texts[start : start + n]]
        assert sum(part[:-1]) < limit  # not written before its last text ...
        assert sum(part) >= limit or start + n == 7  # ... and then because it reached the limit
    assert store.count() == 7
