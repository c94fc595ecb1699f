"""Report pages in Slack: served at an unguessable URL in HTTP mode for a number of days, attached otherwise."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bot.settings import Settings
from bot.slack.pages import ReportPages, respond
from bot.wiring import report_pages
from tests.slack_fixtures import Bot, block_text, slack_escaped

DAY = 86_400.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_page_is_kept_under_a_random_id_for_the_configured_days(tmp_path: Path) -> None:
    clock = Clock()
    pages = ReportPages(tmp_path / "reports", days=2, clock=clock)
    first, second = pages.put("<p>one</p>"), pages.put("<p>two</p>")
    assert first != second and re.fullmatch(r"[A-Za-z0-9_-]{32}", first)
    assert pages.get(first) == b"<p>one</p>"
    clock.now += 2 * DAY - 60
    assert pages.get(second) == b"<p>two</p>"
    clock.now += 120
    assert pages.get(first) is None and not (tmp_path / "reports" / f"{first}.html").exists()


def test_new_pages_sweep_the_expired_ones(tmp_path: Path) -> None:
    clock = Clock()
    pages = ReportPages(tmp_path, days=1, clock=clock)
    old = pages.put("old")
    clock.now += 2 * DAY
    pages.put("new")
    assert not (tmp_path / f"{old}.html").exists() and len(list(tmp_path.glob("*.html"))) == 1


@pytest.mark.parametrize("path", ["/reports/", "/reports/../../etc/passwd", "/reports/short", "/reports/" + "a" * 33])
def test_malformed_or_unknown_ids_are_404(tmp_path: Path, path: str) -> None:
    answer = respond(ReportPages(tmp_path, days=1), "GET", path)
    assert answer is not None and answer.status == 404 and b"<" not in answer.body


def test_only_reports_paths_are_answered_and_only_to_get(tmp_path: Path) -> None:
    pages = ReportPages(tmp_path, days=1)
    page_id = pages.put("<!doctype html><p>x</p>")
    assert respond(pages, "GET", "/slack/events") is None
    post = respond(pages, "POST", f"/reports/{page_id}")
    assert post is not None and post.status == 405
    got = respond(pages, "GET", f"/reports/{page_id}")
    assert got is not None and got.status == 200 and got.body.startswith(b"<!doctype html>")
    headers = dict(got.headers)
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["Cache-Control"] == "private, no-store" and "noindex" in headers["X-Robots-Tag"]


def test_pages_are_served_only_in_http_mode_with_a_public_url(tmp_path: Path) -> None:
    base = {"FACTDIFF_DATA_DIR": str(tmp_path), "FACTDIFF_REPORT_DAYS": "7"}
    http = report_pages(Settings(**base, FACTDIFF_PUBLIC_URL="https://factdiff.example.org"))  # type: ignore[arg-type]
    assert http is not None and http.folder == tmp_path / "reports" and http.seconds == 7 * DAY
    assert report_pages(Settings(**base)) is None  # type: ignore[arg-type]
    socket = Settings(**base, FACTDIFF_PUBLIC_URL="https://factdiff.example.org", SLACK_APP_TOKEN="xapp-1")  # type: ignore[arg-type]
    assert report_pages(socket) is None


@pytest.fixture
def public_bot(make_bot: Callable[..., Bot], tmp_path: Path) -> Bot:
    """The bot on uvicorn behind its guard, keeping pages in tmp_path, its own address as FACTDIFF_PUBLIC_URL."""
    return make_bot(pages=ReportPages(tmp_path, 30))


def test_http_mode_reply_links_to_the_page_at_an_unguessable_url(public_bot: Bot, story: str) -> None:
    public_bot.mention(slack_escaped(story), ts="100.000001")
    answer = public_bot.wait_answer("100.000001")[0]
    links = re.findall(r"<(http://127\.0\.0\.1:\d+/reports/[A-Za-z0-9_-]{32})\|", block_text(answer))
    assert len(links) == 1
    page = httpx.get(links[0], timeout=10)  # a plain GET: no Slack signature, served before the guard
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "Larkfield council approves 4.5% water rate rise for 2027" in page.text
    assert httpx.get(links[0][:-4] + "AAAA", timeout=10).status_code == 404
    public_bot.slack.wait_for(lambda s: bool(s.of("files.completeUploadExternal")))
    asked = [a["filename"] for a in public_bot.slack.of("files.getUploadURLExternal")]
    assert asked == ["factdiff-report.md"]  # the page is linked, not attached (the cut report still is)


def test_the_endpoint_serves_pages_read_only_and_leaves_the_slack_guard_in_place(public_bot: Bot) -> None:
    base = public_bot.url.removesuffix("/slack/events")
    head = httpx.head(f"{base}/reports/{'A' * 32}", timeout=10)
    assert head.status_code == 404 and head.headers["cache-control"] == "private, no-store"
    posted = httpx.post(f"{base}/reports/{'A' * 32}", content=b"x" * 100, timeout=10)
    assert posted.status_code == 405 and posted.headers["allow"] == "GET, HEAD"
    assert posted.headers["connection"] == "close"  # its body was never read
    unsigned = httpx.post(public_bot.url, json={"type": "event_callback"}, timeout=10)
    assert unsigned.status_code == 401  # /slack/events is still behind the signature check
    assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200


def test_without_pages_the_endpoint_has_no_reports_route(bot: Bot) -> None:
    base = bot.url.removesuffix("/slack/events")
    missing = httpx.get(f"{base}/reports/{'A' * 32}", timeout=10)
    assert missing.status_code == 404 and missing.json() == {"error": "not found"}


def test_without_a_public_url_the_page_is_attached_beside_the_reply(bot: Bot, story: str) -> None:
    bot.mention(slack_escaped(story), ts="150.000001")
    bot.wait_answer("150.000001")
    bot.slack.wait_for(lambda s: bool(s.of("files.completeUploadExternal")))
    asked = [a["filename"] for a in bot.slack.of("files.getUploadURLExternal")]
    assert asked == ["factdiff-report.md", "factdiff-report.html"]  # the demo's report is cut: 7 omitted
    page = bot.slack.of("upload")[1]["bytes"].decode()
    assert page.startswith("<!doctype html>") and "The originals" in page
    assert bot.slack.of("files.completeUploadExternal")[0]["thread_ts"] == "150.000001"
