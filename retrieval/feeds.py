"""RSS and Atom feeds -> lists of article links, via feedparser.

The feed is downloaded with :func:`retrieval.fetch.fetch` (same limits and SSRF guard as a
page); feedparser only ever parses bytes we hand it, it never fetches anything itself.
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import httpx

from retrieval.errors import InputError
from retrieval.fetch import FEED_TYPES, FetchPolicy, fetch

logger = logging.getLogger(__name__)

_SCHEMES = frozenset({"http", "https"})


@dataclass(frozen=True)
class FeedEntry:
    """One usable entry: an absolute http(s) link, its title and publication date."""

    link: str
    title: str | None
    published: str | None  # ISO YYYY-MM-DD when known


@dataclass(frozen=True)
class FeedRead:
    """A parsed feed: usable entries (first occurrence of each link) and what was skipped."""

    title: str | None
    entries: list[FeedEntry]
    problems: list[str]  # one line per skipped entry


def read_feed(url: str, policy: FetchPolicy, *, client: httpx.Client | None = None) -> FeedRead:
    """Download and parse the feed at ``url``; relative links resolve against its final URL.

    Raises FetchError (download failed) or InputError (the document is not a feed).
    """
    page = fetch(url, policy, accept=FEED_TYPES, client=client)
    return parse_feed(page.body, base_url=page.url)


def parse_feed(data: bytes, *, base_url: str) -> FeedRead:
    """Parse RSS/Atom ``data``; ``base_url`` is where it came from (for relative links).

    Entries without a usable link are skipped with one line each in ``problems``; repeated
    links are kept once. Raises InputError when ``data`` is not a feed at all.
    """
    parsed = feedparser.parse(
        io.BytesIO(data),  # a stream: feedparser would fetch a URL or open a path
        response_headers={"content-location": base_url, "content-type": "application/xml"},
    )
    if not parsed.entries and not parsed.get("version"):
        raise InputError(f"{base_url} is not an RSS or Atom feed")
    if parsed.get("bozo"):
        logger.debug("feed %s is malformed: %s", base_url, parsed.get("bozo_exception"))
    entries: list[FeedEntry] = []
    problems: list[str] = []
    seen: set[str] = set()
    for number, entry in enumerate(parsed.entries, start=1):
        link, problem = _entry_link(entry, base_url)
        if problem:
            problems.append(f"{_label(number, entry)}: {problem}")
        elif link not in seen:
            seen.add(link)
            entries.append(FeedEntry(link, _clean(entry.get("title")), _published(entry)))
    return FeedRead(title=_clean(parsed.feed.get("title")), entries=entries, problems=problems)


def _entry_link(entry: Any, base_url: str) -> tuple[str, str | None]:
    """(absolute link, None) or ("", what is wrong with the entry's link)."""
    raw = (entry.get("link") or "").strip()
    if not raw:
        return "", "no link"
    link = urljoin(base_url, raw)
    parts = urlsplit(link)
    if parts.scheme.lower() not in _SCHEMES:
        if entry.get("guidislink"):  # feedparser fell back to the id, e.g. "urn:uuid:..."
            return "", f"no link (its id {raw!r} is not a URL)"
        return "", f"link {raw!r} is not an http(s) URL"
    if not parts.hostname:
        return "", f"link {raw!r} has no host name"
    return link, None


def _label(number: int, entry: Any) -> str:
    """How to name an entry in a problem line: its position, and its title if it has one."""
    title = _clean(entry.get("title"))
    return f"entry {number} ({title!r})" if title else f"entry {number}"


def _clean(value: object) -> str | None:
    """A stripped, single-spaced string, or None for missing or blank values."""
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None


def _published(entry: Any) -> str | None:
    """The entry's date as YYYY-MM-DD, in the publisher's own time zone when it gave one."""
    for raw_key, parsed_key in (("published", "published_parsed"), ("updated", "updated_parsed")):
        day = _written_date(entry.get(raw_key)) or _utc_date(entry.get(parsed_key))
        if day is not None:
            return day.isoformat()
    return None


def _written_date(raw: object) -> date | None:
    """The calendar date as written in an RFC 822 (RSS) or ISO 8601 (Atom) timestamp."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        return parsedate_to_datetime(raw.strip()).date()
    except (TypeError, ValueError, IndexError):
        pass
    try:
        return datetime.fromisoformat(raw.strip()).date()
    except ValueError:
        return None


def _utc_date(parsed: object) -> date | None:
    """The date from feedparser's UTC struct_time (it reads many more formats than we do)."""
    if not isinstance(parsed, time.struct_time):
        return None
    return date(parsed.tm_year, parsed.tm_mon, parsed.tm_mday)
