"""What the store holds: articles and chunks, oldest and newest, by source."""

from __future__ import annotations

from dataclasses import dataclass, field

from retrieval.models import ArticleInfo
from retrieval.store import SourceStore

UNNAMED = "(no source)"


@dataclass
class SourceStats:
    """Counts and date range of one source's articles (dates: published, else ingested)."""

    articles: int = 0
    chunks: int = 0
    chars: int = 0
    oldest: str | None = None
    newest: str | None = None

    def count(self, info: ArticleInfo) -> None:
        self.articles += 1
        self.chunks += info.chunks
        self.chars += info.chars
        when = info.published or info.ingested_at
        if when:
            self.oldest = min(self.oldest or when, when)
            self.newest = max(self.newest or when, when)


@dataclass
class StoreStats:
    total: SourceStats
    by_source: dict[str, SourceStats] = field(default_factory=dict)
    indexed: int = 0  # articles in the lexical index (equal to total.articles when it is caught up)
    index_bytes: int = 0


def store_stats(store: SourceStore) -> StoreStats:
    """Read every article's metadata (no texts) and the lexical index's size."""
    total = SourceStats()
    by_source: dict[str, SourceStats] = {}
    for info in store.list_articles():
        total.count(info)
        by_source.setdefault(info.source or UNNAMED, SourceStats()).count(info)
    index = store.lexical_index()
    ordered = dict(sorted(by_source.items(), key=lambda kv: (-kv[1].articles, kv[0])))
    return StoreStats(total, ordered, len(index), index.disk_bytes())
