"""Turn ingest requests (files, folders, URLs, JSONL files, feeds) into stored articles.

Every input item ends in exactly one :class:`IngestOutcome`; a bad item is reported in one
line and the rest carry on. Drafts are stored in batches so the embedder works efficiently.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from retrieval.errors import FactDiffError, InputError
from retrieval.models import ArticleDraft, IngestOutcome
from retrieval.readers import count_jsonl, iter_folder, iter_jsonl, read_file
from retrieval.store import SourceStore

log = logging.getLogger(__name__)

Item = ArticleDraft | IngestOutcome


@dataclass(frozen=True)
class IngestRequest:
    """What to ingest: paths or URLs, JSONL files and feed URLs."""

    targets: tuple[str, ...] = ()
    jsonl: tuple[Path, ...] = ()
    feeds: tuple[str, ...] = ()


@dataclass(frozen=True)
class FeedLimits:
    """How much of one feed is fetched: at most ``max_entries`` entries, within ``deadline``
    seconds for the feed and all its entries; what is left is skipped with a summary line."""

    max_entries: int = 200
    deadline: float = 600.0


def is_url(target: str) -> bool:
    return target.lower().startswith(("http://", "https://"))


def estimate_total(request: IngestRequest) -> int | None:
    """How many items the request holds, when that is cheap to know (for a progress bar)."""
    if request.feeds:
        return None
    total = 0
    for t in request.targets:
        p = Path(t)
        total += sum(1 for _ in iter_folder(p)) if not is_url(t) and p.is_dir() else 1
    return total + sum(count_jsonl(p) for p in request.jsonl)


def iter_items(
    request: IngestRequest,
    fetch_policy: Any = None,
    http_client: Any = None,
    feed_limits: FeedLimits | None = None,
) -> Iterator[Item]:
    """Drafts to store, or failed (or skipped) outcomes for items that could not be read."""
    for target in request.targets:
        if is_url(target):
            yield _from_url(target, fetch_policy, http_client)
            continue
        path = Path(target)
        if path.is_dir():
            files = list(iter_folder(path))
            if not files:
                yield IngestOutcome(target, "failed", error=f"{target}: no .txt, .md or .html files in this folder")
            for f in files:
                yield _from_file(f)
        elif not path.exists():
            yield IngestOutcome(
                target, "failed", error=f"{target}: no such file (URLs must start with http:// or https://)"
            )
        elif path.suffix.lower() == ".jsonl":
            yield from _from_jsonl(path)
        else:
            yield _from_file(path)
    for path in request.jsonl:
        yield from _from_jsonl(path)
    for feed in request.feeds:
        yield from _from_feed(feed, fetch_policy, http_client, feed_limits or FeedLimits())


def _from_file(path: Path) -> Item:
    try:
        return read_file(path)
    except InputError as exc:
        return IngestOutcome(str(path), "failed", error=str(exc))


def _from_jsonl(path: Path) -> Iterator[Item]:
    if not path.is_file():
        yield IngestOutcome(str(path), "failed", error=f"{path}: no such file")
        return
    try:
        for item in iter_jsonl(path):
            if isinstance(item, InputError):
                yield IngestOutcome(str(item).split(": ", 1)[0], "failed", error=str(item))
            else:
                yield item
    except InputError as exc:
        yield IngestOutcome(str(path), "failed", error=str(exc))


def fetch_article(url: str, policy: Any, client: Any = None) -> tuple[ArticleDraft, str]:
    """Download a page and extract its article; also the URL the page was finally fetched from
    (the draft's ``url`` is the page's canonical URL when it declares one)."""
    from retrieval.extract import extract_article
    from retrieval.fetch import fetch

    page = fetch(url, policy, client=client)
    return extract_article(page.body, url=page.url, origin=url), page.url


def _from_url(url: str, policy: Any, client: Any) -> Item:
    try:
        return fetch_article(url, policy, client)[0]
    except FactDiffError as exc:
        return _failed(url, exc)


def _failed(url: str, exc: Exception) -> IngestOutcome:
    msg = str(exc)
    return IngestOutcome(url, "failed", error=msg if url in msg else f"{url}: {msg}")


def _from_feed(feed_url: str, policy: Any, client: Any, limits: FeedLimits) -> Iterator[Item]:
    from retrieval.feeds import read_feed

    deadline = time.monotonic() + limits.deadline
    try:
        feed = read_feed(feed_url, _within(policy, deadline), client=client)
    except FactDiffError as exc:
        yield _failed(feed_url, exc)
        return
    for problem in feed.problems:
        yield IngestOutcome(feed_url, "failed", error=f"{feed_url}: {problem}")
    entries = feed.entries[: limits.max_entries]
    over_limit = len(feed.entries) - len(entries)
    late = 0
    for n, entry in enumerate(entries):
        if time.monotonic() >= deadline:
            late = len(entries) - n
            break
        item = _from_url(entry.link, _within(policy, deadline), client)
        if isinstance(item, ArticleDraft) and entry.published and not item.published:
            item = replace(item, published=entry.published)
        yield item
    if over_limit or late:
        summary = _skipped_line(feed_url, len(feed.entries), over_limit, late, limits)
        yield IngestOutcome(feed_url, "skipped", error=summary, items=over_limit + late)


def _within(policy: Any, deadline: float) -> Any:
    """The fetch policy, its timeout cut to what is left of the feed's deadline."""
    if policy is None:
        return policy
    left = max(deadline - time.monotonic(), 0.001)
    return replace(policy, timeout=min(policy.timeout, left))


def _skipped_line(feed_url: str, total: int, over_limit: int, late: int, limits: FeedLimits) -> str:
    """One summary line of a feed's entries that were not fetched, and why."""
    reasons = []
    if over_limit:
        reasons.append(f"{over_limit} over the limit of {limits.max_entries} entries (FACTDIFF_FEED_MAX_ENTRIES)")
    if late:
        reasons.append(f"{late} not reached within {limits.deadline:g} s (FACTDIFF_FEED_DEADLINE)")
    return f"{feed_url}: {over_limit + late} of {total} entries skipped: {'; '.join(reasons)}"


#: Articles written together (one embedding call, one commit to Chroma and the search index).
#: The search index's cost per commit grows with the archive (a commit rewrites pages spread
#: over its vocabulary), so bigger batches pay it over more articles: 3,000 articles into an
#: empty embedded store in 19.5 s at 32 per batch, 13.0 s at 128; at 100k articles the index's
#: own cost 4.3 -> 3.1 ms per article (`python -m benchmarks.index_writes`; docs/benchmarks.md,
#: issue 13). Checks never wait for a batch (they answer from what the index holds).
INGEST_BATCH = 128
#: ... and a batch is written early once its texts reach this many characters, so that a run
#: of huge sources (transcripts of megabytes) holds a bounded amount of text and vectors.
INGEST_BATCH_CHARS = 4_000_000


def ingest(
    store: SourceStore,
    items: Iterable[Item],
    *,
    batch_size: int = INGEST_BATCH,
    batch_chars: int = INGEST_BATCH_CHARS,
    on_outcome: Callable[[IngestOutcome], None] | None = None,
) -> list[IngestOutcome]:
    """Store every draft (in batches of ``batch_size`` drafts, or fewer holding ``batch_chars``
    characters); return one outcome per item (failures as they come)."""
    outcomes: list[IngestOutcome] = []
    batch: list[ArticleDraft] = []
    chars = 0

    def emit(o: IngestOutcome) -> None:
        outcomes.append(o)
        if on_outcome:
            on_outcome(o)

    def flush() -> None:
        nonlocal chars
        if batch:
            for o in store.add_many(batch):
                emit(o)
            batch.clear()
            chars = 0

    for item in items:
        if isinstance(item, IngestOutcome):
            emit(item)
        else:
            batch.append(item)
            chars += len(item.text)
            if len(batch) >= batch_size or chars >= batch_chars:
                flush()
    flush()
    store.lexical.checkpoint()  # the search index's write-ahead log, grown by the batches, cut back
    return outcomes
