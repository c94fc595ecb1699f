"""Plain data that flows through retrieval: drafts in, stored articles and candidates out."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Metadata values chromadb can store.
MetaValue = str | int | float | bool


@dataclass(frozen=True)
class ArticleDraft:
    """An article as read from a file, a page, a feed or a JSONL line, before it is stored.

    ``text`` is the full article text exactly as it will be stored and quoted.
    ``origin`` names where it came from (a path or URL), for messages only.
    """

    title: str
    text: str
    url: str | None = None
    published: str | None = None
    source: str | None = None
    author: str | None = None
    id: str | None = None
    extra: dict[str, MetaValue] = field(default_factory=dict)
    origin: str = ""


@dataclass(frozen=True)
class ArticleInfo:
    """A stored article's identity and metadata (no text)."""

    id: str
    title: str
    url: str | None
    published: str | None
    source: str | None
    author: str | None = None
    chars: int = 0
    chunks: int = 0
    ingested_at: str | None = None
    version: str = ""  # short hash of the text: which chunks are current
    extra: dict[str, MetaValue] = field(default_factory=dict, hash=False, compare=False)
    # further places the same text was found (copies): place, and the copy's title, source, date
    locations: tuple[dict[str, str], ...] = field(default=(), hash=False, compare=False)


@dataclass(frozen=True)
class StoredArticle:
    """A stored article with its full original text; offsets index ``text``."""

    info: ArticleInfo
    text: str

    @property
    def id(self) -> str:
        return self.info.id


@dataclass(frozen=True)
class Chunk:
    """A run of whole sentences of an article; ``text == article.text[start:end]``."""

    article_id: str
    index: int
    start: int
    end: int
    text: str
    tokens: int


@dataclass(frozen=True)
class ChunkHit:
    """A stored chunk that a story passage matched."""

    article_id: str
    chunk_index: int
    start: int
    end: int
    similarity: float


@dataclass(frozen=True)
class Candidate:
    """A stored article that may be an original of the story, with the evidence for it."""

    info: ArticleInfo
    score: float
    dense: float
    lexical: float
    coverage: float
    specifics: float = 0.0  # share of the story's numbers and names found in the article
    sentences: int = 0
    hits: tuple[ChunkHit, ...] = ()


@dataclass(frozen=True)
class SearchResult:
    """Ranked originals of a story. ``matches`` is empty when nothing fits well."""

    matches: list[Candidate]
    considered: list[Candidate]
    message: str = ""


@dataclass(frozen=True)
class IngestOutcome:
    """What happened to one input item: stored, updated, unchanged or failed."""

    origin: str
    # "added" | "updated" | "unchanged" | "duplicate" (same text as article_id, found at another place:
    # recorded as a further location of it) | "skipped" (not tried: a feed's limits) | "failed"
    status: str
    article_id: str | None = None
    title: str | None = None
    chunks: int = 0
    error: str | None = None
    items: int = 1  # input items this outcome stands for (a feed's skipped entries: several)
