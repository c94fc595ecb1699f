"""The primary-source store on chromadb.

Two collections per embedding space (vectors from different models never mix):

* ``<prefix>-articles-<space>``: one record per article; its metadata holds the article's
  full original text (``text``: quoted verbatim later), title, URL, date, source and the
  text's hash; the vector is a one-number placeholder (nothing searches articles by vector:
  their mean vectors are in the search index; stores from before keep the mean). The text is
  not the record's Chroma *document*: Chroma puts every document into a trigram full-text
  index (which factdiff never queries and Chroma 1.5 cannot switch off), which doubled the
  articles' write time and took 8.8 KB per article on disk (docs/benchmarks.md). Stores from
  before keep their texts as documents, and are read either way.
* ``<prefix>-vectors-<space>``: each article version's sentence-aligned chunks: their vectors
  (float16) and offsets into the article (the text is the article's, cut at the offsets), packed
  as metadata values of one record per ``vectors_per_record`` chunks (usually one per article),
  with a one-number placeholder vector. Nothing searches chunks in Chroma (checks take them
  from the search index), and a record per chunk with its 256-number vector made Chroma write
  and load an HNSW graph of every chunk: at 100k articles 576 MB that every writing process
  loaded, and most of the ingest's slowdown with the archive's size (docs/benchmarks.md).
  Stores from before keep such chunks in ``<prefix>-chunks-<space>``: read as before, never
  written again (an update or removal deletes an article's chunks there).
* ``<prefix>-changes-<space>``: the change log (:mod:`retrieval.changelog`) from which other
  processes' lexical indexes catch up.

Everything a check needs lives in Chroma, so a process with an empty data directory can
answer from a Chroma server. Writes are ordered so that nothing is half-stored: new
vector records first (ids carry the text hash), then the article record (the commit point),
then the old version's records are deleted. Readers ignore records whose hash is not the
article's current one.

An embedded store is shared with other processes through its files: writes hold the data
directory's :class:`~retrieval.locking.WriteLock`, and a process that is about to write after
another one's change (the revision moved without it writing) reopens its client first, since
an embedded client keeps its vector index in memory. Reads never need that: checks take the
vectors from the search index (:mod:`retrieval.lexindex`), and articles from SQLite. Orphan
vector records (left by a process that was killed between the two writes) are swept by the
first write of each process.

Provenance: the first stored version of a text keeps its title, URL, source and date. The
same text met at another place (URL, or file) is a copy: its place is recorded as a further
location of the stored article, never a replacement. An explicit id or the same URL is the
same article, updated in place.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import courlan
import numpy as np
import tiktoken
from chromadb.errors import NotFoundError as ChromaNotFound

from retrieval.changelog import MARGIN, Change, ChangeLog
from retrieval.chunking import DEFAULT_CHUNK_TOKENS, chunk_text
from retrieval.embeddings import Embedder
from retrieval.errors import NotFoundError, StoreError
from retrieval.lexindex import ChunkVectors, PersistentLexicalIndex
from retrieval.locking import ChecksInProgress, WriteLock
from retrieval.models import (
    ArticleDraft,
    ArticleInfo,
    Chunk,
    IngestOutcome,
    MetaValue,
    StoredArticle,
)

log = logging.getLogger(__name__)

_CORE_KEYS = ("title", "url", "published", "source", "author")
_EXTRA_PREFIX = "x_"
_TEXT = "text"  # the metadata key of an article's full text
_SAFE_ID = re.compile(r"[^A-Za-z0-9._:-]+")
_LINE_SUFFIX = re.compile(r"(?<=\.jsonl):\d+$", re.IGNORECASE)
MAX_LOCATIONS = 50  # further locations kept per article (a wire story copied everywhere)
ORPHAN_AGE = 3600  # seconds after which a vector record without its article is a leftover, not a write in flight
_F16, _I32 = np.dtype("<f2"), np.dtype("<i4")  # packed vectors and offsets: the same bytes on every machine


def normalised_text(text: str) -> str:
    """Whitespace- and case-folded text: the identity of an article without a URL."""
    return re.sub(r"\s+", " ", text).strip().lower()


def text_hash(text: str) -> str:
    return hashlib.sha256(normalised_text(text).encode("utf-8")).hexdigest()


def canonical_url(url: str) -> str:
    """One address per article (courlan): scheme and host lower-cased, default port, tracking
    parameters (utm_*, fbclid, ...) and fragment dropped, query sorted, no trailing slash."""
    url = url.strip().split("#", 1)[0]
    if not re.match(r"(?i)^https?://[^/?]", url):
        return url
    try:
        url = courlan.normalize_url(url)
    except ValueError:  # not parseable: keep it as given
        return url
    m = re.match(r"^(https?://[^/?]+)(.*)$", url)
    if not m:
        return url
    rest = m.group(2)
    if rest.endswith("/") and "?" not in rest:
        rest = rest.rstrip("/")
    return f"{m.group(1)}{rest}"


@dataclass(frozen=True)
class StoreConfig:
    prefix: str = "factdiff"
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS
    # records per read: SQLite refuses a query with over 32,766 variables (40k chunks did)
    read_page: int = 5000
    # HNSW links per record in the collections nobody searches by vector (articles, change log):
    # an embedded client holds a touched collection's graph in memory (at Chroma's default of 16,
    # 0.55 KB per 1-d record measured at 20k records; see docs/benchmarks.md)
    unsearched_neighbors: int = 4
    # records the change log's collection takes before Chroma writes its HNSW index to disk
    # (Chroma's sync_threshold, 1,000 by default, and at least its batch_size of 100): until
    # then every write to the collection goes through the log of the records since, so a
    # change-log record (one per ingest batch) cost 19 ms on average over a cycle of 1,000 and
    # 52 ms near its end, 7 ms with 100 (the collection's index is small to write; measured on
    # stores of 9k and 113k articles, docs/benchmarks.md "Scale, ninth part")
    log_sync_threshold: int = 100
    # chunks per vector record: 256 chunks of 256-d float16 are 128 KB (175 KB as base64), so a
    # huge source's vectors are many records of bounded size; an article has 4 on average
    vectors_per_record: int = 256
    # chunks per write of vector records (bounds a request to a Chroma server: about 4 MB)
    vectors_per_write: int = 8192
    # articles per write to Chroma (an ingest batch is written in requests of this many): a
    # Chroma server answers no read while it applies a write, so a check meeting an ingest's
    # write waited for all of it (128 articles: ~85 ms for their records and as long for their
    # vectors, at 20k articles)
    articles_per_write: int = 32
    # vector records per read: typically 2,000 chunks (1 MB); at most 500 huge-source records
    vector_read_page: int = 500


@dataclass
class _Prepared:
    draft: ArticleDraft
    article_id: str
    status: str
    hash: str
    chunks: list[Chunk]
    locations: list[dict[str, str]] = field(default_factory=list)


@dataclass
class _Ahead:
    """What an ingest batch prepared before taking the write lock: the chunks of texts the store
    did not hold (by text) and their vectors (by chunk text)."""

    chunks: dict[str, list[Chunk]] = field(default_factory=dict)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)


class SourceStore:
    """Primary sources in chromadb: add, update, list, get, remove and search chunks."""

    def __init__(
        self,
        client: Any,
        embedder: Embedder,
        encoding: tiktoken.Encoding,
        config: StoreConfig | None = None,
        *,
        lock: WriteLock | None = None,
        reopen: Callable[[], Any] | None = None,
        lexical: PersistentLexicalIndex | Callable[[str], PersistentLexicalIndex] | None = None,
        checks: ChecksInProgress | None = None,
    ) -> None:
        """``lock`` and ``reopen`` are for an embedded store shared with other processes: the
        data directory's write lock, and how to open a fresh client on it. ``lexical`` is the
        persistent lexical index kept in step with the store (a private in-memory one if not
        given), shared by every process that gives the same file, or what opens it given the
        store's identity (:attr:`identity`). ``checks``: the machine's
        checks in progress, which this store's writes give way to and its checks mark."""
        self._synced: str | None = None
        self.client = client
        self.embedder = embedder
        self.encoding = encoding
        self.config = config or StoreConfig()
        self.lock = lock
        self._reopen = reopen
        self._guard: AbstractContextManager[Any] = threading.RLock() if reopen else nullcontext()
        self._space = _SAFE_ID.sub("-", embedder.name).strip("-.")
        self._swept = False
        self._write_started: float | None = None  # when this process's write under the lock began
        self._left_chunks = False  # a failed write's chunks could not be deleted (the sweep's to do)
        self._index_ok = True  # this write's changes all reached the search index
        self._writer: int | None = None
        self._dimension: int | None = None  # the length of the space's vectors, once read
        self._index_id: str | None = None  # the search index's identity (its change-log tag)
        self._unsaved_cursor: float | None = None  # where this process's catch-up got to, not yet in the file
        # the revision this process's write under the lock leaves, (bumps, count), as far as it is
        # known (None: read it after the write)
        self._after: tuple[str, int] | None = None
        # the store's revision as last known under the write lock (read, or left by this
        # process's write): while the store's bumps stay its own, it is the revision, uncounted
        self._locked_revision: str | None = None
        self._begun = False  # this write under the lock has moved the bumps before changing the store
        self._pending: list[str] = []  # the articles this write under the lock is changing (see _note_pending)
        self.checks = checks
        self._open_collections()
        if lexical is None:
            lexical = PersistentLexicalIndex()
        self.lexical = lexical if isinstance(lexical, PersistentLexicalIndex) else lexical(self.identity)
        try:
            self._max_batch = int(client.get_max_batch_size())
        except Exception:  # older servers do not say
            self._max_batch = 1000
        self._seen = self.revision()

    def _open_collections(self) -> None:
        try:
            unsearched = {"hnsw": {"space": "cosine", "max_neighbors": self.config.unsearched_neighbors}}
            self.articles = self.client.get_or_create_collection(
                f"{self.config.prefix}-articles-{self._space}", embedding_function=None, configuration=unsearched
            )
            self.vectors = self.client.get_or_create_collection(
                f"{self.config.prefix}-vectors-{self._space}", embedding_function=None, configuration=unsearched
            )
            log = {"hnsw": {**unsearched["hnsw"], "sync_threshold": self.config.log_sync_threshold}}
            self.changes = self.client.get_or_create_collection(
                f"{self.config.prefix}-changes-{self._space}", embedding_function=None, configuration=log
            )
        except Exception as exc:  # chromadb raises many kinds; one clear message at our edge
            raise StoreError(f"cannot open the source store: {exc}") from exc
        self.chunks: Any = None  # a store from before: a record per chunk (read, never written)
        try:
            self.chunks = self.client.get_collection(f"{self.config.prefix}-chunks-{self._space}")
        except ChromaNotFound:
            pass
        except Exception as exc:
            raise StoreError(f"cannot open the source store: {exc}") from exc
        # Nothing searches the articles by vector (their mean vectors are in the search index):
        # a new store gives each a one-number placeholder, so that the vector index Chroma loads
        # with the collection stays small; a store from before keeps its dimension (Chroma
        # fixes it at the first write) and so takes the mean vectors as before.
        dimension = getattr(getattr(self.articles, "_model", None), "dimension", None)
        self._article_vectors = dimension not in (None, 1)
        self.changelog = ChangeLog(self.changes, self._call)

    @property
    def identity(self) -> str:
        """The store's identity: its articles collection's id (Chroma gives each collection its
        own when it is made), the same from every client and address that reaches the store."""
        return str(self.articles.id)

    # ---- other processes -----------------------------------------------------------------

    def refresh(self) -> str:
        """The store's revision (it moves with every write, by any process).

        Reading never needs a new client: a check reads articles and metadata, which every
        client reads from the store's SQLite file as they are, and takes vectors from the search
        index (:mod:`retrieval.lexindex`), never from Chroma's vector index, the one thing an
        embedded client keeps in memory and misses other processes' writes to. Only a write
        reopens a client that another process's write made stale (:meth:`_catch_up`)."""
        return self.revision()

    def _catch_up(self) -> str:
        """With the write lock held: reopen the client if another process wrote since it was
        opened (or since this process last wrote), so that it never writes from a stale index.
        Returns the store's revision (read once: at 100,000 articles Chroma counts the articles
        in about 10 ms, and a write read it four times).

        The articles are counted only when the store's bumps are not those of the revision last
        known under the lock: every embedded write moves the bumps before it changes anything
        (:meth:`_begin_change`) and again when it is done, so a store still at those bumps holds
        what it held then, however another writer ended (killed half-way, its bump failed).
        Counting cost 11 ms a batch at 113k articles, 1.6 ms at 9k."""
        revision = self._unmoved() or self.revision()
        if self._reopen is not None and revision != self._seen:
            log.info("the store changed in another process; reopening it before writing")
            self._reopen_client()
            revision = self._seen
        if self.lock is not None:
            self._locked_revision = revision
        return revision

    def _reopen_client(self) -> None:
        """With the write lock held: a fresh client on the embedded store's files."""
        if self._reopen is None:
            return
        with self._guard:
            old = self.client
            close = getattr(old, "close", None)
            if callable(close):
                try:
                    close()
                except Exception as exc:  # a client that cannot close cleanly is dropped anyway
                    log.warning("closing the old store client failed: %s", exc)
            self.client = self._reopen()
            self._open_collections()
        self._seen = self.revision()

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """A write: the write lock (an embedded store), marked as a write of this machine's."""
        with self._write_lock(), self.checks.writing() if self.checks is not None else nullcontext():
            yield

    @contextmanager
    def _write_lock(self) -> Iterator[None]:
        if self.lock is None:
            yield
            return
        with self.lock.hold():
            self._writer = threading.get_ident()  # this thread's own reads are never retried
            try:
                yield
            finally:
                self._writer = None

    # ---- reading -------------------------------------------------------------------------

    def count(self) -> int:
        return int(self._call(lambda: self.articles.count()))

    def revision(self) -> str:
        """Changes whenever an article is added, updated or removed."""
        return f"{self._bumps()}:{self.count()}"

    def _bumps(self) -> str:
        meta = self._call(lambda: self.client.get_collection(self.articles.name).metadata) or {}
        return str(meta.get("revision", "0"))

    def _unmoved(self) -> str | None:
        """With the write lock held: the revision last known under it, if the store's bumps have
        not moved since (see :meth:`_catch_up`)."""
        known = self._locked_revision
        if self.lock is None or known is None:
            return None
        return known if self._bumps() == _bumps_of(known) else None

    def get(self, article_id: str) -> StoredArticle:
        res = self._call(lambda: self.articles.get(ids=[article_id], include=["documents", "metadatas"]))
        if not res["ids"]:
            raise NotFoundError(f"no stored article with id {article_id!r} (see 'factdiff sources list')")
        return StoredArticle(_info(res["ids"][0], res["metadatas"][0]), _text(res["metadatas"][0], res["documents"][0]))

    def get_many(self, ids: Sequence[str]) -> dict[str, StoredArticle]:
        if not ids:
            return {}
        res = self._call(lambda: self.articles.get(ids=list(ids), include=["documents", "metadatas"]))
        return {
            i: StoredArticle(_info(i, m), _text(m, d))
            for i, m, d in zip(res["ids"], res["metadatas"], res["documents"], strict=True)
        }

    def infos(self, ids: Sequence[str]) -> dict[str, ArticleInfo]:
        if not ids:
            return {}
        res = self._call(lambda: self.articles.get(ids=list(ids), include=["metadatas"]))
        return {i: _info(i, m) for i, m in zip(res["ids"], res["metadatas"], strict=True)}

    def list_articles(self) -> list[ArticleInfo]:
        """Every stored article's metadata, newest ingested first."""
        out: list[ArticleInfo] = []
        for ids, metas, _ in self._pages(include=["metadatas"]):
            out.extend(_info(i, m) for i, m in zip(ids, metas, strict=True))
        return sorted(out, key=lambda a: a.ingested_at or "", reverse=True)

    def iter_texts(self, page: int = 500) -> Iterator[tuple[str, str]]:
        """(id, full text) of every article, page by page."""
        for ids, metas, docs in self._pages(include=["documents", "metadatas"], page=page):
            yield from ((i, _text(m, d)) for i, m, d in zip(ids, metas, docs, strict=True))

    def _pages(self, include: list[str], page: int = 1000) -> Iterator[tuple[list[str], list[Any], list[Any]]]:
        offset = 0
        while True:
            res = self._call(lambda: self.articles.get(include=include, limit=page, offset=offset))  # noqa: B023
            if not res["ids"]:
                return
            yield (
                res["ids"],
                res.get("metadatas") or [None] * len(res["ids"]),
                res.get("documents") or [None] * len(res["ids"]),
            )
            offset += len(res["ids"])

    def _chunk_pages(
        self, where: dict[str, Any] | None, include: list[str], collection: Any = None
    ) -> Iterator[tuple[list[str], list[Any], list[Any]]]:
        """Records of the vectors collection (or ``collection``), page by page: ids, metadatas
        and embeddings (None where not included)."""
        col = self.vectors if collection is None else collection
        offset = 0
        page = self.config.vector_read_page if collection is None else self.config.read_page
        while True:
            res = self._call(
                lambda: col.get(where=where, include=include, limit=page, offset=offset)  # noqa: B023
            )
            if not res["ids"]:
                return
            n = len(res["ids"])
            metas = res.get("metadatas") if "metadatas" in include else None
            vectors = res.get("embeddings") if "embeddings" in include else None
            yield (
                res["ids"],
                list(metas if metas is not None else [None] * n),
                list(vectors if vectors is not None else [None] * n),
            )
            offset += n

    # ---- writing -------------------------------------------------------------------------

    def add(self, draft: ArticleDraft) -> IngestOutcome:
        return self.add_many([draft])[0]

    def add_many(self, drafts: Sequence[ArticleDraft]) -> list[IngestOutcome]:
        """Store or update articles; each one either fully lands or leaves no trace.

        Returns one outcome per draft, in order. Lookups and writes are batched, under the
        write lock of an embedded store.
        """
        outcomes: list[IngestOutcome | None] = [None] * len(drafts)
        cleaned: list[tuple[int, ArticleDraft, str]] = []
        for i, draft in enumerate(drafts):
            text = draft.text.strip()
            if not text:
                outcomes[i] = IngestOutcome(
                    draft.origin, "failed", error=f"{draft.origin or draft.title}: the article has no text"
                )
                continue
            draft = replace(draft, text=text, title=(draft.title or "").strip() or _first_line(text))
            cleaned.append((i, draft, text_hash(text)))
        if not cleaned:
            return [o for o in outcomes if o is not None]
        ready = self._embed_ahead(cleaned) if self.lock is not None else _Ahead()
        try:
            with self._writing():
                self._before_write()
                self._add_locked(cleaned, outcomes, ready)
                self._after_write()
        except StoreError as exc:
            return [
                o or IngestOutcome(d.origin, "failed", error=str(exc)) for o, d in zip(outcomes, drafts, strict=True)
            ]
        return [o for o in outcomes if o is not None]

    def _embed_ahead(self, cleaned: list[tuple[int, ArticleDraft, str]]) -> _Ahead:
        """Before taking the write lock: the vectors of the chunks of texts the store does not
        hold yet, so that the lock is held for writing only (a check in another process waits
        for the lock when it reopens the store). Anything missed is embedded under the lock."""
        ahead = _Ahead()
        try:
            # the search index this machine's writers keep in step with the store (a text it
            # lacks but the store holds is embedded for nothing; one it holds that the store
            # lost is embedded under the lock): Chroma's filter read in proportion to the store
            held = self.lexical.held(h[:12] for _, _, h in cleaned)
            for _, draft, h in cleaned:
                if h[:12] not in held and draft.text not in ahead.chunks:
                    ahead.chunks[draft.text] = chunk_text("", draft.text, self.encoding, self.config.chunk_tokens)
            texts = [c.text for chunks in ahead.chunks.values() for c in chunks]
            if texts:
                ahead.vectors = dict(zip(texts, self.embedder.embed(texts), strict=True))
        except Exception as exc:  # the write path chunks and embeds (and reports failures) as before
            log.debug("embedding ahead of the write lock failed: %s", exc)
        return ahead

    def _add_locked(
        self,
        cleaned: list[tuple[int, ArticleDraft, str]],
        outcomes: list[IngestOutcome | None],
        ready: _Ahead,
    ) -> None:
        known = self._lookup(cleaned)
        to_write: dict[str, tuple[int, _Prepared]] = {}
        first_of_text: dict[str, tuple[str, str]] = {}  # text hash -> (article id, place) in this batch
        copies: dict[str, list[dict[str, str]]] = {}  # stored article id -> further locations found
        for i, draft, h in cleaned:
            article_id, existing, kind = _identify(draft, h, known)
            place = _place(draft)
            if kind in ("text", "new") and h in first_of_text and first_of_text[h][0] != article_id:
                article_id, kind = first_of_text[h][0], "batch"  # the same text earlier in this batch
            first_of_text.setdefault(h, (article_id, place))
            if kind == "text" or kind == "batch":
                key = (place, _safe_id(draft.id))
                if kind == "text":
                    seen = _places(existing, article_id)
                else:
                    earlier = to_write.get(article_id)
                    more = earlier[1].locations if earlier else []
                    seen = {(first_of_text[h][1], article_id)} | {_key(x) for x in more}
                if key in seen or (not key[1] and any(p == place for p, _ in seen)):
                    outcomes[i] = IngestOutcome(draft.origin, "unchanged", article_id, draft.title)
                    continue
                location = _location(draft, place)
                if kind == "batch" and article_id in to_write:
                    to_write[article_id][1].locations.append(location)
                else:
                    copies.setdefault(article_id, []).append(location)
                title = str((existing or {}).get("title") or draft.title)
                outcomes[i] = IngestOutcome(draft.origin, "duplicate", article_id, title)
                continue
            if existing is not None and existing.get("text_hash") == h and _same_meta(existing, draft):
                n_chunks = int(existing.get("chunks", 0))
                outcomes[i] = IngestOutcome(draft.origin, "unchanged", article_id, draft.title, n_chunks)
                continue
            if article_id in to_write:  # the same article twice in this batch: the last one wins
                j, earlier_p = to_write[article_id]
                outcomes[j] = IngestOutcome(earlier_p.draft.origin, "unchanged", article_id, earlier_p.draft.title)
            status = "updated" if existing is not None else "added"
            if draft.text in ready.chunks:  # chunked before the lock: the same text, the same chunks
                chunks = [replace(c, article_id=article_id) for c in ready.chunks[draft.text]]
            else:
                chunks = chunk_text(article_id, draft.text, self.encoding, self.config.chunk_tokens)
            prepared = _Prepared(draft, article_id, status, h, chunks, _stored_locations(existing))
            to_write[article_id] = (i, prepared)
        for aid, locations in copies.items():
            if aid in to_write:
                to_write[aid][1].locations.extend(locations)
        if to_write:
            for i, outcome in self._write(list(to_write.values()), ready):
                outcomes[i] = outcome
        self._record_copies({aid: locs for aid, locs in copies.items() if aid not in to_write}, known)

    def _record_copies(
        self, copies: dict[str, list[dict[str, str]]], known: dict[str, dict[str, tuple[str, dict[str, Any]]]]
    ) -> None:
        """Add further locations to stored articles' metadata (their own fields stay as they are)."""
        if not copies:
            return
        metas = {i: m for by_key in known.values() for i, m in by_key.values()}
        ids = sorted(copies)
        updated = []
        for aid in ids:
            meta = dict(metas.get(aid) or {})
            meta["locations"] = json.dumps((_stored_locations(meta) + copies[aid])[:MAX_LOCATIONS], ensure_ascii=False)
            updated.append(meta)
        self._begin_change()
        self._call(lambda: self.articles.update(ids=ids, metadatas=updated))
        self._bump()

    def remove(self, article_id: str) -> ArticleInfo:
        with self._writing():
            self._before_write()
            info = self.get(article_id).info
            self._note_pending([article_id])
            self._begin_change()
            self._delete_chunks(article_id)
            self._after = None  # a removal (seldom) reads the revision after it
            self._call(lambda: self.articles.delete(ids=[article_id]))
            self._bump()
            self._changed(removed=[article_id])
            self._after_write()
        return info

    def _after_write(self) -> None:
        """With the write lock held, after this process's write: note the revision. The only
        writer of an embedded store, caught up before its write, which applied itself to the
        search index: the index holds this revision, which it records for every process on the
        machine (they need not read the change log while the store stays at it). With a Chroma
        server nothing is noted: its writers never wait for each other, so no revision read
        after a write is known to be this write's (4 round trips a batch, the count's growing
        with the store: ~10 ms at 100k)."""
        if self.lock is not None:
            # the revision known before the write (under the lock: nobody else moves it), moved by
            # this write's own bumps and additions: Chroma's count walks every record (14 ms at
            # 100,000 articles, 4 ms at 2,000, in the eighth part's profile), and was read twice a batch
            after, self._after = self._after, None
            self._seen = f"{after[0]}:{after[1]}" if after is not None else self.revision()
            self._synced = self._locked_revision = self._seen
            marks = {"revision": self._seen, "pending": ""} if self._index_ok else {}
            # The only writer, swept before its first write: every chunk written before this
            # write began belongs to a stored article or was swept, so the next process's sweep
            # starts here (not at this process's first write: after a 100k-article ingest that
            # was every chunk in the store, a minute of the next ingest); and while the store
            # stays at this revision there is nothing to sweep at all.
            if self._write_started is not None and not self._left_chunks:
                marks |= {"swept": repr(self._write_started), "clean": self._seen}
            if marks:
                self._try(lambda: self.lexical.set_metas(marks))
        self._write_started = None
        self._index_ok = True

    def _before_write(self) -> None:
        """With the write lock held: catch up with other processes, then (once per process)
        sweep chunks that no article owns any more."""
        self._begun = False  # (a write that failed before its end left it set)
        self._pending = []
        if self._reopen is not None or self.lock is not None:  # with a Chroma server no write needs the revision
            revision = self._catch_up()
            self._after = (_bumps_of(revision), _count_of(revision)) if self.lock is not None else None
            if self.lock is not None and self._synced != revision:  # the lock held: nobody else moves it
                if not self._holds(revision):
                    # so that this writer may move the change-log cursor on after its write
                    self._sync_lexical(stored=_count_of(revision))
                self._synced = revision
        if not self._swept:
            self._swept = True
            self._tune_log()
            # an embedded store still at the revision its last writer left with nothing to
            # sweep holds no orphans (a writer killed since moved the bumps before writing):
            # the sweep's read of the records since the last one cost 0.14 s at 113k articles
            clean = self.lock is not None and self.lexical.get_meta("clean") == self._locked_revision
            removed = 0 if clean else self.sweep_orphans()
            if removed:
                log.warning("removed %d orphan chunks (left by an interrupted ingest)", removed)
        self._write_started = time.time()

    def _begin_change(self) -> None:
        """With the write lock held, before this write first changes the store: move the
        bumps, so that whatever happens next (a process killed half-way) no later writer takes
        the store for the one it last knew (:meth:`_catch_up`). A store whose bumps cannot be
        moved is not written."""
        if self.lock is None or self._begun:
            return
        self._move_bumps(before=True)
        self._begun = True

    def _note_pending(self, article_ids: Sequence[str]) -> None:
        """With the write lock held, before an embedded write changes these articles: note them
        in the search index (cleared when the write is done, :meth:`_after_write`). A process
        killed half-way leaves them there, and the next catch-up brings just these articles to
        their stored versions (:meth:`_heal_pending`) instead of comparing every article's
        version with the store's: after an ingest killed in a batch at 114k articles that took the
        bot's next check 7.6 s (11.3 in another run), reading every article's metadata."""
        if self.lock is None:
            return
        self._pending.extend(article_ids)
        try:
            self.lexical.set_meta("pending", json.dumps(self._pending))
        except Exception as exc:  # a locked or broken index file must not stop a write (as in _changed)
            log.warning("noting the write in the search index failed (a catch-up compares every article): %s", exc)

    def _heal_pending(self) -> None:
        """With the write lock held: the articles a write killed half-way was changing (noted by
        :meth:`_note_pending`) are brought to their stored versions in the search index."""
        if self.lock is None:
            return
        noted = self.lexical.get_meta("pending")
        if not noted:
            return
        try:
            ids = [str(i) for i in json.loads(noted)]
        except (ValueError, TypeError):
            log.warning("the search index's note of a write in flight is not readable: %r", noted[:200])
            ids = []
        if ids:
            log.info("search index: taking in the %d article(s) of a write that did not finish", len(set(ids)))
            self._reindex(sorted(set(ids)))
        self.lexical.set_meta("pending", "")

    def _tune_log(self) -> None:
        """A change log made before it had its own sync threshold takes it (once, by a writer)."""
        hnsw = (getattr(self.changes, "configuration", None) or {}).get("hnsw") or {}
        if hnsw.get("sync_threshold", self.config.log_sync_threshold) != self.config.log_sync_threshold:
            sync = {"hnsw": {"sync_threshold": self.config.log_sync_threshold}}
            self._try(lambda: self.changes.modify(configuration=sync))

    def sweep_orphans(self) -> int:
        """Delete vector records whose article is missing or holds another version of the text:
        what a process killed between writing them and its article leaves behind. Without the
        write lock (a Chroma server) only records older than an hour go: younger ones may belong
        to another process's write in flight.

        Only the records written since the last sweep recorded in the search index are read
        (with a Chroma server, an hour further back: what was too young to go then), by id
        (which names the article and version: no vectors are read), and the versions of just
        their articles: reading every record made each ingest process's first write grow with
        the archive (13 s of a 1,000-article ingest at 20k)."""
        started = time.time()
        last = self.lexical.get_meta("swept")
        cutoff = None if self.lock is not None else int(started - ORPHAN_AGE)
        since = None
        if last is not None:
            since = int(float(last) - (0 if self.lock is not None else ORPHAN_AGE) - 1)
        bounds = ([{"written": {"$gte": since}}] if since is not None else []) + (
            [{"written": {"$lt": cutoff}}] if cutoff is not None else []
        )
        where = bounds[0] if len(bounds) == 1 else {"$and": bounds} if bounds else None
        records = [(rid, *_owner(rid)) for ids, _, _ in self._chunk_pages(where, [], self.vectors) for rid in ids]
        current: dict[str, str] = {}
        if since is None:
            for ids, metas, _ in self._pages(include=["metadatas"], page=self.config.read_page):
                current.update((i, str((m or {}).get("text_hash", ""))[:12]) for i, m in zip(ids, metas, strict=True))
        else:
            owners = sorted({aid for _, aid, _ in records})
            for b in range(0, len(owners), self.config.read_page):
                infos = self.infos(owners[b : b + self.config.read_page])
                current.update((aid, info.version) for aid, info in infos.items())
        orphans = [rid for rid, aid, version in records if current.get(aid) != version]
        self._delete_ids(self.vectors, orphans)
        self._try(lambda: self.lexical.set_meta("swept", repr(started)))
        return len(orphans)

    def _delete_chunks(self, article_id: str, keep: str | None = None) -> None:
        """Delete an article's vector records (and its chunks in a store from before), all of
        them or all but version ``keep``'s."""
        where: dict[str, Any] = {"article_id": article_id}
        if keep is not None:
            where = {"$and": [where, {"text_hash": {"$ne": keep}}]}
        for col in (self.vectors, self.chunks):
            if col is not None:
                self._delete_ids(col, [rid for ids, _, _ in self._chunk_pages(where, [], col) for rid in ids])

    def _delete_ids(self, collection: Any, ids: list[str]) -> None:
        page = self.config.read_page
        for b in range(0, len(ids), page):
            self._call(lambda b=b: collection.delete(ids=ids[b : b + page]))  # type: ignore[misc]

    def _lookup(self, cleaned: list[tuple[int, ArticleDraft, str]]) -> dict[str, dict[str, tuple[str, dict[str, Any]]]]:
        """Existing records that share an id, a URL or a text hash with the drafts: 3 queries."""
        ids = sorted({_safe_id(d.id) for _, d, _ in cleaned if d.id} - {""})
        urls = sorted({canonical_url(d.url) for _, d, _ in cleaned if d.url})
        hashes = sorted({h for _, _, h in cleaned})
        known: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {"id": {}, "url": {}, "text_hash": {}}
        if ids:
            res = self._call(lambda: self.articles.get(ids=ids, include=["metadatas"]))
            known["id"] = {i: (i, m) for i, m in zip(res["ids"], res["metadatas"], strict=True)}
        for key, values in (("url", urls), ("text_hash", hashes)):
            if values:
                res = self._get_where({key: {"$in": values}})
                known[key] = {str(m[key]): (i, m) for i, m in zip(res["ids"], res["metadatas"], strict=True)}
        return known

    def _get_where(self, where: dict[str, Any]) -> Any:
        return self._call(lambda: self.articles.get(where=where, include=["metadatas"]))

    def _write(self, batch: list[tuple[int, _Prepared]], ready: _Ahead) -> Iterator[tuple[int, IngestOutcome]]:
        texts = [c.text for _, p in batch for c in p.chunks]
        try:
            missing = [t for t in texts if t not in ready.vectors]
            fresh = dict(zip(missing, self.embedder.embed(missing), strict=True)) if missing else {}
            vectors = (
                np.array([ready.vectors[t] if t in ready.vectors else fresh[t] for t in texts], dtype=np.float32)
                if texts
                else self.embedder.embed([])
            )
        except Exception as exc:  # a model or API failure fails the batch, with its reason
            for i, p in batch:
                yield (
                    i,
                    IngestOutcome(
                        p.draft.origin, "failed", p.article_id, p.draft.title, error=f"embedding failed: {exc}"
                    ),
                )
            return
        now = datetime.now(UTC).isoformat(timespec="seconds")
        parts: list[tuple[int, _Prepared, np.ndarray]] = []
        pos = 0
        for i, p in batch:
            parts.append((i, p, vectors[pos : pos + len(p.chunks)]))
            pos += len(p.chunks)
        results: list[tuple[int, IngestOutcome]] = []
        written: list[tuple[int, _Prepared, np.ndarray]] = []
        per = max(1, self.config.articles_per_write)
        try:
            for group in (parts[g : g + per] for g in range(0, len(parts), per)):
                self._give_way()
                try:
                    self._write_group(group, now)
                    written += group
                except StoreError:
                    for one in group:  # isolate the article the store refuses: write them one by one
                        try:
                            self._write_group([one], now)
                            written.append(one)
                        except StoreError as exc:
                            i, p, _ = one
                            fail = IngestOutcome(p.draft.origin, "failed", p.article_id, p.draft.title, error=str(exc))
                            results.append((i, fail))
        finally:
            # Chroma takes the batch in requests of a few articles (a server answers no read
            # while it applies one); the change log and the search index take it whole, in one
            # record and one transaction: per request, a search-index commit cost 17 ms at
            # 100,000 articles (3 ms at 2,000) and a change-log record 9-13 ms (the profile in
            # docs/benchmarks.md, "Scale, eighth part")
            if written:
                self._changed(
                    stored=[(p.article_id, p.hash[:12], p.draft.text) for _, p, _ in written],
                    vectors={p.article_id: ChunkVectors(v, _spans(p)) for _, p, v in written},
                )
        results += [
            (i, IngestOutcome(p.draft.origin, p.status, p.article_id, p.draft.title, len(p.chunks)))
            for i, p, _ in written
        ]
        if written:
            self._bump()
        yield from results

    def _check_dimension(self, parts: list[tuple[int, _Prepared, np.ndarray]]) -> None:
        """Refuse vectors of another length than the space holds (Chroma fixed it per collection
        when it kept a vector per chunk; packed vectors are checked here): the length is recorded
        in the vectors collection's metadata at the first write."""
        sizes = {int(v.shape[1]) for _, _, v in parts if v.ndim == 2 and len(v)}
        if not sizes:
            return
        held = self._dimension
        if held is None:
            meta = self._call(lambda: self.client.get_collection(self.vectors.name).metadata) or {}
            held = meta.get("dimension") or getattr(getattr(self.chunks, "_model", None), "dimension", None)
            if held is None:
                size = held = sizes.pop()
                self._call(lambda: self.vectors.modify(metadata={**meta, "dimension": size}))
            self._dimension = int(held)
        wrong = sizes - {int(held)}
        if wrong:
            raise StoreError(
                f"source store error: vectors of {min(wrong)} numbers, but this store's space "
                f"{self._space!r} holds vectors of {held} (the embedding model changed under the same name?)"
            )

    def _write_group(self, parts: list[tuple[int, _Prepared, np.ndarray]], now: str) -> None:
        """New vector records, then the article records (the commit point), then old ones go
        (the caller logs the batch's changes and applies them to the search index)."""
        records: list[tuple[str, dict[str, MetaValue], int]] = []  # id, metadata, chunks
        written = int(time.time())
        per = max(1, self.config.vectors_per_record)
        for _, p, v in parts:
            short = p.hash[:12]
            spans = _spans(p)
            for part, first in enumerate(range(0, len(p.chunks), per)):
                rows = spans[first : first + per]
                meta: dict[str, MetaValue] = {
                    "article_id": p.article_id,
                    "text_hash": short,
                    "part": part,
                    "written": written,
                    "vectors": _pack(v[first : first + per], _F16),
                    "spans": _pack(rows, _I32),
                }
                records.append((f"{p.article_id}:{short}:{part}", meta, len(rows)))
        ids = [r[0] for r in records]
        self._note_pending([p.article_id for _, p, _ in parts])
        self._begin_change()
        try:
            self._check_dimension(parts)
            for group in _groups(records, self.config.vectors_per_write, self._max_batch):
                self._call(
                    lambda g=group: self.vectors.upsert(  # type: ignore[misc]
                        ids=[r[0] for r in g], embeddings=[[1.0]] * len(g), metadatas=[r[1] for r in g]
                    )
                )
            means = []
            for _, _, v in parts:
                m = v.mean(axis=0) if len(v) else np.zeros(v.shape[1] if v.ndim == 2 else 1, dtype=np.float32)
                means.append((m / (np.linalg.norm(m) or 1.0)).tolist() if self._article_vectors else [1.0])
            metadatas = [_metadata(p.draft, p.hash, len(p.chunks), now, p.locations) for _, p, _ in parts]
            for (_, p, _), meta in zip(parts, metadatas, strict=True):
                meta[_TEXT] = p.draft.text
            # no document (see the module's docstring); an update empties the one a record
            # from before may hold, so that no stale text stays behind in Chroma's index
            documents = ["" if p.status == "updated" else None for _, p, _ in parts]
            self._call(
                lambda: self.articles.upsert(
                    ids=[p.article_id for _, p, _ in parts],
                    embeddings=means,
                    metadatas=metadatas,
                    **({"documents": documents} if any(d is not None for d in documents) else {}),
                )
            )
        except StoreError:
            self._after = None  # whether the articles' records went in is not known: read the revision
            if not self._try(lambda: self._delete_ids(self.vectors, ids)):  # leave no half-stored version
                self._left_chunks = True
            raise
        if self._after is not None:
            self._after = (self._after[0], self._after[1] + sum(p.status == "added" for _, p, _ in parts))
        for _, p, _ in parts:
            if p.status == "updated":
                self._try(lambda p=p: self._delete_chunks(p.article_id, keep=p.hash[:12]))  # type: ignore[misc]

    # ---- the lexical index ------------------------------------------------------------------

    def lexical_index(self, *, wait: bool = False) -> PersistentLexicalIndex:
        """The persistent lexical index, caught up with what every process stored or removed.

        Nothing is rebuilt: the index takes in the change log's records since it last looked
        (a local index that never saw this store is built once from the stored texts).

        An embedded store's writer applies its own writes to the shared index under the write
        lock. While another process holds it (a bulk ingest, batch after batch), a check does
        not wait for it: it answers from what the index holds (all but the batch being
        written) and looks again at its next check; ``wait`` waits for the write in flight
        (a check that meets an article whose new version the index lacks)."""
        revision = self.refresh()
        if revision != self._synced and not self._holds(revision):
            if not wait and self.lock is not None and self.lock.busy():
                return self.lexical.refresh()
            # The lock is free (a writer that died half-way, or an index from before) or asked
            # for: after the write in flight the index usually holds the revision and nothing is
            # read; otherwise it is caught up here.
            with self._write_lock():
                if self.lock is not None:  # the revision the write in flight left
                    revision = self.refresh()
                if not self._holds(revision) and not self._sync_lexical(stored=_count_of(revision)):
                    return self.lexical.refresh()  # not caught up in full: look again next time
        self._synced = revision
        return self.lexical.refresh()

    def _holds(self, revision: str) -> bool:
        """Whether the (embedded store's) search index is known to hold ``revision``: its last
        writer recorded it, having applied its own write (so the change log need not be read,
        nor Chroma's index of it loaded)."""
        return (
            self.lock is not None
            and self.lexical.get_meta("revision") == revision
            and not self.lexical.missing_vectors()
        )

    def _changed(
        self,
        stored: Sequence[tuple[str, str, str]] = (),
        removed: Sequence[str] = (),
        vectors: Mapping[str, ChunkVectors] | None = None,
    ) -> None:
        """Right after a commit point: log the change, then apply it (with the stored articles'
        chunk vectors) to the search index. A failure here is healed by the next catch-up (the
        index is compared with the store).

        With a Chroma server, the log records name this machine's search index as their writer,
        so that its readers do not read back what it holds (after a 100,000-article ingest that
        was 69,000 records, 2.7 s of the next check); if applying fails they are logged again
        without it. (A process killed between the two leaves an update this machine's index
        misses until the article is written again; an addition or removal is healed by the count.)"""
        pairs = [(aid, v) for aid, v, _ in stored]
        own = self._identity() if self.lock is None else ""
        self._try(lambda: self.changelog.record(pairs, removed, writer=own))
        try:
            self._give_way()
            self.lexical.apply(stored, removed, vectors)
            if self.lock is not None:  # one writer at a time, caught up before writing: nothing is missed
                self.lexical.set_meta("cursor", repr(time.time()))
        except Exception as exc:  # a locked or broken index file must not fail a committed write
            self._index_ok = False
            log.warning("updating the lexical index failed (the next check catches up): %s", exc)
            if own:
                self._try(lambda: self.changelog.record(pairs, removed))

    def checking(self) -> AbstractContextManager[Any]:
        """Mark a check in progress on this machine for the block (writes give way to it)."""
        return self.checks.held() if self.checks is not None else nullcontext()

    def _give_way(self) -> None:
        if self.checks is not None:
            waited = self.checks.wait()
            if waited >= 0.01:
                log.debug("a write gave way to checks in progress for %.2f s", waited)

    def _identity(self) -> str:
        if self._index_id is None:
            self._index_id = self.lexical.identity()
        return self._index_id

    def _sync_lexical(self, stored: int | None = None) -> bool:
        """Take in the change log's records since the index last looked; False when the index
        and the store still differ in count while others are writing (caught up at a later
        call: a whole reconciliation reads every article's metadata, which at 100k articles on
        a Chroma server takes seconds, and during another process's ingest a count read after
        the log nearly always includes a commit whose record is not written yet).

        ``stored``: the store's count, when the caller has just read it with the revision (one
        round trip fewer; read before the log or after it, a count includes the writes whose
        records are not written yet all the same)."""
        started = time.time()
        cursor = self._cursor()
        changes: list[Change] = []
        own, since = "", started
        if cursor is None:
            self._reconcile_lexical()
        else:
            # one writer at a time on an embedded store, and each applies its own writes before it
            # moves the cursor: only a Chroma server's writers need the look-back. Records of
            # this machine's own writers (their index is this one) are not read back.
            margin = 0.0 if self.lock is not None else MARGIN
            since = float(cursor) - margin
            own = self._identity() if self.lock is None else ""
            changes = list(self.changelog.since(since, skip=own))
            have = self.lexical.versions(sorted({c.article_id for c in changes}))
            stale = sorted({c.article_id for c in changes if have.get(c.article_id, "") != c.version})
            self._reindex(stale)
            # every record stamped a margin before the read was visible to it (the log's
            # assumption): the next read need not look further back, whoever wrote since
            started = max([float(cursor), started - margin] + [c.at for c in changes])
            log.info(
                "lexical index caught up: %d change(s) since it last looked, %d article(s) read",
                len(changes),
                len(stale),
            )
        self._heal_pending()
        complete = True
        if len(self.lexical.refresh()) != (self.count() if stored is None else stored):
            # the log shows writes (by others, or by this machine's other processes) since the
            # index last looked: asked only now, a round trip most catch-ups do not need
            writing = (
                bool(changes)
                or (self.checks is not None and self.checks.write_in_progress())
                or bool(own and self.changelog.wrote_since(since, own))
            )
            if writing and self.lock is None:
                complete = False  # the store is being written: look again at the next check
            else:
                self._reconcile_lexical()
        missing = self.lexical.missing_vectors()
        if missing:  # an index from before it kept the vectors: taken in once
            log.info("search index: taking in the chunk vectors of %d article(s)", len(missing))
            self._reindex(missing)
        self._save_cursor(started)
        return complete

    def _cursor(self) -> str | None:
        """Up to when the search index holds the change log: the file's record, or this
        process's own later one that it could not save yet."""
        saved = self.lexical.get_meta("cursor")
        if self._unsaved_cursor is None:
            return saved
        return repr(max(self._unsaved_cursor, float(saved))) if saved is not None else repr(self._unsaved_cursor)

    def _save_cursor(self, at: float) -> None:
        """Note in the file where a catch-up got to, without waiting for another process's
        write to the file (a bulk ingest's batch): a check kept it in memory then, and a later
        check saves it (meanwhile other processes only read back a little more of the log)."""
        if self.lexical.set_meta("cursor", repr(at), wait=False):
            self._unsaved_cursor = None
        else:
            self._unsaved_cursor = max(at, self._unsaved_cursor or at)

    def _reconcile_lexical(self) -> None:
        """Make the lexical index hold exactly the stored versions (reads every article's
        metadata, and the texts the index lacks)."""
        current: dict[str, str] = {}
        for ids, metas, _ in self._pages(include=["metadatas"], page=self.config.read_page):
            current.update((i, str((m or {}).get("text_hash", ""))[:12]) for i, m in zip(ids, metas, strict=True))
        have = self.lexical.versions()
        stale = [aid for aid, v in current.items() if have.get(aid) != v]
        gone = [aid for aid in have if aid not in current]
        log.info("lexical index built from the store: taking in %d article(s), dropping %d", len(stale), len(gone))
        self.lexical.apply(removed=gone)
        self._reindex(stale)

    def _reindex(self, ids: Sequence[str], page: int = 500) -> None:
        """Bring the index's copy of ``ids`` to their stored version, chunk vectors included
        (removing those gone)."""
        for b in range(0, len(ids), page):
            part = ids[b : b + page]
            found = self.get_many(part)
            self.lexical.apply(
                [(aid, a.info.version, a.text) for aid, a in found.items()],
                [aid for aid in part if aid not in found],
                self.stored_chunk_vectors({aid: a.info.version for aid, a in found.items()}),
            )

    def stored_chunk_vectors(self, versions: Mapping[str, str]) -> dict[str, ChunkVectors]:
        """The chunk vectors and offsets that Chroma holds for each article's given version."""
        parts: dict[str, list[tuple[int, np.ndarray, np.ndarray]]] = {}
        ids = sorted(versions)
        for b in range(0, len(ids), self.config.vector_read_page):
            where = {"article_id": {"$in": ids[b : b + self.config.vector_read_page]}}
            for _, metas, _ in self._chunk_pages(where, ["metadatas"]):
                for m in metas:
                    aid = str(m["article_id"])
                    if versions.get(aid) == str(m.get("text_hash", "")):
                        spans = _unpack(str(m["spans"]), _I32).reshape(-1, 3)
                        vectors = _unpack(str(m["vectors"]), _F16).reshape(len(spans), -1)
                        parts.setdefault(aid, []).append((int(m.get("part", 0)), vectors, spans))
        out: dict[str, ChunkVectors] = {}
        for aid, got in parts.items():
            got.sort(key=lambda r: r[0])
            out[aid] = ChunkVectors(
                np.concatenate([v for _, v, _ in got]).astype(np.float32),
                np.concatenate([sp for _, _, sp in got]).astype(np.int32),
            )
        rest = {aid: v for aid, v in versions.items() if aid not in out}
        if rest and self.chunks is not None:
            out.update(self._chunks_from_before(rest))
        return out

    def _chunks_from_before(self, versions: Mapping[str, str]) -> dict[str, ChunkVectors]:
        """A store from before: chunks with their vectors, a record each."""
        rows: dict[str, list[tuple[int, int, int, Any]]] = {}
        where = {"article_id": {"$in": sorted(versions)}}
        for _, metas, vectors in self._chunk_pages(where, ["embeddings", "metadatas"], self.chunks):
            for m, v in zip(metas, vectors, strict=True):
                aid = str(m["article_id"])
                if versions.get(aid) == str(m.get("text_hash", "")):
                    rows.setdefault(aid, []).append((int(m["index"]), int(m["start"]), int(m["end"]), v))
        out: dict[str, ChunkVectors] = {}
        for aid, chunks in rows.items():
            chunks.sort(key=lambda r: r[0])
            out[aid] = ChunkVectors(
                np.asarray([r[3] for r in chunks], dtype=np.float32),
                np.array([r[:3] for r in chunks], dtype=np.int32),
            )
        return out

    def _bump(self) -> None:
        self._move_bumps(before=False)

    def _move_bumps(self, *, before: bool) -> None:
        """Give the store new bumps: before a write changes it (a failure stops the write) or
        after (a failure is logged, and the revision the write left is then read)."""
        bumps = uuid.uuid4().hex[:12]

        def move() -> None:
            self.articles.modify(metadata={"revision": bumps})

        if before:
            self._call(move)  # a StoreError: the write does not go ahead
            moved = True
        else:
            moved = self._try(move)
        if self._after is not None:
            self._after = (bumps, self._after[1]) if moved else None

    # ---- helpers -------------------------------------------------------------------------

    def _call(self, fn: Callable[[], Any]) -> Any:
        try:
            with self._guard:
                return fn()
        except StoreError:
            raise
        except Exception as exc:  # connection refused, server errors, validation errors
            if self._reopen is None or self._writer == threading.get_ident():
                raise StoreError(f"source store error: {exc}") from exc
            # an embedded client whose files another process is writing ("Error finding id"):
            # wait for that write, reopen, and read again
            log.info("a read failed while the store may be changing in another process; reopening it")
        try:
            with self._write_lock():  # read again before any other write can start
                self._reopen_client()
                with self._guard:
                    return fn()
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"source store error: {exc}") from exc

    def _try(self, fn: Callable[[], Any]) -> bool:
        try:
            with self._guard:
                fn()
        except Exception as exc:  # best-effort clean-up; the commit point already decided
            log.warning("clean-up in the source store failed: %s", exc)
            return False
        return True


def _pack(rows: np.ndarray, dtype: np.dtype[Any]) -> str:
    """An array as a metadata value: its bytes (``dtype``, little-endian) in base64."""
    return base64.b64encode(np.ascontiguousarray(rows, dtype=dtype).tobytes()).decode("ascii")


def _unpack(value: str, dtype: np.dtype[Any]) -> np.ndarray:
    """A packed array's values back, flat."""
    return np.frombuffer(base64.b64decode(value), dtype=dtype)


def _owner(record_id: str) -> tuple[str, str]:
    """(article id, version) of a vector record's (or a chunk's) id, ``<article>:<version>:<n>``
    (an article id may hold colons itself)."""
    head, _, _ = record_id.rpartition(":")
    article_id, _, version = head.rpartition(":")
    return article_id, version


def _groups(
    records: list[tuple[str, dict[str, MetaValue], int]], max_chunks: int, max_records: int
) -> Iterator[list[tuple[str, dict[str, MetaValue], int]]]:
    """Records in writes of at most ``max_chunks`` chunks (one record at least) and ``max_records``."""
    group: list[tuple[str, dict[str, MetaValue], int]] = []
    chunks = 0
    for record in records:
        if group and (chunks + record[2] > max_chunks or len(group) >= max_records):
            yield group
            group, chunks = [], 0
        group.append(record)
        chunks += record[2]
    if group:
        yield group


def _safe_id(raw: str | None) -> str:
    return _SAFE_ID.sub("-", (raw or "").strip())[:128].strip("-")


def _identify(
    draft: ArticleDraft, h: str, known: dict[str, dict[str, tuple[str, dict[str, Any]]]]
) -> tuple[str, dict[str, Any] | None, str]:
    """The id to store under, the existing record, and how it was found: "id" or "url" (the
    same article: update it), "text" (the same text stored from another place: a copy), or
    "new". The same text from the article's own place counts as the same article."""
    given = _safe_id(draft.id)
    if given and given in known["id"]:
        return given, known["id"][given][1], "id"
    if draft.url and canonical_url(draft.url) in known["url"]:
        found_id, meta = known["url"][canonical_url(draft.url)]
        return found_id, meta, "url"
    if h in known["text_hash"]:
        found_id, meta = known["text_hash"][h]
        same_place = _place(draft) == _stored_place(meta) and not (given and given != found_id)
        return found_id, meta, "id" if same_place else "text"
    if given:
        return given, None, "new"
    basis = canonical_url(draft.url) if draft.url else h
    return "a-" + hashlib.sha256(basis.encode()).hexdigest()[:16], None, "new"


def _place(draft: ArticleDraft) -> str:
    """Where a draft comes from: its canonical URL, else its file (a JSONL line's file)."""
    return canonical_url(draft.url) if draft.url else _LINE_SUFFIX.sub("", draft.origin)


def _stored_place(meta: dict[str, Any] | None) -> str:
    m = meta or {}
    return str(m.get("place") or m.get("url") or "")


def _places(meta: dict[str, Any] | None, article_id: str) -> set[tuple[str, str]]:
    """(place, id) of the stored article and of every further location recorded for it."""
    return {(_stored_place(meta), article_id)} | {_key(loc) for loc in _stored_locations(meta)}


def _key(location: dict[str, str]) -> tuple[str, str]:
    return location.get("place", ""), location.get("id", "")


def _stored_locations(meta: dict[str, Any] | None) -> list[dict[str, str]]:
    raw = (meta or {}).get("locations")
    if not raw:
        return []
    try:
        value = json.loads(str(raw))
    except ValueError:
        return []
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def _location(draft: ArticleDraft, place: str) -> dict[str, str]:
    """A further location of a stored text: where the copy was found and what it said of itself."""
    found = {
        "place": place,
        "id": _safe_id(draft.id),
        "title": draft.title,
        "source": draft.source or "",
        "published": draft.published or "",
        "found_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return {k: v for k, v in found.items() if v}


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0]
    return line if len(line) <= 120 else line[:117].rstrip() + "..."


def _metadata(
    draft: ArticleDraft, h: str, chunks: int, now: str, locations: list[dict[str, str]]
) -> dict[str, MetaValue]:
    meta: dict[str, MetaValue] = {"text_hash": h, "chars": len(draft.text), "chunks": chunks, "ingested_at": now}
    if _place(draft):
        meta["place"] = _place(draft)
    if locations:
        meta["locations"] = json.dumps(locations[:MAX_LOCATIONS], ensure_ascii=False)
    for key in _CORE_KEYS:
        value = getattr(draft, key)
        if value:
            meta[key] = canonical_url(value) if key == "url" else str(value)
    for key, value in draft.extra.items():
        if isinstance(value, (str, int, float, bool)) and value != "":
            meta[_EXTRA_PREFIX + _SAFE_ID.sub("_", key)[:60]] = value
    return meta


def _same_meta(existing: dict[str, Any], draft: ArticleDraft) -> bool:
    for key in _CORE_KEYS:
        value = getattr(draft, key)
        if key == "url" and value:
            value = canonical_url(value)
        if (value or None) != existing.get(key):
            return False
    return True


def _bumps_of(revision: str) -> str:
    return revision.rsplit(":", 1)[0]


def _count_of(revision: str) -> int:
    """The article count a revision (``"<bumps>:<count>"``, :meth:`SourceStore.revision`) was read with."""
    return int(revision.rsplit(":", 1)[1])


def _spans(p: _Prepared) -> np.ndarray:
    """Each chunk's (index, start, end) in the article, as rows of int32."""
    return np.array([(c.index, c.start, c.end) for c in p.chunks], dtype=_I32).reshape(-1, 3)


def _text(meta: dict[str, Any] | None, document: str | None) -> str:
    """An article's text: its metadata's, or (a store from before) its Chroma document."""
    text = (meta or {}).get(_TEXT)
    return text if isinstance(text, str) else document or ""


def _info(article_id: str, meta: dict[str, Any] | None) -> ArticleInfo:
    m = meta or {}
    return ArticleInfo(
        id=article_id,
        title=str(m.get("title", "")),
        url=m.get("url"),
        published=m.get("published"),
        source=m.get("source"),
        author=m.get("author"),
        chars=int(m.get("chars", 0)),
        chunks=int(m.get("chunks", 0)),
        ingested_at=m.get("ingested_at"),
        version=str(m.get("text_hash", ""))[:12],
        locations=tuple(_stored_locations(m)),
        extra={k[len(_EXTRA_PREFIX) :]: v for k, v in m.items() if k.startswith(_EXTRA_PREFIX)},
    )
